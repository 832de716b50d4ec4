// Closing: every closing transition of RFC 9293's state diagram, half-close, TIME-WAIT records
// (2*MSL, retransmitted FIN, SYN both ways, RST), the FIN-WAIT-2 timeout, reset on unread data.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Close = TcpTest;
using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST_F(Close, Established_PeerFin_CloseWait_ThenLastAck_ThenClosed) {
  const uint32_t iss = established();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  // The FIN took one sequence number; the window's right edge stays put (SWS avoidance).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002, .window = 65534});
  EXPECT_EQ(rec.events, Strings{"peer_closed"});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
  // Half-closed from the peer: we can still send.
  rec.conn->send(bytes_of("late"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1002, .len = 4});
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 5, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::last_ack);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 5});  // acks the data only
  EXPECT_EQ(shard->connections_in_use(), 1u);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 6});
  EXPECT_EQ(rec.events, (Strings{"peer_closed", "closed:normal"}));
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->time_wait_count(), 0u);
}

TEST_F(Close, CloseFromOnPeerClosed_FinRidesOnTheAck) {
  const uint32_t iss = established();
  rec.on_peer_closed_hook = [](Connection& c) { c.close(); };
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});  // one segment, not two
  expect_nothing();
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_EQ(rec.events, Strings{"peer_closed"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Close, CloseWait_Close_NoMoreCallbacks_LastAckThenClosed) {
  const uint32_t iss = close_wait();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Close, ActiveClose_FinWait1_FinWait2_TimeWait_ExpiresAtTwoMsl) {
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  inject(5, {.flags = ACK, .seq = 1001, .ack = iss + 2});  // before the 10 ms RTO
  expect_nothing();
  inject(200, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(shard->connections_in_use(), 0u);  // the TCB went back to the pool
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_TRUE(rec.events.empty());  // close() ended the callbacks
  at(200 + 60000 - 1);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  at(200 + 60000);
  EXPECT_EQ(shard->time_wait_count(), 0u);
  EXPECT_EQ(shard->counters().time_wait_expired, 1u);
  EXPECT_EQ(transitions, (Strings{"CLOSED>SYN-RECEIVED", "SYN-RECEIVED>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1",
                                  "FIN-WAIT-1>FIN-WAIT-2", "FIN-WAIT-2>TIME-WAIT", "TIME-WAIT>CLOSED"}));
}

TEST_F(Close, FinWait1_FinAckTogether_TimeWait) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(rec.events, (Strings{"peer_closed", "closed:normal"}));
  EXPECT_EQ(shard->time_wait_count(), 1u);
}

TEST_F(Close, SimultaneousClose_Closing_ThenTimeWait) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});  // the peer's FIN crossed ours
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::closing);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  expect_nothing();
  EXPECT_EQ(rec.events, (Strings{"peer_closed", "closed:normal"}));
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(transitions, (Strings{"CLOSED>SYN-RECEIVED", "SYN-RECEIVED>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1",
                                  "FIN-WAIT-1>CLOSING", "CLOSING>TIME-WAIT", "TIME-WAIT>CLOSED"}));
}

TEST_F(Close, HalfClose_FinWait2_StillReceives_ThenTimeWait) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 2, .data = "more"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1005});
  EXPECT_EQ(rec.received, "more");
  at(120000);  // no FIN-WAIT-2 timeout while the application can still read
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_2);
  inject({.flags = FIN | ACK, .seq = 1005, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1006});
  EXPECT_EQ(rec.events, (Strings{"readable", "peer_closed", "closed:normal"}));
}

TEST_F(Close, FinWait2_TimeoutAfterClose_Resets) {
  const uint32_t iss = fin_wait_2();
  at(1000);
  rec.conn->close();
  at(1000 + 60000 - 1);
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 1u);
  at(1000 + 60000);
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().conn_fin_wait_2_timeout, 1u);
}

TEST_F(Close, CloseWithUnreadData_SendsRst) {
  const uint32_t iss = established();
  rec.auto_read = false;
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "unread"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1007});
  rec.conn->close();
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().conn_aborted, 1u);
}

TEST_F(Close, DataAfterClose_SendsRst) {
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 2, .data = "late"});
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().drop_data_after_close, 1u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Close, Abort_SendsRst_NoCallback) {
  const uint32_t iss = established();
  rec.conn->abort();
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Close, CloseInSynSent_DeletesSilently) {
  syn_sent();
  rec.conn->close();
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Close, ShutdownWriteInSynSent_FinFollowsHandshake) {
  const uint32_t iss = syn_sent();
  rec.conn->send(bytes_of("req"));
  rec.conn->shutdown_write();
  expect_nothing();
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK | PSH | FIN, .seq = iss + 1, .ack = 5001, .len = 3});
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_1);
}

TEST_F(Close, SynReceived_Close_FinWait1) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN, .seq = 5000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 5001, .window = 65535, .options = {.mss = 1460}});
  rec.conn->shutdown_write();
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_1);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 5001});
  inject({.flags = ACK, .seq = 5001, .ack = iss + 2});
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_2);
}

TEST_F(Close, LastAck_FinLost_Retransmitted) {
  config.min_rto = std::chrono::milliseconds(200);
  make_shard();
  const uint32_t iss = last_ack();
  at(199);
  expect_nothing();
  at(200);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  at(600);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
}

TEST_F(Close, TimeWait_RetransmittedFin_AckedAndTimerRestarted) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject(30000, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  at(60000);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  at(90000);
  EXPECT_EQ(shard->time_wait_count(), 0u);
}

TEST_F(Close, TimeWait_Rst_IgnoredPerRfc1337) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject({.flags = RST, .seq = 1002});
  expect_nothing();
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().drop_time_wait_rst, 1u);
}

TEST_F(Close, TimeWait_SynAboveRcvNxt_NewIncarnation) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  rec.events.clear();
  inject(1000, {.flags = SYN, .seq = 90000, .options = {.mss = 1460}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 90001, .window = 65535, .options = {.mss = 1460}});
  EXPECT_GT(static_cast<int32_t>(synack.seq - (iss + 2)), 0);  // above the old sequence space
  EXPECT_EQ(shard->time_wait_count(), 0u);
  EXPECT_EQ(shard->counters().time_wait_reused, 1u);
  inject({.flags = ACK, .seq = 90001, .ack = synack.seq + 1});
  EXPECT_EQ(rec.events, Strings{"accept"});
}

TEST_F(Close, TimeWait_OldSyn_Acked) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject({.flags = SYN, .seq = 500});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(shard->time_wait_count(), 1u);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});  // a bare acceptable ACK: no answer
  expect_nothing();
}

TEST_F(Close, TimeWait_TupleSkippedByEphemeralPorts) {
  config.ephemeral_port_min = kLocalPort;
  config.ephemeral_port_max = kLocalPort;
  make_shard();
  const uint32_t iss = syn_sent();
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001});
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 5001});
  inject({.flags = FIN | ACK, .seq = 5001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 5002});
  ASSERT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->connect(remote_addr, kRemotePort, rec, {}, now_).error, ConnectError::no_ephemeral_port);
  at(60000);
  EXPECT_TRUE(shard->connect(remote_addr, kRemotePort, rec, {}, now_).ok());
  wire.sent.clear();
}

}  // namespace
}  // namespace dtcp::tcp::test
