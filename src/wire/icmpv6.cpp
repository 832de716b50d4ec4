#include "wire/icmpv6.hpp"

#include <cassert>
#include <cstring>

#include "wire/checksum.hpp"
#include "wire/ipv6.hpp"

namespace dtcp::wire {
namespace {

constexpr uint8_t kIcmpv6Protocol = static_cast<uint8_t>(Ipv6NextHeader::icmpv6);
constexpr size_t kNdOptionUnit = 8;         // option lengths count 8-octet units (RFC 4861 §4.6)
constexpr size_t kNdPrefixInfoLen = 32;     // RFC 4861 §4.6.2
constexpr size_t kNdMtuOptionLen = 8;       // RFC 4861 §4.6.4
constexpr size_t kNdEthernetLlaLen = 8;     // type, length, 6-byte MAC (RFC 2464 §6)

uint8_t u8(std::span<const std::byte> s, size_t i) { return std::to_integer<uint8_t>(s[i]); }

Ipv6Addr addr_at(std::span<const std::byte> s, size_t at) {
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), s.data() + at, 16);
  return a;
}

void store_addr(std::byte* p, const Ipv6Addr& a) {
  std::memcpy(p, a.bytes.data(), 16);
}

MacAddr mac_at(std::span<const std::byte> s, size_t at) {
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) m.bytes[i] = u8(s, at + i);
  return m;
}

// Fills the checksum of the `len`-byte ICMPv6 message at the front of `out`.
size_t finish(std::span<std::byte> out, size_t len, const Ipv6Addr& src, const Ipv6Addr& dst) {
  store_be16(out.data() + 2, 0);
  const uint32_t sum = checksum_accumulate(out.first(len), pseudo_header_sum(src, dst, kIcmpv6Protocol,
                                                                             static_cast<uint32_t>(len)));
  store_be16(out.data() + 2, checksum_fold(sum));
  return len;
}

size_t put_lla_option(std::byte* p, NdOptionType type, const MacAddr& mac) {
  p[0] = std::byte{static_cast<uint8_t>(type)};
  p[1] = std::byte{1};
  for (size_t i = 0; i < 6; ++i) p[2 + i] = std::byte{mac.bytes[i]};
  return kNdEthernetLlaLen;
}

// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
bool is_solicited_node(const Ipv6Addr& a) {
  Ipv6Addr group = Ipv6Addr::all_nodes();
  group.bytes[11] = 0x01;
  group.bytes[12] = 0xff;
  group.bytes[15] = 0;
  return a.masked(104) == group;
}

bool has_type(const Icmpv6View& icmp, Icmpv6Type type) { return icmp.type() == static_cast<uint8_t>(type); }

// The checks every ND message starts with, in the order RFC 4861 lists them: hop limit, code,
// length (after the type, which is ours).
NdInvalid header_checks(const NdIpHeader& ip, const Icmpv6View& icmp, Icmpv6Type type, size_t fixed_len) {
  if (!has_type(icmp, type)) return NdInvalid::wrong_type;
  // RFC 4861 §6.1/§7.1: a router decrements the hop limit, so 255 proves the sender is on-link.
  if (ip.hop_limit != kNdHopLimit) return NdInvalid::hop_limit_not_255;
  if (icmp.code() != 0) return NdInvalid::code_not_zero;
  if (icmp.bytes().size() < fixed_len) return NdInvalid::too_short;
  return NdInvalid::none;
}

// "All included options have a length that is greater than zero", and the lengths we check.
NdInvalid option_checks(const Icmpv6View& icmp, size_t fixed_len, NdOptions* options) {
  const auto parsed = parse_nd_options(icmp.bytes().subspan(fixed_len));
  if (!parsed) return NdInvalid::bad_option;
  *options = *parsed;
  return NdInvalid::none;
}

}  // namespace

Parsed<Icmpv6View> Icmpv6View::parse(std::span<const std::byte> message, const Ipv6Addr& src, const Ipv6Addr& dst,
                                     bool verify_checksum) {
  if (message.size() < kIcmpv6HeaderLen) return ParseError::truncated;
  if (verify_checksum) {
    // RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header (RFC 8200 §8.1) and the message.
    const uint32_t sum = checksum_accumulate(
        message, pseudo_header_sum(src, dst, kIcmpv6Protocol, static_cast<uint32_t>(message.size())));
    if (checksum_fold(sum) != 0) return ParseError::bad_checksum;
  }
  return Icmpv6View(message);
}

