// SACK loss recovery through the shard, on a connection with SACK and timestamps (MSS 1460 less
// the 12 bytes of timestamps: 1448 per segment) and Reno, so every cwnd is an exact number: the
// RFC 6675 scoreboard, RACK-TLP (RFC 8985), PRR (RFC 6937), D-SACK (RFC 2883) sent and used for
// undo, timeouts with a scoreboard, and a peer carving the flight into tiny SACK blocks.
//
// Unless a test says otherwise: our SYN-ACK leaves at 0 ms and the handshake's ACK arrives at 8 ms,
// so SRTT = 8 ms, RTTVAR = 4 ms and RTO = 8 + 4 * 4 = 24 ms (RFC 6298 §2.2); the flight leaves at
// 8 ms and the peer's ACKs for it arrive at 16 ms, so RACK.min_RTT = 8 ms and its reordering window
// is min_RTT / 4 = 2 ms (RFC 8985 §6.2 step 4).
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "harness.hpp"
#include "sent_map_check.hpp"
#include "tcp/tcb.hpp"

namespace dtcp::tcp::test {
namespace {

constexpr uint32_t kMss = 1448;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class SackRecovery : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.sack = config.timestamps = true;
    config.congestion = CongestionAlgorithm::reno;
    make_shard();
  }

  // Passive open with SACK and timestamps; the handshake's ACK arrives `rtt_ms` after our SYN-ACK
  // and offers `window` (no window scaling).
  void establish(int64_t rtt_ms = 8, uint16_t window = 65535) {
    ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject(0, {.flags = SYN, .seq = 1000,
               .options = {.mss = 1460, .sack_permitted = true, .timestamps = wire::TcpTimestamps{peer_ts, 0}}});
    const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535,
                                      .options = {.mss = 1460, .sack_permitted = true,
                                                  .timestamps = OutTimestamps{.tsecr = peer_ts}}});
    ts_offset = synack.options.timestamps->tsval;  // our TSval clock read 0 ms
    iss = synack.seq;
    ++peer_ts;
    inject(rtt_ms, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = window,
                    .options = {.timestamps = wire::TcpTimestamps{peer_ts, synack.options.timestamps->tsval}}});
    ASSERT_NE(rec.conn, nullptr);
    ASSERT_EQ(rec.conn->state(), TcpState::established);
    rec.events.clear();
  }
  // Queues `segments` more segments' worth of data (the pattern continues across calls).
  void queue(uint32_t segments) {
    const std::string data = pattern(segments * kMss, queued);
    ASSERT_EQ(rec.conn->send(bytes_of(data)), data.size());
    queued += data.size();
  }
  // Sequence number of byte `offset` of our data, and of the start of our segment k.
  uint32_t byte(uint32_t offset) const { return iss + 1 + offset; }
  uint32_t seq(uint32_t k) const { return byte(k * kMss); }
  wire::SackBlock blk(uint32_t from_segment, uint32_t to_segment) const { return {seq(from_segment), seq(to_segment)}; }
  uint32_t tsval_at(int64_t ms) const { return static_cast<uint32_t>(ms) + ts_offset; }

  // An ACK from the peer at `ms`: SEG.ACK, SACK blocks in order, and an echo of the TSval our
  // segments sent at `echo_ms` carried. The peer's own TSval goes up by one each time.
  void peer_ack(int64_t ms, uint32_t ack, std::vector<wire::SackBlock> blocks, int64_t echo_ms) {
    wire::TcpOptions o{.timestamps = wire::TcpTimestamps{++peer_ts, tsval_at(echo_ms)}};
    o.sack_block_count = static_cast<uint8_t>(blocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) o.sack_blocks[i] = blocks[i];
    inject(ms, {.flags = ACK, .seq = 1001, .ack = ack, .options = o});
  }
  // Our data segment starting at byte `offset`, sent now, with exactly the bytes sent there first.
  Sent expect_bytes(uint32_t offset, uint32_t len, TcpFlags flags = ACK) {
    const Sent s = expect_reply({.flags = flags, .seq = byte(offset), .ack = 1001,
                                 .options = {.timestamps = OutTimestamps{.tsval = tsval_at(now_ms()), .tsecr = peer_ts}},
                                 .len = len});
    const std::string expected = pattern(len, offset);
    EXPECT_TRUE(s.payload.size() == len && std::memcmp(s.payload.data(), expected.data(), len) == 0)
        << "payload of the segment at offset " << offset << " is not the data sent there";
    return s;
  }
  Sent expect_seg(uint32_t k, TcpFlags flags = ACK) { return expect_bytes(k * kMss, kMss, flags); }
  void expect_segs(uint32_t from, uint32_t to, TcpFlags last_flags = ACK) {
    for (uint32_t k = from; k < to; ++k) expect_seg(k, k + 1 == to ? last_flags : ACK);
  }

  // Ten segments sent at 8 ms; segment 1 is SACKed at 16 ms and segment 0 arrives at 17 ms:
  // reordered, not lost (RFC 8985 §6.2 step 3 notes the reordering).
  void reorder_segment_0() {
    establish();
    queue(10);
    expect_segs(0, 10, ACK | PSH);
    peer_ack(16, seq(0), {blk(1, 2)}, 8);
    EXPECT_EQ(tcb().rack_deadline, ms(18));
    peer_ack(17, seq(2), {}, 8);
    EXPECT_TRUE(tcb().rack_reordering_seen);
    EXPECT_EQ(tcb().rack_deadline, kNever);
  }

  Tcb& tcb() { return static_cast<Tcb&>(*rec.conn); }
  uint32_t pipe() { return tcb().sent.pipe(tcb().flight_size()); }
  uint32_t cwnd() { return tcb().cc->cwnd(); }
  uint32_t ssthresh() { return tcb().cc->ssthresh(); }
  const TcpCounters& counters() const { return shard->counters(); }
  ::testing::AssertionResult map_ok() { return map_consistent(tcb().sent, tcb().flight_size()); }
  TimePoint ms(int64_t v) const { return TimePoint(std::chrono::milliseconds(v)); }

  uint32_t iss = 0;
  uint32_t ts_offset = 0;
  uint32_t peer_ts = 100;
  size_t queued = 0;
};

