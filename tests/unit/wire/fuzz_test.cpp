// A small deterministic fuzz loop: random and mutated buffers through every parser. Each
// buffer lives in its own exact-size heap allocation so ASan flags any read past the span.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "wire/arp.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"
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

// An IPv6 packet through the extension walk, ICMPv6, the error quote and the ND parsers.
// Returns how far it got: 1 parsed, 2 walked to an upper layer, 3 an ND message parsed.
int exercise_ipv6(std::span<const std::byte> packet) {
  const auto ip = Ipv6View::parse(packet);
  if (!ip) return 0;
  EXPECT_EQ(ip->bytes().size(), kIpv6HeaderLen + ip->payload_length());
  (void)touch(ip->payload());
  const auto walked = walk_ipv6_extensions(ip->next_header(), ip->payload());
  EXPECT_LE(walked.headers, kIpv6MaxExtensionHeaders);
  EXPECT_LE(walked.offset, ip->bytes().size());
  if (walked.needs_parameter_problem()) {
    EXPECT_LT(walked.problem_pointer, ip->bytes().size());
  }
  if (!walked.ok()) return 1;
  const auto icmp = Icmpv6View::parse(ip->bytes().subspan(walked.offset), ip->src(), ip->dst(), false);
  if (!icmp) return 2;
  (void)touch(icmp->payload());
  if (const auto quote = parse_icmpv6_quote(icmp->payload())) {
    EXPECT_GE(quote->transport.size(), 8u);
    (void)touch(quote->transport);
  }
  (void)parse_icmpv6_tcp_error(*icmp);
  const NdIpHeader h{ip->src(), ip->dst(), ip->hop_limit()};
  int got = 2;
  if (validate_neighbor_solicitation(h, *icmp) == NdInvalid::none) {
    EXPECT_TRUE(parse_neighbor_solicitation(*icmp));
  }
  if (validate_neighbor_advertisement(h, *icmp) == NdInvalid::none) {
    EXPECT_TRUE(parse_neighbor_advertisement(*icmp));
  }
  if (validate_router_solicitation(h, *icmp) == NdInvalid::none) {
    EXPECT_TRUE(parse_router_solicitation(*icmp));
  }
  if (validate_router_advertisement(h, *icmp) == NdInvalid::none) {
    EXPECT_TRUE(parse_router_advertisement(*icmp));
  }
  if (parse_neighbor_solicitation(*icmp) || parse_neighbor_advertisement(*icmp) || parse_router_solicitation(*icmp) ||
      parse_router_advertisement(*icmp)) {
    got = 3;
  }
  return got;
}

TEST(Fuzz, Ipv6MutatedPackets_NoCrashNoOverread) {
  // Seeds as in ipv6_test.cpp and icmpv6_test.cpp: an NS, an RA, and a Packet Too Big behind a
  // hop-by-hop and a destination options header (checksums not needed: parsed unverified).
  const std::vector<std::vector<std::byte>> seeds = {
      hex("60000000 0020 3a ff fe80000000000000000000fffe000001 ff0200000000000000000001ff000002"
          "87 00 4c5f 00000000 20010db8000000000000000000000002 0101 020000000001"),
      hex("60000000 0040 3a ff fe800000000000000000000000000001 ff020000000000000000000000000001"
          "86 00 7490 40 40 0708 00007530 000003e8 0101 020000000002 0501 0000 000005dc"
          "0304 40 c0 00278d00 00093a80 00000000 20010db8000000000000000000000000"),
      hex("60000000 0048 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002"
          "3c00 0502 0000 0100  3a00 01040000 0000"
          "02 00 0000 00000500"
          "60000000 0014 06 40 20010db8000000000000000000000001 20010db8000000000000000000000002"
          "9c40 0050 01020304"),
  };
  std::mt19937 rng(0x6eed);
  std::array<uint64_t, 4> reached{};
  for (int iter = 0; iter < 50'000; ++iter) {
    std::vector<std::byte> buf = seeds[rng() % seeds.size()];
    const unsigned flips = 1 + rng() % 3;
    for (unsigned f = 0; f < flips; ++f) {
      const size_t at = rng() % buf.size();
      buf[at] = (rng() % 4 == 0) ? static_cast<std::byte>(rng() % 16) : static_cast<std::byte>(rng());
    }
    if (rng() % 3 == 0) buf.resize(rng() % (buf.size() + 1));
    std::vector<std::byte> exact(buf.begin(), buf.end());
    exact.shrink_to_fit();
    ++reached[exercise_ipv6(cspan(exact))];
    if (HasFailure()) FAIL() << "iteration " << iter;
  }
  // The mutations reach every stage.
  EXPECT_GT(reached[1], 100u);
  EXPECT_GT(reached[2], 1'000u);
  EXPECT_GT(reached[3], 1'000u);
}

}  // namespace
}  // namespace dtcp::wire
