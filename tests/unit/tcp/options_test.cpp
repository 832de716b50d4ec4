// Options: window scale and timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018),
// negotiation in every combination, PAWS, RTT from echoed timestamps, unknown and malformed
// options.
#include <tuple>

#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

constexpr unsigned kWs = 1, kSack = 2, kTs = 4;
// The scale is chosen for recv_buffer_max (auto-tuning grows the window to it): 4 MiB needs a
// shift of 7 (65535 << 6 < 4194304 <= 65535 << 7).
constexpr uint8_t kOurShift = 7;

class Options : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.window_scaling = config.timestamps = config.sack = true;
    make_shard();
  }
  // Passive open with every option; returns our ISN. Our TSval clock offset lands in ts_offset.
  uint32_t established_with_options(uint8_t peer_shift = 2) {
    EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject({.flags = SYN,
            .seq = 1000,
            .options = {.mss = 1460, .window_scale = peer_shift, .sack_permitted = true,
                        .timestamps = wire::TcpTimestamps{100, 0}}});
    const Sent synack = expect_reply({.flags = SYN | ACK,
                                      .ack = 1001,
                                      .window = 65535,
                                      .options = {.mss = 1460, .window_scale = kOurShift, .sack_permitted = true,
                                                  .timestamps = OutTimestamps{.tsecr = 100}}});
    ts_offset = synack.options.timestamps->tsval - static_cast<uint32_t>(now_ms());
    inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1, .options = {.timestamps = ts(101, synack)}});
    EXPECT_NE(rec.conn, nullptr);
    rec.events.clear();
    return synack.seq;
  }
  wire::TcpTimestamps ts(uint32_t tsval, const Sent& echoed) const {
    return {tsval, echoed.options.timestamps ? echoed.options.timestamps->tsval : 0};
  }
  wire::TcpTimestamps ts(uint32_t tsval) const { return {tsval, our_tsval()}; }
  uint32_t our_tsval() const { return static_cast<uint32_t>(now_ms()) + ts_offset; }
  // The timestamps our segments carry now: our clock, and the peer's TSval they echo.
  OutTimestamps stamps(uint32_t tsecr) const { return {.tsval = our_tsval(), .tsecr = tsecr}; }
  ConnectionInfo info() const {
    ConnectionInfo out;
    shard->for_each_connection([&](const ConnectionInfo& i) { out = i; });
    return out;
  }

  uint32_t ts_offset = 0;
};

// ---- negotiation: every combination of what we enable and what the peer offers ----

class Negotiation : public Options, public ::testing::WithParamInterface<std::tuple<unsigned, unsigned>> {
 protected:
  unsigned ours() const { return std::get<0>(GetParam()); }
  unsigned peers() const { return std::get<1>(GetParam()); }
  unsigned both() const { return ours() & peers(); }
  void configure() {
    config.window_scaling = (ours() & kWs) != 0;
    config.sack = (ours() & kSack) != 0;
    config.timestamps = (ours() & kTs) != 0;
    make_shard();
  }
  wire::TcpOptions peer_syn_options() const {
    wire::TcpOptions o{.mss = 1460};
    if (peers() & kWs) o.window_scale = 5;
    o.sack_permitted = (peers() & kSack) != 0;
    if (peers() & kTs) o.timestamps = wire::TcpTimestamps{7000, 0};
    return o;
  }
  // The window field of our first non-SYN segment: 256 KiB of buffer, scaled or capped.
  uint16_t expected_window() const { return (both() & kWs) ? (256 * 1024) >> kOurShift : 65535; }
};

