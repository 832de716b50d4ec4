#include "wire/addr.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

#include "wire/bytes.hpp"

namespace dtcp::wire {
namespace {

TEST(Bytes, LoadStore_BigEndian) {
  std::byte buf[4]{};
  store_be16(buf, 0x1234);
  EXPECT_EQ(buf[0], std::byte{0x12});
  EXPECT_EQ(buf[1], std::byte{0x34});
  EXPECT_EQ(load_be16(buf), 0x1234);
  store_be32(buf, 0xdeadbeef);
  EXPECT_EQ(buf[0], std::byte{0xde});
  EXPECT_EQ(buf[3], std::byte{0xef});
  EXPECT_EQ(load_be32(buf), 0xdeadbeefu);
}

TEST(MacAddr, Parse_Valid_RoundTrips) {
  const auto mac = MacAddr::parse("0A:1b:2C:3d:4E:5f");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}));
  EXPECT_EQ(mac->to_string(), "0a:1b:2c:3d:4e:5f");
  EXPECT_EQ(MacAddr::parse(mac->to_string()), mac);
}

TEST(MacAddr, Parse_Malformed_Rejected) {
  for (const char* text : {"", "00:11:22:33:44", "00:11:22:33:44:55:", "00:11:22:33:44:5", "00-11-22-33-44-55",
                           "00:11:22:33:44:g5", "0:11:22:33:44:555", " 00:11:22:33:44:55", "001122334455"}) {
    EXPECT_FALSE(MacAddr::parse(text)) << text;
  }
}

TEST(MacAddr, BroadcastMulticastZero_Classified) {
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_TRUE(MacAddr{}.is_zero());
  EXPECT_FALSE(MacAddr{}.is_multicast());
  const auto ipv4_mcast = *MacAddr::parse("01:00:5e:00:00:01");
  EXPECT_TRUE(ipv4_mcast.is_multicast());
  EXPECT_FALSE(ipv4_mcast.is_broadcast());
  const auto unicast = *MacAddr::parse("02:00:00:00:00:01");
  EXPECT_FALSE(unicast.is_multicast());
  EXPECT_FALSE(unicast.is_zero());
  static_assert(MacAddr::broadcast().bytes[5] == 0xff);
}

TEST(Ipv4Addr, Parse_Valid_RoundTrips) {
  const auto addr = Ipv4Addr::parse("198.18.0.1");
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->value, 0xc6120001u);
  EXPECT_EQ(addr->to_string(), "198.18.0.1");
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0")->value, 0u);
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255")->value, 0xffffffffu);
  EXPECT_EQ(*Ipv4Addr::parse("10.0.200.9"), Ipv4Addr::from_octets(10, 0, 200, 9));
}

TEST(Ipv4Addr, Parse_Malformed_Rejected) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "256.0.0.1", "1.2.3.04",
                           "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.1000", "a.b.c.d", "1.2.3.-4", "1234.1.1.1"}) {
    EXPECT_FALSE(Ipv4Addr::parse(text)) << text;
  }
}

TEST(Ipv4Addr, SpecialRanges_Classified) {
  static_assert(Ipv4Addr{}.is_unspecified());
  static_assert(Ipv4Addr{0xffffffff}.is_broadcast());
  static_assert(Ipv4Addr::from_octets(224, 0, 0, 1).is_multicast());
  static_assert(Ipv4Addr::from_octets(239, 255, 255, 255).is_multicast());
  static_assert(!Ipv4Addr::from_octets(240, 0, 0, 1).is_multicast());
  static_assert(Ipv4Addr::from_octets(127, 0, 0, 1).is_loopback());
  static_assert(!Ipv4Addr::from_octets(128, 0, 0, 1).is_loopback());
  static_assert(Ipv4Addr::from_octets(10, 0, 0, 1) < Ipv4Addr::from_octets(10, 0, 0, 2));
}

TEST(Addr, Hash_UsableInUnorderedSet) {
  std::unordered_set<Ipv4Addr> ips{Ipv4Addr{1}, Ipv4Addr{2}, Ipv4Addr{1}};
  EXPECT_EQ(ips.size(), 2u);
  std::unordered_set<MacAddr> macs{MacAddr{}, MacAddr::broadcast(), MacAddr{}};
  EXPECT_EQ(macs.size(), 2u);
}

// ---- IPv6 (RFC 4291 §2.2 input, RFC 5952 output) ----

Ipv6Addr v6(const char* text) {
  const auto a = Ipv6Addr::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(Ipv6Addr{});
}