constexpr uint32_t kRenoInitialSsthresh = std::numeric_limits<uint32_t>::max() / 2;

// ---- a hole revealed by SACK blocks ----

// RFC 8985 §6.2: with DupThresh segments SACKed and no reordering seen the reordering window is 0,
// so the hole is lost as soon as RACK.rtt has passed since it was sent, as RFC 6675 would say
// after three duplicate ACKs. Only the hole is resent: no go-back-N.
TEST_F(SackRecovery, HoleBelowThreeSackedSegments_OnlyTheHoleResent_ExitSetsCwndToSsthresh) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  // Segments 0-2 arrive, 3 is lost, 4-6 arrive: three ACKs SACKing one more each.
  peer_ack(16, seq(3), {blk(4, 5)}, 8);
  EXPECT_EQ(cwnd(), 12 * kMss) << "slow start on the cumulative ACK of three segments (RFC 3465, L = 2)";
  peer_ack(16, seq(3), {blk(4, 6)}, 8);
  expect_nothing();  // 2 SACKed: the window is min_RTT/4, the hole is not lost yet
  EXPECT_EQ(tcb().rack_deadline, ms(18));
  peer_ack(16, seq(3), {blk(4, 7)}, 8);
  expect_seg(3);
  expect_nothing();
  EXPECT_EQ(tcb().snd_nxt, tcb().snd_max);
  // Recovery: ssthresh = FlightSize / 2 = 7 * 1448 / 2 (RFC 5681 eq. 4); pipe = 7 - 3 SACKed - 1
  // lost = 3 segments <= ssthresh, so PRR-SSRB: sndcnt = min(ssthresh - pipe, MSS + delivered).
  EXPECT_EQ(ssthresh(), 5068u);
  EXPECT_EQ(cwnd(), 5068u);
  EXPECT_EQ(pipe(), 4 * kMss);
  EXPECT_TRUE(map_ok());
  EXPECT_EQ(records_of(tcb().sent, SeqNum(seq(0))),
            (std::vector<Rec>{{3 * kMss, 4 * kMss, L | R | E}, {4 * kMss, 7 * kMss, S}, {7 * kMss, 10 * kMss, 0}}));
  EXPECT_EQ(counters().rack_lost_segments, 1u);
  EXPECT_EQ(counters().sack_recoveries, 1u);
  EXPECT_EQ(counters().tx_sack_retransmits, 1u);
  EXPECT_EQ(counters().prr_sent_bytes, kMss);
  EXPECT_EQ(counters().rx_dup_acks, 2u);
  EXPECT_EQ(counters().tx_retransmits, 0u);
  // RFC 6675 §5 / RFC 6937 §3: SND.UNA reaches "recover" (SND.MAX when recovery began): cwnd =
  // ssthresh.
  peer_ack(24, seq(10), {}, 16);
  expect_nothing();
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(cwnd(), 5068u);
  EXPECT_TRUE(tcb().sent.empty());
}

// Several holes in one ACK: all lost at once (reordering window 0), resent lowest first (RFC 6675
// NextSeg rule 1), then new data, as far as PRR-SSRB lets them out.
TEST_F(SackRecovery, SeveralHolesInOneAck_ResentLowestFirstThenNewData) {
  establish();
  queue(12);
  expect_segs(0, 10);
  // Segment 0 arrives, 1, 3 and 5 are lost, the rest arrive.
  peer_ack(16, seq(1), {blk(6, 10), blk(2, 3), blk(4, 5)}, 8);
  // ssthresh = 10 segments / 2; delivered = 1 + 6 segments; pipe = 9 - 6 - 3 = 0:
  // sndcnt = min(ssthresh - 0, delivered + MSS) = ssthresh = 5 segments.
  expect_seg(1);
  expect_seg(3);
  expect_seg(5);
  expect_seg(10);
  expect_seg(11, ACK | PSH);
  expect_nothing();
  EXPECT_EQ(ssthresh(), 5 * kMss);
  EXPECT_EQ(cwnd(), 5 * kMss);
  EXPECT_EQ(pipe(), 5 * kMss);
  EXPECT_EQ(tcb().prr_out, 5 * kMss);
  EXPECT_EQ(counters().prr_sent_bytes, 5 * kMss);
  EXPECT_EQ(counters().tx_sack_retransmits, 3u);
  EXPECT_EQ(counters().rack_lost_segments, 3u);
  EXPECT_TRUE(map_ok());
  peer_ack(24, seq(12), {}, 16);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(cwnd(), 5 * kMss);
  expect_nothing();
}

