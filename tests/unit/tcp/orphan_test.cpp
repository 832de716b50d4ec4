// Orphans: connections the application has closed (close(), no handler any more) that still
// finish their close in FIN-WAIT-1, CLOSING or LAST-ACK. They give up after [tcp] orphan_retries
// (Linux tcp_orphan_retries) instead of max_retries, and when no control block is free for a new
// SYN or connect(), or more than max_orphans exist, the oldest is reset (RST sent, slot reused) as
// Linux does past tcp_max_orphans.
//
// min_rto is 1 s, so the handshake's 0 µs RTT sample gives RTO = 1 s and backoff 1, 2, 4, 8 s.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;

class Orphan : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.min_rto = std::chrono::seconds(1);
    config.orphan_retries = 2;
    make_shard();
  }
  // A passive connection from the peer's `port`, ESTABLISHED; returns our ISN (rec.conn is it).
  uint32_t open_from(uint16_t port) {
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = port});
    const Sent synack =
        expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}, .dst_port = port});
    inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1, .src_port = port});
    EXPECT_EQ(rec.conn->remote().port, port);
    return synack.seq;
  }
  // Then the peer's FIN and our close(): an orphan in LAST-ACK whose FIN is iss + 1.
  uint32_t orphan_in_last_ack(uint16_t port) {
    const uint32_t iss = open_from(port);
    inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1, .src_port = port});
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002, .dst_port = port});
    rec.conn->close();
    expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002, .dst_port = port});
    EXPECT_EQ(rec.conn->state(), TcpState::last_ack);
    rec.events.clear();
    return iss;
  }
};

// ---- the retry budget ----

TEST_F(Orphan, LastAck_FinUnanswered_ResetAfterOrphanRetries) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss = orphan_in_last_ack(kRemotePort);
  at(1000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  at(3000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  at(6999);
  expect_nothing();
  at(7000);  // the timeout after the second retransmission: max_retries (15) would go on
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().conn_orphan_timed_out, 1u);
  EXPECT_TRUE(rec.events.empty()) << "close() ended the callbacks";
}

// With a 10 ms RTO the two retries would be spent 30 ms after the first timeout; an orphan still
// owes its peer the FIN (and could owe data), so it keeps retrying until the two retries would
// have taken from Linux's 200 ms minimum RTO: (2^3 - 2) x 200 ms = 1.2 s after the first timeout.
TEST_F(Orphan, ShortRto_RetriesLastAtLeastWhatTheyWouldFromLinuxMinimum) {
  config.min_rto = std::chrono::milliseconds(10);
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss = orphan_in_last_ack(kRemotePort);
  for (int64_t ms : {10, 30, 70, 150, 310, 630}) {
    at(ms - 1);
    expect_nothing();
    at(ms);
    expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  }
  at(1269);
  expect_nothing();
  EXPECT_EQ(shard->counters().conn_orphan_timed_out, 0u);
  at(1270);  // 1.26 s after the first timeout
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().conn_orphan_timed_out, 1u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Orphan, FinWait1_FinUnanswered_ResetAfterOrphanRetries) {
  config.orphan_retries = 1;
  make_shard();
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  at(1000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  at(3000);
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().conn_orphan_timed_out, 1u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Orphan, ZeroOrphanRetries_ResetAtTheFirstTimeout) {
  config.orphan_retries = 0;
  make_shard();
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  at(1000);
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
}

// shutdown_write() keeps the handler: not an orphan, so max_retries applies and on_closed() says so.
TEST_F(Orphan, ShutdownWriteOnly_NotAnOrphan_UsesMaxRetries) {
  config.max_retries = 3;
  make_shard();
  const uint32_t iss = last_ack();
  for (int64_t t : {1000, 3000, 7000}) {
    at(t);
    expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  }
  at(14999);
  expect_nothing();
  at(15000);
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->counters().conn_orphan_timed_out, 0u);
}

// An orphan that the peer answers closes normally, and leaves the orphan list.
TEST_F(Orphan, LastAck_Acked_Released) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss = orphan_in_last_ack(kRemotePort);
  inject(500, {.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  at(60000);
  expect_nothing();
  EXPECT_EQ(shard->counters().conn_orphans_reset + shard->counters().conn_orphan_timed_out, 0u);
}

// ---- slots and max_orphans ----

TEST_F(Orphan, NoFreeSlot_NewSyn_OldestOrphanResetAndItsSlotUsed) {
  config.max_connections = 2;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss_a = orphan_in_last_ack(41000);
  at(10);
  const uint32_t iss_b = orphan_in_last_ack(41001);
  EXPECT_EQ(shard->connections_in_use(), 2u);

  at(20);
  inject({.flags = SYN, .seq = 7000, .options = {.mss = 1460}, .src_port = 41002});
  expect_reply({.flags = RST, .seq = iss_a + 2, .ack = 0, .window = 0, .dst_port = 41000});
  expect_reply({.flags = SYN | ACK, .ack = 7001, .window = 65535, .options = {.mss = 1460}, .dst_port = 41002});
  EXPECT_EQ(shard->counters().conn_orphans_reset, 1u);
  EXPECT_EQ(shard->counters().drop_syn_pool_full, 0u);
  EXPECT_EQ(shard->connections_in_use(), 2u);

  inject({.flags = SYN, .seq = 8000, .options = {.mss = 1460}, .src_port = 41003});
  expect_reply({.flags = RST, .seq = iss_b + 2, .ack = 0, .window = 0, .dst_port = 41001});
  expect_reply({.flags = SYN | ACK, .ack = 8001, .window = 65535, .options = {.mss = 1460}, .dst_port = 41003});

  // No orphan left: the pool is really full, and the SYN is dropped as before.
  inject({.flags = SYN, .seq = 9000, .options = {.mss = 1460}, .src_port = 41004});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_syn_pool_full, 1u);
  EXPECT_EQ(shard->counters().conn_orphans_reset, 2u);
}

TEST_F(Orphan, NoFreeSlot_Connect_OldestOrphanReset) {
  config.max_connections = 1;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss = orphan_in_last_ack(41000);
  const ConnectResult r = shard->connect(remote_addr, 7, rec, ConnectOptions{.local_port = 50000}, now_);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0, .dst_port = 41000});
  expect_reply({.flags = SYN, .ack = 0, .window = 65535, .options = {.mss = 1460}, .src_port = 50000, .dst_port = 7});
  EXPECT_EQ(shard->counters().conn_orphans_reset, 1u);
}

TEST_F(Orphan, PastMaxOrphans_OldestReset) {
  config.max_orphans = 1;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  const uint32_t iss_a = orphan_in_last_ack(41000);
  // B's close() makes the second orphan: A goes, right after B's FIN.
  const uint32_t iss_b = open_from(41001);
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss_b + 1, .src_port = 41001});
  expect_reply({.flags = ACK, .seq = iss_b + 1, .ack = 1002, .dst_port = 41001});
  rec.conn->close();
  expect_reply({.flags = RST, .seq = iss_a + 2, .ack = 0, .window = 0, .dst_port = 41000});
  expect_reply({.flags = FIN | ACK, .seq = iss_b + 1, .ack = 1002, .dst_port = 41001});
  EXPECT_EQ(shard->counters().conn_orphans_reset, 1u);
  EXPECT_EQ(shard->connections_in_use(), 1u);
}

}  // namespace
}  // namespace dtcp::tcp::test
