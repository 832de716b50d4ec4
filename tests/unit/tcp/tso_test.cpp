// TCP segmentation offload: with ShardEnv's TSO fields set, new data leaves as super-segments
// (RTE_MBUF_F_TX_TCP_SEG, tso_segsz = the payload of each segment the device cuts) of whole
// segments up to what cwnd and the peer's window allow; retransmissions stay one MSS and the
// SACK scoreboard works per byte as before. Runs over IPv4 and, in tcp_ipv6, over IPv6.
#include <cstring>
#include <string>

#include "harness.hpp"
#include "sent_map_check.hpp"
#include "tcp/tcb.hpp"

namespace dtcp::tcp::test {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class Tso : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    tso_max_payload = 65535 - 20 - 60;
    tso_ip_packet_max = ip_packet_limit(1500);
    make_shard();
  }
  uint32_t mss() const { return default_mss(); }
  // The harness keeps the MSS at 1460 over IPv6 too (config.mss is raised by IPv6's 20 extra
  // header bytes): so is the IP packet limit, to keep the segments the same.
  static uint16_t ip_packet_limit(uint16_t v4) { return static_cast<uint16_t>(v4 + (ipv6_run() ? 20 : 0)); }
  Tcb& tcb() { return static_cast<Tcb&>(*rec.conn); }
  const TcpCounters& counters() const { return shard->counters(); }
  // The payload of `s` is the data sent at `offset`.
  static bool carries(const Sent& s, const std::string& data, size_t offset) {
    return s.payload.size() <= data.size() - offset &&
           std::memcmp(s.payload.data(), data.data() + offset, s.payload.size()) == 0;
  }
};

TEST_F(Tso, BulkSend_InitialWindowLeavesAsOneSuperSegment) {
  const uint32_t iss = established();
  const std::string data = pattern(100000);
  const uint64_t segments_before = counters().tx_segments;  // the SYN-ACK
  ASSERT_EQ(rec.conn->send(bytes_of(data)), data.size());
  // RFC 6928: IW = 10 segments, all of them in one super-segment; no PSH (the queue is not empty).
  const Sent s = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 10 * mss()});
  EXPECT_EQ(s.tso_segsz, mss());
  EXPECT_TRUE(carries(s, data, 0));
  expect_nothing();
  EXPECT_EQ(counters().tx_tso_super_segments, 1u);
  EXPECT_EQ(counters().tx_tso_bytes, 10u * mss());
  EXPECT_EQ(counters().tx_segments - segments_before, 10u) << "the MIB counts the segments on the wire";
  // The ACK of all ten opens cwnd (slow start): the next flight is again one super-segment of
  // whole segments, as large as cwnd allows.
  inject(5, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 10 * mss()});
  const uint32_t cwnd = tcb().cc->cwnd();
  const Sent next = expect_reply({.flags = ACK, .seq = iss + 1 + 10 * mss(), .ack = 1001, .len = cwnd - cwnd % mss()});
  EXPECT_EQ(next.tso_segsz, mss());
  EXPECT_TRUE(carries(next, data, 10 * mss()));
}

TEST_F(Tso, WriteThatEmptiesTheQueue_ShortLastSegmentInsideTheSuperSegment_Psh) {
  const uint32_t iss = established();
  const std::string data = pattern(4000);
  const uint64_t segments_before = counters().tx_segments;
  rec.conn->send(bytes_of(data));
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4000});
  EXPECT_EQ(s.tso_segsz, mss());
  EXPECT_TRUE(carries(s, data, 0));
  EXPECT_EQ(counters().tx_segments - segments_before, 3u);
  expect_nothing();
}

TEST_F(Tso, OneSegmentOrLess_NoTso) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of(pattern(mss())));
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = mss()});
  EXPECT_EQ(s.tso_segsz, 0) << "a segment of one MSS needs no segmentation";
  EXPECT_EQ(counters().tx_tso_super_segments, 0u);
}

// Sender SWS avoidance (RFC 9293 §3.8.6.2.1) still holds: a window of 5000 bytes takes three
// whole segments; the rest of it is too small to send.
TEST_F(Tso, PeerWindowNotAMultipleOfTheMss_WholeSegmentsOnly) {
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 5000});
  rec.conn->send(bytes_of(pattern(10000)));
  const Sent s = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 3 * mss()});
  EXPECT_EQ(s.tso_segsz, mss());
  expect_nothing();
}

