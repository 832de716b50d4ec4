#include "wire/ipv4.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

static_assert(std::is_trivially_copyable_v<Parsed<Ipv4View>>);

// The IPv4 packet inside a captured frame.
std::vector<std::byte> ip_of(std::string_view frame) {
  auto bytes = hex(frame);
  bytes.erase(bytes.begin(), bytes.begin() + kEthernetHeaderLen);
  return bytes;
}

void refill_checksum(std::vector<std::byte>& packet) {
  const size_t ihl = (std::to_integer<size_t>(packet[0]) & 0xf) * 4;
  store_be16(packet.data() + 10, 0);
  store_be16(packet.data() + 10, internet_checksum(cspan(packet).first(ihl)));
}

TEST(Ipv4, CapturedEchoRequest_FieldsMatch) {
  const auto packet = ip_of(test::golden::kEchoRequestFrame);
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->header_len(), 20u);
  EXPECT_EQ(ip->dscp_ecn(), 0);
  EXPECT_EQ(ip->total_length(), 44);
  EXPECT_EQ(ip->identification(), 0xf52a);
  EXPECT_TRUE(ip->dont_fragment());
  EXPECT_FALSE(ip->more_fragments());
  EXPECT_EQ(ip->fragment_offset_bytes(), 0);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_EQ(ip->protocol(), static_cast<uint8_t>(IpProtocol::icmp));
  EXPECT_EQ(ip->header_checksum(), 0x47a4);
  EXPECT_EQ(ip->src(), Ipv4Addr::from_octets(127, 0, 0, 1));
  EXPECT_EQ(ip->dst(), Ipv4Addr::from_octets(127, 0, 0, 1));
  EXPECT_EQ(ip->header().size(), 20u);
  EXPECT_TRUE(ip->options().empty());
  EXPECT_EQ(ip->payload().size(), 24u);
  EXPECT_EQ(ip->payload().data(), packet.data() + 20);
}

TEST(Ipv4, WikipediaHeader_Parses) {
  // Wikipedia "IPv4 header checksum" example: UDP 192.168.0.1 -> 192.168.0.199, total 0x73,
  // padded here with a zero payload so total length fits.
  auto packet = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
  packet.resize(0x73);
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->protocol(), static_cast<uint8_t>(IpProtocol::udp));
  EXPECT_EQ(ip->dst(), Ipv4Addr::from_octets(192, 168, 0, 199));
}

TEST(Ipv4, ShorterThanMinHeader_Truncated) {
  const auto packet = ip_of(test::golden::kEchoRequestFrame);
  for (size_t len = 0; len < kIpv4MinHeaderLen; ++len) {
    const auto ip = Ipv4View::parse(cspan(packet).first(len));
    ASSERT_FALSE(ip);
    EXPECT_EQ(ip.error(), ParseError::truncated) << len;
  }
}

TEST(Ipv4, FrameCutInsidePayload_Truncated) {
  const auto packet = ip_of(test::golden::kEchoRequestFrame);
  for (size_t len = kIpv4MinHeaderLen; len < packet.size(); ++len) {
    const auto ip = Ipv4View::parse(cspan(packet).first(len));
    ASSERT_FALSE(ip);
    EXPECT_EQ(ip.error(), ParseError::truncated) << len;
  }
}

TEST(Ipv4, Version6_Rejected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  packet[0] = std::byte{0x65};
  refill_checksum(packet);
  EXPECT_EQ(Ipv4View::parse(cspan(packet)).error(), ParseError::bad_version);
}

TEST(Ipv4, HeaderLengthBelowFive_Rejected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    packet[0] = std::byte(0x40 | ihl);
    EXPECT_EQ(Ipv4View::parse(cspan(packet), false).error(), ParseError::bad_header_length) << int{ihl};
  }
}

TEST(Ipv4, HeaderLengthBeyondBuffer_Truncated) {
  // IHL 15 = 60 bytes of header in a 44-byte packet.
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  packet[0] = std::byte{0x4f};
  EXPECT_EQ(Ipv4View::parse(cspan(packet), false).error(), ParseError::truncated);
}

