// ECN (RFC 3168 §6.1): the negotiation in the SYN exchange, which segments are ECN-capable, the
// receiver's echo of CE marks until CWR, and the sender's one reduction per window of data.
// Congestion control is Reno, so ssthresh and cwnd are exact (RFC 5681 eq. 4 on the flight).
#include <string>
#include <tuple>

#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

inline constexpr TcpFlags ECE = TcpFlags::ece;
inline constexpr TcpFlags CWR = TcpFlags::cwr;
using wire::Ecn;

constexpr uint32_t kMss = 1460;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// "On_EceCwr": the ECN setting and the ECE/CWR flags of the peer's SYN or SYN-ACK.
std::string flags_case_name(const ::testing::TestParamInfo<std::tuple<bool, uint8_t>>& info) {
  const auto [on, bits] = info.param;
  const auto flags = static_cast<TcpFlags>(bits);
  std::string name = on ? "On_" : "Off_";
  if (flags == NONE) name += "Plain";
  if (wire::has(flags, TcpFlags::ece)) name += "Ece";
  if (wire::has(flags, TcpFlags::cwr)) name += "Cwr";
  return name;
}

class EcnTest : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.ecn = true;
    config.congestion = CongestionAlgorithm::reno;
    make_shard();
  }

  // Passive open with an ECN-setup SYN and our ECN-setup SYN-ACK: ESTABLISHED with ECN, peer
  // ISN 1000. Returns our ISN.
  uint32_t ecn_established() {
    EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject({.flags = SYN | ECE | CWR, .seq = 1000, .options = {.mss = 1460}});
    const uint32_t iss =
        expect_reply({.flags = SYN | ACK | ECE, .ack = 1001, .window = 65535, .options = {.mss = 1460}}).seq;
    inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
    expect_nothing();
    EXPECT_EQ(shard->counters().conn_ecn, 1u);
    rec.events.clear();
    return iss;
  }

  // Our segment k (0-based) of a bulk send, new data: ECT(0).
  static Out segment(uint32_t iss, uint32_t k, TcpFlags extra = NONE) {
    return {.flags = ACK | extra, .seq = iss + 1 + k * kMss, .ack = 1001, .len = kMss, .ecn = Ecn::ect0};
  }
  // ESTABLISHED with ECN, 20 segments queued, the initial window of 10 in flight.
  uint32_t ten_in_flight() {
    const uint32_t iss = ecn_established();
    EXPECT_EQ(rec.conn->send(bytes_of(pattern(20 * kMss))), 20 * kMss);
    for (uint32_t k = 0; k < 10; ++k) expect_reply(segment(iss, k));
    expect_nothing();
    return iss;
  }
  // An ACK from the peer for our first `acked` segments.
  void ack(uint32_t iss, uint32_t acked, TcpFlags extra = NONE) {
    inject({.flags = ACK | extra, .seq = 1001, .ack = iss + 1 + acked * kMss});
  }
  ConnectionInfo info() const {
    ConnectionInfo out;
    shard->for_each_connection([&](const ConnectionInfo& i) { out = i; });
    return out;
  }
};

// ---- negotiation (RFC 3168 §6.1.1) ----

// A listener with ECN on or off, and a SYN with each combination of ECE and CWR: only an
// ECN-setup SYN (both) to a listener with ECN on gets an ECN-setup SYN-ACK (ECE, not CWR), and
// only then is the data ECT(0).
class PassiveNegotiation : public EcnTest, public ::testing::WithParamInterface<std::tuple<bool, uint8_t>> {};

