// IPv6 headers (RFC 8200 §3) and the extension-header chain (RFC 8200 §4).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/addr.hpp"
#include "wire/bytes.hpp"
#include "wire/ecn.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kIpv6HeaderLen = 40;
// The offset of the fixed header's Next Header field, where a parameter problem about the first
// header after it points (RFC 4443 §3.4 pointers count from the start of the IPv6 header).
inline constexpr uint32_t kIpv6NextHeaderOffset = 6;

// Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4 for the extensions).
enum class Ipv6NextHeader : uint8_t {
  hop_by_hop = 0,
  tcp = 6,
  udp = 17,
  routing = 43,
  fragment = 44,
  esp = 50,  // RFC 4303
  ah = 51,   // RFC 4302
  icmpv6 = 58,
  no_next_header = 59,
  destination_options = 60,
};

class Ipv6View {
 public:
  // Checks, in order: size >= 40 (truncated); version 6 (bad_version); 40 + payload length <=
  // size (truncated: the frame holds less than the header announces). Bytes after that are
  // Ethernet padding (a frame is at least 60 bytes) and are dropped from bytes() and payload().
  // A payload length of 0 is an empty payload: dtcp does not take jumbograms (RFC 2675), whose
  // hop-by-hop option the extension walk answers with a parameter problem.
  static Parsed<Ipv6View> parse(std::span<const std::byte> packet);
  // The same for a packet of `packet_len` bytes of which `prefix` holds the first ones (the first
  // mbuf of a chain): the length is checked against packet_len, and bytes() and payload() hold
  // only what `prefix` has of them.
  static Parsed<Ipv6View> parse_prefix(std::span<const std::byte> prefix, size_t packet_len);

  // Traffic Class: bits 4..11 of the first word; its low two bits are ECN (RFC 8200 §7).
  uint8_t traffic_class() const { return static_cast<uint8_t>(load_be16(bytes_.data()) >> 4); }
  Ecn ecn() const { return ecn_of(traffic_class()); }
  uint32_t flow_label() const { return load_be32(bytes_.data()) & 0x000fffffu; }
  uint16_t payload_length() const { return load_be16(bytes_.data() + 4); }
  uint8_t next_header() const { return std::to_integer<uint8_t>(bytes_[6]); }
  uint8_t hop_limit() const { return std::to_integer<uint8_t>(bytes_[7]); }
  Ipv6Addr src() const { return addr_at(8); }
  Ipv6Addr dst() const { return addr_at(24); }

  std::span<const std::byte> header() const { return bytes_.first(kIpv6HeaderLen); }
  // Extension headers and the upper-layer message: exactly payload_length() bytes.
  std::span<const std::byte> payload() const { return bytes_.subspan(kIpv6HeaderLen); }
  // Header and payload, without trailing padding.
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  explicit Ipv6View(std::span<const std::byte> bytes) : bytes_(bytes) {}
  Ipv6Addr addr_at(size_t offset) const {
    Ipv6Addr a;
    std::memcpy(a.bytes.data(), bytes_.data() + offset, 16);
    return a;
  }

  std::span<const std::byte> bytes_;
};

struct Ipv6Header {
  Ipv6Addr src, dst;
  uint8_t next_header = 0;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // low 20 bits
  uint16_t payload_len = 0;
};

// Writes the 40-byte fixed header. Requires out.size() >= 40 and flow_label < 2^20.
void write_ipv6(std::span<std::byte> out, const Ipv6Header& header);

// A chain longer than this is dropped. RFC 8200 §4.1 recommends each header at most once
// (destination options twice), seven in all counting AH and ESP, so 8 leaves room for any
// legitimate chain while bounding the work an attacker can ask for per packet: the packet bounds
// the chain too, but 64 KiB holds 8,000 empty headers. RFC 8883 recognises such processing
// limits (and defines errors a node may send for them; dtcp drops silently and counts).
inline constexpr size_t kIpv6MaxExtensionHeaders = 8;

