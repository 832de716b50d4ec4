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

Parsed<IcmpQuote> parse_icmp_quote(std::span<const std::byte> payload) {
  constexpr size_t kMinQuote = 8;  // RFC 792: "the first 64 bits of the original data datagram"
  if (payload.size() < 20 + kMinQuote) return ParseError::truncated;
  const auto first = std::to_integer<uint8_t>(payload[0]);
  if ((first >> 4) != 4) return ParseError::bad_version;
  const size_t header_len = size_t{first & 0x0fu} * 4;
  if (header_len < 20) return ParseError::bad_header_length;
  if (payload.size() < header_len + kMinQuote) return ParseError::truncated;
  IcmpQuote q;
  q.src = Ipv4Addr{load_be32(payload.data() + 12)};
  q.dst = Ipv4Addr{load_be32(payload.data() + 16)};
  q.protocol = std::to_integer<uint8_t>(payload[9]);
  q.total_length = load_be16(payload.data() + 2);
  q.fragment_offset_bytes = static_cast<uint16_t>((load_be16(payload.data() + 6) & 0x1fff) * 8);
  q.transport = payload.subspan(header_len);
  return q;
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

IcmpErrorKind icmp_error_kind(uint8_t type, uint8_t code) {
  if (type == static_cast<uint8_t>(IcmpType::time_exceeded)) return IcmpErrorKind::soft;
  if (type != static_cast<uint8_t>(IcmpType::dest_unreachable)) return IcmpErrorKind::other;
  switch (static_cast<IcmpUnreachable>(code)) {
    case IcmpUnreachable::fragmentation_needed:
      return IcmpErrorKind::packet_too_big;
    case IcmpUnreachable::protocol:
      return IcmpErrorKind::hard_protocol;
    case IcmpUnreachable::port:
      return IcmpErrorKind::hard_port;
    default:
      return IcmpErrorKind::soft;
  }
}

}  // namespace dtcp::wire