TEST_P(PassiveNegotiation, SynAckAcceptsOnlyAnEcnSetupSyn) {
  const auto [on, syn_bits] = GetParam();
  const TcpFlags syn_flags = static_cast<TcpFlags>(syn_bits);
  config.ecn = on;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN | syn_flags, .seq = 1000, .options = {.mss = 1460}});
  const bool agreed = on && syn_flags == (ECE | CWR);
  const uint32_t iss =
      expect_reply({.flags = SYN | ACK | (agreed ? ECE : NONE), .ack = 1001, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  ASSERT_NE(rec.conn, nullptr);
  rec.conn->send(bytes_of("x"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1, .ecn = agreed ? Ecn::ect0 : Ecn::not_ect});
  EXPECT_EQ(shard->counters().conn_ecn, agreed ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(ListenerAndSynFlags, PassiveNegotiation,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(uint8_t{0}, static_cast<uint8_t>(TcpFlags::ece),
                                                              static_cast<uint8_t>(TcpFlags::cwr),
                                                              static_cast<uint8_t>(TcpFlags::ece | TcpFlags::cwr))),
                         flags_case_name);

// connect() with ECN on or off, and a SYN-ACK with each combination of ECE and CWR: our SYN is
// ECN-setup (ECE|CWR) when on; ECN is used only when the SYN-ACK has ECE without CWR (a SYN-ACK
// with both is not ECN-setup, §6.1.1).
class ActiveNegotiation : public EcnTest, public ::testing::WithParamInterface<std::tuple<bool, uint8_t>> {};

TEST_P(ActiveNegotiation, SynOffers_SynAckWithEceOnlyAgrees) {
  const auto [on, synack_bits] = GetParam();
  const TcpFlags synack_flags = static_cast<TcpFlags>(synack_bits);
  config.ecn = on;
  make_shard();
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec, {.local_port = kLocalPort}, now_);
  ASSERT_TRUE(r.ok());
  const uint32_t iss =
      expect_reply({.flags = SYN | (on ? ECE | CWR : NONE), .ack = 0, .window = 65535, .options = {.mss = 1460}}).seq;
  inject({.flags = SYN | ACK | synack_flags, .seq = 1000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  const bool agreed = on && synack_flags == ECE;
  r.connection->send(bytes_of("x"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1, .ecn = agreed ? Ecn::ect0 : Ecn::not_ect});
  EXPECT_EQ(shard->counters().conn_ecn, agreed ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(ConfigAndSynAckFlags, ActiveNegotiation,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(uint8_t{0}, static_cast<uint8_t>(TcpFlags::ece),
                                                              static_cast<uint8_t>(TcpFlags::cwr),
                                                              static_cast<uint8_t>(TcpFlags::ece | TcpFlags::cwr))),
                         flags_case_name);

TEST_F(EcnTest, ListenOptions_OverrideTheConfig) {
  config.ecn = false;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec, {.ecn = true}).ok());
  inject({.flags = SYN | ECE | CWR, .seq = 1000});
  expect_reply({.flags = SYN | ACK | ECE, .ack = 1001, .options = {.mss = 1460}});

  config.ecn = true;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec, {.ecn = false}).ok());
  inject({.flags = SYN | ECE | CWR, .seq = 1000});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}});
}

TEST_F(EcnTest, ConnectOptions_OverrideTheConfig) {
  config.ecn = false;
  make_shard();
  ASSERT_TRUE(shard->connect(remote_addr, kRemotePort, rec, {.local_port = kLocalPort, .ecn = true}, now_).ok());
  expect_reply({.flags = SYN | ECE | CWR, .ack = 0, .options = {.mss = 1460}});

  config.ecn = true;
  make_shard();
  ASSERT_TRUE(shard->connect(remote_addr, kRemotePort, rec, {.local_port = kLocalPort, .ecn = false}, now_).ok());
  expect_reply({.flags = SYN, .ack = 0, .options = {.mss = 1460}});
}

// §6.1.1.1 allows a plain SYN after a timeout (a middlebox may drop ECN-setup SYNs); like Linux
// every retransmitted SYN is plain. An ECN-setup SYN-ACK proves the first one arrived: ECN on.
TEST_F(EcnTest, Active_RetransmittedSynIsPlain_EcnSetupSynAckStillAgrees) {
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec, {.local_port = kLocalPort}, now_);
  ASSERT_TRUE(r.ok());
  const uint32_t iss = expect_reply({.flags = SYN | ECE | CWR, .ack = 0, .options = {.mss = 1460}}).seq;
  at(1000);  // initial_rto
  expect_reply({.flags = SYN, .seq = iss, .ack = 0, .options = {.mss = 1460}});
  at(3000);
  expect_reply({.flags = SYN, .seq = iss, .ack = 0, .options = {.mss = 1460}});
  inject({.flags = SYN | ACK | ECE, .seq = 1000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  r.connection->send(bytes_of("x"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1, .ecn = Ecn::ect0});
}

TEST_F(EcnTest, Passive_RetransmittedSynAckKeepsEce) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN | ECE | CWR, .seq = 1000});
  const uint32_t iss = expect_reply({.flags = SYN | ACK | ECE, .ack = 1001, .options = {.mss = 1460}}).seq;
  at(1000);
  expect_reply({.flags = SYN | ACK | ECE, .seq = iss, .ack = 1001, .options = {.mss = 1460}});
}

// An ECE in the SYN exchange is the negotiation, not congestion: a peer that sets it on the ACK
// of our SYN-ACK (as a SYN-ACK has it) leaves the initial window whole.
TEST_F(EcnTest, Passive_HandshakeAckWithEce_IsNotCongestion) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN | ECE | CWR, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK | ECE, .ack = 1001, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK | ECE, .seq = 1001, .ack = iss + 1});
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(10 * kMss))), 10 * kMss);
  for (uint32_t k = 0; k < 10; ++k) expect_reply(segment(iss, k, k == 9 ? PSH : NONE));
  EXPECT_EQ(info().cwnd, 10 * kMss);
  EXPECT_EQ(shard->counters().ecn_reductions, 0u);
}

