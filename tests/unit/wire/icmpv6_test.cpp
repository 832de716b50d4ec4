#include "wire/icmpv6.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/ipv6.hpp"
#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

Ipv6Addr v6(const char* text) { return *Ipv6Addr::parse(text); }
MacAddr mac(const char* text) { return *MacAddr::parse(text); }

// The goldens below were built field by field in Python (struct.pack over RFC 4443 §4.1,
// RFC 4861 §4 and RFC 8200 §3), their checksums from an independent RFC 1071 sum over the
// RFC 8200 §8.1 pseudo-header and the message.

// Echo request 2001:db8::1 -> 2001:db8::2, identifier 0x1234, sequence 1, "abcd".
constexpr std::string_view kEcho = "80 00 4d48 1234 0001 61626364";

// Whole IPv6 packets (hop limit 255) carrying ND messages. Node A is fe80::ff:fe00:1 with MAC
// 02:00:00:00:00:01 (its modified EUI-64 link-local address), node B 2001:db8::2 with
// 02:00:00:00:00:02.
// A solicits B: to B's solicited-node group, with A's source link-layer address.
constexpr std::string_view kNsPacket =
    "60000000 0020 3a ff fe80000000000000000000fffe000001 ff0200000000000000000001ff000002"
    "87 00 4c5f 00000000 20010db8000000000000000000000002 0101 020000000001";
// B answers: Solicited and Override set, B's target link-layer address.
constexpr std::string_view kNaPacket =
    "60000000 0020 3a ff 20010db8000000000000000000000002 fe80000000000000000000fffe000001"
    "88 00 baa9 60000000 20010db8000000000000000000000002 0201 020000000002";
// Router fe80::1 to all nodes: hop limit 64, O flag, lifetime 1800 s, reachable 30000 ms,
// retrans 1000 ms; source link-layer 02:00:00:00:00:02, MTU 1500, prefix 2001:db8::/64 with L
// and A, valid 2592000 s, preferred 604800 s.
constexpr std::string_view kRaPacket =
    "60000000 0040 3a ff fe800000000000000000000000000001 ff020000000000000000000000000001"
    "86 00 7490 40 40 0708 00007530 000003e8"
    "0101 020000000002"
    "0501 0000 000005dc"
    "0304 40 c0 00278d00 00093a80 00000000 20010db8000000000000000000000000";
// Packet Too Big, MTU 1280, from router 2001:db8:ffff::1 to 2001:db8::1, quoting the first 60
// bytes of a 1320-byte TCP SYN 2001:db8::1 port 40000 -> 2001:db8::2 port 80, seq 0x01020304.
constexpr std::string_view kPacketTooBig =
    "02 00 e596 00000500"
    "60000000 0528 06 40 20010db8000000000000000000000001 20010db8000000000000000000000002"
    "9c40 0050 01020304 00000000 5002 ffff 0000 0000";

// The ICMPv6 message of an IPv6 packet without extension headers.
std::span<const std::byte> icmp_part(const std::vector<std::byte>& packet) { return cspan(packet).subspan(40); }

Icmpv6View parse_packet(const std::vector<std::byte>& packet, bool verify = true) {
  const auto ip = Ipv6View::parse(cspan(packet));
  EXPECT_TRUE(ip);
  const auto icmp = Icmpv6View::parse(ip->payload(), ip->src(), ip->dst(), verify);
  EXPECT_TRUE(icmp) << to_string(icmp.error());
  return *icmp;
}

NdIpHeader ip_of(const std::vector<std::byte>& packet) {
  const auto ip = Ipv6View::parse(cspan(packet));
  return {ip->src(), ip->dst(), ip->hop_limit()};
}

