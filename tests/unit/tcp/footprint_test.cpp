// tcp_footprint(): the figures tools print as "memory per connection" must be what a shard
// really allocates. Measured with glibc's mallinfo2() around the Shard's construction.
#include <malloc.h>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "tcp/tcb.hpp"

namespace dtcp::tcp::test {
namespace {

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // small chunks in use + mmap'd large blocks
}

TEST(TcpFootprint, PowerOfTwoCapacity_SlotIsTcbFreeListEntryAndBucket) {
  TcpConfig config;
  config.max_connections = 1 << 16;
  const TcpFootprint f = tcp_footprint(config);
  EXPECT_EQ(f.control_block, sizeof(Tcb));
  // One bucket per slot when the capacity is a power of two: a bucket is one pointer.
  EXPECT_EQ(f.per_connection, sizeof(Tcb) + sizeof(Tcb*) + sizeof(void*));
  EXPECT_EQ(f.connections, f.per_connection * config.max_connections);
  // Issue #6 asks for under 2 KiB per idle connection, buffers excluded.
  EXPECT_LT(f.per_connection, 2048u);
}

TEST(TcpFootprint, OtherCapacity_BucketsRoundUpToAPowerOfTwo) {
  TcpConfig config;
  config.max_connections = 1'000'000;
  config.max_time_wait = 1000;
  const TcpFootprint f = tcp_footprint(config);
  EXPECT_EQ(f.connections, 1'000'000 * (sizeof(Tcb) + sizeof(Tcb*)) + (size_t{1} << 20) * sizeof(void*));
  EXPECT_EQ(f.time_wait, 1000 * (88 + sizeof(void*)) + 1024 * sizeof(void*));  // 88-byte records, either family
  EXPECT_EQ(f.sent_records, config.sent_records * (sizeof(SentSegment) + sizeof(SentSegment*)));
  EXPECT_EQ(f.total(), f.connections + f.time_wait + f.sent_records);
}

TEST(TcpFootprint, MatchesWhatAShardAllocates) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator is invisible to mallinfo2(); the optimised build checks this";
#endif
  TcpConfig config;
  config.max_connections = 50'000;
  config.max_time_wait = 20'000;
  RecordingWire wire;
  ShardEnv env;
  env.pool = g_pool;
  env.output = &wire;
  env.local_addr = kLocalAddr;
  const size_t before = heap_in_use();
  auto shard = std::make_unique<Shard>(config, env, TimePoint{});
  const size_t allocated = heap_in_use() - before;
  const TcpFootprint f = tcp_footprint(config);
  // The rest is the shard object, its listener slots and the timer wheel: a few tens of KiB.
  EXPECT_GE(allocated, f.total());
  EXPECT_LE(allocated, f.total() + 128 * 1024) << "allocated " << allocated << ", footprint " << f.total();
}

}  // namespace
}  // namespace dtcp::tcp::test
