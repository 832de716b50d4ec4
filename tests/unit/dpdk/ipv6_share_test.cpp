// IPv6 state a port's queues must agree on, carried between them as messages (issue #12): the
// duplicate address detection outcome, which queue 0 reaches by probing (or any queue by hearing
// a defence), and what a router advertisement taught, which reaches one queue only. Two real
// QueueStacks of one 2-queue IPv6 port, each on its own Worker, linked as the runtime links them
// (as message_ring_test.cpp does); this thread plays both lcores, each lcore's messages run with
// the loop's own run_messages(). Frames are literal, the clock virtual.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "dpdk/rss.hpp"
#include "dpdk/worker.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv6.hpp"

namespace dtcp::dpdk::test {
extern rte_mempool* g_pool;
}

namespace dtcp::dpdk {
namespace {

using namespace std::chrono_literals;
using State = stack::Interface::AddressState;

const wire::Ipv6Addr kLocal6 = *wire::Ipv6Addr::parse("2001:db8:1::1");
const wire::Ipv6Addr kRouter6 = *wire::Ipv6Addr::parse("fe80::fe");
const wire::MacAddr kLocalMac{{0x02, 0, 0, 0, 0, 0x01}};
const wire::MacAddr kOtherMac{{0x02, 0, 0, 0, 0, 0x03}};
const wire::MacAddr kRouterMac{{0x02, 0, 0, 0, 0, 0xfe}};
const wire::Ipv6Addr kLinkLocal = wire::Ipv6Addr::link_local_from_mac(kLocalMac);

class Ipv6Share : public ::testing::Test {
 protected:
  void SetUp() override {
    mbufs_free_ = rte_mempool_avail_count(test::g_pool);
    config_.tcp.max_connections = 16;
    config_.tcp.max_time_wait = 16;
    config_.tcp.sent_records = 64;
    config_.runtime.message_ring = 64;
    port_.addresses6 = {Ipv6AddressRange{.address = kLocal6, .count = 1, .prefix_len = 64}};
    port_.dad_transmits = 1;
    port_.accept_router_advertisements = true;
    port_.rx_queues = 2;
    port_.tx_queues = 2;
    caps_.mac = kLocalMac;
    caps_.pool = test::g_pool;
    caps_.pool_shards = 2;
    caps_.rss = PortRss{.mode = PortRss::Mode::software, .key = symmetric_rss_key(), .reta = {0, 1}, .reason = ""};
    for (unsigned w = 0; w < 2; w++) {
      workers_[w] = std::make_unique<Worker>(w + 1, config_.runtime, stop_);
      workers_[w]->add_queue(config_, port_, 0, static_cast<uint16_t>(w), caps_);
      rings_[w] = rte_ring_create_elem(("v6share" + std::to_string(w)).c_str(), sizeof(Message),
                                       config_.runtime.message_ring, SOCKET_ID_ANY, RING_F_SC_DEQ | RING_F_EXACT_SZ);
      ASSERT_NE(rings_[w], nullptr);
      workers_[w]->set_message_ring(rings_[w]);
    }
    links_.queues = 2;
    links_.stacks = {&queue(0), &queue(1)};
    links_.workers = {workers_[0].get(), workers_[1].get()};
    links_.steer.assign(4, nullptr);
    queue(0).link(&links_);
    queue(1).link(&links_);
  }
  void TearDown() override {
    for (auto& w : workers_) w.reset();
    for (rte_ring* r : rings_) rte_ring_free(r);
    EXPECT_EQ(rte_mempool_avail_count(test::g_pool), mbufs_free_) << "every mbuf back in the pool";
  }

  QueueStack& queue(unsigned q) { return workers_[q]->queue(0); }
  stack::Interface& iface(unsigned q) { return queue(q).interface(); }
  // Both queues start IPv6 as QueueStack::start() has them (queue 0 announces).
  void start_ipv6() {
    for (unsigned q = 0; q < 2; q++) {
      workers_[q]->bind_thread();
      iface(q).start_ipv6();
    }
  }
  // A frame arriving on queue q, on q's lcore.
  void arrives_on(unsigned q, const std::vector<std::byte>& frame, TimePoint now) {
    workers_[q]->bind_thread();
    rte_mbuf* m = rte_pktmbuf_alloc(test::g_pool);
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    iface(q).input(m, now);
  }
  unsigned run_messages_on(unsigned q) {
    workers_[q]->bind_thread();
    return workers_[q]->run_messages();
  }

  static std::vector<std::byte> ipv6_frame(wire::MacAddr src_mac, const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst,
                                           const std::vector<std::byte>& icmp) {
    std::vector<std::byte> out(wire::kEthernetHeaderLen + wire::kIpv6HeaderLen + icmp.size());
    wire::write_ethernet(out, dst.multicast_mac(), src_mac, static_cast<uint16_t>(wire::EtherType::ipv6));
    wire::write_ipv6(std::span(out).subspan(wire::kEthernetHeaderLen),
                     wire::Ipv6Header{.src = src, .dst = dst, .next_header = 58, .hop_limit = 255,
                                      .payload_len = static_cast<uint16_t>(icmp.size())});
    std::memcpy(out.data() + wire::kEthernetHeaderLen + wire::kIpv6HeaderLen, icmp.data(), icmp.size());
    return out;
  }
  // Another node defending `target` (RFC 4862 §5.4.4): an advertisement to all-nodes.
  static std::vector<std::byte> defence(const wire::Ipv6Addr& target) {
    const auto all = wire::Ipv6Addr::all_nodes();
    std::vector<std::byte> icmp(wire::kNdNeighborAdvertisementLen + 8);
    wire::write_neighbor_advertisement(icmp, target, all,
                                       {.override = true, .target = target, .options = {.target_link_layer = kOtherMac}});
    return ipv6_frame(kOtherMac, target, all, icmp);
  }
  static std::vector<std::byte> router_advertisement(uint16_t lifetime) {
    const auto all = wire::Ipv6Addr::all_nodes();
    wire::NdRouterAdvertisement ra{.cur_hop_limit = 32, .router_lifetime = lifetime,
                                   .options = {.source_link_layer = kRouterMac}};
    ra.options.prefixes[0] = {.prefix_length = 64, .on_link = true, .valid_lifetime = 600,
                              .prefix = *wire::Ipv6Addr::parse("2001:db8:2::")};
    ra.options.prefix_count = 1;
    std::vector<std::byte> icmp(wire::kNdRouterAdvertisementLen + 8 + 32);
    wire::write_router_advertisement(icmp, kRouter6, all, ra);
    return ipv6_frame(kRouterMac, kRouter6, all, icmp);
  }

