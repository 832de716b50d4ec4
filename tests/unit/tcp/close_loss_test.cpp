// Closing when a peer resends its FIN or its last ACK comes late (issue 15 part 5): every close
// sequence where the peer's FIN arrives again after dtcp took it, because dtcp's ACK was lost, or
// because the peer resends it on its own (dperf, in CLOSING, sends its FIN again at once:
// tcp_process_fin() "make up a FIN"). RFC 9293 §3.10.7.4: such a FIN lies below RCV.NXT; it gets
// an ACK <SEQ=SND.NXT><ACK=RCV.NXT> and is not taken again. It is a duplicate, not a segment
// outside the window: it is counted as rx_old_duplicate, never as drop_unacceptable. Its ACK
// field is processed, as Linux does (tcp_sequence() accepts a segment ending at RCV.NXT), so an
// ACK of our FIN that only rides on the repeated FIN still moves CLOSING to TIME-WAIT and ends
// LAST-ACK without waiting for our FIN's retransmission.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using CloseLoss = TcpTest;
using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Simultaneous close: FIN-WAIT-1 -> CLOSING; our ACK of the peer's FIN is lost; the peer, in
// CLOSING itself, resends its FIN with an ACK of ours (dperf's segment). That ACK ends CLOSING.
TEST_F(CloseLoss, Closing_ResentFinAckingOurFin_AckedAndTimeWait) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});  // crossed ours
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});  // lost on the way
  ASSERT_EQ(rec.conn->state(), TcpState::closing);
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(transitions, (Strings{"CLOSED>SYN-RECEIVED", "SYN-RECEIVED>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1",
                                  "FIN-WAIT-1>CLOSING", "CLOSING>TIME-WAIT", "TIME-WAIT>CLOSED"}));
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
  // The peer's last ACK, late, finds the TIME-WAIT record: nothing to answer.
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
}

// Simultaneous close where the peer resends its FIN before it saw ours (its ACK does not cover
// our FIN): ACKed, CLOSING stays until our FIN is acknowledged.
TEST_F(CloseLoss, Closing_ResentFinNotAckingOurFin_AckedStaysClosing) {
  config.min_rto = std::chrono::milliseconds(200);
  make_shard();
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject(50, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::closing);
  at(200);  // our FIN was lost too: resent at the RTO
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  inject(205, {.flags = ACK, .seq = 1002, .ack = iss + 2});
  expect_nothing();
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// Passive close, our ACK of the peer's FIN lost: the FIN comes again in CLOSE-WAIT.
TEST_F(CloseLoss, CloseWait_ResentFin_AckedAgain) {
  const uint32_t iss = close_wait();
  inject(20, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
  EXPECT_TRUE(rec.events.empty());  // no second peer_closed
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
  // The application still closes normally.
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

// Passive close as dtcp-http does it (close() from on_peer_closed: the FIN rides on the ACK),
// and that FIN+ACK is lost: the peer, still in FIN-WAIT-1, resends its FIN. dtcp in LAST-ACK
// ACKs it (SEQ = SND.NXT, past our FIN) and resends its FIN at the RTO.
TEST_F(CloseLoss, LastAck_ResentFinNotAckingOurFin_AckedThenFinRetransmitted) {
  config.min_rto = std::chrono::milliseconds(200);
  make_shard();
  const uint32_t iss = established();
  rec.on_peer_closed_hook = [](Connection& c) { c.shutdown_write(); };
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});  // lost
  ASSERT_EQ(rec.conn->state(), TcpState::last_ack);
  inject(100, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::last_ack);
  at(200);
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  inject(201, {.flags = ACK, .seq = 1002, .ack = iss + 2});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(rec.events, (Strings{"peer_closed", "closed:normal"}));
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// LAST-ACK, our ACK of the peer's FIN lost but our FIN arrived: the peer is in CLOSING and
// resends its FIN with the ACK of ours. That ACK ends LAST-ACK; the ACK of its FIN goes out
// first, or the peer's next retransmission would find no connection and get a RST.
TEST_F(CloseLoss, LastAck_ResentFinAckingOurFin_AckedThenClosed) {
  const uint32_t iss = last_ack();
  rec.events.clear();
  inject(3, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->time_wait_count(), 0u);  // LAST-ACK leaves no TIME-WAIT (RFC 9293 §3.6)
  EXPECT_EQ(rec.events, Strings{"closed:normal"});
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// A repeated FIN that also repeats data already taken: a duplicate too (the data is reported
// with D-SACK when SACK is on; here only the ACK), and the text is not delivered twice.
TEST_F(CloseLoss, Closing_ResentDataAndFin_AckedNotDeliveredTwice) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "bye"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1005});
  ASSERT_EQ(rec.conn->state(), TcpState::closing);
  inject({.flags = FIN | ACK | PSH, .seq = 1001, .ack = iss + 2, .data = "bye"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1005});
  EXPECT_EQ(rec.received, "bye");
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// TIME-WAIT (the compact record, the control block is gone): a resent FIN whose ACK covers our
// FIN and one whose ACK does not (sent before the peer saw our FIN, delivered late) are both
// acknowledged, and each restarts the 2 MSL timeout.
TEST_F(CloseLoss, TimeWaitRecord_ResentFinEitherAck_AckedAndRestarted) {
  const uint32_t iss = fin_wait_1();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject({.flags = ACK, .seq = 1002, .ack = iss + 2});
  ASSERT_EQ(shard->time_wait_count(), 1u);
  ASSERT_EQ(shard->connections_in_use(), 0u);
  inject(10000, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject(20000, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  at(20000 + 60000 - 1);
  EXPECT_EQ(shard->time_wait_count(), 1u);
  at(20000 + 60000);
  EXPECT_EQ(shard->time_wait_count(), 0u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 2u);
  EXPECT_EQ(shard->counters().drop_time_wait_segment, 0u);
}

// dperf's keep-alive exchange as a client of dtcp: request, response, the client's FIN with its
// ACK, dtcp's FIN riding on the ACK, the client's last ACK. Nothing is dropped.
TEST_F(CloseLoss, DperfStyle_RequestResponseFinFin_NoDrop) {
  const uint32_t iss = established();
  rec.on_readable_hook = [this](Connection& c) {
    std::array<std::byte, 64> buf;
    const size_t n = c.read(buf);
    rec.received.append(reinterpret_cast<const char*>(buf.data()), n);
    c.send(bytes_of("200 OK"));
  };
  rec.on_peer_closed_hook = [](Connection& c) { c.close(); };
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "GET /"});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1006, .len = 6});
  inject(1, {.flags = FIN | ACK, .seq = 1006, .ack = iss + 7});
  expect_reply({.flags = FIN | ACK, .seq = iss + 7, .ack = 1007});
  inject(2, {.flags = ACK, .seq = 1007, .ack = iss + 8});
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 0u);
}

