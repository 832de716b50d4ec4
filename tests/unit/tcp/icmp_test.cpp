// ICMP errors delivered to the shard (what Interface::icmp_error_input hands over, see
// tests/unit/stack/icmp_test.cpp for the parsing): RFC 5927 §4.1's in-flight check, soft errors
// (RFC 1122 4.2.3.9) reported when the connection then times out, hard errors ending only a
// handshake (RFC 5461 §4), and "fragmentation needed" (RFC 1191) lowering the MSS with a floor and
// resending the flight at the new size, segment by segment, with and without SACK.
//
// min_rto is 1 s, so the handshake's 0 µs RTT sample gives RTO = 1 s and backoff 1, 2, 4 s.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

constexpr uint8_t kUnreachable = 3;
constexpr uint8_t kTimeExceeded = 11;
constexpr uint8_t kNet = 0, kHost = 1, kProtocol = 2, kPort = 3, kFragNeeded = 4;

class Icmp : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.min_rto = std::chrono::seconds(1);
    make_shard();
  }
  // What the interface hands over for an ICMP error quoting our segment with SEG.SEQ = seq.
  void deliver(uint8_t type, uint8_t code, uint32_t seq, uint16_t next_hop_mtu = 0, uint16_t quoted_length = 1500,
               uint16_t remote_port = kRemotePort) {
    shard->icmp_error(wire::IcmpTcpError{.kind = wire::icmp_error_kind(type, code),
                                         .type = type,
                                         .code = code,
                                         .quoted_length = quoted_length,
                                         .next_hop_mtu = next_hop_mtu,
                                         .local = local_addr,
                                         .remote = remote_addr,
                                         .local_port = kLocalPort,
                                         .remote_port = remote_port,
                                         .seq = seq},
                      now_);
  }
  ConnectionInfo info() {
    ConnectionInfo out;
    shard->for_each_connection([&](const ConnectionInfo& i) {
      if (!i.time_wait_record) out = i;
    });
    return out;
  }
  // 3000 bytes from ESTABLISHED: 1460 + 1460 + 80 with MSS 1460.
  uint32_t established_with_flight() {
    const uint32_t iss = established();
    EXPECT_EQ(rec.conn->send(bytes_of(pattern(3000))), 3000u);
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
    expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .len = 1460});
    expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 80});
    return iss;
  }
};

// ---- validation (RFC 5927 §4.1) ----

TEST_F(Icmp, HostUnreachable_QuotedSeqInFlight_KeptAsSoftError_NothingSent) {
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kHost, iss + 1461);  // any byte in flight, not only SND.UNA
  EXPECT_EQ(shard->counters().icmp_soft_errors, 1u);
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  expect_nothing();
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(Icmp, QuotedSeqNotInFlight_Rejected) {
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kHost, iss);         // below SND.UNA (our SYN, acknowledged)
  deliver(kUnreachable, kHost, iss + 3001);  // SND.NXT: nothing sent there yet
  deliver(kUnreachable, kPort, iss + 100000);
  deliver(kUnreachable, kFragNeeded, iss - 5000, 576);
  EXPECT_EQ(shard->counters().icmp_rejected_out_of_window, 4u);
  EXPECT_EQ(shard->counters().icmp_soft_errors, 0u);
  EXPECT_EQ(shard->counters().icmp_pmtu_reductions, 0u);
  expect_nothing();
}

TEST_F(Icmp, NothingInFlight_EveryErrorRejected) {
  const uint32_t iss = established();
  deliver(kUnreachable, kHost, iss + 1);  // SND.UNA = SND.NXT: no segment of ours is out there
  EXPECT_EQ(shard->counters().icmp_rejected_out_of_window, 1u);
}

TEST_F(Icmp, UnknownFourTuple_Rejected) {
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kHost, iss + 1, 0, 1500, kRemotePort + 1);
  EXPECT_EQ(shard->counters().icmp_rejected_no_connection, 1u);
  EXPECT_EQ(shard->counters().icmp_soft_errors, 0u);
}

// ---- soft errors (RFC 1122 4.2.3.9) ----

