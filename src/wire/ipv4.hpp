// IPv4 headers (RFC 791 §3.1).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/ecn.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kIpv4MinHeaderLen = 20;

enum class IpProtocol : uint8_t { icmp = 1, tcp = 6, udp = 17 };

class Ipv4View {
 public:
  // Checks, in order: size >= 20 (truncated); version 4 (bad_version); IHL >= 5
  // (bad_header_length); IHL*4 <= size (truncated); total length >= IHL*4 (bad_total_length);
  // total length <= size (truncated: the frame holds less than the header announces); the
  // header checksum if verify_checksum (bad_checksum). Bytes after total length are Ethernet
  // padding (frames are at least 60 bytes) and are dropped from bytes() and payload().
  // Fragments are accepted; the caller decides what to do with is_fragment().
  static Parsed<Ipv4View> parse(std::span<const std::byte> packet, bool verify_checksum = true);
  // The same for a packet of `packet_len` bytes of which `prefix` holds the first ones (the first
  // mbuf of a chain): the header must lie in `prefix`, the lengths are checked against
  // packet_len, and bytes() and payload() hold only what `prefix` has of them.
  static Parsed<Ipv4View> parse_prefix(std::span<const std::byte> prefix, size_t packet_len,
                                       bool verify_checksum = true);

  size_t header_len() const { return header_len_; }
  uint8_t dscp_ecn() const { return u8(1); }
  Ecn ecn() const { return ecn_of(u8(1)); }
  uint16_t total_length() const { return load_be16(bytes_.data() + 2); }
  uint16_t identification() const { return load_be16(bytes_.data() + 4); }
  // Flags: bit 0 reserved, bit 1 DF, bit 2 MF (RFC 791 §3.1 "Flags").
  bool dont_fragment() const { return (u8(6) & 0x40) != 0; }
  bool more_fragments() const { return (u8(6) & 0x20) != 0; }
  // The fragment offset field counts 8-octet units.
  uint16_t fragment_offset_bytes() const {
    return static_cast<uint16_t>((load_be16(bytes_.data() + 6) & 0x1fff) * 8);
  }
  bool is_fragment() const { return (load_be16(bytes_.data() + 6) & 0x3fff) != 0; }
  uint8_t ttl() const { return u8(8); }
  uint8_t protocol() const { return u8(9); }
  uint16_t header_checksum() const { return load_be16(bytes_.data() + 10); }
  Ipv4Addr src() const { return Ipv4Addr{load_be32(bytes_.data() + 12)}; }
  Ipv4Addr dst() const { return Ipv4Addr{load_be32(bytes_.data() + 16)}; }

  std::span<const std::byte> header() const { return bytes_.first(header_len_); }
  std::span<const std::byte> options() const {
    return bytes_.subspan(kIpv4MinHeaderLen, header_len_ - kIpv4MinHeaderLen);
  }
  std::span<const std::byte> payload() const { return bytes_.subspan(header_len_); }
  // Header and payload, without trailing padding: exactly total_length() bytes.
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  Ipv4View(std::span<const std::byte> bytes, uint8_t header_len) : bytes_(bytes), header_len_(header_len) {}
  uint8_t u8(size_t offset) const { return std::to_integer<uint8_t>(bytes_[offset]); }

  std::span<const std::byte> bytes_;
  uint8_t header_len_;
};

struct Ipv4Header {
  Ipv4Addr src, dst;
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint16_t identification = 0;
  bool dont_fragment = true;
  uint8_t dscp_ecn = 0;
  uint16_t payload_len = 0;
};

// Writes a 20-byte header without options; total length is 20 + payload_len. With
// fill_checksum false the checksum field is left 0 for hardware offload.
// Requires out.size() >= 20 and payload_len <= 65515.
void write_ipv4(std::span<std::byte> out, const Ipv4Header& header, bool fill_checksum = true);

// What a congested ECN router does (RFC 3168 §5): an ECN-capable packet (ECT(0) or ECT(1)) is
// marked CE in place, and the header checksum is updated incrementally for the changed word
// (RFC 1624 eqn. 3) unless `fix_checksum` is false (the field waits for transmit offload).
// Returns false and changes nothing for Not-ECT and CE packets. `packet` starts at the IPv4
// header, which the caller has checked is at least 20 bytes.
bool ipv4_mark_ce(std::span<std::byte> packet, bool fix_checksum = true);

// Inline: it runs for every received IPv4 packet, and its result then stays in registers.
inline Parsed<Ipv4View> Ipv4View::parse_prefix(std::span<const std::byte> packet, size_t packet_len, bool verify_checksum) {
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

}  // namespace dtcp::wire
