// ICMP parser (src/wire/icmp.hpp): a message that parses with its checksum verified is written
// back byte for byte by write_icmp(), also in place (an echo reply built over the request).
#include <cstring>
#include <vector>

#include "fuzz_env.hpp"
#include "wire/checksum.hpp"
#include "wire/icmp.hpp"

using namespace dtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> message(reinterpret_cast<const std::byte*>(data), size);
  const auto lax = wire::IcmpView::parse(message, false);
  const auto strict = wire::IcmpView::parse(message, true);
  if (!lax) {
    DTCP_FUZZ_CHECK(size < wire::kIcmpHeaderLen && lax.error() == wire::ParseError::truncated && !strict);
    return 0;
  }
  DTCP_FUZZ_CHECK(size >= wire::kIcmpHeaderLen);
  DTCP_FUZZ_CHECK(lax->payload().size() == size - wire::kIcmpHeaderLen);
  DTCP_FUZZ_CHECK(static_cast<bool>(strict) == (wire::internet_checksum(message) == 0));
  DTCP_FUZZ_CHECK(lax->rest_of_header() == (uint32_t{lax->identifier()} << 16 | lax->sequence()));
  if (!strict) return 0;

  std::vector<std::byte> out(size);
  const size_t n = wire::write_icmp(out, lax->type(), lax->code(), lax->rest_of_header(), lax->payload());
  DTCP_FUZZ_CHECK(n == size);
  // The checksum is the same 16-bit one's-complement sum, but 0x0000 and 0xffff are the same
  // sum: compare the message with the checksum field taken out, then check the new one verifies.
  DTCP_FUZZ_CHECK(std::memcmp(out.data(), data, 2) == 0);
  DTCP_FUZZ_CHECK(std::memcmp(out.data() + 4, data + 4, size - 4) == 0);
  DTCP_FUZZ_CHECK(wire::IcmpView::parse(out, true));

  // In place, as the echo reply is built: the payload moves onto itself.
  std::vector<std::byte> in_place(message.begin(), message.end());
  const std::span<const std::byte> payload(in_place.data() + wire::kIcmpHeaderLen, size - wire::kIcmpHeaderLen);
  wire::write_icmp(in_place, 0, 0, lax->rest_of_header(), payload);
  DTCP_FUZZ_CHECK(std::memcmp(in_place.data() + 4, data + 4, size - 4) == 0);
  DTCP_FUZZ_CHECK(wire::IcmpView::parse(in_place, true));
  return 0;
}