TEST_P(Negotiation, Passive_SynAckAnswersOnlyWhatBothOffer) {
  configure();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = peer_syn_options()});
  OutOptions expected{.mss = 1460};
  if (both() & kWs) expected.window_scale = kOurShift;
  expected.sack_permitted = (both() & kSack) != 0;
  if (both() & kTs) expected.timestamps = OutTimestamps{.tsecr = 7000};
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = expected});
  wire::TcpOptions ack_options;
  if (both() & kTs) ack_options.timestamps = wire::TcpTimestamps{7001, synack.options.timestamps->tsval};
  inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1, .window = 2000, .options = ack_options});
  ASSERT_NE(rec.conn, nullptr);
  rec.conn->send(bytes_of(pattern(5000)));
  const uint32_t mss = (both() & kTs) ? 1448u : 1460u;  // RFC 7323 §3: less 12 for timestamps
  expect_reply({.flags = ACK,
                .seq = synack.seq + 1,
                .ack = 1001,
                .window = expected_window(),
                .options = {.timestamps = (both() & kTs) ? std::optional(OutTimestamps{.tsecr = 7001}) : std::nullopt},
                .len = mss});
  // The peer's window of 2000 is 64000 with its shift of 5 (all 5000 bytes go), otherwise it
  // leaves room for one full segment and sender SWS avoidance holds the rest.
  EXPECT_EQ(wire.sent.size(), (both() & kWs) ? 3u : 0u);
  wire.sent.clear();
}

TEST_P(Negotiation, Active_SynOffersOurs_SessionUsesWhatBothOffer) {
  configure();
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec, ConnectOptions{.local_port = kLocalPort}, now_);
  ASSERT_TRUE(r.ok());
  OutOptions offered{.mss = 1460};
  if (ours() & kWs) offered.window_scale = kOurShift;
  offered.sack_permitted = (ours() & kSack) != 0;
  if (ours() & kTs) offered.timestamps = OutTimestamps{.tsecr = 0};
  const Sent syn = expect_reply({.flags = SYN, .ack = 0, .window = 65535, .options = offered});
  // A sloppy peer answers with everything it has, offered or not: only what we offered counts.
  inject({.flags = SYN | ACK, .seq = 5000, .ack = syn.seq + 1, .options = peer_syn_options()});
  expect_reply({.flags = ACK,
                .seq = syn.seq + 1,
                .ack = 5001,
                .window = expected_window(),
                .options = {.timestamps = (both() & kTs) ? std::optional(OutTimestamps{.tsecr = 7000}) : std::nullopt}});
  EXPECT_EQ(r.connection->state(), TcpState::established);
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, Negotiation,
                         ::testing::Combine(::testing::Range(0u, 8u), ::testing::Range(0u, 8u)),
                         [](const auto& info) {
                           auto name = [](unsigned m) {
                             std::string s;
                             if (m & kWs) s += "Ws";
                             if (m & kSack) s += "Sack";
                             if (m & kTs) s += "Ts";
                             return s.empty() ? std::string("None") : s;
                           };
                           return "Ours" + name(std::get<0>(info.param)) + "_Peer" + name(std::get<1>(info.param));
                         });

// ---- window scale ----

TEST_F(Options, WindowScale_OurFieldRoundsUp_EdgeNeverRecedes) {
  const uint32_t iss = established_with_options();
  rec.auto_read = false;
  constexpr uint32_t unit = 1u << kOurShift;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(102)}, .data = pattern(1000)});
  inject({.flags = ACK, .seq = 2001, .ack = iss + 1, .options = {.timestamps = ts(103)}, .data = pattern(1001)});
  // 1000 bytes held: 261144 free, not a multiple of 128. The field rounds up rather than down, so
  // the right edge the peer computes (2001 + field << 7) is at or past the buffer's end.
  const uint32_t first_field = (262144 - 1000 + unit - 1) / unit;
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2001, .window = static_cast<uint16_t>(first_field),
                .options = {.timestamps = stamps(102)}});
  const uint32_t first_edge = 2001 + (first_field << kOurShift);
  // 2001 bytes held: the buffer's end (3002 + 260143) lies below that edge, which must not recede,
  // so the field covers first_edge - 3002, rounded up again.
  const Sent a = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3002, .options = {.timestamps = stamps(103)}});
  EXPECT_EQ(a.window, (first_edge - 3002 + unit - 1) / unit);
  EXPECT_GE(3002u + (uint32_t{a.window} << kOurShift), first_edge);
  EXPECT_GE(first_edge, 1001u + 262144u);
}

