// Issue #11 part 5: the cross-lcore message ring running out. Two real QueueStacks of one
// 2-queue port, each on its own Worker, linked as the runtime links them, with the target's
// ring built as RuntimeImpl::link_queues() builds it at the smallest [runtime] message_ring the
// config accepts. Most cases play both lcores from one thread: queue 0 posts to queue 1 until
// post() says no, then queue 1's worker drains its ring with the loop's own run_messages(); the
// last runs the two lcores as threads racing each other. Checked: a full ring refuses (false,
// drop_msg_ring_full counted, nothing run), an ARP mapping shared into a full ring is a counted
// drop, posts succeed again once the target drains, every accepted message runs exactly once and
// in order, and every mbuf is back in the pool.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "dpdk/rss.hpp"
#include "dpdk/worker.hpp"
#include "wire/arp.hpp"
#include "wire/ethernet.hpp"

namespace dtcp::dpdk::test {
extern rte_mempool* g_pool;
}

namespace dtcp::dpdk {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint{} + 5s;
const wire::Ipv4Addr kLocal = wire::Ipv4Addr::from_octets(198, 18, 1, 1);
const wire::Ipv4Addr kPeer = wire::Ipv4Addr::from_octets(198, 18, 1, 2);
const wire::MacAddr kLocalMac{{0x02, 0, 0, 0, 0, 0x01}};
const wire::MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr unsigned kRingSize = 64;  // src/dpdk/config.cpp's minimum for [runtime] message_ring

// What ran on the target, in order: the arg of every message.
struct Ran {
  std::vector<uint64_t> args;
  static void record(Stack& target, void* ctx, uint64_t arg) {
    EXPECT_EQ(target.queue_id(), 1u) << "a message ran on the wrong queue";
    static_cast<Ran*>(ctx)->args.push_back(arg);
  }
};

class MessageRing : public ::testing::Test {
 protected:
  void SetUp() override {
    mbufs_free_ = rte_mempool_avail_count(test::g_pool);
    config_.tcp.max_connections = 16;
    config_.tcp.max_time_wait = 16;
    config_.tcp.sent_records = 64;
    config_.runtime.message_ring = kRingSize;
    port_.address = kLocal;
    port_.rx_queues = 2;
    port_.tx_queues = 2;
    caps_.mac = kLocalMac;
    caps_.pool = test::g_pool;
    caps_.pool_shards = 2;
    caps_.rss = PortRss{.mode = PortRss::Mode::software, .key = symmetric_rss_key(), .reta = {0, 1}, .reason = ""};
    for (unsigned w = 0; w < 2; w++) {
      workers_[w] = std::make_unique<Worker>(w + 1, config_.runtime, stop_);
      workers_[w]->add_queue(config_, port_, 0, static_cast<uint16_t>(w), caps_);
      // As RuntimeImpl::link_queues(): any lcore may post, only the owner takes.
      rings_[w] = rte_ring_create_elem(("msgtest" + std::to_string(w)).c_str(), sizeof(Message),
                                       config_.runtime.message_ring, SOCKET_ID_ANY, RING_F_SC_DEQ | RING_F_EXACT_SZ);
      ASSERT_NE(rings_[w], nullptr);
      workers_[w]->set_message_ring(rings_[w]);
      // And application threads' ring (Worker::post_foreign).
      app_rings_[w] = rte_ring_create_elem(("msgapp" + std::to_string(w)).c_str(), sizeof(Message),
                                           config_.runtime.message_ring, SOCKET_ID_ANY,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
      ASSERT_NE(app_rings_[w], nullptr);
      workers_[w]->set_foreign_ring(app_rings_[w]);
    }
    links_.queues = 2;
    links_.stacks = {&sender(), &target()};
    links_.workers = {workers_[0].get(), workers_[1].get()};
    links_.steer.assign(4, nullptr);  // no frames are steered here
    sender().link(&links_);
    target().link(&links_);
    workers_[0]->bind_thread();  // this thread plays queue 0's lcore (the sender)
  }
  void TearDown() override {
    for (auto& w : workers_) w.reset();
    for (rte_ring* r : rings_) rte_ring_free(r);
    for (rte_ring* r : app_rings_) rte_ring_free(r);
    EXPECT_EQ(rte_mempool_avail_count(test::g_pool), mbufs_free_) << "every mbuf back in the pool";
  }

  QueueStack& sender() { return workers_[0]->queue(0); }
  QueueStack& target() { return workers_[1]->queue(0); }
  // Posts arg, arg+1, ... until the ring refuses one; returns how many were accepted.
  uint64_t post_until_full(uint64_t& next_arg) {
    uint64_t accepted = 0;
    while (sender().post(1, &Ran::record, &ran_, next_arg)) {
      next_arg++;
      accepted++;
      if (accepted > kRingSize) break;  // a ring that never fills: fail below, not loop forever
    }
    return accepted;
  }
  // The target lcore's loop draining its ring (a burst per iteration) until it is empty.
  unsigned drain() {
    unsigned total = 0;
    while (unsigned n = workers_[1]->run_messages()) {
      EXPECT_LE(n, kBurstSize);
      total += n;
    }
    return total;
  }
  // An ARP reply from the peer arriving on queue 0, which shares what it learns with queue 1.
  void arp_reply_arrives_on_sender() {
    rte_mbuf* m = rte_pktmbuf_alloc(test::g_pool);
    ASSERT_NE(m, nullptr);
    auto* data = rte_pktmbuf_append(m, wire::kEthernetHeaderLen + wire::kArpLen);
    std::span<std::byte> bytes{reinterpret_cast<std::byte*>(data), wire::kEthernetHeaderLen + wire::kArpLen};
    wire::write_ethernet(bytes, kLocalMac, kPeerMac, static_cast<uint16_t>(wire::EtherType::arp));
    wire::write_arp(bytes.subspan(wire::kEthernetHeaderLen), wire::ArpRepr{.op = wire::ArpOp::reply,
                                                                           .sender_mac = kPeerMac,
                                                                           .sender_ip = kPeer,
                                                                           .target_mac = kLocalMac,
                                                                           .target_ip = kLocal});
    sender().interface().input(m, kNow);
  }

  Config config_;
  PortConfig port_;
  PortCapabilities caps_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<Worker> workers_[2];
  rte_ring* rings_[2] = {nullptr, nullptr};
  rte_ring* app_rings_[2] = {nullptr, nullptr};
  PortLinks links_;
  Ran ran_;
  unsigned mbufs_free_ = 0;
};

TEST_F(MessageRing, Full_PostReturnsFalseAndCountsTheDropAndRunsNothing) {
  uint64_t next = 0;
  ASSERT_EQ(post_until_full(next), kRingSize) << "EXACT_SZ: the ring holds exactly message_ring messages";
  for (int i = 0; i < 100; i++) EXPECT_FALSE(sender().post(1, &Ran::record, &ran_, 1000 + i));
  EXPECT_EQ(sender().net_counters().drop_msg_ring_full, 101u) << "the refusal that stopped the fill, then 100 more";
  EXPECT_EQ(sender().net_counters().msg_posted, kRingSize);
  EXPECT_TRUE(ran_.args.empty()) << "nothing runs on the posting lcore or before the target drains";
  EXPECT_EQ(target().net_counters().msg_run, 0u);
}

TEST_F(MessageRing, Drained_PostsSucceedAgainAndEveryAcceptedMessageRunsOnceInOrder) {
  uint64_t next = 0;
  std::vector<uint64_t> accepted;
  uint64_t refused = 0;
  // Three rounds: fill, refuse, drain one burst, fill what it freed, refuse, drain all.
  for (int round = 0; round < 3; round++) {
    const uint64_t first = next;
    ASSERT_EQ(post_until_full(next), kRingSize);
    for (uint64_t a = first; a < next; a++) accepted.push_back(a);
    refused++;
    EXPECT_FALSE(sender().post(1, &Ran::record, &ran_, 999'999)) << "round " << round;
    refused++;
    ASSERT_EQ(workers_[1]->run_messages(), kBurstSize) << "one loop iteration takes one burst";
    const uint64_t refill = next;
    ASSERT_EQ(post_until_full(next), kBurstSize) << "exactly the freed slots are usable again";
    for (uint64_t a = refill; a < next; a++) accepted.push_back(a);
    refused++;
    EXPECT_EQ(drain(), kRingSize) << "the 32 left from the fill and the 32 of the refill";
  }
  EXPECT_EQ(ran_.args, accepted) << "every accepted message ran exactly once, in posting order; no refused one ran";
  EXPECT_EQ(sender().net_counters().msg_posted, accepted.size());
  EXPECT_EQ(sender().net_counters().drop_msg_ring_full, refused);
  EXPECT_EQ(target().net_counters().msg_run, accepted.size());
  // And the stack serves normally afterwards: a post runs at once on the next drain.
  ASSERT_TRUE(sender().post(1, &Ran::record, &ran_, 42));
  EXPECT_EQ(drain(), 1u);
  EXPECT_EQ(ran_.args.back(), 42u);
  EXPECT_EQ(drain(), 0u) << "nothing runs twice";
}

TEST_F(MessageRing, ArpShareOnFullRing_CountedDropThenSharedOnceDrained) {
  uint64_t next = 0;
  ASSERT_EQ(post_until_full(next), kRingSize);
  const uint64_t drops_before = sender().net_counters().drop_msg_ring_full;
  arp_reply_arrives_on_sender();
  EXPECT_EQ(sender().net_counters().arp_entries_added, 1u) << "queue 0 learns the peer itself";
  EXPECT_EQ(sender().net_counters().drop_msg_ring_full, drops_before + 1) << "the share is a counted drop";
  EXPECT_EQ(sender().net_counters().arp_entries_shared, 0u);
  EXPECT_EQ(drain(), kRingSize);
  EXPECT_EQ(target().net_counters().arp_entries_from_peers, 0u) << "the refused share never ran";
  arp_reply_arrives_on_sender();  // the next reply (queue 1 would also resolve on its own)
  EXPECT_EQ(sender().net_counters().arp_entries_shared, 1u);
  EXPECT_EQ(drain(), 1u);
  EXPECT_EQ(target().net_counters().arp_entries_from_peers, 1u);
}

// Both lcores at once, as threads: the sender posts 0..N-1 and, like dtcp-echo's callers,
// retries a refused message on its next iteration; the target starts draining only once the
// sender has been refused (so the ring has been full at least once) and then races it.
TEST_F(MessageRing, Concurrent_RefusedPostsRetriedEveryMessageRunsOnceInOrder) {
  constexpr uint64_t kMessages = 20'000;
  // Bounds the sender without a clock (unit tests never read one): a target that never drained
  // would end the test as a failure after this many refusals, not hang it.
  constexpr uint64_t kMaxRefusals = 10'000'000;
  std::atomic<bool> refused_once{false};
  std::atomic<bool> sender_done{false};
  uint64_t refused = 0;
  std::thread target_lcore([&] {
    while (!refused_once.load(std::memory_order_acquire)) std::this_thread::yield();
    // Until everything ran, or the sender gave up and the ring is empty.
    while (ran_.args.size() < kMessages) {
      const bool done = sender_done.load(std::memory_order_acquire);
      if (workers_[1]->run_messages() == 0) {
        if (done) break;
        std::this_thread::yield();
      }
    }
  });
  for (uint64_t arg = 0; arg < kMessages && refused < kMaxRefusals;) {
    if (sender().post(1, &Ran::record, &ran_, arg)) {
      arg++;
    } else {
      refused++;
      refused_once.store(true, std::memory_order_release);
      std::this_thread::yield();
    }
  }
  sender_done.store(true, std::memory_order_release);
  refused_once.store(true, std::memory_order_release);
  target_lcore.join();
  std::vector<uint64_t> expected(kMessages);
  for (uint64_t i = 0; i < kMessages; i++) expected[i] = i;
  ASSERT_EQ(ran_.args.size(), kMessages);
  EXPECT_EQ(ran_.args, expected) << "every message ran exactly once, in posting order";
  EXPECT_GE(refused, 1u);
  EXPECT_EQ(sender().net_counters().drop_msg_ring_full, refused);
  EXPECT_EQ(sender().net_counters().msg_posted, kMessages);
  EXPECT_EQ(target().net_counters().msg_run, kMessages);
  EXPECT_EQ(workers_[1]->run_messages(), 0u) << "nothing left to run twice";
  std::printf("message_ring: %llu messages through a %u-slot ring, %llu posts refused and retried\n",
              static_cast<unsigned long long>(kMessages), kRingSize, static_cast<unsigned long long>(refused));
}

// Stack::post() from an application thread that is no lcore (issue #13 part 4): the ring takes
// it as it takes an lcore's post, every message runs once and in order on the target, and the
// posts are counted in the queue's atomic counters, never in the lcore's plain ones (which only
// the lcore writes).
// Application threads do not enter the lcores' multi-producer ring (Worker::post_foreign):
// more of them than CPUs, one preempted inside DPDK's MP enqueue stalled every other producer.
TEST_F(MessageRing, PostFromAnApplicationThread_GoesToTheApplicationRing) {
  std::thread app([&] { EXPECT_TRUE(sender().post(1, &Ran::record, &ran_, 7)); });
  app.join();
  EXPECT_EQ(rte_ring_count(rings_[1]), 0u) << "not in the lcores' ring";
  EXPECT_EQ(rte_ring_count(app_rings_[1]), 1u);
  EXPECT_EQ(workers_[1]->run_messages(), 1u);
  EXPECT_EQ(ran_.args, std::vector<uint64_t>{7});
  EXPECT_TRUE(sender().post(1, &Ran::record, &ran_, 8));  // from an lcore: the lcores' ring
  EXPECT_EQ(rte_ring_count(rings_[1]), 1u);
  EXPECT_EQ(workers_[1]->run_messages(), 1u);
}

TEST_F(MessageRing, PostFromAnApplicationThread_RunsInOrder_CountedApart) {
  constexpr uint64_t kMessages = 5'000;
  constexpr uint64_t kMaxRefusals = 10'000'000;  // a target that never drained fails, not hangs
  std::atomic<bool> app_done{false};
  std::atomic<uint64_t> refused{0};
  std::thread app([&] {
    EXPECT_EQ(tl_current_worker, nullptr) << "a new thread is no lcore";
    Stack& stack = sender();
    for (uint64_t arg = 0; arg < kMessages && refused.load() < kMaxRefusals;) {
      if (stack.post(1, &Ran::record, &ran_, arg)) {
        arg++;
      } else {
        refused.fetch_add(1);
        std::this_thread::yield();
      }
    }
    app_done.store(true, std::memory_order_release);
  });
  while (ran_.args.size() < kMessages) {  // the target lcore's loop, on this thread
    const bool done = app_done.load(std::memory_order_acquire);
    if (workers_[1]->run_messages() == 0) {
      if (done) break;
      std::this_thread::yield();
    }
  }
  app.join();
  std::vector<uint64_t> expected(kMessages);
  for (uint64_t i = 0; i < kMessages; i++) expected[i] = i;
  EXPECT_EQ(ran_.args, expected) << "every message ran exactly once, in posting order";
  EXPECT_EQ(sender().foreign_posts().posted, kMessages);
  EXPECT_EQ(sender().foreign_posts().refused, refused.load());
  EXPECT_EQ(sender().net_counters().msg_posted, 0u) << "the lcore's own counters untouched";
  EXPECT_EQ(sender().net_counters().drop_msg_ring_full, 0u);
  EXPECT_EQ(target().net_counters().msg_run, kMessages);
}

}  // namespace
}  // namespace dtcp::dpdk
