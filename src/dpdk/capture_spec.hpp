// What an in-process packet capture records (src/dpdk/capture.cpp) and the pieces of it that need
// no DPDK: the option string the `/dtcp/capture` telemetry command, `--capture` and
// `[runtime] capture` take, and the TCP/UDP port filter applied to each frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dtcp::dpdk {

enum class CaptureDirection : uint8_t { rx = 1, tx = 2, both = 3 };

struct CaptureSpec {
  std::string file;                   // pcapng output path, created or truncated
  std::vector<std::string> ports;     // config names or DPDK port ids; empty: every port
  CaptureDirection direction = CaptureDirection::both;
  std::optional<uint16_t> l4_port;    // keep only TCP/UDP frames with this source or destination port
  uint64_t packet_limit = 0;          // stop after this many packets; 0: no limit
  uint64_t byte_limit = 0;            // stop before packet blocks exceed this many file bytes; 0: no limit
  uint32_t snaplen = 65535;           // bytes kept of each frame
};

// Parses `file=PATH,port=NAME,dir=rx|tx|both,filter=PORT,count=N,bytes=N,snaplen=N` (any order;
// `port` may repeat; `bytes` takes a K, M or G suffix). Returns the spec, or a one-line error
// naming the offending option.
std::variant<CaptureSpec, std::string> parse_capture_spec(std::string_view text);

// A command for `/dtcp/capture`: `start,OPTIONS`, `stop` or `status`.
struct CaptureCommand {
  enum class Action : uint8_t { start, stop, status } action = Action::status;
  CaptureSpec spec;  // for start
};
std::variant<CaptureCommand, std::string> parse_capture_command(std::string_view text);

// True when `frame` (Ethernet, optionally one 802.1Q tag) carries IPv4 or IPv6 with a TCP or UDP
// header whose source or destination port is `port`. IPv6 extension headers (hop-by-hop,
// routing, destination options, a first fragment) are walked; later fragments, truncated
// headers and other protocols do not match. `frame` needs only its first bytes (headers).
bool frame_matches_l4_port(std::span<const std::byte> frame, uint16_t port);

}  // namespace dtcp::dpdk