TEST(Ipv4, TotalLengthBelowHeader_Rejected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  store_be16(packet.data() + 2, 19);
  refill_checksum(packet);
  EXPECT_EQ(Ipv4View::parse(cspan(packet)).error(), ParseError::bad_total_length);
}

TEST(Ipv4, TotalLengthBeyondFrame_Rejected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  store_be16(packet.data() + 2, 45);
  refill_checksum(packet);
  EXPECT_EQ(Ipv4View::parse(cspan(packet)).error(), ParseError::truncated);
}

TEST(Ipv4, TotalLengthEqualsHeader_EmptyPayload) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  store_be16(packet.data() + 2, 20);
  refill_checksum(packet);
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->payload().empty());
}

TEST(Ipv4, EthernetPadding_TrimmedFromPayload) {
  // A 44-byte packet in a minimum 60-byte frame carries 2 bytes of padding; use 16 to be sure.
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  packet.resize(packet.size() + 16, std::byte{0xee});
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->payload().size(), 24u);
  EXPECT_EQ(ip->bytes().size(), 44u);
}

TEST(Ipv4, BadHeaderChecksum_Rejected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  packet[8] = std::byte{63};  // TTL changed without fixing the checksum
  EXPECT_EQ(Ipv4View::parse(cspan(packet)).error(), ParseError::bad_checksum);
  EXPECT_TRUE(Ipv4View::parse(cspan(packet), /*verify_checksum=*/false));
}

TEST(Ipv4, PayloadCorruption_NotCoveredByHeaderChecksum) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  packet.back() ^= std::byte{0xff};
  EXPECT_TRUE(Ipv4View::parse(cspan(packet)));
}

TEST(Ipv4, WithOptions_OptionsAndPayloadSplit) {
  // Built by hand: the captured echo request with a 4-byte option (NOP NOP NOP EOL) inserted,
  // IHL 6, total length 48, checksum recomputed.
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  const std::byte opt[4] = {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}};
  packet.insert(packet.begin() + 20, std::begin(opt), std::end(opt));
  packet[0] = std::byte{0x46};
  store_be16(packet.data() + 2, 48);
  refill_checksum(packet);
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->header_len(), 24u);
  ASSERT_EQ(ip->options().size(), 4u);
  EXPECT_EQ(ip->options()[0], std::byte{1});
  EXPECT_EQ(ip->payload().size(), 24u);
  EXPECT_EQ(ip->payload()[0], std::byte{0x08});  // ICMP echo request type
}

TEST(Ipv4, Fragments_Detected) {
  auto packet = ip_of(test::golden::kEchoRequestFrame);
  store_be16(packet.data() + 6, 0x2000);  // MF, offset 0: first fragment
  refill_checksum(packet);
  auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->more_fragments());
  EXPECT_FALSE(ip->dont_fragment());
  EXPECT_TRUE(ip->is_fragment());
  EXPECT_EQ(ip->fragment_offset_bytes(), 0);

  store_be16(packet.data() + 6, 0x00b9);  // last fragment at 185 * 8 = 1480
  refill_checksum(packet);
  ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip);
  EXPECT_FALSE(ip->more_fragments());
  EXPECT_TRUE(ip->is_fragment());
  EXPECT_EQ(ip->fragment_offset_bytes(), 1480);
}

TEST(Ipv4, Write_MatchesCapturedHeader) {
  const auto packet = ip_of(test::golden::kEchoRequestFrame);
  std::array<std::byte, kIpv4MinHeaderLen> out{};
  write_ipv4(out, Ipv4Header{.src = Ipv4Addr::from_octets(127, 0, 0, 1),
                             .dst = Ipv4Addr::from_octets(127, 0, 0, 1),
                             .protocol = static_cast<uint8_t>(IpProtocol::icmp),
                             .ttl = 64,
                             .identification = 0xf52a,
                             .dont_fragment = true,
                             .dscp_ecn = 0,
                             .payload_len = 24});
  EXPECT_TRUE(std::equal(out.begin(), out.end(), packet.begin(), packet.begin() + 20));
}