// A reference RFC 1071 sum, written apart from the code under test: big-endian 16-bit words,
// end-around carry.
uint16_t reference_checksum(const std::vector<std::byte>& bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    sum += std::to_integer<uint32_t>(bytes[i]) << 8 | std::to_integer<uint32_t>(bytes[i + 1]);
  }
  if (bytes.size() % 2) sum += std::to_integer<uint32_t>(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST(Icmpv6Checksum, EchoVector_ByHandPseudoHeader) {
  // RFC 8200 §8.1 pseudo-header spelled out: source, destination, 32-bit length 12, three
  // zeros, next header 58; then the message with its checksum field zeroed.
  const auto summed = hex(
      "20010db8000000000000000000000001 20010db8000000000000000000000002 0000000c 000000 3a"
      "80 00 0000 1234 0001 61626364");
  EXPECT_EQ(reference_checksum(summed), 0x4d48);
  const auto echo = hex(kEcho);
  // The code under test agrees: the overload for Ipv6Addr, and the one for IpAddr.
  const uint32_t start = pseudo_header_sum(v6("2001:db8::1"), v6("2001:db8::2"), 58, 12);
  EXPECT_EQ(checksum_fold(checksum_accumulate(cspan(echo), start)), 0);
  const uint32_t either = pseudo_header_sum(IpAddr(v6("2001:db8::1")), IpAddr(v6("2001:db8::2")), 58, 12u);
  EXPECT_EQ(checksum_fold(either), checksum_fold(start));
}

TEST(Icmpv6Checksum, PseudoHeaderLength_Uses32Bits) {
  // A 65,536-byte upper layer (a jumbogram's) must not wrap to 0.
  const auto a = v6("2001:db8::1"), b = v6("2001:db8::2");
  EXPECT_NE(checksum_fold(pseudo_header_sum(a, b, 6, 0x10000)), checksum_fold(pseudo_header_sum(a, b, 6, 0)));
  EXPECT_EQ(checksum_fold(pseudo_header_sum(a, b, 6, 0x10000)), checksum_fold(pseudo_header_sum(a, b, 6, 1)));
}

TEST(Icmpv6, EchoRequest_Parses) {
  const auto msg = hex(kEcho);
  const auto icmp = Icmpv6View::parse(cspan(msg), v6("2001:db8::1"), v6("2001:db8::2"));
  ASSERT_TRUE(icmp) << to_string(icmp.error());
  EXPECT_EQ(icmp->type(), static_cast<uint8_t>(Icmpv6Type::echo_request));
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->checksum(), 0x4d48);
  EXPECT_EQ(icmp->identifier(), 0x1234);
  EXPECT_EQ(icmp->sequence(), 1);
  EXPECT_FALSE(icmp->is_error());
  EXPECT_EQ(icmp->payload().size(), 4u);
}

TEST(Icmpv6, OtherAddresses_BadChecksum) {
  // The checksum covers the pseudo-header: the same bytes between other hosts do not verify.
  const auto msg = hex(kEcho);
  EXPECT_EQ(Icmpv6View::parse(cspan(msg), v6("2001:db8::1"), v6("2001:db8::3")).error(), ParseError::bad_checksum);
  // Swapped addresses sum the same (ones' complement addition commutes), so a reply that only
  // swaps them keeps its checksum.
  EXPECT_TRUE(Icmpv6View::parse(cspan(msg), v6("2001:db8::2"), v6("2001:db8::1")));
  EXPECT_TRUE(Icmpv6View::parse(cspan(msg), v6("2001:db8::1"), v6("2001:db8::3"), /*verify_checksum=*/false));
}

TEST(Icmpv6, CorruptByte_BadChecksum) {
  auto msg = hex(kEcho);
  msg.back() ^= std::byte{0x01};
  EXPECT_EQ(Icmpv6View::parse(cspan(msg), v6("2001:db8::1"), v6("2001:db8::2")).error(), ParseError::bad_checksum);
}

TEST(Icmpv6, ShorterThanHeader_Truncated) {
  const auto msg = hex(kEcho);
  for (size_t len = 0; len < kIcmpv6HeaderLen; ++len) {
    EXPECT_EQ(Icmpv6View::parse(cspan(msg).first(len), {}, {}, false).error(), ParseError::truncated) << len;
  }
}

