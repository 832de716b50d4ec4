// A connection's transmit header template (wire::TxHeaderTemplate, Interface::send_tcp with a
// template): frames built from it are the slow path's frames, and it is not used once the
// neighbour mapping it copied may have changed (a new MAC, the RFC 1122 2.3.2.1 refresh, RFC 4861
// §7.3.3 ReachableTime), so every verdict of the ARP and neighbour caches still happens.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

constexpr size_t kIpIdOffset = 14 + 4;        // IPv4 identification: one more per packet
constexpr size_t kIpChecksumOffset = 14 + 10;  // and so its header checksum

class TxTemplate : public InterfaceTest {
 protected:
  // One segment through the slow path (no template), returns its frame.
  Bytes send_slow(TimePoint at, const wire::IpAddr& src, const wire::IpAddr& dst, uint32_t seq, const Bytes& payload,
                  wire::Ecn ecn = wire::Ecn::not_ect) {
    return send(at, src, dst, seq, payload, ecn, nullptr);
  }
  // One segment through `tmpl_`, returns its frame (the last one sent).
  Bytes send_templated(TimePoint at, const wire::IpAddr& src, const wire::IpAddr& dst, uint32_t seq,
                       const Bytes& payload, wire::Ecn ecn = wire::Ecn::not_ect) {
    return send(at, src, dst, seq, payload, ecn, &tmpl_);
  }

  Bytes send(TimePoint at, const wire::IpAddr& src, const wire::IpAddr& dst, uint32_t seq, const Bytes& payload,
             wire::Ecn ecn, wire::TxHeaderTemplate* tmpl) {
    sink_.clear();
    iface_->advance(at);
    rte_mbuf* m = outgoing_segment(tcp_ack(seq), payload);
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return {};
    if (tmpl != nullptr) {
      iface_->send_tcp(m, src, dst, ecn, *tmpl);
    } else {
      iface_->send_tcp(m, src, dst, ecn);
    }
    if (sink_.empty()) return {};
    last_ol_flags_ = sink_.at(sink_.size() - 1)->ol_flags;
    return sink_.bytes(sink_.size() - 1);
  }

  // `b` with the IPv4 identification and header checksum of `a`: the only bytes two frames of
  // the same segment may differ in.
  static Bytes with_id_of(const Bytes& a, Bytes b) {
    for (size_t i : {kIpIdOffset, kIpIdOffset + 1, kIpChecksumOffset, kIpChecksumOffset + 1}) b.at(i) = a.at(i);
    return b;
  }

  static void expect_valid_ipv4_tcp(const Bytes& frame, bool software_checksums) {
    const ParsedFrame f = parse_frame(frame);
    const auto ip = wire::Ipv4View::parse(cspan(f.payload), software_checksums);
    ASSERT_TRUE(ip) << wire::to_string(ip.error());
    const auto tcp = wire::TcpView::parse(ip->payload());
    ASSERT_TRUE(tcp);
    if (software_checksums) {
      EXPECT_TRUE(tcp->verify_checksum(ip->src(), ip->dst()));
    }
  }

  wire::TxHeaderTemplate tmpl_;
  uint64_t last_ol_flags_ = 0;
};

// The same segment (odd and even payload lengths, every ECN codepoint) from the template and from
// the slow path: the same bytes but for the identification, and valid checksums.
TEST_F(TxTemplate, Ipv4_TemplatedFrame_IsTheSlowPathFrame) {
  learn_peer();
  const uint64_t frames_before = counters_.tx_frames;  // learning answered the peer's request
  EXPECT_EQ(tmpl_.generation, 0u);
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  EXPECT_NE(tmpl_.generation, 0u) << "built by the slow path to a REACHABLE entry";
  for (const size_t len : {size_t{0}, size_t{1}, size_t{64}, size_t{1001}}) {
    for (const wire::Ecn ecn : {wire::Ecn::not_ect, wire::Ecn::ect0, wire::Ecn::ect1, wire::Ecn::ce}) {
      SCOPED_TRACE(testing::Message() << "payload " << len << " ecn " << static_cast<int>(ecn));
      const Bytes payload = filled(len, static_cast<uint8_t>(len));
      const Bytes slow = send_slow(t0_ + 1s, kOurIp, kPeerIp, 0x01020304, payload, ecn);
      const Bytes fast = send_templated(t0_ + 1s, kOurIp, kPeerIp, 0x01020304, payload, ecn);
      ASSERT_FALSE(fast.empty());
      EXPECT_EQ(with_id_of(slow, fast), slow);
      EXPECT_NE(wire::load_be16(fast.data() + kIpIdOffset), wire::load_be16(slow.data() + kIpIdOffset))
          << "each packet its own identification";
      expect_valid_ipv4_tcp(fast, true);
    }
  }
  EXPECT_EQ(counters_.tx_tcp, 1u + 2u * 16u);
  EXPECT_EQ(counters_.tx_frames - frames_before, counters_.tx_tcp);
}

