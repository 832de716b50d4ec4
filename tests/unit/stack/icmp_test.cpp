// ICMP: echo replies (RFC 792, RFC 1122 3.2.2.6), protocol unreachable (RFC 792, RFC 1122
// 3.2.2.1) with its rate limit, and errors quoting our TCP segments parsed and handed to TCP
// (RFC 1122 4.2.3.9; tests/unit/tcp/icmp_test.cpp covers what TCP does with them).
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

constexpr uint8_t kUdp = 17;

class InterfaceIcmp : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    learn_peer();
  }

  // Checks a transmitted echo reply against the request it answers.
  void expect_echo_reply(const Bytes& frame, uint16_t identifier, uint16_t sequence, const Bytes& data) {
    const auto f = parse_frame(frame);
    EXPECT_EQ(f.eth_dst, kPeerMac);
    EXPECT_EQ(f.eth_src, kOurMac);
    EXPECT_EQ(f.ether_type, 0x0800);
    const auto ip = wire::Ipv4View::parse(cspan(f.payload), true);
    ASSERT_TRUE(ip) << "reply IPv4 header: " << wire::to_string(ip.error());
    EXPECT_EQ(ip->header_len(), 20u) << "the reply carries no options";
    EXPECT_EQ(ip->total_length(), f.payload.size()) << "no padding on the reply";
    EXPECT_EQ(ip->total_length(), 20 + 8 + data.size());
    EXPECT_EQ(ip->ttl(), 64);
    EXPECT_EQ(ip->protocol(), 1);
    EXPECT_EQ(ip->src(), kOurIp);
    EXPECT_EQ(ip->dst(), kPeerIp);
    EXPECT_FALSE(ip->is_fragment());
    const auto icmp = wire::IcmpView::parse(ip->payload(), true);
    ASSERT_TRUE(icmp) << "reply ICMP: " << wire::to_string(icmp.error());
    EXPECT_EQ(icmp->type(), 0);
    EXPECT_EQ(icmp->code(), 0);
    EXPECT_EQ(icmp->identifier(), identifier);
    EXPECT_EQ(icmp->sequence(), sequence);
    EXPECT_EQ(Bytes(icmp->payload().begin(), icmp->payload().end()), data);
  }

  // Checks a transmitted protocol unreachable quoting `original` (the offending datagram).
  void expect_protocol_unreachable(const Bytes& frame, const Bytes& original, size_t quoted) {
    const auto f = parse_frame(frame);
    EXPECT_EQ(f.eth_dst, kPeerMac);
    EXPECT_EQ(f.ether_type, 0x0800);
    const auto ip = wire::Ipv4View::parse(cspan(f.payload), true);
    ASSERT_TRUE(ip) << wire::to_string(ip.error());
    EXPECT_EQ(ip->total_length(), 20 + 8 + quoted);
    EXPECT_LE(ip->total_length(), 576) << "RFC 1812 4.3.2.3 / Linux: the error fits the minimum datagram";
    EXPECT_EQ(ip->ttl(), 64);
    EXPECT_EQ(ip->protocol(), 1);
    EXPECT_EQ(ip->src(), kOurIp);
    EXPECT_EQ(ip->dst(), kPeerIp);
    const auto icmp = wire::IcmpView::parse(ip->payload(), true);
    ASSERT_TRUE(icmp) << wire::to_string(icmp.error());
    EXPECT_EQ(icmp->type(), 3);
    EXPECT_EQ(icmp->code(), 2);
    EXPECT_EQ(icmp->rest_of_header(), 0u);
    EXPECT_EQ(Bytes(icmp->payload().begin(), icmp->payload().end()), Bytes(original.begin(), original.begin() + quoted));
  }

  void receive_udp(TimePoint at) {
    receive(ipv4_frame({.protocol = kUdp, .payload = filled(12)}), at);
  }
};

TEST_F(InterfaceIcmp, EchoRequest_Plain_ReplyMirrorsIdentifierSequenceAndData) {
  const Bytes data = filled(56, 0x10);  // ping's default
  receive(ipv4_frame({.identification = 0xbeef, .payload = echo_request(0x1c48, 1, data)}));
  ASSERT_EQ(sink_.size(), 1u);
  expect_echo_reply(sink_.bytes(0), 0x1c48, 1, data);
  EXPECT_EQ(sink_.at(0)->ol_flags, 0u);
  EXPECT_EQ(counters_.rx_icmp_echo_request, 1u);
  EXPECT_EQ(counters_.tx_icmp_echo_reply, 1u);
  EXPECT_EQ(in_use(pool()), 1u) << "replied in place: one mbuf, the reply";
}

