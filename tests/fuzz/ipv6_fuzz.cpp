// IPv6, its extension headers, ICMPv6 and neighbour discovery (src/wire/ipv6.hpp,
// src/wire/icmpv6.hpp): the views and offsets stay inside the buffer, the walk stays within its
// bound and points its parameter problems inside the packet, checksum verification only ever
// rejects more, an ND message that validates also parses, and what parses is written back by the
// writers (the fixed header byte for byte, ND messages field for field).
#include <array>
#include <cstring>
#include <vector>

#include "fuzz_env.hpp"
#include "wire/checksum.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv6.hpp"

using namespace dtcp;

namespace {

uint32_t touch(std::span<const std::byte> s) {
  uint32_t acc = 0;
  for (std::byte b : s) acc += std::to_integer<uint32_t>(b);
  return acc;
}

void check_walk(const wire::Ipv6Extensions& r, size_t packet_len) {
  DTCP_FUZZ_CHECK(r.headers <= wire::kIpv6MaxExtensionHeaders);
  DTCP_FUZZ_CHECK(r.offset >= wire::kIpv6HeaderLen && r.offset <= packet_len);
  DTCP_FUZZ_CHECK(r.next_header_field < r.offset);
  DTCP_FUZZ_CHECK((r.headers == 0) == (r.next_header_field == wire::kIpv6NextHeaderOffset));
  if (r.needs_parameter_problem()) DTCP_FUZZ_CHECK(r.problem_pointer < packet_len);
  if (r.problem_even_if_multicast) DTCP_FUZZ_CHECK(r.outcome == wire::Ipv6ExtOutcome::unrecognized_option);
  DTCP_FUZZ_CHECK(std::strcmp(wire::to_string(r.outcome), "unknown") != 0);
}

void check_options_round_trip(const wire::NdOptions& a, const wire::NdOptions& b) {
  DTCP_FUZZ_CHECK(a.source_link_layer == b.source_link_layer);
  DTCP_FUZZ_CHECK(a.mtu == b.mtu);
  DTCP_FUZZ_CHECK(a.prefix_count == b.prefix_count);
  for (size_t i = 0; i < a.prefix_count; ++i) DTCP_FUZZ_CHECK(a.prefixes[i] == b.prefixes[i]);
}

void exercise_nd(const wire::Ipv6View& ip, const wire::Icmpv6View& icmp) {
  const wire::NdIpHeader h{ip.src(), ip.dst(), ip.hop_limit()};
  const wire::Ipv6Addr src = ip.src(), dst = ip.dst();
  std::array<std::byte, wire::kNdRouterAdvertisementLen + 16 + 32 * wire::kNdMaxPrefixes> out{};
  auto reparse = [&](size_t n) {
    const auto again = wire::Icmpv6View::parse(std::span(out).first(n), src, dst, true);
    DTCP_FUZZ_CHECK(again);
    return *again;
  };

  const auto rs_why = wire::validate_router_solicitation(h, icmp);
  const auto rs = wire::parse_router_solicitation(icmp);
  if (rs_why == wire::NdInvalid::none) DTCP_FUZZ_CHECK(rs);
  if (rs) {
    const auto again = wire::parse_router_solicitation(reparse(
        wire::write_router_solicitation(out, src, dst, rs->options.source_link_layer)));
    DTCP_FUZZ_CHECK(again && again->options.source_link_layer == rs->options.source_link_layer);
  }

  const auto ra_why = wire::validate_router_advertisement(h, icmp);
  const auto ra = wire::parse_router_advertisement(icmp);
  if (ra_why == wire::NdInvalid::none) DTCP_FUZZ_CHECK(ra);
  if (ra) {
    const auto again = wire::parse_router_advertisement(reparse(wire::write_router_advertisement(out, src, dst, *ra)));
    DTCP_FUZZ_CHECK(again);
    DTCP_FUZZ_CHECK(again->cur_hop_limit == ra->cur_hop_limit && again->managed == ra->managed &&
                    again->other == ra->other && again->router_lifetime == ra->router_lifetime &&
                    again->reachable_time == ra->reachable_time && again->retrans_timer == ra->retrans_timer);
    check_options_round_trip(ra->options, again->options);
  }

  const auto ns_why = wire::validate_neighbor_solicitation(h, icmp);
  const auto ns = wire::parse_neighbor_solicitation(icmp);
  if (ns_why == wire::NdInvalid::none) {
    DTCP_FUZZ_CHECK(ns);
    DTCP_FUZZ_CHECK(!ns->target.is_multicast());
  }
  if (ns) {
    const auto again = wire::parse_neighbor_solicitation(
        reparse(wire::write_neighbor_solicitation(out, src, dst, ns->target, ns->options.source_link_layer)));
    DTCP_FUZZ_CHECK(again && again->target == ns->target &&
                    again->options.source_link_layer == ns->options.source_link_layer);
  }

  const auto na_why = wire::validate_neighbor_advertisement(h, icmp);
  const auto na = wire::parse_neighbor_advertisement(icmp);
  if (na_why == wire::NdInvalid::none) DTCP_FUZZ_CHECK(na);
  if (na) {
    const auto again = wire::parse_neighbor_advertisement(reparse(wire::write_neighbor_advertisement(out, src, dst, *na)));
    DTCP_FUZZ_CHECK(again && again->router == na->router && again->solicited == na->solicited &&
                    again->override == na->override && again->target == na->target &&
                    again->options.target_link_layer == na->options.target_link_layer);
  }

  // At most one of the four is the message's type; the others say so.
  int own_type = 0;
  for (auto why : {rs_why, ra_why, ns_why, na_why}) {
    DTCP_FUZZ_CHECK(std::strcmp(wire::to_string(why), "unknown") != 0);
    own_type += why != wire::NdInvalid::wrong_type;
  }
  DTCP_FUZZ_CHECK(own_type <= 1);
}

void exercise_icmpv6(const wire::Ipv6View& ip, std::span<const std::byte> message) {
  const auto lax = wire::Icmpv6View::parse(message, ip.src(), ip.dst(), false);
  const auto strict = wire::Icmpv6View::parse(message, ip.src(), ip.dst(), true);
  if (!lax) {
    DTCP_FUZZ_CHECK(message.size() < wire::kIcmpv6HeaderLen && !strict);
    return;
  }
  if (strict) DTCP_FUZZ_CHECK(lax);
  DTCP_FUZZ_CHECK(lax->payload().size() + wire::kIcmpv6HeaderLen == message.size());
  (void)touch(lax->payload());

  if (lax->is_error()) {
    const auto quote = wire::parse_icmpv6_quote(lax->payload());
    if (quote) {
      DTCP_FUZZ_CHECK(quote->transport.size() >= 8);
      DTCP_FUZZ_CHECK(quote->transport.data() + quote->transport.size() == message.data() + message.size());
      (void)touch(quote->transport);
    }
    const auto tcp = wire::parse_icmpv6_tcp_error(*lax);
    if (tcp) {
      DTCP_FUZZ_CHECK(quote && quote->protocol == 6);
      DTCP_FUZZ_CHECK(tcp->local == quote->src && tcp->remote == quote->dst);
      // Error types other than RFC 4443's four (0, 5..127) mean nothing to TCP.
      DTCP_FUZZ_CHECK((tcp->kind == wire::IcmpErrorKind::other) == (tcp->type == 0 || tcp->type > 4));
    }
  } else {
    DTCP_FUZZ_CHECK(wire::parse_icmpv6_tcp_error(*lax).error() == wire::ParseError::bad_type);
  }
  exercise_nd(ip, *lax);

  if (!strict) return;
  // Written back: the same bytes around the checksum (0x0000 and 0xffff are the same sum), and
  // the new checksum verifies; also in place, as an echo reply is built over its request.
  std::vector<std::byte> out(message.size());
  const size_t n = wire::write_icmpv6(out, ip.src(), ip.dst(), lax->type(), lax->code(), lax->rest_of_header(),
                                      lax->payload());
  DTCP_FUZZ_CHECK(n == message.size());
  DTCP_FUZZ_CHECK(std::memcmp(out.data(), message.data(), 2) == 0);
  DTCP_FUZZ_CHECK(std::memcmp(out.data() + 4, message.data() + 4, n - 4) == 0);
  DTCP_FUZZ_CHECK(wire::Icmpv6View::parse(out, ip.src(), ip.dst(), true));
  std::vector<std::byte> in_place(message.begin(), message.end());
  const std::span<const std::byte> payload(in_place.data() + wire::kIcmpv6HeaderLen, n - wire::kIcmpv6HeaderLen);
  wire::write_icmpv6(in_place, ip.dst(), ip.src(), lax->type(), lax->code(), lax->rest_of_header(), payload);
  DTCP_FUZZ_CHECK(std::memcmp(in_place.data() + 4, message.data() + 4, n - 4) == 0);
  DTCP_FUZZ_CHECK(wire::Icmpv6View::parse(in_place, ip.dst(), ip.src(), true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> packet(reinterpret_cast<const std::byte*>(data), size);

  // The walk straight over the input too, so chains need not sit behind a valid fixed header.
  if (size > 0) {
    const auto raw = wire::walk_ipv6_extensions(data[0], packet.subspan(1));
    check_walk(raw, wire::kIpv6HeaderLen + size - 1);
    check_walk(wire::walk_quoted_ipv6_extensions(data[0], packet.subspan(1)), wire::kIpv6HeaderLen + size - 1);
  }
  // ND options straight over the input as well.
  if (const auto options = wire::parse_nd_options(packet)) {
    DTCP_FUZZ_CHECK(options->prefix_count <= wire::kNdMaxPrefixes);
  }

  const auto parsed = wire::Ipv6View::parse(packet);
  if (!parsed) {
    DTCP_FUZZ_CHECK(parsed.error() == wire::ParseError::truncated || parsed.error() == wire::ParseError::bad_version);
    return 0;
  }
  const wire::Ipv6View& ip = *parsed;
  DTCP_FUZZ_CHECK((data[0] >> 4) == 6);
  DTCP_FUZZ_CHECK(ip.bytes().data() == packet.data());
  DTCP_FUZZ_CHECK(ip.bytes().size() == wire::kIpv6HeaderLen + ip.payload_length() && ip.bytes().size() <= size);
  DTCP_FUZZ_CHECK(ip.header().size() + ip.payload().size() == ip.bytes().size());
  (void)touch(ip.payload());

  // The fixed header written back byte for byte.
  std::array<std::byte, wire::kIpv6HeaderLen> header{};
  wire::write_ipv6(header, {.src = ip.src(), .dst = ip.dst(), .next_header = ip.next_header(),
                            .hop_limit = ip.hop_limit(), .traffic_class = ip.traffic_class(),
                            .flow_label = ip.flow_label(), .payload_len = ip.payload_length()});
  DTCP_FUZZ_CHECK(std::memcmp(header.data(), data, header.size()) == 0);

  const auto walked = wire::walk_ipv6_extensions(ip.next_header(), ip.payload());
  check_walk(walked, ip.bytes().size());
  if (walked.ok() && walked.protocol == static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6)) {
    exercise_icmpv6(ip, ip.bytes().subspan(walked.offset));
  }
  return 0;
}
