// Link-layer and IP addresses as values.
//
// Family-specific code (the IPv4 and IPv6 headers, ARP, neighbour discovery) uses Ipv4Addr and
// Ipv6Addr. Everything above the network layer (TCP, the 4-tuple, tables, the API, the tools)
// uses IpAddr, which holds either family in 16 bytes: IPv4 as an IPv4-mapped IPv6 address
// (RFC 4291 §2.5.5.2), as Linux's dual-stack sockets report it. One representation means
// comparison and hashing never branch on the family.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <cstring>

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

  // Two loads a side at run time (every received frame compares its destination with ours).
  friend constexpr bool operator==(const MacAddr& a, const MacAddr& b) {
    if (std::is_constant_evaluated()) return a.bytes == b.bytes;
    uint32_t a4, b4;
    uint16_t a2, b2;
    std::memcpy(&a4, a.bytes.data(), 4);
    std::memcpy(&b4, b.bytes.data(), 4);
    std::memcpy(&a2, a.bytes.data() + 4, 2);
    std::memcpy(&b2, b.bytes.data() + 4, 2);
    return ((a4 ^ b4) | static_cast<uint32_t>(a2 ^ b2)) == 0;
  }
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

// RFC 4291 / RFC 8200 address, 16 bytes in network byte order.
struct Ipv6Addr {
  alignas(8) std::array<uint8_t, 16> bytes{};

  // RFC 4291 §2.2 text forms: eight groups of 1-4 hex digits, one "::" for a run of zero groups,
  // and an embedded dotted quad as the last 32 bits ("::ffff:198.18.0.1"). No zone ("%eth0").
  static std::optional<Ipv6Addr> parse(std::string_view text);
  // RFC 5952 canonical form: lower case, leading zeros dropped, the longest run of two or more
  // zero groups (the first of equals) as "::"; IPv4-mapped addresses end in a dotted quad.
  std::string to_string() const;