// Built by hand from RFC 792/791: the reply to id 0x1c48 seq 1 with 4 data bytes, our IP id 1
// (the first datagram this interface sends), DF clear, TTL 64. Both checksums were computed
// with a separate Python implementation of the RFC 1071 sum:
//   IPv4: 4500 0020 0001 0000 4001 0000 c612 0001 c612 0002 -> 0xeeb4
//   ICMP: 0000 0000 1c48 0001 0102 0304                      -> 0xdfb0
TEST_F(InterfaceIcmp, EchoRequest_Small_ByteExactReply) {
  receive(ipv4_frame({.payload = echo_request(0x1c48, 1, filled(4, 1))}));
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.bytes(0), hex("020000000002 020000000001 0800"
                                "45000020 00010000 4001eeb4 c6120001 c6120002"
                                "0000dfb0 1c480001 01020304"));
}

TEST_F(InterfaceIcmp, EchoRequest_WithIpOptions_ReplyWithoutOptions) {
  // Record route (RFC 791 3.1: type 7, length 7, pointer 4, one empty slot) and an EOL pad.
  const Bytes record_route = hex("07 07 04 00000000 00");
  const Bytes data = filled(24, 0x40);
  receive(ipv4_frame({.options = record_route, .payload = echo_request(0x0102, 9, data)}));
  ASSERT_EQ(sink_.size(), 1u);
  expect_echo_reply(sink_.bytes(0), 0x0102, 9, data);
  EXPECT_EQ(counters_.rx_ip_options, 1u);
}

TEST_F(InterfaceIcmp, EchoRequest_WithMaximumIpOptions_ReplyWithoutOptions) {
  const Bytes nops(40, std::byte{1});
  const Bytes data = filled(3, 0x70);  // odd length: the checksum pads with a zero byte
  receive(ipv4_frame({.options = nops, .payload = echo_request(1, 2, data)}));
  ASSERT_EQ(sink_.size(), 1u);
  expect_echo_reply(sink_.bytes(0), 1, 2, data);
}

TEST_F(InterfaceIcmp, EchoRequest_WithEthernetPadding_ReplyTrimmed) {
  // 14 + 20 + 8 = 42 bytes, padded to the 60-byte minimum with junk the reply must not carry.
  const Bytes frame = ipv4_frame({.payload = echo_request(5, 6, {})}) + Bytes(18, std::byte{0xab});
  receive(frame);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.bytes(0).size(), 42u);
  expect_echo_reply(sink_.bytes(0), 5, 6, {});
}

TEST_F(InterfaceIcmp, EchoRequest_LargeOddPayload_ReplyChecksumValid) {
  const Bytes data = filled(1471, 0x33);  // 20 + 8 + 1471 = 1499: a full MTU minus one
  receive(ipv4_frame({.payload = echo_request(0xffff, 0xfffe, data)}));
  ASSERT_EQ(sink_.size(), 1u);
  expect_echo_reply(sink_.bytes(0), 0xffff, 0xfffe, data);
}

TEST_F(InterfaceIcmp, EchoRequest_ToUnresolvedPeer_ReplyWaitsForArp) {
  receive(ipv4_frame({.src = kOtherIp, .payload = echo_request(1, 1, filled(8))}, kOurMac, kOtherMac));
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(parse_frame(sink_.bytes(0)).ether_type, 0x0806) << "first an ARP request for the sender";
  sink_.clear();
  receive(arp_frame(kOurMac, kOtherMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                     .target_mac = kOurMac, .target_ip = kOurIp}));
  ASSERT_EQ(sink_.size(), 1u);
  const auto f = parse_frame(sink_.bytes(0));
  EXPECT_EQ(f.eth_dst, kOtherMac);
  const auto ip = wire::Ipv4View::parse(cspan(f.payload));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->dst(), kOtherIp);
}

