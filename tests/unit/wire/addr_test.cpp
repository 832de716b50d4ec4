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

}  // namespace
}  // namespace dtcp::wire
