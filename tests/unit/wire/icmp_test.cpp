#include "wire/icmp.hpp"

#include <gtest/gtest.h>

#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"
#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

constexpr size_t kIcmpOffset = kEthernetHeaderLen + kIpv4MinHeaderLen;

std::vector<std::byte> icmp_of(std::string_view frame) {
  auto bytes = hex(frame);
  bytes.erase(bytes.begin(), bytes.begin() + kIcmpOffset);
  return bytes;
}

TEST(Icmp, CapturedEchoRequest_Parses) {
  const auto msg = icmp_of(test::golden::kEchoRequestFrame);
  const auto icmp = IcmpView::parse(cspan(msg));
  ASSERT_TRUE(icmp) << to_string(icmp.error());
  EXPECT_EQ(icmp->type(), static_cast<uint8_t>(IcmpType::echo_request));
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->checksum(), 0x129c);
  EXPECT_EQ(icmp->identifier(), 0x1c48);
  EXPECT_EQ(icmp->sequence(), 1);
  EXPECT_EQ(icmp->rest_of_header(), 0x1c480001u);
  EXPECT_EQ(icmp->payload().size(), 16u);
}

TEST(Icmp, CapturedEchoReply_Parses) {
  const auto msg = icmp_of(test::golden::kEchoReplyFrame);
  const auto icmp = IcmpView::parse(cspan(msg));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), static_cast<uint8_t>(IcmpType::echo_reply));
}

TEST(Icmp, ShorterThanHeader_Truncated) {
  const auto msg = icmp_of(test::golden::kEchoRequestFrame);
  for (size_t len = 0; len < kIcmpHeaderLen; ++len) {
    EXPECT_EQ(IcmpView::parse(cspan(msg).first(len), false).error(), ParseError::truncated) << len;
  }
}

TEST(Icmp, HeaderOnly_EmptyPayload) {
  std::array<std::byte, kIcmpHeaderLen> out{};
  write_icmp(out, static_cast<uint8_t>(IcmpType::echo_request), 0, 0x00010002, {});
  const auto icmp = IcmpView::parse(out);
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(icmp->payload().empty());
}

TEST(Icmp, CorruptPayload_BadChecksum) {
  auto msg = icmp_of(test::golden::kEchoRequestFrame);
  msg.back() ^= std::byte{0x01};
  EXPECT_EQ(IcmpView::parse(cspan(msg)).error(), ParseError::bad_checksum);
  EXPECT_TRUE(IcmpView::parse(cspan(msg), /*verify_checksum=*/false));
}

TEST(Icmp, EthernetPaddingNotTrimmed_BadChecksumUnlessViaIpv4) {
  // ICMP's checksum covers the whole message, so the caller must pass Ipv4View::payload().
  auto frame = hex(test::golden::kEchoRequestFrame);
  frame.resize(frame.size() + 2, std::byte{0x5a});  // pad to 60 bytes like a real NIC frame
  const auto eth = EthernetView::parse(cspan(frame));
  ASSERT_TRUE(eth);
  const auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_TRUE(IcmpView::parse(ip->payload()));
  EXPECT_EQ(IcmpView::parse(eth->payload().subspan(kIpv4MinHeaderLen)).error(), ParseError::bad_checksum);
}

TEST(Icmp, Write_ReproducesCapturedReply) {
  const auto request = icmp_of(test::golden::kEchoRequestFrame);
  const auto reply = icmp_of(test::golden::kEchoReplyFrame);
  const auto req = IcmpView::parse(cspan(request));
  ASSERT_TRUE(req);
  std::vector<std::byte> out(request.size());
  const size_t n = write_icmp(out, static_cast<uint8_t>(IcmpType::echo_reply), 0, req->rest_of_header(),
                              req->payload());
  EXPECT_EQ(n, reply.size());
  EXPECT_EQ(out, reply);
}

TEST(Icmp, WriteInPlace_RequestBecomesReply) {
  auto msg = icmp_of(test::golden::kEchoRequestFrame);
  const auto req = IcmpView::parse(cspan(msg));
  ASSERT_TRUE(req);
  write_icmp(msg, static_cast<uint8_t>(IcmpType::echo_reply), 0, req->rest_of_header(), req->payload());
  EXPECT_EQ(msg, icmp_of(test::golden::kEchoReplyFrame));
}

TEST(Icmp, WriteOddPayload_ChecksumVerifies) {
  const auto payload = hex("0102030405");
  std::array<std::byte, 13> out{};
  EXPECT_EQ(write_icmp(out, 3, 4, 0x000005dc, cspan(payload)), 13u);
  const auto icmp = IcmpView::parse(out);
  ASSERT_TRUE(icmp) << to_string(icmp.error());
  EXPECT_EQ(icmp->type(), static_cast<uint8_t>(IcmpType::dest_unreachable));
  EXPECT_EQ(icmp->code(), 4);
  EXPECT_EQ(icmp->rest_of_header(), 0x5dcu);
  EXPECT_EQ(icmp->payload().size(), 5u);
}

}  // namespace
}  // namespace dtcp::wire