TEST_F(InterfaceIcmp, EchoReplyReceived_CountedNotAnswered) {
  receive(ipv4_frame({.payload = icmp_message(0, 0, 0x00010001, filled(8))}));
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.rx_icmp_other, 1u);
  EXPECT_TRUE(drops(changed(NetCounters{}, counters_)).empty());
  EXPECT_EQ(in_use(pool()), 0u);
}

TEST_F(InterfaceIcmp, EchoRequestWithNonZeroCode_TreatedAsOther) {
  receive(ipv4_frame({.payload = icmp_message(8, 1, 0x00010001, filled(8))}));
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.rx_icmp_other, 1u);
  EXPECT_EQ(counters_.tx_icmp_echo_reply, 0u);
}

TEST_F(InterfaceIcmp, UnknownProtocol_Udp_ProtocolUnreachableQuotingDatagram) {
  const Bytes original = ipv4_packet({.protocol = kUdp, .payload = filled(12)});
  receive(ethernet(kOurMac, kPeerMac, 0x0800, original));
  ASSERT_EQ(sink_.size(), 1u);
  expect_protocol_unreachable(sink_.bytes(0), original, original.size());
  EXPECT_EQ(counters_.tx_icmp_unreachable, 1u);
  EXPECT_EQ(in_use(pool()), 1u) << "the original was freed";
}

TEST_F(InterfaceIcmp, UnknownProtocol_253WithOptionsAndPadding_QuoteIsHeaderAndDataOnly) {
  const Bytes original = ipv4_packet({.protocol = 253, .options = hex("01010100"), .payload = filled(2)});
  receive(ethernet(kOurMac, kPeerMac, 0x0800, original) + Bytes(20, std::byte{0xee}));
  ASSERT_EQ(sink_.size(), 1u);
  expect_protocol_unreachable(sink_.bytes(0), original, original.size());
}

TEST_F(InterfaceIcmp, UnknownProtocol_LargeDatagram_QuoteCutToFitIn576) {
  const Bytes original = ipv4_packet({.protocol = kUdp, .payload = filled(1000)});
  receive(ethernet(kOurMac, kPeerMac, 0x0800, original));
  ASSERT_EQ(sink_.size(), 1u);
  expect_protocol_unreachable(sink_.bytes(0), original, 576 - 20 - 8);
}

TEST_F(InterfaceIcmp, UnknownProtocol_PoolEmpty_DroppedNoMbuf) {
  setup_.pool = tiny_pool();
  rebuild();
  learn_peer();
  std::vector<rte_mbuf*> hold(tiny_pool()->size);
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(tiny_pool(), hold.data(), static_cast<unsigned>(hold.size())), 0);
  const NetCounters before = counters_;
  receive_udp(t0_);
  for (rte_mbuf* m : hold) rte_pktmbuf_free(m);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(drops(changed(before, counters_)), (CounterDeltas{{"drop_no_mbuf", 1}}));
  EXPECT_EQ(in_use(pool()), 0u);
}

TEST_F(InterfaceIcmp, RateLimit_BurstOf50ThenDroppedAtFixedTime) {
  for (int i = 0; i < 50; ++i) receive_udp(t0_ + 1s);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 50u);
  EXPECT_EQ(sink_.size(), 50u);
  sink_.clear();
  for (int i = 0; i < 5; ++i) receive_udp(t0_ + 1s);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 5u);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 50u);
  EXPECT_EQ(in_use(pool()), 0u) << "rate-limited datagrams are freed";
}

TEST_F(InterfaceIcmp, RateLimit_RefillsWithVirtualTime) {
  for (int i = 0; i < 51; ++i) receive_udp(t0_);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 50u);
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 1u);

  // 1000 tokens a second: one more after 1 ms, and only one.
  receive_udp(t0_ + 1ms);
  receive_udp(t0_ + 1ms);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 51u);
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 2u);

  // Half a token is not enough; the other half arrives later.
  receive_udp(t0_ + 1500us);
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 3u);
  receive_udp(t0_ + 2ms);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 52u);

  // A long quiet period refills the bucket to the burst, not beyond it.
  sink_.clear();
  for (int i = 0; i < 60; ++i) receive_udp(t0_ + 10s);
  EXPECT_EQ(counters_.tx_icmp_unreachable, 52u + 50u);
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 3u + 10u);
}

