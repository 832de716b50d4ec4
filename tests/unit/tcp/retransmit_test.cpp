// Retransmission (RFC 6298): RTO estimation, backoff, Karn's rule, go-back-N with the congestion
// window collapsed, giving up after max_retries.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Retransmit = TcpTest;
using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class RetransmitOneSecond : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.min_rto = std::chrono::seconds(1);  // the handshake's 0 µs sample gives RTO = 1 s
    make_shard();
  }
};

TEST_F(RetransmitOneSecond, Data_BackoffDoublesEachTime) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  for (int64_t t : {1000, 3000, 7000, 15000, 31000}) {
    at(t - 1);
    expect_nothing();
    at(t);
    expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  }
  EXPECT_EQ(shard->counters().tx_retransmits, 5u);
  inject(31500, {.flags = ACK, .seq = 1001, .ack = iss + 4});
  at(200000);
  expect_nothing();
}

TEST_F(RetransmitOneSecond, Data_MaxRetries_ResetAndTimedOut) {
  config.max_retries = 2;
  make_shard();
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(1000);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(3000);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(6999);
  EXPECT_TRUE(rec.events.empty());
  at(7000);
  expect_reply({.flags = RST, .seq = iss + 4, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(RetransmitOneSecond, MaxRtoCapsBackoff) {
  config.max_rto = std::chrono::seconds(3);
  make_shard();
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  for (int64_t t : {1000, 3000, 6000, 9000}) {
    at(t);
    expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  }
}

TEST_F(Retransmit, RttSample_SetsRto_Rfc6298) {
  const uint32_t iss = listen_and_syn_received();
  inject(200, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  // First sample R = 200 ms (SYN-ACK to ACK): SRTT 200, RTTVAR 100, RTO = 200 + 4*100 = 600 ms.
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  // R' = 100 ms: RTTVAR = 3/4*100 + 1/4*|200-100| = 100, SRTT = 7/8*200 + 1/8*100 = 187.5,
  // RTO = 187.5 + 4*100 = 587.5 ms.
  inject(300, {.flags = ACK, .seq = 1001, .ack = iss + 4});
  rec.conn->send(bytes_of("d"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
  at(887);
  expect_nothing();
  at(888);  // 300 + 587.5 ms, rounded up to the 1 ms tick
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
}

TEST_F(RetransmitOneSecond, Karn_AckOfRetransmittedSegmentGivesNoSample) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(1000);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  inject(1001, {.flags = ACK, .seq = 1001, .ack = iss + 4});
  // No sample: the backed-off RTO (2 s) stays for the next segment.
  rec.conn->send(bytes_of("d"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
  at(3000);
  expect_nothing();
  at(3001);
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
}

TEST_F(RetransmitOneSecond, GoBackN_OneSegmentAfterTimeout_ThenSlowStart) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of(pattern(3 * 1460)));
  for (uint32_t i = 0; i < 3; ++i)
    expect_reply({.flags = i == 2 ? ACK | PSH : ACK, .seq = iss + 1 + i * 1460, .ack = 1001, .len = 1460});
  at(1000);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_nothing();  // cwnd = 1 SMSS after the timeout (RFC 5681 §3.1)
  inject(1010, {.flags = ACK, .seq = 1001, .ack = iss + 1461});
  // cwnd 2 SMSS: the two remaining segments go again (go-back-N from SND.UNA).
  expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 1460});
  // An ACK beyond snd_nxt but within what was sent before the timeout is accepted.
  inject(1011, {.flags = ACK, .seq = 1001, .ack = iss + 4381});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_ack_unsent, 0u);
}

TEST_F(RetransmitOneSecond, FinRetransmittedInFinWait1) {
  const uint32_t iss = fin_wait_1();
  at(1000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  at(3000);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  inject(3001, {.flags = ACK, .seq = 1001, .ack = iss + 2});
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_2);
}

}  // namespace
}  // namespace dtcp::tcp::test

namespace dtcp::tcp::test {
namespace {

using KeepAlive = TcpTest;

TEST_F(KeepAlive, IdlePeer_ProbedThenTimedOut) {
  const uint32_t iss = established();
  rec.conn->set_keepalive(std::chrono::seconds(10), std::chrono::seconds(1), 3);
  at(9999);
  expect_nothing();
  for (int64_t t : {10000, 11000, 12000}) {
    at(t);
    expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  }
  at(12999);
  EXPECT_TRUE(rec.events.empty());
  at(13000);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->counters().conn_keepalive_timeout, 1u);
}

TEST_F(KeepAlive, AnsweredProbe_ConnectionKept_NextProbeAfterIdle) {
  const uint32_t iss = established();
  rec.conn->set_keepalive(std::chrono::seconds(10), std::chrono::seconds(1), 3);
  at(10000);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  inject(10001, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  at(13000);
  expect_nothing();
  at(20000);
  expect_nothing();  // stale fire at 11 s re-armed to 10.001 + 10 s
  at(20001);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
}

TEST_F(KeepAlive, PeerProbe_AnsweredWithAck) {
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1000, .ack = iss + 1});  // SEG.SEQ = RCV.NXT - 1, no data
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535});
}

}  // namespace
}  // namespace dtcp::tcp::test
