// Link-layer and IPv4 addresses as values.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dtcp::wire {

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  // Accepts exactly "aa:bb:cc:dd:ee:ff" (hex digits in either case); nullopt otherwise.
  static std::optional<MacAddr> parse(std::string_view text);
  // Lower-case "aa:bb:cc:dd:ee:ff".
  std::string to_string() const;

  bool is_broadcast() const { return *this == broadcast(); }
  // IEEE 802-2014 §8.2: the I/G bit is the least significant bit of the first octet;
  // broadcast is a multicast address too.
  bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  bool is_zero() const { return *this == MacAddr{}; }

  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

  friend bool operator==(const MacAddr&, const MacAddr&) = default;
};

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order

  static constexpr Ipv4Addr from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | uint32_t{d}};
  }

  // Accepts dotted-quad "198.18.0.1" only: four decimal octets 0..255 without leading zeros
  // (inet_aton would read "010" as octal; refusing it avoids the ambiguity).
  static std::optional<Ipv4Addr> parse(std::string_view text);
  std::string to_string() const;

  // RFC 1122 §3.2.1.3 and RFC 5771.
  constexpr bool is_unspecified() const { return value == 0; }
  constexpr bool is_broadcast() const { return value == 0xffffffffu; }
  constexpr bool is_multicast() const { return (value >> 28) == 0xe; }  // 224.0.0.0/4
  constexpr bool is_loopback() const { return (value >> 24) == 127; }   // 127.0.0.0/8

  auto operator<=>(const Ipv4Addr&) const = default;
};

// Hash helpers for use in hash tables keyed by address (the std::hash specialisations below
// forward here). Cheap mixing, not cryptographic.
inline size_t hash_value(const MacAddr& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac.bytes) v = (v << 8) | b;
  return std::hash<uint64_t>{}(v);
}
inline size_t hash_value(Ipv4Addr addr) { return std::hash<uint32_t>{}(addr.value); }

}  // namespace dtcp::wire

template <>
struct std::hash<dtcp::wire::MacAddr> {
  size_t operator()(const dtcp::wire::MacAddr& mac) const noexcept { return dtcp::wire::hash_value(mac); }
};

template <>
struct std::hash<dtcp::wire::Ipv4Addr> {
  size_t operator()(dtcp::wire::Ipv4Addr addr) const noexcept { return dtcp::wire::hash_value(addr); }
};
