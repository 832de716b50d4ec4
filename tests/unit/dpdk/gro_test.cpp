// rte_gro on a receive burst (RxCoalescer): in-order TCP/IPv4 segments of a flow become one
// chained frame marked as LRO marks its frames; a segment rte_gro would not take (PSH, CE) stays
// where it was in its flow, nothing merges across it; a frame whose checksum fails is not merged
// and is left for the IP layer to count; other frames pass untouched.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>
#include <vector>

#include "dpdk/gro.hpp"
#include "wire/bytes.hpp"
#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp.hpp"

namespace dtcp::dpdk::test {
extern rte_mempool* g_pool;
namespace {

constexpr uint16_t kSeg = 1448;
const wire::Ipv4Addr kSrc = wire::Ipv4Addr::from_octets(198, 18, 0, 2);
const wire::Ipv4Addr kDst = wire::Ipv4Addr::from_octets(198, 18, 0, 1);

struct Spec {
  uint32_t seq = 1000;
  uint16_t len = kSeg;
  wire::TcpFlags flags = wire::TcpFlags::ack;
  uint8_t tos = 0;
  uint16_t src_port = 40000;
  bool corrupt = false;  // one payload byte changed after the checksum
};

// The payload byte at sequence number `seq`.
std::byte byte_at(uint32_t seq) { return std::byte(static_cast<uint8_t>(seq * 7 + 3)); }

rte_mbuf* frame(const Spec& s) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  EXPECT_NE(m, nullptr);
  const size_t tcp_len = 20 + s.len;
  auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + 20 + tcp_len)));
  wire::write_ethernet({p, 14}, wire::MacAddr{{2, 0, 0, 0, 0, 1}}, wire::MacAddr{{2, 0, 0, 0, 0, 2}},
                       static_cast<uint16_t>(wire::EtherType::ipv4));
  wire::write_ipv4({p + 14, 20}, wire::Ipv4Header{.src = kSrc, .dst = kDst, .protocol = 6, .identification = 1,
                                                  .dscp_ecn = s.tos, .payload_len = static_cast<uint16_t>(tcp_len)});
  wire::write_tcp_header({p + 34, 20}, wire::TcpHeader{.src_port = s.src_port, .dst_port = 80, .seq = s.seq,
                                                      .ack = 1, .flags = s.flags, .window = 1000});
  for (uint16_t i = 0; i < s.len; i++) p[54 + i] = byte_at(s.seq + i);
  wire::fill_tcp_checksum({p + 34, tcp_len}, wire::IpAddr(kSrc), wire::IpAddr(kDst));
  if (s.corrupt) p[54] ^= std::byte{1};
  return m;
}

uint32_t seq_of(const rte_mbuf* m) { return wire::load_be32(rte_pktmbuf_mtod_offset(m, const std::byte*, 38)); }

// The payload of a (possibly chained) frame with 54 bytes of headers.
std::vector<std::byte> payload_of(const rte_mbuf* m) {
  std::vector<std::byte> out;
  size_t skip = 54;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const auto* d = rte_pktmbuf_mtod(s, const std::byte*);
    out.insert(out.end(), d + skip, d + s->data_len);
    skip = 0;
  }
  return out;
}

class Gro : public ::testing::Test {
 protected:
  void TearDown() override {
    for (rte_mbuf* m : frames) rte_pktmbuf_free(m);
    EXPECT_EQ(g_pool->size - rte_mempool_avail_count(g_pool), 0u) << "mbufs leaked";
  }
  void run(std::initializer_list<Spec> specs, bool trust = false) {
    for (const Spec& s : specs) frames.push_back(frame(s));
    RxCoalescer gro(trust);
    frames.resize(gro.coalesce(frames.data(), static_cast<uint16_t>(frames.size()), counters));
  }
  std::vector<rte_mbuf*> frames;
  stack::NetCounters counters;
};

TEST_F(Gro, FourInOrderSegments_OneFrameMarkedLikeLro) {
  run({{.seq = 1000}, {.seq = 1000 + kSeg}, {.seq = 1000 + 2 * kSeg}, {.seq = 1000 + 3 * kSeg, .len = 100}});
  ASSERT_EQ(frames.size(), 1u);
  rte_mbuf* m = frames[0];
  EXPECT_EQ(m->nb_segs, 4);
  EXPECT_EQ(m->pkt_len, 54u + 3 * kSeg + 100);
  EXPECT_NE(m->ol_flags & RTE_MBUF_F_RX_LRO, 0u);
  EXPECT_EQ(m->tso_segsz, kSeg);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD) << "verified before merging";
  EXPECT_EQ(wire::load_be16(rte_pktmbuf_mtod_offset(m, const std::byte*, 16)), m->pkt_len - 14) << "IP total length";
  const auto payload = payload_of(m);
  ASSERT_EQ(payload.size(), 3u * kSeg + 100);
  for (size_t i = 0; i < payload.size(); i++) ASSERT_EQ(payload[i], byte_at(static_cast<uint32_t>(1000 + i))) << i;
  EXPECT_EQ(counters.rx_gro_merged, 3u);
  EXPECT_EQ(counters.rx_gro_coalesced, 1u);
}

