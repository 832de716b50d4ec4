// ICMPv6 (RFC 4443) and the neighbour discovery messages a host reads and sends (RFC 4861 §4).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/addr.hpp"
#include "wire/bytes.hpp"
#include "wire/icmp.hpp"  // IcmpErrorKind, shared by both families
#include "wire/parse_error.hpp"

namespace dtcp::wire {

// Type, code, checksum and the 32-bit field every defined message has after them (RFC 4443 §2.1).
inline constexpr size_t kIcmpv6HeaderLen = 8;

enum class Icmpv6Type : uint8_t {
  dest_unreachable = 1,
  packet_too_big = 2,
  time_exceeded = 3,
  parameter_problem = 4,
  echo_request = 128,
  echo_reply = 129,
  router_solicitation = 133,
  router_advertisement = 134,
  neighbor_solicitation = 135,
  neighbor_advertisement = 136,
  redirect = 137,
};

// Destination Unreachable codes (RFC 4443 §3.1).
enum class Icmpv6Unreachable : uint8_t {
  no_route = 0,
  admin_prohibited = 1,
  beyond_scope = 2,
  address_unreachable = 3,
  port_unreachable = 4,
  source_policy_failed = 5,
  reject_route = 6,
};

class Icmpv6View {
 public:
  // `message` is the whole ICMPv6 message (the upper-layer part of the IPv6 payload, padding
  // trimmed); src and dst are the IPv6 header's, because the checksum covers the pseudo-header
  // (RFC 4443 §2.3). Fails with truncated below 8 bytes, bad_checksum if verify_checksum and
  // the sum is wrong.
  static Parsed<Icmpv6View> parse(std::span<const std::byte> message, const Ipv6Addr& src, const Ipv6Addr& dst,
                                  bool verify_checksum = true);