size_t write_icmpv6(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t type, uint8_t code,
                    uint32_t rest_of_header, std::span<const std::byte> payload) {
  const size_t len = kIcmpv6HeaderLen + payload.size();
  assert(out.size() >= len);
  std::byte* p = out.data();
  // Move the payload first: it may sit inside `out`, even over the header bytes.
  if (!payload.empty()) std::memmove(p + kIcmpv6HeaderLen, payload.data(), payload.size());
  p[0] = std::byte{type};
  p[1] = std::byte{code};
  store_be32(p + 4, rest_of_header);
  return finish(out, len, src, dst);
}

Parsed<Icmpv6Quote> parse_icmpv6_quote(std::span<const std::byte> payload) {
  constexpr size_t kMinTransport = 8;  // TCP's ports and sequence number, as ICMP's 64 bits
  if (payload.size() < kIpv6HeaderLen) return ParseError::truncated;
  if ((u8(payload, 0) >> 4) != 6) return ParseError::bad_version;
  const auto walked = walk_quoted_ipv6_extensions(u8(payload, 6), payload.subspan(kIpv6HeaderLen));
  if (walked.outcome == Ipv6ExtOutcome::truncated) return ParseError::truncated;
  if (!walked.ok()) return ParseError::bad_extension_header;
  if (payload.size() < walked.offset + kMinTransport) return ParseError::truncated;
  Icmpv6Quote q;
  q.src = addr_at(payload, 8);
  q.dst = addr_at(payload, 24);
  q.protocol = walked.protocol;
  q.payload_length = load_be16(payload.data() + 4);
  q.transport = payload.subspan(walked.offset);
  return q;
}

IcmpErrorKind icmpv6_error_kind(uint8_t type, uint8_t code) {
  switch (static_cast<Icmpv6Type>(type)) {
    case Icmpv6Type::dest_unreachable:
      return code == static_cast<uint8_t>(Icmpv6Unreachable::port_unreachable) ? IcmpErrorKind::hard_port
                                                                                : IcmpErrorKind::soft;
    case Icmpv6Type::packet_too_big:
      return IcmpErrorKind::packet_too_big;
    case Icmpv6Type::time_exceeded:
      return IcmpErrorKind::soft;
    case Icmpv6Type::parameter_problem:
      return code == static_cast<uint8_t>(Icmpv6ParamProblem::unrecognized_next_header) ? IcmpErrorKind::hard_protocol
                                                                                         : IcmpErrorKind::soft;
    default:
      return IcmpErrorKind::other;
  }
}

Parsed<Icmpv6TcpError> parse_icmpv6_tcp_error(const Icmpv6View& icmp) {
  if (!icmp.is_error()) return ParseError::bad_type;
  const auto quote = parse_icmpv6_quote(icmp.payload());
  if (!quote) return quote.error();
  if (quote->protocol != static_cast<uint8_t>(Ipv6NextHeader::tcp)) return ParseError::bad_next_header;
  Icmpv6TcpError e;
  e.kind = icmpv6_error_kind(icmp.type(), icmp.code());
  e.type = icmp.type();
  e.code = icmp.code();
  if (e.kind == IcmpErrorKind::packet_too_big) e.mtu = icmp.mtu();
  e.quoted_payload_length = quote->payload_length;
  e.local = quote->src;
  e.remote = quote->dst;
  e.local_port = load_be16(quote->transport.data());
  e.remote_port = load_be16(quote->transport.data() + 2);
  e.seq = load_be32(quote->transport.data() + 4);
  return e;
}

