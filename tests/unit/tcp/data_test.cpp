// Data transfer: segmentation, MSS, Nagle and SWS avoidance, zero window, reassembly, the
// zero-copy receive queue, its window and forward_readable(), send buffers, mbuf exhaustion,
// re-entrant callbacks.
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "harness.hpp"
#include "tcp/mbuf.hpp"

namespace dtcp::tcp::test {
namespace {

using Data = TcpTest;
using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text_of(const Sent& s) { return std::string(reinterpret_cast<const char*>(s.payload.data()), s.payload.size()); }

TEST_F(Data, Established_InOrderData_DeliveredAndAcked) {
  const uint32_t iss = established();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006, .window = 65530});
  EXPECT_EQ(rec.events, Strings{"readable"});
  EXPECT_EQ(rec.received, "hello");
  EXPECT_EQ(shard->counters().rx_payload_bytes, 5u);
}

TEST_F(Data, Send_SegmentsByMss_PshOnLast_AckStopsTimer) {
  const uint32_t iss = established();
  const std::string data = pattern(4000);
  EXPECT_EQ(rec.conn->send(bytes_of(data)), 4000u);
  const Sent a = expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535, .len = 1460});
  const Sent b = expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .window = 65535, .len = 1460});
  const Sent c = expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .window = 65535, .len = 1080});
  EXPECT_TRUE(text_of(a) + text_of(b) + text_of(c) == data);
  inject(5, {.flags = ACK, .seq = 1001, .ack = iss + 4001});
  at(10000);
  expect_nothing();
}

TEST_F(Data, Send_NoMssOption_Uses536) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  rec.conn->send(bytes_of(pattern(1000)));
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 536});
  expect_reply({.flags = ACK | PSH, .seq = iss + 537, .ack = 1001, .len = 464});
}

TEST_F(Data, Nagle_HoldsSmallSegmentsWhileDataUnacked) {
  const uint32_t iss = established();
  rec.conn->send(bytes_of("a"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1});
  rec.conn->send(bytes_of("b"));
  rec.conn->send(bytes_of("c"));
  expect_nothing();
  inject(1, {.flags = ACK, .seq = 1001, .ack = iss + 2});
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 2, .ack = 1001, .len = 2});
  EXPECT_EQ(text_of(s), "bc");
}

TEST_F(Data, Nodelay_SendsSmallSegmentsAtOnce) {
  const uint32_t iss = established();
  rec.conn->set_nodelay(true);
  rec.conn->send(bytes_of("a"));
  rec.conn->send(bytes_of("b"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 1});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2, .ack = 1001, .len = 1});
}

TEST_F(Data, SendWindow_LimitsData_SenderSwsHoldsTheRemainder) {
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 3000});
  rec.conn->send(bytes_of(pattern(4000)));
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .len = 1460});
  expect_nothing();  // 80 usable bytes: too small to send (RFC 9293 §3.8.6.2.1)
  inject(2, {.flags = ACK, .seq = 1001, .ack = iss + 1461, .window = 3000});
  // 1540 usable: the 1080-byte tail empties the queue and no short segment is in flight.
  expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 1080});
}

TEST_F(Data, ZeroWindow_PersistProbesWithBackoff_ThenSendsWhenOpened) {
  const uint32_t iss = established();  // RTO = min_rto = 10 ms after a 0 µs handshake sample
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 0});
  rec.conn->send(bytes_of(pattern(100)));
  expect_nothing();
  at(9);
  expect_nothing();
  at(10);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  at(29);
  expect_nothing();
  at(30);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  at(70);
  expect_reply({.flags = ACK, .seq = iss, .ack = 1001, .window = 65535});
  inject(75, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 1000});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 100});
  EXPECT_EQ(shard->counters().tx_window_probes, 3u);
}

TEST_F(Data, ZeroReceiveWindow_AckStillProcessed_DataDropped) {
  config.recv_buffer = 1460;
  make_shard();
  rec.auto_read = false;
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 1460, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(1460)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2461, .window = 0});
  rec.conn->send(bytes_of("z"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 2461, .window = 0, .len = 1});
  // A probe with data at RCV.NXT: its ACK is taken, its byte is not.
  inject({.flags = ACK, .seq = 2461, .ack = iss + 2, .data = "q"});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 2461, .window = 0});
  EXPECT_EQ(shard->counters().drop_zero_window_data, 1u);
  at(5000);
  expect_nothing();  // "z" was acknowledged: nothing to retransmit
}