  const TimePoint t0_ = tsc_now();  // what the stacks were built with, near enough
  Config config_;
  PortConfig port_;
  PortCapabilities caps_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<Worker> workers_[2];
  rte_ring* rings_[2] = {nullptr, nullptr};
  PortLinks links_;
  unsigned mbufs_free_ = 0;
};

TEST_F(Ipv6Share, Dad_Queue1TentativeUntilQueue0sOutcomeRuns) {
  start_ipv6();
  EXPECT_EQ(iface(0).address_state(kLocal6), State::tentative);
  EXPECT_EQ(iface(1).address_state(kLocal6), State::tentative) << "queue 1 does not use it before DAD ends";
  EXPECT_FALSE(iface(1).is_local6(kLocal6));
  EXPECT_FALSE(port_.has_ipv4());
  workers_[1]->bind_thread();
  iface(1).advance(t0_ + 10s);
  EXPECT_EQ(iface(1).address_state(kLocal6), State::tentative) << "queue 1 neither probes nor concludes";
  workers_[0]->bind_thread();
  iface(0).advance(t0_ + 10s);  // RetransTimer after the probes: preferred, told to queue 1
  EXPECT_EQ(iface(0).address_state(kLocal6), State::preferred);
  EXPECT_EQ(queue(0).net_counters().nd_dad_shared, 2u) << "the link-local and the configured address";
  EXPECT_EQ(iface(1).address_state(kLocal6), State::tentative) << "until queue 1's lcore runs the message";
  EXPECT_EQ(run_messages_on(1), 2u);
  EXPECT_EQ(iface(1).address_state(kLocal6), State::preferred);
  EXPECT_EQ(iface(1).address_state(kLinkLocal), State::preferred);
  EXPECT_TRUE(iface(1).is_local6(kLocal6));
  EXPECT_EQ(queue(1).net_counters().nd_dad_from_peers, 2u);
  EXPECT_EQ(queue(1).net_counters().nd_dad_succeeded, 0u) << "counted once a port, on queue 0";
}

TEST_F(Ipv6Share, Dad_DefenceHeardOnQueue1_DuplicateOnBothQueues) {
  start_ipv6();
  arrives_on(1, defence(kLocal6), t0_ + 500ms);
  EXPECT_EQ(iface(1).address_state(kLocal6), State::duplicate);
  EXPECT_EQ(queue(1).net_counters().nd_dad_duplicates, 1u);
  EXPECT_EQ(queue(1).net_counters().nd_dad_shared, 1u);
  // Queue 0's probes still wait in its transmit buffer, which run_messages() would flush to a
  // device this test does not have: the message is taken off queue 0's ring and run as the
  // loop runs it, without the flush.
  Message m;
  ASSERT_EQ(rte_ring_sc_dequeue_elem(rings_[0], &m, sizeof m), 0);
  EXPECT_EQ(m.target, &queue(0));
  workers_[0]->bind_thread();
  m.run(*m.target, m);
  EXPECT_EQ(iface(0).address_state(kLocal6), State::duplicate) << "queue 0 stops probing it";
  workers_[0]->bind_thread();
  iface(0).advance(t0_ + 10s);
  EXPECT_EQ(iface(0).address_state(kLocal6), State::duplicate);
  EXPECT_EQ(queue(0).net_counters().nd_dad_succeeded, 1u) << "the link-local address only";
  EXPECT_EQ(run_messages_on(1), 1u);
  EXPECT_EQ(iface(1).address_state(kLinkLocal), State::preferred);
  EXPECT_EQ(iface(1).address_state(kLocal6), State::duplicate);
}

TEST_F(Ipv6Share, RouterAdvertisementOnQueue0_Queue1RoutesByIt) {
  arrives_on(0, router_advertisement(1800), t0_);
  EXPECT_EQ(iface(0).default_router6(), kRouter6);
  EXPECT_EQ(queue(0).net_counters().nd_routers_shared, 1u);
  EXPECT_FALSE(iface(1).default_router6());
  EXPECT_EQ(run_messages_on(1), 1u);
  EXPECT_EQ(iface(1).default_router6(), kRouter6);
  EXPECT_EQ(queue(1).net_counters().nd_routers_from_peers, 1u);
  ASSERT_NE(iface(1).neighbor_cache().find(kRouter6), nullptr) << "its link-layer address came along";
  EXPECT_EQ(iface(1).neighbor_cache().find(kRouter6)->mac, kRouterMac);
  // A lifetime of 0 heard on queue 0 ends it on queue 1 too.
  arrives_on(0, router_advertisement(0), t0_ + 1s);
  EXPECT_EQ(run_messages_on(1), 1u);
  EXPECT_FALSE(iface(1).default_router6());
}

}  // namespace
}  // namespace dtcp::dpdk