TEST_F(Options, WindowScale_PeerShiftAppliedToItsWindow) {
  const uint32_t iss = established_with_options(/*peer_shift=*/2);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 1448, .options = {.timestamps = ts(102)}});
  rec.conn->send(bytes_of(pattern(10000)));
  for (int i = 0; i < 4; ++i) {  // 1448 << 2 = four segments of 1448 (MSS 1460 less 12 for timestamps)
    expect_reply({.flags = ACK, .seq = iss + 1 + i * 1448, .ack = 1001, .options = {.timestamps = stamps(102)}, .len = 1448});
  }
  expect_nothing();
}

// ---- timestamps: TS.Recent, PAWS, RTTM ----

TEST_F(Options, Timestamps_TsRecentFollowsInOrderSegmentsOnly) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(200)}, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  // Out of order (beyond Last.ACK.sent): answered at once, but TS.Recent stays (RFC 7323 §4.3).
  inject({.flags = ACK, .seq = 1010, .ack = iss + 1, .options = {.timestamps = ts(300)}, .data = "zzz"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004,
                .options = {.timestamps = stamps(200), .sack_blocks = {{1010, 1013}}}});
}

TEST_F(Options, Paws_OlderTimestamp_DroppedWithAck) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(200)}, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  // In sequence, but stamped before TS.Recent: an old duplicate from a wrapped sequence space.
  inject({.flags = ACK, .seq = 1004, .ack = iss + 1, .options = {.timestamps = ts(199)}, .data = "old"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  EXPECT_EQ(rec.received, "abc");
  EXPECT_EQ(shard->counters().drop_paws, 1u);
  // A timestamp that wrapped past 2^31 ahead of TS.Recent is "older" too.
  inject({.flags = ACK, .seq = 1004, .ack = iss + 1, .options = {.timestamps = ts(200 + 0x80000001u)}, .data = "wrp"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  EXPECT_EQ(shard->counters().drop_paws, 2u);
}

TEST_F(Options, Paws_RstWithOldTimestamp_StillResets) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(200)}, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  inject({.flags = RST, .seq = 1004, .options = {.timestamps = ts(5)}});
  EXPECT_EQ(rec.events, (Strings{"readable", "closed:reset_by_peer"}));
}

TEST_F(Options, Timestamps_SegmentWithoutThem_SilentlyDropped) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "abc"});
  expect_nothing();
  EXPECT_EQ(rec.received, "");
  EXPECT_EQ(shard->counters().drop_missing_timestamp, 1u);
}

TEST_F(Options, Timestamps_IdleOver24Days_TsRecentInvalidated) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(200)}, .data = "abc"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  const int64_t later = now_ms() + int64_t{25} * 24 * 3600 * 1000;
  inject(later, {.flags = ACK, .seq = 1004, .ack = iss + 1, .options = {.timestamps = ts(100)}, .data = "new"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1007, .options = {.timestamps = stamps(100)}});
  EXPECT_EQ(rec.received, "abcnew");
  EXPECT_EQ(shard->counters().drop_paws, 0u);
}

// RFC 7323 §4.1: the ACK of a retransmitted segment still gives an RTT sample through its
// echoed timestamp, where Karn's rule leaves the timed-segment method without one.
TEST_F(Options, Rttm_EchoOfRetransmissionGivesSample) {
  config.min_rto = std::chrono::milliseconds(1);
  config.rack = false;  // a retransmission timeout, not the tail loss probe that would replace it
  make_shard();
  const uint32_t iss = established_with_options();
  rec.conn->send(bytes_of("abc"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .options = {.timestamps = stamps(101)}, .len = 3});
  // The handshake gave a 0 µs sample, so RTO = G = 1 ms: the segment is resent at 1 ms.
  at(1);
  const Sent again = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001,
                                   .options = {.timestamps = stamps(101)}, .len = 3});
  EXPECT_EQ(shard->counters().tx_retransmits, 1u);
  inject(2, {.flags = ACK, .seq = 1001, .ack = iss + 4, .options = {.timestamps = ts(150, again)}});
  EXPECT_EQ(shard->counters().rtt_timestamp_samples, 1u);
  // R = 1 ms after SRTT = RTTVAR = 0: SRTT = R/8, RTTVAR = R/4, RTO = SRTT + max(G, 4 RTTVAR)
  // (RFC 6298 §2.3).
  EXPECT_EQ(info().srtt, std::chrono::microseconds(125));
  EXPECT_EQ(info().rto, std::chrono::microseconds(1125));
}

