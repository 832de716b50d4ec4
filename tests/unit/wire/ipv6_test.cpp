#include "wire/ipv6.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

Ipv6Addr v6(const char* text) { return *Ipv6Addr::parse(text); }

// A neighbour solicitation for 2001:db8::2 from fe80::ff:fe00:1 (MAC 02:00:00:00:00:01) to its
// solicited-node group, built field by field in Python (struct.pack over RFC 8200 §3 and
// RFC 4861 §4.3); the ICMPv6 checksum is from an independent RFC 1071 sum over the RFC 8200 §8.1
// pseudo-header.
constexpr std::string_view kNsPacket =
    "60000000 0020 3a ff"
    "fe800000000000000000 00fffe000001"
    "ff020000000000000000 0001ff000002"
    "87 00 4c5f 00000000 20010db8000000000000000000000002 0101 020000000001";

constexpr uint8_t kTcp = static_cast<uint8_t>(Ipv6NextHeader::tcp);
constexpr uint8_t kHopByHop = static_cast<uint8_t>(Ipv6NextHeader::hop_by_hop);
constexpr uint8_t kDestOpts = static_cast<uint8_t>(Ipv6NextHeader::destination_options);
constexpr uint8_t kRouting = static_cast<uint8_t>(Ipv6NextHeader::routing);

TEST(Ipv6, GoldenNeighborSolicitation_HeaderFields) {
  const auto bytes = hex(kNsPacket);
  const auto ip = Ipv6View::parse(cspan(bytes));
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->traffic_class(), 0);
  EXPECT_EQ(ip->flow_label(), 0u);
  EXPECT_EQ(ip->payload_length(), 32);
  EXPECT_EQ(ip->next_header(), 58);
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_EQ(ip->src(), v6("fe80::ff:fe00:1"));
  EXPECT_EQ(ip->dst(), v6("ff02::1:ff00:2"));
  EXPECT_EQ(ip->payload().size(), 32u);
  EXPECT_EQ(ip->payload().data(), bytes.data() + 40);
  EXPECT_EQ(ip->bytes().size(), bytes.size());
}

TEST(Ipv6, TrafficClassAndFlowLabel_SplitAcrossNibbles) {
  // Version 6, traffic class 0xab (DSCP 0x2a, ECN CE), flow label 0xcdef0.
  auto bytes = hex(kNsPacket);
  bytes[0] = std::byte{0x6a};
  bytes[1] = std::byte{0xbc};
  bytes[2] = std::byte{0xde};
  bytes[3] = std::byte{0xf0};
  const auto ip = Ipv6View::parse(cspan(bytes));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->traffic_class(), 0xab);
  EXPECT_EQ(ip->ecn(), Ecn::ce);
  EXPECT_EQ(ip->flow_label(), 0xcdef0u);
}

TEST(Ipv6, ShorterThanFixedHeader_Truncated) {
  const auto bytes = hex(kNsPacket);
  for (size_t len = 0; len < kIpv6HeaderLen; ++len) {
    EXPECT_EQ(Ipv6View::parse(cspan(bytes).first(len)).error(), ParseError::truncated) << len;
  }
}

TEST(Ipv6, VersionNot6_BadVersion) {
  auto bytes = hex(kNsPacket);
  for (uint8_t version : {0, 4, 7, 15}) {
    bytes[0] = std::byte{static_cast<uint8_t>(version << 4)};
    EXPECT_EQ(Ipv6View::parse(cspan(bytes)).error(), ParseError::bad_version) << int{version};
  }
}

TEST(Ipv6, PayloadLengthBeyondBuffer_Truncated) {
  const auto bytes = hex(kNsPacket);
  EXPECT_EQ(Ipv6View::parse(cspan(bytes).first(bytes.size() - 1)).error(), ParseError::truncated);
  auto longer = bytes;
  longer[5] = std::byte{33};  // payload length 33 over 32 bytes
  EXPECT_EQ(Ipv6View::parse(cspan(longer)).error(), ParseError::truncated);
  longer[4] = std::byte{0xff};
  longer[5] = std::byte{0xff};
  EXPECT_EQ(Ipv6View::parse(cspan(longer)).error(), ParseError::truncated);
}

