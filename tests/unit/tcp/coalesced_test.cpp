// Segments in chained mbufs, as LRO, rte_gro or scattered rx deliver them: in-order and
// out-of-order text byte-exact, trimmed at either end across mbufs, SACK over the mbufs held,
// a FIN on the last one; a coalesced frame counts as the wire segments it holds (InSegs,
// RFC 1122 4.2.3.2's every-second-segment ACK), not as one segment of its whole length.
#include <rte_mbuf.h>

#include <cstring>

#include "harness.hpp"
#include "tcp/mbuf.hpp"

namespace dtcp::tcp::test {
namespace {

using Coalesced = TcpTest;
using Strings = std::vector<std::string>;
constexpr uint32_t kSeg = 1460;

TEST_F(Coalesced, InOrderChain_DeliveredByteExact_CountsItsWireSegments) {
  const uint32_t iss = established();
  const std::string data = pattern(3 * kSeg);
  const uint64_t before = shard->counters().rx_segments;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data, .chain_cuts = {kSeg, 2 * kSeg},
          .coalesced_from = kSeg});
  // Three full-sized segments' worth: acknowledged at once (RFC 1122 4.2.3.2).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 3 * kSeg});
  EXPECT_TRUE(rec.received == data);
  EXPECT_EQ(shard->counters().rx_segments - before, 3u) << "InSegs counts wire segments, as Linux does for GRO";
  EXPECT_EQ(shard->counters().rx_coalesced_segments, 3u);
  EXPECT_EQ(shard->counters().rx_payload_bytes, 3 * kSeg);
}

TEST_F(Coalesced, AfterACoalescedFrame_EverySecondSingleSegmentStillAckedAtOnce) {
  // The peer's segment size is the coalesced frame's tso_segsz, not its 4380 bytes: otherwise
  // two following full-sized segments would wait for the delayed-ACK timer.
  config.delayed_ack = std::chrono::milliseconds(40);
  make_shard();
  const uint32_t iss = established();
  inject(100, {.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(3 * kSeg), .chain_cuts = {kSeg, 2 * kSeg},
               .coalesced_from = kSeg});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 3 * kSeg});
  inject(101, {.flags = ACK, .seq = 1001 + 3 * kSeg, .ack = iss + 1, .data = pattern(kSeg)});
  expect_nothing();  // one segment: delayed
  inject(102, {.flags = ACK, .seq = 1001 + 4 * kSeg, .ack = iss + 1, .data = pattern(kSeg)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 5 * kSeg});
}

TEST_F(Coalesced, ChainNotMarkedCoalesced_CountsAsOneSegment) {
  // Scattered rx without LRO: one wire segment in several mbufs.
  const uint32_t iss = established();
  const uint64_t before = shard->counters().rx_segments;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = pattern(1000), .chain_cuts = {300, 700}});
  EXPECT_EQ(shard->counters().rx_segments - before, 1u);
  EXPECT_EQ(shard->counters().rx_coalesced_segments, 0u);
  EXPECT_TRUE(rec.received == pattern(1000));
}

TEST_F(Coalesced, RetransmittedChain_FrontTrimmedAcrossMbufs) {
  const uint32_t iss = established();
  const std::string data = pattern(2 * kSeg);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data.substr(0, kSeg)});
  wire.sent.clear();
  // [0, 2920) again in three mbufs: the first 1460 bytes span the first mbuf and part of the
  // second, so the trim frees one mbuf and cuts into the next.
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data, .chain_cuts = {1000, 2000}, .coalesced_from = kSeg});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 2 * kSeg});
  EXPECT_TRUE(rec.received == data);
}

TEST_F(Coalesced, ChainBeyondTheWindow_BackTrimmedAcrossMbufs) {
  config.recv_buffer = 3000;
  make_shard();
  rec.auto_read = false;
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 3000, .options = {.mss = default_mss()}}).seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  const std::string data = pattern(3 * kSeg);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data, .chain_cuts = {kSeg, 2 * kSeg}, .coalesced_from = kSeg});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 3000, .window = 0});
  ASSERT_NE(rec.conn, nullptr);
  std::string got(3000, '\0');
  EXPECT_EQ(rec.conn->read(std::as_writable_bytes(std::span(got.data(), got.size()))), 3000u);
  EXPECT_TRUE(got == data.substr(0, 3000));
}

TEST_F(Coalesced, OutOfOrderChain_HeldPerMbuf_OneSackBlock_FilledInOrder) {
  config.sack = true;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460, .sack_permitted = true}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535,
                                    .options = {.mss = default_mss(), .sack_permitted = true}});
  const uint32_t iss = synack.seq;
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  const std::string data = pattern(4 * kSeg);
  inject({.flags = ACK, .seq = 1001 + kSeg, .ack = iss + 1, .data = data.substr(kSeg),
          .chain_cuts = {kSeg, 2 * kSeg}, .coalesced_from = kSeg});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001,
                .options = {.sack_blocks = {{1001 + kSeg, 1001 + 4 * kSeg}}}});
  EXPECT_EQ(shard->counters().rx_out_of_order, 3u) << "one reassembly entry per mbuf";
  EXPECT_TRUE(rec.received.empty());
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data.substr(0, kSeg)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 4 * kSeg});
  EXPECT_TRUE(rec.received == data);
}

TEST_F(Coalesced, OutOfOrderChainWithFin_FinKeptOnItsLastMbuf) {
  const uint32_t iss = established();
  const std::string data = pattern(3 * kSeg);
  inject({.flags = ACK | FIN, .seq = 1001 + kSeg, .ack = iss + 1, .data = data.substr(kSeg), .chain_cuts = {kSeg}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .data = data.substr(0, kSeg)});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001 + 3 * kSeg + 1});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
  EXPECT_TRUE(rec.received == data);
}

TEST_F(Coalesced, HeaderSplitAcrossMbufs_DroppedAndCounted) {
  const uint32_t iss = established();
  wire::TcpHeader h{.src_port = kRemotePort, .dst_port = kLocalPort, .seq = 1001, .ack = iss + 1,
                    .flags = ACK, .window = 65535};
  const std::string data = pattern(100);
  rte_mbuf* m = build_segment(g_pool, h, {}, false, std::as_bytes(std::span(data)), remote_addr, local_addr);
  ASSERT_NE(m, nullptr);
  // The first mbuf keeps 12 bytes of the 20-byte header; the rest moves to a second one.
  rte_mbuf* rest = rte_pktmbuf_alloc(g_pool);
  ASSERT_NE(rest, nullptr);
  const uint16_t moved = static_cast<uint16_t>(m->data_len - 12);
  std::memcpy(rte_pktmbuf_append(rest, moved), rte_pktmbuf_mtod_offset(m, const char*, 12), moved);
  m->data_len = 12;
  m->next = rest;
  m->nb_segs = 2;
  shard->input(m, remote_addr, local_addr, wire::Ecn::not_ect, now_);
  EXPECT_EQ(shard->counters().drop_split_header, 1u);
  expect_nothing();
  EXPECT_TRUE(rec.received.empty());
}

}  // namespace
}  // namespace dtcp::tcp::test
