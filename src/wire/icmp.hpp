// ICMP for IPv4 (RFC 792).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kIcmpHeaderLen = 8;

enum class IcmpType : uint8_t { echo_reply = 0, dest_unreachable = 3, echo_request = 8, time_exceeded = 11 };

class IcmpView {
 public:
  // `message` is the whole ICMP message, i.e. Ipv4View::payload() (padding already trimmed),
  // because the checksum covers all of it (RFC 792, "Checksum"). Fails with truncated below
  // 8 bytes, bad_checksum if verify_checksum and the sum is wrong.
  static Parsed<IcmpView> parse(std::span<const std::byte> message, bool verify_checksum = true);

  uint8_t type() const { return std::to_integer<uint8_t>(bytes_[0]); }
  uint8_t code() const { return std::to_integer<uint8_t>(bytes_[1]); }
  uint16_t checksum() const { return load_be16(bytes_.data() + 2); }
  // Bytes 4..8, whose meaning depends on the type (echo: identifier and sequence number).
  uint32_t rest_of_header() const { return load_be32(bytes_.data() + 4); }
  uint16_t identifier() const { return load_be16(bytes_.data() + 4); }
  uint16_t sequence() const { return load_be16(bytes_.data() + 6); }
  std::span<const std::byte> payload() const { return bytes_.subspan(kIcmpHeaderLen); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  explicit IcmpView(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::span<const std::byte> bytes_;
};

// Writes type, code and rest-of-header, copies payload after them and fills the checksum.
// The payload may overlap `out` (it is moved, not copied), so an echo request can be turned
// into a reply in place. Requires out.size() >= 8 + payload.size(). Returns 8 + payload.size().
size_t write_icmp(std::span<std::byte> out, uint8_t type, uint8_t code, uint32_t rest_of_header,
                  std::span<const std::byte> payload);

}  // namespace dtcp::wire