TEST(Icmpv6, Write_ReproducesEcho) {
  const auto golden = hex(kEcho);
  std::array<std::byte, 12> out{};
  const size_t n = write_icmpv6(out, v6("2001:db8::1"), v6("2001:db8::2"), 128, 0, 0x12340001,
                                cspan(golden).subspan(8));
  EXPECT_EQ(n, golden.size());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), golden.begin()));
}

TEST(Icmpv6, Write_ReplyInPlaceOverRequest) {
  auto buf = hex(kEcho);
  const std::span<const std::byte> payload(buf.data() + 8, 4);
  write_icmpv6(buf, v6("2001:db8::2"), v6("2001:db8::1"), 129, 0, 0x12340001, payload);
  const auto reply = Icmpv6View::parse(cspan(buf), v6("2001:db8::2"), v6("2001:db8::1"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type(), 129);
  EXPECT_EQ(hex("61626364"), std::vector<std::byte>(buf.begin() + 8, buf.end()));
}

// ---- errors ----

TEST(Icmpv6Error, PacketTooBig_QuoteAndMtu) {
  const auto msg = hex(kPacketTooBig);
  const auto icmp = Icmpv6View::parse(cspan(msg), v6("2001:db8:ffff::1"), v6("2001:db8::1"));
  ASSERT_TRUE(icmp) << to_string(icmp.error());
  EXPECT_TRUE(icmp->is_error());
  const auto quote = parse_icmpv6_quote(icmp->payload());
  ASSERT_TRUE(quote) << to_string(quote.error());
  EXPECT_EQ(quote->payload_length, 1320);
  EXPECT_EQ(quote->protocol, 6);
  EXPECT_EQ(quote->transport.size(), 20u);
  const auto e = parse_icmpv6_tcp_error(*icmp);
  ASSERT_TRUE(e) << to_string(e.error());
  EXPECT_EQ(e->kind, IcmpErrorKind::packet_too_big);
  EXPECT_EQ(e->type, 2);
  EXPECT_EQ(e->code, 0);
  EXPECT_EQ(e->mtu, 1280u);
  EXPECT_EQ(e->quoted_payload_length, 1320);
  EXPECT_EQ(e->local, v6("2001:db8::1"));
  EXPECT_EQ(e->remote, v6("2001:db8::2"));
  EXPECT_EQ(e->local_port, 40000);
  EXPECT_EQ(e->remote_port, 80);
  EXPECT_EQ(e->seq, 0x01020304u);
}

TEST(Icmpv6Error, PacketTooBig_MtuIs32Bits) {
  auto msg = hex(kPacketTooBig);
  msg[4] = std::byte{0x00};
  msg[5] = std::byte{0x01};  // 65,536 + 0x0500
  const auto icmp = Icmpv6View::parse(cspan(msg), {}, {}, false);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(parse_icmpv6_tcp_error(*icmp)->mtu, 0x10500u);
}

// kPacketTooBig's message with `quote` in place of its quote (checksum not filled).
std::vector<std::byte> with_quote(std::string_view quote, uint8_t type = 1, uint8_t code = 4) {
  auto msg = hex("00 00 0000 00000000");
  msg[0] = std::byte{type};
  msg[1] = std::byte{code};
  const auto q = hex(quote);
  msg.insert(msg.end(), q.begin(), q.end());
  return msg;
}

constexpr std::string_view kQuotedHeaderTcp =
    "60000000 0014 06 40 20010db8000000000000000000000001 20010db8000000000000000000000002";

TEST(Icmpv6Error, QuoteWithExtensionHeaders_FindsTcp) {
  // Fixed header naming hop-by-hop, then destination options, then TCP: 16 bytes later.
  auto quote = std::string("60000000 0024 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002");
  quote += "3c00 01040000 0000  0600 01040000 0000  9c40 0050 01020304";
  const auto msg = with_quote(quote);
  const auto icmp = Icmpv6View::parse(cspan(msg), {}, {}, false);
  ASSERT_TRUE(icmp);
  const auto e = parse_icmpv6_tcp_error(*icmp);
  ASSERT_TRUE(e) << to_string(e.error());
  EXPECT_EQ(e->kind, IcmpErrorKind::hard_port);
  EXPECT_EQ(e->mtu, 0u);  // not a packet too big
  EXPECT_EQ(e->local_port, 40000);
  EXPECT_EQ(e->seq, 0x01020304u);
}

Parsed<Icmpv6TcpError> tcp_error_of(const std::vector<std::byte>& msg) {
  const auto icmp = Icmpv6View::parse(cspan(msg), {}, {}, false);
  EXPECT_TRUE(icmp);
  return parse_icmpv6_tcp_error(*icmp);
}

TEST(Icmpv6Error, QuoteShorterThanEightTcpBytes_Truncated) {
  const auto full = with_quote(std::string(kQuotedHeaderTcp) + "9c40 0050 01020304");
  EXPECT_TRUE(tcp_error_of(full));
  for (size_t cut = 1; cut <= 8 + 40; ++cut) {
    const std::vector<std::byte> shorter(full.begin(), full.end() - static_cast<ptrdiff_t>(cut));
    EXPECT_EQ(tcp_error_of(shorter).error(), ParseError::truncated) << cut;
  }
}

TEST(Icmpv6Error, QuoteCutInsideExtensionHeader_Truncated) {
  const auto msg = with_quote("60000000 0024 3c 40 20010db8000000000000000000000001 20010db8000000000000000000000002"
                              "0600 0104");
  EXPECT_EQ(tcp_error_of(msg).error(), ParseError::truncated);
}

TEST(Icmpv6Error, QuotedFragment_BadExtensionHeader) {
  const auto msg = with_quote("60000000 0024 2c 40 20010db8000000000000000000000001 20010db8000000000000000000000002"
                              "0600 0000 12345678  9c40 0050 01020304");
  EXPECT_EQ(tcp_error_of(msg).error(), ParseError::bad_extension_header);
}

TEST(Icmpv6Error, QuoteOfUdp_BadNextHeader) {
  auto quote = std::string(kQuotedHeaderTcp) + "9c40 0035 0008 0000";
  quote[14] = '1';
  quote[15] = '1';  // next header 0x11
  EXPECT_EQ(tcp_error_of(with_quote(quote)).error(), ParseError::bad_next_header);
}

TEST(Icmpv6Error, QuoteOfIpv4_BadVersion) {
  auto quote = std::string(kQuotedHeaderTcp) + "9c40 0050 01020304";
  quote[0] = '4';
  EXPECT_EQ(tcp_error_of(with_quote(quote)).error(), ParseError::bad_version);
}

TEST(Icmpv6Error, InformationalMessage_BadType) {
  const auto msg = hex(kEcho);
  const auto icmp = Icmpv6View::parse(cspan(msg), {}, {}, false);
  EXPECT_EQ(parse_icmpv6_tcp_error(*icmp).error(), ParseError::bad_type);
}

TEST(Icmpv6Error, Kind_ByTypeAndCode) {
  EXPECT_EQ(icmpv6_error_kind(1, 0), IcmpErrorKind::soft);  // no route
  EXPECT_EQ(icmpv6_error_kind(1, 1), IcmpErrorKind::soft);  // administratively prohibited
  EXPECT_EQ(icmpv6_error_kind(1, 3), IcmpErrorKind::soft);  // address unreachable
  EXPECT_EQ(icmpv6_error_kind(1, 4), IcmpErrorKind::hard_port);
  EXPECT_EQ(icmpv6_error_kind(2, 0), IcmpErrorKind::packet_too_big);
  EXPECT_EQ(icmpv6_error_kind(3, 0), IcmpErrorKind::soft);
  EXPECT_EQ(icmpv6_error_kind(3, 1), IcmpErrorKind::soft);
  EXPECT_EQ(icmpv6_error_kind(4, 0), IcmpErrorKind::soft);
  EXPECT_EQ(icmpv6_error_kind(4, 1), IcmpErrorKind::hard_protocol);
  EXPECT_EQ(icmpv6_error_kind(4, 2), IcmpErrorKind::soft);
  EXPECT_EQ(icmpv6_error_kind(128, 0), IcmpErrorKind::other);
  EXPECT_EQ(icmpv6_error_kind(135, 0), IcmpErrorKind::other);
}

// ---- neighbour discovery ----

TEST(NeighborSolicitation, Golden_ValidAndParsed) {
  const auto packet = hex(kNsPacket);
  const auto icmp = parse_packet(packet);
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), icmp), NdInvalid::none);
  const auto ns = parse_neighbor_solicitation(icmp);
  ASSERT_TRUE(ns) << to_string(ns.error());
  EXPECT_EQ(ns->target, v6("2001:db8::2"));
  EXPECT_EQ(ns->options.source_link_layer, mac("02:00:00:00:00:01"));
  EXPECT_FALSE(ns->options.target_link_layer);
  // The golden's addresses are what the address helpers derive.
  EXPECT_EQ(ip_of(packet).src, Ipv6Addr::link_local_from_mac(mac("02:00:00:00:00:01")));
  EXPECT_EQ(ip_of(packet).dst, v6("2001:db8::2").solicited_node());
}