// RFC 3522 / RFC 4015: the first ACK after a timeout echoes the original's TSval, so the
// timeout was spurious: the window comes back and the rest of the flight is not resent.
TEST_F(Options, Eifel_SpuriousTimeout_Undone_NoGoBackN) {
  config.min_rto = std::chrono::milliseconds(1);
  config.rack = false;  // a retransmission timeout, not the tail loss probe that would replace it
  make_shard();
  const uint32_t iss = established_with_options();
  rec.conn->send(bytes_of(pattern(5 * 1448)));
  Sent first;
  for (uint32_t k = 0; k < 5; ++k) {
    const Sent s = expect_reply({.flags = k == 4 ? ACK | PSH : ACK, .seq = iss + 1 + k * 1448, .ack = 1001,
                                 .options = {.timestamps = stamps(101)}, .len = 1448});
    if (k == 0) first = s;
  }
  at(1);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = stamps(101)}, .len = 1448});
  EXPECT_EQ(info().cwnd, 1448u);
  inject(2, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 1448, .options = {.timestamps = ts(150, first)}});
  expect_nothing();  // go-back-N would resend the second and third segments now
  EXPECT_EQ(shard->counters().rto_spurious, 1u);
  EXPECT_GE(info().cwnd, 10 * 1448u);
}

TEST_F(Options, Eifel_EchoOfRetransmission_TimeoutStands) {
  config.min_rto = std::chrono::milliseconds(1);
  config.rack = false;  // a retransmission timeout, not the tail loss probe that would replace it
  make_shard();
  const uint32_t iss = established_with_options();
  rec.conn->send(bytes_of(pattern(5 * 1448)));
  wire.sent.clear();
  at(1);
  const Sent again = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                                   .options = {.timestamps = stamps(101)}, .len = 1448});
  inject(2, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 1448, .options = {.timestamps = ts(150, again)}});
  // A real loss: slow start from one segment, go-back-N continues with two.
  expect_reply({.flags = ACK, .seq = iss + 1 + 1448, .ack = 1001, .options = {.timestamps = stamps(150)}, .len = 1448});
  expect_reply({.flags = ACK, .seq = iss + 1 + 2 * 1448, .ack = 1001, .options = {.timestamps = stamps(150)}, .len = 1448});
  expect_nothing();
  EXPECT_EQ(shard->counters().rto_spurious, 0u);
}

// ---- SACK ----

TEST_F(Options, Sack_OutOfOrderData_BlocksMostRecentFirst_MergedWhenAdjacent) {
  const uint32_t iss = established_with_options();
  // Each ACK answers at once (data beyond RCV.NXT) and echoes TS.Recent, which out-of-order
  // segments leave alone (RFC 7323 §4.3): 101 until 1001 arrives.
  auto expect_sack = [&](uint32_t ack, uint32_t tsecr, std::vector<wire::SackBlock> blocks) {
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = ack,
                  .options = {.timestamps = stamps(tsecr), .sack_blocks = std::move(blocks)}});
  };
  inject({.flags = ACK, .seq = 1101, .ack = iss + 1, .options = {.timestamps = ts(102)}, .data = pattern(100)});
  expect_sack(1001, 101, {{1101, 1201}});
  inject({.flags = ACK, .seq = 1301, .ack = iss + 1, .options = {.timestamps = ts(103)}, .data = pattern(100)});
  expect_sack(1001, 101, {{1301, 1401}, {1101, 1201}});
  inject({.flags = ACK, .seq = 1501, .ack = iss + 1, .options = {.timestamps = ts(104)}, .data = pattern(100)});
  // RFC 2018 §4: after the newest block come the most recently reported ones, so each block is
  // reported in several ACKs (as Linux keeps its selective_acks).
  expect_sack(1001, 101, {{1501, 1601}, {1301, 1401}, {1101, 1201}});
  inject({.flags = ACK, .seq = 1701, .ack = iss + 1, .options = {.timestamps = ts(105)}, .data = pattern(100)});
  // Four holes' worth of blocks, but beside timestamps only three fit (RFC 2018 §3): the oldest
  // report, 1101, has been sent three times and gives way.
  expect_sack(1001, 101, {{1701, 1801}, {1501, 1601}, {1301, 1401}});
  inject({.flags = ACK, .seq = 1201, .ack = iss + 1, .options = {.timestamps = ts(106)}, .data = pattern(100)});
  expect_sack(1001, 101, {{1101, 1401}, {1701, 1801}, {1501, 1601}});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(107)}, .data = pattern(100)});
  expect_sack(1401, 107, {{1701, 1801}, {1501, 1601}});
}