TEST(Ipv6, EthernetPadding_TrimmedFromPayload) {
  auto bytes = hex(kNsPacket);
  bytes.resize(bytes.size() + 6, std::byte{0x5a});
  const auto ip = Ipv6View::parse(cspan(bytes));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->bytes().size(), 72u);
  EXPECT_EQ(ip->payload().size(), 32u);
}

TEST(Ipv6, ZeroPayloadLength_EmptyPayload) {
  auto bytes = hex(kNsPacket);
  bytes[4] = bytes[5] = std::byte{0};
  const auto ip = Ipv6View::parse(cspan(bytes));
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->payload().empty());
}

TEST(Ipv6, Write_ReproducesGoldenHeader) {
  const auto golden = hex(kNsPacket);
  std::array<std::byte, kIpv6HeaderLen> out{};
  write_ipv6(out, {.src = v6("fe80::ff:fe00:1"), .dst = v6("ff02::1:ff00:2"), .next_header = 58, .hop_limit = 255,
                   .payload_len = 32});
  EXPECT_TRUE(std::equal(out.begin(), out.end(), golden.begin()));
}

TEST(Ipv6, Write_TrafficClassAndFlowLabel_RoundTrip) {
  std::array<std::byte, kIpv6HeaderLen> out{};
  write_ipv6(out, {.src = v6("2001:db8::1"), .dst = v6("2001:db8::2"), .next_header = kTcp, .traffic_class = 0x02,
                   .flow_label = 0xfffff, .payload_len = 0});
  EXPECT_EQ(hex("602fffff 0000 06 40"), std::vector<std::byte>(out.begin(), out.begin() + 8));
  const auto ip = Ipv6View::parse(out);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ecn(), Ecn::ect0);
  EXPECT_EQ(ip->flow_label(), 0xfffffu);
  EXPECT_EQ(ip->hop_limit(), 64);
  EXPECT_EQ(ip->src(), v6("2001:db8::1"));
}

// ---- extension headers ----

TEST(Ipv6Extensions, NoExtensions_UpperLayerRightAfterHeader) {
  const auto tcp = hex("9c40 0050 01020304");
  const auto r = walk_ipv6_extensions(kTcp, cspan(tcp));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.protocol, kTcp);
  EXPECT_EQ(r.offset, 40u);
  EXPECT_EQ(r.next_header_field, 6u);
  EXPECT_EQ(r.headers, 0);
  EXPECT_FALSE(r.needs_parameter_problem());
}

TEST(Ipv6Extensions, HopByHopThenDestinationOptions_Skipped) {
  // Hop-by-hop: next 60, length 0, Router Alert (type 5, action 00 = skip: dtcp does not act on
  // it), PadN of 0; destination options: next 6, length 0, four Pad1 and PadN of 0.
  const auto chain = hex("3c00 0502 0000 0100  0600 00000000 0100  9c40005001020304");
  const auto r = walk_ipv6_extensions(kHopByHop, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer) << to_string(r.outcome);
  EXPECT_EQ(r.protocol, kTcp);
  EXPECT_EQ(r.offset, 56u);
  EXPECT_EQ(r.next_header_field, 48u);  // the destination options header's first byte
  EXPECT_EQ(r.headers, 2);
}

TEST(Ipv6Extensions, LongerHeader_HdrExtLenCountsEightOctetUnits) {
  // Destination options with Hdr Ext Len 1: 16 bytes, a PadN of 12 filling it.
  const auto chain = hex("0601 010c 000000000000000000000000  9c40005001020304");
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer);
  EXPECT_EQ(r.offset, 56u);
}

TEST(Ipv6Extensions, HopByHopSecond_ParameterProblemCode1AtNextHeaderField) {
  // RFC 8200 §4: destination options naming a hop-by-hop header; the pointer is the field with
  // the 0 (byte 0 of the destination options, at offset 40).
  const auto chain = hex("0000 01040000 0000  0600 01040000 0000");
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::hop_by_hop_not_first);
  EXPECT_TRUE(r.needs_parameter_problem());
  EXPECT_EQ(r.problem_code, Icmpv6ParamProblem::unrecognized_next_header);
  EXPECT_EQ(r.problem_pointer, 40u);
  EXPECT_FALSE(r.problem_even_if_multicast);
  EXPECT_EQ(r.offset, 48u);
}

