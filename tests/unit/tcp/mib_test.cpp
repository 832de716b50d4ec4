// The counters behind the TCP MIB (src/dpdk/mib.hpp): RFC 4022's transitions (tcpAttemptFails,
// tcpEstabResets, tcpCurrEstab as entered - left), retransmitted segments, the operators'
// per-connection totals, and the paged listing dtcp-ss reads.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Mib = TcpTest;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

uint64_t curr_estab(const TcpCounters& c) { return c.conn_estab_entered - c.conn_estab_left; }

TEST_F(Mib, EstablishedThenResetByPeer_OneEstabReset) {
  const uint32_t iss = established();
  EXPECT_EQ(curr_estab(shard->counters()), 1u);
  inject({.flags = RST, .seq = 1001, .ack = iss + 1});
  EXPECT_EQ(shard->counters().conn_estab_resets, 1u);
  EXPECT_EQ(shard->counters().conn_attempt_failed, 0u);
  EXPECT_EQ(curr_estab(shard->counters()), 0u);
}

// RFC 4022: CLOSE-WAIT counts in tcpCurrEstab; the orderly close through LAST-ACK is no reset.
TEST_F(Mib, CloseWaitStaysCurrentUntilLastAck_NoReset) {
  const uint32_t iss = close_wait();
  EXPECT_EQ(curr_estab(shard->counters()), 1u);
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  EXPECT_EQ(curr_estab(shard->counters()), 0u);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_EQ(shard->counters().conn_estab_resets, 0u);
  EXPECT_EQ(shard->counters().conn_estab_entered, 1u);
  EXPECT_EQ(shard->counters().conn_estab_left, 1u);
}

TEST_F(Mib, RefusedConnectIsAnAttemptFail) {
  const uint32_t iss = syn_sent();
  inject({.flags = RST | ACK, .seq = 0, .ack = iss + 1});
  EXPECT_EQ(shard->counters().conn_attempt_failed, 1u);
  EXPECT_EQ(shard->counters().conn_estab_entered, 0u);
}

TEST_F(Mib, ResetInSynReceivedIsAnAttemptFail) {
  listen_and_syn_received();
  inject({.flags = RST, .seq = 1001});
  EXPECT_EQ(shard->counters().conn_attempt_failed, 1u);
  EXPECT_EQ(shard->counters().conn_estab_resets, 0u);
}

// tcpRetransSegs counts segments carrying data or a FIN sent again, not new ones.
TEST_F(Mib, DataAndFinRetransmissionsCountAsRetransmittedSegments) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  EXPECT_EQ(shard->counters().tx_retransmitted_segments, 0u);
  at(now_ms() + 1000);  // past the RTO (initial 1 s, no sample)
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  EXPECT_EQ(shard->counters().tx_retransmitted_segments, 1u);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 4});
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 4, .ack = 1001});
  EXPECT_EQ(shard->counters().tx_retransmitted_segments, 1u);
  at(now_ms() + 5000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 4, .ack = 1001});
  EXPECT_EQ(shard->counters().tx_retransmitted_segments, 2u);
}

TEST_F(Mib, ConnectionTotalsAndTimerInTheListing) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006});
  rec.conn->send(bytes_of("0123456789"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1006, .len = 10});
  inject({.flags = ACK, .seq = 1006, .ack = iss + 5});  // 4 of the 10 acknowledged
  std::vector<ConnectionInfo> seen;
  shard->list_connections(0, {}, 10, 1000, [&](const ConnectionInfo& info) { seen.push_back(info); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].bytes_received, 5u);
  EXPECT_EQ(seen[0].bytes_sent, 10u);
  EXPECT_EQ(seen[0].bytes_acked, 4u);
  EXPECT_STREQ(seen[0].timer, "rexmit");  // 6 bytes still in flight
  EXPECT_EQ(seen[0].local.port, kLocalPort);
}

// Pages resume where the previous one ended, by slot; filters select by state and port; a
// TIME-WAIT record lists after the control blocks with its remaining 2*MSL as its timer.
TEST_F(Mib, ListingPagesByCursorAndFilters) {
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  ASSERT_EQ(shard->time_wait_count(), 1u);
  // A second connection, established, from another remote port.
  inject({.flags = SYN, .seq = 5000, .window = 65535, .options = {.mss = default_mss()}, .src_port = 4001});
  const Sent synack = expect_reply(
      {.flags = SYN | ACK, .ack = 5001, .window = 65535, .options = {.mss = default_mss()}, .dst_port = 4001});
  inject({.flags = ACK, .seq = 5001, .ack = static_cast<uint32_t>(synack.seq + 1), .src_port = 4001});

  std::vector<ConnectionInfo> all;
  uint64_t cursor = 0;
  int pages = 0;
  while (cursor != Shard::kListingDone) {  // one entry per page
    cursor = shard->list_connections(cursor, {}, 1, 100000, [&](const ConnectionInfo& info) { all.push_back(info); });
    ASSERT_LT(++pages, 10);
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, TcpState::established);
  EXPECT_EQ(all[0].remote.port, 4001);
  EXPECT_EQ(all[1].state, TcpState::time_wait);
  EXPECT_TRUE(all[1].time_wait_record);
  EXPECT_STREQ(all[1].timer, "timewait");
  EXPECT_GE(all[1].slot, shard->connection_capacity());

  ConnectionFilter only_time_wait;
  only_time_wait.states = 1u << static_cast<unsigned>(TcpState::time_wait);
  std::vector<ConnectionInfo> tw;
  shard->list_connections(0, only_time_wait, 10, 100000, [&](const ConnectionInfo& info) { tw.push_back(info); });
  ASSERT_EQ(tw.size(), 1u);
  EXPECT_EQ(tw[0].remote.port, kRemotePort);

  ConnectionFilter by_port;
  by_port.remote_port = 4001;
  std::vector<ConnectionInfo> one;
  shard->list_connections(0, by_port, 10, 100000, [&](const ConnectionInfo& info) { one.push_back(info); });
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].remote.port, 4001);

  // A bound on slots looked at ends a page early, with a cursor to go on from.
  std::vector<ConnectionInfo> none;
  const uint64_t next = shard->list_connections(0, only_time_wait, 10, 1, [&](const ConnectionInfo& i) { none.push_back(i); });
  EXPECT_NE(next, Shard::kListingDone);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace dtcp::tcp::test