TEST_F(Data, OutOfOrder_GapFilled_DeliveredInOrder) {
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1006, .ack = iss + 1, .data = "world"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535});
  EXPECT_TRUE(rec.events.empty());
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1011, .window = 65525});
  EXPECT_EQ(rec.received, "helloworld");
}

TEST_F(Data, OutOfOrder_OverlapsAndDuplicates_ByteExact) {
  const uint32_t iss = established();
  const std::string all = pattern(40);
  auto piece = [&](uint32_t from, uint32_t len) {
    return In{.flags = ACK, .seq = 1001 + from, .ack = iss + 1, .data = all.substr(from, len)};
  };
  inject(piece(20, 5));   // [20,25)
  inject(piece(22, 6));   // [22,28) overlaps the back
  inject(piece(20, 5));   // duplicate
  inject(piece(30, 5));   // [30,35)
  inject(piece(18, 20));  // [18,38) covers everything held, and more
  inject(piece(36, 4));   // [36,40)
  EXPECT_EQ(rec.received, "");
  EXPECT_GE(shard->counters().drop_ooo_duplicate, 1u);
  wire.sent.clear();
  inject(piece(0, 19));  // [0,19) overlaps [18,...)
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1041});
  EXPECT_TRUE(rec.received == all);
}

TEST_F(Data, OutOfOrder_QueueFull_SegmentDropped) {
  config.max_ooo_segments = 2;
  make_shard();
  const uint32_t iss = established();
  inject({.flags = ACK, .seq = 1011, .ack = iss + 1, .data = "a"});
  inject({.flags = ACK, .seq = 1021, .ack = iss + 1, .data = "b"});
  inject({.flags = ACK, .seq = 1031, .ack = iss + 1, .data = "c"});
  EXPECT_EQ(shard->counters().drop_ooo_full, 1u);
  wire.sent.clear();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(10)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1012});
}

TEST_F(Data, OutOfOrder_FinAfterGap_ClosesWhenFilled) {
  const uint32_t iss = established();
  inject({.flags = ACK | FIN, .seq = 1006, .ack = iss + 1, .data = "world"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1012});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
  EXPECT_EQ(rec.events, (Strings{"readable", "peer_closed"}));
  EXPECT_EQ(rec.received, "helloworld");
}

TEST_F(Data, OutOfOrder_BareFinAfterGap_ClosesWhenFilled) {
  const uint32_t iss = established();
  inject({.flags = ACK | FIN, .seq = 1006, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1007});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
}

TEST_F(Data, PeekConsume_ZeroCopy_OpensWindow) {
  config.recv_buffer = 4000;
  make_shard();
  rec.auto_read = false;
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 4000, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  const std::string all = pattern(4000);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = all.substr(0, 1460)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2461, .window = 2540});
  inject({.flags = ACK, .seq = 2461, .ack = iss + 1, .data = all.substr(1460, 1460)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3921, .window = 1080});
  inject({.flags = ACK, .seq = 3921, .ack = iss + 1, .data = all.substr(2920, 1080)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .window = 0});

  std::span<const std::byte> iov[8];
  const size_t k = rec.conn->peek(iov);
  ASSERT_GE(k, 2u);
  std::string seen;
  for (size_t i = 0; i < k; ++i) seen.append(reinterpret_cast<const char*>(iov[i].data()), iov[i].size());
  EXPECT_TRUE(seen == all);
  EXPECT_EQ(rec.conn->readable(), 4000u);
  rec.conn->consume(1000);  // below min(recv_buffer / 2, MSS): no update yet (SWS)
  expect_nothing();
  rec.conn->consume(1000);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .window = 2000});
  EXPECT_EQ(shard->counters().tx_window_updates, 1u);
  std::byte rest[2000];
  EXPECT_EQ(rec.conn->read(rest), 2000u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rest), 2000), all.substr(2000));
  // 2000 -> 4000 doubles the window: worth an update (Linux tcp_cleanup_rbuf() rule).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .window = 4000});
}

