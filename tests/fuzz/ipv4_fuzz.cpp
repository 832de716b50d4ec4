// IPv4 header parser (src/wire/ipv4.hpp): the views it hands out stay inside the buffer and
// agree with the header fields, checksum verification only ever rejects more, and a plain
// header (no options, not a fragment) is written back byte for byte by write_ipv4().
#include <array>
#include <cstring>
#include <vector>

#include "fuzz_env.hpp"
#include "wire/checksum.hpp"
#include "wire/ipv4.hpp"

using namespace dtcp;

namespace {

uint32_t touch(std::span<const std::byte> s) {
  uint32_t acc = 0;
  for (std::byte b : s) acc += std::to_integer<uint32_t>(b);
  return acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> packet(reinterpret_cast<const std::byte*>(data), size);
  const auto lax = wire::Ipv4View::parse(packet, false);
  const auto strict = wire::Ipv4View::parse(packet, true);
  if (strict) DTCP_FUZZ_CHECK(lax);
  if (!lax) {
    DTCP_FUZZ_CHECK(!strict && strict.error() == lax.error());
    return 0;
  }
  if (!strict) DTCP_FUZZ_CHECK(strict.error() == wire::ParseError::bad_checksum);
  const wire::Ipv4View& ip = *lax;
  DTCP_FUZZ_CHECK(ip.header_len() >= wire::kIpv4MinHeaderLen && ip.header_len() <= 60);
  DTCP_FUZZ_CHECK(ip.header_len() == size_t{data[0] & 0x0fu} * 4);
  DTCP_FUZZ_CHECK(ip.bytes().size() == ip.total_length() && ip.total_length() <= size);
  DTCP_FUZZ_CHECK(ip.header().size() + ip.payload().size() == ip.bytes().size());
  DTCP_FUZZ_CHECK(ip.options().size() == ip.header_len() - wire::kIpv4MinHeaderLen);
  DTCP_FUZZ_CHECK(ip.bytes().data() == packet.data());
  (void)touch(ip.header());
  (void)touch(ip.options());
  (void)touch(ip.payload());
  DTCP_FUZZ_CHECK(ip.is_fragment() == (ip.more_fragments() || ip.fragment_offset_bytes() != 0));
  DTCP_FUZZ_CHECK(static_cast<bool>(strict) == (wire::internet_checksum(ip.header()) == 0));

  // Round trip through the writer for the headers it can produce: no options, DF or nothing in
  // the flags, offset 0.
  const uint16_t flags_fragment = wire::load_be16(ip.header().data() + 6);
  if (strict && ip.header_len() == wire::kIpv4MinHeaderLen && (flags_fragment == 0 || flags_fragment == 0x4000)) {
    std::array<std::byte, wire::kIpv4MinHeaderLen> out{};
    wire::write_ipv4(out, {.src = ip.src(), .dst = ip.dst(), .protocol = ip.protocol(), .ttl = ip.ttl(),
                           .identification = ip.identification(), .dont_fragment = ip.dont_fragment(),
                           .dscp_ecn = ip.dscp_ecn(),
                           .payload_len = static_cast<uint16_t>(ip.total_length() - wire::kIpv4MinHeaderLen)});
    // 0x0000 and 0xffff are the same one's-complement sum: compare around the checksum field.
    DTCP_FUZZ_CHECK(std::memcmp(out.data(), data, 10) == 0);
    DTCP_FUZZ_CHECK(std::memcmp(out.data() + 12, data + 12, out.size() - 12) == 0);
    DTCP_FUZZ_CHECK(wire::internet_checksum(out) == 0);
  }

  // CE marking (RFC 3168 §5) on a copy: only the ECN bits change, and the checksum stays valid.
  std::vector<std::byte> copy(ip.bytes().begin(), ip.bytes().end());
  const bool marked = wire::ipv4_mark_ce(copy);
  const auto after = wire::Ipv4View::parse(copy, false);
  DTCP_FUZZ_CHECK(after);
  DTCP_FUZZ_CHECK(marked == (ip.ecn() == wire::Ecn::ect0 || ip.ecn() == wire::Ecn::ect1));
  if (marked) DTCP_FUZZ_CHECK(after->ecn() == wire::Ecn::ce);
  DTCP_FUZZ_CHECK((std::to_integer<uint8_t>(copy[1]) & 0xfc) == (data[1] & 0xfc));
  if (strict) DTCP_FUZZ_CHECK(wire::Ipv4View::parse(copy, true));
  return 0;
}
