// The table-driven Toeplitz hash must equal what NICs compute: Microsoft's RSS verification
// vectors (as reproduced in the Intel 82599 datasheet 7.1.2.8.3 and DPDK's app/test/test_thash.c)
// and DPDK's own software implementations, rte_softrss and rte_softrss_be, on random keys and
// tuples. Then the symmetric key, the RETA, and the frame classifier on golden frames.
#include <gtest/gtest.h>
#include <rte_thash.h>

#include <array>
#include <cstddef>
#include <random>
#include <vector>

#include "dpdk/rss.hpp"

namespace dtcp::dpdk {
namespace {

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

// Microsoft's default key (the one the verification suite uses).
const std::vector<uint8_t> kMicrosoftKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct Vector {
  uint32_t dst, src;
  uint16_t dst_port, src_port;
  uint32_t hash_l3, hash_l3l4;
};
// "Verifying the RSS Hash Calculation" (Microsoft), IPv4 part.
constexpr std::array<Vector, 5> kVectors{{
    {ip(161, 142, 100, 80), ip(66, 9, 149, 187), 1766, 2794, 0x323e8fc2, 0x51ccc178},
    {ip(65, 69, 140, 83), ip(199, 92, 111, 2), 4739, 14230, 0xd718262a, 0xc626b0ea},
    {ip(12, 22, 207, 184), ip(24, 19, 198, 95), 38024, 12898, 0xd2d0a5de, 0x5c2b394a},
    {ip(209, 142, 163, 6), ip(38, 27, 205, 30), 2217, 48228, 0x82989176, 0xafc7327f},
    {ip(202, 188, 127, 2), ip(153, 39, 163, 191), 1303, 44251, 0x5d1809c5, 0x10e828a2},
}};

TEST(Toeplitz, MicrosoftVectors_MatchPublishedHashes) {
  const ToeplitzHash hash(kMicrosoftKey);
  for (const auto& v : kVectors) {
    EXPECT_EQ(hash.ipv4(v.src, v.dst), v.hash_l3);
    EXPECT_EQ(hash.ipv4_tcp(v.src, v.dst, v.src_port, v.dst_port), v.hash_l3l4);
  }
}

// DPDK's rte_softrss over the same tuple layout NIC drivers use (host-order words).
uint32_t dpdk_softrss(const std::vector<uint8_t>& key, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      bool l4) {
  rte_thash_tuple tuple{};
  tuple.v4.src_addr = src;
  tuple.v4.dst_addr = dst;
  tuple.v4.sport = sport;
  tuple.v4.dport = dport;
  return rte_softrss(reinterpret_cast<uint32_t*>(&tuple), l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN, key.data());
}

TEST(Toeplitz, RandomKeysAndTuples_EqualRteSoftrssAndSoftrssBe) {
  std::mt19937_64 rng(20221105);
  for (int k = 0; k < 20; k++) {
    std::vector<uint8_t> key(40);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    // rte_softrss_be wants the key as host-order words.
    std::vector<uint8_t> key_be(key.size());
    rte_convert_rss_key(reinterpret_cast<const uint32_t*>(key.data()), reinterpret_cast<uint32_t*>(key_be.data()),
                        static_cast<int>(key.size()));
    const ToeplitzHash hash(key);
    for (int i = 0; i < 500; i++) {
      const auto src = static_cast<uint32_t>(rng());
      const auto dst = static_cast<uint32_t>(rng());
      const auto sport = static_cast<uint16_t>(rng());
      const auto dport = static_cast<uint16_t>(rng());
      const uint32_t expected = dpdk_softrss(key, src, dst, sport, dport, true);
      ASSERT_EQ(hash.ipv4_tcp(src, dst, sport, dport), expected) << "key " << k << " tuple " << i;
      ASSERT_EQ(hash.ipv4(src, dst), dpdk_softrss(key, src, dst, sport, dport, false));
      rte_thash_tuple tuple{};
      tuple.v4.src_addr = src;
      tuple.v4.dst_addr = dst;
      tuple.v4.sport = sport;
      tuple.v4.dport = dport;
      ASSERT_EQ(rte_softrss_be(reinterpret_cast<uint32_t*>(&tuple), RTE_THASH_V4_L4_LEN, key_be.data()), expected);
    }
  }
}

TEST(Toeplitz, ShortKey_Rejected) {
  const std::vector<uint8_t> key(15, 0x6d);
  EXPECT_THROW(ToeplitzHash{key}, std::invalid_argument);
}

TEST(SymmetricKey, Is6d5aRepeatedToTheDeviceLength) {
  const auto key = symmetric_rss_key(52);
  ASSERT_EQ(key.size(), 52u);
  for (size_t i = 0; i < key.size(); i++) EXPECT_EQ(key[i], i % 2 ? 0x5a : 0x6d) << i;
  EXPECT_EQ(symmetric_rss_key().size(), 40u);
}

TEST(SymmetricKey, BothDirectionsOfAConnection_HashTheSame) {
  const ToeplitzHash hash(symmetric_rss_key());
  const ToeplitzHash microsoft(kMicrosoftKey);
  std::mt19937 rng(7);
  int asymmetric_with_microsoft_key = 0;
  for (int i = 0; i < 2000; i++) {
    const uint32_t a = rng(), b = rng();
    const auto pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
    ASSERT_EQ(hash.ipv4_tcp(a, b, pa, pb), hash.ipv4_tcp(b, a, pb, pa));
    ASSERT_EQ(hash.ipv4(a, b), hash.ipv4(b, a));
    asymmetric_with_microsoft_key += microsoft.ipv4_tcp(a, b, pa, pb) != microsoft.ipv4_tcp(b, a, pb, pa);
  }
  // The property is the key's, not the function's: the default key is not symmetric.
  EXPECT_GT(asymmetric_with_microsoft_key, 1900);
}

TEST(Reta, EmptyPattern_RoundRobinOverQueues) {
  const auto reta = build_reta(128, 3, {});
  ASSERT_EQ(reta.size(), 128u);
  for (size_t i = 0; i < reta.size(); i++) EXPECT_EQ(reta[i], i % 3);
}

TEST(Reta, Pattern_RepeatedOverTheTable) {
  const std::vector<uint16_t> pattern{1, 0, 0};
  const auto reta = build_reta(8, 2, pattern);
  EXPECT_EQ(reta, (std::vector<uint16_t>{1, 0, 0, 1, 0, 0, 1, 0}));
}

TEST(RssMap, QueueFromLowBitsOfHash) {
  std::vector<uint16_t> reta(128, 0);
  reta[5] = 3;
  const RssMap map(symmetric_rss_key(), reta);
  EXPECT_EQ(map.queue_of_hash(5), 3);
  EXPECT_EQ(map.queue_of_hash(128 * 1000 + 5), 3);
  EXPECT_EQ(map.queue_of_hash(6), 0);
}

TEST(RssMap, TableNotPowerOfTwo_Rejected) {
  EXPECT_THROW(RssMap(symmetric_rss_key(), std::vector<uint16_t>(100, 0)), std::invalid_argument);
  EXPECT_THROW(RssMap(symmetric_rss_key(), std::vector<uint16_t>{}), std::invalid_argument);
}

TEST(RssMap, QueueOf_UsesTheHashOfTheReceivedTuple) {
  const RssMap map(kMicrosoftKey, build_reta(128, 4, {}));
  for (const auto& v : kVectors) {
    EXPECT_EQ(map.queue_of(Ipv4TcpFlow{.src = v.src, .dst = v.dst, .src_port = v.src_port, .dst_port = v.dst_port}),
              (v.hash_l3l4 & 127) % 4);
  }
}

// --- classifier -------------------------------------------------------------------------------
// Frames produced with scapy: Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") /
// IP(src="198.18.0.2", dst="198.18.0.1", id=1) / TCP(sport=40000, dport=80, flags="S",
// seq=1000, window=65535), with the variations named per frame.

std::vector<std::byte> bytes(std::initializer_list<uint8_t> b) {
  std::vector<std::byte> out;
  for (uint8_t x : b) out.push_back(std::byte{x});
  return out;
}

const auto kTcpSyn = bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
                            0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0xee, 0xa7, 0xc6, 0x12,
                            0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8,
                            0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0x83, 0x42, 0x00, 0x00});