TEST(NeighborSolicitation, Write_ReproducesGolden) {
  const auto packet = hex(kNsPacket);
  std::array<std::byte, 32> out{};
  const size_t n = write_neighbor_solicitation(out, v6("fe80::ff:fe00:1"), v6("ff02::1:ff00:2"), v6("2001:db8::2"),
                                               mac("02:00:00:00:00:01"));
  EXPECT_EQ(n, 32u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), packet.begin() + 40));
}

TEST(NeighborSolicitation, HopLimitNot255_Invalid) {
  const auto packet = hex(kNsPacket);
  auto ip = ip_of(packet);
  for (uint8_t hop_limit : {0, 1, 64, 254}) {
    ip.hop_limit = hop_limit;
    EXPECT_EQ(validate_neighbor_solicitation(ip, parse_packet(packet)), NdInvalid::hop_limit_not_255);
  }
}

TEST(NeighborSolicitation, CodeNotZero_Invalid) {
  auto packet = hex(kNsPacket);
  packet[41] = std::byte{1};
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), parse_packet(packet, false)), NdInvalid::code_not_zero);
}

TEST(NeighborSolicitation, ShorterThan24_TooShortAndTruncated) {
  const auto packet = hex(kNsPacket);
  for (size_t len = kIcmpv6HeaderLen; len < kNdNeighborSolicitationLen; ++len) {
    const auto icmp = *Icmpv6View::parse(icmp_part(packet).first(len), {}, {}, false);
    EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), icmp), NdInvalid::too_short) << len;
    EXPECT_EQ(parse_neighbor_solicitation(icmp).error(), ParseError::truncated) << len;
  }
}

