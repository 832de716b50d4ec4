// Every class of malformed or unwanted frame: dropped, counted under its own counter (and only
// that one, by exactly one), nothing sent, nothing handed to TCP, the mbuf freed.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

class InterfaceRxDrop : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    learn_peer();  // so a wrongly accepted packet would be answered, not queued behind ARP
    attach_tcp();
  }

  static Bytes valid_arp_request() {
    return arp_packet({.op = wire::ArpOp::request, .sender_mac = kPeerMac, .sender_ip = kPeerIp,
                       .target_ip = kOurIp});
  }
  static Bytes arp_with(size_t offset, std::initializer_list<uint8_t> bytes) {
    Bytes arp = valid_arp_request();
    for (uint8_t b : bytes) arp[offset++] = std::byte{b};
    return arp;
  }
  static Bytes arp_eth(const Bytes& arp) {
    return ethernet(wire::MacAddr::broadcast(), kPeerMac, static_cast<uint16_t>(wire::EtherType::arp), arp);
  }
  static Ipv4Spec echo(Ipv4Spec spec = {}) {
    spec.payload = echo_request(7, 1, filled(16));
    return spec;
  }
  static Ipv4Spec tcp_to_us(const Bytes& segment) {
    return Ipv4Spec{.protocol = static_cast<uint8_t>(wire::IpProtocol::tcp), .payload = segment};
  }
  static Bytes valid_tcp() { return tcp_segment(kPeerIp, kOurIp, tcp_ack(1), filled(10)); }
};

// --- Ethernet -------------------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Ethernet_Truncated_DroppedAndCounted) {
  expect_dropped(filled(13), "drop_eth_truncated");
}

TEST_F(InterfaceRxDrop, Ethernet_Empty_DroppedAndCounted) {
  expect_dropped(Bytes{}, "drop_eth_truncated");
}

TEST_F(InterfaceRxDrop, Ethernet_VlanTagged_DroppedAndCounted) {
  // 802.1Q tag (VID 5) around an otherwise valid echo request.
  const Bytes tagged = Bytes{std::byte{0x00}, std::byte{0x05}, std::byte{0x08}, std::byte{0x00}} + ipv4_packet(echo());
  expect_dropped(ethernet(kOurMac, kPeerMac, 0x8100, tagged), "drop_eth_vlan");
}

TEST_F(InterfaceRxDrop, Ethernet_UnknownEtherType_DroppedAndCounted) {
  expect_dropped(ethernet(kOurMac, kPeerMac, 0x88cc, filled(46)), "drop_eth_unsupported_type");
}

TEST_F(InterfaceRxDrop, Ethernet_Ipv6OnAnIpv4OnlyPort_DroppedAndCounted) {
  expect_dropped(ethernet(kOurMac, kPeerMac, 0x86dd, filled(40)), "drop_ip6_disabled");
}

TEST_F(InterfaceRxDrop, Ethernet_UnicastToAnotherMac_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo(), kOtherMac), "drop_eth_not_for_us");
}

