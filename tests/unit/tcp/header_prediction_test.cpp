// Header prediction (input.cpp, header_predicted()): an ESTABLISHED connection's next in-order
// segment carrying only ACK (and PSH), with a timestamp no older than TS.Recent, no SACK blocks and
// an acceptable ACK at or above SND.UNA, takes the short path; everything else takes the full
// one. Each test says which path a literal segment took (rx_predicted) and asserts what came back:
// the short path must answer as the full path does, and every segment it must not take (one test
// per condition) is answered as the full path answers it.
//
// The connection has SACK and timestamps (MSS 1460 less 12: 1448) and Reno. Our SYN-ACK leaves at
// 0 ms, the handshake's ACK arrives at 8 ms (SRTT 8 ms, RTO 200 ms, the minimum).
#include <string>

#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using wire::Ecn;
constexpr TcpFlags ECE = TcpFlags::ece;
constexpr TcpFlags CWR = TcpFlags::cwr;
constexpr TcpFlags URG = TcpFlags::urg;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class HeaderPrediction : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.sack = config.timestamps = true;
    config.congestion = CongestionAlgorithm::reno;
    config.delayed_ack = std::chrono::milliseconds(40);
    make_shard();
  }

  // `window`: the one our SYN-ACK offers (the receive buffer).
  void establish(uint16_t window = 65535) {
    ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject(0, {.flags = SYN, .seq = 1000,
               .options = {.mss = 1460, .sack_permitted = true, .timestamps = wire::TcpTimestamps{peer_ts, 0}}});
    const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = window,
                                      .options = {.mss = 1460, .sack_permitted = true,
                                                  .timestamps = OutTimestamps{.tsecr = peer_ts}}});
    ts_offset = synack.options.timestamps->tsval;
    iss = synack.seq;
    inject(8, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts)}});
    ASSERT_NE(rec.conn, nullptr);
    ASSERT_EQ(rec.conn->state(), TcpState::established);
    // The handshake's ACK arrives in SYN-RECEIVED: the full path.
    ASSERT_EQ(predicted(), 0u);
    rec.events.clear();
  }
  // The peer's timestamps: its TSval `tsval`, echoing our TSval of `echo_ms`.
  wire::TcpTimestamps ts(uint32_t tsval, int64_t echo_ms = 0) const {
    return wire::TcpTimestamps{tsval, static_cast<uint32_t>(echo_ms) + ts_offset};
  }
  OutTimestamps our_ts() const { return OutTimestamps{.tsval = static_cast<uint32_t>(now_ms()) + ts_offset, .tsecr = peer_ts}; }
  uint64_t predicted() const { return shard->counters().rx_predicted; }
  // We send `n` bytes now; returns the segment.
  Sent send_ours(uint32_t n) {
    EXPECT_EQ(rec.conn->send(bytes_of(std::string(n, 'r'))), n);
    const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1 + sent, .ack = rcv_nxt,
                                 .options = {.timestamps = our_ts()}, .len = n});
    sent += n;
    return s;
  }

  uint32_t iss = 0;
  uint32_t ts_offset = 0;
  uint32_t peer_ts = 100;
  uint32_t sent = 0;        // our bytes sent
  uint32_t rcv_nxt = 1001;  // what our ACKs carry
};

// A request that acknowledges our response (the request/response pattern): one predicted segment
// does both steps. Its text is read, our data is acknowledged (nothing is resent at the RTO), and
// the ACK is delayed; it leaves at the delayed-ACK timeout.
TEST_F(HeaderPrediction, InOrderTextAckingOurData_PredictedTakenAndAckDelayed) {
  establish();
  send_ours(100);
  inject(16, {.flags = ACK | PSH, .seq = 1001, .ack = iss + 1 + 100, .options = {.timestamps = ts(++peer_ts, 8)},
              .data = "hello"});
  EXPECT_EQ(predicted(), 1u);
  EXPECT_EQ(rec.received, "hello");
  expect_nothing();
  at(56);  // 16 + 40 ms
  expect_reply({.flags = ACK, .seq = iss + 101, .ack = 1006, .options = {.timestamps = our_ts()}});
  at(1000);  // past the RTO: our 100 bytes were acknowledged, nothing is resent
  expect_nothing();
  EXPECT_EQ(shard->counters().rx_payload_bytes, 5u);
}