TEST(NeighborSolicitation, MulticastTarget_Invalid) {
  auto packet = hex(kNsPacket);
  packet[48] = std::byte{0xff};
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), parse_packet(packet, false)), NdInvalid::target_multicast);
}

TEST(NeighborSolicitation, OptionLengthZero_InvalidAndBadOption) {
  auto packet = hex(kNsPacket);
  packet[65] = std::byte{0};  // the source link-layer option's length
  const auto icmp = parse_packet(packet, false);
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), icmp), NdInvalid::bad_option);
  EXPECT_EQ(parse_neighbor_solicitation(icmp).error(), ParseError::bad_nd_option);
}

TEST(NeighborSolicitation, OptionPastEnd_InvalidAndTruncated) {
  auto packet = hex(kNsPacket);
  packet[65] = std::byte{2};  // 16 bytes announced, 8 present
  const auto icmp = parse_packet(packet, false);
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), icmp), NdInvalid::bad_option);
  EXPECT_EQ(parse_neighbor_solicitation(icmp).error(), ParseError::truncated);
}

TEST(NeighborSolicitation, DuplicateAddressDetection_FromUnspecified) {
  // RFC 4862 §5.4.2: from ::, to the solicited-node group, no source link-layer option.
  std::array<std::byte, 32> out{};
  const auto group = v6("2001:db8::2").solicited_node();
  const size_t n = write_neighbor_solicitation(out, Ipv6Addr{}, group, v6("2001:db8::2"), std::nullopt);
  ASSERT_EQ(n, 24u);
  const auto icmp = Icmpv6View::parse(std::span(out).first(n), Ipv6Addr{}, group);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(validate_neighbor_solicitation({Ipv6Addr{}, group, 255}, *icmp), NdInvalid::none);
  EXPECT_EQ(validate_neighbor_solicitation({Ipv6Addr{}, v6("2001:db8::2"), 255}, *icmp),
            NdInvalid::unspecified_source_not_solicited_node);
  EXPECT_EQ(validate_neighbor_solicitation({Ipv6Addr{}, Ipv6Addr::all_nodes(), 255}, *icmp),
            NdInvalid::unspecified_source_not_solicited_node);
}

