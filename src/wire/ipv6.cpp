#include "wire/ipv6.hpp"

#include <algorithm>
#include <cstring>

namespace dtcp::wire {
namespace {

// Hop-by-hop and destination options carry the same TLVs (RFC 8200 §4.2).
constexpr uint8_t kOptionPad1 = 0;
constexpr uint8_t kOptionPadN = 1;

uint8_t byte_at(std::span<const std::byte> s, size_t i) { return std::to_integer<uint8_t>(s[i]); }

Ipv6Extensions stop(Ipv6ExtOutcome outcome, uint8_t protocol, size_t offset, size_t next_header_field,
                    size_t headers) {
  Ipv6Extensions r;
  r.outcome = outcome;
  r.protocol = protocol;
  r.offset = static_cast<uint32_t>(offset);
  r.next_header_field = static_cast<uint32_t>(next_header_field);
  r.headers = static_cast<uint8_t>(headers);
  return r;
}

Ipv6Extensions problem(Ipv6Extensions r, Icmpv6ParamProblem code, size_t pointer, bool even_if_multicast = false) {
  r.problem_code = code;
  r.problem_pointer = static_cast<uint32_t>(pointer);
  r.problem_even_if_multicast = even_if_multicast;
  return r;
}

// Checks the TLVs of one options header (`header` is the whole header, `at` its offset from the
// IPv6 header). Returns upper_layer when every option may be skipped, else why not.
Ipv6Extensions check_options(std::span<const std::byte> header, size_t at, Ipv6Extensions r) {
  size_t i = 2;  // after Next Header and Hdr Ext Len
  while (i < header.size()) {
    const uint8_t type = byte_at(header, i);
    if (type == kOptionPad1) {  // the one option without a length byte
      ++i;
      continue;
    }
    if (i + 2 > header.size() || i + 2 + byte_at(header, i + 1) > header.size()) {
      r.outcome = Ipv6ExtOutcome::bad_option_length;
      return r;
    }
    if (type != kOptionPadN) {
      // RFC 8200 §4.2: the two high bits of an unrecognised option's type say what to do.
      switch (type >> 6) {
        case 0: break;  // skip over it
        case 1:
          r.outcome = Ipv6ExtOutcome::option_discard;
          return r;
        case 2:
          r.outcome = Ipv6ExtOutcome::unrecognized_option;
          return problem(r, Icmpv6ParamProblem::unrecognized_option, at + i, /*even_if_multicast=*/true);
        default:
          r.outcome = Ipv6ExtOutcome::unrecognized_option;
          return problem(r, Icmpv6ParamProblem::unrecognized_option, at + i);
      }
    }
    i += 2 + byte_at(header, i + 1);
  }
  return r;
}

Ipv6Extensions walk(uint8_t first_next_header, std::span<const std::byte> after_header, size_t max_headers,
                    bool act_on_contents) {
  uint8_t next = first_next_header;
  size_t pos = 0;  // in after_header
  size_t next_header_field = kIpv6NextHeaderOffset;
  for (size_t count = 0;; ++count) {
    const size_t at = kIpv6HeaderLen + pos;
    auto result = [&](Ipv6ExtOutcome outcome) { return stop(outcome, next, at, next_header_field, count); };
    size_t len = 0;
    switch (static_cast<Ipv6NextHeader>(next)) {
      case Ipv6NextHeader::hop_by_hop:
        // RFC 8200 §4: Next Header 0 anywhere but in the fixed header is treated as an
        // unrecognised Next Header (code 1), pointing at the field that holds the 0.
        if (count != 0) {
          return problem(result(Ipv6ExtOutcome::hop_by_hop_not_first), Icmpv6ParamProblem::unrecognized_next_header,
                         next_header_field);
        }
        [[fallthrough]];
      case Ipv6NextHeader::destination_options:
      case Ipv6NextHeader::routing:
        if (pos + 2 > after_header.size()) return result(Ipv6ExtOutcome::truncated);
        len = (size_t{byte_at(after_header, pos + 1)} + 1) * 8;  // Hdr Ext Len: 8-octet units past the first 8
        break;
      case Ipv6NextHeader::fragment:
        return result(Ipv6ExtOutcome::fragment);
      case Ipv6NextHeader::no_next_header:
        return result(Ipv6ExtOutcome::no_next_header);
      case Ipv6NextHeader::esp:
      case Ipv6NextHeader::ah:
        return problem(result(Ipv6ExtOutcome::unrecognized_next_header), Icmpv6ParamProblem::unrecognized_next_header,
                       next_header_field);
      default:
        return result(Ipv6ExtOutcome::upper_layer);
    }
    // A chain is finite only because the packet is; bound the work per packet as well.
    if (count == max_headers) return result(Ipv6ExtOutcome::too_many_headers);
    if (pos + len > after_header.size()) return result(Ipv6ExtOutcome::truncated);
    const auto header = after_header.subspan(pos, len);
    if (act_on_contents) {
      if (next == static_cast<uint8_t>(Ipv6NextHeader::routing)) {
        // RFC 8200 §4.4: with segments left, an unrecognised routing type is a parameter
        // problem (code 0) pointing at the type. dtcp is a host and forwards nothing, so every
        // type is unrecognised; with no segments left the header is ignored.
        if (byte_at(header, 3) != 0) {
          return problem(result(Ipv6ExtOutcome::unrecognized_routing_type), Icmpv6ParamProblem::erroneous_header_field,
                         at + 2);
        }
      } else {
        const auto checked = check_options(header, at, result(Ipv6ExtOutcome::upper_layer));
        if (!checked.ok()) return checked;
      }
    }
    next_header_field = at;
    next = byte_at(header, 0);
    pos += len;
  }
}

}  // namespace

Parsed<Ipv6View> Ipv6View::parse(std::span<const std::byte> packet) { return parse_prefix(packet, packet.size()); }

Parsed<Ipv6View> Ipv6View::parse_prefix(std::span<const std::byte> packet, size_t packet_len) {
  if (packet.size() < kIpv6HeaderLen) return ParseError::truncated;
  if ((std::to_integer<uint8_t>(packet[0]) >> 4) != 6) return ParseError::bad_version;
  const size_t total = kIpv6HeaderLen + load_be16(packet.data() + 4);
  if (total > packet_len) return ParseError::truncated;
  return Ipv6View(packet.first(std::min(total, packet.size())));
}

void write_ipv6(std::span<std::byte> out, const Ipv6Header& header) {
  assert(out.size() >= kIpv6HeaderLen);
  assert(header.flow_label < (1u << 20));
  std::byte* p = out.data();
  store_be32(p, 6u << 28 | uint32_t{header.traffic_class} << 20 | header.flow_label);
  store_be16(p + 4, header.payload_len);
  p[6] = std::byte{header.next_header};
  p[7] = std::byte{header.hop_limit};
  std::memcpy(p + 8, header.src.bytes.data(), 16);
  std::memcpy(p + 24, header.dst.bytes.data(), 16);
}

Ipv6Extensions walk_ipv6_extensions(uint8_t first_next_header, std::span<const std::byte> after_header,
                                    size_t max_headers) {
  return walk(first_next_header, after_header, max_headers, /*act_on_contents=*/true);
}

Ipv6Extensions walk_quoted_ipv6_extensions(uint8_t first_next_header, std::span<const std::byte> after_header,
                                           size_t max_headers) {
  return walk(first_next_header, after_header, max_headers, /*act_on_contents=*/false);
}

const char* to_string(Ipv6ExtOutcome outcome) {
  switch (outcome) {
    case Ipv6ExtOutcome::upper_layer: return "upper_layer";
    case Ipv6ExtOutcome::no_next_header: return "no_next_header";
    case Ipv6ExtOutcome::fragment: return "fragment";
    case Ipv6ExtOutcome::truncated: return "truncated";
    case Ipv6ExtOutcome::bad_option_length: return "bad_option_length";
    case Ipv6ExtOutcome::too_many_headers: return "too_many_headers";
    case Ipv6ExtOutcome::option_discard: return "option_discard";
    case Ipv6ExtOutcome::hop_by_hop_not_first: return "hop_by_hop_not_first";
    case Ipv6ExtOutcome::unrecognized_next_header: return "unrecognized_next_header";
    case Ipv6ExtOutcome::unrecognized_routing_type: return "unrecognized_routing_type";
    case Ipv6ExtOutcome::unrecognized_option: return "unrecognized_option";
  }
  return "unknown";
}

}  // namespace dtcp::wire