TEST_F(InterfaceRxDrop, Ethernet_Multicast_DroppedAndCounted) {
  const wire::MacAddr all_hosts{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  expect_dropped(ipv4_frame(echo(), all_hosts), "drop_eth_multicast");
}

TEST_F(InterfaceRxDrop, Ethernet_ChainedTooLongNotTcp_DroppedAndCounted) {
  // An echo request of 3000 bytes in three mbufs: more than its first buffer holds, so it cannot
  // be made contiguous, and only TCP takes a chain.
  Ipv4Spec spec = echo();
  spec.payload = echo_request(7, 1, filled(3000));
  const Bytes frame = ipv4_frame(spec);
  rte_mbuf* head = to_chain(frame, {1000, 2000});
  ASSERT_NE(head, nullptr);
  const NetCounters before = counters_;
  iface_->input(head, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_rx_chained", 1}}));
  EXPECT_EQ(counters_.rx_bytes - before.rx_bytes, frame.size());
  EXPECT_EQ(counters_.rx_chained - before.rx_chained, 1u);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(in_use(pool()), 0u) << "every segment must be freed";
}

// --- ARP ------------------------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Arp_Truncated_DroppedAndCounted) {
  Bytes arp = valid_arp_request();
  arp.resize(27);
  expect_dropped(arp_eth(arp), "drop_arp_malformed");
}

TEST_F(InterfaceRxDrop, Arp_BadHardwareType_DroppedAndCounted) {
  expect_dropped(arp_eth(arp_with(0, {0x00, 0x06})), "drop_arp_malformed");  // IEEE 802
}

TEST_F(InterfaceRxDrop, Arp_BadProtocolType_DroppedAndCounted) {
  expect_dropped(arp_eth(arp_with(2, {0x86, 0xdd})), "drop_arp_malformed");
}

TEST_F(InterfaceRxDrop, Arp_BadHardwareLength_DroppedAndCounted) {
  expect_dropped(arp_eth(arp_with(4, {8})), "drop_arp_malformed");
}

TEST_F(InterfaceRxDrop, Arp_BadProtocolLength_DroppedAndCounted) {
  expect_dropped(arp_eth(arp_with(5, {16})), "drop_arp_malformed");
}

TEST_F(InterfaceRxDrop, Arp_BadOpcode_DroppedAndCounted) {
  expect_dropped(arp_eth(arp_with(6, {0x00, 0x03})), "drop_arp_malformed");  // RARP request
  expect_dropped(arp_eth(arp_with(6, {0x00, 0x00})), "drop_arp_malformed");
}

TEST_F(InterfaceRxDrop, Arp_ForAnotherAddress_DroppedAndCounted) {
  expect_dropped(arp_frame(wire::MacAddr::broadcast(), kOtherMac,
                           {.op = wire::ArpOp::request, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                            .target_ip = wire::Ipv4Addr::from_octets(198, 18, 0, 77)}),
                 "drop_arp_not_for_us");
  EXPECT_EQ(iface_->arp_cache().find(kOtherIp), nullptr) << "RFC 826: not for us, not known: not learned";
}

// --- IPv4 -----------------------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Ipv4_Truncated_DroppedAndCounted) {
  Bytes ip = ipv4_packet(echo());
  ip.resize(19);
  expect_dropped(ethernet(kOurMac, kPeerMac, 0x0800, ip), "drop_ip_truncated");
}

TEST_F(InterfaceRxDrop, Ipv4_BadVersion_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.version = 6})), "drop_ip_bad_version");
  expect_dropped(ipv4_frame(echo({.version = 5})), "drop_ip_bad_version");
}

TEST_F(InterfaceRxDrop, Ipv4_HeaderLengthBelowFive_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.ihl = 4})), "drop_ip_bad_header_length");
  expect_dropped(ipv4_frame(echo({.ihl = 0})), "drop_ip_bad_header_length");
}

TEST_F(InterfaceRxDrop, Ipv4_HeaderLengthBeyondData_DroppedAndCounted) {
  // IHL 15 (60 bytes) over a 20-byte header and 10 bytes of data.
  expect_dropped(ipv4_frame({.payload = filled(10), .ihl = 15, .total_length = 30}), "drop_ip_truncated");
}

TEST_F(InterfaceRxDrop, Ipv4_TotalLengthBelowHeader_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.total_length = 19})), "drop_ip_bad_total_length");
  expect_dropped(ipv4_frame(echo({.options = filled(4), .total_length = 20})), "drop_ip_bad_total_length");
}

// The frame holds 44 bytes of IP but the header announces 100. Which counter takes it is
// pinned down by Ipv4_TotalLengthBeyondFrame_CountedAsBadTotalLength below; here only
// that it is one IP drop and nothing else.
TEST_F(InterfaceRxDrop, Ipv4_TotalLengthBeyondFrame_DroppedAndCounted) {
  const NetCounters before = counters_;
  receive(ipv4_frame(echo({.total_length = 100})));
  const CounterDeltas d = drops(changed(before, counters_));
  EXPECT_TRUE(d == (CounterDeltas{{"drop_ip_bad_total_length", 1}}) || d == (CounterDeltas{{"drop_ip_truncated", 1}}))
      << ::testing::PrintToString(d);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(in_use(pool()), 0u);
}

