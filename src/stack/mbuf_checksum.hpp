// The Internet checksum (RFC 1071) over an mbuf chain, for the TCP checksum dtcp computes itself
// when the port does not offload it. DPDK's rte_ipv4_udptcp_cksum_mbuf sums 16-bit words through
// rte_raw_cksum; wire::checksum_accumulate sums 64-bit words, which is what a 64-byte request or a
// pure ACK costs most of (tools/bench --cost counted about 330 instructions a segment before).
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>

#include "wire/checksum.hpp"

namespace dtcp::stack {

// Adds the chain's bytes from `offset` to the end to `sum` (unfolded pseudo-header sum or 0) and
// returns the folded, uncomplemented total: finish with wire::checksum_fold(). A segment of odd
// length moves the bytes after it to the other half of each 16-bit word, so the next segment's
// sum is byte-swapped before it is added (RFC 1071 §2(B): the sum is byte-order independent).
inline uint32_t mbuf_checksum_accumulate(const rte_mbuf* m, uint32_t offset, uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  bool odd = false;
  for (; m != nullptr; m = m->next) {
    if (offset >= m->data_len) {
      offset -= m->data_len;
      continue;
    }
    const size_t n = m->data_len - offset;
    uint32_t part = wire::checksum_accumulate({rte_pktmbuf_mtod_offset(m, const std::byte*, offset), n});
    offset = 0;
    if (odd) part = ((part & 0xff) << 8) | (part >> 8);
    sum += part;
    sum = (sum & 0xffff) + (sum >> 16);
    if (n & 1) odd = !odd;
  }
  return sum;
}

}  // namespace dtcp::stack

namespace dtcp::stack {

// True when the L4 checksum over the `len` bytes at `offset` (to the end of the frame, which a
// chain must have been trimmed to) verifies with `pseudo`, the pseudo-header sum. A single mbuf
// takes the contiguous path; a chain (LRO, rte_gro, scattered rx) the one above.
inline bool mbuf_l4_checksum_ok(const rte_mbuf* m, uint32_t offset, uint32_t len, uint32_t pseudo) {
  if (m->next == nullptr) {
    return wire::checksum_fold(
               wire::checksum_accumulate({rte_pktmbuf_mtod_offset(m, const std::byte*, offset), len}, pseudo)) == 0;
  }
  return wire::checksum_fold(mbuf_checksum_accumulate(m, offset, pseudo)) == 0;
}

}  // namespace dtcp::stack
