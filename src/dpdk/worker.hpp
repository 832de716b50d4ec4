// A worker lcore's run-to-completion loop over the (port, queue) pairs it owns (DPDK l3fwd shape):
// rx burst -> per-frame input with the next frame prefetched -> timers -> application -> tx flush.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dpdk/impairment.hpp"
#include "dtcp/runtime.hpp"
#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "tcp/shard.hpp"

namespace dtcp::dpdk {

struct PortCapabilities {
  wire::MacAddr mac;
  bool tx_ip_checksum = false;
  bool tx_tcp_checksum = false;
  bool rx_checksum = false;
  std::string driver;
  rte_mempool* pool = nullptr;
};

inline constexpr uint16_t kBurstSize = 32;

// Everything a worker publishes for other threads to read.
struct StackCounters {
  stack::NetCounters net;
  tcp::TcpCounters tcp;
  StackCounters& operator+=(const StackCounters& o) {
    net += o.net;
    tcp += o.tcp;
    return *this;
  }
};

// One (port, queue) on one lcore: the Stack an application sees. It joins the L2/L3 Interface
// and the TCP shard in both directions.
class QueueStack final : public Stack,
                         public stack::FrameSink,
                         public stack::TcpReceiver,
                         public tcp::SegmentOutput {
 public:
  QueueStack(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
             const PortCapabilities& caps, unsigned lcore, std::atomic<bool>& stop, TimePoint now);
  ~QueueStack() override;

  void start(const AppFactory* factory, TimePoint now);
  // Returns the number of frames received.
  unsigned poll(TimePoint now);
  void stop();

  // Stack
  unsigned lcore_id() const override { return lcore_; }
  uint16_t queue_id() const override { return queue_id_; }
  const PortConfig& port_config() const override { return port_; }
  TimePoint now() const override { return now_; }
  stack::Interface& interface() override { return interface_; }
  const stack::NetCounters& net_counters() const override { return counters_; }
  void request_stop() override { stop_.store(true, std::memory_order_relaxed); }
  wire::Ipv4Addr address() const override { return port_.address; }
  ListenResult listen(uint16_t port, ListenHandler& handler, const ListenOptions& options) override {
    return shard_.listen(port, handler, options);
  }
  void unlisten(uint16_t port) override { shard_.unlisten(port); }
  ConnectResult connect(wire::Ipv4Addr dst, uint16_t dst_port, ConnectionHandler& handler,
                        const ConnectOptions& options) override {
    if (!options.local_address.is_unspecified() && !interface_.is_local(options.local_address)) {
      return {ConnectError::invalid_address};
    }
    return shard_.connect(dst, dst_port, handler, options, now_);
  }
  void print_connections(FILE* out) const override;

  const tcp::Shard& shard() const { return shard_; }

  // FrameSink
  void transmit(rte_mbuf* frame) override;
  // TcpReceiver
  void tcp_input(rte_mbuf* segment, wire::Ipv4Addr src, wire::Ipv4Addr dst, TimePoint now) override {
    shard_.input(segment, src, dst, now);
  }
  // SegmentOutput
  void send_segment(rte_mbuf* m, wire::Ipv4Addr src, wire::Ipv4Addr dst) override { interface_.send_tcp(m, src, dst); }

 private:
  void enqueue_tx(rte_mbuf* frame);
  void flush_tx();

  PortConfig port_;
  uint16_t port_id_;
  uint16_t queue_id_;
  unsigned lcore_;
  std::atomic<bool>& stop_;
  TimePoint now_;
  TimePoint next_housekeeping_{};
  stack::NetCounters counters_;
  stack::Interface interface_;
  Impairment rx_impairment_;
  Impairment tx_impairment_;
  tcp::Shard shard_;
  std::array<rte_mbuf*, kBurstSize> tx_buffer_{};
  uint16_t tx_count_ = 0;
  std::unique_ptr<App> app_;
};

class Worker {
 public:
  Worker(unsigned lcore, std::atomic<bool>& stop) : lcore_(lcore), stop_(stop) {}
  void add_queue(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                 const PortCapabilities& caps);
  void set_factory(const AppFactory* factory) { factory_ = factory; }
  unsigned lcore_id() const { return lcore_; }
  bool exited() const { return exited_.load(std::memory_order_acquire); }
  // Last published counters (published every 10 ms and at exit); safe from any thread.
  StackCounters counters_snapshot() const;
  // Asks the worker to print its connections from its own loop (any thread).
  void request_connection_dump() { dump_requested_.store(true, std::memory_order_relaxed); }
  // Only once the worker has exited, or from the worker itself.
  void print_connections(FILE* out) const;

  static int launch(void* self) { return static_cast<Worker*>(self)->loop(); }

 private:
  int loop();
  void publish();

  static constexpr size_t kCounterWords = sizeof(StackCounters) / sizeof(uint64_t);
  unsigned lcore_;
  std::atomic<bool>& stop_;
  const AppFactory* factory_ = nullptr;
  std::vector<std::unique_ptr<QueueStack>> queues_;
  std::array<std::atomic<uint64_t>, kCounterWords> published_{};
  std::atomic<bool> exited_{false};
  std::atomic<bool> dump_requested_{false};
};

// Microseconds since the runtime started, from the TSC (read once per loop iteration).
TimePoint tsc_now();

}  // namespace dtcp::dpdk
