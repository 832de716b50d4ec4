// Loss recovery: limited transmit (RFC 3042), fast retransmit (RFC 5681 §3.2) and NewReno's
// partial and full ACKs (RFC 6582), and how a timeout ends it all.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Recovery = TcpTest;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

constexpr uint32_t kMss = 1460;

// Our segment k (0-based) of a bulk send: seq = iss + 1 + k * MSS.
Out segment(uint32_t iss, uint32_t k) { return {.flags = ACK, .seq = iss + 1 + k * kMss, .ack = 1001, .len = kMss}; }

class RecoveryTest : public TcpTest {
 protected:
  // NewReno's window arithmetic (RFC 5681 / RFC 6582) with the Reno controller; CUBIC's own
  // numbers are checked in cubic_test.cpp.
  void SetUp() override {
    TcpTest::SetUp();
    config.congestion = CongestionAlgorithm::reno;
    make_shard();
  }
  // ESTABLISHED, 20 segments queued, the initial window of 10 in flight.
  uint32_t ten_in_flight() {
    const uint32_t iss = established();
    EXPECT_EQ(rec.conn->send(bytes_of(pattern(20 * kMss))), 20 * kMss);
    for (uint32_t k = 0; k < 10; ++k) expect_reply(segment(iss, k));
    expect_nothing();
    return iss;
  }
  void dup_ack(uint32_t iss, uint32_t una_segments = 0) {
    inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + una_segments * kMss});
  }
  ConnectionInfo info() const {
    ConnectionInfo out;
    shard->for_each_connection([&](const ConnectionInfo& i) { out = i; });
    return out;
  }
};

TEST_F(RecoveryTest, ThreeDupAcks_LimitedTransmitThenFastRetransmit_PartialThenFullAck) {
  const uint32_t iss = ten_in_flight();
  // RFC 3042: the first two duplicates each release one new segment beyond cwnd.
  dup_ack(iss);
  expect_reply(segment(iss, 10));
  dup_ack(iss);
  expect_reply(segment(iss, 11));
  EXPECT_EQ(info().cwnd, 10 * kMss);  // limited transmit leaves cwnd alone
  // The third: fast retransmit of the first segment; ssthresh = FlightSize/2 = 6 MSS, cwnd =
  // ssthresh + 3 MSS = 9 MSS, below the 12 in flight, so nothing new.
  dup_ack(iss);
  expect_reply(segment(iss, 0));
  expect_nothing();
  EXPECT_EQ(info().ssthresh, 6 * kMss);
  EXPECT_EQ(info().cwnd, 9 * kMss);
  // Each further duplicate inflates cwnd by one MSS; at 13 MSS one new segment fits.
  for (int i = 0; i < 3; ++i) {
    dup_ack(iss);
    expect_nothing();
  }
  dup_ack(iss);
  expect_reply(segment(iss, 12));
  // Partial ACK of five segments (RFC 6582 §3.2 step 5): the sixth is resent at once; cwnd
  // deflates by 5 MSS and gains one (13 - 5 + 1 = 9 MSS) so with 8 in flight one new one goes.
  dup_ack(iss, 5);
  expect_reply(segment(iss, 5));
  expect_reply(segment(iss, 13));
  expect_nothing();
  EXPECT_EQ(info().cwnd, 9 * kMss);
  // Full ACK (everything up to "recover", 12 segments): recovery ends with cwnd =
  // min(ssthresh, FlightSize + MSS) = min(6, 2 + 1) MSS (RFC 6582 §3.2 step 3), one more goes.
  dup_ack(iss, 12);
  EXPECT_EQ(info().cwnd, 3 * kMss);
  expect_reply(segment(iss, 14));
  expect_nothing();
  const TcpCounters& c = shard->counters();
  EXPECT_EQ(c.rx_dup_acks, 7u);
  EXPECT_EQ(c.tx_limited_transmits, 2u);
  EXPECT_EQ(c.recovery_entered, 1u);
  EXPECT_EQ(c.recovery_partial_acks, 1u);
  EXPECT_EQ(c.tx_fast_retransmits, 2u);
  EXPECT_EQ(c.tx_retransmits, 0u);
}

TEST_F(RecoveryTest, PartialAck_TimerRestartsOnlyForTheFirst) {
  config.min_rto = std::chrono::milliseconds(100);
  make_shard();
  const uint32_t iss = ten_in_flight();  // at 0 ms; RTO 100 ms
  for (int i = 0; i < 3; ++i) dup_ack(iss);
  wire.sent.clear();
  inject(50, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 2 * kMss});  // first partial: timer to 150
  expect_reply(segment(iss, 2));
  wire.sent.clear();
  inject(120, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 4 * kMss});  // second: timer stays
  expect_reply(segment(iss, 4));
  wire.sent.clear();
  at(149);
  expect_nothing();
  at(150);
  expect_reply(segment(iss, 4));  // RTO: go-back-N from SND.UNA
  EXPECT_EQ(shard->counters().tx_retransmits, 1u);
}

TEST_F(RecoveryTest, Timeout_CollapsesWindow_AndOldDuplicatesStartNoRecovery) {
  const uint32_t iss = ten_in_flight();  // RTO = min_rto = 10 ms
  at(10);
  expect_reply(segment(iss, 0));  // go-back-N, cwnd = 1 MSS, ssthresh = 5 MSS (RFC 5681 eq. 4)
  EXPECT_EQ(info().cwnd, kMss);
  EXPECT_EQ(info().ssthresh, 5 * kMss);
  // Duplicates for data sent before the timeout (below "recover"): no fast retransmit, no limited
  // transmit of old data (RFC 6582 §3.2 step 2).
  for (int i = 0; i < 3; ++i) dup_ack(iss);
  expect_nothing();
  EXPECT_EQ(shard->counters().recovery_not_entered, 1u);
  EXPECT_EQ(shard->counters().tx_fast_retransmits, 0u);
  // The retransmission is acknowledged: slow start, two segments.
  dup_ack(iss, 1);
  expect_reply(segment(iss, 1));
  expect_reply(segment(iss, 2));
  expect_nothing();
}

TEST_F(RecoveryTest, DuplicateAckDefinition_WindowChangeOrDataIsNotADuplicate) {
  const uint32_t iss = ten_in_flight();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 65000});  // window update
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 65000, .data = "x"});  // carries data
  wire.sent.clear();  // the ACK for "x"
  EXPECT_EQ(shard->counters().rx_dup_acks, 0u);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 1, .window = 65535});  // a change again
  EXPECT_EQ(shard->counters().rx_dup_acks, 0u);
  inject({.flags = ACK, .seq = 1002, .ack = iss + 1, .window = 65535});  // now a duplicate
  EXPECT_EQ(shard->counters().rx_dup_acks, 1u);
}

TEST_F(RecoveryTest, NoOptionsFlightOfOne_NoDuplicatesPossible_TimeoutRepairs) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(10);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  EXPECT_EQ(shard->counters().tx_retransmits, 1u);
}

}  // namespace
}  // namespace dtcp::tcp::test