TEST(NeighborSolicitation, UnspecifiedSourceWithLinkLayerOption_Invalid) {
  const auto packet = hex(kNsPacket);
  auto ip = ip_of(packet);
  ip.src = Ipv6Addr{};
  EXPECT_EQ(validate_neighbor_solicitation(ip, parse_packet(packet)), NdInvalid::unspecified_source_with_lla);
}

TEST(NeighborSolicitation, WrongType_InvalidAndBadType) {
  const auto packet = hex(kNaPacket);
  const auto icmp = parse_packet(packet);
  EXPECT_EQ(validate_neighbor_solicitation(ip_of(packet), icmp), NdInvalid::wrong_type);
  EXPECT_EQ(parse_neighbor_solicitation(icmp).error(), ParseError::bad_type);
}

TEST(NeighborAdvertisement, Golden_ValidAndParsed) {
  const auto packet = hex(kNaPacket);
  const auto icmp = parse_packet(packet);
  EXPECT_EQ(validate_neighbor_advertisement(ip_of(packet), icmp), NdInvalid::none);
  const auto na = parse_neighbor_advertisement(icmp);
  ASSERT_TRUE(na) << to_string(na.error());
  EXPECT_FALSE(na->router);
  EXPECT_TRUE(na->solicited);
  EXPECT_TRUE(na->override);
  EXPECT_EQ(na->target, v6("2001:db8::2"));
  EXPECT_EQ(na->options.target_link_layer, mac("02:00:00:00:00:02"));
}

TEST(NeighborAdvertisement, Write_ReproducesGolden) {
  const auto packet = hex(kNaPacket);
  NdNeighborAdvertisement na{.solicited = true, .override = true, .target = v6("2001:db8::2")};
  na.options.target_link_layer = mac("02:00:00:00:00:02");
  std::array<std::byte, 32> out{};
  EXPECT_EQ(write_neighbor_advertisement(out, v6("2001:db8::2"), v6("fe80::ff:fe00:1"), na), 32u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), packet.begin() + 40));
}

