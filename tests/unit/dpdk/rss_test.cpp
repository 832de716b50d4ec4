// The table-driven Toeplitz hash must equal what NICs compute: Microsoft's RSS verification
// vectors (as reproduced in the Intel 82599 datasheet 7.1.2.8.3 and DPDK's app/test/test_thash.c)
// and DPDK's own software implementations, rte_softrss and rte_softrss_be, on random keys and
// tuples, for IPv4 and IPv6. Then the symmetric key, the RETA, and the frame classifiers on
// golden frames of either family.
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_thash.h>

#include <array>
#include <cstddef>
#include <cstring>
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

// The same page's IPv6 part (also DPDK's app/test/test_thash.c v6_tbl): source, destination,
// ports and the expected hashes over the 36-byte TCP input.
struct Vector6 {
  const char* dst;
  const char* src;
  uint16_t dst_port, src_port;
  uint32_t hash_l3l4;
};
constexpr std::array<Vector6, 3> kVectors6{{
    {"3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794, 0x40207d3d},
    {"ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 38024, 44251, 0x02d1feef},
}};

wire::Ipv6Addr v6(const char* text) {
  const auto a = wire::Ipv6Addr::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(wire::Ipv6Addr{});
}

TEST(Toeplitz, MicrosoftIpv6Vectors_MatchPublishedHashes) {
  const ToeplitzHash hash(kMicrosoftKey);
  for (const auto& v : kVectors6) {
    EXPECT_EQ(hash.ipv6_tcp(v6(v.src), v6(v.dst), v.src_port, v.dst_port), v.hash_l3l4) << v.src;
  }
}

// DPDK's rte_softrss over the IPv6 TCP tuple as drivers build it: the addresses loaded from an
// IPv6 header by rte_thash_load_v6_addrs (host-order words), the ports in host order.
uint32_t dpdk_softrss6(const std::vector<uint8_t>& key, const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst,
                       uint16_t sport, uint16_t dport) {
  rte_ipv6_hdr header{};
  std::memcpy(header.src_addr, src.bytes.data(), 16);
  std::memcpy(header.dst_addr, dst.bytes.data(), 16);
  rte_thash_tuple tuple{};
  rte_thash_load_v6_addrs(&header, &tuple);
  tuple.v6.sport = sport;
  tuple.v6.dport = dport;
  return rte_softrss(reinterpret_cast<uint32_t*>(&tuple), RTE_THASH_V6_L4_LEN, key.data());
}

wire::Ipv6Addr random_v6(std::mt19937_64& rng) {
  wire::Ipv6Addr a;
  const uint64_t hi = rng(), lo = rng();
  std::memcpy(a.bytes.data(), &hi, 8);
  std::memcpy(a.bytes.data() + 8, &lo, 8);
  return a;
}

TEST(Toeplitz, Ipv6RandomKeysAndTuples_EqualRteSoftrss) {
  std::mt19937_64 rng(20261202);
  // 40 bytes (most NICs) and 52 (some Intel and Mellanox parts): the hash reads the first 40.
  for (const size_t key_len : {size_t{40}, size_t{52}}) {
    for (int k = 0; k < 10; k++) {
      std::vector<uint8_t> key(key_len);
      for (auto& b : key) b = static_cast<uint8_t>(rng());
      const ToeplitzHash hash(key);
      for (int i = 0; i < 500; i++) {
        const wire::Ipv6Addr src = random_v6(rng), dst = random_v6(rng);
        const auto sport = static_cast<uint16_t>(rng());
        const auto dport = static_cast<uint16_t>(rng());
        ASSERT_EQ(hash.ipv6_tcp(src, dst, sport, dport), dpdk_softrss6(key, src, dst, sport, dport))
            << "key length " << key_len << " key " << k << " tuple " << i;
      }
    }
  }
  // Microsoft's and the symmetric key too, on the published tuples' addresses.
  for (const auto& key : {kMicrosoftKey, symmetric_rss_key()}) {
    const ToeplitzHash hash(key);
    for (const auto& v : kVectors6) {
      EXPECT_EQ(hash.ipv6_tcp(v6(v.src), v6(v.dst), v.src_port, v.dst_port),
                dpdk_softrss6(key, v6(v.src), v6(v.dst), v.src_port, v.dst_port));
    }
  }
}

// 16..39 bytes cover the IPv4 input but not the 36-byte IPv6 one (plus the 32-bit window):
// IPv6 flows all hash to 0 rather than reading past the key.
TEST(Toeplitz, KeyTooShortForIpv6_HashIsZero) {
  const std::vector<uint8_t> key(kMicrosoftKey.begin(), kMicrosoftKey.begin() + 39);
  const ToeplitzHash hash(key);
  for (const auto& v : kVectors6) EXPECT_EQ(hash.ipv6_tcp(v6(v.src), v6(v.dst), v.src_port, v.dst_port), 0u);
  // IPv4 still hashes as with the whole key.
  for (const auto& v : kVectors) EXPECT_EQ(hash.ipv4_tcp(v.src, v.dst, v.src_port, v.dst_port), v.hash_l3l4);
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

TEST(SymmetricKey, BothDirectionsOfAnIpv6Connection_HashTheSame) {
  const ToeplitzHash hash(symmetric_rss_key());
  const ToeplitzHash microsoft(kMicrosoftKey);
  std::mt19937_64 rng(11);
  int asymmetric_with_microsoft_key = 0;
  for (int i = 0; i < 2000; i++) {
    const wire::Ipv6Addr a = random_v6(rng), b = random_v6(rng);
    const auto pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
    ASSERT_EQ(hash.ipv6_tcp(a, b, pa, pb), hash.ipv6_tcp(b, a, pb, pa)) << i;
    asymmetric_with_microsoft_key += microsoft.ipv6_tcp(a, b, pa, pb) != microsoft.ipv6_tcp(b, a, pb, pa);
  }
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

TEST(RssMap, QueueOfTcpFlow_HashesEachFamilyWithItsInput) {
  const RssMap map(kMicrosoftKey, build_reta(128, 4, {}));
  for (const auto& v : kVectors) {
    EXPECT_EQ(map.queue_of(TcpFlow{.src = wire::Ipv4Addr{v.src}, .dst = wire::Ipv4Addr{v.dst}, .src_port = v.src_port,
                                   .dst_port = v.dst_port}),
              (v.hash_l3l4 & 127) % 4);
  }
  for (const auto& v : kVectors6) {
    EXPECT_EQ(map.queue_of(TcpFlow{.src = v6(v.src), .dst = v6(v.dst), .src_port = v.src_port, .dst_port = v.dst_port}),
              (v.hash_l3l4 & 127) % 4)
        << v.src;
  }
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

// --- tcp_flow: either family -----------------------------------------------------------------
// No scapy here: built with Python's struct by the layout of RFC 8200 §3 and RFC 9293 §3.1,
// Ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02, type 0x86dd) / IPv6(src=2001:db8::2,
// dst=2001:db8::1, hlim=64) / TCP(sport=40000, dport=80, flags=S, seq=1000, window=65535),
// the TCP checksum over the RFC 8200 §8.1 pseudo-header (0xb3f5).
const auto kTcp6Syn = bytes({
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,  // Ethernet
    0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40,                                      // next header 6
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff,
    0xb3, 0xf5, 0x00, 0x00});
// The same segment behind an 8-byte hop-by-hop options header (next header 0; the extension
// says 6, then a PadN option of 4 bytes).
const auto kTcp6SynHopByHop = bytes({
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x40,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff,
    0xb3, 0xf5, 0x00, 0x00});
constexpr size_t kIpv6PortsEnd = 14 + 40 + 4;

TEST(TcpFlow, Ipv6TcpRightAfterTheHeader_FlowInReceiveDirection) {
  const auto flow = tcp_flow(kTcp6Syn);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(flow->src.is_v6());
  EXPECT_EQ(flow->src.to_string(), "2001:db8::2");
  EXPECT_EQ(flow->dst.to_string(), "2001:db8::1");
  EXPECT_EQ(flow->src_port, 40000);
  EXPECT_EQ(flow->dst_port, 80);
  // The queue the classifier picks is the one the hash of that tuple names.
  const RssMap map(symmetric_rss_key(), build_reta(128, 4, {}));
  const ToeplitzHash hash(symmetric_rss_key());
  EXPECT_EQ(map.queue_of(*flow),
            (hash.ipv6_tcp(v6("2001:db8::2"), v6("2001:db8::1"), 40000, 80) & 127) % 4);
}

// RFC 8200 §4: the same connection's segment behind extension headers is steered to the same
// owner; a shard that does not own it would answer with a RST.
TEST(TcpFlow, Ipv6BehindHopByHop_SameFlowAsWithout) {
  const auto plain = tcp_flow(kTcp6Syn);
  const auto behind = tcp_flow(kTcp6SynHopByHop);
  ASSERT_TRUE(plain);
  ASSERT_TRUE(behind);
  EXPECT_EQ(behind->src, plain->src);
  EXPECT_EQ(behind->dst, plain->dst);
  EXPECT_EQ(behind->src_port, 40000);
  EXPECT_EQ(behind->dst_port, 80);
}

// Hop-by-hop (0), then destination options (60), then routing with no segments left (43),
// each 8 bytes, then the same TCP header: the ports are found 24 bytes further on.
TEST(TcpFlow, Ipv6BehindThreeExtensionHeaders_PortsFound) {
  auto frame = kTcp6SynHopByHop;
  const auto tail = std::vector<std::byte>(frame.begin() + 14 + 48, frame.end());
  frame.resize(14 + 40);
  const auto add = [&](std::initializer_list<uint8_t> b) {
    for (uint8_t x : b) frame.push_back(std::byte{x});
  };
  add({60, 0, 0x01, 0x04, 0, 0, 0, 0});  // hop-by-hop: next 60, PadN
  add({43, 0, 0x01, 0x04, 0, 0, 0, 0});  // destination options: next 43, PadN
  add({6, 0, 0, 0, 0, 0, 0, 0});         // routing type 0, segments left 0: next 6
  frame.insert(frame.end(), tail.begin(), tail.end());
  frame[14 + 5] = std::byte{0x2c};  // payload length 24 + 20
  const auto flow = tcp_flow(frame);
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->src_port, 40000);
  EXPECT_EQ(flow->dst_port, 80);
  // Cut inside the TCP ports: no flow.
  EXPECT_FALSE(tcp_flow(std::span(frame).first(14 + 40 + 24 + 3)));
  EXPECT_TRUE(tcp_flow(std::span(frame).first(14 + 40 + 24 + 4)));
}

TEST(TcpFlow, Ipv6NotTcp_OrBehindAFragmentOrTooManyHeaders_LeftOnTheReceivingQueue) {
  auto udp = kTcp6Syn;
  udp[14 + 6] = std::byte{17};
  EXPECT_FALSE(tcp_flow(udp));
  auto icmp6 = kTcp6Syn;
  icmp6[14 + 6] = std::byte{58};
  EXPECT_FALSE(tcp_flow(icmp6));
  auto udp_behind = kTcp6SynHopByHop;
  udp_behind[14 + 40] = std::byte{17};
  EXPECT_FALSE(tcp_flow(udp_behind));
  auto fragment = kTcp6SynHopByHop;
  fragment[14 + 6] = std::byte{44};  // a fragment header where the hop-by-hop one was
  EXPECT_FALSE(tcp_flow(fragment));
  auto hbh_later = kTcp6SynHopByHop;
  hbh_later[14 + 6] = std::byte{60};
  hbh_later[14 + 40] = std::byte{0};  // hop-by-hop after destination options: not a valid chain
  EXPECT_FALSE(tcp_flow(hbh_later));
  // Nine destination-options headers: past the bound of 8.
  auto long_chain = std::vector<std::byte>(kTcp6Syn.begin(), kTcp6Syn.begin() + 14 + 40);
  long_chain[14 + 6] = std::byte{60};
  for (int i = 0; i < 9; i++) {
    for (uint8_t x : {uint8_t{60}, uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{0}, uint8_t{0}, uint8_t{0}, uint8_t{0}}) {
      long_chain.push_back(std::byte{x});
    }
  }
  long_chain[long_chain.size() - 8] = std::byte{6};
  long_chain.insert(long_chain.end(), kTcp6Syn.begin() + 14 + 40, kTcp6Syn.end());
  EXPECT_FALSE(tcp_flow(long_chain));
}

TEST(TcpFlow, Ipv6TruncatedBeforeThePorts_Rejected) {
  for (size_t len = 0; len < kIpv6PortsEnd; len++) {
    EXPECT_FALSE(tcp_flow(std::span(kTcp6Syn).first(len))) << len;
  }
  EXPECT_TRUE(tcp_flow(std::span(kTcp6Syn).first(kIpv6PortsEnd)));
}

TEST(TcpFlow, Ipv6BadVersion_Rejected) {
  auto v4_in_v6 = kTcp6Syn;
  v4_in_v6[14] = std::byte{0x40};  // EtherType says IPv6, the header says 4
  EXPECT_FALSE(tcp_flow(v4_in_v6));
}

// For IPv4 frames tcp_flow says what ipv4_tcp_flow says, at every length.
TEST(TcpFlow, Ipv4Frames_SameAsIpv4TcpFlow) {
  for (const auto* frame : {&kTcpSyn, &kTcpSynIpOptions, &kTcpFragment, &kUdp}) {
    for (size_t len = 0; len <= frame->size(); len++) {
      SCOPED_TRACE(len);
      const auto span = std::span(*frame).first(len);
      const auto v4 = ipv4_tcp_flow(span);
      const auto either = tcp_flow(span);
      ASSERT_EQ(v4.has_value(), either.has_value());
      if (!v4) continue;
      EXPECT_TRUE(either->src.is_v4());
      EXPECT_EQ(either->src.v4().value, v4->src);
      EXPECT_EQ(either->dst.v4().value, v4->dst);
      EXPECT_EQ(either->src_port, v4->src_port);
      EXPECT_EQ(either->dst_port, v4->dst_port);
    }
  }
}

}  // namespace
}  // namespace dtcp::dpdk