// A peer with more holes than one option can report (three blocks beside timestamps, RFC 2018 §3)
// reports them over several ACKs; the scoreboard keeps what earlier ACKs said.
TEST_F(SackRecovery, MoreHolesThanBlocksFit_ScoreboardRemembersEarlierBlocks) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  // The peer holds 1, 3, 5, 7 and 9.
  peer_ack(16, seq(0), {blk(1, 2), blk(3, 4), blk(5, 6)}, 8);
  // RACK.segment is 5: 0, 2, 4 were sent before it and are lost. pipe = 10 - 3 - 3 = 4 segments,
  // ssthresh 5: PRR-SSRB lets one go.
  expect_seg(0);
  expect_nothing();
  peer_ack(16, seq(0), {blk(7, 8), blk(1, 2), blk(3, 4)}, 8);
  // 6 is lost too; pipe = 10 - 4 - 4 + 1 = 3: two go, lowest first.
  expect_seg(2);
  expect_seg(4);
  expect_nothing();
  peer_ack(16, seq(0), {blk(9, 10), blk(5, 6), blk(7, 8)}, 8);
  expect_seg(6);
  expect_seg(8);
  expect_nothing();
  EXPECT_EQ(tcb().sent.sacked_bytes(), 5 * kMss);
  EXPECT_EQ(tcb().sent.lost_bytes(), 5 * kMss);
  EXPECT_EQ(tcb().sent.retransmitted_bytes(), 5 * kMss);
  EXPECT_EQ(pipe(), 5 * kMss);
  EXPECT_EQ(counters().rx_sack_blocks, 9u);
  EXPECT_EQ(counters().tx_sack_retransmits, 5u);
  EXPECT_TRUE(map_ok());
  peer_ack(24, seq(10), {}, 16);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(cwnd(), 5 * kMss);
}

// ---- blocks that say nothing about holes ----

TEST_F(SackRecovery, BlocksBelowUnaOrBeyondSndMax_DsackOrIgnored) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  // First block below SEG.ACK: a D-SACK (RFC 2883 §4). A block past SND.MAX, and one below SND.UNA
  // that is not first, are ignored.
  peer_ack(16, seq(2), {blk(0, 1), {seq(9), seq(11)}, blk(0, 2)}, 8);
  EXPECT_EQ(counters().rx_sack_blocks, 3u);
  EXPECT_EQ(counters().rx_dsack, 1u);
  EXPECT_EQ(counters().rx_sack_invalid, 2u);
  EXPECT_EQ(tcb().sent.sacked_bytes(), 0u);
  EXPECT_EQ(counters().dsack_undo, 0u) << "nothing was retransmitted: nothing to undo";
  // RFC 8985 §6.2 step 4: a D-SACK widens the reordering window to 2 * min_RTT/4.
  EXPECT_EQ(tcb().rack_reo_wnd_mult, 2u);
  // An empty and a reversed block are ignored; a valid one beside them counts.
  peer_ack(16, seq(2), {{seq(5), seq(5)}, {seq(6), seq(5)}, blk(3, 4)}, 8);
  EXPECT_EQ(counters().rx_sack_invalid, 4u);
  EXPECT_EQ(counters().rx_dsack, 1u);
  EXPECT_EQ(tcb().sent.sacked_bytes(), kMss);
  // Segment 2 was sent before the SACKed 3: lost at 8 + RACK.rtt 8 + reo_wnd 4 ms.
  EXPECT_EQ(tcb().rack_deadline, ms(20));
  expect_nothing();
  EXPECT_TRUE(map_ok());
  peer_ack(17, seq(10), {}, 8);
  expect_nothing();
  EXPECT_EQ(counters().sack_recoveries, 0u);
}

// ---- PRR, RFC 6937 ----

