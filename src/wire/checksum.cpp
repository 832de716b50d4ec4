#include "wire/checksum.hpp"

#include "wire/bytes.hpp"

namespace dtcp::wire {

uint32_t checksum_accumulate(std::span<const std::byte> bytes, uint32_t sum) {
  // RFC 1071 §2(B): the sum is independent of byte order and word size as long as carries
  // are folded back in, so add 32-bit big-endian words into 64 bits and fold at the end
  // (2^16 == 1 mod 0xffff). 2^32 words would be needed to overflow the accumulator.
  uint64_t acc = sum;
  const std::byte* p = bytes.data();
  size_t n = bytes.size();
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
