#include "wire/arp.hpp"

#include <gtest/gtest.h>

#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

// Built by hand from RFC 826 "Packet format": who-has 198.18.0.1 tell 198.18.0.2 from
// 52:54:00:12:34:56, followed by the 18 zero bytes of padding a 60-byte Ethernet frame carries.
constexpr std::string_view kRequestPadded =
    "0001 0800 06 04 0001"
    "525400123456 c6120002"
    "000000000000 c6120001"
    "000000000000000000000000000000000000";

// Built by hand: the matching reply, 198.18.0.1 is-at 02:00:00:00:00:01.
constexpr std::string_view kReply =
    "0001 0800 06 04 0002"
    "020000000001 c6120001"
    "525400123456 c6120002";

TEST(Arp, RequestWithPadding_Parses) {
  const auto bytes = hex(kRequestPadded);
  ASSERT_EQ(bytes.size(), 46u);
  const auto arp = parse_arp(cspan(bytes));
  ASSERT_TRUE(arp) << to_string(arp.error());
  EXPECT_EQ(arp->op, ArpOp::request);
  EXPECT_EQ(arp->sender_mac, *MacAddr::parse("52:54:00:12:34:56"));
  EXPECT_EQ(arp->sender_ip, *Ipv4Addr::parse("198.18.0.2"));
  EXPECT_TRUE(arp->target_mac.is_zero());
  EXPECT_EQ(arp->target_ip, *Ipv4Addr::parse("198.18.0.1"));
}

TEST(Arp, Reply_Parses) {
  const auto arp = parse_arp(cspan(hex(kReply)));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op, ArpOp::reply);
  EXPECT_EQ(arp->sender_mac, *MacAddr::parse("02:00:00:00:00:01"));
}

TEST(Arp, ShorterThan28_Truncated) {
  const auto bytes = hex(kReply);
  for (size_t len = 0; len < kArpLen; ++len) {
    const auto arp = parse_arp(cspan(bytes).first(len));
    ASSERT_FALSE(arp) << len;
    EXPECT_EQ(arp.error(), ParseError::truncated);
  }
}

struct ArpCorruption {
  size_t offset;
  uint8_t value;
  ParseError expected;
};

class ArpBadField : public ::testing::TestWithParam<ArpCorruption> {};

TEST_P(ArpBadField, Rejected) {
  auto bytes = hex(kReply);
  bytes[GetParam().offset] = std::byte{GetParam().value};
  const auto arp = parse_arp(cspan(bytes));
  ASSERT_FALSE(arp);
  EXPECT_EQ(arp.error(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Arp, ArpBadField,
    ::testing::Values(ArpCorruption{1, 6, ParseError::bad_hardware_type},       // htype 6 (IEEE 802)
                      ArpCorruption{0, 1, ParseError::bad_hardware_type},       // htype 0x0101
                      ArpCorruption{2, 0x86, ParseError::bad_protocol_type},    // ptype 0x8600
                      ArpCorruption{4, 8, ParseError::bad_address_length},      // hlen 8
                      ArpCorruption{5, 16, ParseError::bad_address_length},     // plen 16 (IPv6-ish)
                      ArpCorruption{7, 0, ParseError::bad_opcode},              // op 0
                      ArpCorruption{7, 3, ParseError::bad_opcode},              // op 3 (RARP request)
                      ArpCorruption{6, 1, ParseError::bad_opcode}));            // op 0x0102

TEST(Arp, Write_MatchesHandBuiltReply) {
  std::array<std::byte, kArpLen> out{};
  write_arp(out, ArpRepr{.op = ArpOp::reply,
                         .sender_mac = *MacAddr::parse("02:00:00:00:00:01"),
                         .sender_ip = *Ipv4Addr::parse("198.18.0.1"),
                         .target_mac = *MacAddr::parse("52:54:00:12:34:56"),
                         .target_ip = *Ipv4Addr::parse("198.18.0.2")});
  const auto expected = hex(kReply);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), expected.begin(), expected.end()));
}

TEST(Arp, WriteThenParse_RoundTrips) {
  const ArpRepr repr{.op = ArpOp::request,
                     .sender_mac = *MacAddr::parse("aa:bb:cc:dd:ee:ff"),
                     .sender_ip = Ipv4Addr::from_octets(10, 1, 2, 3),
                     .target_mac = MacAddr{},
                     .target_ip = Ipv4Addr::from_octets(10, 1, 2, 4)};
  std::array<std::byte, kArpLen> out{};
  write_arp(out, repr);
  const auto parsed = parse_arp(out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, repr);
}

}  // namespace
}  // namespace dtcp::wire