// RFC 6937's example shape: 20 segments in flight, the first lost, every ACK SACKs one more. Before
// recovery pipe lets one new segment out per duplicate ACK (limited transmit, RFC 3042; cwnd itself
// does not grow on an ACK that does not advance SND.UNA, RFC 5681 §3.1). In recovery PRR sends one
// segment for every two delivered while pipe > ssthresh, then PRR-SSRB holds pipe at ssthresh.
TEST_F(SackRecovery, Prr_OneLossInTwenty_OneSegmentPerTwoDelivered_ThenSsrb) {
  config.initial_window = 20;
  make_shard();
  establish();
  queue(30);
  expect_segs(0, 20);
  EXPECT_EQ(cwnd(), 20 * kMss);
  auto dup_ack = [&](uint32_t sacked_to) { peer_ack(16, seq(0), {blk(1, sacked_to + 1)}, 8); };
  dup_ack(1);
  expect_seg(20);
  dup_ack(2);
  expect_seg(21);
  expect_nothing();
  EXPECT_EQ(cwnd(), 20 * kMss);
  dup_ack(3);  // 3 SACKed: segment 0 is lost; recovery with FlightSize 22 segments
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(ssthresh(), 11 * kMss);
  EXPECT_EQ(tcb().recover_fs, 22 * kMss);
  EXPECT_EQ(tcb().recover.value(), seq(22));
  // sndcnt = ceil(prr_delivered * ssthresh / RecoverFS) - prr_out = ceil(1448 / 2) - 0.
  EXPECT_EQ(cwnd(), 18 * kMss + kMss / 2);
  // The segments (and cwnd = pipe + sndcnt) each further ACK gives, per RFC 6937 §3.
  struct Step {
    uint32_t sacked;
    int32_t sends;  // the new segment sent, or -1
    uint32_t cwnd;
  };
  const Step steps[] = {
      {4, -1, 18 * kMss},               {5, -1, 17 * kMss + kMss / 2},  {6, 22, 17 * kMss},
      {7, -1, 16 * kMss + kMss / 2},    {8, 23, 16 * kMss},             {9, -1, 15 * kMss + kMss / 2},
      {10, 24, 15 * kMss},              {11, -1, 14 * kMss + kMss / 2}, {12, 25, 14 * kMss},
      {13, -1, 13 * kMss + kMss / 2},   {14, 26, 13 * kMss},            {15, -1, 12 * kMss + kMss / 2},
      // pipe reaches ssthresh: PRR-SSRB, sndcnt = min(ssthresh - pipe, ...), one per ACK.
      {16, -1, 11 * kMss},              {17, 27, 11 * kMss},            {18, 28, 11 * kMss},
      {19, 29, 11 * kMss},
  };
  for (const Step& s : steps) {
    SCOPED_TRACE("ACK SACKing 1.." + std::to_string(s.sacked));
    dup_ack(s.sacked);
    if (s.sends >= 0) expect_seg(static_cast<uint32_t>(s.sends), s.sends == 29 ? ACK | PSH : ACK);
    expect_nothing();
    EXPECT_EQ(cwnd(), s.cwnd);
    EXPECT_TRUE(map_ok());
  }
  // One retransmission and eight new segments for the 17 delivered in recovery.
  EXPECT_EQ(tcb().prr_out, 9 * kMss);
  EXPECT_EQ(tcb().prr_delivered, 17 * kMss);
  EXPECT_EQ(counters().prr_sent_bytes, 9 * kMss);
  EXPECT_EQ(pipe(), 11 * kMss);
  // The retransmission and 20, 21 arrive: SND.UNA reaches recover = 22, recovery ends, cwnd =
  // ssthresh.
  peer_ack(24, seq(22), {}, 16);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(cwnd(), 11 * kMss);
  expect_nothing();
  EXPECT_EQ(counters().tx_retransmits, 0u);
}

// RFC 6937 §3, PRR-SSRB: with most of the flight lost pipe falls far below ssthresh, and each ACK
// lets out at most one segment more than it delivered (a slow start back to ssthresh).
TEST_F(SackRecovery, PrrSsrb_PipeFarBelowSsthresh_DeliveredPlusOnePerAck) {
  config.initial_window = 20;
  make_shard();
  establish();
  queue(20);
  expect_segs(0, 20, ACK | PSH);
  // 0-14 are lost; 15-19 arrive one by one.
  peer_ack(16, seq(0), {blk(15, 16)}, 8);
  peer_ack(16, seq(0), {blk(15, 17)}, 8);
  expect_nothing();
  peer_ack(16, seq(0), {blk(15, 18)}, 8);
  // ssthresh = 10 segments; pipe = 20 - 3 - 15 = 2; sndcnt = min(8, 1 delivered + 1).
  expect_seg(0);
  expect_seg(1);
  expect_nothing();
  EXPECT_EQ(ssthresh(), 10 * kMss);
  EXPECT_EQ(cwnd(), 4 * kMss);
  peer_ack(16, seq(0), {blk(15, 19)}, 8);
  expect_seg(2);
  expect_seg(3);
  expect_nothing();
  peer_ack(16, seq(0), {blk(15, 20)}, 8);
  expect_seg(4);
  expect_seg(5);
  expect_nothing();
  EXPECT_EQ(cwnd(), 6 * kMss);
  // The first two retransmissions arrive: two delivered, three go.
  peer_ack(24, seq(2), {blk(15, 20)}, 16);
  expect_seg(6);
  expect_seg(7);
  expect_seg(8);
  expect_nothing();
  EXPECT_EQ(cwnd(), 7 * kMss);
  EXPECT_EQ(counters().prr_sent_bytes, 9 * kMss);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::recovery);
  EXPECT_TRUE(map_ok());
}

// ---- RACK reordering window and timer (RFC 8985 §6.2, §6.3) ----

TEST_F(SackRecovery, Rack_OneSegmentSacked_HoleResentWhenTheReorderingWindowExpires) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  peer_ack(16, seq(0), {blk(1, 2)}, 8);
  // Segment 0 is lost at its transmit time + RACK.rtt + min_RTT/4 = 8 + 8 + 2 ms.
  EXPECT_EQ(tcb().min_rtt, std::chrono::milliseconds(8));
  EXPECT_EQ(tcb().rack_deadline, ms(18));
  at(17);
  at_us(17999);
  expect_nothing();
  EXPECT_EQ(counters().rack_reorder_timeouts, 0u);
  at(18);
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(counters().rack_reorder_timeouts, 1u);
  EXPECT_EQ(counters().rack_lost_segments, 1u);
  EXPECT_EQ(counters().sack_recoveries, 1u);
  EXPECT_EQ(ssthresh(), 5 * kMss);
  EXPECT_EQ(counters().tx_retransmits, 0u);
  peer_ack(26, seq(10), {}, 18);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(cwnd(), 5 * kMss);
}

