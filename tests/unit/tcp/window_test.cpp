// The send window across go-back-N and a closing window (issue #10 part 0: two dtcp stacks at
// MSS 536 deadlocked when a window measured from an old SEG.ACK let one send past the peer's
// edge, and the peer, its window now zero, dropped every later ACK as unacceptable).
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

constexpr uint32_t kMss = 1460;

class SendWindow : public TcpTest {
 protected:
  ConnectionInfo info() const {
    ConnectionInfo out;
    shard->for_each_connection([&](const ConnectionInfo& i) { out = i; });
    return out;
  }
  // ESTABLISHED with 20 segments queued and the initial window of 10 in flight.
  uint32_t ten_in_flight() {
    const uint32_t iss = established();
    EXPECT_EQ(rec.conn->send(bytes_of(pattern(20 * kMss))), 20 * kMss);
    for (uint32_t k = 0; k < 10; ++k) expect_reply({.flags = ACK, .seq = iss + 1 + k * kMss, .ack = 1001, .len = kMss});
    expect_nothing();
    return iss;
  }
};

// The peer's pure ACK carried its SND.MAX (1201), above the data it later resends from 1101.
// That resend's SEG.SEQ is below SND.WL1, so RFC 9293's rule alone would keep the old 65535
// window, now measured from the new SND.UNA. Like Linux, an ACK that advances SND.UNA always
// updates the window: 8 MSS from SND.UNA with 6 in flight lets exactly two more out.
TEST_F(SendWindow, AckAdvancingUnaWithSeqBelowWl1_TakesItsWindow) {
  const uint32_t iss = ten_in_flight();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(100)});
  expect_reply({.flags = ACK, .seq = iss + 1 + 10 * kMss, .ack = 1101});
  // Its 1101..1201 was lost; a window change keeps this from counting as a duplicate ACK.
  inject({.flags = ACK, .seq = 1201, .ack = iss + 1, .window = 65000});
  expect_nothing();
  inject({.flags = ACK, .seq = 1101, .ack = iss + 1 + 4 * kMss, .window = 8 * kMss, .data = pattern(100)});
  EXPECT_EQ(info().snd_wnd, 8 * kMss);
  expect_reply({.flags = ACK, .seq = iss + 1 + 10 * kMss, .ack = 1201, .len = kMss});
  expect_reply({.flags = ACK, .seq = iss + 1 + 11 * kMss, .ack = 1201, .len = kMss});
  expect_nothing();
}

// Data in flight beyond a window the peer then closed: our ACKs carry SEQ = SND.UNA + SND.WND
// (the peer's RCV.NXT), not SND.MAX, or a peer with a zero window would find them unacceptable.
TEST_F(SendWindow, WindowClosedBelowSndMax_AckSeqIsTheWindowEdge) {
  const uint32_t iss = ten_in_flight();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + 2 * kMss, .window = 0});
  expect_nothing();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + 2 * kMss, .window = 0, .data = "ping"});
  expect_reply({.flags = ACK, .seq = iss + 1 + 2 * kMss, .ack = 1005});
  // With a window open again, SEQ is the highest sequence sent once more.
  inject({.flags = ACK, .seq = 1005, .ack = iss + 1 + 2 * kMss, .window = 65535, .data = "pong"});
  Sent s = expect_reply({.flags = ACK, .seq = kAnySeq, .ack = 1009, .len = wire.sent.empty() ? 0 : static_cast<uint32_t>(wire.sent.front().payload.size())});
  EXPECT_GE(s.seq, iss + 1 + 2 * kMss);
}

}  // namespace
}  // namespace dtcp::tcp::test

namespace dtcp::tcp::test {
namespace {

// Receive-buffer auto-tuning (issue #10 part 4, Linux's dynamic right-sizing): a round trip (here
// 1 ms, the clock granularity, as the handshake's RTT was 0) in which the application read at
// least half the buffer doubles it, up to recv_buffer_max; a slow reader leaves it alone.
class ReceiveTuning : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.recv_buffer = 8192;
    config.recv_buffer_max = 32768;
    make_shard();
  }
  // established(), with the SYN-ACK offering the 8 KiB buffer.
  uint32_t established_small() {
    EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
    const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 8192, .options = {.mss = 1460}});
    inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1});
    expect_nothing();
    return synack.seq;
  }
};

TEST_F(ReceiveTuning, ReaderKeepingUp_WindowDoublesPerRound_UpToTheMaximum) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  const uint32_t iss = established_small();
  uint32_t seq = 1001;
  auto segment = [&](int64_t ms, uint16_t expected_window) {
    inject(ms, {.flags = ACK, .seq = seq, .ack = iss + 1, .data = pattern(1460)});
    seq += 1460;
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = seq, .window = expected_window});
  };
  // Segments of one MSS, each read at once: every ACK opens the window to the whole buffer.
  for (int i = 0; i < 3; ++i) segment(0, 8192);  // 4380 bytes read in the first round
  segment(2, 16384);                            // 4380 >= 8192 / 2: doubled
  for (int i = 0; i < 5; ++i) segment(2, 16384);
  segment(4, 32768);                            // 8760 >= 16384 / 2: doubled again
  for (int i = 0; i < 12; ++i) segment(4, 32768);
  segment(6, 32768);                            // at the maximum
  EXPECT_EQ(shard->counters().rcv_buffer_grown, 2u);
}

TEST_F(ReceiveTuning, SlowReader_BufferStays) {
  const uint32_t iss = established_small();
  rec.auto_read = false;
  inject(0, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(1400)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2401, .window = 8192 - 1400});
  std::byte buf[100];
  rec.conn->read(buf);  // 100 bytes in the round: not half the buffer
  inject(2, {.flags = ACK, .seq = 2401, .ack = iss + 1, .data = pattern(1400)});
  // The edge stays at 1001 + 8192 (the 100 bytes read are less than an MSS of opening).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3801, .window = 1001 + 8192 - 3801});
  EXPECT_EQ(shard->counters().rcv_buffer_grown, 0u);
}

}  // namespace
}  // namespace dtcp::tcp::test
