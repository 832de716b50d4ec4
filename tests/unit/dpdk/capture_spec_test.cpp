// The capture's option strings (telemetry `/dtcp/capture`, `--capture`, `[runtime] capture`) and
// its TCP/UDP port filter on golden frames. The frames are written out by hand field by field
// (RFC 791, RFC 8200, RFC 9293, RFC 768 layouts); checksums are zero since the filter reads none.
#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <vector>

#include "dpdk/capture_spec.hpp"

namespace dtcp::dpdk {
namespace {

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// Ethernet 02:00:00:00:00:02 -> 02:00:00:00:00:01, type IPv4; IPv4 198.18.0.2 -> 198.18.0.1,
// IHL 5, protocol TCP; TCP 40000 -> 7 (0x9c40 -> 0x0007), SYN.
const std::vector<std::byte> kIpv4Tcp = bytes({
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
    0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
    0x9c, 0x40, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
});

CaptureSpec spec_of(const char* text) {
  auto parsed = parse_capture_spec(text);
  EXPECT_TRUE(std::holds_alternative<CaptureSpec>(parsed)) << std::get<std::string>(parsed);
  return std::holds_alternative<CaptureSpec>(parsed) ? std::get<CaptureSpec>(parsed) : CaptureSpec{};
}

std::string error_of(const char* text) {
  auto parsed = parse_capture_spec(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text << " parsed";
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(CaptureSpec, EveryOption_Parsed) {
  const CaptureSpec spec = spec_of("file=/tmp/x.pcapng,port=a,port=1,dir=rx,filter=80,count=1000,bytes=2M,snaplen=96");
  EXPECT_EQ(spec.file, "/tmp/x.pcapng");
  EXPECT_EQ(spec.ports, (std::vector<std::string>{"a", "1"}));
  EXPECT_EQ(spec.direction, CaptureDirection::rx);
  EXPECT_EQ(spec.l4_port, 80);
  EXPECT_EQ(spec.packet_limit, 1000u);
  EXPECT_EQ(spec.byte_limit, 2u << 20);
  EXPECT_EQ(spec.snaplen, 96u);
}

TEST(CaptureSpec, FileOnly_DefaultsToEveryPortBothWaysNoLimit) {
  const CaptureSpec spec = spec_of("file=x.pcapng");
  EXPECT_TRUE(spec.ports.empty());
  EXPECT_EQ(spec.direction, CaptureDirection::both);
  EXPECT_FALSE(spec.l4_port);
  EXPECT_EQ(spec.packet_limit, 0u);
  EXPECT_EQ(spec.byte_limit, 0u);
  EXPECT_EQ(spec.snaplen, 65535u);
}

TEST(CaptureSpec, BadOptions_NameWhatWasWrong) {
  EXPECT_EQ(error_of("dir=rx"), "capture: file=PATH is required");
  EXPECT_EQ(error_of("file=x,dir=up"), "capture dir: expected rx, tx or both, got 'up'");
  EXPECT_EQ(error_of("file=x,filter=0"), "capture filter: expected a TCP/UDP port 1..65535, got '0'");
  EXPECT_EQ(error_of("file=x,filter=65536"), "capture filter: expected a TCP/UDP port 1..65535, got '65536'");
  EXPECT_EQ(error_of("file=x,count=ten"), "capture count: expected a packet count, got 'ten'");
  EXPECT_EQ(error_of("file=x,bytes=1T"), "capture bytes: expected a byte count (suffix K, M or G), got '1T'");
  EXPECT_EQ(error_of("file=x,snaplen=13"), "capture snaplen: expected 14..65535, got '13'");
  EXPECT_EQ(error_of("file=x,colour=red"),
            "unknown capture option 'colour' (known: file, port, dir, filter, count, bytes, snaplen)");
  EXPECT_EQ(error_of("file=x,rx"), "capture option 'rx' needs =VALUE");
}

TEST(CaptureCommand, StartStopStatus) {
  auto start = parse_capture_command("start,file=/tmp/y.pcapng,dir=tx");
  ASSERT_TRUE(std::holds_alternative<CaptureCommand>(start)) << std::get<std::string>(start);
  EXPECT_EQ(std::get<CaptureCommand>(start).action, CaptureCommand::Action::start);
  EXPECT_EQ(std::get<CaptureCommand>(start).spec.direction, CaptureDirection::tx);
  EXPECT_EQ(std::get<CaptureCommand>(parse_capture_command("stop")).action, CaptureCommand::Action::stop);
  EXPECT_EQ(std::get<CaptureCommand>(parse_capture_command("status")).action, CaptureCommand::Action::status);
  EXPECT_EQ(std::get<CaptureCommand>(parse_capture_command("")).action, CaptureCommand::Action::status);
  EXPECT_EQ(std::get<std::string>(parse_capture_command("start")), "capture: file=PATH is required");
  EXPECT_EQ(std::get<std::string>(parse_capture_command("stop,file=x")), "capture stop takes no options");
  EXPECT_EQ(std::get<std::string>(parse_capture_command("pause")),
            "unknown capture action 'pause' (expected start,OPTIONS or stop or status)");
}

TEST(CaptureFilter, Ipv4Tcp_MatchesEitherPort) {
  EXPECT_TRUE(frame_matches_l4_port(kIpv4Tcp, 7));
  EXPECT_TRUE(frame_matches_l4_port(kIpv4Tcp, 40000));
  EXPECT_FALSE(frame_matches_l4_port(kIpv4Tcp, 80));
}

TEST(CaptureFilter, Ipv4WithOptions_PortsAfterIhl) {
  // IHL 6: one 4-byte option (NOP NOP NOP EOL) before UDP 5353 -> 53.
  const auto frame = bytes({
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
      0x46, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
      0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00,
      0x14, 0xe9, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00,
  });
  EXPECT_TRUE(frame_matches_l4_port(frame, 53));
  EXPECT_TRUE(frame_matches_l4_port(frame, 5353));
  EXPECT_FALSE(frame_matches_l4_port(frame, 0x0101));  // the option bytes, where IHL 5 would look
}

TEST(CaptureFilter, Ipv4LaterFragment_NoPorts) {
  auto frame = kIpv4Tcp;
  frame[14 + 6] = std::byte{0x00};
  frame[14 + 7] = std::byte{0x10};  // fragment offset 16 x 8 bytes: no TCP header in this one
  EXPECT_FALSE(frame_matches_l4_port(frame, 7));
}

TEST(CaptureFilter, Vlan_TagSkipped) {
  auto frame = kIpv4Tcp;
  const auto tag = bytes({0x81, 0x00, 0x00, 0x64});  // VLAN 100, then the IPv4 type
  frame.insert(frame.begin() + 12, tag.begin(), tag.end());
  EXPECT_TRUE(frame_matches_l4_port(frame, 7));
}

TEST(CaptureFilter, Ipv6ThroughExtensionHeaders) {
  // IPv6 2001:db8::2 -> 2001:db8::1, next header hop-by-hop (0); hop-by-hop (8 bytes, PadN) to
  // fragment (44); first fragment (offset 0, M set) to TCP 443 -> 50000 (0x01bb -> 0xc350).
  const auto frame = bytes({
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,
      0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x40,
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
      0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
      0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a,
      0x01, 0xbb, 0xc3, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
  });
  EXPECT_TRUE(frame_matches_l4_port(frame, 443));
  EXPECT_TRUE(frame_matches_l4_port(frame, 50000));
  EXPECT_FALSE(frame_matches_l4_port(frame, 80));
  auto later = frame;
  later[14 + 40 + 8 + 3] = std::byte{0x08};  // fragment offset 1: no TCP header
  EXPECT_FALSE(frame_matches_l4_port(later, 443));
}

TEST(CaptureFilter, TruncatedOrOtherProtocols_NoMatch) {
  // Short of the ports' last byte (14 + 20 + 4) the frame cannot match.
  for (size_t length = 0; length < 38; length++) {
    EXPECT_FALSE(frame_matches_l4_port(std::span(kIpv4Tcp).first(length), 7)) << length;
  }
  EXPECT_TRUE(frame_matches_l4_port(std::span(kIpv4Tcp).first(38), 7));
  auto icmp = kIpv4Tcp;
  icmp[14 + 9] = std::byte{1};
  EXPECT_FALSE(frame_matches_l4_port(icmp, 7));
  auto arp = kIpv4Tcp;
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_FALSE(frame_matches_l4_port(arp, 7));
}

}  // namespace
}  // namespace dtcp::dpdk
