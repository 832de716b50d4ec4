// ARP parser (src/wire/arp.hpp): what parses is an Ethernet/IPv4 request or reply, and writing
// the repr back gives the first 28 bytes it came from.
#include <array>
#include <cstring>

#include "fuzz_env.hpp"
#include "wire/arp.hpp"

using namespace dtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> packet(reinterpret_cast<const std::byte*>(data), size);
  const auto arp = wire::parse_arp(packet);
  if (!arp) {
    DTCP_FUZZ_CHECK(arp.error() != wire::ParseError::none);
    if (size < wire::kArpLen) DTCP_FUZZ_CHECK(arp.error() == wire::ParseError::truncated);
    return 0;
  }
  DTCP_FUZZ_CHECK(size >= wire::kArpLen);
  DTCP_FUZZ_CHECK(arp->op == wire::ArpOp::request || arp->op == wire::ArpOp::reply);
  std::array<std::byte, wire::kArpLen> out{};
  wire::write_arp(out, *arp);
  DTCP_FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  const auto again = wire::parse_arp(out);
  DTCP_FUZZ_CHECK(again && *again == *arp);
  return 0;
}
