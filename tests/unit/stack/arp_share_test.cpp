// ARP on a port with several queues: each queue's Interface has its own cache, and a reply
// lands on one queue only. The learned hook reports what an ARP packet for us taught, so the
// port layer can pass it on; learn() applies such a mapping on another queue, releasing what
// waited for it.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

class ArpShare : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    iface_->set_arp_learned_hook(&ArpShare::record, this);
  }
  static void record(void* ctx, wire::Ipv4Addr ip, wire::MacAddr mac) {
    static_cast<ArpShare*>(ctx)->learned_.emplace_back(ip, mac);
  }
  static Bytes request(wire::Ipv4Addr sender, wire::MacAddr mac, wire::Ipv4Addr target) {
    return arp_frame(wire::MacAddr::broadcast(), mac,
                     {.op = wire::ArpOp::request, .sender_mac = mac, .sender_ip = sender, .target_ip = target});
  }
  static Bytes reply(wire::Ipv4Addr sender, wire::MacAddr mac) {
    return arp_frame(kOurMac, mac,
                     {.op = wire::ArpOp::reply, .sender_mac = mac, .sender_ip = sender, .target_mac = kOurMac,
                      .target_ip = kOurIp});
  }

  std::vector<std::pair<wire::Ipv4Addr, wire::MacAddr>> learned_;
};

TEST_F(ArpShare, RequestForUs_ReportsSender) {
  receive(request(kPeerIp, kPeerMac, kOurIp));
  ASSERT_EQ(learned_.size(), 1u);
  EXPECT_EQ(learned_[0].first, kPeerIp);
  EXPECT_EQ(learned_[0].second, kPeerMac);
}

TEST_F(ArpShare, ReplyToUs_ReportsSender) {
  receive(reply(kPeerIp, kPeerNewMac));
  ASSERT_EQ(learned_.size(), 1u);
  EXPECT_EQ(learned_[0].second, kPeerNewMac);
}

TEST_F(ArpShare, ArpForAnotherHost_NotReported) {
  learn_peer();
  learned_.clear();
  // Refreshes the known entry here, but teaches nothing addressed to us.
  receive(request(kPeerIp, kPeerNewMac, kOtherIp));
  EXPECT_TRUE(learned_.empty());
  EXPECT_EQ(iface_->arp_cache().find(kPeerIp)->mac, kPeerNewMac);
}

TEST_F(ArpShare, ProbeFromUnspecifiedSender_NotReported) {
  receive(request(wire::Ipv4Addr{}, kPeerMac, kOurIp));
  EXPECT_TRUE(learned_.empty());
}

TEST_F(ArpShare, Learn_ReleasesWaitingPacketsWithoutReportingAgain) {
  send_tcp_at(t0_, 1);
  send_tcp_at(t0_, 2);
  sink_.clear();  // the broadcast request
  iface_->learn(kPeerIp, kPeerMac, t0_ + 1ms);
  const auto frames = sink_.take();
  ASSERT_EQ(frames.size(), 2u);
  for (const auto& f : frames) EXPECT_EQ(parse_frame(f).eth_dst, kPeerMac);
  EXPECT_TRUE(learned_.empty()) << "a shared mapping must not be shared back";
  EXPECT_EQ(counters_.arp_entries_from_peers, 1u);
  EXPECT_EQ(iface_->arp_cache().find(kPeerIp)->state, ArpCache::State::reachable);
}

TEST_F(ArpShare, Learn_CreatesAbsentEntry) {
  iface_->learn(kOtherIp, kOtherMac, t0_);
  const ArpCache::Entry* e = iface_->arp_cache().find(kOtherIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, kOtherMac);
  EXPECT_EQ(counters_.arp_entries_added, 1u);
  send_tcp_at(t0_, 7, kOtherIp);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(parse_frame(sink_.bytes(0)).eth_dst, kOtherMac) << "sent at once, no ARP request";
}

TEST_F(ArpShare, Learn_OurOwnAddress_Ignored) {
  iface_->learn(kOurIp, kOtherMac, t0_);
  EXPECT_EQ(iface_->arp_cache().find(kOurIp), nullptr);
}

}  // namespace
}  // namespace dtcp::stack::test
