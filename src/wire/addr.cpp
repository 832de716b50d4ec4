#include "wire/addr.hpp"

#include <cstdio>

namespace dtcp::wire {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  constexpr size_t kLen = 17;  // 6 pairs of digits and 5 colons
  if (text.size() != kLen) return std::nullopt;
  MacAddr mac;
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    const int hi = hex_digit(text[at]);
    const int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[at + 2] != ':') return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3],
                bytes[4], bytes[5]);
  return buf;
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  uint32_t value = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const size_t start = pos;
    uint32_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      n = n * 10 + static_cast<uint32_t>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    if (digits == 0 || n > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    value = (value << 8) | n;
  }
  if (pos != text.size()) return std::nullopt;
  return Ipv4Addr{value};
}

std::string Ipv4Addr::to_string() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                value & 0xff);
  return buf;
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  // Groups before and after the "::" (if any), filled from both ends.
  std::array<uint16_t, 8> head{}, tail{};
  size_t n_head = 0, n_tail = 0;
  bool gap = false;
  size_t pos = 0;
  if (text.size() >= 2 && text[0] == ':' && text[1] == ':') {
    gap = true;
    pos = 2;
    if (pos == text.size()) return Ipv6Addr{};
  } else if (!text.empty() && text[0] == ':') {
    return std::nullopt;
  }
  while (pos < text.size()) {
    auto& groups = gap ? tail : head;
    size_t& count = gap ? n_tail : n_head;
    // A dotted quad may end the address and stands for two groups.
    const size_t next_colon = text.find(':', pos);
    const std::string_view field = text.substr(pos, next_colon == std::string_view::npos ? text.npos : next_colon - pos);
    if (next_colon == std::string_view::npos && field.find('.') != std::string_view::npos) {
      const auto v4 = Ipv4Addr::parse(field);
      if (!v4 || count + 2 > 8) return std::nullopt;
      groups[count++] = static_cast<uint16_t>(v4->value >> 16);
      groups[count++] = static_cast<uint16_t>(v4->value);
      pos = text.size();
      break;
    }
    if (field.empty() || field.size() > 4 || count >= 8) return std::nullopt;
    uint16_t g = 0;
    for (char c : field) {
      const int d = hex_digit(c);
      if (d < 0) return std::nullopt;
      g = static_cast<uint16_t>(g << 4 | d);
    }
    groups[count++] = g;
    pos += field.size();
    if (pos == text.size()) break;
    ++pos;  // the ':'
    if (pos < text.size() && text[pos] == ':') {
      if (gap) return std::nullopt;  // a second "::"
      gap = true;
      ++pos;
    } else if (pos == text.size()) {
      return std::nullopt;  // a single trailing ':'
    }
  }
  if (n_head + n_tail > (gap ? 7u : 8u) || (!gap && n_head != 8)) return std::nullopt;
  Ipv6Addr a;
  for (size_t i = 0; i < n_head; ++i) {
    a.bytes[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<uint8_t>(head[i]);
  }
  for (size_t i = 0; i < n_tail; ++i) {
    const size_t at = 8 - n_tail + i;
    a.bytes[2 * at] = static_cast<uint8_t>(tail[i] >> 8);
    a.bytes[2 * at + 1] = static_cast<uint8_t>(tail[i]);
  }
  return a;
}

std::string Ipv6Addr::to_string() const {
  if (is_v4_mapped()) return "::ffff:" + IpAddr(*this).v4().to_string();
  // RFC 5952 §4.2: the longest run of zero groups, at least two long, the first if tied.
  size_t best_at = 8, best_len = 0;
  for (size_t i = 0; i < 8;) {
    if (group(i) != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && group(j) == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best_at = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char buf[8];
  for (size_t i = 0; i < 8; ++i) {
    if (i == best_at) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", group(i));
    out += buf;
  }
  return out;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (auto v4 = Ipv4Addr::parse(text)) return IpAddr(*v4);
  if (auto v6 = Ipv6Addr::parse(text)) return IpAddr(*v6);
  return std::nullopt;
}

std::string IpAddr::to_string() const { return is_v4() ? v4().to_string() : v6().to_string(); }

}  // namespace dtcp::wire
