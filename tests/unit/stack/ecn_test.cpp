// The ECN field on the IPv4 path between the wire and TCP (RFC 3168 §5): the codepoint TCP asks
// for is written into the header send_tcp() prepends, under a correct header checksum, and the
// codepoint of a received segment reaches TCP whatever the DSCP beside it.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

using wire::Ecn;

class InterfaceEcn : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    learn_peer();
    attach_tcp();
  }

  // Sends one segment with `ecn` and returns the IPv4 header's TOS byte after checking the
  // header checksum; the frame is freed.
  uint8_t sent_tos(Ecn ecn) {
    rte_mbuf* m = outgoing_segment(tcp_ack(1), filled(100));
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return 0xff;
    iface_->send_tcp(m, kOurIp, kPeerIp, ecn);
    EXPECT_EQ(sink_.size(), 1u);
    if (sink_.empty()) return 0xff;
    const ParsedFrame f = parse_frame(sink_.bytes(0));
    sink_.clear();
    const auto ip = wire::Ipv4View::parse(cspan(f.payload), /*verify_checksum=*/true);
    EXPECT_TRUE(ip) << wire::to_string(ip.error());
    return ip ? ip->dscp_ecn() : 0xff;
  }

  // Receives a valid segment in a datagram with this TOS byte; returns the ECN TCP was given.
  Ecn received_ecn(uint8_t tos) {
    const Bytes segment = tcp_segment(kPeerIp, kOurIp, tcp_ack(1), filled(10));
    receive(ipv4_frame({.protocol = static_cast<uint8_t>(wire::IpProtocol::tcp), .tos = tos, .payload = segment}));
    EXPECT_EQ(tcp_.segments.size(), 1u);
    if (tcp_.segments.empty()) return Ecn::not_ect;
    const Ecn ecn = tcp_.segments.back().ecn;
    EXPECT_EQ(tcp_.segments.back().bytes, segment);
    tcp_.segments.clear();
    return ecn;
  }
};

TEST_F(InterfaceEcn, SendTcp_EcnCodepointWrittenInTheTosByte) {
  EXPECT_EQ(sent_tos(Ecn::not_ect), 0x00);
  EXPECT_EQ(sent_tos(Ecn::ect0), 0x02);
  EXPECT_EQ(sent_tos(Ecn::ect1), 0x01);
}

TEST_F(InterfaceEcn, SendTcp_DefaultIsNotEct) {
  send_tcp_at(t0_, 1);
  ASSERT_EQ(sink_.size(), 1u);
  const ParsedFrame f = parse_frame(sink_.bytes(0));
  const auto ip = wire::Ipv4View::parse(cspan(f.payload));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ecn(), Ecn::not_ect);
}

TEST_F(InterfaceEcn, Receive_EcnFieldHandedToTcp) {
  EXPECT_EQ(received_ecn(0x00), Ecn::not_ect);
  EXPECT_EQ(received_ecn(0x02), Ecn::ect0);
  EXPECT_EQ(received_ecn(0x03), Ecn::ce);
  EXPECT_EQ(received_ecn(0xbb), Ecn::ce);  // DSCP 46 (EF) beside CE
  EXPECT_EQ(received_ecn(0xb8), Ecn::not_ect);
}

}  // namespace
}  // namespace dtcp::stack::test