Parsed<NdOptions> parse_nd_options(std::span<const std::byte> options) {
  NdOptions out;
  size_t pos = 0;
  while (pos < options.size()) {
    if (pos + 2 > options.size()) return ParseError::truncated;
    const uint8_t type = u8(options, pos);
    const size_t len = size_t{u8(options, pos + 1)} * kNdOptionUnit;
    // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option with
    // length zero" (it would also loop forever).
    if (len == 0) return ParseError::bad_nd_option;
    if (pos + len > options.size()) return ParseError::truncated;
    const auto opt = options.subspan(pos, len);
    switch (static_cast<NdOptionType>(type)) {
      case NdOptionType::source_link_layer_address:
      case NdOptionType::target_link_layer_address: {
        if (len != kNdEthernetLlaLen) return ParseError::bad_nd_option;
        auto& slot = type == static_cast<uint8_t>(NdOptionType::source_link_layer_address) ? out.source_link_layer
                                                                                            : out.target_link_layer;
        if (!slot) slot = mac_at(opt, 2);
        break;
      }
      case NdOptionType::prefix_information: {
        if (len != kNdPrefixInfoLen) return ParseError::bad_nd_option;
        if (out.prefix_count == kNdMaxPrefixes) {
          ++out.prefixes_ignored;
          break;
        }
        NdPrefixInfo& p = out.prefixes[out.prefix_count++];
        p.prefix_length = u8(opt, 2);
        p.on_link = (u8(opt, 3) & 0x80) != 0;
        p.autonomous = (u8(opt, 3) & 0x40) != 0;
        p.valid_lifetime = load_be32(opt.data() + 4);
        p.preferred_lifetime = load_be32(opt.data() + 8);
        p.prefix = addr_at(opt, 16);  // after 4 reserved bytes
        break;
      }
      case NdOptionType::mtu:
        if (len != kNdMtuOptionLen) return ParseError::bad_nd_option;
        if (!out.mtu) out.mtu = load_be32(opt.data() + 4);
        break;
      default:
        break;  // RFC 4861 §4.6: options a node does not recognise are skipped
    }
    pos += len;
  }
  return out;
}

Parsed<NdRouterSolicitation> parse_router_solicitation(const Icmpv6View& icmp) {
  if (!has_type(icmp, Icmpv6Type::router_solicitation)) return ParseError::bad_type;
  // kIcmpv6HeaderLen == kNdRouterSolicitationLen: Icmpv6View::parse has checked the length.
  const auto options = parse_nd_options(icmp.bytes().subspan(kNdRouterSolicitationLen));
  if (!options) return options.error();
  return NdRouterSolicitation{*options};
}

Parsed<NdRouterAdvertisement> parse_router_advertisement(const Icmpv6View& icmp) {
  if (!has_type(icmp, Icmpv6Type::router_advertisement)) return ParseError::bad_type;
  const auto m = icmp.bytes();
  if (m.size() < kNdRouterAdvertisementLen) return ParseError::truncated;
  const auto options = parse_nd_options(m.subspan(kNdRouterAdvertisementLen));
  if (!options) return options.error();
  NdRouterAdvertisement ra;
  ra.cur_hop_limit = u8(m, 4);
  ra.managed = (u8(m, 5) & 0x80) != 0;
  ra.other = (u8(m, 5) & 0x40) != 0;
  ra.router_lifetime = load_be16(m.data() + 6);
  ra.reachable_time = load_be32(m.data() + 8);
  ra.retrans_timer = load_be32(m.data() + 12);
  ra.options = *options;
  return ra;
}

Parsed<NdNeighborSolicitation> parse_neighbor_solicitation(const Icmpv6View& icmp) {
  if (!has_type(icmp, Icmpv6Type::neighbor_solicitation)) return ParseError::bad_type;
  const auto m = icmp.bytes();
  if (m.size() < kNdNeighborSolicitationLen) return ParseError::truncated;
  const auto options = parse_nd_options(m.subspan(kNdNeighborSolicitationLen));
  if (!options) return options.error();
  return NdNeighborSolicitation{addr_at(m, 8), *options};
}

Parsed<NdNeighborAdvertisement> parse_neighbor_advertisement(const Icmpv6View& icmp) {
  if (!has_type(icmp, Icmpv6Type::neighbor_advertisement)) return ParseError::bad_type;
  const auto m = icmp.bytes();
  if (m.size() < kNdNeighborAdvertisementLen) return ParseError::truncated;
  const auto options = parse_nd_options(m.subspan(kNdNeighborAdvertisementLen));
  if (!options) return options.error();
  NdNeighborAdvertisement na;
  na.router = (u8(m, 4) & 0x80) != 0;
  na.solicited = (u8(m, 4) & 0x40) != 0;
  na.override = (u8(m, 4) & 0x20) != 0;
  na.target = addr_at(m, 8);
  na.options = *options;
  return na;
}