TEST(NeighborAdvertisement, SolicitedToMulticast_Invalid) {
  const auto packet = hex(kNaPacket);
  auto ip = ip_of(packet);
  ip.dst = Ipv6Addr::all_nodes();
  EXPECT_EQ(validate_neighbor_advertisement(ip, parse_packet(packet)), NdInvalid::solicited_to_multicast);
  // Unsolicited (S clear) to all nodes is how a node announces a new link-layer address (§7.2.6).
  std::array<std::byte, 32> out{};
  NdNeighborAdvertisement na{.override = true, .target = v6("2001:db8::2")};
  na.options.target_link_layer = mac("02:00:00:00:00:02");
  const size_t n = write_neighbor_advertisement(out, v6("2001:db8::2"), ip.dst, na);
  const auto icmp = Icmpv6View::parse(std::span(out).first(n), v6("2001:db8::2"), ip.dst);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(validate_neighbor_advertisement(ip, *icmp), NdInvalid::none);
}

TEST(NeighborAdvertisement, MulticastTargetAndHopLimit_Invalid) {
  auto packet = hex(kNaPacket);
  auto ip = ip_of(packet);
  ip.hop_limit = 64;
  EXPECT_EQ(validate_neighbor_advertisement(ip, parse_packet(packet)), NdInvalid::hop_limit_not_255);
  packet[48] = std::byte{0xff};
  EXPECT_EQ(validate_neighbor_advertisement(ip_of(packet), parse_packet(packet, false)), NdInvalid::target_multicast);
}

TEST(RouterAdvertisement, Golden_ValidAndParsed) {
  const auto packet = hex(kRaPacket);
  const auto icmp = parse_packet(packet);
  EXPECT_EQ(validate_router_advertisement(ip_of(packet), icmp), NdInvalid::none);
  const auto ra = parse_router_advertisement(icmp);
  ASSERT_TRUE(ra) << to_string(ra.error());
  EXPECT_EQ(ra->cur_hop_limit, 64);
  EXPECT_FALSE(ra->managed);
  EXPECT_TRUE(ra->other);
  EXPECT_EQ(ra->router_lifetime, 1800);
  EXPECT_EQ(ra->reachable_time, 30000u);
  EXPECT_EQ(ra->retrans_timer, 1000u);
  EXPECT_EQ(ra->options.source_link_layer, mac("02:00:00:00:00:02"));
  EXPECT_EQ(ra->options.mtu, 1500u);
  ASSERT_EQ(ra->options.prefix_list().size(), 1u);
  const NdPrefixInfo& p = ra->options.prefix_list()[0];
  EXPECT_EQ(p.prefix_length, 64);
  EXPECT_TRUE(p.on_link);
  EXPECT_TRUE(p.autonomous);
  EXPECT_EQ(p.valid_lifetime, 2592000u);
  EXPECT_EQ(p.preferred_lifetime, 604800u);
  EXPECT_EQ(p.prefix, v6("2001:db8::"));
}

TEST(RouterAdvertisement, Write_ReproducesGolden) {
  const auto packet = hex(kRaPacket);
  const auto ra = parse_router_advertisement(parse_packet(packet));
  ASSERT_TRUE(ra);
  std::array<std::byte, 64> out{};
  EXPECT_EQ(write_router_advertisement(out, v6("fe80::1"), Ipv6Addr::all_nodes(), *ra), 64u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), packet.begin() + 40));
}

TEST(RouterAdvertisement, GlobalSource_Invalid) {
  const auto packet = hex(kRaPacket);
  auto ip = ip_of(packet);
  ip.src = v6("2001:db8::1");
  EXPECT_EQ(validate_router_advertisement(ip, parse_packet(packet)), NdInvalid::source_not_link_local);
}

TEST(RouterAdvertisement, ShorterThan16_TooShort) {
  const auto packet = hex(kRaPacket);
  const auto icmp = *Icmpv6View::parse(icmp_part(packet).first(15), {}, {}, false);
  EXPECT_EQ(validate_router_advertisement(ip_of(packet), icmp), NdInvalid::too_short);
  EXPECT_EQ(parse_router_advertisement(icmp).error(), ParseError::truncated);
}