TEST_F(Icmp, SoftError_ThenRetransmissionLimit_ClosedUnreachable) {
  config.max_retries = 2;
  make_shard();
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(500);
  deliver(kUnreachable, kNet, iss + 1);
  at(1000);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  deliver(kTimeExceeded, 0, iss + 1);  // the last soft error is the one kept
  at(3000);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  at(7000);
  expect_reply({.flags = RST, .seq = iss + 4, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:unreachable"});
  EXPECT_EQ(shard->counters().icmp_soft_errors, 2u);
  EXPECT_EQ(shard->counters().conn_timed_out, 1u);
  EXPECT_EQ(shard->counters().conn_timed_out_unreachable, 1u);
}

TEST_F(Icmp, SoftError_ClearedByAnAck_LaterTimeoutIsTimedOut) {
  config.max_retries = 1;
  make_shard();
  const uint32_t iss = established();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  deliver(kUnreachable, kHost, iss + 1);
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 4});  // the peer is reachable after all
  rec.conn->send(bytes_of("d"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
  at(1010);
  expect_reply({.flags = ACK | PSH, .seq = iss + 4, .ack = 1001, .len = 1});
  at(3010);
  expect_reply({.flags = RST, .seq = iss + 5, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->counters().conn_timed_out_unreachable, 0u);
}

TEST_F(Icmp, SynSent_HostUnreachable_SynRetried_ThenClosedUnreachable) {
  config.max_syn_retries = 1;
  make_shard();
  const uint32_t iss = syn_sent();
  deliver(kUnreachable, kHost, iss);
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);  // RFC 1122: soft (Linux would abort here)
  expect_nothing();
  at(1000);  // initial RTO
  expect_reply({.flags = SYN, .seq = iss, .ack = 0, .window = 65535, .options = {.mss = 1460}});
  at(3000);
  expect_nothing();
  EXPECT_EQ(rec.events, Strings{"closed:unreachable"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

// ---- hard errors: end a handshake only (RFC 5461 §4, RFC 5927 §4.2) ----

TEST_F(Icmp, SynSent_PortUnreachable_ClosedRefused) {
  const uint32_t iss = syn_sent();
  deliver(kUnreachable, kPort, iss);
  EXPECT_EQ(rec.events, Strings{"closed:refused"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().icmp_hard_errors, 1u);
  expect_nothing();
}

TEST_F(Icmp, SynSent_ProtocolUnreachable_ClosedUnreachable) {
  const uint32_t iss = syn_sent();
  deliver(kUnreachable, kProtocol, iss);
  EXPECT_EQ(rec.events, Strings{"closed:unreachable"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Icmp, SynSent_PortUnreachableQuotingAnotherSeq_Ignored) {
  const uint32_t iss = syn_sent();
  deliver(kUnreachable, kPort, iss + 1);
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);
  EXPECT_EQ(shard->counters().icmp_rejected_out_of_window, 1u);
}

TEST_F(Icmp, SynReceived_PortUnreachable_HalfOpenDroppedSilently) {
  const uint32_t iss = listen_and_syn_received();
  deliver(kUnreachable, kPort, iss);
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_TRUE(rec.events.empty());
  // The backlog slot is free again: the same SYN starts over.
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
}

TEST_F(Icmp, Established_PortUnreachable_NotReset) {
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kPort, iss + 1);
  deliver(kUnreachable, kProtocol, iss + 1);
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(shard->counters().icmp_hard_errors, 0u);
  EXPECT_EQ(shard->counters().icmp_soft_errors, 2u);
  expect_nothing();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 3001});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
}

// ---- fragmentation needed (RFC 1191) ----

TEST_F(Icmp, FragNeeded_LowersMss_GoBackNAtNewSize_CwndKept) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = established_with_flight();
  const uint32_t cwnd = info().cwnd;
  at(5);
  deliver(kUnreachable, kFragNeeded, iss + 1, 1000);  // MSS 1000 - 40 = 960
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK, .seq = iss + 961, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK, .seq = iss + 1921, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2881, .ack = 1001, .len = 120});
  expect_nothing();
  EXPECT_EQ(shard->counters().icmp_pmtu_reductions, 1u);
  EXPECT_EQ(info().cwnd, cwnd) << "RFC 1191 / Linux: a PMTU drop is not congestion";
  // What follows is cut at the new size too.
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 3001});
  rec.conn->send(bytes_of(pattern(1000)));
  expect_reply({.flags = ACK, .seq = iss + 3001, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK | PSH, .seq = iss + 3961, .ack = 1001, .len = 40});
  // A second ICMP for the old size changes nothing.
  deliver(kUnreachable, kFragNeeded, iss + 3001, 1400);
  EXPECT_EQ(shard->counters().icmp_rejected_pmtu_not_lower, 1u);
  expect_nothing();
}