NdInvalid validate_router_solicitation(const NdIpHeader& ip, const Icmpv6View& icmp) {
  // RFC 4861 §6.1.1.
  NdOptions options;
  NdInvalid why = header_checks(ip, icmp, Icmpv6Type::router_solicitation, kNdRouterSolicitationLen);
  if (why == NdInvalid::none) why = option_checks(icmp, kNdRouterSolicitationLen, &options);
  if (why != NdInvalid::none) return why;
  if (ip.src.is_unspecified() && options.source_link_layer) return NdInvalid::unspecified_source_with_lla;
  return NdInvalid::none;
}

NdInvalid validate_router_advertisement(const NdIpHeader& ip, const Icmpv6View& icmp) {
  // RFC 4861 §6.1.2 lists the source first: routers are known by their link-local addresses.
  if (!has_type(icmp, Icmpv6Type::router_advertisement)) return NdInvalid::wrong_type;
  if (!ip.src.is_link_local()) return NdInvalid::source_not_link_local;
  NdOptions options;
  NdInvalid why = header_checks(ip, icmp, Icmpv6Type::router_advertisement, kNdRouterAdvertisementLen);
  if (why == NdInvalid::none) why = option_checks(icmp, kNdRouterAdvertisementLen, &options);
  return why;
}

NdInvalid validate_neighbor_solicitation(const NdIpHeader& ip, const Icmpv6View& icmp) {
  // RFC 4861 §7.1.1, in its order.
  NdInvalid why = header_checks(ip, icmp, Icmpv6Type::neighbor_solicitation, kNdNeighborSolicitationLen);
  if (why != NdInvalid::none) return why;
  if (addr_at(icmp.bytes(), 8).is_multicast()) return NdInvalid::target_multicast;
  NdOptions options;
  if (why = option_checks(icmp, kNdNeighborSolicitationLen, &options); why != NdInvalid::none) return why;
  // Duplicate address detection (RFC 4862 §5.4.2) sends from :: to the target's group, and
  // with no address to answer there is no link-layer address to cache.
  if (ip.src.is_unspecified()) {
    if (!is_solicited_node(ip.dst)) return NdInvalid::unspecified_source_not_solicited_node;
    if (options.source_link_layer) return NdInvalid::unspecified_source_with_lla;
  }
  return NdInvalid::none;
}

NdInvalid validate_neighbor_advertisement(const NdIpHeader& ip, const Icmpv6View& icmp) {
  // RFC 4861 §7.1.2, in its order.
  NdInvalid why = header_checks(ip, icmp, Icmpv6Type::neighbor_advertisement, kNdNeighborAdvertisementLen);
  if (why != NdInvalid::none) return why;
  if (addr_at(icmp.bytes(), 8).is_multicast()) return NdInvalid::target_multicast;
  NdOptions options;
  if (why = option_checks(icmp, kNdNeighborAdvertisementLen, &options); why != NdInvalid::none) return why;
  const bool solicited = (u8(icmp.bytes(), 4) & 0x40) != 0;
  if (ip.dst.is_multicast() && solicited) return NdInvalid::solicited_to_multicast;
  return NdInvalid::none;
}

size_t write_router_solicitation(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                 std::optional<MacAddr> source_link_layer) {
  const size_t len = kNdRouterSolicitationLen + (source_link_layer ? kNdEthernetLlaLen : 0);
  assert(out.size() >= len);
  std::byte* p = out.data();
  std::memset(p, 0, kNdRouterSolicitationLen);
  p[0] = std::byte{static_cast<uint8_t>(Icmpv6Type::router_solicitation)};
  if (source_link_layer) {
    put_lla_option(p + kNdRouterSolicitationLen, NdOptionType::source_link_layer_address, *source_link_layer);
  }
  return finish(out, len, src, dst);
}

