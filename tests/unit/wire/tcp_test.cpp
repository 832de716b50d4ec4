#include "wire/tcp.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"
#include "wire_test_util.hpp"

namespace dtcp::wire {
namespace {

using test::cspan;
using test::hex;

static_assert(std::is_trivially_copyable_v<Parsed<TcpView>>);

constexpr Ipv4Addr kLoopback = Ipv4Addr::from_octets(127, 0, 0, 1);
constexpr size_t kTcpOffset = kEthernetHeaderLen + kIpv4MinHeaderLen;

std::vector<std::byte> tcp_of(std::string_view frame) {
  auto bytes = hex(frame);
  bytes.erase(bytes.begin(), bytes.begin() + kTcpOffset);
  return bytes;
}

// A 20-byte header (ports 1 -> 2, ACK) followed by `options`, data offset set to cover them.
// Built by hand from RFC 9293 §3.1 fig. 1 to exercise the option parser.
std::vector<std::byte> with_options(std::string_view options) {
  auto seg = hex("0001 0002 00000001 00000002 5010 ffff 0000 0000");
  const auto opts = hex(options);
  seg.insert(seg.end(), opts.begin(), opts.end());
  seg[12] = static_cast<std::byte>((seg.size() / 4) << 4);
  return seg;
}

ParseError parse_error_of(const std::vector<std::byte>& seg) { return TcpView::parse(cspan(seg)).error(); }

TEST(Tcp, CapturedLinuxSyn_FieldsAndOptions) {
  const auto seg = tcp_of(test::golden::kSynFrame);
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp) << to_string(tcp.error());
  EXPECT_EQ(tcp->src_port(), 44286);
  EXPECT_EQ(tcp->dst_port(), 45678);
  EXPECT_EQ(tcp->seq(), 0xb88938f6u);
  EXPECT_EQ(tcp->ack(), 0u);
  EXPECT_EQ(tcp->header_len(), 40u);
  EXPECT_EQ(tcp->flags(), TcpFlags::syn);
  EXPECT_EQ(tcp->window(), 65495);
  EXPECT_EQ(tcp->checksum(), 0x718a);
  EXPECT_EQ(tcp->urgent(), 0);
  EXPECT_TRUE(tcp->payload().empty());
  EXPECT_EQ(tcp->bytes().size(), 40u);
  const TcpOptions expected{.mss = 65495,
                            .window_scale = 10,
                            .sack_permitted = true,
                            .timestamps = TcpTimestamps{0x867b070c, 0}};
  EXPECT_EQ(tcp->options(), expected);
  EXPECT_TRUE(tcp->verify_checksum(kLoopback, kLoopback));
}

TEST(Tcp, CapturedSynAck_Parses) {
  const auto seg = tcp_of(test::golden::kSynAckFrame);
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->flags(), TcpFlags::syn | TcpFlags::ack);
  EXPECT_EQ(tcp->ack(), 0xb88938f7u);
  EXPECT_EQ(tcp->options().timestamps, (TcpTimestamps{0x9c1482f2, 0x867b070c}));
  EXPECT_EQ(tcp->options().window_scale, 10);
  EXPECT_TRUE(tcp->verify_checksum(kLoopback, kLoopback));
}

TEST(Tcp, CapturedDataSegment_PayloadAfterOptions) {
  const auto frame = hex(test::golden::kDataFrame);
  const auto eth = EthernetView::parse(cspan(frame));
  ASSERT_TRUE(eth);
  const auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  const auto tcp = TcpView::parse(ip->payload());
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->flags(), TcpFlags::psh | TcpFlags::ack);
  EXPECT_EQ(tcp->header_len(), 32u);
  EXPECT_FALSE(tcp->options().mss);
  EXPECT_FALSE(tcp->options().sack_permitted);
  EXPECT_EQ(tcp->options().timestamps, (TcpTimestamps{0x867b070c, 0x9c1482f2}));
  ASSERT_EQ(tcp->payload().size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(tcp->payload().data()), 5), "hello");
  EXPECT_TRUE(tcp->verify_checksum(ip->src(), ip->dst()));  // odd-length segment
}

TEST(Tcp, CapturedRstAck_Parses) {
  const auto seg = tcp_of(test::golden::kRstAckFrame);
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->flags(), TcpFlags::rst | TcpFlags::ack);
  EXPECT_TRUE(tcp->verify_checksum(kLoopback, kLoopback));
}