TEST_F(SackRecovery, Rack_ReorderedSegmentArrivesBeforeTheDeadline_NothingResent) {
  reorder_segment_0();
  at(18);
  at(25);
  expect_nothing();
  EXPECT_EQ(counters().rack_reorder_timeouts, 0u);
  EXPECT_EQ(counters().sack_recoveries, 0u);
  EXPECT_EQ(counters().tx_sack_retransmits, 0u);
  peer_ack(25, seq(10), {}, 8);
  at(100);
  expect_nothing();
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_EQ(counters().tlp_probes, 0u);
}

// Once reordering was seen the window stays min_RTT/4 even with three segments SACKed.
TEST_F(SackRecovery, Rack_AfterReorderingSeen_ThreeSackedStillWaitForTheWindow) {
  reorder_segment_0();
  peer_ack(18, seq(2), {blk(3, 4)}, 8);
  peer_ack(18, seq(2), {blk(3, 5)}, 8);
  peer_ack(18, seq(2), {blk(3, 6)}, 8);
  expect_nothing();
  // RACK.rtt is now 10 ms (3-5 were delivered 10 ms after they were sent): 8 + 10 + 2.
  EXPECT_EQ(tcb().rack_deadline, ms(20));
  at(19);
  expect_nothing();
  at(20);
  expect_seg(2);
  expect_nothing();
  EXPECT_EQ(counters().rack_reorder_timeouts, 1u);
}

// ---- RFC 6675 IsLost() when RACK is off ----

TEST_F(SackRecovery, RackOff_IsLostAfterMoreThanTwoSegmentsSackedAbove) {
  config.rack = false;
  make_shard();
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  peer_ack(16, seq(0), {blk(1, 2)}, 8);
  peer_ack(16, seq(0), {blk(1, 3)}, 8);  // 2 * SMSS above: not more than (DupThresh - 1) * SMSS
  expect_nothing();
  peer_ack(16, seq(0), {blk(1, 4)}, 8);
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(counters().sack_lost_segments, 1u);
  EXPECT_EQ(counters().rack_lost_segments, 0u);
  EXPECT_EQ(tcb().tlp_deadline, kNever) << "no tail loss probe without RACK";
}

// ---- tail loss probe (RFC 8985 §7) ----

// The last segment of a flight is lost; the peer ACKs the others. With one segment in flight the
// PTO is 2 * SRTT + WCDelAckT (min_rto stands in for it), which is past the RTO here, so the probe
// goes at the RTO's time in its place (RFC 8985 §7.2) and resends the last segment. Its ACK shows it
// repaired a loss: cwnd is reduced once, as for a fast recovery (RFC 8985 §7.4), and no RTO fired.
TEST_F(SackRecovery, Tlp_LastSegmentLost_ProbeResendsIt_RepairCountedAndCwndReducedOnce) {
  establish();
  queue(3);
  expect_segs(0, 3, ACK | PSH);
  EXPECT_EQ(tcb().tlp_deadline, ms(8 + 2 * 8));
  peer_ack(16, seq(2), {}, 8);
  // RTT sample 8 ms: SRTT 8, RTTVAR 3, RTO 8 + 12 = 20 ms, due at 36. PTO = 16 + 10 = 26 ms.
  EXPECT_EQ(tcb().srtt, std::chrono::milliseconds(8));
  EXPECT_EQ(tcb().rto, std::chrono::milliseconds(20));
  EXPECT_EQ(tcb().tlp_deadline, ms(36));
  at(35);
  expect_nothing();
  at(36);
  expect_seg(2, ACK | PSH);
  expect_nothing();
  EXPECT_EQ(counters().tlp_probes, 1u);
  EXPECT_EQ(counters().tlp_new_data, 0u);
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_EQ(tcb().rexmit_deadline, ms(36 + 20)) << "the RTO runs from the probe";
  EXPECT_EQ(cwnd(), 10 * kMss);
  peer_ack(44, seq(3), {}, 36);
  EXPECT_EQ(counters().tlp_repaired, 1u);
  // Reno: ssthresh = max(FlightSize / 2, 2 * SMSS) and cwnd = ssthresh.
  EXPECT_EQ(ssthresh(), 2 * kMss);
  EXPECT_EQ(cwnd(), 2 * kMss);
  at(200);
  expect_nothing();
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_EQ(counters().tlp_repaired, 1u);
  EXPECT_EQ(cwnd(), 2 * kMss);
  EXPECT_EQ(counters().sack_recoveries, 0u);
}

