// MbufStash (src/tcp/mbuf.hpp): a shard's free mbufs in front of its pool. Every test counts
// the pool so that no mbuf is lost or handed out twice: free in the pool + kept by the stash +
// held by the test = the pool's size.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "tcp/mbuf.hpp"

namespace dtcp::tcp::test {
namespace {

class MbufStashTest : public testing::Test {
 protected:
  void TearDown() override {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
    held_.clear();
    stash_.flush();
    EXPECT_EQ(rte_mempool_avail_count(g_pool), g_pool->size) << "mbufs lost";
  }
  // Every mbuf of the pool is free, in the pool or in the stash, or held by the test.
  void expect_accounted() const {
    EXPECT_EQ(rte_mempool_avail_count(g_pool) + stash_.count() + held_.size(), g_pool->size);
  }
  rte_mbuf* take() {
    rte_mbuf* m = stash_.alloc();
    EXPECT_NE(m, nullptr);
    held_.push_back(m);
    return m;
  }
  void give_back(rte_mbuf* m) {
    std::erase(held_, m);
    stash_.free_seg(m);
  }
  MbufStash stash_;
  std::vector<rte_mbuf*> held_;
};

TEST_F(MbufStashTest, CapacityIsAtMost64AndA64thOfThePool) {
  stash_.init(g_pool, 64);
  EXPECT_EQ(stash_.capacity(), 64u);  // 16383 / 64 = 255
  stash_.init(g_pool, 1000);
  EXPECT_EQ(stash_.capacity(), 64u);
  stash_.init(g_pool, 11);
  EXPECT_EQ(stash_.capacity(), 10u);  // even, so a refill and a spill move half
  stash_.init(g_pool, 3);
  EXPECT_EQ(stash_.capacity(), 0u);   // too few to batch: every call passes through
  stash_.init(g_pool, 0);
  EXPECT_EQ(stash_.capacity(), 0u);
}

// The shards drawing on one pool keep at most a 64th of it between them.
TEST_F(MbufStashTest, CapacityIsTheShardsPartOfA64thOfThePool) {
  rte_mempool* small = rte_pktmbuf_pool_create("stash_small", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(small, nullptr);
  MbufStash s;
  s.init(small, 64);
  EXPECT_EQ(s.capacity(), 14u);  // 1023 / 64 = 15, even
  s.init(small, 64, 2);
  EXPECT_EQ(s.capacity(), 6u);   // 1023 / 128 = 7
  s.init(small, 64, 4);
  EXPECT_EQ(s.capacity(), 0u);   // 3: too few
  s.init(g_pool, 64, 8);
  EXPECT_EQ(s.capacity(), 30u);  // 16383 / 512 = 31
  rte_mempool_free(small);
}

TEST_F(MbufStashTest, SuspendedItKeepsNothingUntilResumed) {
  stash_.init(g_pool, 64);
  rte_mbuf* m = take();
  ASSERT_EQ(stash_.count(), 31u);
  stash_.suspend();
  EXPECT_EQ(stash_.count(), 0u);
  expect_accounted();
  give_back(m);
  EXPECT_EQ(stash_.count(), 0u) << "straight back to the pool";
  const unsigned before = rte_mempool_avail_count(g_pool);
  take();
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 1) << "one from the pool, no batch";
  stash_.resume();
  take();
  EXPECT_EQ(stash_.count(), 31u);
  expect_accounted();
}

TEST_F(MbufStashTest, FirstAllocationTakesHalfTheCapacityFromThePool) {
  stash_.init(g_pool, 64);
  const unsigned before = rte_mempool_avail_count(g_pool);
  take();
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 32);
  EXPECT_EQ(stash_.count(), 31u);
  for (int i = 0; i < 31; ++i) take();
  EXPECT_EQ(stash_.count(), 0u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 32) << "the 32nd came from the stash";
  take();
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 64);
  expect_accounted();
}

TEST_F(MbufStashTest, AFreedSegmentIsTheNextOneAllocatedAndComesBackReset) {
  stash_.init(g_pool, 64);
  rte_mbuf* m = take();
  // Leave it as a received frame would be: trimmed, flagged, part of a chain.
  rte_pktmbuf_append(m, 100);
  rte_pktmbuf_adj(m, 14);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  m->packet_type = RTE_PTYPE_L4_TCP;
  m->tso_segsz = 1448;
  give_back(m);
  rte_mbuf* again = take();
  EXPECT_EQ(again, m);
  EXPECT_EQ(again->data_len, 0u);
  EXPECT_EQ(again->pkt_len, 0u);
  EXPECT_EQ(again->data_off, RTE_PKTMBUF_HEADROOM);
  EXPECT_EQ(again->ol_flags, 0u);
  EXPECT_EQ(again->packet_type, 0u);
  EXPECT_EQ(again->tso_segsz, 0u);
  EXPECT_EQ(again->next, nullptr);
  EXPECT_EQ(again->nb_segs, 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(again), 1u);
  expect_accounted();
}

