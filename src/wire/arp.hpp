// ARP for IPv4 over Ethernet (RFC 826). Other hardware/protocol pairs are rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kArpLen = 28;

enum class ArpOp : uint16_t { request = 1, reply = 2 };

struct ArpRepr {
  ArpOp op = ArpOp::request;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;
  bool operator==(const ArpRepr&) const = default;
};

// Requires htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op request or reply; checked in
// that order. Bytes after the first 28 (Ethernet minimum-frame padding) are ignored.
Parsed<ArpRepr> parse_arp(std::span<const std::byte> packet);

// Writes the 28-byte packet. Requires out.size() >= kArpLen.
void write_arp(std::span<std::byte> out, const ArpRepr& arp);

}  // namespace dtcp::wire
