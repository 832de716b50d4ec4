// Delayed ACK (RFC 9293 §3.8.6.3, RFC 1122 4.2.3.2, RFC 5681 §4.2), Nagle with its per-connection
// switch, zero-window persist (RFC 9293 §3.8.6.1) with a lost window update and a dead receiver,
// and keep-alive (RFC 1122 4.2.3.6) enabled from a listener with the configured defaults.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class DelayedAck : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.delayed_ack = std::chrono::milliseconds(40);
    make_shard();
  }
};

TEST_F(DelayedAck, OneSegment_AckedWhenTheTimerExpires) {
  const uint32_t iss = established();
  inject(100, {.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_nothing();
  at(139);
  expect_nothing();
  at(140);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006});
  EXPECT_EQ(shard->counters().tx_delayed_acks, 1u);
  at(1000);
  expect_nothing();
}

TEST_F(DelayedAck, SecondFullSizedSegment_AckedAtOnce) {
  const uint32_t iss = established();
  inject(100, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(1460)});
  expect_nothing();
  inject(101, {.flags = ACK, .seq = 2461, .ack = iss + 1, .data = pattern(1460)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3921});
  inject(102, {.flags = ACK, .seq = 3921, .ack = iss + 1, .data = pattern(1460)});
  expect_nothing();  // the count starts again
  at(142);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5381});
}

TEST_F(DelayedAck, OutOfOrderSegment_ImmediateDuplicateAck_HoleFillAckedAtOnce) {
  const uint32_t iss = established();
  inject(100, {.flags = ACK, .seq = 1011, .ack = iss + 1, .data = "later"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  inject(101, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "0123456789"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1016});
  EXPECT_EQ(rec.received, "0123456789later");
}

TEST_F(DelayedAck, Fin_AckedAtOnceWithTheHeldData) {
  const uint32_t iss = established();
  inject(100, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "x"});
  expect_nothing();
  inject(110, {.flags = ACK | FIN, .seq = 1002, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1003});
  at(200);
  expect_nothing();
}

TEST_F(DelayedAck, ResponseFromOnReadable_CarriesTheAck) {
  const uint32_t iss = established();
  rec.on_readable_hook = [](Connection& c) {
    std::byte buf[64];
    c.read(buf);
    c.send(bytes_of("response"));
  };
  inject(100, {.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "request"});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1008, .len = 8});
  inject(101, {.flags = ACK, .seq = 1008, .ack = iss + 9});
  at(200);
  expect_nothing();  // no separate delayed ACK
  EXPECT_EQ(shard->counters().tx_delayed_acks, 0u);
}

TEST_F(DelayedAck, WindowUpdateAfterRead_NotDelayed) {
  config.recv_buffer = 4 * 1460;
  make_shard();
  rec.auto_read = false;
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 5840, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  for (uint32_t k = 0; k < 4; ++k) inject({.flags = ACK, .seq = 1001 + k * 1460, .ack = iss + 1, .data = pattern(1460)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 2 * 1460, .window = 2 * 1460});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 4 * 1460, .window = 0});
  std::byte buf[4 * 1460];
  rec.conn->read(buf);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 4 * 1460, .window = 4 * 1460});
}

// ---- Nagle ----

using Nagle = TcpTest;

TEST_F(Nagle, FullSegmentThenTail_TailGoesWhenNoShortSegmentIsOutstanding) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of(pattern(1460 + 10)));
  // Minshall's variant (as Linux): the tail is held only behind an unacknowledged short segment,
  // so it goes now; the next short write waits for its ACK.
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1461, .ack = 1001, .len = 10});
  rec.conn->send(bytes_of("more"));
  expect_nothing();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1461});
  expect_nothing();  // the short segment is still out
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1471});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1471, .ack = 1001, .len = 4});
}

TEST_F(Nagle, SwitchedOffMidway_HeldBytesGoAtOnce) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("a"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1});
  rec.conn->send(bytes_of("b"));
  expect_nothing();
  rec.conn->set_nodelay(true);
  expect_reply({.flags = ACK | PSH, .seq = iss + 2, .ack = 1001, .len = 1});
  rec.conn->send(bytes_of("c"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 3, .ack = 1001, .len = 1});
}

TEST_F(Nagle, ListenerNodelay_AcceptedConnectionsSendSmallWritesAtOnce) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.nodelay = true}).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  rec.conn->send(bytes_of("a"));
  rec.conn->send(bytes_of("b"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2, .ack = 1001, .len = 1});
}

// ---- zero window ----

using Persist = TcpTest;

TEST_F(Persist, WindowUpdateLost_NextProbeLearnsTheOpenWindow) {
  const uint32_t iss = established();  // RTO = 10 ms
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 0});
  rec.conn->send(bytes_of(pattern(3000)));
  expect_nothing();
  at(10);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});  // probe; answered, window still 0
  inject(11, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 0});
  // The receiver reads and sends a window update at 20 ms, which is lost. The next probe (at
  // 10 + 20 ms) gets the open window in its answer and transmission resumes.
  at(29);
  expect_nothing();
  at(30);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  inject(31, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 65535});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 80});
  EXPECT_EQ(shard->counters().tx_window_probes, 2u);
}

TEST_F(Persist, ReceiverStopsAnswering_GivesUpAfterMaxRetries) {
  config.max_retries = 3;
  make_shard();
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 0});
  rec.conn->send(bytes_of("data"));
  // Answered probes never count: the receiver is alive, only busy (RFC 1122 4.2.2.17).
  at(10);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  inject(11, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 0});
  // Then silence: probes at 30, 70, 150 ms, and the fourth timeout gives up.
  for (int64_t t : {30, 70, 150}) {
    at(t);
    expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  }
  EXPECT_TRUE(rec.events.empty());
  at(310);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
}

// ---- keep-alive from the configuration ----

TEST_F(TcpTest, KeepAlive_ListenerOption_UsesConfiguredIdleIntervalProbes) {
  config.keepalive_idle = std::chrono::seconds(2);
  config.keepalive_interval = std::chrono::milliseconds(500);
  config.keepalive_probes = 2;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.keepalive = true}).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}}).seq;
  inject(100, {.flags = ACK, .seq = 1001, .ack = iss + 1});  // established at 100 ms
  rec.events.clear();
  at(2099);
  expect_nothing();
  at(2100);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  at(2600);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  at(3100);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->counters().conn_keepalive_timeout, 1u);
}

TEST_F(TcpTest, KeepAlive_ListenerOwnTimings_OverrideTheConfiguration) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec,
                            ListenOptions{.keepalive = true,
                                          .keepalive_idle = std::chrono::seconds(3),
                                          .keepalive_interval = std::chrono::seconds(1),
                                          .keepalive_probes = 1})
                  .ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  at(2999);
  expect_nothing();
  at(3000);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
  at(4000);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
}

TEST_F(TcpTest, KeepAlive_DefaultsAreLinuxAndOffUnlessAsked) {
  EXPECT_EQ(config.keepalive_idle, std::chrono::seconds(7200));
  EXPECT_EQ(config.keepalive_interval, std::chrono::seconds(75));
  EXPECT_EQ(config.keepalive_probes, 9u);
  const uint32_t iss = established();
  at(7200 * 1000 + 1);
  expect_nothing();  // off by default
  rec.conn->set_keepalive(true);
  at(2 * 7200 * 1000 + 1);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001});
}

}  // namespace
}  // namespace dtcp::tcp::test