TEST_F(MbufStashTest, AFullStashSendsHalfBackToThePool) {
  stash_.init(g_pool, 64);
  std::vector<rte_mbuf*> ms;
  for (int i = 0; i < 65; ++i) ms.push_back(take());
  stash_.flush();
  for (int i = 0; i < 64; ++i) give_back(ms[static_cast<size_t>(i)]);
  EXPECT_EQ(stash_.count(), 64u);
  const unsigned before = rte_mempool_avail_count(g_pool);
  give_back(ms[64]);
  EXPECT_EQ(stash_.count(), 33u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before + 32);
  expect_accounted();
}

TEST_F(MbufStashTest, AnotherPoolsMbufGoesBackToItsPool) {
  rte_mempool* other = rte_pktmbuf_pool_create("stash_other", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(other, nullptr);
  stash_.init(g_pool, 64);
  take();  // the stash holds 31 of g_pool's
  rte_mbuf* foreign = rte_pktmbuf_alloc(other);
  ASSERT_NE(foreign, nullptr);
  stash_.free_seg(foreign);
  EXPECT_EQ(stash_.count(), 31u);
  EXPECT_EQ(rte_mempool_avail_count(other), other->size);
  expect_accounted();
  rte_mempool_free(other);
}

TEST_F(MbufStashTest, ASharedSegmentIsKeptOnlyWhenItsLastReferenceGoes) {
  stash_.init(g_pool, 64);
  rte_mbuf* m = take();
  const uint32_t kept = stash_.count();
  rte_mbuf_refcnt_update(m, 1);  // a second owner, as a capture or a retransmission clone holds
  stash_.free_seg(m);
  EXPECT_EQ(stash_.count(), kept) << "the other owner still has it";
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1u);
  give_back(m);
  EXPECT_EQ(stash_.count(), kept + 1);
  expect_accounted();
}

TEST_F(MbufStashTest, AnIndirectSegmentIsDetachedFirst) {
  stash_.init(g_pool, 64);
  rte_mbuf* direct = take();
  rte_mbuf* indirect = take();
  rte_pktmbuf_append(direct, 64);
  rte_pktmbuf_attach(indirect, direct);
  EXPECT_EQ(rte_mbuf_refcnt_read(direct), 2u);
  give_back(indirect);
  EXPECT_EQ(rte_mbuf_refcnt_read(direct), 1u) << "detached from the buffer it pointed into";
  rte_mbuf* again = take();
  EXPECT_EQ(again, indirect);
  EXPECT_TRUE(RTE_MBUF_DIRECT(again));
  EXPECT_EQ(again->buf_addr, static_cast<void*>(reinterpret_cast<char*>(again) + sizeof(rte_mbuf) +
                                                 rte_pktmbuf_priv_size(g_pool)));
  expect_accounted();
}

TEST_F(MbufStashTest, AChainIsFreedSegmentBySegment) {
  stash_.init(g_pool, 64);
  rte_mbuf* head = take();
  rte_mbuf* second = take();
  rte_mbuf* third = take();
  std::erase(held_, second);
  std::erase(held_, third);
  ASSERT_EQ(rte_pktmbuf_chain(head, second), 0);
  ASSERT_EQ(rte_pktmbuf_chain(head, third), 0);
  const uint32_t kept = stash_.count();
  std::erase(held_, head);
  stash_.free_chain(head);
  EXPECT_EQ(stash_.count(), kept + 3);
  expect_accounted();
}

TEST_F(MbufStashTest, WithFewerFreeThanABatchItTakesThemOneByOne) {
  stash_.init(g_pool, 64);
  std::vector<rte_mbuf*> hoard;
  while (rte_mempool_avail_count(g_pool) > 5) hoard.push_back(rte_pktmbuf_alloc(g_pool));
  for (int i = 0; i < 5; ++i) take();
  EXPECT_EQ(stash_.count(), 0u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), 0u);
  EXPECT_EQ(stash_.alloc(), nullptr) << "an empty pool gives none, as rte_pktmbuf_alloc()";
  for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
  expect_accounted();
}

TEST_F(MbufStashTest, PassThroughKeepsNothing) {
  stash_.init(g_pool, 0);
  const unsigned before = rte_mempool_avail_count(g_pool);
  rte_mbuf* m = take();
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 1);
  give_back(m);
  EXPECT_EQ(stash_.count(), 0u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST_F(MbufStashTest, FlushReturnsEverything) {
  stash_.init(g_pool, 64);
  take();
  ASSERT_GT(stash_.count(), 0u);
  stash_.flush();
  EXPECT_EQ(stash_.count(), 0u);
  expect_accounted();
}

}  // namespace
}  // namespace dtcp::tcp::test