TEST_F(TxTemplate, Ipv4_ChecksumOffload_SameFieldsAndFlagsAsSlowPath) {
  setup_.tx_tcp_checksum_offload = true;
  setup_.tx_ip_checksum_offload = true;
  rebuild();
  learn_peer();
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  const Bytes slow = send_slow(t0_, kOurIp, kPeerIp, 9, filled(10));
  const uint64_t slow_flags = last_ol_flags_;
  const Bytes fast = send_templated(t0_, kOurIp, kPeerIp, 9, filled(10));
  EXPECT_EQ(with_id_of(slow, fast), slow) << "the TCP field holds the same pseudo-header sum";
  EXPECT_EQ(last_ol_flags_, slow_flags);
  EXPECT_EQ(last_ol_flags_ & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM),
            RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
}

// A gratuitous ARP moves the peer to a new MAC: the next segment follows it.
TEST_F(TxTemplate, Ipv4_NeighbourMacChanges_NextSegmentGoesToTheNewMac) {
  learn_peer();
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  EXPECT_EQ(parse_frame(send_templated(t0_ + 1s, kOurIp, kPeerIp, 2, {})).eth_dst, kPeerMac);
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerNewMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerNewMac, .sender_ip = kPeerIp,
                     .target_ip = kPeerIp}),
          t0_ + 2s);
  EXPECT_EQ(parse_frame(send_templated(t0_ + 3s, kOurIp, kPeerIp, 3, {})).eth_dst, kPeerNewMac);
  EXPECT_EQ(parse_frame(send_templated(t0_ + 4s, kOurIp, kPeerIp, 4, {})).eth_dst, kPeerNewMac);
}

// RFC 1122 2.3.2.1: past the entry's timeout the first segment still triggers the unicast
// refresh request, as on the slow path (resolution_test), though the template was built before.
TEST_F(TxTemplate, Ipv4_PastEntryTimeout_RefreshRequestStillSent) {
  learn_peer();  // deadline t0 + 30 s
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  send_templated(t0_ + 29999ms, kOurIp, kPeerIp, 2, {});
  EXPECT_EQ(sink_.size(), 1u) << "the segment only";
  send_templated(t0_ + 30s, kOurIp, kPeerIp, 3, {});
  ASSERT_EQ(sink_.size(), 2u) << "the refresh request, then the segment";
  EXPECT_EQ(parse_frame(sink_.bytes(0)).ether_type, 0x0806);
  EXPECT_EQ(parse_frame(sink_.bytes(0)).eth_dst, kPeerMac);
  EXPECT_EQ(iface_->arp_cache().find(kPeerIp)->state, ArpCache::State::probing);
  // While probing no template is built: every segment goes through the cache's verdicts.
  send_templated(t0_ + 30500ms, kOurIp, kPeerIp, 4, {});
  EXPECT_EQ(sink_.size(), 1u);
  iface_->advance(t0_ + 31s);
  EXPECT_EQ(sink_.size(), 2u) << "the retry of the refresh";
}

// The entry goes (no answer to the refresh): the next segment waits for a new resolution.
TEST_F(TxTemplate, Ipv4_EntryExpired_SegmentQueuedForResolution) {
  learn_peer();
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  send_templated(t0_ + 30s, kOurIp, kPeerIp, 2, {});
  for (int s = 31; s <= 40; ++s) iface_->advance(t0_ + std::chrono::seconds(s));
  ASSERT_EQ(iface_->arp_cache().find(kPeerIp), nullptr) << "expired after its unanswered refreshes";
  const Bytes frame = send_templated(t0_ + 41s, kOurIp, kPeerIp, 3, {});
  EXPECT_EQ(parse_frame(frame).ether_type, 0x0806) << "a broadcast request, the segment queued";
  EXPECT_EQ(parse_frame(frame).eth_dst, wire::MacAddr::broadcast());
}