// How an extension-header walk ended. The first three are not errors; the others are drops,
// one per counter, and the parameter_problem_* ones also ask for an ICMPv6 Parameter Problem
// (RFC 4443 §3.4) described by the rest of Ipv6Extensions.
enum class Ipv6ExtOutcome : uint8_t {
  upper_layer,     // `protocol` starts at `offset`: TCP, ICMPv6, UDP or anything else not below
  no_next_header,  // Next Header 59 (RFC 8200 §4.7): nothing follows, nothing to deliver
  fragment,        // a Fragment header (44) at `offset`: dtcp does not reassemble, so drop and count
  truncated,           // a header runs past the end of the packet
  bad_option_length,   // an option runs past the end of its options header
  too_many_headers,    // more than the bound allows
  option_discard,      // an unrecognised option whose type says "discard silently" (RFC 8200 §4.2, 01)
  // Parameter problems, with code and pointer:
  hop_by_hop_not_first,       // RFC 8200 §4.1/§4: Next Header 0 after an extension; code 1
  unrecognized_next_header,   // ESP or AH, which dtcp does not implement; code 1
  unrecognized_routing_type,  // routing header with segments left (RFC 8200 §4.4); code 0
  unrecognized_option,        // option type 10xxxxxx or 11xxxxxx (RFC 8200 §4.2); code 2
};

// Static name ("upper_layer", ...) for counters and logs; never null.
const char* to_string(Ipv6ExtOutcome);

// ICMPv6 Parameter Problem codes (RFC 4443 §3.4).
enum class Icmpv6ParamProblem : uint8_t {
  erroneous_header_field = 0,
  unrecognized_next_header = 1,
  unrecognized_option = 2,
};

struct Ipv6Extensions {
  Ipv6ExtOutcome outcome = Ipv6ExtOutcome::upper_layer;
  // upper_layer: its protocol; otherwise the Next Header value being looked at when the walk stopped.
  uint8_t protocol = 0;
  // From the start of the IPv6 header: upper_layer, the upper-layer header; fragment, the
  // Fragment header; errors, the header being looked at.
  uint32_t offset = 0;
  // From the start of the IPv6 header: the Next Header field that named `protocol`, where a
  // caller that does not handle `protocol` points its own code-1 parameter problem.
  uint32_t next_header_field = kIpv6NextHeaderOffset;
  uint8_t headers = 0;  // extension headers walked past

  // Set for the parameter_problem_* outcomes (see needs_parameter_problem()).
  Icmpv6ParamProblem problem_code = Icmpv6ParamProblem::erroneous_header_field;
  uint32_t problem_pointer = 0;  // RFC 4443 §3.4 pointer, from the start of the IPv6 header
  // RFC 4443 §2.4 (e.3) forbids errors about a packet sent to a multicast address, except for an
  // option of type 10xxxxxx (RFC 8200 §4.2). True only then; the caller sends the error if the
  // destination is unicast or this is set.
  bool problem_even_if_multicast = false;

  bool ok() const { return outcome == Ipv6ExtOutcome::upper_layer; }
  bool needs_parameter_problem() const { return outcome >= Ipv6ExtOutcome::hop_by_hop_not_first; }
};

// Walks the extension headers that start `after_header` (the packet after the 40-byte fixed
// header, i.e. Ipv6View::payload()), `first_next_header` being the fixed header's Next Header.
// Hop-by-hop (only first), destination options and routing headers with no segments left are
// stepped over, their options checked by the high two bits of each type (RFC 8200 §4.2; dtcp
// recognises only Pad1 and PadN). It stops at the first header that is not one of those. Never
// reads outside `after_header`; walks at most `max_headers` extension headers.
Ipv6Extensions walk_ipv6_extensions(uint8_t first_next_header, std::span<const std::byte> after_header,
                                    size_t max_headers = kIpv6MaxExtensionHeaders);

// The same walk over a packet quoted in an ICMPv6 error, which is ours and so only needs
// stepping over: options and routing headers are not acted on, and a fragment still stops it.
Ipv6Extensions walk_quoted_ipv6_extensions(uint8_t first_next_header, std::span<const std::byte> after_header,
                                           size_t max_headers = kIpv6MaxExtensionHeaders);

}  // namespace dtcp::wire