class ForwardReadable : public TcpTest {
 protected:
  // forward_readable() holds 16 views a peek; 24 full-sized segments stay 24 mbufs (too big to
  // coalesce into the tail), so one peek/consume pass would leave 8 of them unread. Returns the
  // bytes queued, none read yet.
  std::string established_with_more_mbufs_than_one_peek() {
    config.recv_buffer = 64 * 1024;
    make_shard();
    const uint32_t iss = established();
    rec.auto_read = false;
    const std::string all = pattern(24 * 1460);
    for (uint32_t i = 0; i < 24; ++i) inject({.flags = ACK, .seq = 1001 + i * 1460, .ack = iss + 1, .data = all.substr(i * 1460, 1460)});
    wire.sent.clear();
    return all;
  }
};

TEST_F(ForwardReadable, MoreMbufsThanOnePeekHolds_AllForwardedInOrder) {
  const std::string all = established_with_more_mbufs_than_one_peek();
  ASSERT_EQ(rec.conn->readable(), all.size());
  std::span<const std::byte> one_peek[16];
  ASSERT_EQ(rec.conn->peek(one_peek), 16u) << "the case needs more mbufs than one peek's views";

  std::string forwarded;
  size_t calls = 0;
  const size_t n = forward_readable(*rec.conn, [&](std::span<const std::byte> bytes) {
    ++calls;
    forwarded.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return bytes.size();
  });
  EXPECT_EQ(n, all.size());
  EXPECT_EQ(calls, 24u);  // one call per mbuf
  EXPECT_TRUE(forwarded == all) << "forwarded " << forwarded.size() << " of " << all.size() << " bytes";
  EXPECT_EQ(rec.conn->readable(), 0u);
}

TEST_F(ForwardReadable, SinkStopsEarly_RestStaysReadable) {
  const std::string all = established_with_more_mbufs_than_one_peek();

  // A sink with room for 30,000 bytes (past the first peek's 16 x 1460 = 23,360), as send() with a
  // nearly full buffer: it takes part of the view it fills up on, then the loop must stop.
  constexpr size_t kRoom = 30000;
  std::string forwarded;
  size_t calls = 0;
  auto sink = [&](std::span<const std::byte> bytes) {
    ++calls;
    const size_t take = std::min(bytes.size(), kRoom - forwarded.size());
    forwarded.append(reinterpret_cast<const char*>(bytes.data()), take);
    return take;
  };
  EXPECT_EQ(forward_readable(*rec.conn, sink), kRoom);
  EXPECT_EQ(calls, kRoom / 1460 + 1) << "no call after the one the sink took part of";
  EXPECT_TRUE(forwarded == all.substr(0, kRoom));
  ASSERT_EQ(rec.conn->readable(), all.size() - kRoom);

  // The sink full from the start: nothing taken, nothing consumed, and no spinning.
  calls = 0;
  auto full_sink = [&calls](std::span<const std::byte>) -> size_t {
    ++calls;
    return 0;
  };
  EXPECT_EQ(forward_readable(*rec.conn, full_sink), 0u);
  EXPECT_EQ(calls, 1u);
  ASSERT_EQ(rec.conn->readable(), all.size() - kRoom);

  // What was left is the stream from where the sink stopped.
  std::string rest(all.size() - kRoom, '\0');
  ASSERT_EQ(rec.conn->read(std::as_writable_bytes(std::span(rest.data(), rest.size()))), rest.size());
  EXPECT_TRUE(rest == all.substr(kRoom));
}

TEST_F(Data, TinySegments_CoalescedIntoFewMbufs) {
  const uint32_t iss = established();
  rec.auto_read = false;
  // In use by the pool's count, less what the shard keeps free (MbufStash).
  auto in_use = [&] { return rte_mempool_in_use_count(g_pool) - shard->mbufs_stashed(); };
  const unsigned before = in_use();
  for (uint32_t i = 0; i < 200; ++i) {
    inject({.flags = ACK, .seq = 1001 + i, .ack = iss + 1, .data = std::string(1, char('a' + i % 26))});
  }
  wire.sent.clear();
  EXPECT_EQ(rec.conn->readable(), 200u);
  EXPECT_LE(in_use(), before + 1);
  EXPECT_EQ(shard->counters().rx_coalesced, 199u);
  std::byte buf[300];
  ASSERT_EQ(rec.conn->read(buf), 200u);
  EXPECT_EQ(char(buf[199]), char('a' + 199 % 26));
}