TEST_F(Gro, PshSegmentInTheMiddle_StaysInItsPlace) {
  // rte_gro alone would put the PSH segment after everything it merged: after 1000+3*kSeg.
  run({{.seq = 1000},
       {.seq = 1000 + kSeg},
       {.seq = 1000 + 2 * kSeg, .flags = wire::TcpFlags::ack | wire::TcpFlags::psh},
       {.seq = 1000 + 3 * kSeg},
       {.seq = 1000 + 4 * kSeg}});
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(seq_of(frames[0]), 1000u);
  EXPECT_EQ(frames[0]->nb_segs, 2);
  EXPECT_EQ(seq_of(frames[1]), 1000u + 2 * kSeg);
  EXPECT_EQ(frames[1]->nb_segs, 1);
  EXPECT_EQ(seq_of(frames[2]), 1000u + 3 * kSeg);
  EXPECT_EQ(frames[2]->nb_segs, 2);
}

TEST_F(Gro, CeMarkedSegment_NotMergedAndKeepsItsMark) {
  run({{.seq = 1000, .tos = 0x02}, {.seq = 1000 + kSeg, .tos = 0x03}, {.seq = 1000 + 2 * kSeg, .tos = 0x02}});
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < 3; i++) {
    EXPECT_EQ(seq_of(frames[i]), 1000u + i * kSeg);
    EXPECT_EQ(frames[i]->nb_segs, 1);
  }
  EXPECT_EQ(std::to_integer<uint8_t>(*rte_pktmbuf_mtod_offset(frames[1], const std::byte*, 15)) & 3, 3);
  EXPECT_EQ(counters.rx_gro_merged, 0u);
}

TEST_F(Gro, BadTcpChecksum_NotMerged_LeftUnmarkedForTheIpLayer) {
  run({{.seq = 1000}, {.seq = 1000 + kSeg}, {.seq = 1000 + 2 * kSeg, .corrupt = true}});
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0]->nb_segs, 2);
  EXPECT_EQ(seq_of(frames[1]), 1000u + 2 * kSeg);
  EXPECT_EQ(frames[1]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, 0u) << "not marked good";
}

TEST_F(Gro, NetRingPeerChecksumPassedThrough_TrustedAndMerged) {
  // The corrupt bytes are not checked: a frame marked TX_TCP_CKSUM from the net_ring peer never
  // had its checksum computed (the Interface trusts it the same way).
  for (uint32_t i = 0; i < 2; i++) {
    frames.push_back(frame({.seq = 1000 + i * kSeg, .corrupt = true}));
    frames.back()->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
  }
  RxCoalescer gro(true);
  frames.resize(gro.coalesce(frames.data(), 2, counters));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]->nb_segs, 2);
  EXPECT_EQ(frames[0]->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM) << "still passed through";
}

TEST_F(Gro, TwoFlowsInterleaved_EachMergedWhole) {
  run({{.seq = 1000, .src_port = 1}, {.seq = 5000, .src_port = 2}, {.seq = 1000 + kSeg, .src_port = 1},
       {.seq = 5000 + kSeg, .src_port = 2}});
  ASSERT_EQ(frames.size(), 2u);
  for (rte_mbuf* m : frames) {
    EXPECT_EQ(m->nb_segs, 2);
    const uint32_t first = seq_of(m);
    const auto payload = payload_of(m);
    ASSERT_EQ(payload.size(), 2u * kSeg);
    for (size_t i = 0; i < payload.size(); i++) ASSERT_EQ(payload[i], byte_at(static_cast<uint32_t>(first + i)));
  }
}

TEST_F(Gro, PureAckAndNonTcpFrames_PassUntouchedInOrder) {
  run({{.seq = 1000, .len = 0}, {.seq = 1000}, {.seq = 1000 + kSeg}});
  rte_mbuf* arp = rte_pktmbuf_alloc(g_pool);
  auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(arp, 60));
  std::memset(p, 0, 60);
  wire::write_ethernet({p, 14}, wire::MacAddr{{2, 0, 0, 0, 0, 1}}, wire::MacAddr{{2, 0, 0, 0, 0, 2}},
                       static_cast<uint16_t>(wire::EtherType::arp));
  frames.push_back(arp);
  RxCoalescer gro(false);
  frames.resize(gro.coalesce(frames.data(), static_cast<uint16_t>(frames.size()), counters));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0]->pkt_len, 54u) << "the pure ACK first, as it came";
  EXPECT_EQ(frames[1]->nb_segs, 2);
  EXPECT_EQ(frames[2], arp);
}

}  // namespace
}  // namespace dtcp::dpdk::test
