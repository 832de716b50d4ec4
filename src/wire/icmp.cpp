#include "wire/icmp.hpp"

#include <cassert>
#include <cstring>

#include "wire/checksum.hpp"

namespace dtcp::wire {

Parsed<IcmpView> IcmpView::parse(std::span<const std::byte> message, bool verify_checksum) {
  if (message.size() < kIcmpHeaderLen) return ParseError::truncated;
  if (verify_checksum && internet_checksum(message) != 0) return ParseError::bad_checksum;
  return IcmpView(message);
}

size_t write_icmp(std::span<std::byte> out, uint8_t type, uint8_t code, uint32_t rest_of_header,
                  std::span<const std::byte> payload) {
  const size_t len = kIcmpHeaderLen + payload.size();
  assert(out.size() >= len);
  std::byte* p = out.data();
  // Move the payload first: it may sit inside `out`, even over the header bytes.
  if (!payload.empty()) std::memmove(p + kIcmpHeaderLen, payload.data(), payload.size());
  p[0] = std::byte{type};
  p[1] = std::byte{code};
  store_be16(p + 2, 0);
  store_be32(p + 4, rest_of_header);
  store_be16(p + 2, internet_checksum(out.first(len)));
  return len;
}

}  // namespace dtcp::wire
