#include "dpdk/capture_spec.hpp"

#include <charconv>

namespace dtcp::dpdk {
namespace {

std::optional<uint64_t> parse_count(std::string_view text, bool allow_suffix) {
  uint64_t multiplier = 1;
  if (allow_suffix && !text.empty()) {
    switch (text.back()) {
      case 'K': case 'k': multiplier = uint64_t{1} << 10; break;
      case 'M': case 'm': multiplier = uint64_t{1} << 20; break;
      case 'G': case 'g': multiplier = uint64_t{1} << 30; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value > UINT64_MAX / multiplier) return std::nullopt;
  return value * multiplier;
}

uint16_t read_be16(std::span<const std::byte> bytes, size_t offset) {
  return static_cast<uint16_t>((std::to_integer<unsigned>(bytes[offset]) << 8) | std::to_integer<unsigned>(bytes[offset + 1]));
}

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

bool l4_ports_match(std::span<const std::byte> frame, size_t l4_offset, uint8_t protocol, uint16_t port) {
  if (protocol != kProtoTcp && protocol != kProtoUdp) return false;
  if (frame.size() < l4_offset + 4) return false;  // both ports lead the TCP and the UDP header
  return read_be16(frame, l4_offset) == port || read_be16(frame, l4_offset + 2) == port;
}

}  // namespace

std::variant<CaptureSpec, std::string> parse_capture_spec(std::string_view text) {
  CaptureSpec spec;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view option = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (option.empty()) continue;
    const size_t equals = option.find('=');
    if (equals == std::string_view::npos) return "capture option '" + std::string(option) + "' needs =VALUE";
    const std::string_view key = option.substr(0, equals);
    const std::string_view value = option.substr(equals + 1);
    const std::string quoted = "capture " + std::string(key) + ": ";
    if (key == "file") {
      if (value.empty()) return quoted + "needs a path";
      spec.file = value;
    } else if (key == "port") {
      if (value.empty()) return quoted + "needs a port name or id";
      spec.ports.emplace_back(value);
    } else if (key == "dir") {
      if (value == "rx") {
        spec.direction = CaptureDirection::rx;
      } else if (value == "tx") {
        spec.direction = CaptureDirection::tx;
      } else if (value == "both") {
        spec.direction = CaptureDirection::both;
      } else {
        return quoted + "expected rx, tx or both, got '" + std::string(value) + "'";
      }
    } else if (key == "filter") {
      const auto n = parse_count(value, false);
      if (!n || *n < 1 || *n > 65535) return quoted + "expected a TCP/UDP port 1..65535, got '" + std::string(value) + "'";
      spec.l4_port = static_cast<uint16_t>(*n);
    } else if (key == "count") {
      const auto n = parse_count(value, false);
      if (!n) return quoted + "expected a packet count, got '" + std::string(value) + "'";
      spec.packet_limit = *n;
    } else if (key == "bytes") {
      const auto n = parse_count(value, true);
      if (!n) return quoted + "expected a byte count (suffix K, M or G), got '" + std::string(value) + "'";
      spec.byte_limit = *n;
    } else if (key == "snaplen") {
      // 14: an Ethernet header, the least a reader can make sense of.
      const auto n = parse_count(value, false);
      if (!n || *n < 14 || *n > 65535) return quoted + "expected 14..65535, got '" + std::string(value) + "'";
      spec.snaplen = static_cast<uint32_t>(*n);
    } else {
      return "unknown capture option '" + std::string(key) + "' (known: file, port, dir, filter, count, bytes, snaplen)";
    }
  }
  if (spec.file.empty()) return std::string("capture: file=PATH is required");
  return spec;
}

std::variant<CaptureCommand, std::string> parse_capture_command(std::string_view text) {
  const size_t comma = text.find(',');
  const std::string_view action = text.substr(0, comma);
  const std::string_view rest = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  CaptureCommand command;
  if (action == "start") {
    auto spec = parse_capture_spec(rest);
    if (auto* error = std::get_if<std::string>(&spec)) return *error;
    command.action = CaptureCommand::Action::start;
    command.spec = std::get<CaptureSpec>(std::move(spec));
    return command;
  }
  if (action == "stop" || action == "status" || action.empty()) {
    if (!rest.empty()) return "capture " + std::string(action.empty() ? "status" : action) + " takes no options";
    command.action = action == "stop" ? CaptureCommand::Action::stop : CaptureCommand::Action::status;
    return command;
  }
  return "unknown capture action '" + std::string(action) + "' (expected start,OPTIONS or stop or status)";
}

bool frame_matches_l4_port(std::span<const std::byte> frame, uint16_t port) {
  if (frame.size() < 14) return false;
  size_t offset = 12;
  uint16_t ether_type = read_be16(frame, offset);
  offset += 2;
  if (ether_type == kEtherTypeVlan) {
    if (frame.size() < offset + 4) return false;
    ether_type = read_be16(frame, offset + 2);
    offset += 4;
  }
  if (ether_type == kEtherTypeIpv4) {
    // RFC 791: IHL counts 32-bit words; a non-zero fragment offset means no L4 header here.
    if (frame.size() < offset + 20) return false;
    const unsigned ihl = (std::to_integer<unsigned>(frame[offset]) & 0x0f) * 4;
    if (ihl < 20) return false;
    if ((read_be16(frame, offset + 6) & 0x1fff) != 0) return false;
    const auto protocol = std::to_integer<uint8_t>(frame[offset + 9]);
    return l4_ports_match(frame, offset + ihl, protocol, port);
  }
  if (ether_type == kEtherTypeIpv6) {
    if (frame.size() < offset + 40) return false;
    auto next = std::to_integer<uint8_t>(frame[offset + 6]);
    offset += 40;
    // RFC 8200 §4: hop-by-hop (0), routing (43) and destination options (60) give their length
    // in 8-octet units after the first 8; a fragment header (44) is 8 octets.
    for (int headers = 0; headers < 8; headers++) {
      if (next == 0 || next == 43 || next == 60) {
        if (frame.size() < offset + 2) return false;
        const auto following = std::to_integer<uint8_t>(frame[offset]);
        offset += (std::to_integer<size_t>(frame[offset + 1]) + 1) * 8;
        next = following;
      } else if (next == 44) {
        if (frame.size() < offset + 8) return false;
        if ((read_be16(frame, offset + 2) & 0xfff8) != 0) return false;  // not the first fragment
        next = std::to_integer<uint8_t>(frame[offset]);
        offset += 8;
      } else {
        return l4_ports_match(frame, offset, next, port);
      }
    }
    return false;
  }
  return false;
}

}  // namespace dtcp::dpdk