TEST(Ipv6Addr, Parse_Bytes) {
  EXPECT_EQ(v6("2001:db8::1").bytes,
            (std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(v6("::").bytes, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(v6("1:2:3:4:5:6:7:8").group(7), 8);
  EXPECT_EQ(v6("::ffff:198.18.0.1").bytes,
            (std::array<uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1}));
  EXPECT_EQ(v6("1:2:3:4:5:6:1.2.3.4"), v6("1:2:3:4:5:6:102:304"));
  EXPECT_EQ(v6("ABCD::EF"), v6("abcd::ef"));
}

TEST(Ipv6Addr, ToString_Rfc5952Canonical) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},  // §4.1 leading zeros, §4.2.1 "::"
           {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},              // §4.2.3 equal runs: the first
           {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},                    // §4.2.3 the longest run
           {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},           // §4.2.2 one zero group stays
           {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
           {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
           {"FE80::ABCD", "fe80::abcd"},                                // §4.3 lower case
           {"::", "::"},
           {"::1", "::1"},
           {"1::", "1::"},
           {"ff02::1:ff00:2", "ff02::1:ff00:2"},
           {"::ffff:198.18.0.1", "::ffff:198.18.0.1"},  // §5 mapped addresses end in a dotted quad
           {"::ffff:c612:1", "::ffff:198.18.0.1"},
           {"::198.18.0.1", "::c612:1"},  // deprecated IPv4-compatible form: plain hex
       }) {
    const auto a = Ipv6Addr::parse(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(a->to_string(), c.out) << c.in;
    EXPECT_EQ(Ipv6Addr::parse(a->to_string()), a) << c.in;
  }
}

TEST(Ipv6Addr, Parse_Malformed_Rejected) {
  for (const char* text : {"", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::",
                           "g::", "1:", ":1", "1::2:", "::1.2.3", "1.2.3.4", "::1.2.3.4:5", "fe80::1%eth0",
                           "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", " ::1", "::1 ", "1:2:3:4:5:6:7:1.2.3.4",
                           "::256.0.0.1", "[::1]"}) {
    EXPECT_FALSE(Ipv6Addr::parse(text)) << text;
  }
}

TEST(Ipv6Addr, SpecialRanges_Classified) {
  EXPECT_TRUE(Ipv6Addr{}.is_unspecified());
  EXPECT_TRUE(v6("::1").is_loopback());
  EXPECT_FALSE(v6("::2").is_loopback());
  EXPECT_TRUE(v6("ff02::1").is_multicast());
  EXPECT_EQ(v6("ff02::1").multicast_scope(), 2);
  EXPECT_EQ(v6("ff0e::1").multicast_scope(), 0xe);
  EXPECT_TRUE(v6("fe80::1").is_link_local());
  EXPECT_TRUE(v6("febf::1").is_link_local());
  EXPECT_FALSE(v6("fec0::1").is_link_local());
  EXPECT_TRUE(v6("::ffff:1.2.3.4").is_v4_mapped());
  EXPECT_FALSE(v6("::1.2.3.4").is_v4_mapped());
  EXPECT_EQ(Ipv6Addr::all_nodes(), v6("ff02::1"));
  EXPECT_EQ(Ipv6Addr::all_routers(), v6("ff02::2"));
}

TEST(Ipv6Addr, SolicitedNode_Rfc4291Section2_7_1) {
  // The low 24 bits appended to ff02::1:ff00:0/104.
  EXPECT_EQ(v6("2001:db8::1:2345:6789").solicited_node(), v6("ff02::1:ff45:6789"));
  EXPECT_EQ(v6("fe80::ff:fe00:1").solicited_node(), v6("ff02::1:ff00:1"));
  // RFC 2464 §7: 33:33 and the group's low 32 bits.
  EXPECT_EQ(v6("ff02::1:ff45:6789").multicast_mac(), *MacAddr::parse("33:33:ff:45:67:89"));
  EXPECT_EQ(Ipv6Addr::all_nodes().multicast_mac(), *MacAddr::parse("33:33:00:00:00:01"));
}

TEST(Ipv6Addr, LinkLocalFromMac_ModifiedEui64) {
  // RFC 4291 appendix A: ff:fe in the middle and the universal/local bit inverted.
  EXPECT_EQ(Ipv6Addr::link_local_from_mac(*MacAddr::parse("00:1b:21:3a:4f:5c")).to_string(),
            "fe80::21b:21ff:fe3a:4f5c");
  EXPECT_EQ(Ipv6Addr::link_local_from_mac(*MacAddr::parse("02:00:00:00:00:01")).to_string(), "fe80::ff:fe00:1");
}

TEST(Ipv6Addr, Masked_KeepsPrefixBits) {
  const auto a = v6("2001:db8:abcd:1234:ffff::1");
  EXPECT_EQ(a.masked(128), a);
  EXPECT_EQ(a.masked(64), v6("2001:db8:abcd:1234::"));
  EXPECT_EQ(a.masked(48), v6("2001:db8:abcd::"));
  EXPECT_EQ(a.masked(60), v6("2001:db8:abcd:1230::"));
  EXPECT_EQ(a.masked(0), Ipv6Addr{});
  EXPECT_EQ(v6("ffff::").masked(1), v6("8000::"));
  EXPECT_EQ(v6("ffff::").masked(15), v6("fffe::"));
}

TEST(Ipv6Addr, Plus_CarriesAcrossHalves) {
  EXPECT_EQ(v6("2001:db8::ff").plus(1), v6("2001:db8::100"));
  EXPECT_EQ(v6("::ffff:ffff:ffff:ffff").plus(1), v6("0:0:0:1::"));
  EXPECT_EQ(v6("::ffff:ffff:ffff:fffe").plus(3), v6("0:0:0:1::1"));
  EXPECT_EQ(v6("2001:db8::1").plus(0), v6("2001:db8::1"));
}

TEST(IpAddr, EitherFamily_ParseAndToString) {
  const auto v4 = IpAddr::parse("198.18.0.1");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->family(), IpFamily::v4);
  EXPECT_EQ(v4->v4(), Ipv4Addr::from_octets(198, 18, 0, 1));
  EXPECT_EQ(v4->to_string(), "198.18.0.1");
  EXPECT_EQ(IpAddr::parse("::ffff:198.18.0.1"), v4);  // the mapped text is the IPv4 address
  const auto a6 = IpAddr::parse("2001:db8::1");
  ASSERT_TRUE(a6);
  EXPECT_TRUE(a6->is_v6());
  EXPECT_FALSE(a6->is_v4());
  EXPECT_EQ(a6->to_string(), "2001:db8::1");
  EXPECT_EQ(a6->v6(), v6("2001:db8::1"));
  EXPECT_FALSE(IpAddr::parse("::198.18.0.1")->is_v4());  // IPv4-compatible is not mapped
  EXPECT_FALSE(IpAddr::parse("1.2.3"));
  EXPECT_FALSE(IpAddr::parse("::g"));
}

