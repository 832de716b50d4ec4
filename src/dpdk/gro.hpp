// Receive-side coalescing in software for ports without LRO: DPDK's rte_gro (lightweight mode,
// one receive burst at a time) merges in-order TCP/IPv4 segments of a flow into one chained
// frame, marked as LRO marks its frames (RTE_MBUF_F_RX_LRO, tso_segsz = the segments' size), so
// that TCP handles one frame where the wire carried several and still counts them (input.cpp).
// DPDK 22.11's rte_gro has no TCP/IPv6 (it came in 23.07): IPv6 frames pass unmerged.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "stack/counters.hpp"

namespace dtcp::dpdk {

class RxCoalescer {
 public:
  // trust_tx_checksum: a frame carrying RTE_MBUF_F_TX_TCP_CKSUM came from the other end of a
  // net_ring pair and its TCP checksum was never computed (InterfaceSetup::rx_trust_tx_checksum).
  explicit RxCoalescer(bool trust_tx_checksum) : trust_tx_checksum_(trust_tx_checksum) {}

  // Merges what can be merged among frames[0..n), in place; returns how many frames remain.
  //
  // rte_gro neither checks nor recomputes checksums, and puts the frames it does not take
  // after all the ones it merged. So only frames it would take are given to it (IPv4 without
  // options or fragmentation, TCP with ACK alone and a payload, not CE-marked, since the merged
  // frame keeps its first IP header: RFC 3168 §6.1.1's mark must not be lost), each in runs
  // between the others so that no frame of a flow overtakes another (a PSH or FIN segment, a
  // pure ACK); and their IP and TCP checksums are verified first (unless the device or the
  // net_ring peer vouches for them), the frame then marked good. A frame that fails a check
  // goes on unmerged, for the IP layer to count and drop.
  uint16_t coalesce(rte_mbuf** frames, uint16_t n, stack::NetCounters& counters);

 private:
  bool candidate(rte_mbuf* m) const;
  uint16_t merge_run(rte_mbuf** run, uint16_t n, stack::NetCounters& counters);

  bool trust_tx_checksum_;
};

}  // namespace dtcp::dpdk