// The original had arrived (its ACK was lost) and the probe arrives as a duplicate: the ACK that
// covers it carries a D-SACK for it, so the probe was redundant and cwnd stands (RFC 8985 §7.4.2).
TEST_F(SackRecovery, Tlp_ProbeReportedAsDuplicate_NoLossInferred) {
  establish();
  queue(3);
  expect_segs(0, 3, ACK | PSH);
  peer_ack(16, seq(2), {}, 8);
  at(36);
  expect_seg(2, ACK | PSH);
  peer_ack(44, seq(3), {blk(2, 3)}, 36);
  EXPECT_EQ(counters().rx_dsack, 1u);
  EXPECT_EQ(counters().tlp_repaired, 0u);
  EXPECT_EQ(cwnd(), 10 * kMss);
  EXPECT_EQ(ssthresh(), kRenoInitialSsthresh);
  EXPECT_FALSE(tcb().tlp_in_flight);
  expect_nothing();
}

// No ACK at all for a flight, more data queued: the probe at 2 * SRTT is a new segment beyond cwnd
// (RFC 8985 §7.3); its SACK makes RACK find the flight lost and fast recovery repair it, not an RTO.
TEST_F(SackRecovery, Tlp_WholeFlightLost_ProbeIsNewData_ItsSackStartsRecovery) {
  establish();
  queue(15);
  expect_segs(0, 10);
  at(23);
  expect_nothing();
  at(24);
  expect_seg(10);
  expect_nothing();
  EXPECT_EQ(counters().tlp_probes, 1u);
  EXPECT_EQ(counters().tlp_new_data, 1u);
  EXPECT_EQ(counters().tx_retransmitted_bytes, 0u);
  peer_ack(32, seq(0), {blk(10, 11)}, 24);
  // 0-9 were sent before the SACKed probe: lost. FlightSize 11 segments: ssthresh 5.5; pipe 0, so
  // PRR-SSRB lets delivered + 1 = 2 segments go.
  expect_seg(0);
  expect_seg(1);
  expect_nothing();
  EXPECT_EQ(ssthresh(), 11 * kMss / 2);
  EXPECT_EQ(counters().sack_recoveries, 1u);
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_TRUE(map_ok());
}

// The same with the peer's window full: no new data may go, so the probe resends the last
// segment sent (RFC 8985 §7.3), at 2 * SRTT.
TEST_F(SackRecovery, Tlp_WindowFull_ProbeResendsTheLastSegmentDespiteQueuedData) {
  establish(8, 10 * kMss);
  queue(15);
  expect_segs(0, 10);
  at(23);
  expect_nothing();
  at(24);
  expect_seg(9);
  expect_nothing();
  EXPECT_EQ(counters().tlp_probes, 1u);
  EXPECT_EQ(counters().tlp_new_data, 0u);
  EXPECT_EQ(counters().tx_retransmitted_bytes, kMss);
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_EQ(pipe(), 11 * kMss) << "the probe and the original are both in flight";
  EXPECT_TRUE(map_ok());
}

// The last two segments lost: the probe resends the last one, which arrives out of order, so the
// peer SACKs it with the TSecr of its last in-order segment (TS.Recent, RFC 7323 §4.3), older than
// the probe. The SACK still delivers the probe (its RTT is not below min_RTT), so RACK finds the
// segment before it lost and fast recovery resends it: no timeout (RFC 8985 §7.4).
TEST_F(SackRecovery, Tlp_LastTwoSegmentsLost_SackedProbeMakesRackResendTheOther_NoTimeout) {
  establish();
  queue(4);
  expect_segs(0, 4, ACK | PSH);
  peer_ack(16, seq(2), {}, 8);
  // Two segments in flight: PTO = 2 * SRTT = 16 ms, before the RTO (16 + 20).
  EXPECT_EQ(tcb().tlp_deadline, ms(32));
  at(32);
  expect_seg(3, ACK | PSH);
  expect_nothing();
  peer_ack(40, seq(2), {blk(3, 4)}, 8);
  expect_seg(2);
  expect_nothing();
  EXPECT_EQ(counters().rack_lost_segments, 1u);
  peer_ack(48, seq(4), {}, 40);
  EXPECT_EQ(tcb().snd_una, SeqNum(seq(4)));
  at(200);
  expect_nothing();
  EXPECT_EQ(counters().tx_retransmits, 0u);
  EXPECT_EQ(counters().tx_retransmitted_bytes, 2 * kMss);
  EXPECT_EQ(counters().sent_map_full, 0u);
  EXPECT_TRUE(map_ok());
}

// ---- RACK's view of a burst acknowledged in part ----

// One burst is one record. When a cumulative ACK covers only part of it, only that part was
// delivered: RACK.end_seq must not become the end of the whole burst, or any later split of the
// rest (here the tail loss probe's) would make the segments between look "sent before" a delivered
// one, and lost.
TEST_F(SackRecovery, Rack_PartialAckOfABurst_RestIsNotDeemedLostLater) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  peer_ack(16, seq(3), {}, 8);
  EXPECT_EQ(tcb().rack_end_seq.value(), seq(3));
  at(32);  // PTO = 2 * SRTT after the ACK: the probe resends segment 9
  expect_seg(9, ACK | PSH);
  expect_nothing();
  // Segment 3 was only delayed.
  peer_ack(33, seq(4), {}, 8);
  expect_nothing();
  EXPECT_EQ(tcb().sent.lost_bytes(), 0u);
  EXPECT_EQ(counters().rack_lost_segments, 0u);
  EXPECT_EQ(counters().sack_recoveries, 0u);
  EXPECT_TRUE(map_ok());
}

// ---- D-SACK (RFC 2883) ----