TEST(Tcp, CorruptPayloadOrWrongAddress_ChecksumFails) {
  auto seg = tcp_of(test::golden::kDataFrame);
  EXPECT_FALSE(TcpView::parse(cspan(seg))->verify_checksum(kLoopback, Ipv4Addr::from_octets(127, 0, 0, 2)));
  seg.back() ^= std::byte{0x20};
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp);  // parse does not look at the checksum
  EXPECT_FALSE(tcp->verify_checksum(kLoopback, kLoopback));
}

TEST(Tcp, ShorterThanMinHeader_Truncated) {
  const auto seg = tcp_of(test::golden::kRstAckFrame);
  for (size_t len = 0; len < kTcpMinHeaderLen; ++len) {
    EXPECT_EQ(TcpView::parse(cspan(seg).first(len)).error(), ParseError::truncated) << len;
  }
}

TEST(Tcp, DataOffsetBelowFive_Rejected) {
  auto seg = tcp_of(test::golden::kRstAckFrame);
  for (uint8_t doff = 0; doff < 5; ++doff) {
    seg[12] = std::byte(doff << 4);
    EXPECT_EQ(parse_error_of(seg), ParseError::bad_data_offset) << int{doff};
  }
}

TEST(Tcp, DataOffsetBeyondSegment_Rejected) {
  // The captured SYN's header is 40 bytes; cut anywhere inside its options.
  const auto seg = tcp_of(test::golden::kSynFrame);
  for (size_t len = kTcpMinHeaderLen; len < 40; ++len) {
    EXPECT_EQ(TcpView::parse(cspan(seg).first(len)).error(), ParseError::bad_data_offset) << len;
  }
}

TEST(Tcp, SynWithFinOrRst_BadFlags) {
  auto seg = tcp_of(test::golden::kSynFrame);
  seg[13] = static_cast<std::byte>(TcpFlags::syn | TcpFlags::fin);
  EXPECT_EQ(parse_error_of(seg), ParseError::bad_flags);
  seg[13] = static_cast<std::byte>(TcpFlags::syn | TcpFlags::rst | TcpFlags::ack);
  EXPECT_EQ(parse_error_of(seg), ParseError::bad_flags);
  seg[13] = static_cast<std::byte>(TcpFlags::fin | TcpFlags::rst | TcpFlags::ack);  // odd but not impossible
  EXPECT_TRUE(TcpView::parse(cspan(seg)));
}

TEST(Tcp, NoFlagsAtAll_Accepted) {
  // A null segment is for the state machine to drop (RFC 9293 §3.10.7.4 "if the ACK bit is off").
  auto seg = tcp_of(test::golden::kRstAckFrame);
  seg[13] = std::byte{0};
  EXPECT_TRUE(TcpView::parse(cspan(seg)));
}

TEST(Tcp, Options_NopsEolAndUnknownKindsSkipped) {
  // NOP, unknown kind 30 (MPTCP) len 4, unknown kind 254 len 2, MSS, EOL then garbage.
  const auto seg = with_options("01 1e040000 fe02 020405b4 00 ffffffff");
  ASSERT_EQ(seg.size(), 36u);
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp) << to_string(tcp.error());
  EXPECT_EQ(tcp->options(), TcpOptions{.mss = 1460});
}

TEST(Tcp, Options_EolFirst_NoOptions) {
  const auto tcp = TcpView::parse(cspan(with_options("00 020405")));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options(), TcpOptions{});
}

TEST(Tcp, Options_SackBlocks_Parsed) {
  // NOP NOP SACK with 2 blocks.
  const auto tcp = TcpView::parse(cspan(with_options("0101 0512 00000010 00000020 00000030 00000040")));
  ASSERT_TRUE(tcp) << to_string(tcp.error());
  ASSERT_EQ(tcp->options().sack_block_count, 2);
  EXPECT_EQ(tcp->options().sack_blocks[0], (SackBlock{0x10, 0x20}));
  EXPECT_EQ(tcp->options().sack_blocks[1], (SackBlock{0x30, 0x40}));
}

