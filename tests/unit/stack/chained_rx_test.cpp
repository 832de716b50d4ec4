// Frames in several mbufs (LRO, rte_gro, scattered rx): small ones are made contiguous, long TCP
// segments reach TCP as the same chain with the checksum verified over every mbuf, padding and
// bytes past the IP length trimmed (freeing emptied mbufs), anything else counted and dropped.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

class InterfaceChainedRx : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    learn_peer();
    attach_tcp();
  }
  // A TCP segment with `payload_len` bytes of payload, in a frame.
  static Bytes tcp_frame(size_t payload_len) {
    return ipv4_frame({.protocol = static_cast<uint8_t>(wire::IpProtocol::tcp),
                       .payload = tcp_segment(kPeerIp, kOurIp, tcp_ack(1), filled(payload_len, 7))});
  }
  static constexpr size_t kL2L3 = wire::kEthernetHeaderLen + wire::kIpv4MinHeaderLen;
  // Feeds the chain `head`; it must be dropped under `counter` alone, with nothing reaching TCP.
  void expect_dropped(rte_mbuf* head, const char* counter) {
    ASSERT_NE(head, nullptr);
    const NetCounters before = counters_;
    iface_->input(head, t0_);
    EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{counter, 1}}));
    EXPECT_TRUE(tcp_.segments.empty());
  }
};

TEST_F(InterfaceChainedRx, SmallChain_Linearized_EchoAnswered) {
  const Bytes frame = ipv4_frame({.payload = echo_request(7, 1, filled(16))});
  rte_mbuf* head = to_chain(frame, {30});
  ASSERT_NE(head, nullptr);
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  const CounterDeltas all = changed(before, counters_);
  EXPECT_EQ(drops(all), CounterDeltas{});
  EXPECT_EQ(all.at("rx_chained_linearized"), 1);
  EXPECT_EQ(all.count("rx_chained"), 0u);
  ASSERT_EQ(sink_.size(), 1u) << "the echo reply";
}

TEST_F(InterfaceChainedRx, LongTcpChain_HandedToTcpAsTheSameBytes) {
  const Bytes frame = tcp_frame(4000);
  rte_mbuf* head = to_chain(frame, {kL2L3 + 20 + 100, 1600, 3100});
  ASSERT_NE(head, nullptr);
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  const CounterDeltas all = changed(before, counters_);
  EXPECT_EQ(drops(all), CounterDeltas{});
  EXPECT_EQ(all.at("rx_chained"), 1);
  EXPECT_EQ(all.at("rx_tcp"), 1);
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, Bytes(frame.begin() + kL2L3, frame.end()));
  EXPECT_EQ(tcp_.segments[0].nb_segs, 4);
}

TEST_F(InterfaceChainedRx, LongTcpChain_ByteFlippedInLastMbuf_BadChecksum) {
  Bytes frame = tcp_frame(4000);
  frame[frame.size() - 5] ^= std::byte{0x10};
  rte_mbuf* head = to_chain(frame, {kL2L3 + 40, 1500, 3000});
  expect_dropped(head, "drop_tcp_bad_checksum");
}

TEST_F(InterfaceChainedRx, LongTcpChain_OddLengthMbufs_ChecksumStillVerifies) {
  // Odd-length mbufs move the following bytes to the other half of each 16-bit word.
  const Bytes frame = tcp_frame(3001);
  rte_mbuf* head = to_chain(frame, {kL2L3 + 20 + 1, 1001, 2001, 2998});
  ASSERT_NE(head, nullptr);
  iface_->input(head, t0_);
  EXPECT_EQ(counters_.drop_tcp_bad_checksum, 0u);
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, Bytes(frame.begin() + kL2L3, frame.end()));
}