TEST(Ipv6Extensions, RoutingNoSegmentsLeft_Ignored) {
  // Routing: next 6, length 0, type 4 (SRH), segments left 0, 4 bytes of type-specific data.
  const auto chain = hex("0600 0400 00000000  9c40005001020304");
  const auto r = walk_ipv6_extensions(kRouting, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer);
  EXPECT_EQ(r.offset, 48u);
}

TEST(Ipv6Extensions, RoutingWithSegmentsLeft_ParameterProblemCode0AtRoutingType) {
  // RFC 8200 §4.4, behind a hop-by-hop header: the routing type is byte 2 of the routing
  // header at 48, so the pointer is 50.
  const auto chain = hex("2b00 01040000 0000  0600 0001 00000000  9c40005001020304");
  const auto r = walk_ipv6_extensions(kHopByHop, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::unrecognized_routing_type);
  EXPECT_EQ(r.problem_code, Icmpv6ParamProblem::erroneous_header_field);
  EXPECT_EQ(r.problem_pointer, 50u);
  EXPECT_EQ(r.offset, 48u);
}

TEST(Ipv6Extensions, Fragment_ReportedWithItsOffset) {
  const auto chain = hex("2c00 01040000 0000  0600 0001 12345678");
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::fragment);
  EXPECT_EQ(r.offset, 48u);
  EXPECT_FALSE(r.needs_parameter_problem());
}

TEST(Ipv6Extensions, NoNextHeader_NothingToDeliver) {
  const auto chain = hex("3b00 01040000 0000  ffffffff");  // bytes after 59 are ignored (RFC 8200 §4.7)
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::no_next_header);
  EXPECT_EQ(r.offset, 48u);
  EXPECT_EQ(walk_ipv6_extensions(59, {}).outcome, Ipv6ExtOutcome::no_next_header);
}

TEST(Ipv6Extensions, EspAndAh_UnrecognizedNextHeaderCode1) {
  for (uint8_t next : {uint8_t{50}, uint8_t{51}}) {
    const auto r = walk_ipv6_extensions(next, cspan(hex("0000000000000000")));
    EXPECT_EQ(r.outcome, Ipv6ExtOutcome::unrecognized_next_header) << int{next};
    EXPECT_EQ(r.problem_code, Icmpv6ParamProblem::unrecognized_next_header);
    EXPECT_EQ(r.problem_pointer, 6u);  // the fixed header's Next Header
  }
}

// One unrecognised option of type `type` after two bytes of header: at offset 42 in the packet.
Ipv6Extensions walk_with_option(uint8_t type) {
  auto chain = hex("0600 0002 0000 0000  9c40005001020304");
  chain[2] = std::byte{type};
  return walk_ipv6_extensions(kHopByHop, cspan(chain));
}

TEST(Ipv6Extensions, UnknownOptionAction00_Skipped) {
  EXPECT_EQ(walk_with_option(0x1e).outcome, Ipv6ExtOutcome::upper_layer);
}

TEST(Ipv6Extensions, UnknownOptionAction01_DiscardedSilently) {
  const auto r = walk_with_option(0x5e);
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::option_discard);
  EXPECT_FALSE(r.needs_parameter_problem());
}

TEST(Ipv6Extensions, UnknownOptionAction10_ProblemCode2EvenToMulticast) {
  const auto r = walk_with_option(0x9e);
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::unrecognized_option);
  EXPECT_EQ(r.problem_code, Icmpv6ParamProblem::unrecognized_option);
  EXPECT_EQ(r.problem_pointer, 42u);
  EXPECT_TRUE(r.problem_even_if_multicast);
}

TEST(Ipv6Extensions, UnknownOptionAction11_ProblemCode2UnlessMulticast) {
  const auto r = walk_with_option(0xde);
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::unrecognized_option);
  EXPECT_EQ(r.problem_pointer, 42u);
  EXPECT_FALSE(r.problem_even_if_multicast);
}

TEST(Ipv6Extensions, OptionAfterPadding_PointerAtItsType) {
  // Pad1, Pad1, then Jumbo Payload (0xc2, RFC 2675, action 11) at byte 4 of the header: 44.
  // Hdr Ext Len 1: 16 bytes, ending in a PadN of 4.
  const auto chain = hex("0601 0000 c204 00010000 0104 00000000  9c40005001020304");
  ASSERT_EQ(chain.size(), 16u + 8u);
  const auto r = walk_ipv6_extensions(kHopByHop, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::unrecognized_option);
  EXPECT_EQ(r.problem_pointer, 44u);
}

