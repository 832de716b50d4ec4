// One full stack as a production lcore wires it (src/dpdk/worker.cpp's QueueStack): the
// Interface's TCP goes to the shard and the shard's segments to the Interface. Where the frames
// go is the derived host's transmit(): the simulation's impaired link (sim.cpp) or the cost
// workloads' metered one (cost.cpp).
#pragma once

#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "tcp/shard.hpp"

namespace dtcp::sim {

class StackHost : public stack::FrameSink, public stack::TcpReceiver, public tcp::SegmentOutput {
 public:
  // `env.output` is set to this host.
  StackHost(const stack::InterfaceSetup& setup, const TcpConfig& config, tcp::ShardEnv env)
      : interface_(setup, *this, counters_, TimePoint{}), shard_(config, with_output(env), TimePoint{}) {
    interface_.attach_tcp(this);
  }
  ~StackHost() override { interface_.attach_tcp(nullptr); }

  void tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) override {
    shard_.input(segment, src, dst, ecn, now);
  }
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now) override { shard_.icmp_error(error, now); }
  const bool* syn_shedding_flag() const override { return shard_.syn_shedding_flag(); }
  void syn_shed() override { shard_.syn_shed(); }
  void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) override {
    interface_.send_tcp(m, src, dst, ecn);
  }
  void send_connection_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn,
                               wire::TxHeaderTemplate& header) override {
    interface_.send_tcp(m, src, dst, ecn, header);
  }

  stack::NetCounters counters_;
  stack::Interface interface_;
  tcp::Shard shard_;

 private:
  tcp::ShardEnv with_output(tcp::ShardEnv env) {
    env.output = this;
    return env;
  }
};

}  // namespace dtcp::sim
