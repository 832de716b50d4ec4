#include "wire/ethernet.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

static_assert(std::is_trivially_copyable_v<Parsed<EthernetView>>);

TEST(Ethernet, CapturedFrame_Parses) {
  const auto frame = hex(test::golden::kEchoRequestFrame);
  const auto eth = EthernetView::parse(cspan(frame));
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->dst().is_zero());
  EXPECT_TRUE(eth->src().is_zero());
  EXPECT_EQ(eth->ether_type(), static_cast<uint16_t>(EtherType::ipv4));
  EXPECT_EQ(eth->payload().size(), frame.size() - kEthernetHeaderLen);
  EXPECT_EQ(eth->payload().data(), frame.data() + kEthernetHeaderLen);
}

TEST(Ethernet, HeaderOnly_EmptyPayload) {
  // Built by hand: broadcast dst, 02:00:00:00:00:01 src, ARP type.
  const auto frame = hex("ffffffffffff 020000000001 0806");
  const auto eth = EthernetView::parse(cspan(frame));
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->dst().is_broadcast());
  EXPECT_EQ(eth->src(), *MacAddr::parse("02:00:00:00:00:01"));
  EXPECT_EQ(eth->ether_type(), 0x0806);
  EXPECT_TRUE(eth->payload().empty());
}

TEST(Ethernet, ShorterThanHeader_Truncated) {
  const auto frame = hex("ffffffffffff 020000000001 0806");
  for (size_t len = 0; len < kEthernetHeaderLen; ++len) {
    const auto eth = EthernetView::parse(cspan(frame).first(len));
    ASSERT_FALSE(eth) << len;
    EXPECT_EQ(eth.error(), ParseError::truncated);
  }
}

TEST(Ethernet, Write_MatchesHandBuiltBytes) {
  std::array<std::byte, kEthernetHeaderLen> out{};
  write_ethernet(out, MacAddr::broadcast(), *MacAddr::parse("02:00:00:00:00:01"),
                 static_cast<uint16_t>(EtherType::arp));
  const auto expected = hex("ffffffffffff 020000000001 0806");
  EXPECT_TRUE(std::equal(out.begin(), out.end(), expected.begin(), expected.end()));
}

TEST(Ethernet, WriteThenParse_RoundTrips) {
  std::array<std::byte, 20> out{};
  const auto dst = *MacAddr::parse("52:54:00:12:34:56");
  const auto src = *MacAddr::parse("52:54:00:ab:cd:ef");
  write_ethernet(out, dst, src, static_cast<uint16_t>(EtherType::ipv6));
  const auto eth = EthernetView::parse(out);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), dst);
  EXPECT_EQ(eth->src(), src);
  EXPECT_EQ(eth->ether_type(), 0x86dd);
  EXPECT_EQ(eth->payload().size(), 6u);
}

TEST(ParseError, ToString_NamesEveryValue) {
  EXPECT_STREQ(to_string(ParseError::truncated), "truncated");
  EXPECT_STREQ(to_string(ParseError::bad_flags), "bad_flags");
  for (int e = 0; e <= static_cast<int>(ParseError::bad_nd_option); ++e) {  // the last value
    EXPECT_STRNE(to_string(static_cast<ParseError>(e)), "unknown") << e;
  }
}

}  // namespace
}  // namespace dtcp::wire