// The conversion stores two words at run time and bytes in a constant expression: both must give
// the RFC 4291 §2.5.5.2 layout, ::ffff:a.b.c.d, and v4() must read the address back.
TEST(IpAddr, FromIpv4_MappedBytesAtRunTimeAndCompileTime) {
  constexpr IpAddr at_compile_time(Ipv4Addr::from_octets(198, 18, 7, 201));
  const std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 7, 201};
  EXPECT_EQ(at_compile_time.bytes, mapped);
  volatile uint32_t value = Ipv4Addr::from_octets(198, 18, 7, 201).value;  // no constant folding
  const IpAddr at_run_time(Ipv4Addr{value});
  EXPECT_EQ(at_run_time.bytes, mapped);
  EXPECT_EQ(at_run_time, at_compile_time);
  EXPECT_EQ(at_run_time.v4(), Ipv4Addr::from_octets(198, 18, 7, 201));
  EXPECT_EQ(IpAddr(v6("::ffff:10.1.2.3")).v4(), Ipv4Addr::from_octets(10, 1, 2, 3));
  for (const uint32_t v : {0u, 1u, 0x80000000u, 0xc6120001u, 0xffffffffu}) {
    volatile uint32_t in = v;
    const IpAddr a(Ipv4Addr{in});
    EXPECT_TRUE(a.is_v4()) << v;
    EXPECT_EQ(a.v4().value, v);
    EXPECT_EQ(a.to_string(), Ipv4Addr{v}.to_string());
  }
}

TEST(IpAddr, UnspecifiedAndUnusable_BothFamilies) {
  EXPECT_TRUE(IpAddr{}.is_unspecified());
  EXPECT_TRUE(IpAddr{}.is_v6());
  EXPECT_TRUE(IpAddr(Ipv4Addr{}).is_unspecified());
  EXPECT_TRUE(IpAddr(Ipv4Addr{}).is_v4());
  EXPECT_NE(IpAddr{}, IpAddr(Ipv4Addr{}));
  EXPECT_TRUE(IpAddr(Ipv4Addr{0xffffffff}).is_unusable_peer());
  EXPECT_TRUE(IpAddr(v6("ff02::1")).is_unusable_peer());
  EXPECT_TRUE(IpAddr(v6("ff02::1")).is_multicast());
  EXPECT_FALSE(IpAddr(v6("2001:db8::1")).is_unusable_peer());
  EXPECT_TRUE(IpAddr(v6("::1")).is_loopback());
  EXPECT_TRUE(IpAddr(Ipv4Addr::from_octets(127, 0, 0, 1)).is_loopback());
  std::unordered_set<IpAddr> set{IpAddr(v6("::1")), IpAddr(Ipv4Addr{1}), IpAddr(v6("::1"))};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace dtcp::wire
