// Memory pressure (pressure.cpp, after Linux's tcp_mem) and exhaustion of the shard's resources:
// the pool is drained by the test itself (it holds mbufs) to put the shard where each rule acts.
// The test pool has no per-lcore cache, so the shard's free count is exact.
#include <algorithm>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

// Default thresholds, in mbufs in use of kPoolSize: pressure above 12287, data refused from 15563.
constexpr unsigned kFreeUnderPressure = 3000;  // 13383 in use: pressure, below mem_high
constexpr unsigned kFreeAtReserve = 500;       // 15883 in use: beyond mem_high

class Pressure : public TcpTest {
 protected:
  void TearDown() override {
    release();
    TcpTest::TearDown();
  }
  // Takes mbufs from the pool until `free` are left, counting those the shard keeps (free,
  // though the pool counts them in use).
  void hold_until_free(unsigned free) {
    while (rte_mempool_avail_count(g_pool) + shard->mbufs_stashed() > free) {
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      ASSERT_NE(m, nullptr) << "the shard keeps more than " << free << " free";
      held_.push_back(m);
    }
  }
  void release() {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
    held_.clear();
  }
  bool saw(const std::string& event) const {
    return std::find(rec.events.begin(), rec.events.end(), event) != rec.events.end();
  }
  const TcpCounters& counters() const { return shard->counters(); }
  std::vector<rte_mbuf*> held_;
};

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Control segments come from the reserve when data has taken the pool to mem_high. A connection
// with an empty send queue still gets one mbuf for send(), and its segment at SND.UNA still goes
// (Linux's forced first skb): an echo server holding received data it cannot forward would
// otherwise never free it (the ring_pressure stall: the pool full of receive queues waiting for
// send(), which waited for the pool). More data waits, and flows again (on_writable) once the
// pool has mbufs.
TEST_F(Pressure, PoolAtReserve_AckStillSent_OneSegmentGoesThenDataWaitsThenFlows) {
  const uint32_t iss = established();
  hold_until_free(kFreeAtReserve);
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = pattern(100)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1101});
  EXPECT_GE(counters().mem_reserve_used, 1u);
  EXPECT_EQ(rec.conn->send(bytes(pattern(1000))), 1000u);  // the empty queue's one mbuf
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1101, .len = 1000});
  const size_t room = rte_pktmbuf_data_room_size(g_pool);
  EXPECT_EQ(rec.conn->send(bytes(pattern(room))), room - 1000);  // its tail room, no new mbuf
  expect_nothing();  // beyond SND.UNA: data waits
  EXPECT_GE(counters().mem_data_refused, 1u);
  at(now_ms() + 1);  // still at the reserve: no on_writable that send() would refuse again
  EXPECT_FALSE(saw("writable"));
  release();
  at(now_ms() + 1);
  EXPECT_TRUE(saw("writable"));
  inject({.flags = ACK, .seq = 1101, .ack = iss + 1001});  // Nagle lets the short rest go
  const auto rest = static_cast<uint32_t>(std::min<size_t>(room - 1000, 1460));
  expect_reply({.flags = ACK | (rest == room - 1000 ? PSH : ACK), .seq = iss + 1001, .ack = 1101, .len = rest});
}

// The pool crosses mem_pressure in the middle of one send(): the fair share applies from that
// mbuf on, not from the next call. Before, a poll iteration's send() calls (one `now`, so no
// refresh of the free count) could each take a whole send buffer and fill the pool to mem_high.
TEST_F(Pressure, SendCrossesMemPressure_FairShareAppliesWithinTheCall) {
  pool_shards = 1000;  // share = 7 mbufs, as above
  make_shard();
  established();
  hold_until_free(kPoolSize - 12284);  // 12284 in use, mem_pressure 12287: no pressure yet
  const size_t room = rte_pktmbuf_data_room_size(g_pool);
  EXPECT_EQ(rec.conn->send(bytes(pattern(100000))), 7 * room);
  EXPECT_EQ(counters().mem_pressure_entered, 1u);
  EXPECT_EQ(counters().mem_send_refused, 1u);
}

// The mbufs the shard keeps for its next segments (MbufStash) are free, though the pool counts
// them in use: the shard's estimate counts them free, or a shard would see pressure that is not
// there (up to 64 mbufs early).
TEST_F(Pressure, TheShardsOwnFreeMbufsCountAsFree) {
  const uint32_t iss = established();
  EXPECT_EQ(rec.conn->send(bytes(pattern(100))), 100u);  // its first allocation takes a batch
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 100});
  const unsigned kept = shard->mbufs_stashed();
  ASSERT_GE(kept, 2u);
  // In use: 12287 - kept / 2 by the shard's count, at most mem_pressure (12287); by the pool's,
  // 12287 + kept / 2, above it.
  hold_until_free(kPoolSize - 12287 + kept / 2);
  ASSERT_EQ(shard->mbufs_stashed(), kept);
  at(now_ms() + 1);  // the free count is read again on entry (the test pool has no cache)
  EXPECT_EQ(counters().mem_pressure_entered, 0u);
  EXPECT_EQ(rec.conn->send(bytes(pattern(3000))), 3000u) << "the whole send buffer, no fair share";
}