TEST_F(InterfaceChainedRx, LongTcpChain_BytesPastTheIpLength_TrimmedAndFreed) {
  // Two whole mbufs of trailing bytes after the datagram: trimmed off, their mbufs freed
  // (TearDown checks the pool), TCP sees exactly the segment.
  const Bytes frame = tcp_frame(2500);
  const Bytes padded = frame + filled(1500) + filled(1000);
  rte_mbuf* head = to_chain(padded, {1400, frame.size(), frame.size() + 1500});
  ASSERT_NE(head, nullptr);
  iface_->input(head, t0_);
  EXPECT_EQ(drops(changed(NetCounters{}, counters_)), CounterDeltas{});
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, Bytes(frame.begin() + kL2L3, frame.end()));
  EXPECT_EQ(tcp_.segments[0].nb_segs, 2);
}

TEST_F(InterfaceChainedRx, IpHeaderSplitAcrossMbufs_DroppedAsTruncated) {
  const Bytes frame = tcp_frame(3000);
  rte_mbuf* head = to_chain(frame, {wire::kEthernetHeaderLen + 10, 2000});
  expect_dropped(head, "drop_ip_truncated");
}

TEST_F(InterfaceChainedRx, NetRingPeerSuperSegment_TakenWholeMarkedAsLro) {
  // The other end of a net_ring pair sent a TSO super-segment (checksum left undone, as for a
  // device): nothing cut it, so it is handed to TCP whole, marked as LRO marks a coalesced frame.
  setup_.rx_trust_tx_checksum = true;
  rebuild();
  learn_peer();
  Bytes frame = tcp_frame(3 * 1448);
  frame[kL2L3 + 16] = std::byte{0x12};  // whatever the sender left there (the pseudo-header sum)
  rte_mbuf* head = to_chain(frame, {kL2L3 + 20 + 1448, kL2L3 + 20 + 2 * 1448});
  ASSERT_NE(head, nullptr);
  head->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  head->tso_segsz = 1448;
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  const CounterDeltas all = changed(before, counters_);
  EXPECT_EQ(drops(all), CounterDeltas{});
  EXPECT_EQ(all.at("rx_tso_passed"), 1);
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_NE(tcp_.segments[0].ol_flags & RTE_MBUF_F_RX_LRO, 0u);
  EXPECT_EQ(tcp_.segments[0].tso_segsz, 1448);
  EXPECT_EQ(tcp_.segments[0].bytes.size(), 20u + 3 * 1448);
}

TEST_F(InterfaceChainedRx, UntrustedPort_SuperSegmentChecksumChecked) {
  // The same frame on a port that does not trust its peer: the undone checksum fails.
  Bytes frame = tcp_frame(3 * 1448);
  frame[kL2L3 + 16] ^= std::byte{0x12};
  rte_mbuf* head = to_chain(frame, {kL2L3 + 20 + 1448, kL2L3 + 20 + 2 * 1448});
  ASSERT_NE(head, nullptr);
  head->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  head->tso_segsz = 1448;
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_tcp_bad_checksum", 1}}));
}

class InterfaceChainedRx6 : public InterfaceChainedRx {
 protected:
  void SetUp() override {
    setup_ = default_setup6();
    InterfaceTest::SetUp();
    attach_tcp();
  }
};

TEST_F(InterfaceChainedRx6, LongTcpChain_HandedToTcpAsTheSameBytes) {
  const Bytes frame = tcp6_frame(kPeerIp6, kOurIp6, filled(3500, 3));
  rte_mbuf* head = to_chain(frame, {wire::kEthernetHeaderLen + 40 + 20 + 1, 2000});
  ASSERT_NE(head, nullptr);
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), CounterDeltas{});
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, Bytes(frame.begin() + wire::kEthernetHeaderLen + 40, frame.end()));
}

TEST_F(InterfaceChainedRx6, LongIcmpv6Chain_DroppedAndCounted) {
  const Bytes frame = icmpv6_frame(kPeerIp6, kOurIp6,
                                   icmpv6_message(kPeerIp6, kOurIp6, 128, 0, 0x00010001, filled(3000)));
  rte_mbuf* head = to_chain(frame, {1000, 2000});
  ASSERT_NE(head, nullptr);
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_rx_chained", 1}}));
  EXPECT_TRUE(sink_.empty());
}

}  // namespace
}  // namespace dtcp::stack::test