// dperf's keep-alive close when dtcp closes first: the client's FIN crosses ours, the client
// goes to CLOSING and at once resends its FIN with an ACK of ours (dperf "makes up a FIN"), then
// ACKs our ACK. dtcp ends in TIME-WAIT with one duplicate counted and nothing unacceptable.
TEST_F(CloseLoss, DperfStyle_CrossedFins_ResentFin_TimeWaitNoUnacceptable) {
  const uint32_t iss = established();
  rec.on_readable_hook = [this](Connection& c) {
    std::array<std::byte, 64> buf;
    const size_t n = c.read(buf);
    rec.received.append(reinterpret_cast<const char*>(buf.data()), n);
    c.send(bytes_of("200 OK"));
    c.shutdown_write();
  };
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "GET /"});
  expect_reply({.flags = FIN | ACK | PSH, .seq = iss + 1, .ack = 1006, .len = 6});
  inject(1, {.flags = FIN | ACK, .seq = 1006, .ack = iss + 7});  // sent before ours arrived
  expect_reply({.flags = ACK, .seq = iss + 8, .ack = 1007});
  inject(1, {.flags = FIN | ACK, .seq = 1006, .ack = iss + 8});  // CLOSING: "make up a FIN"
  expect_reply({.flags = ACK, .seq = iss + 8, .ack = 1007});
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// With timestamps and SACK negotiated (a Linux peer): the repeated FIN carries a newer TSval,
// passes PAWS, is echoed in the ACK, and the repeat of data with it is reported by D-SACK
// (RFC 2883 §4) while its ACK of our FIN still moves CLOSING to TIME-WAIT.
TEST_F(CloseLoss, Closing_TimestampsAndSack_ResentDataFinEchoedAndDsacked) {
  config.timestamps = config.sack = true;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460, .sack_permitted = true,
                                                 .timestamps = wire::TcpTimestamps{100, 0}}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535,
                                    .options = {.mss = 1460, .sack_permitted = true,
                                                .timestamps = OutTimestamps{.tsecr = 100}}});
  const uint32_t iss = static_cast<uint32_t>(synack.seq);
  const uint32_t our_ts = synack.options.timestamps->tsval;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .options = {.timestamps = wire::TcpTimestamps{101, our_ts}}});
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001, .options = {.timestamps = OutTimestamps{.tsecr = 101}}});
  inject({.flags = FIN | ACK | PSH, .seq = 1001, .ack = iss + 1, .options = {.timestamps = wire::TcpTimestamps{102, our_ts}},
          .data = "bye"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1005, .options = {.timestamps = OutTimestamps{.tsecr = 102}}});
  ASSERT_EQ(rec.conn->state(), TcpState::closing);
  inject({.flags = FIN | ACK | PSH, .seq = 1001, .ack = iss + 2, .options = {.timestamps = wire::TcpTimestamps{103, our_ts}},
          .data = "bye"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1005,
                .options = {.timestamps = OutTimestamps{.tsecr = 103}, .sack_blocks = {{1001, 1004}}}});
  expect_nothing();
  EXPECT_EQ(rec.received, "bye");
  EXPECT_EQ(shard->time_wait_count(), 1u);
  EXPECT_EQ(shard->counters().drop_unacceptable, 0u);
  EXPECT_EQ(shard->counters().drop_paws, 0u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 1u);
}

// Not every segment below RCV.NXT is harmless to count as a duplicate: one beyond the window's
// right edge is still unacceptable (ACKed, counted).
TEST_F(CloseLoss, CloseWait_SegmentBeyondWindow_StillUnacceptable) {
  const uint32_t iss = close_wait();
  inject({.flags = ACK | PSH, .seq = 1002 + 70000, .ack = iss + 1, .data = "x"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002});
  EXPECT_EQ(shard->counters().drop_unacceptable, 1u);
  EXPECT_EQ(shard->counters().rx_old_duplicate, 0u);
}

}  // namespace
}  // namespace dtcp::tcp::test