TEST(Tcp, Options_FourSackBlocks_Parsed) {
  const auto tcp = TcpView::parse(cspan(with_options(
      "0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008")));
  ASSERT_TRUE(tcp) << to_string(tcp.error());
  ASSERT_EQ(tcp->options().sack_block_count, 4);
  EXPECT_EQ(tcp->options().sack_blocks[3], (SackBlock{7, 8}));
}

TEST(Tcp, Options_WindowScaleAbove14_ClampedTo14) {
  const auto tcp = TcpView::parse(cspan(with_options("01 030320")));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options().window_scale, 14);
}

TEST(Tcp, Options_ImpossibleLengths_BadOption) {
  const char* cases[] = {
      "02000000",                  // length 0
      "02010000",                  // length 1
      "01010102",                  // kind 2 in the last byte with no length byte
      "010101fe",                  // unknown kind with no length byte
      "0203050000000000",          // MSS length 3
      "0205050000000000",          // MSS length 5
      "01030205",                  // WS length 2
      "03040500",                  // WS length 4
      "04030000",                  // SACK-permitted length 3
      "01010502",                  // SACK with no blocks
      "0101050b 00000000 00000000 00000000",  // SACK length 11
      "0808 00000000 00000000 0000",  // TS length 8
      "080b 00000000 00000000 0000",  // TS length 11
      "01010206",                  // MSS length 6, runs past the header
      "fe080000",                  // unknown kind, length 8, runs past the header
      "0101 05ff 0000000000000000000000000000000000000000000000000000000000000000",  // SACK len 255
  };
  for (const char* opts : cases) {
    const auto seg = with_options(opts);
    ASSERT_EQ(seg.size() % 4, 0u) << opts;
    EXPECT_EQ(parse_error_of(seg), ParseError::bad_option) << opts;
  }
}

TEST(Tcp, Options_SackWithFiveBlocks_BadOption) {
  // 2 + 40 bytes cannot fit in 40 bytes of options, so it necessarily runs past the header.
  const auto seg = with_options("052a" + std::string(76, '0'));
  EXPECT_EQ(parse_error_of(seg), ParseError::bad_option);
}

TEST(Tcp, Options_RepeatedOption_LastWins) {
  const auto tcp = TcpView::parse(cspan(with_options("020405b4 02040218")));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options().mss, 536);
}

TEST(Tcp, Write_ReproducesCapturedLinuxSyn) {
  const auto captured = tcp_of(test::golden::kSynFrame);
  const TcpHeader header{.src_port = 44286,
                         .dst_port = 45678,
                         .seq = 0xb88938f6,
                         .ack = 0,
                         .flags = TcpFlags::syn,
                         .window = 65495,
                         .options = {.mss = 65495,
                                     .window_scale = 10,
                                     .sack_permitted = true,
                                     .timestamps = TcpTimestamps{0x867b070c, 0}}};
  std::vector<std::byte> out(tcp_header_len(header));
  ASSERT_EQ(out.size(), 40u);
  EXPECT_EQ(write_tcp_header(out, header), 40u);
  fill_tcp_checksum(out, kLoopback, kLoopback);
  EXPECT_EQ(out, captured);
}

TEST(Tcp, Write_LinuxSynOptionLayout_ByteExact) {
  // What Linux puts in every SYN with default sysctls: MSS 1460, SACK-permitted folded into
  // the timestamp option's padding, then NOP + window scale 7.
  const TcpOptions options{.mss = 1460,
                           .window_scale = 7,
                           .sack_permitted = true,
                           .timestamps = TcpTimestamps{0x01020304, 0}};
  std::array<std::byte, 60> out{};
  const size_t len = write_tcp_header(out, TcpHeader{.flags = TcpFlags::syn, .options = options});
  ASSERT_EQ(len, 40u);
  EXPECT_EQ(out[12], std::byte{0xa0});
  const auto expected = hex("020405b4 0402080a 01020304 00000000 01030307");
  EXPECT_TRUE(std::equal(out.begin() + 20, out.begin() + 40, expected.begin(), expected.end()));
}