  constexpr uint16_t group(size_t i) const { return static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]); }
  uint64_t high() const { uint64_t v; std::memcpy(&v, bytes.data(), 8); return v; }
  uint64_t low() const { uint64_t v; std::memcpy(&v, bytes.data() + 8, 8); return v; }
  // The two halves as numbers (big-endian reads), for arithmetic on ranges.
  constexpr uint64_t high_be() const { return load_be(0); }
  constexpr uint64_t low_be() const { return load_be(8); }

  bool is_unspecified() const { return high() == 0 && low() == 0; }                     // ::
  bool is_loopback() const { return high() == 0 && low_be() == 1; }                       // ::1
  constexpr bool is_multicast() const { return bytes[0] == 0xff; }                         // ff00::/8
  constexpr bool is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }  // fe80::/10
  // ::ffff:0:0/96 (RFC 4291 §2.5.5.2).
  bool is_v4_mapped() const {
    return high() == 0 && bytes[8] == 0 && bytes[9] == 0 && bytes[10] == 0xff && bytes[11] == 0xff;
  }
  // Multicast scope (RFC 4291 §2.7): 1 interface-local, 2 link-local, 5 site, 0xe global.
  constexpr uint8_t multicast_scope() const { return bytes[1] & 0x0f; }

  // ff02::1:ffXX:XXXX, the solicited-node group of this address (RFC 4291 §2.7.1).
  Ipv6Addr solicited_node() const {
    Ipv6Addr g = all_nodes();
    g.bytes[11] = 0x01;
    g.bytes[12] = 0xff;
    g.bytes[13] = bytes[13];
    g.bytes[14] = bytes[14];
    g.bytes[15] = bytes[15];
    return g;
  }
  // The Ethernet multicast address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 §7).
  MacAddr multicast_mac() const { return MacAddr{{0x33, 0x33, bytes[12], bytes[13], bytes[14], bytes[15]}}; }
  // fe80::/64 with a modified EUI-64 interface identifier from `mac` (RFC 4291 appendix A).
  static Ipv6Addr link_local_from_mac(const MacAddr& mac) {
    Ipv6Addr a;
    a.bytes[0] = 0xfe;
    a.bytes[1] = 0x80;
    a.bytes[8] = mac.bytes[0] ^ 0x02;
    a.bytes[9] = mac.bytes[1];
    a.bytes[10] = mac.bytes[2];
    a.bytes[11] = 0xff;
    a.bytes[12] = 0xfe;
    a.bytes[13] = mac.bytes[3];
    a.bytes[14] = mac.bytes[4];
    a.bytes[15] = mac.bytes[5];
    return a;
  }
  static Ipv6Addr all_nodes() {  // ff02::1
    Ipv6Addr a;
    a.bytes[0] = 0xff;
    a.bytes[1] = 0x02;
    a.bytes[15] = 0x01;
    return a;
  }
  static Ipv6Addr all_routers() {  // ff02::2
    Ipv6Addr a = all_nodes();
    a.bytes[15] = 0x02;
    return a;
  }
  // The first `prefix_len` bits of this address, the rest zero.
  Ipv6Addr masked(uint8_t prefix_len) const {
    Ipv6Addr a = *this;
    for (size_t i = 0; i < 16; ++i) {
      const int keep = static_cast<int>(prefix_len) - static_cast<int>(8 * i);
      if (keep >= 8) continue;
      a.bytes[i] = keep <= 0 ? 0 : static_cast<uint8_t>(a.bytes[i] & (0xff00 >> keep));
    }
    return a;
  }
  // This address plus `n`, carrying through all 128 bits (for address ranges).
  constexpr Ipv6Addr plus(uint64_t n) const {
    const uint64_t lo = low_be() + n;
    const uint64_t hi = high_be() + (lo < n ? 1 : 0);
    Ipv6Addr a;
    for (size_t i = 0; i < 8; ++i) {
      a.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      a.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    return a;
  }

  // Two 64-bit compares, not a byte-by-byte walk (the defaulted operators compare elementwise).
  friend bool operator==(const Ipv6Addr& a, const Ipv6Addr& b) { return a.high() == b.high() && a.low() == b.low(); }
  friend std::strong_ordering operator<=>(const Ipv6Addr& a, const Ipv6Addr& b) {
    const int c = std::memcmp(a.bytes.data(), b.bytes.data(), 16);
    return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  }

 private:
  constexpr uint64_t load_be(size_t at) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = v << 8 | bytes[at + i];
    return v;
  }
};

enum class IpFamily : uint8_t { v4, v6 };

// Either family, as one value (see the top of this file). The default value is "::", the IPv6
// unspecified address; IpAddr(Ipv4Addr{}) is the IPv4 one. is_unspecified() is true for both,
// so "no address given" reads the same for either family.
struct IpAddr {
  // Byte-aligned so a 4-tuple packs into 36 bytes (TIME-WAIT records); reads go through memcpy.
  std::array<uint8_t, 16> bytes{};

