#include "dpdk/gro.hpp"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_gro.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <algorithm>
#include <array>

#include "stack/mbuf_checksum.hpp"
#include "wire/checksum.hpp"

namespace dtcp::dpdk {

bool RxCoalescer::candidate(rte_mbuf* m) const {
  constexpr uint32_t kHeaders = RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr);
  // A net_ring peer's TSO super-segment (TX_TCP_SEG) is taken whole by the Interface already.
  if (m->next != nullptr || m->data_len < kHeaders || (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) return false;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return false;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, RTE_ETHER_HDR_LEN);
  // IPv4 with no options (rte_gro would merge datagrams whose options differ), not a fragment.
  if (ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_TCP ||
      (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0 ||
      (ip->type_of_service & 0x3) == 0x3) {
    return false;
  }
  const uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len > uint32_t{m->data_len} - RTE_ETHER_HDR_LEN) return false;
  const auto* tcp = rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr));
  const uint32_t tcp_header_len = static_cast<uint32_t>(tcp->data_off >> 4) * 4;
  if (tcp_header_len < sizeof(rte_tcp_hdr) || tcp->tcp_flags != RTE_TCP_ACK_FLAG ||
      ip_len <= sizeof(rte_ipv4_hdr) + tcp_header_len) {
    return false;
  }
  // The merged frame's headers are the first one's, with a new length: its checksums mean
  // nothing afterwards, so each part's are checked now.
  const uint64_t ip_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) return false;
  if (ip_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
      wire::internet_checksum({reinterpret_cast<const std::byte*>(ip), sizeof(rte_ipv4_hdr)}) != 0) {
    return false;
  }
  const uint64_t l4_flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  const bool passed_through =
      trust_tx_checksum_ && (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
  if (l4_flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !passed_through) {
    const uint32_t tcp_len = ip_len - sizeof(rte_ipv4_hdr);
    const uint32_t pseudo = wire::pseudo_header_sum(
        wire::Ipv4Addr{rte_be_to_cpu_32(ip->src_addr)}, wire::Ipv4Addr{rte_be_to_cpu_32(ip->dst_addr)}, IPPROTO_TCP,
        static_cast<uint16_t>(tcp_len));
    if (!stack::mbuf_l4_checksum_ok(m, RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr), tcp_len, pseudo)) return false;
    m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  // What rte_gro reads instead of parsing the frame itself.
  m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
  m->l2_len = RTE_ETHER_HDR_LEN;
  m->l3_len = sizeof(rte_ipv4_hdr);
  m->l4_len = static_cast<uint8_t>(tcp_header_len);
  return true;
}

uint16_t RxCoalescer::merge_run(rte_mbuf** run, uint16_t n, stack::NetCounters& counters) {
  if (n < 2) return n;
  const rte_gro_param param{.gro_types = RTE_GRO_TCP_IPV4, .max_flow_num = n, .max_item_per_flow = n, .socket_id = 0};
  const uint16_t merged = rte_gro_reassemble_burst(run, n, &param);
  counters.rx_gro_merged += n - merged;
  for (uint16_t i = 0; i < merged; i++) {
    rte_mbuf* m = run[i];
    if (m->next == nullptr) continue;
    // As an LRO device marks a coalesced frame: tso_segsz is the size of the segments it was
    // made of, the largest of its parts (the last one may be short).
    const uint32_t headers = static_cast<uint32_t>(m->l2_len + m->l3_len + m->l4_len);
    uint32_t segment_size = m->data_len - headers;
    for (const rte_mbuf* s = m->next; s != nullptr; s = s->next) segment_size = std::max<uint32_t>(segment_size, s->data_len);
    m->tso_segsz = static_cast<uint16_t>(segment_size);
    m->ol_flags |= RTE_MBUF_F_RX_LRO;
    counters.rx_gro_coalesced++;
  }
  return merged;
}

uint16_t RxCoalescer::coalesce(rte_mbuf** frames, uint16_t n, stack::NetCounters& counters) {
  // frames[0..out) is the result so far; a run of candidates is gathered at frames[out..) as
  // the scan (at i >= out) moves on, and merged in place when a non-candidate or the end comes.
  uint16_t out = 0;
  uint16_t run = 0;
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf* m = frames[i];
    if (candidate(m)) {
      frames[out + run++] = m;
      continue;
    }
    out = static_cast<uint16_t>(out + merge_run(frames + out, run, counters));
    run = 0;
    frames[out++] = m;
  }
  return static_cast<uint16_t>(out + merge_run(frames + out, run, counters));
}

}  // namespace dtcp::dpdk