// The short writer for ACKs (with or without data) gives the general writer's bytes, with the
// timestamps option and without, whatever the flags.
TEST(Tcp, WriteTimestampsHeader_SameBytesAsTheGeneralWriter) {
  const TcpTimestamps ts{0x01020304, 0xa0b0c0d0};
  for (const TcpFlags flags : {TcpFlags::ack, TcpFlags::ack | TcpFlags::psh, TcpFlags::ack | TcpFlags::fin,
                               TcpFlags::ack | TcpFlags::ece | TcpFlags::cwr}) {
    for (const bool with_ts : {false, true}) {
      SCOPED_TRACE(testing::Message() << "flags " << static_cast<int>(flags) << " timestamps " << with_ts);
      TcpHeader header{.src_port = 0x1234, .dst_port = 80, .seq = 0xdeadbeef, .ack = 0x01020304, .flags = flags,
                       .window = 0xfedc};
      if (with_ts) header.options.timestamps = ts;
      std::array<std::byte, 60> general{}, plain{};
      const size_t len = write_tcp_header(general, header);
      ASSERT_EQ(write_tcp_timestamps_header(plain, 0x1234, 80, 0xdeadbeef, 0x01020304, flags, 0xfedc,
                                            with_ts ? &ts : nullptr),
                len);
      EXPECT_EQ(plain, general);
    }
  }
}

struct LayoutCase {
  const char* name;
  TcpOptions options;
  const char* expected;  // option bytes as written by Linux's tcp_options_write()
};

class TcpOptionLayout : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(TcpOptionLayout, WritesLinuxOrderAndParsesBack) {
  const LayoutCase& c = GetParam();
  const auto expected = hex(c.expected);
  ASSERT_EQ(tcp_options_len(c.options), expected.size());
  std::array<std::byte, 60> out{};
  const TcpHeader header{.src_port = 1, .dst_port = 2, .flags = TcpFlags::ack, .options = c.options};
  const size_t len = write_tcp_header(out, header);
  ASSERT_EQ(len, 20 + expected.size());
  EXPECT_TRUE(std::equal(out.begin() + 20, out.begin() + static_cast<ptrdiff_t>(len), expected.begin(), expected.end()));
  const auto tcp = TcpView::parse(std::span<const std::byte>(out).first(len));
  ASSERT_TRUE(tcp) << to_string(tcp.error());
  TcpOptions want = c.options;
  want.sack_block_count = static_cast<uint8_t>(tcp_sack_blocks_that_fit(c.options));
  for (size_t b = want.sack_block_count; b < kTcpMaxSackBlocks; ++b) want.sack_blocks[b] = SackBlock{};
  EXPECT_EQ(tcp->options(), want);
}

constexpr std::array<SackBlock, 4> kFourBlocks{SackBlock{1, 2}, SackBlock{3, 4}, SackBlock{5, 6}, SackBlock{7, 8}};