// With per-lcore caches the pool's free count is a walk of the caches, so it is read at most once
// per kMemRefreshInterval (20 µs), at the first entry due on the entry's own clock: mbufs taken
// in between go unseen until then (the shard's own allocations lower its estimate meanwhile).
TEST_F(Pressure, CachedPool_FreeCountReadAgainOnlyOnceTheIntervalPassed) {
  rte_mempool* cached = rte_pktmbuf_pool_create("tcp_test_cached", 4095, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(cached, nullptr);
  pool = cached;
  make_shard();
  at_us(1'000'000);  // read: the next read is due at 1'000'020
  std::vector<rte_mbuf*> taken;  // 3500 of 4095 in use: above mem_pressure (3071)
  for (int i = 0; i < 3500; i++) taken.push_back(rte_pktmbuf_alloc(cached));
  EXPECT_EQ(std::count(taken.begin(), taken.end(), nullptr), 0);
  at_us(1'000'019);
  EXPECT_EQ(counters().mem_pressure_entered, 0u) << "read again within the interval";
  at_us(1'000'020);
  EXPECT_EQ(counters().mem_pressure_entered, 1u) << "not read again once the interval passed";
  for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
  pool = nullptr;
  make_shard();  // the cached pool's shard gives its mbufs back before the pool goes
  rte_mempool_free(cached);
}

// Under pressure the pool's last mbufs must be where every lcore and the NIC can take them: a
// shard entering it gives its own free ones back and keeps none until the pressure ends.
TEST_F(Pressure, EnteringPressure_TheShardsFreeMbufsGoBackUntilItEnds) {
  const uint32_t iss = established();
  EXPECT_EQ(rec.conn->send(bytes(pattern(100))), 100u);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 100});
  ASSERT_GT(shard->mbufs_stashed(), 0u);
  hold_until_free(kFreeUnderPressure);
  at(now_ms() + 1);
  EXPECT_EQ(counters().mem_pressure_entered, 1u);
  EXPECT_EQ(shard->mbufs_stashed(), 0u);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 101});  // frees the 100 bytes' mbuf
  EXPECT_EQ(rec.conn->send(bytes(pattern(100))), 100u);
  expect_reply({.flags = ACK | PSH, .seq = iss + 101, .ack = 1001, .len = 100});
  EXPECT_EQ(shard->mbufs_stashed(), 0u) << "kept none under pressure";
  release();
  at(now_ms() + 1);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 201});  // frees the second 100 bytes' mbuf, and its own
  EXPECT_EQ(shard->mbufs_stashed(), 2u) << "kept again once the pressure ended";
}

// Under pressure send() takes no more than the connection's fair share of the pool; the ACK that
// frees its mbufs brings on_writable; the whole buffer is back once the pressure ends.
TEST_F(Pressure, FairShare_SendAcceptsLess_WritableAfterAck) {
  pool_shards = 1000;  // share = max(2, 15563 / (2 x 1 x 1000)) = 7 mbufs
  make_shard();
  const uint32_t iss = established();
  hold_until_free(kFreeUnderPressure);
  const size_t room = rte_pktmbuf_data_room_size(g_pool);
  EXPECT_EQ(rec.conn->send(bytes(pattern(100000))), 7 * room);
  EXPECT_EQ(counters().mem_send_refused, 1u);
  EXPECT_GE(counters().mem_pressure_entered, 1u);
  ASSERT_EQ(wire.sent.size(), 10u);  // the initial window
  wire.sent.clear();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + 14600});
  EXPECT_TRUE(saw("writable"));
  release();
  at(now_ms() + 1);
  EXPECT_EQ(rec.conn->send_space(), config.send_buffer - (7 * room - 14600));
}

// Under pressure the advertised window stops growing: the right edge offered before stays where
// it was (RFC 7323 §2.4, never retracted) while data fills it, and reads do not move it.
TEST_F(Pressure, Window_StopsGrowing_EdgeNeverRetracts) {
  pool_shards = 1000;
  make_shard();
  rec.auto_read = false;
  const uint32_t iss = established();
  hold_until_free(kFreeUnderPressure);
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = pattern(1000)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2001, .window = 64535});  // edge 66536 kept
  inject({.flags = ACK | PSH, .seq = 2001, .ack = iss + 1, .data = pattern(1000, 1000)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3001, .window = 63535});
  rec.conn->consume(2000);
  expect_nothing();  // the share (7 x 1000 bytes) is inside the edge already offered: no update
  EXPECT_GT(counters().mem_window_clamped, 0u);
  release();
  inject({.flags = ACK | PSH, .seq = 3001, .ack = iss + 1, .data = pattern(1000, 2000)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 4001, .window = 65535});
}

