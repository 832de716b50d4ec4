// A connection's transmit header template: the bytes of its frames' Ethernet and IP headers that
// do not change from segment to segment (MAC addresses and type; IPv4 version/IHL, DF, TTL,
// protocol and addresses, or IPv6's version, next header, hop limit and addresses), with the
// checksum sums over them. The TCP layer keeps one per connection as opaque storage; the IP
// layer (stack::Interface::send_tcp) builds it on the slow path and uses it while it is valid,
// like Linux's dst cache on a socket (sk_dst_cache, checked by dst_check()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dtcp/time.hpp"

namespace dtcp::wire {

struct TxHeaderTemplate {
  static constexpr size_t kMaxLen = 14 + 40;  // Ethernet + IPv6
  // The epoch of the neighbour cache (and, for IPv6, the routes) it was built under; the IP
  // layer's epochs start at 1, so 0 means "never built" (a fresh control block).
  uint32_t generation = 0;
  uint8_t l3_len = 0;        // 20 (IPv4) or 40 (IPv6)
  // IPv4: the ones'-complement sum (folded, not complemented) of the header's constant 16-bit
  // words; the total length, identification and ECN are added per packet.
  uint16_t ip_sum = 0;
  // The pseudo-header sum without the TCP length (RFC 9293 §3.1, RFC 8200 §8.1), folded.
  uint32_t pseudo_sum = 0;
  // Used only before this time: the neighbour entry's refresh or reachability deadline (RFC 1122
  // 2.3.2.1, RFC 4861 §7.3.3) and, for IPv6, the earliest expiry of what a router advertised.
  TimePoint expiry{};
  std::array<std::byte, kMaxLen> bytes{};
};

}  // namespace dtcp::wire