TEST_F(SackRecovery, Dsack_Receiver_DuplicateReportedInTheFirstBlock) {
  establish();
  auto peer_data = [&](uint32_t seq_no, const std::string& data) {
    inject({.flags = ACK, .seq = seq_no, .ack = iss + 1, .options = {.timestamps = wire::TcpTimestamps{++peer_ts, tsval_at(now_ms())}},
            .data = data});
  };
  auto expect_ack = [&](uint32_t ack, uint32_t tsecr, std::vector<wire::SackBlock> blocks) {
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = ack,
                  .options = {.timestamps = OutTimestamps{.tsval = tsval_at(now_ms()), .tsecr = tsecr}, .sack_blocks = blocks}});
  };
  peer_data(1001, "abc");
  expect_ack(1004, 102, {});
  // A duplicate below RCV.NXT (RFC 2883 §4.1.1): ACKed at once with the duplicate as a D-SACK.
  // It lies outside the window, so its TSval does not become TS.Recent (RFC 7323 §5.3: R2 rejects
  // it before R3 would record it).
  peer_data(1001, "abc");
  expect_ack(1004, 102, {{1001, 1004}});
  EXPECT_EQ(counters().tx_dsack, 1u);
  // Out-of-order data (beyond Last.ACK.sent: TS.Recent stays), then a duplicate of it (§4.1.2):
  // the D-SACK block first, then the block that holds it.
  peer_data(1010, "zzz");
  expect_ack(1004, 102, {{1010, 1013}});
  peer_data(1010, "zzz");
  expect_ack(1004, 102, {{1010, 1013}, {1010, 1013}});
  EXPECT_EQ(counters().tx_dsack, 2u);
  // Partly a duplicate: the new bytes are taken, the old ones reported.
  peer_data(1001, "abcdef");
  expect_ack(1007, 106, {{1001, 1004}, {1010, 1013}});
  EXPECT_EQ(counters().tx_dsack, 3u);
  EXPECT_EQ(rec.received, "abcdef");
  // Reported once: the next ACK carries only the out-of-order block.
  peer_data(1007, "g");
  expect_ack(1008, 107, {{1010, 1013}});
}

// Segment 0 was only reordered: three SACKs make RACK call it lost and it is resent; then the
// original arrives (the ACK echoes the original's TSval, so RACK takes no RTT from it), and the
// retransmission arrives as a duplicate. The D-SACK for the episode's only retransmission shows the
// reduction was spurious: it is undone (RFC 2883 §5, Linux tcp_try_undo_dsack()).
TEST_F(SackRecovery, Dsack_ForTheOnlyRetransmission_UndoesTheReduction) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  const uint32_t cwnd_before = cwnd();
  peer_ack(16, seq(0), {blk(1, 2)}, 8);
  peer_ack(16, seq(0), {blk(1, 3)}, 8);
  peer_ack(16, seq(0), {blk(1, 4)}, 8);
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(ssthresh(), 5 * kMss);
  EXPECT_LT(cwnd(), cwnd_before);
  EXPECT_EQ(tcb().undo_retrans, 1u);
  peer_ack(20, seq(4), {}, 8);  // the original
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::recovery);
  peer_ack(21, seq(4), {blk(0, 1)}, 16);  // the retransmission, a duplicate
  EXPECT_EQ(counters().rx_dsack, 1u);
  EXPECT_EQ(counters().dsack_undo, 1u);
  EXPECT_EQ(cwnd(), cwnd_before);
  EXPECT_EQ(ssthresh(), kRenoInitialSsthresh);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_EQ(tcb().rack_reo_wnd_mult, 2u);
  expect_nothing();
  // ssthresh is back too: the next ACK is slow start again.
  peer_ack(24, seq(10), {}, 16);
  EXPECT_EQ(cwnd(), cwnd_before + 2 * kMss);
}

// ---- retransmission timeout with a scoreboard ----

// RFC 6298 §5 with SACK (RFC 6675 §5.1): every segment not SACKed is lost, cwnd is one segment, and
// the lost ones are resent in sequence order as slow start allows; the SACKed one never is.
TEST_F(SackRecovery, Timeout_OnlyUnsackedResent_InOrder_InSlowStart) {
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  peer_ack(16, seq(0), {blk(9, 10)}, 8);
  at(18);  // RACK: 0-8 lost; PRR-SSRB sends one
  expect_seg(0);
  expect_nothing();
  at(31);
  expect_nothing();
  at(32);  // the RTO set at 8 ms (24 ms)
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(counters().tx_retransmits, 1u);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::loss);
  EXPECT_EQ(cwnd(), kMss);
  EXPECT_EQ(ssthresh(), 5 * kMss);
  EXPECT_EQ(tcb().sent.lost_bytes(), 9 * kMss);
  EXPECT_EQ(tcb().sent.sacked_bytes(), kMss);
  EXPECT_TRUE(map_ok());
  peer_ack(40, seq(1), {blk(9, 10)}, 32);
  EXPECT_EQ(cwnd(), 2 * kMss);
  expect_seg(1);
  expect_seg(2);
  expect_nothing();
  peer_ack(48, seq(3), {blk(9, 10)}, 40);
  EXPECT_EQ(cwnd(), 4 * kMss);
  expect_segs(3, 7);
  expect_nothing();
  peer_ack(56, seq(7), {blk(9, 10)}, 48);
  EXPECT_EQ(cwnd(), 6 * kMss);
  expect_seg(7);
  expect_seg(8);
  expect_nothing();  // not 9: the peer holds it
  peer_ack(64, seq(10), {}, 56);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  EXPECT_TRUE(tcb().sent.empty());
  EXPECT_EQ(counters().rto_spurious, 0u);
  EXPECT_EQ(counters().tx_retransmits, 1u);
}