// IP(..., options=[b"\x01\x01\x01\x00"]): IHL 6, the ports 4 bytes later.
const auto kTcpSynIpOptions = bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08,
                                     0x00, 0x46, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0xeb, 0xa2,
                                     0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x9c,
                                     0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
                                     0xff, 0xff, 0x83, 0x42, 0x00, 0x00});
// IP(..., flags="MF"): a first fragment.
const auto kTcpFragment = bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
                                 0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x20, 0x00, 0x40, 0x06, 0xce, 0xa7, 0xc6, 0x12,
                                 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8,
                                 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0x83, 0x42, 0x00, 0x00});
// UDP(sport=40000, dport=80) instead of TCP.
const auto kUdp = bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
                         0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xee, 0xa8, 0xc6, 0x12,
                         0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x08, 0xd7, 0x25});

TEST(Classifier, TcpSegment_FlowInReceiveDirection) {
  const auto flow = ipv4_tcp_flow(kTcpSyn);
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->src, ip(198, 18, 0, 2));
  EXPECT_EQ(flow->dst, ip(198, 18, 0, 1));
  EXPECT_EQ(flow->src_port, 40000);
  EXPECT_EQ(flow->dst_port, 80);
}

TEST(Classifier, IpOptions_PortsAfterTheLongerHeader) {
  const auto flow = ipv4_tcp_flow(kTcpSynIpOptions);
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->src_port, 40000);
  EXPECT_EQ(flow->dst_port, 80);
}

