#include "wire/arp.hpp"

#include <cassert>

#include "wire/bytes.hpp"

namespace dtcp::wire {
namespace {

// RFC 826 "Packet format" and the IANA ARP parameters registry.
constexpr uint16_t kHardwareEthernet = 1;
constexpr uint16_t kProtocolIpv4 = 0x0800;
constexpr uint8_t kEthernetAddrLen = 6;
constexpr uint8_t kIpv4AddrLen = 4;

MacAddr load_mac(const std::byte* p) {
  MacAddr mac;
  for (size_t i = 0; i < 6; ++i) mac.bytes[i] = std::to_integer<uint8_t>(p[i]);
  return mac;
}

void store_mac(std::byte* p, const MacAddr& mac) {
  for (size_t i = 0; i < 6; ++i) p[i] = static_cast<std::byte>(mac.bytes[i]);
}

}  // namespace

Parsed<ArpRepr> parse_arp(std::span<const std::byte> packet) {
  if (packet.size() < kArpLen) return ParseError::truncated;
  const std::byte* p = packet.data();
  if (load_be16(p) != kHardwareEthernet) return ParseError::bad_hardware_type;
  if (load_be16(p + 2) != kProtocolIpv4) return ParseError::bad_protocol_type;
  if (std::to_integer<uint8_t>(p[4]) != kEthernetAddrLen || std::to_integer<uint8_t>(p[5]) != kIpv4AddrLen) {
    return ParseError::bad_address_length;
  }
  const uint16_t op = load_be16(p + 6);
  if (op != static_cast<uint16_t>(ArpOp::request) && op != static_cast<uint16_t>(ArpOp::reply)) {
    return ParseError::bad_opcode;
  }
  return ArpRepr{
      .op = static_cast<ArpOp>(op),
      .sender_mac = load_mac(p + 8),
      .sender_ip = Ipv4Addr{load_be32(p + 14)},
      .target_mac = load_mac(p + 18),
      .target_ip = Ipv4Addr{load_be32(p + 24)},
  };
}

void write_arp(std::span<std::byte> out, const ArpRepr& arp) {
  assert(out.size() >= kArpLen);
  std::byte* p = out.data();
  store_be16(p, kHardwareEthernet);
  store_be16(p + 2, kProtocolIpv4);
  p[4] = std::byte{kEthernetAddrLen};
  p[5] = std::byte{kIpv4AddrLen};
  store_be16(p + 6, static_cast<uint16_t>(arp.op));
  store_mac(p + 8, arp.sender_mac);
  store_be32(p + 14, arp.sender_ip.value);
  store_mac(p + 18, arp.target_mac);
  store_be32(p + 24, arp.target_ip.value);
}

}  // namespace dtcp::wire