TEST_F(Data, ReceiveSws_WindowEdgeMovesOnlyByAnMss) {
  config.recv_buffer = 10000;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 10000, .options = {.mss = 1460}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(1000)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 2001, .window = 9000});  // read at once, edge kept
  inject({.flags = ACK, .seq = 2001, .ack = iss + 1, .data = pattern(1000)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 3001, .window = 10000});  // moved by 2000 >= MSS
}

TEST_F(Data, SendMbuf_QueuedAndSent_TooBigRefused) {
  config.send_buffer = 2000;
  make_shard();
  const uint32_t iss = established();
  ASSERT_TRUE(rec.conn->send_mbuf(make_mbuf("abc")));
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  EXPECT_EQ(text_of(s), "abc");
  rte_mbuf* big = make_mbuf(pattern(1998));
  EXPECT_FALSE(rec.conn->send_mbuf(big));  // 3 bytes still unacknowledged
  rte_pktmbuf_free(big);
}

TEST_F(Data, SendBufferFull_PartialSend_WritableAfterAck) {
  config.send_buffer = 3000;
  make_shard();
  const uint32_t iss = established();
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(4000))), 3000u);
  EXPECT_EQ(rec.conn->send_space(), 0u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK, .seq = iss + 1461, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2921, .ack = 1001, .len = 80});
  inject(1, {.flags = ACK, .seq = 1001, .ack = iss + 1461});
  EXPECT_EQ(rec.events, Strings{"writable"});
  EXPECT_EQ(rec.conn->send_space(), 1460u);
}

// The next two hold every mbuf of the pool; the shard keeps none of its own (mbuf_stash = 0), so
// it finds none either.
TEST_F(Data, MbufExhaustion_RetransmissionRetriedNextTick) {
  mbuf_stash = 0;
  make_shard();
  const uint32_t iss = established();  // RTO 10 ms
  rec.conn->send(bytes_of("data"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4});
  std::vector<rte_mbuf*> hoard;
  while (rte_mbuf* m = rte_pktmbuf_alloc(g_pool)) hoard.push_back(m);
  at(10);
  expect_nothing();
  // Data is refused before the pool is empty (the control segments' reserve, pressure.cpp).
  EXPECT_GE(shard->counters().tx_no_mbuf + shard->counters().mem_data_refused, 1u);
  for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
  at(11);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4});
}

// The mbufs the shard keeps (MbufStash) are free though the pool counts them in use: with the
// pool dry, the retransmission of SND.UNA (which the control reserve lets through) is built from
// one of them, on time.
TEST_F(Data, MbufExhaustion_TheShardsOwnFreeMbufsStillServe) {
  const uint32_t iss = established();  // RTO 10 ms
  rec.conn->send(bytes_of("data"));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4});
  ASSERT_GT(shard->mbufs_stashed(), 0u);
  std::vector<rte_mbuf*> hoard;
  while (rte_mbuf* m = rte_pktmbuf_alloc(g_pool)) hoard.push_back(m);
  at(10);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4});
  EXPECT_EQ(shard->counters().tx_no_mbuf, 0u);
  for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
}

// A send() cut short by an empty mbuf pool, with nothing in flight to bring an ACK: on_writable()
// still follows once mbufs are back, so the application can finish its write.
TEST_F(Data, MbufExhaustionDuringSend_WritableFollowsWithoutAnAck) {
  mbuf_stash = 0;
  make_shard();
  const uint32_t iss = established();
  std::vector<rte_mbuf*> hoard;
  while (rte_mbuf* m = rte_pktmbuf_alloc(g_pool)) hoard.push_back(m);
  EXPECT_EQ(rec.conn->send(bytes_of("data")), 0u);
  at(5);
  EXPECT_EQ(rec.events, Strings{});  // still no mbufs: no point waking the application
  for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
  rec.on_writable_hook = [](Connection& c) { c.send(bytes_of("data")); };
  at(7);
  EXPECT_EQ(rec.events, Strings{"writable"});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 4});
}

TEST_F(Data, SendFromOnReadable_PiggybacksOnTheAck) {
  const uint32_t iss = established();
  rec.on_readable_hook = [](Connection& c) {
    std::byte buf[64];
    const size_t n = c.read(buf);
    c.send(std::span<const std::byte>(buf, n));
  };
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "ping"});
  const Sent s = expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1005, .len = 4});
  EXPECT_EQ(text_of(s), "ping");
  expect_nothing();
}