TEST(Classifier, Fragment_LeftOnTheReceivingQueue) { EXPECT_FALSE(ipv4_tcp_flow(kTcpFragment)); }

TEST(Classifier, NotTcp_LeftOnTheReceivingQueue) { EXPECT_FALSE(ipv4_tcp_flow(kUdp)); }

TEST(Classifier, Arp_LeftOnTheReceivingQueue) {
  auto arp = kTcpSyn;
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_FALSE(ipv4_tcp_flow(arp));
}

TEST(Classifier, TruncatedBeforeThePorts_Rejected) {
  for (size_t len = 0; len < 14 + 20 + 4; len++) {
    EXPECT_FALSE(ipv4_tcp_flow(std::span(kTcpSyn).first(len))) << len;
  }
  EXPECT_TRUE(ipv4_tcp_flow(std::span(kTcpSyn).first(14 + 20 + 4)));
  // With IP options the ports start 4 bytes later.
  EXPECT_FALSE(ipv4_tcp_flow(std::span(kTcpSynIpOptions).first(14 + 24 + 3)));
}

TEST(Classifier, BadVersionOrIhl_Rejected) {
  auto v6 = kTcpSyn;
  v6[14] = std::byte{0x65};
  EXPECT_FALSE(ipv4_tcp_flow(v6));
  auto short_ihl = kTcpSyn;
  short_ihl[14] = std::byte{0x44};
  EXPECT_FALSE(ipv4_tcp_flow(short_ihl));
  auto long_ihl = kTcpSyn;
  long_ihl[14] = std::byte{0x4f};  // 60-byte header: the ports would lie beyond the frame
  EXPECT_FALSE(ipv4_tcp_flow(long_ihl));
}

}  // namespace
}  // namespace dtcp::dpdk
