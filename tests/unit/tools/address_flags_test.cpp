// The address flags of dtcp-echo and dtcp-loadgen: every accepted form of either family, and
// each rejected one with the reason the user sees.
#include "common/address_flags.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dtcp::tools {
namespace {

wire::IpAddr addr(const char* text) { return *wire::IpAddr::parse(text); }

// The error for `text`, or "accepted".
std::string named_error(const char* text, bool with_addr) {
  std::string error;
  return parse_named_endpoint(text, with_addr, error) ? "accepted" : error;
}

TEST(NamedEndpoint, PortOnly_WithAndWithoutName) {
  std::string error;
  auto ep = parse_named_endpoint("7", false, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "");
  EXPECT_EQ(ep->port, 7);
  ep = parse_named_endpoint("b:65535", false, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "b");
  EXPECT_EQ(ep->port, 65535);
}

TEST(NamedEndpoint, PortOnly_BadForms_Rejected) {
  EXPECT_EQ(named_error("0", false), "expected [NAME:]PORT, got '0': the port must be 1..65535");
  EXPECT_EQ(named_error("65536", false), "expected [NAME:]PORT, got '65536': the port must be 1..65535");
  EXPECT_EQ(named_error("b:", false), "expected [NAME:]PORT, got 'b:': the port must be 1..65535");
  EXPECT_EQ(named_error(":7", false), "expected [NAME:]PORT, got ':7': bad port name");
  EXPECT_EQ(named_error("a:b:7", false), "expected [NAME:]PORT, got 'a:b:7': the port must be 1..65535");
  EXPECT_EQ(named_error("x7", false), "expected [NAME:]PORT, got 'x7': the port must be 1..65535");
  EXPECT_EQ(named_error("", false), "expected [NAME:]PORT, got '': the port must be 1..65535");
}

TEST(NamedEndpoint, Ipv4_WithAndWithoutName) {
  std::string error;
  auto ep = parse_named_endpoint("198.18.1.1:7", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "");
  EXPECT_EQ(ep->addr, addr("198.18.1.1"));
  EXPECT_TRUE(ep->addr.is_v4());
  EXPECT_EQ(ep->port, 7);
  ep = parse_named_endpoint("client:198.18.1.2:80", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "client");
  EXPECT_EQ(ep->addr, addr("198.18.1.2"));
  EXPECT_EQ(ep->port, 80);
}

// The colons of "client:[2001:db8::1]:7": the name ends at the one before the bracket.
TEST(NamedEndpoint, Ipv6InBrackets_WithAndWithoutName) {
  std::string error;
  auto ep = parse_named_endpoint("[2001:db8::1]:7", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "");
  EXPECT_EQ(ep->addr, addr("2001:db8::1"));
  EXPECT_TRUE(ep->addr.is_v6());
  EXPECT_EQ(ep->port, 7);
  ep = parse_named_endpoint("client:[2001:db8::1]:7", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->port_name, "client");
  EXPECT_EQ(ep->addr, addr("2001:db8::1"));
  EXPECT_EQ(ep->port, 7);
  ep = parse_named_endpoint("b:[fe80::1]:65535", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->addr, addr("fe80::1"));
  EXPECT_EQ(ep->port, 65535);
  // An IPv4-mapped text is the IPv4 address, as on the wire.
  ep = parse_named_endpoint("[::ffff:198.18.1.1]:7", true, error);
  ASSERT_TRUE(ep) << error;
  EXPECT_TRUE(ep->addr.is_v4());
}

TEST(NamedEndpoint, WithAddress_BadForms_Rejected) {
  const std::string form = "expected [NAME:]ADDR:PORT (IPv6 in brackets: [NAME:][2001:db8::1]:PORT), got ";
  EXPECT_EQ(named_error("2001:db8::1:7", true), form + "'2001:db8::1:7': an IPv6 address needs brackets");
  EXPECT_EQ(named_error("c:2001:db8::1:7", true), form + "'c:2001:db8::1:7': an IPv6 address needs brackets");
  EXPECT_EQ(named_error("198.18.1.1", true), form + "'198.18.1.1'");
  EXPECT_EQ(named_error("7", true), form + "'7'");
  EXPECT_EQ(named_error("198.18.1.1:0", true), form + "'198.18.1.1:0': the port must be 1..65535");
  EXPECT_EQ(named_error("[2001:db8::1]:0", true), form + "'[2001:db8::1]:0': the port must be 1..65535");
  EXPECT_EQ(named_error("[2001:db8::1]:65536", true), form + "'[2001:db8::1]:65536': bad address or port");
  EXPECT_EQ(named_error("[2001:db8::1]", true), form + "'[2001:db8::1]': bad address or port");
  EXPECT_EQ(named_error("[2001:db8::1:7", true), form + "'[2001:db8::1:7': bad address or port");
  EXPECT_EQ(named_error("[198.18.1.1]:7", true), form + "'[198.18.1.1]:7': bad address or port");
  EXPECT_EQ(named_error("c[2001:db8::1]:7", true), form + "'c[2001:db8::1]:7'");
  EXPECT_EQ(named_error(":198.18.1.1:7", true), form + "':198.18.1.1:7': bad port name");
  EXPECT_EQ(named_error(":[2001:db8::1]:7", true), form + "':[2001:db8::1]:7': bad port name");
  EXPECT_EQ(named_error("198.18.1.256:7", true), form + "'198.18.1.256:7': bad address or port");
  EXPECT_EQ(named_error("host.example:7", true), form + "'host.example:7': bad address or port");
  EXPECT_EQ(named_error("[ff02::1]:7", true), form + "'[ff02::1]:7': 'ff02::1' is not a unicast address");
  EXPECT_EQ(named_error("[::]:7", true), form + "'[::]:7': '::' is not a unicast address");
  EXPECT_EQ(named_error("0.0.0.0:7", true), form + "'0.0.0.0:7': '0.0.0.0' is not a unicast address");
  EXPECT_EQ(named_error("b:255.255.255.255:7", true), form + "'b:255.255.255.255:7': '255.255.255.255' is not a unicast address");
}

TEST(TargetEndpoint, EitherFamily) {
  std::string error;
  auto t = parse_target_endpoint("198.18.1.2:80", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->addr, addr("198.18.1.2"));
  EXPECT_EQ(t->port, 80);
  t = parse_target_endpoint("[2001:db8::2]:8080", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->addr, addr("2001:db8::2"));
  EXPECT_EQ(t->port, 8080);
  // What the tools print back is the same text (Endpoint::to_string).
  EXPECT_EQ(t->to_string(), "[2001:db8::2]:8080");
  t = parse_target_endpoint("127.0.0.1:9", error);  // the kernel backend's local runs
  ASSERT_TRUE(t) << error;
}

TEST(TargetEndpoint, BadForms_Rejected) {
  std::string error;
  EXPECT_FALSE(parse_target_endpoint("2001:db8::2:80", error));
  EXPECT_EQ(error, "expected ADDR:PORT or [IPV6]:PORT, got '2001:db8::2:80': an IPv6 address needs brackets");
  EXPECT_FALSE(parse_target_endpoint("1.2.3.4", error));
  EXPECT_EQ(error, "expected ADDR:PORT or [IPV6]:PORT, got '1.2.3.4': bad address or port");
  EXPECT_FALSE(parse_target_endpoint("b:1.2.3.4:80", error));
  EXPECT_EQ(error, "expected ADDR:PORT or [IPV6]:PORT, got 'b:1.2.3.4:80': bad address or port");
  EXPECT_FALSE(parse_target_endpoint("[2001:db8::2]:0", error));
  EXPECT_EQ(error, "expected ADDR:PORT or [IPV6]:PORT, got '[2001:db8::2]:0': the port must be 1..65535");
  EXPECT_FALSE(parse_target_endpoint("[ff02::1]:80", error));
  EXPECT_EQ(error, "expected ADDR:PORT or [IPV6]:PORT, got '[ff02::1]:80': 'ff02::1' is not a unicast address");
  EXPECT_FALSE(parse_target_endpoint("", error));
}

TEST(AddressRange, SingleAndRangeOfEitherFamily) {
  std::string error;
  auto r = parse_address_range("198.18.1.10", 65536, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->first, addr("198.18.1.10"));
  EXPECT_EQ(r->count, 1u);
  r = parse_address_range("198.18.1.10-198.18.1.41", 65536, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->first, addr("198.18.1.10"));
  EXPECT_EQ(r->count, 32u);
  r = parse_address_range("2001:db8::10-2001:db8::4f", 65536, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->first, addr("2001:db8::10"));
  EXPECT_EQ(r->count, 64u);
  // Carries across 16-bit groups within the low 64 bits.
  r = parse_address_range("2001:db8::ffff-2001:db8::1:fffe", 65536, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->count, 65536u);
  r = parse_address_range("2001:db8::1", 65536, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->count, 1u);
}

TEST(AddressRange, BadRanges_Rejected) {
  auto error_of = [](const char* text) {
    std::string error;
    return parse_address_range(text, 65536, error) ? std::string("accepted") : error;
  };
  const std::string expected = "expected A[-B] of one family with A <= B, at most 65536 addresses";
  EXPECT_EQ(error_of("198.18.1.41-198.18.1.10").find(expected), 0u);
  EXPECT_EQ(error_of("198.18.0.0-198.19.0.0").find(expected), 0u);  // 65537
  EXPECT_EQ(error_of("198.18.1.1-2001:db8::1").find(expected), 0u);
  EXPECT_EQ(error_of("2001:db8::1-198.18.1.1").find(expected), 0u);
  EXPECT_EQ(error_of("2001:db8::4f-2001:db8::10").find(expected), 0u);
  EXPECT_EQ(error_of("2001:db8::-2001:db8::1:0").find(expected), 0u);  // 65537
  EXPECT_EQ(error_of("2001:db8::1-2001:db8:0:1::1").find(expected), 0u);  // another /64
  EXPECT_EQ(error_of("2001:db8::1-"), "bad IPv4 or IPv6 address in '2001:db8::1-'");
  EXPECT_EQ(error_of("-198.18.1.1"), "bad IPv4 or IPv6 address in '-198.18.1.1'");
  EXPECT_EQ(error_of("host"), "bad IPv4 or IPv6 address in 'host'");
  EXPECT_EQ(error_of("[2001:db8::1]"), "bad IPv4 or IPv6 address in '[2001:db8::1]'");
  EXPECT_EQ(error_of("0.0.0.0"), "'0.0.0.0' is not a source address");
  EXPECT_EQ(error_of("::"), "'::' is not a source address");
  EXPECT_EQ(error_of("ff02::1-ff02::2"), "'ff02::1' is not a source address");
  EXPECT_EQ(error_of("224.0.0.1"), "'224.0.0.1' is not a source address");
}

TEST(ListenAddress, EitherFamilyAndTheWildcards) {
  std::string error;
  EXPECT_EQ(parse_listen_address("::", error), wire::IpAddr{});
  EXPECT_EQ(parse_listen_address("0.0.0.0", error), wire::IpAddr(wire::Ipv4Addr{}));
  EXPECT_EQ(parse_listen_address("2001:db8::1", error), addr("2001:db8::1"));
  EXPECT_EQ(parse_listen_address("198.18.1.1", error), addr("198.18.1.1"));
  EXPECT_FALSE(parse_listen_address("[::]", error));
  EXPECT_EQ(error, "expected an IPv4 or IPv6 unicast address (or 0.0.0.0, ::), got '[::]'");
  EXPECT_FALSE(parse_listen_address("ff02::1", error));
  EXPECT_FALSE(parse_listen_address("", error));
}

}  // namespace
}  // namespace dtcp::tools