// A connection's first segment copies the last template built when it is for the same addresses
// and still valid (Interface::send_tcp). The copy must give the slow path's frame, and must not be
// taken for another peer, another local address, or once the peer's entry changed.
TEST_F(TxTemplate, Ipv4_NewConnectionToTheSamePeer_ItsFrameIsTheSlowPathFrame) {
  learn_peer();
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  wire::TxHeaderTemplate second;
  sink_.clear();
  iface_->advance(t0_ + 1s);
  iface_->send_tcp(outgoing_segment(tcp_ack(5), filled(7)), kOurIp, kPeerIp, wire::Ecn::not_ect, second);
  ASSERT_EQ(sink_.size(), 1u);
  const Bytes fast = sink_.bytes(0);
  EXPECT_EQ(second.generation, tmpl_.generation);
  EXPECT_EQ(second.bytes, tmpl_.bytes);
  const Bytes slow = send_slow(t0_ + 1s, kOurIp, kPeerIp, 5, filled(7));
  EXPECT_EQ(with_id_of(slow, fast), slow);
  expect_valid_ipv4_tcp(fast, true);
}

TEST_F(TxTemplate, Ipv4_NewConnectionToAnotherPeer_BuildsItsOwn) {
  learn_peer();
  learn(kOtherIp, kOtherMac, t0_);
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  wire::TxHeaderTemplate other;
  sink_.clear();
  iface_->send_tcp(outgoing_segment(tcp_ack(2), {}), kOurIp, kOtherIp, wire::Ecn::not_ect, other);
  ASSERT_EQ(sink_.size(), 1u);
  const ParsedFrame f = parse_frame(sink_.bytes(0));
  EXPECT_EQ(f.eth_dst, kOtherMac);
  EXPECT_EQ(wire::load_be32(f.payload.data() + 16), kOtherIp.value) << "the IPv4 destination";
}

TEST_F(TxTemplate, Ipv4_NewConnectionFromAnotherLocalAddress_BuildsItsOwn) {
  setup_.address_count = 2;  // 198.18.0.1 and .2 (kPeerIp's address): the peer is kOtherIp here
  rebuild();
  learn(kOtherIp, kOtherMac, t0_);
  send_templated(t0_, kOurIp, kOtherIp, 1, {});
  const wire::Ipv4Addr second_address{kOurIp.value + 1};
  wire::TxHeaderTemplate other;
  sink_.clear();
  iface_->send_tcp(outgoing_segment(tcp_ack(2), {}), second_address, kOtherIp, wire::Ecn::not_ect, other);
  ASSERT_EQ(sink_.size(), 1u);
  const Bytes frame = sink_.bytes(0);
  EXPECT_EQ(wire::load_be32(parse_frame(frame).payload.data() + 12), second_address.value) << "the IPv4 source";
  expect_valid_ipv4_tcp(frame, true);
}

TEST_F(TxTemplate, Ipv4_PeerMacChangedSinceTheLastTemplate_NewConnectionFollowsIt) {
  learn_peer();
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  receive(arp_frame(wire::MacAddr::broadcast(), kPeerNewMac,
                    {.op = wire::ArpOp::request, .sender_mac = kPeerNewMac, .sender_ip = kPeerIp,
                     .target_ip = kPeerIp}),
          t0_ + 1s);
  wire::TxHeaderTemplate second;
  sink_.clear();
  iface_->advance(t0_ + 2s);
  iface_->send_tcp(outgoing_segment(tcp_ack(2), {}), kOurIp, kPeerIp, wire::Ecn::not_ect, second);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(parse_frame(sink_.bytes(0)).eth_dst, kPeerNewMac);
}