  constexpr IpAddr() = default;
  // Implicit on purpose: an Ipv4Addr or Ipv6Addr is an IpAddr wherever one is expected.
  // Two word stores at run time: a byte at a time this cost about 16 instructions, and every
  // received segment makes two (its source and destination).
  constexpr IpAddr(Ipv4Addr v4) {
    if (std::is_constant_evaluated()) {
      bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, static_cast<uint8_t>(v4.value >> 24),
               static_cast<uint8_t>(v4.value >> 16), static_cast<uint8_t>(v4.value >> 8), static_cast<uint8_t>(v4.value)};
    } else {
      const uint64_t hi = 0;
      const uint64_t lo = kMappedTag | (std::endian::native == std::endian::little
                                            ? uint64_t{__builtin_bswap32(v4.value)} << 32
                                            : uint64_t{v4.value});
      std::memcpy(bytes.data(), &hi, 8);
      std::memcpy(bytes.data() + 8, &lo, 8);
    }
  }
  constexpr IpAddr(const Ipv6Addr& v6) : bytes(v6.bytes) {}

  // Either family's text form (Ipv4Addr::parse, then Ipv6Addr::parse). A v4-mapped IPv6 text
  // ("::ffff:1.2.3.4") is the IPv4 address, as it is on the wire.
  static std::optional<IpAddr> parse(std::string_view text);
  // Dotted quad for IPv4, RFC 5952 for IPv6.
  std::string to_string() const;

  bool is_v4() const {
    uint64_t hi, lo;
    std::memcpy(&hi, bytes.data(), 8);
    std::memcpy(&lo, bytes.data() + 8, 8);
    return hi == 0 && (lo & kMappedMask) == kMappedTag;
  }
  bool is_v6() const { return !is_v4(); }
  IpFamily family() const { return is_v4() ? IpFamily::v4 : IpFamily::v6; }
  // The IPv4 address; meaningful only when is_v4(). One load (bytes 12..15, network order).
  Ipv4Addr v4() const {
    uint32_t be;
    std::memcpy(&be, bytes.data() + 12, 4);
    return Ipv4Addr{std::endian::native == std::endian::little ? __builtin_bswap32(be) : be};
  }
  // The IPv6 address (an IPv4 one as its mapped form).
  Ipv6Addr v6() const { return Ipv6Addr{bytes}; }

  bool is_unspecified() const { return is_v4() ? v4().is_unspecified() : v6().is_unspecified(); }
  bool is_multicast() const { return is_v4() ? v4().is_multicast() : v6().is_multicast(); }
  bool is_loopback() const { return is_v4() ? v4().is_loopback() : v6().is_loopback(); }
  // Not a unicast address a peer can have: unspecified, multicast, IPv4 broadcast.
  bool is_unusable_peer() const {
    return is_v4() ? (v4().is_unspecified() || v4().is_broadcast() || v4().is_multicast())
                   : (v6().is_unspecified() || v6().is_multicast());
  }

  // As for Ipv6Addr: two 64-bit compares on the packet path (4-tuple lookups).
  friend bool operator==(const IpAddr& a, const IpAddr& b) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.bytes.data(), 8);
    std::memcpy(&a1, a.bytes.data() + 8, 8);
    std::memcpy(&b0, b.bytes.data(), 8);
    std::memcpy(&b1, b.bytes.data() + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  friend std::strong_ordering operator<=>(const IpAddr& a, const IpAddr& b) {
    const int c = std::memcmp(a.bytes.data(), b.bytes.data(), 16);
    return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  }

 private:
  // Bytes 8..15 read as a little- or big-endian word: 10 and 11 are 0xff, 8 and 9 zero.
  static constexpr uint64_t kMappedMask =
      std::endian::native == std::endian::little ? 0x00000000ffffffffull : 0xffffffff00000000ull;
  static constexpr uint64_t kMappedTag =
      std::endian::native == std::endian::little ? 0x00000000ffff0000ull : 0x0000ffff00000000ull;
};

// Hash helpers for use in hash tables keyed by address (the std::hash specialisations below
// forward here). Cheap mixing, not cryptographic.
inline size_t hash_value(const MacAddr& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac.bytes) v = (v << 8) | b;
  return std::hash<uint64_t>{}(v);
}
inline size_t hash_value(Ipv4Addr addr) { return std::hash<uint32_t>{}(addr.value); }
inline size_t hash_value(const Ipv6Addr& addr) { return std::hash<uint64_t>{}(addr.high() * 0x9e3779b97f4a7c15ull ^ addr.low()); }
inline size_t hash_value(const IpAddr& addr) { return hash_value(addr.v6()); }

}  // namespace dtcp::wire

template <>
struct std::hash<dtcp::wire::MacAddr> {
  size_t operator()(const dtcp::wire::MacAddr& mac) const noexcept { return dtcp::wire::hash_value(mac); }
};

template <>
struct std::hash<dtcp::wire::Ipv4Addr> {
  size_t operator()(dtcp::wire::Ipv4Addr addr) const noexcept { return dtcp::wire::hash_value(addr); }
};

template <>
struct std::hash<dtcp::wire::Ipv6Addr> {
  size_t operator()(const dtcp::wire::Ipv6Addr& addr) const noexcept { return dtcp::wire::hash_value(addr); }
};

template <>
struct std::hash<dtcp::wire::IpAddr> {
  size_t operator()(const dtcp::wire::IpAddr& addr) const noexcept { return dtcp::wire::hash_value(addr); }
};
