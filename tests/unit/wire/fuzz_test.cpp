// A small deterministic fuzz loop: random and mutated buffers through every parser. Each
// buffer lives in its own exact-size heap allocation so ASan flags any read past the span.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "wire/arp.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp.hpp"
#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

// Reads every byte of a span so an out-of-bounds span is caught by ASan, not just created.
uint32_t touch(std::span<const std::byte> s) {
  uint32_t acc = 0;
  for (std::byte b : s) acc += std::to_integer<uint32_t>(b);
  return acc;
}

uint32_t exercise_tcp(std::span<const std::byte> bytes) {
  const auto tcp = TcpView::parse(bytes);
  if (!tcp) return 0;
  EXPECT_GE(tcp->header_len(), kTcpMinHeaderLen);
  EXPECT_LE(tcp->header_len(), bytes.size());
  EXPECT_EQ(tcp->header_len() + tcp->payload().size(), bytes.size());
  const TcpOptions& o = tcp->options();
  EXPECT_LE(o.sack_block_count, kTcpMaxSackBlocks);
  if (o.window_scale) {
    EXPECT_LE(*o.window_scale, kTcpMaxWindowScale);
  }
  // Whatever parsed must be writable within the 60-byte limit.
  EXPECT_LE(tcp_options_len(o), kTcpMaxOptionsLen);
  std::array<std::byte, 60> out{};
  TcpHeader h{.src_port = tcp->src_port(), .dst_port = tcp->dst_port(), .seq = tcp->seq(), .ack = tcp->ack(),
              .flags = tcp->flags(), .window = tcp->window(), .urgent = tcp->urgent(), .options = o};
  const size_t len = write_tcp_header(out, h);
  EXPECT_TRUE(TcpView::parse(std::span<const std::byte>(out).first(len)));
  return touch(tcp->payload()) + tcp->checksum() + (tcp->verify_checksum(Ipv4Addr{1}, Ipv4Addr{2}) ? 1 : 0);
}

uint32_t exercise_all(std::span<const std::byte> frame) {
  uint32_t acc = 0;
  if (const auto arp = parse_arp(frame)) acc += arp->sender_ip.value;
  acc += exercise_tcp(frame);
  if (const auto icmp = IcmpView::parse(frame, false)) acc += touch(icmp->payload()) + icmp->rest_of_header();
  for (bool verify : {true, false}) {
    if (const auto ip = Ipv4View::parse(frame, verify)) {
      EXPECT_EQ(ip->bytes().size(), ip->total_length());
      acc += touch(ip->header()) + touch(ip->options()) + touch(ip->payload()) + ip->fragment_offset_bytes();
      acc += exercise_tcp(ip->payload());
    }
  }
  const auto eth = EthernetView::parse(frame);
  if (!eth) return acc;
  acc += eth->ether_type() + eth->src().bytes[0];
  const auto l3 = eth->payload();
  if (const auto arp = parse_arp(l3)) acc += arp->target_ip.value;
  const auto ip = Ipv4View::parse(l3, /*verify_checksum=*/false);
  if (!ip) return acc;
  acc += ip->src().value + touch(ip->payload());
  if (const auto icmp = IcmpView::parse(ip->payload())) acc += touch(icmp->payload()) + icmp->sequence();
  acc += exercise_tcp(ip->payload());
  return acc;
}

TEST(Fuzz, RandomAndMutatedBuffers_NoCrashNoOverread) {
  std::mt19937 rng(0x5eed);
  const std::vector<std::vector<std::byte>> seeds = {
      hex(test::golden::kSynFrame),         hex(test::golden::kSynAckFrame),
      hex(test::golden::kDataFrame),        hex(test::golden::kRstAckFrame),
      hex(test::golden::kEchoRequestFrame), hex(test::golden::kEchoReplyFrame),
  };
  // TCP segments alone, so option bytes get mutated more often than via a full frame.
  std::vector<std::vector<std::byte>> tcp_seeds;
  for (size_t i = 0; i < 4; ++i) tcp_seeds.emplace_back(seeds[i].begin() + 34, seeds[i].end());

  uint64_t parsed_ok = 0;
  for (int iter = 0; iter < 100'000; ++iter) {
    std::vector<std::byte> buf;
    switch (rng() % 4) {
      case 0: {  // pure noise
        buf.resize(rng() % 100);
        for (auto& b : buf) b = static_cast<std::byte>(rng());
        break;
      }
      case 1:
        buf = seeds[rng() % seeds.size()];
        break;
      default:
        buf = tcp_seeds[rng() % tcp_seeds.size()];
        break;
    }
    // Mutate: overwrite a few bytes, favouring length and option fields, then maybe cut.
    const unsigned flips = buf.empty() ? 0 : 1 + rng() % 4;
    for (unsigned f = 0; f < flips; ++f) {
      const size_t at = rng() % buf.size();
      buf[at] = (rng() % 4 == 0) ? static_cast<std::byte>(rng() % 16) : static_cast<std::byte>(rng());
    }
    if (!buf.empty() && rng() % 3 == 0) buf.resize(rng() % (buf.size() + 1));
    // Exact-size allocation: no slack capacity for an overread to land in.
    std::vector<std::byte> exact(buf.begin(), buf.end());
    exact.shrink_to_fit();
    const uint32_t acc = exercise_all(cspan(exact));
    parsed_ok += acc != 0;
    if (HasFailure()) FAIL() << "iteration " << iter;
  }
  EXPECT_GT(parsed_ok, 10'000u);  // the mutations reach past the first length checks
}

}  // namespace
}  // namespace dtcp::wire