TEST(Ipv4, WriteWithoutChecksum_LeavesZero) {
  std::array<std::byte, kIpv4MinHeaderLen> out;
  out.fill(std::byte{0xaa});
  write_ipv4(out, Ipv4Header{.src = Ipv4Addr{1}, .dst = Ipv4Addr{2}, .protocol = 6}, /*fill_checksum=*/false);
  EXPECT_EQ(load_be16(out.data() + 10), 0);
}

TEST(Ipv4, WriteThenParse_RoundTrips) {
  std::array<std::byte, 20 + 100> out{};
  const Ipv4Header header{.src = *Ipv4Addr::parse("198.18.0.1"),
                          .dst = *Ipv4Addr::parse("198.18.0.2"),
                          .protocol = static_cast<uint8_t>(IpProtocol::tcp),
                          .ttl = 3,
                          .identification = 0xbeef,
                          .dont_fragment = false,
                          .dscp_ecn = 0xb8,
                          .payload_len = 100};
  write_ipv4(out, header);
  const auto ip = Ipv4View::parse(out);
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->src(), header.src);
  EXPECT_EQ(ip->dst(), header.dst);
  EXPECT_EQ(ip->protocol(), header.protocol);
  EXPECT_EQ(ip->ttl(), header.ttl);
  EXPECT_EQ(ip->identification(), header.identification);
  EXPECT_FALSE(ip->dont_fragment());
  EXPECT_EQ(ip->dscp_ecn(), header.dscp_ecn);
  EXPECT_EQ(ip->payload().size(), 100u);
}

// The Wikipedia header above with other TOS bytes; checksums computed with a 16-bit
// ones'-complement sum in Python: TOS 0x02 -> b85f, 0x03 -> b85e, 0xba -> b7a7, 0xbb -> b7a6.
// Padded with a zero payload to its total length, as above.
std::vector<std::byte> wikipedia_header(std::string_view tos_and_checksum_hex) {
  auto packet = hex("45" + std::string(tos_and_checksum_hex.substr(0, 2)) + "0073 0000 4000 4011" +
                    std::string(tos_and_checksum_hex.substr(2)) + "c0a8 0001 c0a8 00c7");
  packet.resize(0x73);
  return packet;
}

TEST(Ipv4, EcnField_ReadFromTheTosByte) {
  const auto packet = wikipedia_header("bb b7a6");  // DSCP 46 (EF), CE
  const auto ip = Ipv4View::parse(cspan(packet));
  ASSERT_TRUE(ip) << to_string(ip.error());
  EXPECT_EQ(ip->dscp_ecn(), 0xbb);
  EXPECT_EQ(ip->ecn(), Ecn::ce);
  EXPECT_EQ(with_ecn(0xb8, Ecn::ect0), 0xba);
  EXPECT_EQ(with_ecn(0xbb, Ecn::not_ect), 0xb8);
}

TEST(Ipv4, MarkCe_Ect0AndEct1BecomeCe_ChecksumUpdated) {
  for (const auto& [before, after] : {std::pair{"02 b85f", "03 b85e"}, {"01 b860", "03 b85e"}, {"ba b7a7", "bb b7a6"}}) {
    SCOPED_TRACE(before);
    auto packet = wikipedia_header(before);
    EXPECT_TRUE(ipv4_mark_ce(packet));
    EXPECT_EQ(packet, wikipedia_header(after));
    EXPECT_TRUE(Ipv4View::parse(cspan(packet)));  // the checksum verifies
  }
}

TEST(Ipv4, MarkCe_NotEctAndCeUnchanged) {
  for (const char* tos : {"00 b861", "03 b85e"}) {
    auto packet = wikipedia_header(tos);
    EXPECT_FALSE(ipv4_mark_ce(packet));
    EXPECT_EQ(packet, wikipedia_header(tos));
  }
}

TEST(Ipv4, MarkCe_ChecksumLeftForOffload) {
  auto packet = wikipedia_header("02 0000");
  EXPECT_TRUE(ipv4_mark_ce(packet, /*fix_checksum=*/false));
  EXPECT_EQ(packet, wikipedia_header("03 0000"));
}

}  // namespace
}  // namespace dtcp::wire