TEST(RouterSolicitation, WriteThenParse_AndUnspecifiedSource) {
  std::array<std::byte, 16> out{};
  const auto src = v6("fe80::ff:fe00:1");
  const size_t n = write_router_solicitation(out, src, Ipv6Addr::all_routers(), mac("02:00:00:00:00:01"));
  ASSERT_EQ(n, 16u);
  EXPECT_EQ(hex("85 00"), std::vector<std::byte>(out.begin(), out.begin() + 2));
  EXPECT_EQ(hex("00000000 0101 020000000001"), std::vector<std::byte>(out.begin() + 4, out.end()));
  const auto icmp = Icmpv6View::parse(out, src, Ipv6Addr::all_routers());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(validate_router_solicitation({src, Ipv6Addr::all_routers(), 255}, *icmp), NdInvalid::none);
  EXPECT_EQ(parse_router_solicitation(*icmp)->options.source_link_layer, mac("02:00:00:00:00:01"));
  EXPECT_EQ(validate_router_solicitation({Ipv6Addr{}, Ipv6Addr::all_routers(), 255}, *icmp),
            NdInvalid::unspecified_source_with_lla);
}

// ---- options ----

TEST(NdOptions, UnknownSkippedFirstDuplicateKept) {
  // Nonce (14, RFC 3971) length 1, then two source link-layer options.
  const auto opts = hex("0e01 000000000000  0101 020000000001  0101 020000000009");
  const auto o = parse_nd_options(cspan(opts));
  ASSERT_TRUE(o) << to_string(o.error());
  EXPECT_EQ(o->source_link_layer, mac("02:00:00:00:00:01"));
}

TEST(NdOptions, LengthZero_BadNdOption) {
  EXPECT_EQ(parse_nd_options(cspan(hex("0e00 000000000000"))).error(), ParseError::bad_nd_option);
  // Also after a valid option, and for an unknown type.
  EXPECT_EQ(parse_nd_options(cspan(hex("0101 020000000001  2200"))).error(), ParseError::bad_nd_option);
}

TEST(NdOptions, WrongLengthForType_BadNdOption) {
  EXPECT_EQ(parse_nd_options(cspan(hex("0102 020000000001 0000000000000000"))).error(), ParseError::bad_nd_option);
  EXPECT_EQ(parse_nd_options(cspan(hex("0502 0000 000005dc 0000000000000000"))).error(), ParseError::bad_nd_option);
  EXPECT_EQ(parse_nd_options(cspan(hex("0301 40c0 00000000"))).error(), ParseError::bad_nd_option);
}

TEST(NdOptions, CutShort_Truncated) {
  EXPECT_EQ(parse_nd_options(cspan(hex("01"))).error(), ParseError::truncated);
  EXPECT_EQ(parse_nd_options(cspan(hex("0101 0200000000"))).error(), ParseError::truncated);
  EXPECT_TRUE(parse_nd_options({}));
}

TEST(NdOptions, MorePrefixesThanSlots_CountedNotStored) {
  std::vector<std::byte> opts;
  for (size_t i = 0; i < kNdMaxPrefixes + 2; ++i) {
    auto p = hex("0304 40c0 00278d00 00093a80 00000000 20010db8000000000000000000000000");
    p[23] = std::byte{static_cast<uint8_t>(i)};  // 2001:db8:0:i::/64
    opts.insert(opts.end(), p.begin(), p.end());
  }
  const auto o = parse_nd_options(cspan(opts));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->prefix_count, kNdMaxPrefixes);
  EXPECT_EQ(o->prefixes_ignored, 2);
  EXPECT_EQ(o->prefix_list()[3].prefix, v6("2001:db8:0:3::"));
}

TEST(NdInvalid, ToString_NamesEveryValue) {
  for (int v = 0; v <= static_cast<int>(NdInvalid::source_not_link_local); ++v) {
    EXPECT_STRNE(to_string(static_cast<NdInvalid>(v)), "unknown") << v;
  }
}

}  // namespace
}  // namespace dtcp::wire