TEST_F(InterfaceIcmp, RateLimit_DoesNotLimitEchoReplies) {
  for (int i = 0; i < 60; ++i) receive_udp(t0_);
  sink_.clear();
  receive(ipv4_frame({.payload = echo_request(1, 1, filled(8))}), t0_);
  EXPECT_EQ(sink_.size(), 1u);
}

// BUG: RFC 1122 3.2.2 says an ICMP error MUST NOT be sent for a datagram "sent as a
// link-layer broadcast", and send_protocol_unreachable()'s comment claims "never in answer to
// a broadcast", but only the IP source is checked: a frame to ff:ff:ff:ff:ff:ff carrying a
// datagram for our unicast address with protocol 17 gets a protocol unreachable. Linux
// (icmp_send) suppresses it for PACKET_BROADCAST/MULTICAST skbs.
TEST_F(InterfaceIcmp, UnknownProtocol_LinkLayerBroadcast_NoIcmpError) {
  receive(ipv4_frame({.protocol = kUdp, .payload = filled(12)}, wire::MacAddr::broadcast()));
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.tx_icmp_unreachable, 0u);
}

// ---- ICMP errors for TCP (RFC 1122 4.2.3.9): the quote parsed and handed to TCP ----

class InterfaceIcmpError : public InterfaceIcmp {
 protected:
  void SetUp() override {
    InterfaceIcmp::SetUp();
    attach_tcp();
  }
  // The first 8 bytes of one of our TCP segments: ports 80 -> 40000, SEG.SEQ.
  static Bytes tcp_quote(uint32_t seq, uint16_t src_port = 80) {
    Bytes out(8);
    wire::store_be16(out.data(), src_port);
    wire::store_be16(out.data() + 2, 40000);
    wire::store_be32(out.data() + 4, seq);
    return out;
  }
  // What a router 203.0.113.9 ... sends back: its IPv4 header to us, ICMP type/code/rest, and the
  // quoted header of a 1500-byte datagram of ours followed by `quoted_payload`.
  static Bytes error_frame(uint8_t type, uint8_t code, uint32_t rest, const Ipv4Spec& quoted) {
    return ipv4_frame({.src = kPeerIp, .payload = icmp_message(type, code, rest, ipv4_packet(quoted))});
  }
  static Ipv4Spec our_segment(uint32_t seq) {
    Ipv4Spec s{.src = kOurIp, .dst = kRemoteIp, .protocol = 6, .payload = tcp_quote(seq)};
    s.total_length = 1500;
    return s;
  }
};

TEST_F(InterfaceIcmpError, HostUnreachable_QuoteOfOurSegment_HandedToTcp) {
  const NetCounters before = counters_;
  receive(error_frame(3, 1, 0, our_segment(0x01020304)));
  ASSERT_EQ(tcp_.icmp_errors.size(), 1u);
  const wire::IcmpTcpError& e = tcp_.icmp_errors[0];
  EXPECT_EQ(e.type, 3);
  EXPECT_EQ(e.code, 1);
  EXPECT_EQ(e.next_hop_mtu, 0);
  EXPECT_EQ(e.quoted_length, 1500);
  EXPECT_EQ(e.local, kOurIp);
  EXPECT_EQ(e.remote, kRemoteIp);
  EXPECT_EQ(e.local_port, 80);
  EXPECT_EQ(e.remote_port, 40000);
  EXPECT_EQ(e.seq, 0x01020304u);
  const CounterDeltas all = changed(before, counters_);
  EXPECT_TRUE(drops(all).empty()) << ::testing::PrintToString(all);
  EXPECT_EQ(all.at("rx_icmp_error"), 1);
  EXPECT_EQ(all.at("rx_icmp_tcp_error"), 1);
  EXPECT_TRUE(sink_.empty()) << "no ICMP is ever sent about an ICMP error";
  EXPECT_TRUE(tcp_.segments.empty());
  EXPECT_EQ(in_use(pool()), 0u);
}

TEST_F(InterfaceIcmpError, FragmentationNeeded_NextHopMtuFromTheHeader) {
  receive(error_frame(3, 4, 1000, our_segment(7)));  // RFC 1191 §4: unused(16) | next-hop MTU(16)
  ASSERT_EQ(tcp_.icmp_errors.size(), 1u);
  EXPECT_EQ(tcp_.icmp_errors[0].code, 4);
  EXPECT_EQ(tcp_.icmp_errors[0].next_hop_mtu, 1000);
}

