// The Internet checksum (RFC 1071) used by IPv4, ICMP, ICMPv6 and TCP.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"

namespace dtcp::wire {

// Adds the bytes, as big-endian 16-bit words, to a running ones'-complement sum. An odd final
// byte is padded with a zero byte (RFC 1071 §4.1). Only the last chunk of a multi-call sum may
// have odd length, since a chunk always starts on a word boundary. The result is folded to at
// most 0xffff (not complemented); pass it back in as `sum`, add it to another sum, or finish
// with checksum_fold().
uint32_t checksum_accumulate(std::span<const std::byte> bytes, uint32_t sum = 0);

// Folds the carries into 16 bits and returns the complement: the value to store in a checksum
// field. A buffer that includes a correct checksum folds to 0.
inline uint16_t checksum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline uint16_t internet_checksum(std::span<const std::byte> bytes) {
  return checksum_fold(checksum_accumulate(bytes));
}

// internet_checksum() of a 20-byte IPv4 header (no options), the one every packet has: five
// native 32-bit words, folded and swapped once (RFC 1071 §2(B), as checksum_accumulate()), with no
// loop and no tail. Returns the field's value; a header holding a correct checksum gives 0.
inline uint16_t ipv4_header_checksum(const std::byte* header) {
  uint64_t sum = 0;
  for (size_t i = 0; i < 20; i += 4) {
    uint32_t w;
    std::memcpy(&w, header + i, 4);
    sum += w;
  }
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  if constexpr (std::endian::native == std::endian::little) sum = ((sum & 0xff) << 8) | (sum >> 8);
  return static_cast<uint16_t>(~sum);
}

// The TCP/UDP pseudo-header (RFC 9293 §3.1, "Checksum"): source, destination, zero, protocol,
// L4 length. The result is unfolded; feed it to checksum_accumulate() as the starting sum.
inline uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol, uint16_t l4_length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff) + protocol +
         l4_length;
}

// The IPv6 pseudo-header (RFC 8200 §8.1): source, destination, 32-bit upper-layer length, three
// zero bytes, next header. Unfolded, like the IPv4 one. `next_header` is the upper-layer
// protocol (6, 58), not the fixed header's field when extension headers come between.
inline uint32_t pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header, uint32_t upper_len) {
  uint32_t sum = 0;
  for (size_t i = 0; i < 16; i += 2) {
    sum += uint32_t{src.bytes[i]} << 8 | src.bytes[i + 1];
    sum += uint32_t{dst.bytes[i]} << 8 | dst.bytes[i + 1];
  }
  return sum + (upper_len >> 16) + (upper_len & 0xffff) + next_header;
}

// Either family: the IPv4 pseudo-header or the IPv6 one above.
inline uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t protocol, uint32_t l4_length) {
  if (src.is_v4()) return pseudo_header_sum(src.v4(), dst.v4(), protocol, static_cast<uint16_t>(l4_length));
  return pseudo_header_sum(src.v6(), dst.v6(), protocol, l4_length);
}

}  // namespace dtcp::wire