// A second full-sized segment unacknowledged is acknowledged at once (RFC 1122 4.2.3.2), on the
// short path as on the full one.
TEST_F(HeaderPrediction, TwoFullSegments_SecondAckedAtOnce) {
  establish();
  const std::string a(1448, 'a'), b(1448, 'b');
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = a});
  expect_nothing();
  inject(10, {.flags = ACK, .seq = 1001 + 1448, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = b});
  EXPECT_EQ(predicted(), 2u);
  // TS.Recent is the first segment's: the second lay beyond the last ACK sent (RFC 7323 §4.3).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 2 * 1448,
                .options = {.timestamps = OutTimestamps{.tsval = static_cast<uint32_t>(now_ms()) + ts_offset, .tsecr = peer_ts - 1}}});
  EXPECT_EQ(rec.received, a + b);
}

// A pure ACK of new data and a duplicate ACK (SEG.ACK = SND.UNA) are both predicted; the
// duplicate is still counted as one toward fast retransmit by the scoreboard.
TEST_F(HeaderPrediction, PureAckAndDuplicateAck_Predicted) {
  establish();
  EXPECT_EQ(rec.conn->send(bytes_of(std::string(3 * 1448, 'x'))), 3u * 1448);
  for (uint32_t k = 0; k < 3; ++k) {
    expect_reply({.flags = k == 2 ? ACK | PSH : ACK, .seq = iss + 1 + k * 1448, .ack = 1001,
                  .options = {.timestamps = our_ts()}, .len = 1448});
  }
  inject(16, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 1448, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 1u);
  expect_nothing();
  inject(17, {.flags = ACK, .seq = 1001, .ack = iss + 1 + 1448, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 2u);
  expect_nothing();
}

// ---- segments the short path must leave to the full one ----

TEST_F(HeaderPrediction, Fin_FullPath_CloseWait) {
  establish();
  inject(10, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 0u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002, .options = {.timestamps = our_ts()}});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
}

// Out of order: queued for reassembly and answered at once with a duplicate ACK and its block.
TEST_F(HeaderPrediction, TextBeyondRcvNxt_FullPath_SackedAtOnce) {
  establish();
  inject(10, {.flags = ACK, .seq = 1011, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = "later"});
  EXPECT_EQ(predicted(), 0u);
  // It lay beyond the last ACK sent, so TS.Recent stays the handshake's (RFC 7323 §4.3).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                .options = {.timestamps = OutTimestamps{.tsval = static_cast<uint32_t>(now_ms()) + ts_offset, .tsecr = peer_ts - 1},
                            .sack_blocks = {{1011, 1016}}}});
  EXPECT_EQ(rec.received, "");
  // The hole filled: in order again, but a hole was filled, so the full path takes it (the
  // reassembly queue is not empty) and ACKs at once.
  inject(11, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = "0123456789"});
  EXPECT_EQ(predicted(), 0u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1016, .options = {.timestamps = our_ts()}});
  EXPECT_EQ(rec.received, "0123456789later");
}

// RFC 7323 §5.3 R1: a timestamp older than TS.Recent is PAWS, dropped with an ACK.
TEST_F(HeaderPrediction, OlderTimestamp_FullPath_PawsDrop) {
  establish();
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(peer_ts - 1, 8)}, .data = "old"});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(shard->counters().drop_paws, 1u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = our_ts()}});
  EXPECT_EQ(rec.received, "");
}

// RFC 7323 §3.2: no timestamps once negotiated: dropped silently.
TEST_F(HeaderPrediction, NoTimestamps_FullPath_Dropped) {
  establish();
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "bare"});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(shard->counters().drop_missing_timestamp, 1u);
  expect_nothing();
  EXPECT_EQ(rec.received, "");
}