// BUG: counters.hpp documents drop_ip_bad_total_length as "IPv4 total length beyond frame or
// below header", but Interface::ipv4_input maps Ipv4View's `truncated` (which the parser also
// returns for total length > frame) to drop_ip_truncated, so a too-long total length is
// counted as drop_ip_truncated and drop_ip_bad_total_length only ever counts "below header".
// Either the mapping or the counter's description is wrong.
TEST_F(InterfaceRxDrop, Ipv4_TotalLengthBeyondFrame_CountedAsBadTotalLength) {
  expect_dropped(ipv4_frame(echo({.total_length = 100})), "drop_ip_bad_total_length");
}

TEST_F(InterfaceRxDrop, Ipv4_BadHeaderChecksum_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.corrupt_checksum = true})), "drop_ip_bad_checksum");
}

TEST_F(InterfaceRxDrop, Ipv4_BadHeaderChecksumInOptions_DroppedAndCounted) {
  // The checksum covers the options too (RFC 791 3.1): flip an option byte after summing.
  Bytes frame = ipv4_frame(echo({.options = {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}}}));
  frame[wire::kEthernetHeaderLen + 21] = std::byte{0x44};
  expect_dropped(frame, "drop_ip_bad_checksum");
}

TEST_F(InterfaceRxDrop, Ipv4_RxChecksumFlaggedBadByHardware_DroppedAndCounted) {
  rte_mbuf* m = to_mbuf(ipv4_frame(echo()));
  m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
  const NetCounters before = counters_;
  iface_->input(m, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_ip_bad_checksum", 1}}));
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceRxDrop, Ipv4_MoreFragments_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.flags_fragment = 0x2000})), "drop_ip_fragment");
}

TEST_F(InterfaceRxDrop, Ipv4_FragmentOffset_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.flags_fragment = 0x0001})), "drop_ip_fragment");  // last fragment, offset 8
  expect_dropped(ipv4_frame(echo({.flags_fragment = 0x1fff})), "drop_ip_fragment");
}

TEST_F(InterfaceRxDrop, Ipv4_NotForUs_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.dst = kOtherIp})), "drop_ip_not_for_us");
  expect_dropped(ipv4_frame(echo({.dst = wire::Ipv4Addr::from_octets(255, 255, 255, 255)}), wire::MacAddr::broadcast()),
                 "drop_ip_not_for_us");
}

TEST_F(InterfaceRxDrop, Ipv4_MulticastSource_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.src = wire::Ipv4Addr::from_octets(224, 0, 0, 5)})), "drop_ip_bad_source");
  expect_dropped(ipv4_frame(echo({.src = wire::Ipv4Addr::from_octets(239, 255, 255, 250)})), "drop_ip_bad_source");
}

TEST_F(InterfaceRxDrop, Ipv4_LimitedBroadcastSource_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.src = wire::Ipv4Addr::from_octets(255, 255, 255, 255)})), "drop_ip_bad_source");
}

TEST_F(InterfaceRxDrop, Ipv4_OurSubnetBroadcastSource_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.src = wire::Ipv4Addr::from_octets(198, 18, 0, 255)})), "drop_ip_bad_source");
}

TEST_F(InterfaceRxDrop, Ipv4_OurOwnSource_DroppedAndCounted) {
  expect_dropped(ipv4_frame(echo({.src = kOurIp})), "drop_ip_bad_source");
}

// --- ICMP -----------------------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Icmp_Truncated_DroppedAndCounted) {
  expect_dropped(ipv4_frame({.payload = filled(7)}), "drop_icmp_malformed");
  expect_dropped(ipv4_frame({.payload = {}}), "drop_icmp_malformed");
}

TEST_F(InterfaceRxDrop, Icmp_TruncatedByTotalLengthDespitePadding_DroppedAndCounted) {
  // Total length says 4 bytes of ICMP; the rest of the frame is Ethernet padding.
  expect_dropped(ipv4_frame(echo({.total_length = 24})), "drop_icmp_malformed");
}

