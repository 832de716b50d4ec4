// Big-endian loads and stores over raw packet bytes.
//
// Byte-by-byte shifts instead of casting to uint16_t*/uint32_t*: packet fields are not
// aligned, and a cast would be undefined behaviour. GCC and Clang turn the loads into a single
// load plus bswap. The stores swap the value and copy it whole: written byte by byte, GCC 12 at
// -O3 merged a header's adjacent fields into one wide value built by shifts and ors (the 32-byte
// TCP header writer was 80 instructions long; with the swaps and whole copies it is 37).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dtcp::wire {

inline uint16_t load_be16(const std::byte* p) {
  return static_cast<uint16_t>((std::to_integer<uint16_t>(p[0]) << 8) | std::to_integer<uint16_t>(p[1]));
}

inline uint32_t load_be32(const std::byte* p) {
  return (std::to_integer<uint32_t>(p[0]) << 24) | (std::to_integer<uint32_t>(p[1]) << 16) |
         (std::to_integer<uint32_t>(p[2]) << 8) | std::to_integer<uint32_t>(p[3]);
}

inline void store_be16(std::byte* p, uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof v);
}

inline void store_be32(std::byte* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace dtcp::wire