// An ACK of data never sent: dropped with an ACK (RFC 9293 §3.10.7.4, fifth step).
TEST_F(HeaderPrediction, AckBeyondSndMax_FullPath_DroppedWithAck) {
  establish();
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 50, .options = {.timestamps = ts(++peer_ts, 8)}, .data = "x"});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(shard->counters().drop_ack_unsent, 1u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = our_ts()}});
  EXPECT_EQ(rec.received, "");
}

// An ACK below SND.UNA (an old one, reordered) is acceptable but not predicted.
TEST_F(HeaderPrediction, AckBelowSndUna_FullPath_TextStillTaken) {
  establish();
  send_ours(100);
  inject(16, {.flags = ACK, .seq = 1001, .ack = iss + 101, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 1u);
  inject(17, {.flags = ACK, .seq = 1001, .ack = iss + 51, .options = {.timestamps = ts(++peer_ts, 8)}, .data = "ab"});
  EXPECT_EQ(predicted(), 1u);
  EXPECT_EQ(rec.received, "ab");
}

// SACK blocks go to the scoreboard's full walk.
TEST_F(HeaderPrediction, SackBlocks_FullPath_Counted) {
  establish();
  EXPECT_EQ(rec.conn->send(bytes_of(std::string(2 * 1448, 'x'))), 2u * 1448);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = our_ts()}, .len = 1448});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1 + 1448, .ack = 1001, .options = {.timestamps = our_ts()}, .len = 1448});
  wire::TcpOptions o{.timestamps = ts(++peer_ts, 8)};
  o.sack_block_count = 1;
  o.sack_blocks[0] = {iss + 1 + 1448, iss + 1 + 2 * 1448};
  inject(16, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = o});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(shard->counters().rx_sack_blocks, 1u);
}

// RST, SYN and URG each take their own steps.
TEST_F(HeaderPrediction, RstSynUrg_FullPath) {
  establish();
  inject(10, {.flags = SYN | ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(shard->counters().drop_syn_synchronized, 1u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = our_ts()}});  // challenge ACK
  inject(11, {.flags = ACK | URG, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = "u"});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(rec.received, "u");  // urgent data is delivered in line
  inject(12, {.flags = RST | ACK, .seq = 1002, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}});
  EXPECT_EQ(predicted(), 0u);
  EXPECT_EQ(rec.conn, nullptr);  // closed: reset by peer
}

// Text beyond the offered window is trimmed to it on the full path.
TEST_F(HeaderPrediction, TextBeyondWindow_FullPath_Trimmed) {
  config.recv_buffer = config.recv_buffer_max = 1024;
  make_shard();
  establish(1024);
  rec.auto_read = false;
  const std::string big(1400, 'w');
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = ts(++peer_ts, 8)}, .data = big});
  EXPECT_EQ(predicted(), 0u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 1024, .options = {.timestamps = our_ts()}});
}

// With ECN agreed, a CE mark on text must be echoed (RFC 3168 §6.1.3): the full path; ECE and CWR
// on an ACK take it as well.
TEST_F(HeaderPrediction, CeMarkedText_FullPath_EceEchoedAtOnce) {
  config.ecn = true;
  config.timestamps = config.sack = false;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject(0, {.flags = SYN | ECE | CWR, .seq = 1000, .options = {.mss = 1460}});
  iss = expect_reply({.flags = SYN | ACK | ECE, .ack = 1001, .window = 65535, .options = {.mss = 1460}}).seq;
  inject(8, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  inject(10, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "ce", .ecn = Ecn::ce});
  EXPECT_EQ(predicted(), 0u);
  expect_reply({.flags = ACK | ECE, .seq = iss + 1, .ack = 1003});
  inject(11, {.flags = ACK | CWR, .seq = 1003, .ack = iss + 1, .data = "cwr"});
  EXPECT_EQ(predicted(), 0u);
  // Without a mark, after the CWR: predicted, and the ACK no longer carries ECE.
  inject(12, {.flags = ACK, .seq = 1006, .ack = iss + 1, .data = "plain"});
  EXPECT_EQ(predicted(), 1u);
  at(60);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1011});
  EXPECT_EQ(rec.received, "cecwrplain");
}

}  // namespace
}  // namespace dtcp::tcp::test