// RFC 2018 §8: a SACKed first segment still unacknowledged when the timer fires means the peer
// dropped what it had SACKed; the SACK marks are forgotten and it is resent too.
TEST_F(SackRecovery, Timeout_HeadSackedButNeverAcked_PeerRenegedSacksForgotten) {
  establish();
  queue(3);
  expect_segs(0, 3, ACK | PSH);
  peer_ack(16, seq(0), {blk(0, 1)}, 8);
  EXPECT_EQ(tcb().sent.sacked_bytes(), kMss);
  at(32);  // PTO 2 * SRTT after the ACK, which is also the RTO's time: the probe goes first
  expect_seg(2, ACK | PSH);
  expect_nothing();
  EXPECT_EQ(counters().tlp_probes, 1u);
  at(56);  // the RTO, restarted by the probe
  expect_seg(0);
  expect_nothing();
  EXPECT_EQ(counters().sack_reneged, 1u);
  EXPECT_EQ(tcb().sent.sacked_bytes(), 0u);
  peer_ack(64, seq(1), {}, 56);
  expect_seg(1);
  expect_seg(2, ACK | PSH);
  expect_nothing();
}

// ---- a hostile peer ----

// Many ACKs, each SACKing a different single byte far from the others: the map never holds more
// records than sent_records_per_connection; blocks it cannot record are rounded inward (never
// claimed delivered), and every byte sent again is the byte sent there first.
TEST_F(SackRecovery, HostilePeer_SingleByteBlocks_MapBounded_TransferCompletesByteExact) {
  config.sent_records_per_connection = 4;
  make_shard();
  establish();
  queue(10);
  expect_segs(0, 10, ACK | PSH);
  for (uint32_t k = 1; k < 10; ++k) {
    for (uint32_t at_byte : {700u, 100u, 1300u}) {
      peer_ack(16, seq(0), {{byte(k * kMss + at_byte), byte(k * kMss + at_byte + 1)}}, 8);
      ASSERT_LE(tcb().sent.records(), 4u);
      ASSERT_TRUE(map_ok());
    }
  }
  expect_nothing();
  // Only the first block could be recorded whole (two splits); the second got its left split, the
  // fourth record; every other one was rounded away.
  EXPECT_EQ(tcb().sent.records(), 4u);
  EXPECT_EQ(tcb().sent.sacked_bytes(), 1u);
  EXPECT_EQ(counters().rx_sack_blocks, 27u);
  // Refused records: the second block's right split and one for each of the 25 rounded away.
  EXPECT_EQ(counters().sent_map_full, 26u);
  // RACK at 8 + 8 + 2 ms: what was sent before the SACKed byte (two records, cut at the second
  // block's edge) is lost. The first ACK of recovery lets one MSS out; the record it starts cannot
  // be split (no fifth record), so the whole of it counts as resent.
  at(18);
  expect_bytes(0, kMss);
  expect_nothing();
  EXPECT_EQ(counters().rack_lost_segments, 2u);
  EXPECT_LE(tcb().sent.records(), 4u);
  EXPECT_TRUE(map_ok());
  // The peer lacked segments 0 and 5; it now holds 0-4 and SACKs one byte of 6. The retransmission
  // sent at 18 ms was delivered, so RACK deems lost everything sent at 8 ms and not delivered, and
  // PRR-SSRB (pipe 0, ssthresh 5 segments) lets it out lowest first: an MSS of segment 5, the 700
  // bytes up to the SACKed byte, and an MSS after it (that record cannot be split either).
  peer_ack(26, seq(5), {{byte(6 * kMss + 700), byte(6 * kMss + 701)}}, 18);
  expect_bytes(5 * kMss, kMss);
  expect_bytes(6 * kMss, 700);
  expect_bytes(6 * kMss + 701, kMss);
  expect_nothing();
  EXPECT_EQ(counters().rack_lost_segments, 4u);
  EXPECT_LE(tcb().sent.records(), 4u);
  EXPECT_TRUE(map_ok());
  EXPECT_EQ(counters().tx_retransmitted_bytes, 3 * kMss + 700);
  // Everything arrives: the connection completes, the map is empty.
  peer_ack(34, seq(10), {}, 26);
  EXPECT_EQ(tcb().snd_una, tcb().snd_max);
  EXPECT_TRUE(tcb().sent.empty());
  EXPECT_EQ(tcb().sent.records(), 0u);
  EXPECT_EQ(tcb().loss_state, Tcb::LossState::open);
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = seq(10), .ack = 1001,
                .options = {.timestamps = OutTimestamps{.tsval = tsval_at(now_ms()), .tsecr = peer_ts}}});
  peer_ack(36, seq(10) + 1, {}, 34);
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_2);
}

}  // namespace
}  // namespace dtcp::tcp::test
