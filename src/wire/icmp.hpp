// ICMP for IPv4 (RFC 792).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"
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
  // Destination unreachable, code 4 (fragmentation needed and DF set): the MTU of the next hop,
  // in the low 16 bits of the rest of the header (RFC 1191 §4); 0 from a router that predates it.
  uint16_t next_hop_mtu() const { return load_be16(bytes_.data() + 6); }
  std::span<const std::byte> payload() const { return bytes_.subspan(kIcmpHeaderLen); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  explicit IcmpView(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::span<const std::byte> bytes_;
};

// Destination-unreachable codes (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1).
enum class IcmpUnreachable : uint8_t {
  net = 0,
  host = 1,
  protocol = 2,
  port = 3,
  fragmentation_needed = 4,  // RFC 1191: the path MTU is smaller than the datagram (DF set)
  source_route_failed = 5,
};

// The datagram an ICMP error (destination unreachable, time exceeded) answers, as quoted in its
// payload: the whole IPv4 header and at least the first 8 bytes after it (RFC 792; RFC 1812
// 4.3.2.3 lets routers quote more). For TCP those 8 bytes are the ports and the sequence number.
struct IcmpQuote {
  Ipv4Addr src, dst;
  uint8_t protocol = 0;
  uint16_t total_length = 0;          // the quoted header's field: what the datagram was sent as
  uint16_t fragment_offset_bytes = 0;  // non-zero: the 8 bytes are not the transport header
  std::span<const std::byte> transport;  // at least 8 bytes of what followed the header
};

// `payload` is IcmpView::payload() of an error message. Checks: at least 20 + 8 bytes
// (truncated); version 4 (bad_version); IHL >= 5 (bad_header_length); IHL*4 + 8 bytes present
// (truncated). The quoted total length and checksum are not checked: routers may quote a
// datagram they have changed (TTL) or cut short.
Parsed<IcmpQuote> parse_icmp_quote(std::span<const std::byte> payload);

// What an ICMP or ICMPv6 error means to TCP, decided by the network layer that parsed it (the
// family-specific part): RFC 1122 4.2.3.9 and RFC 4443 §3 / Linux's icmpv6_err_convert().
enum class IcmpErrorKind : uint8_t {
  soft,            // net/host unreachable, time exceeded, administratively prohibited, ...
  hard_port,       // port unreachable (ICMP 3/3, ICMPv6 1/4)
  hard_protocol,   // protocol unreachable (ICMP 3/2), unrecognised next header (ICMPv6 4/1)
  packet_too_big,  // fragmentation needed and DF set (ICMP 3/4, RFC 1191), Packet Too Big (RFC 8201)
  other,           // nothing TCP acts on
};

// An ICMP error about a TCP segment we sent, in the terms TCP needs to find the connection and
// judge the error (RFC 5927 §4): the quoted 4-tuple seen from our side and the quoted SEG.SEQ.
// `type` and `code` are the message's own (ICMP or ICMPv6 by the addresses' family), kept for
// reporting; `kind` is what TCP acts on.
struct IcmpTcpError {
  IcmpErrorKind kind = IcmpErrorKind::other;
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t quoted_length = 0;  // total length of the quoted datagram (RFC 1191 §5 plateau search)
  uint32_t next_hop_mtu = 0;   // packet_too_big: the MTU reported (0 from a pre-RFC 1191 router)
  IpAddr local, remote;        // the quoted source (us) and destination
  uint16_t local_port = 0, remote_port = 0;
  uint32_t seq = 0;
};

// The kind of an IPv4 ICMP error (RFC 792 type and code).
IcmpErrorKind icmp_error_kind(uint8_t type, uint8_t code);

// Writes type, code and rest-of-header, copies payload after them and fills the checksum.
// The payload may overlap `out` (it is moved, not copied), so an echo request can be turned
// into a reply in place. Requires out.size() >= 8 + payload.size(). Returns 8 + payload.size().
size_t write_icmp(std::span<std::byte> out, uint8_t type, uint8_t code, uint32_t rest_of_header,
                  std::span<const std::byte> payload);

}  // namespace dtcp::wire
