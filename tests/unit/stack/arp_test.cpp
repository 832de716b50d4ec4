// ARP input (RFC 826 with the RFC 5227 probe and announcement) and what we send ourselves.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

class InterfaceArp : public InterfaceTest {
 protected:
  const ArpCache::Entry* entry(wire::Ipv4Addr ip) const { return iface_->arp_cache().find(ip); }
};

// Our reply to kPeerIp/kPeerMac asking for 198.18.0.1, written out by hand from RFC 826:
// Ethernet to the asker, then htype 1, ptype 0x0800, hlen 6, plen 4, op 2 (reply), our MAC
// and address as sender, the asker's as target. No padding: the port pads short frames.
constexpr std::string_view kReplyToPeer =
    "020000000002 020000000001 0806"
    "0001 0800 06 04 0002"
    "020000000001 c6120001"
    "020000000002 c6120002";

TEST_F(InterfaceArp, Request_ForOurAddress_ByteExactReplyAndSenderLearned) {
  // A request as Linux sends it: broadcast, 18 bytes of zero padding up to 60 bytes.
  const Bytes request = arp_frame(wire::MacAddr::broadcast(), kPeerMac,
                                  {.op = wire::ArpOp::request, .sender_mac = kPeerMac, .sender_ip = kPeerIp,
                                   .target_ip = kOurIp}) +
                        Bytes(18);
  ASSERT_EQ(request.size(), 60u);
  receive(request, t0_ + 7ms);

  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.at(0)->ol_flags, 0u);
  EXPECT_EQ(sink_.at(0)->nb_segs, 1);
  EXPECT_EQ(sink_.bytes(0), hex(kReplyToPeer));
  EXPECT_EQ(counters_.rx_arp, 1u);
  EXPECT_EQ(counters_.rx_arp_request, 1u);
  EXPECT_EQ(counters_.tx_arp_reply, 1u);
  EXPECT_EQ(counters_.tx_frames, 1u);
  EXPECT_EQ(counters_.tx_bytes, 42u);
  EXPECT_TRUE(drops(changed(NetCounters{}, counters_)).empty());

  const ArpCache::Entry* e = entry(kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, kPeerMac);
  EXPECT_EQ(e->state, ArpCache::State::reachable);
  EXPECT_EQ(e->deadline, t0_ + 7ms + 30s);
}

TEST_F(InterfaceArp, Request_UnicastToOurMac_Answered) {
  // Linux refreshes a stale entry with a unicast request (RFC 1122 2.3.2.1).
  receive(arp_frame(kOurMac, kPeerMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerMac, .sender_ip = kPeerIp,
                     .target_mac = kOurMac, .target_ip = kOurIp}));
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.bytes(0), hex(kReplyToPeer));
}

TEST_F(InterfaceArp, Reply_ToOurRequest_CountedNothingSent) {
  receive(arp_frame(kOurMac, kPeerMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kPeerMac, .sender_ip = kPeerIp,
                     .target_mac = kOurMac, .target_ip = kOurIp}));
  EXPECT_EQ(counters_.rx_arp_reply, 1u);
  EXPECT_TRUE(sink_.empty());
  EXPECT_TRUE(drops(changed(NetCounters{}, counters_)).empty());
}

TEST_F(InterfaceArp, GratuitousRequest_FromKnownNeighbour_UpdatesItsMac) {
  learn_peer();
  // RFC 5227 2.3 announcement: sender and target both the neighbour's own address.
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerNewMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerNewMac, .sender_ip = kPeerIp,
                     .target_ip = kPeerIp}),
          t0_ + 1s);
  EXPECT_TRUE(sink_.empty());
  const ArpCache::Entry* e = entry(kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, kPeerNewMac);
  EXPECT_EQ(e->deadline, t0_ + 1s + 30s);

  // And traffic follows it.
  send_tcp_at(t0_ + 2s, 1);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(parse_frame(sink_.bytes(0)).eth_dst, kPeerNewMac);
}

TEST_F(InterfaceArp, GratuitousReply_FromKnownNeighbour_UpdatesItsMac) {
  learn_peer();
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerNewMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kPeerNewMac, .sender_ip = kPeerIp,
                     .target_mac = kPeerNewMac, .target_ip = kPeerIp}));
  EXPECT_EQ(entry(kPeerIp)->mac, kPeerNewMac);
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceArp, UnsolicitedReplyNotForUs_UnknownNeighbour_NotLearned) {
  // RFC 826 merge: an unknown sender is added only when we are the target.
  receive(arp_frame(wire::MacAddr::broadcast(), kOtherMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                     .target_mac = kOtherMac, .target_ip = kOtherIp}));
  EXPECT_EQ(entry(kOtherIp), nullptr);
  EXPECT_EQ(iface_->arp_cache().size(), 0u);
  EXPECT_EQ(counters_.drop_arp_not_for_us, 1u);
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceArp, GratuitousRequest_UnknownNeighbour_NotLearned) {
  receive(arp_frame(wire::MacAddr::broadcast(), kOtherMac,
                    {.op = wire::ArpOp::request, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                     .target_ip = kOtherIp}));
  EXPECT_EQ(iface_->arp_cache().size(), 0u);
  EXPECT_TRUE(sink_.empty());
}