INSTANTIATE_TEST_SUITE_P(
    Tcp, TcpOptionLayout,
    ::testing::Values(
        LayoutCase{"None", {}, ""},
        LayoutCase{"MssOnly", {.mss = 536}, "02040218"},
        LayoutCase{"TimestampsOnly", {.timestamps = TcpTimestamps{5, 6}}, "0101080a 00000005 00000006"},
        LayoutCase{"SackPermittedOnly", {.sack_permitted = true}, "01010402"},
        LayoutCase{"WindowScaleOnly", {.window_scale = 0}, "01030300"},
        LayoutCase{"MssSackPermWs", {.mss = 1460, .window_scale = 7, .sack_permitted = true},
                   "020405b4 01010402 01030307"},
        LayoutCase{"TimestampsAndThreeSackBlocks",
                   {.timestamps = TcpTimestamps{9, 10}, .sack_block_count = 3, .sack_blocks = kFourBlocks},
                   "0101080a 00000009 0000000a 0101051a 00000001 00000002 00000003 00000004 00000005 00000006"},
        // Only 3 blocks fit next to timestamps; Linux drops the rest (tcp_established_options()).
        LayoutCase{"TimestampsAndFourSackBlocks_FourthDropped",
                   {.timestamps = TcpTimestamps{9, 10}, .sack_block_count = 4, .sack_blocks = kFourBlocks},
                   "0101080a 00000009 0000000a 0101051a 00000001 00000002 00000003 00000004 00000005 00000006"},
        LayoutCase{"FourSackBlocks",
                   {.sack_block_count = 4, .sack_blocks = kFourBlocks},
                   "01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"},
        LayoutCase{"SackCountAboveFour_CappedAtFour",
                   {.sack_block_count = 9, .sack_blocks = kFourBlocks},
                   "01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"},
        LayoutCase{"OneSackBlock", {.sack_block_count = 1, .sack_blocks = kFourBlocks}, "0101050a 00000001 00000002"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Tcp, FullOptionSet_FitsIn40Bytes) {
  const TcpOptions all{.mss = 1460,
                       .window_scale = 14,
                       .sack_permitted = true,
                       .timestamps = TcpTimestamps{1, 2},
                       .sack_block_count = 4,
                       .sack_blocks = kFourBlocks};
  // MSS 4 + TS 12 + WS 4 leave 20 bytes: the SACK option's 4 plus two 8-byte blocks.
  EXPECT_EQ(tcp_sack_blocks_that_fit(all), 2u);
  EXPECT_EQ(tcp_options_len(all), kTcpMaxOptionsLen);
  EXPECT_EQ(tcp_options_len(all) % 4, 0u);
}

TEST(Tcp, WriteWithPayloadThenParse_ChecksumVerifies) {
  const TcpHeader header{.src_port = 80,
                         .dst_port = 33000,
                         .seq = 0xfffffff0,
                         .ack = 0x12345678,
                         .flags = TcpFlags::ack | TcpFlags::psh | TcpFlags::fin,
                         .window = 502,
                         .urgent = 7,
                         .options = {.timestamps = TcpTimestamps{100, 200}}};
  const auto payload = hex("474554202f0a0d");  // odd length
  std::vector<std::byte> seg(tcp_header_len(header) + payload.size());
  const size_t hlen = write_tcp_header(seg, header);
  std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<ptrdiff_t>(hlen));
  const auto src = Ipv4Addr::from_octets(198, 18, 0, 1);
  const auto dst = Ipv4Addr::from_octets(198, 18, 0, 2);
  fill_tcp_checksum(seg, src, dst);
  const auto tcp = TcpView::parse(cspan(seg));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->verify_checksum(src, dst));
  EXPECT_FALSE(tcp->verify_checksum(src, Ipv4Addr::from_octets(198, 18, 0, 3)));
  EXPECT_EQ(tcp->src_port(), 80);
  EXPECT_EQ(tcp->dst_port(), 33000);
  EXPECT_EQ(tcp->seq(), 0xfffffff0u);
  EXPECT_EQ(tcp->ack(), 0x12345678u);
  EXPECT_EQ(tcp->flags(), header.flags);
  EXPECT_EQ(tcp->window(), 502);
  EXPECT_EQ(tcp->urgent(), 7);
  EXPECT_EQ(tcp->options(), header.options);
  EXPECT_EQ(tcp->payload().size(), payload.size());
}

TEST(Tcp, FillChecksum_IgnoresOldFieldValue) {
  auto seg = tcp_of(test::golden::kSynFrame);
  const auto golden = seg;
  seg[16] = std::byte{0xde};
  seg[17] = std::byte{0xad};
  fill_tcp_checksum(seg, kLoopback, kLoopback);
  EXPECT_EQ(seg, golden);
}

TEST(TcpFlags, BitOperators_CombineAndTest) {
  TcpFlags f = TcpFlags::syn;
  f |= TcpFlags::ack;
  EXPECT_TRUE(has(f, TcpFlags::syn));
  EXPECT_TRUE(has(f, TcpFlags::syn | TcpFlags::ack));
  EXPECT_FALSE(has(f, TcpFlags::syn | TcpFlags::fin));
  EXPECT_EQ(f & ~TcpFlags::syn, TcpFlags::ack);
  static_assert((TcpFlags::fin | TcpFlags::cwr) == static_cast<TcpFlags>(0x81));
}

TEST(TcpFlags, ToString_BitOrderJoinedWithBar) {
  EXPECT_EQ(to_string(TcpFlags::syn | TcpFlags::ack), "SYN|ACK");
  EXPECT_EQ(to_string(TcpFlags::fin | TcpFlags::psh | TcpFlags::ack), "FIN|PSH|ACK");
  EXPECT_EQ(to_string(static_cast<TcpFlags>(0xff)), "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
  EXPECT_EQ(to_string(TcpFlags::none), "none");
}

}  // namespace
}  // namespace dtcp::wire