TEST(Ipv6Extensions, OptionPastEndOfHeader_BadOptionLength) {
  // PadN claiming 5 bytes where 4 remain; then an option whose length byte is outside.
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(hex("0600 0105 00000000"))).outcome,
            Ipv6ExtOutcome::bad_option_length);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(hex("0600 0000 0000 00 01"))).outcome,
            Ipv6ExtOutcome::bad_option_length);
}

TEST(Ipv6Extensions, HeaderPastEnd_Truncated) {
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, {}).outcome, Ipv6ExtOutcome::truncated);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(hex("06"))).outcome, Ipv6ExtOutcome::truncated);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(hex("0600 01040000 00"))).outcome, Ipv6ExtOutcome::truncated);
  // Hdr Ext Len 255: 2048 bytes announced over 16.
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(hex("06ff 01040000 0000 0000000000000000"))).outcome,
            Ipv6ExtOutcome::truncated);
}

// `n` empty destination options headers (PadN of 4), then 8 bytes of TCP.
std::vector<std::byte> destination_options_chain(size_t n) {
  std::vector<std::byte> chain;
  for (size_t i = 0; i < n; ++i) {
    const auto h = hex(i + 1 == n ? "0600 01040000 0000" : "3c00 01040000 0000");
    chain.insert(chain.end(), h.begin(), h.end());
  }
  const auto tcp = hex("9c40005001020304");
  chain.insert(chain.end(), tcp.begin(), tcp.end());
  return chain;
}

TEST(Ipv6Extensions, EightHeaders_Accepted) {
  const auto chain = destination_options_chain(kIpv6MaxExtensionHeaders);
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer);
  EXPECT_EQ(r.headers, 8);
  EXPECT_EQ(r.offset, 40u + 64u);
}

TEST(Ipv6Extensions, NineHeaders_TooMany) {
  const auto chain = destination_options_chain(kIpv6MaxExtensionHeaders + 1);
  const auto r = walk_ipv6_extensions(kDestOpts, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::too_many_headers);
  EXPECT_EQ(r.headers, 8);
  EXPECT_EQ(r.offset, 40u + 64u);  // the header that would have been the ninth
}

TEST(Ipv6Extensions, LongChain_StopsAtTheBound) {
  // 8,000 headers in a 64 KB packet: the walk stops after the bound, not at the end.
  const auto chain = destination_options_chain(8000);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(chain)).outcome, Ipv6ExtOutcome::too_many_headers);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(chain), 2).headers, 2);
  EXPECT_EQ(walk_ipv6_extensions(kDestOpts, cspan(destination_options_chain(2)), 2).outcome,
            Ipv6ExtOutcome::upper_layer);
}

TEST(Ipv6Extensions, Quoted_OptionsAndRoutingNotActedOn) {
  // What the host would refuse (an action-11 option, a routing header with segments left) is
  // just stepped over in a quote of our own packet; a fragment and too many headers still stop.
  const auto chain = hex("2b00 de000000 0000  0600 0001 00000000  9c40005001020304");
  EXPECT_EQ(walk_ipv6_extensions(kHopByHop, cspan(chain)).outcome, Ipv6ExtOutcome::unrecognized_option);
  const auto r = walk_quoted_ipv6_extensions(kHopByHop, cspan(chain));
  EXPECT_EQ(r.outcome, Ipv6ExtOutcome::upper_layer);
  EXPECT_EQ(r.offset, 56u);
  EXPECT_EQ(walk_quoted_ipv6_extensions(kDestOpts, cspan(destination_options_chain(9))).outcome,
            Ipv6ExtOutcome::too_many_headers);
  EXPECT_EQ(walk_quoted_ipv6_extensions(44, cspan(chain)).outcome, Ipv6ExtOutcome::fragment);
}

TEST(Ipv6Extensions, ToString_NamesEveryOutcome) {
  for (int o = 0; o <= static_cast<int>(Ipv6ExtOutcome::unrecognized_option); ++o) {
    EXPECT_STRNE(to_string(static_cast<Ipv6ExtOutcome>(o)), "unknown") << o;
  }
  EXPECT_STREQ(to_string(Ipv6ExtOutcome::too_many_headers), "too_many_headers");
}

}  // namespace
}  // namespace dtcp::wire
