// Literal TCP segments in and out of a Shard, without a test framework: shared by the TCP unit
// test harness (tests/unit/tcp/harness.*) and the fuzz targets (tests/fuzz/), so both build the
// segments they inject and read back the ones the shard sends the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dtcp/tcp.hpp"
#include "wire/addr.hpp"
#include "wire/ecn.hpp"
#include "wire/tcp.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace dtcp::tcp::test {

// A segment the shard sent, parsed back.
struct Sent {
  wire::IpAddr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  wire::TcpFlags flags = wire::TcpFlags::none;
  uint16_t window = 0;
  wire::TcpOptions options;
  std::vector<std::byte> payload;
  uint16_t l4_len = 0;
  wire::Ecn ecn = wire::Ecn::not_ect;
  uint16_t tso_segsz = 0;  // a TSO super-segment (RTE_MBUF_F_TX_TCP_SEG): the payload per segment
};
std::string describe(const Sent& s);

// A single-segment mbuf from `pool` holding `header` (its options, or `raw_options` verbatim
// when not null: a multiple of 4 bytes, at most 40, for options the writer cannot produce) and
// `payload`, checksummed for src > dst, as Shard::input() takes it. nullptr when the pool is
// empty or the segment does not fit one mbuf.
rte_mbuf* build_segment(rte_mempool* pool, const wire::TcpHeader& header, std::span<const std::byte> raw_options,
                        bool use_raw_options, std::span<const std::byte> payload, wire::IpAddr src,
                        wire::IpAddr dst);

// What the shard handed to SegmentOutput::send_segment(), checked as the IP layer needs it:
// headroom for IPv4 + Ethernet, the checksum field left 0, m->l4_len the header length; then
// checksummed, parsed and verified. Frees `m`. Returns an empty string and fills `out` on
// success, otherwise what was wrong.
std::string parse_sent(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, Sent& out);

}  // namespace dtcp::tcp::test