size_t write_router_advertisement(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                  const NdRouterAdvertisement& ra) {
  const NdOptions& o = ra.options;
  const size_t len = kNdRouterAdvertisementLen + (o.source_link_layer ? kNdEthernetLlaLen : 0) +
                     (o.mtu ? kNdMtuOptionLen : 0) + kNdPrefixInfoLen * o.prefix_count;
  assert(out.size() >= len);
  std::byte* p = out.data();
  std::memset(p, 0, len);
  p[0] = std::byte{static_cast<uint8_t>(Icmpv6Type::router_advertisement)};
  p[4] = std::byte{ra.cur_hop_limit};
  p[5] = std::byte{static_cast<uint8_t>((ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0))};
  store_be16(p + 6, ra.router_lifetime);
  store_be32(p + 8, ra.reachable_time);
  store_be32(p + 12, ra.retrans_timer);
  size_t at = kNdRouterAdvertisementLen;
  if (o.source_link_layer) at += put_lla_option(p + at, NdOptionType::source_link_layer_address, *o.source_link_layer);
  if (o.mtu) {
    p[at] = std::byte{static_cast<uint8_t>(NdOptionType::mtu)};
    p[at + 1] = std::byte{1};
    store_be32(p + at + 4, *o.mtu);
    at += kNdMtuOptionLen;
  }
  for (const NdPrefixInfo& prefix : o.prefix_list()) {
    p[at] = std::byte{static_cast<uint8_t>(NdOptionType::prefix_information)};
    p[at + 1] = std::byte{kNdPrefixInfoLen / kNdOptionUnit};
    p[at + 2] = std::byte{prefix.prefix_length};
    p[at + 3] = std::byte{static_cast<uint8_t>((prefix.on_link ? 0x80 : 0) | (prefix.autonomous ? 0x40 : 0))};
    store_be32(p + at + 4, prefix.valid_lifetime);
    store_be32(p + at + 8, prefix.preferred_lifetime);
    store_addr(p + at + 16, prefix.prefix);
    at += kNdPrefixInfoLen;
  }
  assert(at == len);
  return finish(out, len, src, dst);
}

size_t write_neighbor_solicitation(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                   const Ipv6Addr& target, std::optional<MacAddr> source_link_layer) {
  const size_t len = kNdNeighborSolicitationLen + (source_link_layer ? kNdEthernetLlaLen : 0);
  assert(out.size() >= len);
  std::byte* p = out.data();
  std::memset(p, 0, kNdNeighborSolicitationLen);
  p[0] = std::byte{static_cast<uint8_t>(Icmpv6Type::neighbor_solicitation)};
  store_addr(p + 8, target);
  if (source_link_layer) {
    put_lla_option(p + kNdNeighborSolicitationLen, NdOptionType::source_link_layer_address, *source_link_layer);
  }
  return finish(out, len, src, dst);
}

size_t write_neighbor_advertisement(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                    const NdNeighborAdvertisement& na) {
  const auto& tlla = na.options.target_link_layer;
  const size_t len = kNdNeighborAdvertisementLen + (tlla ? kNdEthernetLlaLen : 0);
  assert(out.size() >= len);
  std::byte* p = out.data();
  std::memset(p, 0, kNdNeighborAdvertisementLen);
  p[0] = std::byte{static_cast<uint8_t>(Icmpv6Type::neighbor_advertisement)};
  p[4] = std::byte{static_cast<uint8_t>((na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) | (na.override ? 0x20 : 0))};
  store_addr(p + 8, na.target);
  if (tlla) put_lla_option(p + kNdNeighborAdvertisementLen, NdOptionType::target_link_layer_address, *tlla);
  return finish(out, len, src, dst);
}

const char* to_string(NdInvalid why) {
  switch (why) {
    case NdInvalid::none: return "none";
    case NdInvalid::wrong_type: return "wrong_type";
    case NdInvalid::hop_limit_not_255: return "hop_limit_not_255";
    case NdInvalid::code_not_zero: return "code_not_zero";
    case NdInvalid::too_short: return "too_short";
    case NdInvalid::bad_option: return "bad_option";
    case NdInvalid::target_multicast: return "target_multicast";
    case NdInvalid::unspecified_source_with_lla: return "unspecified_source_with_lla";
    case NdInvalid::unspecified_source_not_solicited_node: return "unspecified_source_not_solicited_node";
    case NdInvalid::solicited_to_multicast: return "solicited_to_multicast";
    case NdInvalid::source_not_link_local: return "source_not_link_local";
  }
  return "unknown";
}

}  // namespace dtcp::wire
