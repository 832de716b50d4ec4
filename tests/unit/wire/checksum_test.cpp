#include "wire/checksum.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

// Reference: RFC 1071 §1 taken literally, one 16-bit word at a time, folding every step.
uint16_t reference_checksum(std::span<const std::byte> b, uint32_t start = 0) {
  uint32_t sum = start;
  for (size_t i = 0; i < b.size(); i += 2) {
    uint32_t word = std::to_integer<uint32_t>(b[i]) << 8;
    if (i + 1 < b.size()) word |= std::to_integer<uint32_t>(b[i + 1]);
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// RFC 1071 §3, "Numerical Examples": bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
TEST(Checksum, Rfc1071Example_SumsToDdf2) {
  const auto bytes = hex("0001 f203 f4f5 f6f7");
  const uint32_t sum = checksum_accumulate(cspan(bytes));
  EXPECT_EQ(checksum_fold(sum), static_cast<uint16_t>(~0xddf2));
  EXPECT_EQ(internet_checksum(cspan(bytes)), 0x220d);
}

// The IPv4 header from Wikipedia's "IPv4 header checksum" worked example (checksum b861).
TEST(Checksum, WikipediaIpv4Header_VerifiesToZero) {
  auto header = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
  EXPECT_EQ(internet_checksum(cspan(header)), 0);
  header[10] = header[11] = std::byte{0};
  EXPECT_EQ(internet_checksum(cspan(header)), 0xb861);
}

TEST(Checksum, OddLength_LastBytePaddedWithZero) {
  EXPECT_EQ(checksum_accumulate(cspan(hex("01"))), 0x0100u);
  EXPECT_EQ(checksum_accumulate(cspan(hex("010203"))), 0x0102u + 0x0300u);
  EXPECT_EQ(checksum_accumulate(cspan(hex("0102030405"))), 0x0102u + 0x0304u + 0x0500u);
  EXPECT_EQ(internet_checksum(cspan(hex("0102030405"))), reference_checksum(cspan(hex("0102030405"))));
}

TEST(Checksum, Accumulate_ResultFitsIn16Bits) {
  const std::vector<std::byte> ones(1000, std::byte{0xff});
  EXPECT_LE(checksum_accumulate(cspan(ones), 0xffffffff), 0xffffu);
  EXPECT_EQ(checksum_accumulate(cspan(hex("ffff 0001"))), 0x0001u);  // ffff + 0001 = 1 0000 -> 0001
}

TEST(Checksum, Empty_IsFfff) {
  EXPECT_EQ(checksum_accumulate({}), 0u);
  EXPECT_EQ(internet_checksum({}), 0xffff);
}

TEST(Checksum, Fold_CarriesWrapAround) {
  EXPECT_EQ(checksum_fold(0x0001fffe), 0x0000);  // fffe + 1 = ffff
  EXPECT_EQ(checksum_fold(0xffffffff), 0x0000);
  EXPECT_EQ(checksum_fold(0), 0xffff);
}

TEST(Checksum, SplitAtEvenOffsets_MatchesOneShot) {
  std::vector<std::byte> data(101);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 37 + 11);
  const auto all = cspan(data);
  for (size_t cut = 0; cut <= data.size(); cut += 2) {
    const uint32_t split = checksum_accumulate(all.subspan(cut), checksum_accumulate(all.first(cut)));
    EXPECT_EQ(checksum_fold(split), internet_checksum(all)) << "cut at " << cut;
  }
}

TEST(Checksum, RandomBuffers_MatchReference) {
  std::mt19937 rng(1071);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<std::byte> data(rng() % 1600);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    const uint32_t start = rng() % 0x40000;
    ASSERT_EQ(checksum_fold(checksum_accumulate(cspan(data), start)), reference_checksum(cspan(data), start));
  }
}

// The unrolled 20-byte IPv4 header checksum agrees with the RFC 1071 reference on random headers,
// on all-ones and all-zeros words, and on headers that hold their own correct checksum.
TEST(Checksum, Ipv4HeaderChecksum_MatchesReference) {
  std::mt19937 rng(791);
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<std::byte> h(20);
    for (auto& b : h) b = static_cast<std::byte>(iter % 7 == 0 ? 0xff : iter % 11 == 0 ? 0 : rng());
    ASSERT_EQ(ipv4_header_checksum(h.data()), reference_checksum(cspan(h)));
    const uint16_t c = reference_checksum(cspan(h));
    h[10] = std::byte{0};
    h[11] = std::byte{0};
    const uint16_t field = reference_checksum(cspan(h));
    h[10] = static_cast<std::byte>(field >> 8);
    h[11] = static_cast<std::byte>(field);
    ASSERT_EQ(ipv4_header_checksum(h.data()), 0) << "own checksum of a header whose sum was " << c;
  }
}

TEST(Checksum, LargeAllOnes_NoAccumulatorOverflow) {
  // 64 KiB of ff: every word is ffff, so the folded sum is ffff and the checksum 0.
  std::vector<std::byte> data(65536, std::byte{0xff});
  EXPECT_EQ(internet_checksum(cspan(data)), 0);
  EXPECT_EQ(checksum_fold(checksum_accumulate(cspan(data), 0xffffffff)), 0);
}

TEST(Checksum, PseudoHeader_SumsFields) {
  // 192.168.0.1 -> 192.168.0.199, TCP, 40 bytes: c0a8+0001+c0a8+00c7+0006+0028.
  const uint32_t sum = pseudo_header_sum(Ipv4Addr::from_octets(192, 168, 0, 1),
                                         Ipv4Addr::from_octets(192, 168, 0, 199), 6, 40);
  EXPECT_EQ(sum, 0xc0a8u + 0x0001u + 0xc0a8u + 0x00c7u + 0x0006u + 0x0028u);
}

}  // namespace
}  // namespace dtcp::wire

namespace dtcp::wire {
namespace {

// The word-at-a-time loop against RFC 1071's definition (16-bit big-endian words, folded), for
// every length up to 100 and every start offset within a word, on random bytes.
TEST(Checksum, WideLoop_MatchesReferenceForEveryLengthAndAlignment) {
  std::vector<std::byte> data(128);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& b : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = std::byte{static_cast<uint8_t>(x)};
  }
  auto reference = [](std::span<const std::byte> s, uint32_t sum) {
    uint64_t acc = sum;
    for (size_t i = 0; i < s.size(); i += 2) {
      acc += std::to_integer<uint32_t>(s[i]) << 8;
      if (i + 1 < s.size()) acc += std::to_integer<uint32_t>(s[i + 1]);
    }
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint32_t>(acc);
  };
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len <= 100; ++len) {
      const std::span<const std::byte> s(data.data() + offset, len);
      // Compare ones'-complement values: 0 and 0xffff are the same number.
      const uint32_t got = checksum_accumulate(s, 0x1234);
      const uint32_t want = reference(s, 0x1234);
      EXPECT_TRUE(got == want || (got % 0xffff) == (want % 0xffff)) << "offset " << offset << " len " << len;
    }
  }
}

}  // namespace
}  // namespace dtcp::wire
