// TCP header and options parser (src/wire/tcp.hpp): the header and payload cover the segment,
// parsed options respect their limits, and the writer reproduces them: options written and
// parsed again are the same values, the fixed header the same bytes.
#include <array>
#include <cstring>
#include <vector>

#include "fuzz_env.hpp"
#include "wire/tcp.hpp"

using namespace dtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> segment(reinterpret_cast<const std::byte*>(data), size);
  const auto tcp = wire::TcpView::parse(segment);
  if (!tcp) {
    DTCP_FUZZ_CHECK(tcp.error() != wire::ParseError::none);
    if (size < wire::kTcpMinHeaderLen) DTCP_FUZZ_CHECK(tcp.error() == wire::ParseError::truncated);
    return 0;
  }
  DTCP_FUZZ_CHECK(tcp->header_len() >= wire::kTcpMinHeaderLen && tcp->header_len() <= size);
  DTCP_FUZZ_CHECK(tcp->header_len() == size_t{data[12]} / 16 * 4);
  DTCP_FUZZ_CHECK(tcp->header_len() + tcp->payload().size() == size);
  const wire::TcpFlags flags = tcp->flags();
  using wire::TcpFlags;
  DTCP_FUZZ_CHECK(!(wire::has(flags, TcpFlags::syn) && wire::has(flags, TcpFlags::fin)));
  DTCP_FUZZ_CHECK(!(wire::has(flags, TcpFlags::syn) && wire::has(flags, TcpFlags::rst)));
  const wire::TcpOptions& o = tcp->options();
  DTCP_FUZZ_CHECK(o.sack_block_count <= wire::kTcpMaxSackBlocks);
  if (o.window_scale) DTCP_FUZZ_CHECK(*o.window_scale <= wire::kTcpMaxWindowScale);
  DTCP_FUZZ_CHECK(wire::tcp_options_len(o) <= wire::kTcpMaxOptionsLen);
  DTCP_FUZZ_CHECK(wire::tcp_options_len(o) % 4 == 0);

  // Write what was parsed and parse it again: the same header fields, and the same options
  // except SACK blocks the writer must drop to stay within 40 bytes (tcp_sack_blocks_that_fit).
  wire::TcpHeader h{.src_port = tcp->src_port(), .dst_port = tcp->dst_port(), .seq = tcp->seq(),
                    .ack = tcp->ack(), .flags = flags, .window = tcp->window(), .urgent = tcp->urgent(),
                    .options = o};
  std::array<std::byte, 60> out{};
  const size_t len = wire::write_tcp_header(out, h);
  DTCP_FUZZ_CHECK(len == wire::tcp_header_len(h));
  const auto again = wire::TcpView::parse(std::span<const std::byte>(out).first(len));
  DTCP_FUZZ_CHECK(again);
  DTCP_FUZZ_CHECK(std::memcmp(out.data(), data, 12) == 0);       // ports, seq, ack
  DTCP_FUZZ_CHECK(std::memcmp(out.data() + 13, data + 13, 3) == 0);  // flags, window
  DTCP_FUZZ_CHECK(std::memcmp(out.data() + 18, data + 18, 2) == 0);  // urgent pointer
  wire::TcpOptions expected = o;
  expected.sack_block_count = static_cast<uint8_t>(wire::tcp_sack_blocks_that_fit(o));
  for (size_t i = expected.sack_block_count; i < wire::kTcpMaxSackBlocks; ++i) expected.sack_blocks[i] = {};
  wire::TcpOptions got = again->options();
  for (size_t i = got.sack_block_count; i < wire::kTcpMaxSackBlocks; ++i) got.sack_blocks[i] = {};
  DTCP_FUZZ_CHECK(got == expected);

  // The checksum verifies once filled in, over any pseudo-header.
  std::vector<std::byte> copy(segment.begin(), segment.end());
  copy[16] = copy[17] = std::byte{0};
  const wire::Ipv4Addr src{0xc6120002}, dst{0xc6120001};
  wire::fill_tcp_checksum(copy, src, dst);
  const auto filled = wire::TcpView::parse(copy);
  DTCP_FUZZ_CHECK(filled && filled->verify_checksum(src, dst));
  return 0;
}
