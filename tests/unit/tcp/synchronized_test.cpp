// Synchronized states: acceptability (RFC 9293 §3.10.7.4 first check) and the RFC 5961 RST, SYN
// and ACK rules with their challenge ACK rate limit.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Synchronized = TcpTest;
using Strings = std::vector<std::string>;

TEST_F(Synchronized, Established_RstExact_ResetByPeer) {
  established();
  inject({.flags = RST, .seq = 1001});
  expect_nothing();
  EXPECT_EQ(rec.events, Strings{"closed:reset_by_peer"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  // The tuple is free again: a segment now gets the CLOSED treatment.
  inject({.flags = ACK, .seq = 1001, .ack = 5});
  expect_reply({.flags = RST, .seq = 5, .ack = 0, .window = 0});
}

TEST_F(Synchronized, Established_RstInWindow_ChallengeAck) {
  const uint32_t iss = established();
  inject({.flags = RST, .seq = 1500});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(shard->counters().drop_rst_in_window, 1u);
}

TEST_F(Synchronized, Established_RstOutOfWindow_SilentlyDropped) {
  established();
  inject({.flags = RST, .seq = 1001 + 65535});
  inject({.flags = RST, .seq = 1000});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(shard->counters().drop_rst_out_of_window, 2u);
}

TEST_F(Synchronized, Established_Syn_ChallengeAck) {
  const uint32_t iss = established();
  inject({.flags = SYN, .seq = 1001});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535});
  inject({.flags = SYN, .seq = 123456});  // any sequence number
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
}

TEST_F(Synchronized, ChallengeAck_RateLimitedPerSecond) {
  config.challenge_ack_limit = 2;
  make_shard();
  const uint32_t iss = established();
  inject(100, {.flags = RST, .seq = 1500});
  inject(200, {.flags = SYN, .seq = 1001});
  inject(300, {.flags = RST, .seq = 1600});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_challenge_ack_limited, 1u);
  inject(1100, {.flags = RST, .seq = 1700});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
}

TEST_F(Synchronized, Established_AckTooOld_ChallengeAck) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1 - 70000, .data = "x"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(rec.received, "");
  EXPECT_EQ(shard->counters().drop_ack_too_old, 1u);
}

TEST_F(Synchronized, Established_OldButAcceptableAck_DataTaken) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss - 100, .data = "x"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002});
  EXPECT_EQ(rec.received, "x");
}

TEST_F(Synchronized, Established_AckOfUnsentData_AckedAndDropped) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 100, .data = "x"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(rec.received, "");
  EXPECT_EQ(shard->counters().drop_ack_unsent, 1u);
}

TEST_F(Synchronized, Established_SegmentBeyondWindow_AckSent) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001 + 65535, .ack = iss + 1, .data = "x"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(shard->counters().drop_unacceptable, 1u);
}

TEST_F(Synchronized, Established_OldDuplicate_AckSent) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004});
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004});
  EXPECT_EQ(rec.received, "abc");
}

TEST_F(Synchronized, Established_PartlyOldSegment_TrimmedFront) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004});
  inject({.flags = ACK | PSH, .seq = 1002, .ack = iss + 1, .data = "bcdef"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1007});
  EXPECT_EQ(rec.received, "abcdef");
}

TEST_F(Synchronized, Established_SegmentPastWindowEdge_TrimmedBack) {
  config.recv_buffer = 1500;
  make_shard();
  rec.auto_read = false;
  EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000});
  const uint32_t iss =
      expect_reply({.flags = SYN | ACK, .ack = 1001,   .window = 1500, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  inject({.flags = ACK | FIN, .seq = 1001, .ack = iss + 1, .data = pattern(1800)});
  // 1500 bytes taken, the rest and the FIN are outside the window.
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2501, .window = 0});
  EXPECT_EQ(rec.conn->readable(), 1500u);
  EXPECT_EQ(rec.conn->state(), TcpState::established);
}

TEST_F(Synchronized, Established_NoAckFlag_Dropped) {
  established();
  inject({.flags = PSH, .seq = 1001, .data = "abc"});
  expect_nothing();
  EXPECT_EQ(rec.received, "");
  EXPECT_EQ(shard->counters().drop_no_ack_flag, 1u);
}

TEST_F(Synchronized, CloseWait_RstExact_ResetByPeer) {
  close_wait();
  inject({.flags = RST, .seq = 1002});
  EXPECT_EQ(rec.events, Strings{"closed:reset_by_peer"});
}

TEST_F(Synchronized, FinWait2_RstExact_ResetByPeer) {
  fin_wait_2();
  rec.events.clear();
  inject({.flags = RST, .seq = 1001});
  EXPECT_EQ(rec.events, Strings{"closed:reset_by_peer"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Synchronized, LastAck_RstExact_Closed) {
  last_ack();
  inject({.flags = RST, .seq = 1002});
  EXPECT_EQ(rec.events, Strings{"closed:reset_by_peer"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Synchronized, Closing_RstExact_Closed) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  ASSERT_EQ(rec.conn->state(), TcpState::closing);
  rec.events.clear();
  inject({.flags = RST, .seq = 1002});
  EXPECT_EQ(rec.events, Strings{"closed:reset_by_peer"});
}

}  // namespace
}  // namespace dtcp::tcp::test