// ---- which segments are ECN-capable (§6.1.4 - §6.1.6) ----

TEST_F(EcnTest, Sender_EctOnNewDataOnly_NotOnAcksRetransmissionsOrProbes) {
  const uint32_t iss = ecn_established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006});  // a pure ACK: Not-ECT (§6.1.4)
  rec.conn->send(bytes_of(pattern(1000)));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1006, .len = 1000, .ecn = Ecn::ect0});
  at(10);  // RTO (min_rto): the retransmission is Not-ECT (§6.1.5)
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1006, .len = 1000});
  EXPECT_EQ(shard->counters().tx_retransmits, 1u);
  // The peer takes it and closes its window: the persist timer probes, Not-ECT (§6.1.6).
  inject(11, {.flags = ACK, .seq = 1006, .ack = iss + 1001, .window = 0});
  rec.conn->send(bytes_of(pattern(100)));
  at(30);
  expect_nothing();
  at(31);  // one RTO (20 ms after the backoff) after the window closed
  expect_reply({.flags = ACK, .seq = iss + 1000, .ack = 1006});
  EXPECT_EQ(shard->counters().tx_window_probes, 1u);
  // The window opens: the held data is new data, ECT(0), with the CWR that the timeout's
  // reduction owes (§6.1.2: CWR follows a reduction for any reason).
  inject(32, {.flags = ACK, .seq = 1006, .ack = iss + 1001});
  expect_reply({.flags = ACK | PSH | CWR, .seq = iss + 1001, .ack = 1006, .len = 100, .ecn = Ecn::ect0});
}

// ---- the receiver (§6.1.3) ----

TEST_F(EcnTest, Receiver_CeEchoedWithEceOnEveryAckUntilCwr) {
  config.delayed_ack = std::chrono::milliseconds(1);
  make_shard();
  const uint32_t iss = ecn_established();
  // A CE-marked segment is ACKed at once (no delay), with ECE.
  inject(0, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(100), .ecn = Ecn::ce});
  expect_reply({.flags = ACK | ECE, .seq = iss + 1, .ack = 1101});
  // An unmarked one is ACKed as usual (delayed), still with ECE.
  inject(0, {.flags = ACK, .seq = 1101, .ack = iss + 1, .data = pattern(100), .ecn = Ecn::ect0});
  expect_nothing();
  at(1);
  expect_reply({.flags = ACK | ECE, .seq = iss + 1, .ack = 1201});
  // Our data carries the echo too.
  rec.conn->send(bytes_of("x"));
  expect_reply({.flags = ACK | PSH | ECE, .seq = iss + 1, .ack = 1201, .len = 1, .ecn = Ecn::ect0});
  // The sender's CWR ends it.
  inject(2, {.flags = ACK | CWR, .seq = 1201, .ack = iss + 2, .data = pattern(100), .ecn = Ecn::ect0});
  expect_nothing();
  at(3);
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1301});
  // CE on a segment that carries CWR: the CWR is taken first, the CE starts the echo again.
  inject(4, {.flags = ACK | CWR, .seq = 1301, .ack = iss + 2, .data = pattern(100), .ecn = Ecn::ce});
  expect_reply({.flags = ACK | ECE, .seq = iss + 2, .ack = 1401});
  EXPECT_EQ(shard->counters().rx_ce, 2u);
}

// A peer that did not agree: its ECE and CE marks mean nothing (the listener has ECN on).
TEST_F(EcnTest, NotNegotiated_EceAndCeIgnored) {
  const uint32_t iss = established();  // a plain SYN
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(10 * kMss))), 10 * kMss);
  for (uint32_t k = 0; k < 10; ++k) {
    expect_reply({.flags = ACK | (k == 9 ? PSH : NONE), .seq = iss + 1 + k * kMss, .ack = 1001, .len = kMss});
  }
  inject({.flags = ACK | ECE, .seq = 1001, .ack = iss + 1 + kMss});
  EXPECT_EQ(info().cwnd, 11 * kMss);  // slow start, no reduction
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + kMss, .data = "hello", .ecn = Ecn::ce});
  expect_reply({.flags = ACK, .seq = iss + 1 + 10 * kMss, .ack = 1006});
  const TcpCounters& c = shard->counters();
  EXPECT_EQ(c.conn_ecn, 0u);
  EXPECT_EQ(c.rx_ce, 0u);
  EXPECT_EQ(c.ecn_reductions, 0u);
}

