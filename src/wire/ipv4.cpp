#include "wire/ipv4.hpp"

#include <algorithm>

#include "wire/checksum.hpp"

namespace dtcp::wire {

Parsed<Ipv4View> Ipv4View::parse(std::span<const std::byte> packet, bool verify_checksum) {
  return parse_prefix(packet, packet.size(), verify_checksum);
}

Parsed<Ipv4View> Ipv4View::parse_prefix(std::span<const std::byte> packet, size_t packet_len, bool verify_checksum) {
  if (packet.size() < kIpv4MinHeaderLen) return ParseError::truncated;
  const uint8_t version_ihl = std::to_integer<uint8_t>(packet[0]);
  if ((version_ihl >> 4) != 4) return ParseError::bad_version;
  const size_t header_len = size_t{version_ihl & 0x0fu} * 4;
  if (header_len < kIpv4MinHeaderLen) return ParseError::bad_header_length;
  if (header_len > packet.size()) return ParseError::truncated;
  const size_t total_length = load_be16(packet.data() + 2);
  if (total_length < header_len) return ParseError::bad_total_length;
  if (total_length > packet_len) return ParseError::truncated;
  // RFC 1122 §3.2.1.2: silently discard a datagram whose header checksum is wrong.
  if (verify_checksum && (header_len == kIpv4MinHeaderLen ? ipv4_header_checksum(packet.data())
                                                          : internet_checksum(packet.first(header_len))) != 0) {
    return ParseError::bad_checksum;
  }
  return Ipv4View(packet.first(std::min(total_length, packet.size())), static_cast<uint8_t>(header_len));
}

void write_ipv4(std::span<std::byte> out, const Ipv4Header& header, bool fill_checksum) {
  assert(out.size() >= kIpv4MinHeaderLen);
  assert(header.payload_len <= 0xffff - kIpv4MinHeaderLen);
  std::byte* p = out.data();
  p[0] = std::byte{0x45};  // version 4, IHL 5
  p[1] = std::byte{header.dscp_ecn};
  store_be16(p + 2, static_cast<uint16_t>(kIpv4MinHeaderLen + header.payload_len));
  store_be16(p + 4, header.identification);
  store_be16(p + 6, header.dont_fragment ? 0x4000 : 0);
  p[8] = std::byte{header.ttl};
  p[9] = std::byte{header.protocol};
  store_be16(p + 10, 0);
  store_be32(p + 12, header.src.value);
  store_be32(p + 16, header.dst.value);
  if (fill_checksum) store_be16(p + 10, ipv4_header_checksum(p));
}

bool ipv4_mark_ce(std::span<std::byte> packet, bool fix_checksum) {
  assert(packet.size() >= kIpv4MinHeaderLen);
  std::byte* p = packet.data();
  const uint16_t old_word = load_be16(p);  // version/IHL and TOS
  if (!is_ect(ecn_of(static_cast<uint8_t>(old_word)))) return false;
  const uint16_t new_word = static_cast<uint16_t>(old_word | static_cast<uint8_t>(Ecn::ce));
  store_be16(p, new_word);
  if (fix_checksum) {
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), in ones'-complement arithmetic.
    const uint32_t sum = uint32_t{static_cast<uint16_t>(~load_be16(p + 10))} + static_cast<uint16_t>(~old_word) + new_word;
    store_be16(p + 10, checksum_fold(sum));
  }
  return true;
}

}  // namespace dtcp::wire