TEST_F(InterfaceIcmpError, TimeExceeded_HandedToTcp_RestOfHeaderIgnored) {
  receive(error_frame(11, 0, 1000, our_segment(9)));
  ASSERT_EQ(tcp_.icmp_errors.size(), 1u);
  EXPECT_EQ(tcp_.icmp_errors[0].type, 11);
  EXPECT_EQ(tcp_.icmp_errors[0].next_hop_mtu, 0);
  EXPECT_EQ(tcp_.icmp_errors[0].seq, 9u);
}

TEST_F(InterfaceIcmpError, QuoteWithIpOptions_PortsReadAfterThem) {
  Ipv4Spec quoted = our_segment(42);
  quoted.options = Bytes{std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}};  // NOP NOP NOP EOL
  receive(error_frame(3, 0, 0, quoted));
  ASSERT_EQ(tcp_.icmp_errors.size(), 1u);
  EXPECT_EQ(tcp_.icmp_errors[0].local_port, 80);
  EXPECT_EQ(tcp_.icmp_errors[0].seq, 42u);
}

TEST_F(InterfaceIcmpError, QuoteShorterThanHeaderPlus8_DroppedMalformed) {
  Ipv4Spec quoted = our_segment(1);
  quoted.payload.resize(7);
  expect_dropped(error_frame(3, 1, 0, quoted), "drop_icmp_quote_malformed");
  expect_dropped(ipv4_frame({.payload = icmp_message(3, 1, 0, filled(19))}), "drop_icmp_quote_malformed");
  expect_dropped(ipv4_frame({.payload = icmp_message(3, 1, 0, {})}), "drop_icmp_quote_malformed");
  Ipv4Spec long_header = our_segment(1);
  long_header.ihl = 15;  // 60 bytes announced, 20 + 8 quoted
  expect_dropped(error_frame(3, 1, 0, long_header), "drop_icmp_quote_malformed");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

TEST_F(InterfaceIcmpError, QuoteNotIpv4OrBadHeaderLength_DroppedMalformed) {
  Ipv4Spec v6 = our_segment(1);
  v6.version = 6;
  expect_dropped(error_frame(3, 1, 0, v6), "drop_icmp_quote_malformed");
  Ipv4Spec short_ihl = our_segment(1);
  short_ihl.ihl = 4;
  expect_dropped(error_frame(3, 1, 0, short_ihl), "drop_icmp_quote_malformed");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

TEST_F(InterfaceIcmpError, QuoteFromAnotherAddressOrALaterFragment_DroppedNotOurs) {
  Ipv4Spec not_ours = our_segment(1);
  not_ours.src = kOtherIp;
  expect_dropped(error_frame(3, 1, 0, not_ours), "drop_icmp_quote_not_ours");
  Ipv4Spec fragment = our_segment(1);
  fragment.flags_fragment = 0x2000 | 185;  // MF, offset 1480: its 8 bytes are data, not TCP
  expect_dropped(error_frame(3, 1, 0, fragment), "drop_icmp_quote_not_ours");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

TEST_F(InterfaceIcmpError, QuoteOfUdp_CountedNotHanded) {
  Ipv4Spec udp = our_segment(1);
  udp.protocol = kUdp;
  receive(error_frame(3, 3, 0, udp));
  EXPECT_TRUE(tcp_.icmp_errors.empty());
  EXPECT_EQ(counters_.rx_icmp_error_other_protocol, 1u);
  EXPECT_EQ(in_use(pool()), 0u);
}

TEST_F(InterfaceIcmpError, BadIcmpChecksum_DroppedBeforeTheQuoteIsRead) {
  Bytes frame = error_frame(3, 1, 0, our_segment(1));
  frame[wire::kEthernetHeaderLen + 20 + 2] ^= std::byte{0xff};
  expect_dropped(frame, "drop_icmp_bad_checksum");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

TEST_F(InterfaceIcmpError, NoTcpAttached_DroppedNoStack) {
  iface_->attach_tcp(nullptr);
  expect_dropped(error_frame(3, 1, 0, our_segment(1)), "drop_tcp_no_stack");
}

}  // namespace
}  // namespace dtcp::stack::test
