// Cutting the back off an mbuf chain, for the IP layer (Ethernet padding, the IP length) and TCP
// (data beyond the window) alike.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace dtcp {

// Keeps the first `len` bytes (len <= pkt_len) of a chain: rte_pktmbuf_trim only trims within
// the last segment, and what is cut may reach further back. Segments left empty past the end are
// freed.
inline void mbuf_chain_trim_to(rte_mbuf* m, uint32_t len) {
  m->pkt_len = len;
  if (m->next == nullptr) {
    m->data_len = static_cast<uint16_t>(len);
    return;
  }
  uint16_t segs = 1;
  rte_mbuf* seg = m;
  while (len > seg->data_len && seg->next != nullptr) {
    len -= seg->data_len;
    seg = seg->next;
    ++segs;
  }
  seg->data_len = static_cast<uint16_t>(len < seg->data_len ? len : seg->data_len);
  if (seg->next != nullptr) {
    rte_pktmbuf_free(seg->next);
    seg->next = nullptr;
  }
  m->nb_segs = segs;
}

}  // namespace dtcp
