// An interface owning a range of addresses (PortConfig::address_count): ARP, IPv4 and ICMP
// answer for every address in it and for nothing outside it.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

// kOurIp .. kOurIp+3 (198.18.0.1 .. 198.18.0.4).
const wire::Ipv4Addr kThird = wire::Ipv4Addr::from_octets(198, 18, 0, 3);
const wire::Ipv4Addr kLast = wire::Ipv4Addr::from_octets(198, 18, 0, 4);
const wire::Ipv4Addr kBeyond = wire::Ipv4Addr::from_octets(198, 18, 0, 5);
const wire::Ipv4Addr kPeer = wire::Ipv4Addr::from_octets(198, 18, 0, 200);

class InterfaceAddressRange : public InterfaceTest {
 protected:
  void SetUp() override {
    setup_.address_count = 4;
    rebuild();
    attach_tcp();
  }
  static Bytes arp_request_for(wire::Ipv4Addr target) {
    return arp_frame(wire::MacAddr::broadcast(), kPeerMac,
                     {.op = wire::ArpOp::request, .sender_mac = kPeerMac, .sender_ip = kPeer, .target_ip = target});
  }
};

TEST_F(InterfaceAddressRange, IsLocal_CoversExactlyTheRange) {
  EXPECT_FALSE(iface_->is_local(wire::Ipv4Addr::from_octets(198, 18, 0, 0)));
  EXPECT_TRUE(iface_->is_local(kOurIp));
  EXPECT_TRUE(iface_->is_local(kLast));
  EXPECT_FALSE(iface_->is_local(kBeyond));
}

TEST_F(InterfaceAddressRange, ArpRequestForAnyAddressInRange_AnsweredFromThatAddress) {
  receive(arp_request_for(kThird));
  ASSERT_EQ(sink_.size(), 1u);
  const ParsedFrame f = parse_frame(sink_.bytes(0));
  const auto reply = wire::parse_arp(cspan(f.payload));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->op, wire::ArpOp::reply);
  EXPECT_EQ(reply->sender_ip, kThird);
  EXPECT_EQ(reply->sender_mac, kOurMac);
  EXPECT_EQ(reply->target_ip, kPeer);
}

TEST_F(InterfaceAddressRange, ArpRequestBeyondTheRange_NotForUs) {
  expect_dropped(arp_request_for(kBeyond), "drop_arp_not_for_us");
}

TEST_F(InterfaceAddressRange, TcpToAnyAddressInRange_DeliveredWithThatDestination) {
  receive(ipv4_frame({.src = kPeer, .dst = kLast, .protocol = 6,
                      .payload = tcp_segment(kPeer, kLast, tcp_ack(1), filled(5))}));
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].dst, kLast);
  EXPECT_EQ(tcp_.segments[0].src, kPeer);
}

TEST_F(InterfaceAddressRange, TcpBeyondTheRange_NotForUs) {
  expect_dropped(ipv4_frame({.src = kPeer, .dst = kBeyond, .protocol = 6,
                             .payload = tcp_segment(kPeer, kBeyond, tcp_ack(1), {})}),
                 "drop_ip_not_for_us");
}

TEST_F(InterfaceAddressRange, SourceInOurRange_Dropped) {
  expect_dropped(ipv4_frame({.src = kThird, .dst = kOurIp, .protocol = 6,
                             .payload = tcp_segment(kThird, kOurIp, tcp_ack(1), {})}),
                 "drop_ip_bad_source");
}

TEST_F(InterfaceAddressRange, EchoRequestToSecondaryAddress_ReplyComesFromIt) {
  learn(kPeer, kPeerMac, t0_);
  receive(ipv4_frame({.src = kPeer, .dst = kThird, .payload = echo_request(7, 1, filled(8))}));
  ASSERT_EQ(sink_.size(), 1u);
  const ParsedFrame f = parse_frame(sink_.bytes(0));
  const auto ip = wire::Ipv4View::parse(cspan(f.payload), true);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src(), kThird);
  EXPECT_EQ(ip->dst(), kPeer);
}

}  // namespace
}  // namespace dtcp::stack::test
