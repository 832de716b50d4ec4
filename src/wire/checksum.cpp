#include "wire/checksum.hpp"

#include <bit>
#include <cstring>

#include "wire/bytes.hpp"

namespace dtcp::wire {

uint32_t checksum_accumulate(std::span<const std::byte> bytes, uint32_t sum) {
  // RFC 1071 §2(B): the sum is independent of byte order and word size as long as carries
  // are folded back in (2^16 == 1 mod 0xffff).
  uint64_t acc = sum;
  const std::byte* p = bytes.data();
  size_t n = bytes.size();
  // Bulk: native 64-bit words with end-around carry. RFC 1071 §2(B) again: summing in the
  // machine's byte order gives the byte-swapped sum, swapped back once at the end.
  uint64_t native = 0;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    native += w;
    native += native < w;  // end-around carry
  }
  native = (native & 0xffffffff) + (native >> 32);
  native = (native & 0xffff) + (native >> 16);
  native = (native & 0xffff) + (native >> 16);
  native = (native & 0xffff) + (native >> 16);
  if constexpr (std::endian::native == std::endian::little) native = ((native & 0xff) << 8) | (native >> 8);
  acc += native;
  for (; n >= 4; n -= 4, p += 4) acc += load_be32(p);
  if (n >= 2) {
    acc += load_be16(p);
    n -= 2;
    p += 2;
  }
  if (n == 1) acc += std::to_integer<uint32_t>(*p) << 8;  // RFC 1071 §4.1: pad with a zero byte
  // Fold to 16 bits so callers can add a few results together without overflowing 32 bits.
  // End-around carries never turn a non-zero sum into 0, so this matches folding per word.
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint32_t>(acc);
}

}  // namespace dtcp::wire