TEST_F(InterfaceRxDrop, Icmp_BadChecksum_DroppedAndCounted) {
  Ipv4Spec spec = echo();
  spec.payload[3] ^= std::byte{0x01};
  expect_dropped(ipv4_frame(spec), "drop_icmp_bad_checksum");
}

// --- TCP ------------------------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Tcp_ShorterThanHeader_DroppedAndCounted) {
  expect_dropped(ipv4_frame(tcp_to_us(filled(19))), "drop_tcp_malformed");
  expect_dropped(ipv4_frame(tcp_to_us({})), "drop_tcp_malformed");
}

TEST_F(InterfaceRxDrop, Tcp_BadChecksum_DroppedAndCounted) {
  Bytes segment = valid_tcp();
  segment.back() ^= std::byte{0x80};
  expect_dropped(ipv4_frame(tcp_to_us(segment)), "drop_tcp_bad_checksum");
}

TEST_F(InterfaceRxDrop, Tcp_ChecksumOverDifferentPseudoHeader_DroppedAndCounted) {
  // Summed for another destination: the pseudo-header must be part of the check.
  const Bytes segment = tcp_segment(kPeerIp, kOtherIp, tcp_ack(1), filled(10));
  expect_dropped(ipv4_frame(tcp_to_us(segment)), "drop_tcp_bad_checksum");
}

TEST_F(InterfaceRxDrop, Tcp_RxChecksumFlaggedBadByHardware_DroppedAndCounted) {
  rte_mbuf* m = to_mbuf(ipv4_frame(tcp_to_us(valid_tcp())));
  m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
  const NetCounters before = counters_;
  iface_->input(m, t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_tcp_bad_checksum", 1}}));
  EXPECT_TRUE(tcp_.segments.empty());
}

// net_ring's checksum pass-through (InterfaceSetup::rx_trust_tx_checksum): a segment whose
// checksum its sender left to the device (RTE_MBUF_F_TX_TCP_CKSUM still set, the field holding
// no checksum) is taken only by a port that trusts the mark; an unmarked one is checked as ever.
TEST_F(InterfaceRxDrop, Tcp_ChecksumLeftToTheDevice_TakenOnlyWhereThePortTrustsTheMark) {
  Bytes segment = valid_tcp();
  segment[16] = segment[17] = std::byte{0};
  auto marked = [&] {
    rte_mbuf* m = to_mbuf(ipv4_frame(tcp_to_us(segment)));
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    return m;
  };
  NetCounters before = counters_;
  iface_->input(marked(), t0_);
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_tcp_bad_checksum", 1}})) << "not trusted";
  EXPECT_TRUE(tcp_.segments.empty());

  setup_.rx_trust_tx_checksum = true;
  rebuild();
  learn_peer();
  iface_->input(marked(), t0_);
  EXPECT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(counters_.rx_tcp_checksum_passed, 1u);
  expect_dropped(ipv4_frame(tcp_to_us(segment)), "drop_tcp_bad_checksum");  // not marked: checked
  EXPECT_EQ(counters_.rx_tcp_checksum_passed, 1u);
}

TEST_F(InterfaceRxDrop, Tcp_NoReceiverAttached_DroppedAndCounted) {
  iface_->attach_tcp(nullptr);
  expect_dropped(ipv4_frame(tcp_to_us(valid_tcp())), "drop_tcp_no_stack");
}

// --- what is accepted -----------------------------------------------------------------------

TEST_F(InterfaceRxDrop, Tcp_Valid_HandedToReceiverTrimmedToSegment) {
  // With IP options and Ethernet padding after the segment: TCP sees exactly the segment.
  const Bytes segment = valid_tcp();
  Ipv4Spec spec = tcp_to_us(segment);
  spec.options = {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}};
  const Bytes frame = ipv4_frame(spec) + filled(6, 0xee);
  const NetCounters before = counters_;
  receive(frame, t0_ + 5ms);
  EXPECT_EQ(changed(before, counters_),
            (CounterDeltas{{"rx_frames", 1}, {"rx_bytes", static_cast<int64_t>(frame.size())}, {"rx_ipv4", 1},
                           {"rx_ip_options", 1}, {"rx_tcp", 1}}));
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, segment);
  EXPECT_EQ(tcp_.segments[0].src, kPeerIp);
  EXPECT_EQ(tcp_.segments[0].dst, kOurIp);
  EXPECT_EQ(tcp_.segments[0].now, t0_ + 5ms);
  EXPECT_EQ(tcp_.segments[0].nb_segs, 1);
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceRxDrop, Tcp_RxChecksumFlaggedGood_TrustedWithoutSoftwareCheck) {
  Bytes segment = valid_tcp();
  segment.back() ^= std::byte{0x80};  // the hardware said good; the software does not look again
  rte_mbuf* m = to_mbuf(ipv4_frame(tcp_to_us(segment)));
  m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  iface_->input(m, t0_);
  EXPECT_EQ(tcp_.segments.size(), 1u);
}