TEST_F(Icmp, FragNeeded_BelowMinPmtu_FlooredAt552) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kFragNeeded, iss + 1, 296);
  EXPECT_EQ(shard->counters().icmp_pmtu_floored, 1u);
  for (uint32_t off = 0; off < 2560; off += 512)
    expect_reply({.flags = ACK, .seq = iss + 1 + off, .ack = 1001, .len = 512});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2561, .ack = 1001, .len = 440});
  expect_nothing();
}

TEST_F(Icmp, FragNeeded_ConfiguredFloor) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  config.min_pmtu = 1280;
  make_shard();
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kFragNeeded, iss + 1, 1000);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1240});
  expect_reply({.flags = ACK, .seq = iss + 1241, .ack = 1001, .len = 1240});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2481, .ack = 1001, .len = 520});
}

TEST_F(Icmp, FragNeeded_NoNextHopMtu_PlateauBelowTheQuotedSize) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kFragNeeded, iss + 1, 0, 1500);  // RFC 1191 §7: 1492, MSS 1452
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1452});
  expect_reply({.flags = ACK, .seq = iss + 1453, .ack = 1001, .len = 1452});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2905, .ack = 1001, .len = 96});
}

TEST_F(Icmp, FragNeeded_NotLower_Ignored) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = established_with_flight();
  deliver(kUnreachable, kFragNeeded, iss + 1, 1500);  // the MTU we already use
  EXPECT_EQ(shard->counters().icmp_rejected_pmtu_not_lower, 1u);
  EXPECT_EQ(shard->counters().icmp_pmtu_reductions, 0u);
  expect_nothing();
}

TEST_F(Icmp, FragNeeded_InSynSent_CapsTheMssThePeerOffers) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = syn_sent();
  deliver(kUnreachable, kFragNeeded, iss, 1200);
  EXPECT_EQ(shard->counters().icmp_pmtu_reductions, 1u);
  expect_nothing();  // the SYN is resent whole by its timer
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001});
  rec.conn->send(bytes_of(pattern(2000)));
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .len = 1160});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1161, .ack = 5001, .len = 840});
}

class IcmpSack : public Icmp {
 protected:
  void SetUp() override {
    Icmp::SetUp();
    config.sack = true;
    make_shard();
  }
  uint32_t establish_sack() {
    EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460, .sack_permitted = true}});
    const Sent synack =
        expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460, .sack_permitted = true}});
    inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1});
    EXPECT_NE(rec.conn, nullptr);
    rec.events.clear();
    return synack.seq;
  }
};

// The scoreboard's records longer than the new MSS are marked lost and resent cut to it; a record
// sent later that fits is not resent (Linux's tcp_simple_retransmit).
TEST_F(IcmpSack, FragNeeded_OversizedRecordsResentAtNewSize_SmallOneKept) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = establish_sack();
  rec.conn->send(bytes_of(pattern(2920)));
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1461, .ack = 1001, .len = 1460});
  at(1);
  rec.conn->send(bytes_of(pattern(80, 2920)));
  expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 80});
  const uint32_t cwnd = info().cwnd;
  at(2);
  deliver(kUnreachable, kFragNeeded, iss + 1461, 1000);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK, .seq = iss + 961, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK, .seq = iss + 1921, .ack = 1001, .len = 960});
  expect_reply({.flags = ACK, .seq = iss + 2881, .ack = 1001, .len = 40});
  expect_nothing();
  EXPECT_EQ(info().cwnd, cwnd);
  EXPECT_STREQ(info().recovery, "loss");
  EXPECT_EQ(shard->counters().recovery_entered + shard->counters().sack_recoveries, 0u);
  // The 80 bytes had arrived: the peer's ACKs cover everything once the resends do.
  at(10);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 3001});
  EXPECT_STREQ(info().recovery, "open");
  EXPECT_GE(info().cwnd, cwnd);
}

}  // namespace
}  // namespace dtcp::tcp::test