// RFC 826 adds an unknown sender whenever we are the target, whatever the opcode, and the
// code follows it. (Linux differs: with the default arp_accept=0 it does not create an entry
// from a reply it did not ask for.)
TEST_F(InterfaceArp, UnsolicitedReplyToUs_UnknownNeighbour_LearnedPerRfc826) {
  receive(arp_frame(kOurMac, kOtherMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                     .target_mac = kOurMac, .target_ip = kOurIp}));
  ASSERT_NE(entry(kOtherIp), nullptr);
  EXPECT_EQ(entry(kOtherIp)->mac, kOtherMac);
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceArp, ProbeForOurAddress_TeachesNothingAndIsAnswered) {
  // RFC 5227 2.1.1 probe: sender 0.0.0.0, target the address being checked (ours). We defend
  // it the way Linux does: a reply to the prober's MAC with target address 0.0.0.0.
  receive(arp_frame(wire::MacAddr::broadcast(), kOtherMac,
                    {.op = wire::ArpOp::request, .sender_mac = kOtherMac, .sender_ip = wire::Ipv4Addr{},
                     .target_ip = kOurIp}));
  EXPECT_EQ(iface_->arp_cache().size(), 0u);
  EXPECT_EQ(entry(wire::Ipv4Addr{}), nullptr);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.bytes(0), hex("020000000003 020000000001 0806"
                                "0001 0800 06 04 0002"
                                "020000000001 c6120001"
                                "020000000003 00000000"));
}

TEST_F(InterfaceArp, ProbeForOtherAddress_TeachesNothing) {
  learn_peer();
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerNewMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerNewMac, .sender_ip = wire::Ipv4Addr{},
                     .target_ip = kPeerIp}));
  EXPECT_EQ(iface_->arp_cache().size(), 1u);
  EXPECT_EQ(entry(kPeerIp)->mac, kPeerMac) << "a probe must not overwrite a known neighbour";
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceArp, Request_SenderClaimsOurAddress_NotLearned) {
  // Someone else announcing our address must not put our own address in the cache.
  receive(arp_frame(wire::MacAddr::broadcast(), kOtherMac,
                    {.op = wire::ArpOp::request, .sender_mac = kOtherMac, .sender_ip = kOurIp,
                     .target_ip = kOurIp}));
  EXPECT_EQ(entry(kOurIp), nullptr);
  EXPECT_EQ(iface_->arp_cache().size(), 0u);
}

TEST_F(InterfaceArp, Request_WhileResolving_ResolvesAndReleasesQueuedPackets) {
  // Our own request crosses theirs: their request for us carries the answer.
  send_tcp_at(t0_, 1);
  sink_.clear();
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerMac, .sender_ip = kPeerIp,
                     .target_ip = kOurIp}));
  ASSERT_EQ(sink_.size(), 2u);
  const auto first = parse_frame(sink_.bytes(0));
  const auto second = parse_frame(sink_.bytes(1));
  EXPECT_EQ(first.ether_type, 0x0800);  // the queued segment, released during the merge
  EXPECT_EQ(first.eth_dst, kPeerMac);
  EXPECT_EQ(second.ether_type, 0x0806);
}

TEST_F(InterfaceArp, SendGratuitousArp_ByteExactAnnouncement) {
  iface_->send_gratuitous_arp();
  ASSERT_EQ(sink_.size(), 1u);
  // RFC 5227 2.3: an ARP request with sender and target protocol address both ours and a zero
  // target hardware address, broadcast.
  EXPECT_EQ(sink_.bytes(0), hex("ffffffffffff 020000000001 0806"
                                "0001 0800 06 04 0001"
                                "020000000001 c6120001"
                                "000000000000 c6120001"));
  EXPECT_EQ(changed(NetCounters{}, counters_),
            (CounterDeltas{{"tx_arp_gratuitous", 1}, {"tx_frames", 1}, {"tx_bytes", 42}}));
}

// BUG: send_gratuitous_arp() counts tx_arp_gratuitous and then does tx_arp_request-- to undo
// the increment send_arp() makes, but send_arp() skips that increment when the pool is empty.
// With no mbuf the announcement is not sent, yet tx_arp_gratuitous goes to 1 and
// tx_arp_request wraps from 0 to 18446744073709551615.
TEST_F(InterfaceArp, SendGratuitousArp_PoolEmpty_CountersStayConsistent) {
  setup_.pool = tiny_pool();
  rebuild();
  std::vector<rte_mbuf*> hold(tiny_pool()->size);
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(tiny_pool(), hold.data(), static_cast<unsigned>(hold.size())), 0);
  iface_->send_gratuitous_arp();
  for (rte_mbuf* m : hold) rte_pktmbuf_free(m);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(changed(NetCounters{}, counters_), (CounterDeltas{{"drop_no_mbuf", 1}}));
}

// BUG: arp_entries_added ("ARP cache entries created") only counts entries created by our own
// resolution (ip_output's queued_and_request). An entry created by the RFC 826 merge for a
// request addressed to us is not counted, although its later removal is counted in
// arp_entries_expired, so expired can exceed added.
TEST_F(InterfaceArp, Request_FromNewNeighbour_CountsEntryAdded) {
  learn_peer();
  EXPECT_EQ(iface_->arp_cache().size(), 1u);
  EXPECT_EQ(counters_.arp_entries_added, 1u);
}

}  // namespace
}  // namespace dtcp::stack::test