TEST_F(InterfaceRxDrop, Ipv4_TtlZero_AcceptedAndCounted) {
  // RFC 1122 3.2.1.7: a host must not discard a datagram just because its TTL is below 2.
  const NetCounters before = counters_;
  receive(ipv4_frame(echo({.ttl = 0})));
  EXPECT_EQ(counters_.rx_ip_ttl_zero - before.rx_ip_ttl_zero, 1u);
  EXPECT_EQ(counters_.tx_icmp_echo_reply - before.tx_icmp_echo_reply, 1u);
  EXPECT_TRUE(drops(changed(before, counters_)).empty());
}

// BUG: RFC 1122 3.2.1.3 says {0, 0} is valid only as a source during initialisation and
// 127/8 must never appear outside a host, and that a datagram with an invalid source MUST be
// silently discarded. ipv4_input only rejects multicast, broadcast and our own address, so a
// datagram from 0.0.0.0 (or 127.0.0.1) is accepted: an unknown protocol from 0.0.0.0 even
// earns an ICMP protocol-unreachable addressed to 0.0.0.0, sent to the gateway (RFC 1122 3.2.2
// forbids an ICMP error for a source that "does not define a single host"). Linux drops both
// as martians (ip_route_input_slow).
TEST_F(InterfaceRxDrop, Ipv4_UnspecifiedSource_DroppedAsBadSource) {
  learn(kGatewayIp, kGatewayMac, t0_);
  expect_dropped(ipv4_frame({.src = wire::Ipv4Addr{}, .protocol = 17, .payload = filled(8)}), "drop_ip_bad_source");
}

TEST_F(InterfaceRxDrop, Ipv4_LoopbackSource_DroppedAsBadSource) {
  learn(kGatewayIp, kGatewayMac, t0_);
  expect_dropped(ipv4_frame(echo({.src = wire::Ipv4Addr::from_octets(127, 0, 0, 1)})), "drop_ip_bad_source");
}

// BUG: ipv4_input treats any source whose host bits under *our* netmask are all ones as a
// directed broadcast ((src | netmask) == ~0). That is only meaningful for our own subnet: an
// off-link host such as 10.1.0.255 in a 10.1.0.0/16 network is a valid unicast source, yet
// its packets are dropped as drop_ip_bad_source (here a TCP segment arriving via the gateway).
// Linux accepts it. The check should be limited to on_link(src).
TEST_F(InterfaceRxDrop, Ipv4_OffLinkSourceEndingIn255_Accepted) {
  const wire::Ipv4Addr remote = wire::Ipv4Addr::from_octets(10, 1, 0, 255);
  const Bytes segment = tcp_segment(remote, kOurIp, tcp_ack(1), filled(4));
  receive(ipv4_frame({.src = remote, .protocol = static_cast<uint8_t>(wire::IpProtocol::tcp), .payload = segment},
                     kOurMac, kGatewayMac));
  EXPECT_EQ(counters_.drop_ip_bad_source, 0u);
  EXPECT_EQ(tcp_.segments.size(), 1u);
}

}  // namespace
}  // namespace dtcp::stack::test
