// Shared helpers and golden frames for the wire tests.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace dtcp::wire::test {

// Hex digits to bytes; spaces are ignored so goldens can be grouped by field.
inline std::vector<std::byte> hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n') continue;
    if (hi < 0) {
      hi = nibble(c);
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + nibble(c)));
      hi = -1;
    }
  }
  return out;
}

inline std::span<const std::byte> cspan(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

// Frames captured with an AF_PACKET socket on `lo` (Linux 6.18, 127.0.0.1 to 127.0.0.1):
// a Python client connecting to a listener on port 45678, sending "hello" and closing, then
// `ping -c1 -s 16 127.0.0.1`. Loopback uses zero MACs. On lo the kernel leaves TCP checksums
// as the pseudo-header partial sum (CHECKSUM_PARTIAL), so the TCP checksum fields below were
// recomputed with an independent Python implementation of RFC 1071; IPv4 and ICMP checksums
// are exactly as captured.
namespace golden {

// SYN: 44286 -> 45678, MSS 65495, SACK-permitted, TS 0x867b070c/0, WS 10.
inline constexpr std::string_view kSynFrame =
    "000000000000 000000000000 0800"
    "4500003c b3074000 400689b2 7f000001 7f000001"
    "acfeb26e b88938f6 00000000 a002ffd7 718a0000"
    "0204ffd7 0402080a 867b070c 00000000 0103030a";

// SYN|ACK reply.
inline constexpr std::string_view kSynAckFrame =
    "000000000000 000000000000 0800"
    "4500003c 00004000 40063cba 7f000001 7f000001"
    "b26eacfe 13fa48a7 b88938f7 a012ffcb f5dc0000"
    "0204ffd7 0402080a 9c1482f2 867b070c 0103030a";

// PSH|ACK carrying "hello".
inline constexpr std::string_view kDataFrame =
    "000000000000 000000000000 0800"
    "45000039 b3094000 400689b3 7f000001 7f000001"
    "acfeb26e b88938f7 13fa48a8 80180040 da7c0000"
    "0101080a 867b070c 9c1482f2"
    "68656c6c6f";

// RST|ACK from the listener closing with unread data.
inline constexpr std::string_view kRstAckFrame =
    "000000000000 000000000000 0800"
    "45000034 cba64000 4006711b 7f000001 7f000001"
    "b26eacfe 13fa48a8 b88938fd 80140040 1dee0000"
    "0101080a 9c148324 867b073e";

// ICMP echo request, id 0x1c48 seq 1, 16 bytes of payload (ping's struct timeval).
inline constexpr std::string_view kEchoRequestFrame =
    "000000000000 000000000000 0800"
    "4500002c f52a4000 400147a4 7f000001 7f000001"
    "0800129c 1c480001 debf016b 00000000 ddef0b00 00000000";

// The kernel's echo reply to it (note DF clear and a fresh IP id).
inline constexpr std::string_view kEchoReplyFrame =
    "000000000000 000000000000 0800"
    "4500002c f52b0000 400187a3 7f000001 7f000001"
    "00001a9c 1c480001 debf016b 00000000 ddef0b00 00000000";

}  // namespace golden
}  // namespace dtcp::wire::test
