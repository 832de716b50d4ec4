#include "wire/ipv4.hpp"

#include "wire/checksum.hpp"

namespace dtcp::wire {

Parsed<Ipv4View> Ipv4View::parse(std::span<const std::byte> packet, bool verify_checksum) {
  return parse_prefix(packet, packet.size(), verify_checksum);
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