TEST_F(Data, AbortFromOnReadable_SafeAndFinal) {
  const uint32_t iss = established();
  rec.on_readable_hook = [](Connection& c) { c.abort(); };
  inject({.flags = ACK | FIN, .seq = 1001, .ack = iss + 1, .data = "bye"});
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(rec.events, Strings{"readable"});  // no peer_closed / closed after abort()
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Data, CloseOtherConnectionFromOnClosed_Safe) {
  const uint32_t iss = established();
  Connection* first = rec.conn;
  // A second connection from another port.
  inject({.flags = SYN, .seq = 7000, .src_port = 40001});
  const uint32_t iss2 =
      expect_reply({.flags = SYN | ACK, .ack = 7001, .window = 65535, .options = {.mss = 1460}, .dst_port = 40001}).seq;
  inject({.flags = ACK, .seq = 7001, .ack = iss2 + 1, .src_port = 40001});
  Connection* second = rec.conn;
  ASSERT_NE(first, second);
  rec.on_closed_hook = [&](Connection& c, CloseReason) {
    if (&c == first) second->close();
  };
  inject({.flags = RST, .seq = 1001});
  expect_reply({.flags = FIN | ACK, .seq = iss2 + 1, .ack = 7001, .dst_port = 40001});
  EXPECT_EQ(second->state(), TcpState::fin_wait_1);
  (void)iss;
}

}  // namespace
}  // namespace dtcp::tcp::test

namespace dtcp::tcp::test {
namespace {

TEST_F(Data, JumboMss_SegmentBuiltAsMbufChain) {
  if (ipv6_run()) GTEST_SKIP() << "IPv4 arithmetic (MSS = MTU - 40, the IPv4 PMTU floor); ipv6_test.cpp has the IPv6 cases";
  config.mss = 4000;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 4000}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 4000}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  const std::string data = pattern(9000);
  rec.conn->send(bytes_of(data));
  std::string got;
  got += text_of(expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 4000}));
  got += text_of(expect_reply({.flags = ACK, .seq = iss + 4001, .ack = 1001, .len = 4000}));
  got += text_of(expect_reply({.flags = ACK | PSH, .seq = iss + 8001, .ack = 1001, .len = 1000}));
  EXPECT_TRUE(got == data);
}

}  // namespace
}  // namespace dtcp::tcp::test

namespace dtcp::tcp::test {
namespace {

// The send-queue cursor gives the same bytes as a walk from the head, through appends, partial
// and whole-segment drops and copies that end on segment boundaries.
TEST(MbufQueueCursor, MatchesWalkFromHead) {
  MbufQueue q;
  MbufStash direct;  // not initialised: every free goes straight to the pool
  std::string all;
  uint32_t next_byte = 0;
  auto append = [&](uint16_t len) {
    std::string s;
    for (uint16_t i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + (next_byte++ % 26)));
    q.push_back(make_mbuf(s));
    all += s;
  };
  for (uint16_t len : {100, 1, 700, 1460, 3, 999, 512, 2000, 7}) append(len);
  MbufQueue::Cursor cursor;
  uint32_t dropped = 0;
  uint32_t offset = 0;
  for (int round = 0; round < 200; ++round) {
    const uint32_t len = std::min<uint32_t>(1 + (round * 37) % 1460, q.bytes() - offset);
    if (len > 0) {
      std::string with(len, '\0'), without(len, '\0');
      q.copy_out(offset, std::as_writable_bytes(std::span(with.data(), len)), cursor);
      q.copy_out(offset, std::as_writable_bytes(std::span(without.data(), len)));
      ASSERT_EQ(with, without) << "round " << round;
      ASSERT_EQ(with, all.substr(dropped + offset, len));
      offset += len;
    }
    if (round % 3 == 0) {
      const uint32_t n = std::min<uint32_t>(offset, (round * 53) % 1700);
      q.drop_front(n, cursor, direct);
      dropped += n;
      offset -= n;
    }
    if (round % 4 == 0) append(static_cast<uint16_t>(1 + (round * 29) % 1500));
    if (round % 7 == 0) offset = offset / 2;  // go back, as after a timeout
  }
  q.clear();
}

}  // namespace
}  // namespace dtcp::tcp::test