// RFC 1122 2.3.2.1 for a new connection: past the entry's timeout its first segment takes the
// slow path, which sends the unicast refresh, though the last template was built before.
TEST_F(TxTemplate, Ipv4_NewConnectionPastEntryTimeout_RefreshRequestStillSent) {
  learn_peer();  // deadline t0 + 30 s
  send_templated(t0_, kOurIp, kPeerIp, 1, {});
  wire::TxHeaderTemplate second;
  sink_.clear();
  iface_->advance(t0_ + 30s);
  iface_->send_tcp(outgoing_segment(tcp_ack(2), {}), kOurIp, kPeerIp, wire::Ecn::not_ect, second);
  ASSERT_EQ(sink_.size(), 2u) << "the refresh request, then the segment";
  EXPECT_EQ(parse_frame(sink_.bytes(0)).ether_type, 0x0806);
}

class TxTemplate6 : public TxTemplate {
 protected:
  void SetUp() override {
    setup_ = default_setup6();
    InterfaceTest::SetUp();
  }
  // Resolves the peer: our first segment queues and solicits, its solicited advertisement makes
  // the entry REACHABLE and releases the segment.
  void resolve_peer6(TimePoint at) {
    send_slow(at, kOurIp6, kPeerIp6, 1, {});
    receive(solicited_na_frame(kPeerIp6, kPeerMac), at);
    ASSERT_EQ(iface_->neighbor_cache().find(kPeerIp6)->state, NeighborCache::State::reachable);
    sink_.clear();
  }
};

TEST_F(TxTemplate6, Ipv6_TemplatedFrame_IsTheSlowPathFrame) {
  resolve_peer6(t0_);
  send_templated(t0_, kOurIp6, kPeerIp6, 1, {});
  EXPECT_NE(tmpl_.generation, 0u);
  for (const size_t len : {size_t{0}, size_t{1}, size_t{1001}}) {
    for (const wire::Ecn ecn : {wire::Ecn::not_ect, wire::Ecn::ce}) {
      const Bytes payload = filled(len, 3);
      const Bytes slow = send_slow(t0_ + 1s, kOurIp6, kPeerIp6, 77, payload, ecn);
      const Bytes fast = send_templated(t0_ + 1s, kOurIp6, kPeerIp6, 77, payload, ecn);
      ASSERT_FALSE(slow.empty());
      EXPECT_EQ(fast, slow) << "payload " << len;
    }
  }
  EXPECT_EQ(counters_.tx_tcp6, counters_.tx_tcp);
}

// The copy of the last template built, over IPv6: not for another peer.
TEST_F(TxTemplate6, Ipv6_NewConnectionToAnotherPeer_BuildsItsOwn) {
  resolve_peer6(t0_);
  send_slow(t0_, kOurIp6, kOtherIp6, 1, {});
  receive(solicited_na_frame(kOtherIp6, kOtherMac), t0_);
  ASSERT_EQ(iface_->neighbor_cache().find(kOtherIp6)->state, NeighborCache::State::reachable);
  send_templated(t0_, kOurIp6, kPeerIp6, 2, {});
  ASSERT_NE(tmpl_.generation, 0u);
  wire::TxHeaderTemplate other;
  sink_.clear();
  iface_->send_tcp(outgoing_segment(tcp_ack(3), {}), kOurIp6, kOtherIp6, wire::Ecn::not_ect, other);
  ASSERT_EQ(sink_.size(), 1u);
  const Bytes frame = sink_.bytes(0);
  EXPECT_EQ(parse_frame(frame).eth_dst, kOtherMac);
  EXPECT_EQ(frame, send_slow(t0_, kOurIp6, kOtherIp6, 3, {})) << "the slow path's frame";
}

// RFC 4861 §7.3.3: when ReachableTime ends the entry goes STALE, and the next segment must start
// DELAY (and so the probe that confirms the neighbour): the template is not used past it.
TEST_F(TxTemplate6, Ipv6_ReachableTimeEnds_NextSegmentStartsDelay) {
  resolve_peer6(t0_);
  send_templated(t0_, kOurIp6, kPeerIp6, 1, {});
  const TimePoint end = iface_->neighbor_cache().find(kPeerIp6)->deadline;
  send_templated(end - 1ms, kOurIp6, kPeerIp6, 2, {});
  EXPECT_EQ(iface_->neighbor_cache().find(kPeerIp6)->state, NeighborCache::State::reachable);
  send_templated(end + 1ms, kOurIp6, kPeerIp6, 3, {});
  EXPECT_EQ(iface_->neighbor_cache().find(kPeerIp6)->state, NeighborCache::State::delay);
}

}  // namespace
}  // namespace dtcp::stack::test
