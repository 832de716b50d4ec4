// Ethernet II frames (IEEE 802.3 §3.2.6 Length/Type field used as a type).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/addr.hpp"
#include "wire/bytes.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kEthernetHeaderLen = 14;

enum class EtherType : uint16_t { ipv4 = 0x0800, arp = 0x0806, vlan = 0x8100, ipv6 = 0x86dd };

// A frame whose 14-byte header is known to be present. The FCS is not part of the span (NICs
// strip it). FIXME: 802.1Q tags are not unwrapped; a tagged frame reports ether_type() == vlan.
class EthernetView {
 public:
  // Fails with truncated if the frame is shorter than the header.
  static Parsed<EthernetView> parse(std::span<const std::byte> frame) {
    if (frame.size() < kEthernetHeaderLen) return ParseError::truncated;
    return EthernetView(frame);
  }

  MacAddr dst() const { return mac_at(0); }
  MacAddr src() const { return mac_at(6); }
  uint16_t ether_type() const { return load_be16(bytes_.data() + 12); }
  std::span<const std::byte> payload() const { return bytes_.subspan(kEthernetHeaderLen); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  explicit EthernetView(std::span<const std::byte> bytes) : bytes_(bytes) {}
  MacAddr mac_at(size_t offset) const {
    MacAddr mac;
    std::memcpy(mac.bytes.data(), bytes_.data() + offset, 6);
    return mac;
  }

  std::span<const std::byte> bytes_;
};

// Writes dst, src and type into out[0..14). Requires out.size() >= kEthernetHeaderLen.
inline void write_ethernet(std::span<std::byte> out, MacAddr dst, MacAddr src, uint16_t ether_type) {
  assert(out.size() >= kEthernetHeaderLen);
  for (size_t i = 0; i < 6; ++i) {
    out[i] = static_cast<std::byte>(dst.bytes[i]);
    out[6 + i] = static_cast<std::byte>(src.bytes[i]);
  }
  store_be16(out.data() + 12, ether_type);
}

}  // namespace dtcp::wire