// ---- the sender's reaction (§6.1.2) ----

TEST_F(EcnTest, Sender_Ece_ReducesOncePerWindow_CwrOnTheNextNewData) {
  const uint32_t iss = ten_in_flight();
  // The first ECE: ssthresh = FlightSize / 2 = 5 MSS of the 10 outstanding, cwnd = ssthresh.
  // Nothing is resent; 9 segments in flight exceed the window.
  ack(iss, 1, ECE);
  expect_nothing();
  EXPECT_EQ(info().ssthresh, 5 * kMss);
  EXPECT_EQ(info().cwnd, 5 * kMss);
  EXPECT_EQ(shard->counters().ecn_reductions, 1u);
  // More ECEs from the same window (the peer echoes until it sees our CWR): no new reduction.
  // Congestion avoidance counts the 4 MSS acknowledged.
  ack(iss, 5, ECE);
  expect_nothing();
  EXPECT_EQ(info().ssthresh, 5 * kMss);
  EXPECT_EQ(info().cwnd, 5 * kMss);
  // A cwnd's worth acknowledged: cwnd 6 MSS, 4 in flight, two new segments; the first says CWR.
  ack(iss, 6, ECE);
  expect_reply(segment(iss, 10, CWR));
  expect_reply(segment(iss, 11));
  expect_nothing();
  EXPECT_EQ(info().cwnd, 6 * kMss);
  EXPECT_EQ(shard->counters().ecn_reductions, 1u);
  EXPECT_EQ(shard->counters().tx_cwr, 1u);
  // SND.UNA has passed everything sent before the reduction: an ECE now is a new window's
  // (segment 10 was marked too). FlightSize 6 MSS: ssthresh = cwnd = 3 MSS, 1 in flight.
  ack(iss, 11, ECE);
  EXPECT_EQ(info().ssthresh, 3 * kMss);
  EXPECT_EQ(info().cwnd, 3 * kMss);
  expect_reply(segment(iss, 12, CWR));
  expect_reply(segment(iss, 13));
  expect_nothing();
  const TcpCounters& c = shard->counters();
  EXPECT_EQ(c.ecn_reductions, 2u);
  EXPECT_EQ(c.tx_cwr, 2u);
  EXPECT_EQ(c.tx_retransmits + c.tx_fast_retransmits, 0u);
}

// An ECE while fast recovery repairs a loss of the same window: the loss reduction answers it.
// The fast retransmit is Not-ECT; the first new data after the reduction carries CWR.
TEST_F(EcnTest, Sender_EceDuringRecovery_NoSecondReduction) {
  const uint32_t iss = ten_in_flight();
  ack(iss, 0);
  expect_reply(segment(iss, 10));  // limited transmit (RFC 3042): new data, ECT(0)
  ack(iss, 0);
  expect_reply(segment(iss, 11));
  ack(iss, 0);  // fast retransmit: ssthresh = 12 / 2 = 6 MSS, cwnd = 9 MSS
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = kMss});
  for (int i = 0; i < 3; ++i) ack(iss, 0, ECE);  // each inflates cwnd by 1 MSS, up to 12
  expect_nothing();
  ack(iss, 0, ECE);  // 13 MSS: one new segment
  expect_reply(segment(iss, 12, CWR));
  expect_nothing();
  EXPECT_EQ(info().ssthresh, 6 * kMss);
  const TcpCounters& c = shard->counters();
  EXPECT_EQ(c.recovery_entered, 1u);
  EXPECT_EQ(c.ecn_reductions, 0u);
  EXPECT_EQ(c.tx_cwr, 1u);
}

// RFC 3168 §6.1.2: one reduction for "a series of dropped and/or CE packets from a single
// window". A loss found after an ECE of the same window enters recovery without halving again.
TEST_F(EcnTest, Sender_LossAfterEceInTheSameWindow_RecoveryKeepsSsthresh) {
  const uint32_t iss = ten_in_flight();
  ack(iss, 1, ECE);  // ssthresh = cwnd = 5 MSS
  for (int i = 0; i < 2; ++i) ack(iss, 1);  // limited transmit finds no room: 9 in flight
  expect_nothing();
  ack(iss, 1);  // third duplicate: fast retransmit of segment 1
  expect_reply({.flags = ACK, .seq = iss + 1 + kMss, .ack = 1001, .len = kMss});
  EXPECT_EQ(info().ssthresh, 5 * kMss);
  EXPECT_EQ(info().cwnd, 8 * kMss);  // ssthresh + 3 MSS (RFC 5681 §3.2 step 3)
  EXPECT_EQ(shard->counters().recovery_entered, 1u);
}

}  // namespace
}  // namespace dtcp::tcp::test
