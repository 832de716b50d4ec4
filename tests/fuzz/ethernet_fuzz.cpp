// Ethernet header parser (src/wire/ethernet.hpp): any buffer parses or fails as truncated, and
// what parses is written back byte for byte.
#include <array>
#include <cstring>

#include "fuzz_env.hpp"
#include "wire/ethernet.hpp"

using namespace dtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  const auto eth = wire::EthernetView::parse(frame);
  if (!eth) {
    DTCP_FUZZ_CHECK(size < wire::kEthernetHeaderLen && eth.error() == wire::ParseError::truncated);
    return 0;
  }
  DTCP_FUZZ_CHECK(eth->payload().size() == size - wire::kEthernetHeaderLen);
  DTCP_FUZZ_CHECK(eth->payload().data() == frame.data() + wire::kEthernetHeaderLen);
  std::array<std::byte, wire::kEthernetHeaderLen> out{};
  wire::write_ethernet(out, eth->dst(), eth->src(), eth->ether_type());
  DTCP_FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  DTCP_FUZZ_CHECK(eth->dst().is_broadcast() == (std::memcmp(data, "\xff\xff\xff\xff\xff\xff", 6) == 0));
  return 0;
}