TEST_F(Options, Sack_PeerBlocks_ParsedAndCounted) {
  const uint32_t iss = established_with_options();
  rec.conn->send(bytes_of(pattern(3000)));
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = stamps(101)}, .len = 1448});
  expect_reply({.flags = ACK, .seq = iss + 1449, .ack = 1001, .options = {.timestamps = stamps(101)}, .len = 1448});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2897, .ack = 1001, .options = {.timestamps = stamps(101)}, .len = 104});
  wire::TcpOptions o{.timestamps = ts(102)};
  o.sack_block_count = 1;
  o.sack_blocks[0] = {iss + 1449, iss + 3001};
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = o});
  EXPECT_EQ(shard->counters().rx_sack_blocks, 1u);
  EXPECT_EQ(shard->counters().rx_dup_acks, 1u);
}

TEST_F(Options, Sack_OutOfOrderFin_BlockCoversTheFin) {
  const uint32_t iss = established_with_options();
  // RFC 2018 §3: the right edge follows the last sequence number received, and the FIN has one
  // after the data (Linux's end_seq counts it; a block one short leaves the FIN segment un-SACKed
  // and Linux resends it).
  inject({.flags = ACK | FIN, .seq = 1101, .ack = iss + 1, .options = {.timestamps = ts(102)}, .data = pattern(100)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                .options = {.timestamps = stamps(101), .sack_blocks = {{1101, 1202}}}});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(103)}, .data = pattern(100)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1202, .options = {.timestamps = stamps(103)}});
  EXPECT_EQ(rec.received.size(), 200u);
}

TEST_F(Options, Sack_BareFinBeyondAHole_Reported) {
  const uint32_t iss = established_with_options();
  inject({.flags = ACK | FIN, .seq = 1101, .ack = iss + 1, .options = {.timestamps = ts(102)}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                .options = {.timestamps = stamps(101), .sack_blocks = {{1101, 1102}}}});
}

// ---- tail loss probe (RFC 8985 §7) ----

class TailLoss : public Options {
 protected:
  // Ten full segments, the last with our FIN; the peer's ACK 1 ms later covers the first nine.
  // Sent and shut from on_accept(), as dtcp-echo's source does, so that the FIN rides on the last
  // segment (output runs once the callback returns).
  uint32_t nine_acked() {
    rec.on_accept_hook = [](Connection& c) {
      EXPECT_EQ(c.send(bytes_of(pattern(10 * 1448))), 10 * 1448u);
      c.shutdown_write();
    };
    const uint32_t iss = established_with_options();
    for (uint32_t k = 0; k < 9; ++k) {
      expect_reply({.flags = ACK, .seq = iss + 1 + k * 1448, .ack = 1001, .options = {.timestamps = stamps(101)},
                    .len = 1448});
    }
    expect_reply({.flags = ACK | PSH | FIN, .seq = iss + 1 + 9 * 1448, .ack = 1001,
                  .options = {.timestamps = stamps(101)}, .len = 1448});
    expect_nothing();
    inject(1, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 9 * 1448, .options = {.timestamps = ts(102)}});
    expect_nothing();
    return iss;
  }
};