  uint8_t type() const { return std::to_integer<uint8_t>(bytes_[0]); }
  uint8_t code() const { return std::to_integer<uint8_t>(bytes_[1]); }
  uint16_t checksum() const { return load_be16(bytes_.data() + 2); }
  // Bytes 4..8: echo identifier and sequence, Packet Too Big's MTU, Parameter Problem's pointer.
  uint32_t rest_of_header() const { return load_be32(bytes_.data() + 4); }
  uint16_t identifier() const { return load_be16(bytes_.data() + 4); }
  uint16_t sequence() const { return load_be16(bytes_.data() + 6); }
  uint32_t mtu() const { return rest_of_header(); }      // RFC 4443 §3.2: all 32 bits
  uint32_t pointer() const { return rest_of_header(); }  // RFC 4443 §3.4
  // RFC 4443 §2.1: error messages have the high bit of the type clear.
  bool is_error() const { return type() < 128; }
  std::span<const std::byte> payload() const { return bytes_.subspan(kIcmpv6HeaderLen); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  explicit Icmpv6View(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::span<const std::byte> bytes_;
};

// Writes type, code and rest-of-header, moves payload after them and fills the checksum over
// the pseudo-header of src and dst. The payload may overlap `out` (an echo reply built over the
// request). Requires out.size() >= 8 + payload.size(). Returns 8 + payload.size().
size_t write_icmpv6(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t type, uint8_t code,
                    uint32_t rest_of_header, std::span<const std::byte> payload);

// ---- errors about a packet we sent ----

// The packet an ICMPv6 error quotes "as much of ... as possible without the ICMPv6 packet
// exceeding the minimum IPv6 MTU" (RFC 4443 §2.4 (c)): its fixed header, any extension headers
// and at least 8 bytes of the upper layer, which for TCP are the ports and the sequence number.
struct Icmpv6Quote {
  Ipv6Addr src, dst;
  uint8_t protocol = 0;         // the upper layer found after the extension headers
  uint16_t payload_length = 0;  // the quoted header's field: what the packet was sent as
  std::span<const std::byte> transport;  // at least 8 bytes of the upper-layer header
};

// `payload` is Icmpv6View::payload() of an error message. Checks: at least 40 bytes
// (truncated); version 6 (bad_version); the quoted extension headers step over, within
// kIpv6MaxExtensionHeaders (truncated if cut inside them, bad_extension_header otherwise, which
// includes a Fragment header: dtcp never fragments, so a quoted fragment is not ours);
// 8 bytes of the upper layer (truncated). The quoted payload length is not checked against
// what is present: the quote is usually cut short.
Parsed<Icmpv6Quote> parse_icmpv6_quote(std::span<const std::byte> payload);

// What an ICMPv6 error means to TCP (RFC 4443 §3, read as RFC 1122 4.2.3.9 reads ICMP): port
// unreachable (1/4) is hard, an unrecognised next header (4/1) is protocol unreachable, Packet
// Too Big is path MTU (RFC 8201); the rest of Destination Unreachable, Time Exceeded and the
// other parameter problems are soft. Linux's icmpv6_err_convert() also calls 1/1, 1/5, 1/6 and
// every parameter problem fatal; dtcp keeps to the two hard errors, as it does for IPv4.
// Informational types and unassigned error types are `other`.
IcmpErrorKind icmpv6_error_kind(uint8_t type, uint8_t code);

// An ICMPv6 error about a TCP segment we sent (RFC 5927 §4 validation needs the 4-tuple and
// SEG.SEQ): the IPv6 counterpart of IcmpTcpError, which the TCP layer builds from it.
struct Icmpv6TcpError {
  IcmpErrorKind kind = IcmpErrorKind::other;
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t mtu = 0;  // packet_too_big: the MTU of the next hop, 32 bits (RFC 4443 §3.2)
  uint16_t quoted_payload_length = 0;
  Ipv6Addr local, remote;  // the quoted source (us) and destination
  uint16_t local_port = 0, remote_port = 0;
  uint32_t seq = 0;
};

// Fails with bad_type for an informational message, bad_next_header if the quote is not of
// TCP, and the errors of parse_icmpv6_quote().
Parsed<Icmpv6TcpError> parse_icmpv6_tcp_error(const Icmpv6View& icmp);

// ---- neighbour discovery (RFC 4861 §4) ----

// The option types dtcp reads (RFC 4861 §4.6); others are skipped as §4.6 requires.
enum class NdOptionType : uint8_t {
  source_link_layer_address = 1,
  target_link_layer_address = 2,
  prefix_information = 3,
  redirected_header = 4,
  mtu = 5,
};

// Prefix Information (RFC 4861 §4.6.2), as values.
struct NdPrefixInfo {
  uint8_t prefix_length = 0;
  bool on_link = false;     // L
  bool autonomous = false;  // A: usable for stateless address autoconfiguration (RFC 4862 §5.5.3)
  uint32_t valid_lifetime = 0;      // seconds; 0xffffffff is infinity
  uint32_t preferred_lifetime = 0;  // seconds; 0xffffffff is infinity
  Ipv6Addr prefix;
  bool operator==(const NdPrefixInfo&) const = default;
};

// More prefixes than this in one advertisement are counted in prefixes_ignored, not stored:
// no heap on the packet path, and a link rarely has more than two.
inline constexpr size_t kNdMaxPrefixes = 4;

// The options of one message. Where an option appears twice the first is kept.
struct NdOptions {
  std::optional<MacAddr> source_link_layer;
  std::optional<MacAddr> target_link_layer;
  std::optional<uint32_t> mtu;
  std::array<NdPrefixInfo, kNdMaxPrefixes> prefixes{};
  uint8_t prefix_count = 0;
  uint8_t prefixes_ignored = 0;
  std::span<const NdPrefixInfo> prefix_list() const { return {prefixes.data(), prefix_count}; }
};

// Reads the options in `options` (the message after its fixed part). Fails with bad_nd_option
// for a length of 0 (RFC 4861 §4.6: the packet MUST be silently discarded), or a known option
// of the wrong length (Ethernet link-layer addresses are length 1, RFC 2464 §6; prefix
// information 4; MTU 1); truncated when an option runs past the end.
Parsed<NdOptions> parse_nd_options(std::span<const std::byte> options);

// Fixed parts (RFC 4861 §4.1-§4.4), from the start of the ICMPv6 message.
inline constexpr size_t kNdRouterSolicitationLen = 8;
inline constexpr size_t kNdRouterAdvertisementLen = 16;
inline constexpr size_t kNdNeighborSolicitationLen = 24;
inline constexpr size_t kNdNeighborAdvertisementLen = 24;

struct NdRouterSolicitation {
  NdOptions options;
};

struct NdRouterAdvertisement {
  uint8_t cur_hop_limit = 0;  // 0: unspecified by this router
  bool managed = false;       // M: addresses from DHCPv6
  bool other = false;         // O: other configuration from DHCPv6
  uint16_t router_lifetime = 0;  // seconds; 0: not a default router
  uint32_t reachable_time = 0;   // milliseconds; 0: unspecified
  uint32_t retrans_timer = 0;    // milliseconds; 0: unspecified
  NdOptions options;
};

struct NdNeighborSolicitation {
  Ipv6Addr target;
  NdOptions options;
};

struct NdNeighborAdvertisement {
  bool router = false;     // R
  bool solicited = false;  // S
  bool override = false;   // O
  Ipv6Addr target;
  NdOptions options;
};

// Parse the structure: bad_type for another ICMPv6 type, truncated below the fixed part, and
// the errors of parse_nd_options(). They do not apply the RFC 4861 validity checks that need the
// IP header; run the validate_* function below first (it covers everything parse checks).
Parsed<NdRouterSolicitation> parse_router_solicitation(const Icmpv6View& icmp);
Parsed<NdRouterAdvertisement> parse_router_advertisement(const Icmpv6View& icmp);
Parsed<NdNeighborSolicitation> parse_neighbor_solicitation(const Icmpv6View& icmp);
Parsed<NdNeighborAdvertisement> parse_neighbor_advertisement(const Icmpv6View& icmp);

// Why an ND message fails the RFC 4861 validity checks (§6.1.1, §6.1.2, §7.1.1, §7.1.2): one
// value per counter. The checksum is Icmpv6View::parse's.
enum class NdInvalid : uint8_t {
  none,
  wrong_type,          // the message is not of the type validated
  hop_limit_not_255,   // the IP hop limit is not 255: the packet may come from off-link
  code_not_zero,
  too_short,           // ICMP length below the message's fixed part
  bad_option,          // an option of length 0, of the wrong length, or running past the end
  target_multicast,    // NS/NA target is a multicast address
  unspecified_source_with_lla,          // from :: with a source link-layer address option (NS, RS)
  unspecified_source_not_solicited_node, // NS from :: not sent to a solicited-node group (DAD)
  solicited_to_multicast,  // NA to a multicast address with the Solicited flag set
  source_not_link_local,   // RA from other than a link-local address
};

// Static name ("hop_limit_not_255", ...) for counters and logs; never null.
const char* to_string(NdInvalid);

// What the validity checks need from the IPv6 header.
struct NdIpHeader {
  Ipv6Addr src, dst;
  uint8_t hop_limit = 0;
};

// The checks in the RFC's order; the first that fails is returned. When it returns none, the
// parse_* function of the same message succeeds.
NdInvalid validate_router_solicitation(const NdIpHeader& ip, const Icmpv6View& icmp);
NdInvalid validate_router_advertisement(const NdIpHeader& ip, const Icmpv6View& icmp);
NdInvalid validate_neighbor_solicitation(const NdIpHeader& ip, const Icmpv6View& icmp);
NdInvalid validate_neighbor_advertisement(const NdIpHeader& ip, const Icmpv6View& icmp);

// Writers: the whole ICMPv6 message with its checksum over src and dst (the IPv6 header is the
// caller's, with hop limit 255, RFC 4861 §6.1/§7.1). Each returns the message length; `out`
// must hold it (the largest is an RA with every option: 16 + 8 + 8 + 32 * prefixes).
size_t write_router_solicitation(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                 std::optional<MacAddr> source_link_layer);
size_t write_router_advertisement(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                  const NdRouterAdvertisement& ra);
size_t write_neighbor_solicitation(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                   const Ipv6Addr& target, std::optional<MacAddr> source_link_layer);
size_t write_neighbor_advertisement(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                    const NdNeighborAdvertisement& na);

// The hop limit every ND message is sent with and must arrive with (RFC 4861 §6.1.1, §7.1.1).
inline constexpr uint8_t kNdHopLimit = 255;

}  // namespace dtcp::wire