// Go-back-N after a timeout (no SACK here) resends one MSS at a time (cwnd is one segment) and
// never as a super-segment.
TEST_F(Tso, RetransmissionAfterTimeout_OneMssWithoutTso) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of(pattern(4 * mss())));
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4 * mss()});
  EXPECT_EQ(s.tso_segsz, mss());
  at(5000);
  const Sent again = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = mss()});
  EXPECT_EQ(again.tso_segsz, 0);
  EXPECT_EQ(counters().tx_retransmitted_segments, 1u);
  // Its ACK doubles cwnd (slow start): the next two segments are resent one by one, not as one
  // super-segment, although cwnd would allow one.
  inject(5010, {.flags = ACK, .seq = 1001, .ack = iss + 1 + mss()});
  EXPECT_EQ(tcb().cc->cwnd(), 2 * mss());
  EXPECT_EQ(expect_reply({.flags = ACK, .seq = iss + 1 + mss(), .ack = 1001, .len = mss()}).tso_segsz, 0);
  EXPECT_EQ(expect_reply({.flags = ACK, .seq = iss + 1 + 2 * mss(), .ack = 1001, .len = mss()}).tso_segsz, 0);
  EXPECT_EQ(counters().tx_retransmitted_segments, 3u);
}

// net_tap (DPDK 22.11) counts the Ethernet header in the frame it compares with the MTU: with an
// IP packet limit 14 bytes under the MTU each segment carries 14 bytes less than the MSS, and a
// super-segment is a whole number of those.
TEST_F(Tso, IpPacketLimitBelowMtu_SegmentsSizedToIt) {
  tso_ip_packet_max = ip_packet_limit(1486);
  make_shard();
  const uint32_t iss = established();
  const uint64_t segments_before = counters().tx_segments;
  rec.conn->send(bytes_of(pattern(100000)));
  const uint32_t unit = mss() - 14;
  const Sent s = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 10 * mss() - 10 * mss() % unit});
  EXPECT_EQ(s.tso_segsz, unit);
  EXPECT_EQ(counters().tx_segments - segments_before, (10 * mss()) / unit);
}

// With SACK and timestamps (1448 or 1428 bytes a segment): ten segments in one super-segment,
// the first lost, the other nine SACKed in three ACKs. RACK (RFC 8985 §6.2) marks the hole lost
// and only that one MSS is resent; the scoreboard split the super-segment's record at the block.
TEST_F(Tso, SackedSuperSegment_OnlyTheHoleResent_OneMss) {
  config.sack = config.timestamps = true;
  config.congestion = CongestionAlgorithm::reno;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  uint32_t peer_ts = 100;
  inject(0, {.flags = SYN, .seq = 1000,
             .options = {.mss = 1460, .sack_permitted = true, .timestamps = wire::TcpTimestamps{peer_ts, 0}}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535,
                                    .options = {.mss = static_cast<uint16_t>(mss()), .sack_permitted = true,
                                                .timestamps = OutTimestamps{.tsecr = peer_ts}}});
  const uint32_t iss = synack.seq;
  const uint32_t ts_offset = synack.options.timestamps->tsval;
  inject(8, {.flags = ACK, .seq = 1001, .ack = iss + 1,
             .options = {.timestamps = wire::TcpTimestamps{++peer_ts, ts_offset}}});
  ASSERT_NE(rec.conn, nullptr);
  const uint32_t seg = mss() - 12;
  const std::string data = pattern(10 * seg);
  rec.conn->send(bytes_of(data));
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001,
                               .options = {.timestamps = OutTimestamps{.tsval = ts_offset + 8, .tsecr = peer_ts}},
                               .len = 10 * seg});
  EXPECT_EQ(s.tso_segsz, seg);
  EXPECT_EQ(tcb().sent.records(), 1u) << "one record for the super-segment";
  auto ack = [&](uint32_t sacked_to) {
    wire::TcpOptions o{.timestamps = wire::TcpTimestamps{++peer_ts, ts_offset + 8}};
    o.sack_block_count = 1;
    o.sack_blocks[0] = {iss + 1 + seg, iss + 1 + sacked_to * seg};
    inject(16, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = o});
  };
  ack(2);
  ack(3);
  ack(4);  // three segments SACKed above the hole: lost (RFC 8985 §6.2, no reordering seen)
  const Sent again = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                                   .options = {.timestamps = OutTimestamps{.tsval = ts_offset + 16, .tsecr = peer_ts}},
                                   .len = seg});
  EXPECT_EQ(again.tso_segsz, 0);
  EXPECT_TRUE(carries(again, data, 0));
  expect_nothing();
  EXPECT_EQ(counters().tx_sack_retransmits, 1u);
  EXPECT_EQ(tcb().sent.sacked_bytes(), 3 * seg);
  EXPECT_TRUE(map_consistent(tcb().sent, tcb().flight_size()));
}

}  // namespace
}  // namespace dtcp::tcp::test