// Under pressure a receive queue of many partly filled mbufs is copied into fewer full ones
// (Linux tcp_collapse()); the bytes read are the bytes sent.
TEST_F(Pressure, Collapse_ReceiveQueueIntoFewerMbufs) {
  pool_shards = 1000;
  make_shard();
  rec.auto_read = false;
  const uint32_t iss = established();
  hold_until_free(kFreeUnderPressure);
  const std::string data = pattern(22000);
  for (uint32_t i = 0; i < 20; i++) {
    inject({.flags = ACK | PSH, .seq = 1001 + 1100 * i, .ack = iss + 1, .data = data.substr(1100 * i, 1100)});
  }
  wire.sent.clear();
  EXPECT_GE(counters().mem_collapsed_mbufs, 8u);
  std::array<std::span<const std::byte>, 32> iov;
  const size_t room = rte_pktmbuf_data_room_size(g_pool);
  EXPECT_LE(rec.conn->peek(iov), (22000 + room - 1) / room + 1);  // 20 without collapsing
  std::string got(22000, '\0');
  ASSERT_EQ(rec.conn->read(std::as_writable_bytes(std::span(got.data(), got.size()))), 22000u);
  EXPECT_EQ(got, data);
}

// At the reserve, out-of-order data beyond the connection's share is pruned from the far end
// (RFC 2018 §8: the sender keeps what is not cumulatively acknowledged); the stream still arrives
// whole when the sender resends.
TEST_F(Pressure, AtReserve_ReassemblyPrunedFromFarEnd_StreamStillWhole) {
  pool_shards = 1000;
  make_shard();
  rec.auto_read = false;
  const uint32_t iss = established();
  hold_until_free(kFreeAtReserve);
  const std::string data = pattern(20000);
  for (uint32_t i = 0; i < 10; i++) {  // 10 disjoint blocks with holes between: nothing to merge
    const uint32_t off = 1000 + 2000 * i;
    inject({.flags = ACK | PSH, .seq = 1001 + off, .ack = iss + 1, .data = data.substr(off, 1000)});
  }
  EXPECT_EQ(counters().mem_ooo_pruned, 3u);
  EXPECT_EQ(rec.conn->readable(), 0u);
  wire.sent.clear();
  release();
  for (uint32_t i = 0; i < 20; i++) {
    inject({.flags = ACK | PSH, .seq = 1001 + 1000 * i, .ack = iss + 1, .data = data.substr(1000 * i, 1000)});
  }
  wire.sent.clear();
  std::string got(20000, '\0');
  ASSERT_EQ(rec.conn->read(std::as_writable_bytes(std::span(got.data(), got.size()))), 20000u);
  EXPECT_EQ(got, data);
}

// Connection slots: connect() fails with no_connection while every slot is taken, and works
// again as soon as one is freed.
TEST_F(Pressure, ConnectionSlotsFull_ConnectFailsThenResumes) {
  config.max_connections = 2;
  make_shard();
  Recorder a, b, c;
  const ConnectResult first = shard->connect(remote_addr, 80, a, {}, now_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(shard->connect(remote_addr, 81, b, {}, now_).ok());
  EXPECT_EQ(shard->connections_in_use(), 2u);
  const ConnectResult full = shard->connect(remote_addr, 82, c, {}, now_);
  EXPECT_EQ(full.error, ConnectError::no_connection);
  first.connection->abort();
  const ConnectResult again = shard->connect(remote_addr, 82, c, {}, now_);
  ASSERT_TRUE(again.ok());
  shard->abort_all();  // before the local handlers go
  wire.sent.clear();
}

// TIME-WAIT records: when the table is full a connection entering TIME-WAIT is closed at once and
// counted (Linux: "time wait bucket table overflow"); nothing stalls, the TCB is freed, and the
// same 4-tuple can connect again at once.
TEST_F(Pressure, TimeWaitTableFull_ClosedAtOnceAndCounted_ServiceContinues) {
  config.max_time_wait = 1;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  auto open_and_close = [&](uint16_t port) {
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = port});
    const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460},
                                      .dst_port = port});
    inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1, .src_port = port});
    ASSERT_NE(rec.conn, nullptr);
    rec.conn->close();
    expect_reply({.flags = FIN | ACK, .seq = synack.seq + 1, .ack = 1001, .dst_port = port});
    inject({.flags = FIN | ACK, .seq = 1001, .ack = synack.seq + 2, .src_port = port});
    expect_reply({.flags = ACK, .seq = synack.seq + 2, .ack = 1002, .dst_port = port});
  };
  open_and_close(40001);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().time_wait_overflow, 0u);
  open_and_close(40002);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().time_wait_overflow, 1u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
  open_and_close(40002);  // its tuple holds no record: a new connection at once
  EXPECT_EQ(shard->counters().time_wait_overflow, 2u);
  EXPECT_EQ(shard->counters().conn_established, 3u);
}

}  // namespace
}  // namespace dtcp::tcp::test