TEST_F(TailLoss, LastFullSegmentWithFin_ProbeResendsItWhole_Repaired) {
  const uint32_t iss = nine_acked();
  // One segment in flight: PTO = 2 * SRTT + the peer's worst delayed ACK (min_rto, 10 ms) is past
  // the RTO (10 ms after the ACK at 1 ms), so the probe goes at the RTO's time in its place
  // (RFC 8985 §7.2). It is the segment as first sent: 1448 bytes and the FIN, not the last 1447
  // bytes and the FIN (which would leave its first byte to the RTO).
  at(10);
  expect_nothing();
  at(11);
  expect_reply({.flags = ACK | PSH | FIN, .seq = iss + 1 + 9 * 1448, .ack = 1001,
                .options = {.timestamps = stamps(102)}, .len = 1448});
  expect_nothing();
  inject(12, {.flags = ACK, .seq = 1001, .ack = iss + 2 + 10 * 1448, .options = {.timestamps = ts(103)}});
  at(50);
  const TcpCounters& c = shard->counters();
  EXPECT_EQ(c.tlp_probes, 1u);
  EXPECT_EQ(c.tlp_repaired, 1u);
  EXPECT_EQ(c.tx_retransmits, 0u);
  EXPECT_EQ(c.tx_retransmitted_bytes, 1448u);
}

TEST_F(TailLoss, NoProbe_TimeoutResendsLastSegmentWithItsFin) {
  config.rack = false;  // no probe: the timeout finds the tail
  make_shard();
  const uint32_t iss = nine_acked();
  at(20);
  // One segment, data and FIN, as first sent (not 1448 bytes, then the FIN on its own).
  expect_reply({.flags = ACK | PSH | FIN, .seq = iss + 1 + 9 * 1448, .ack = 1001,
                .options = {.timestamps = stamps(102)}, .len = 1448});
  expect_nothing();
  EXPECT_EQ(shard->counters().tx_retransmits, 1u);
}

// ---- unknown and malformed options ----

TEST_F(Options, UnknownOption_Skipped) {
  const uint32_t iss = established_with_options();
  const uint32_t ecr = our_tsval();
  // kind 99 (unassigned) length 4, then NOP NOP and timestamps.
  inject_raw_options(now_ms(), {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "abc"},
                     {99, 4, 0xde, 0xad, 1, 1, 8, 10, 0, 0, 0, 200, uint8_t(ecr >> 24), uint8_t(ecr >> 16),
                      uint8_t(ecr >> 8), uint8_t(ecr)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1004, .options = {.timestamps = stamps(200)}});
  EXPECT_EQ(rec.received, "abc");
}

TEST_F(Options, MalformedOption_SegmentDroppedAndCounted) {
  const uint32_t iss = established_with_options();
  const uint64_t before = shard->counters().drop_malformed;
  // MSS with length 3, and an option whose length runs past the header.
  inject_raw_options(now_ms(), {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "abc"}, {2, 3, 5, 1});
  inject_raw_options(now_ms(), {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "abc"}, {1, 1, 99, 12});
  expect_nothing();
  EXPECT_EQ(rec.received, "");
  EXPECT_EQ(shard->counters().drop_malformed, before + 2);
}

TEST_F(Options, TimeWait_AckCarriesTimestamps) {
  const uint32_t iss = established_with_options();
  rec.conn->shutdown_write();
  expect_reply({.flags = ACK | FIN, .seq = iss + 1, .ack = 1001, .options = {.timestamps = stamps(101)}});
  inject({.flags = ACK | FIN, .seq = 1001, .ack = iss + 2, .options = {.timestamps = ts(300)}});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002, .options = {.timestamps = stamps(300)}});
  // The peer's FIN again: the TIME-WAIT record answers with timestamps too (the peer would drop
  // an ACK without them, RFC 7323 §3.2). The retransmitted FIN starts below RCV.NXT, so TS.Recent
  // stays 300 (Linux's tcp_timewait_state_process takes a TSval only at RCV.NXT as well).
  inject({.flags = ACK | FIN, .seq = 1001, .ack = iss + 2, .options = {.timestamps = ts(301)}});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002, .options = {.timestamps = stamps(300)}});
}

}  // namespace
}  // namespace dtcp::tcp::test
