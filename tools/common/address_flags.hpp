// Address flags shared by the tools, as pure parsers: they return the value or say what was
// wrong (the tools turn that into a usage error naming the flag), so tests can feed them text.
//
// IPv6 addresses are written in brackets wherever a port follows, as URLs (RFC 3986 §3.2.2),
// curl and ss write them: "[2001:db8::1]:80". A bare IPv6 address is ambiguous there: in
// "2001:db8::1:80" the port could be any of the last groups.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dtcp/tcp.hpp"
#include "wire/addr.hpp"

namespace dtcp::tools {

// A flag value that may select a dtcp port by name: [NAME:]PORT for servers, and
// [NAME:]ADDR:PORT or [NAME:][IPV6]:PORT for clients ("b:198.18.1.1:7", "b:[2001:db8::1]:7").
struct NamedEndpoint {
  std::string port_name;  // empty: no NAME given
  wire::IpAddr addr{};    // with_addr only
  uint16_t port = 0;
};

namespace detail {
inline std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 0xffff) return std::nullopt;
  return static_cast<uint16_t>(port);
}
// A port name as config sections spell it ([port.NAME]): no ':' or brackets, not empty.
inline bool valid_port_name(std::string_view name) {
  return !name.empty() && name.find_first_of(":[]") == std::string_view::npos;
}
}  // namespace detail

namespace detail {
// ADDR:PORT or [IPV6]:PORT with a unicast address and a port other than 0; `why` says what is
// wrong otherwise.
inline std::optional<Endpoint> parse_peer(std::string_view text, std::string& why) {
  const auto parsed = Endpoint::parse(text);
  if (!parsed) {
    // "2001:db8::2:80": an IPv6 address before the last colon (or all of it) without brackets.
    const size_t last_colon = text.rfind(':');
    const bool bare_ipv6 = !text.empty() && text.front() != '[' && last_colon != std::string_view::npos &&
                           (wire::Ipv6Addr::parse(text.substr(0, last_colon)) || wire::Ipv6Addr::parse(text));
    why = bare_ipv6 ? "an IPv6 address needs brackets" : "bad address or port";
    return std::nullopt;
  }
  if (parsed->port == 0) {
    why = "the port must be 1..65535";
    return std::nullopt;
  }
  if (parsed->addr.is_unusable_peer()) {
    why = "'" + parsed->addr.to_string() + "' is not a unicast address";
    return std::nullopt;
  }
  return parsed;
}
}  // namespace detail

// A peer to connect to (--target): ADDR:PORT or [IPV6]:PORT. On failure returns nullopt and
// sets `error` to what was wrong, without the flag's name.
inline std::optional<Endpoint> parse_target_endpoint(std::string_view text, std::string& error) {
  std::string why;
  auto target = detail::parse_peer(text, why);
  if (!target) error = "expected ADDR:PORT or [IPV6]:PORT, got '" + std::string(text) + "': " + why;
  return target;
}

// Parses `text` as [NAME:]PORT (with_addr false) or [NAME:]ADDR:PORT (with_addr true). Port 0
// is refused (a listener or a target needs a real port). On failure returns nullopt and sets
// `error` to what was wrong, without the flag's name.
inline std::optional<NamedEndpoint> parse_named_endpoint(std::string_view text, bool with_addr, std::string& error) {
  const std::string form = with_addr ? "[NAME:]ADDR:PORT (IPv6 in brackets: [NAME:][2001:db8::1]:PORT)" : "[NAME:]PORT";
  auto fail = [&](const std::string& why) -> std::optional<NamedEndpoint> {
    error = "expected " + form + ", got '" + std::string(text) + "'" + (why.empty() ? "" : ": " + why);
    return std::nullopt;
  };
  NamedEndpoint ep;
  if (!with_addr) {
    std::string_view port_text = text;
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      ep.port_name = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (!detail::valid_port_name(ep.port_name)) return fail("bad port name");
    }
    const auto port = detail::parse_port(port_text);
    if (!port) return fail("the port must be 1..65535");
    ep.port = *port;
    return ep;
  }
  // NAME, if any, ends at the ':' before the address; the address is either bracketed (IPv6)
  // or a dotted quad, so outside brackets it has no ':' of its own.
  const size_t bracket = text.find('[');
  size_t at = 0;
  if (bracket != std::string_view::npos) {
    if (bracket > 0 && text[bracket - 1] != ':') return fail("");
    at = bracket;
  } else {
    if (std::count(text.begin(), text.end(), ':') > 2) return fail("an IPv6 address needs brackets");
    const size_t port_colon = text.rfind(':');
    if (port_colon == std::string_view::npos) return fail("");
    const size_t addr_colon = port_colon == 0 ? std::string_view::npos : text.rfind(':', port_colon - 1);
    if (addr_colon != std::string_view::npos) at = addr_colon + 1;
  }
  if (at > 0) {
    ep.port_name = std::string(text.substr(0, at - 1));
    if (!detail::valid_port_name(ep.port_name)) return fail("bad port name");
  }
  std::string why;
  const auto target = detail::parse_peer(text.substr(at), why);
  if (!target) return fail(why);
  ep.addr = target->addr;
  ep.port = target->port;
  return ep;
}

// An address range A[-B] of one family, for --source: `count` addresses from `first`, B - A
// within the low 64 bits (every IPv4 address is one IPv4-mapped /96) and below `max_count`.
struct AddressRange {
  wire::IpAddr first{};
  uint32_t count = 1;
};

inline std::optional<AddressRange> parse_address_range(std::string_view text, uint32_t max_count, std::string& error) {
  const std::string expected = "expected A[-B] of one family with A <= B, at most " + std::to_string(max_count) +
                               " addresses (198.18.0.10-198.18.0.73 or 2001:db8::10-2001:db8::4f), got '" +
                               std::string(text) + "'";
  // Neither family's text form has a '-', so the first one separates A and B.
  const size_t dash = text.find('-');
  const std::string_view first_text = text.substr(0, dash);
  const std::string_view last_text = dash == std::string_view::npos ? first_text : text.substr(dash + 1);
  const auto first = wire::IpAddr::parse(first_text);
  const auto last = wire::IpAddr::parse(last_text);
  if (!first || !last) {
    error = "bad IPv4 or IPv6 address in '" + std::string(text) + "'";
    return std::nullopt;
  }
  const wire::Ipv6Addr f = first->v6(), l = last->v6();
  if (first->is_v4() != last->is_v4() || l.high_be() != f.high_be() || l.low_be() < f.low_be() ||
      l.low_be() - f.low_be() >= max_count) {
    error = expected;
    return std::nullopt;
  }
  // Loopback stays allowed: the kernel backend binds 127.0.0.x sources in local runs.
  if (first->is_unusable_peer()) {
    error = "'" + first->to_string() + "' is not a source address";
    return std::nullopt;
  }
  return AddressRange{*first, static_cast<uint32_t>(l.low_be() - f.low_be() + 1)};
}

// One address of either family (--listen-addr): the unspecified ones ("0.0.0.0", "::") are
// allowed, they mean every address.
inline std::optional<wire::IpAddr> parse_listen_address(std::string_view text, std::string& error) {
  const auto a = wire::IpAddr::parse(text);
  if (!a || a->is_multicast()) {
    error = "expected an IPv4 or IPv6 unicast address (or 0.0.0.0, ::), got '" + std::string(text) + "'";
    return std::nullopt;
  }
  return a;
}

}  // namespace dtcp::tools
