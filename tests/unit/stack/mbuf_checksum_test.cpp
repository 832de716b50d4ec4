// mbuf_checksum_accumulate over chains cut at every length, odd ones included, against RFC 1071's
// definition (word by word) and the sum of the same bytes laid out flat. Not against DPDK 22.11's
// rte_ipv4_udptcp_cksum_mbuf, which this replaced: it disagrees whenever a segment before the
// last has an odd length (rte_raw_cksum_mbuf truncates each segment's unfolded sum to 16 bits
// before byte-swapping it, dropping its carries), which is what this test found.
#include "stack/mbuf_checksum.hpp"

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <random>
#include <vector>

#include "stack_test_util.hpp"
#include "wire/bytes.hpp"

namespace dtcp::stack {
namespace {

using test::pool;

// An IPv4 header and `payload` bytes, cut into mbufs of the given lengths (the first holds the
// IPv4 header and the first cut).
rte_mbuf* chain(const std::vector<std::byte>& packet, const std::vector<size_t>& cuts) {
  rte_mbuf* head = nullptr;
  rte_mbuf* last = nullptr;
  size_t at = 0;
  for (size_t i = 0; at < packet.size(); i++) {
    const size_t n = std::min(i < cuts.size() ? cuts[i] : packet.size(), packet.size() - at);
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), packet.data() + at, n);
    at += n;
    if (head == nullptr) {
      head = m;
    } else {
      last->next = m;
      head->nb_segs++;
      head->pkt_len += static_cast<uint32_t>(n);
    }
    last = m;
  }
  return head;
}

TEST(MbufChecksum, ChainsCutAnywhere_MatchDpdkAndTheFlatSum) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; round++) {
    const size_t payload = rng() % 3000;
    std::vector<std::byte> packet(20 + payload);
    for (auto& b : packet) b = std::byte(static_cast<uint8_t>(rng()));
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(packet.data());
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(packet.size()));
    ip->next_proto_id = 6;
    ip->fragment_offset = 0;
    ip->src_addr = rte_cpu_to_be_32(0xc6120001);
    ip->dst_addr = rte_cpu_to_be_32(0xc6120002);
    std::vector<size_t> cuts;
    for (size_t left = packet.size(); left > 0;) {
      const size_t n = 20 + rng() % 700;  // the first cut keeps the IPv4 header whole
      cuts.push_back(n);
      left -= std::min(left, n);
    }
    rte_mbuf* m = chain(packet, cuts);
    const uint32_t pseudo = wire::pseudo_header_sum(wire::Ipv4Addr{0xc6120001}, wire::Ipv4Addr{0xc6120002}, 6,
                                                    static_cast<uint16_t>(payload));
    const uint16_t ours = wire::checksum_fold(mbuf_checksum_accumulate(m, 20, pseudo));
    const uint16_t flat = wire::checksum_fold(
        wire::checksum_accumulate({packet.data() + 20, payload}, pseudo));
    uint64_t naive = pseudo;  // RFC 1071 word by word, the definition
    for (size_t i = 20; i < packet.size(); i += 2)
      naive += uint32_t{std::to_integer<uint8_t>(packet[i])} << 8 |
               (i + 1 < packet.size() ? std::to_integer<uint8_t>(packet[i + 1]) : 0u);
    while (naive >> 16) naive = (naive & 0xffff) + (naive >> 16);
    EXPECT_EQ(ours, static_cast<uint16_t>(~naive)) << "round " << round;
    EXPECT_EQ(ours, flat) << "round " << round << " payload " << payload << " segments " << m->nb_segs;
    rte_pktmbuf_free(m);
  }
}

}  // namespace
}  // namespace dtcp::stack
