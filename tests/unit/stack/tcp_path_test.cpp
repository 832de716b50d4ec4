// The IPv4 output path TCP sends through: the header send_tcp() prepends, the TCP checksum in
// software, and the mbuf fields a NIC needs for checksum offload.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

class InterfaceTcpOutput : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    learn_peer();
  }

  static wire::TcpHeader syn_ack() {
    wire::TcpOptions options;
    options.mss = 1460;
    options.window_scale = 7;
    options.sack_permitted = true;
    options.timestamps = wire::TcpTimestamps{.tsval = 0x01020304, .tsecr = 0x0a0b0c0d};
    return wire::TcpHeader{.src_port = 80, .dst_port = 40000, .seq = 0x11223344, .ack = 0x55667788,
                           .flags = wire::TcpFlags::syn | wire::TcpFlags::ack, .window = 65535,
                           .options = options};
  }

  // Sends one segment and returns the transmitted mbuf (still owned by the sink).
  rte_mbuf* send(const wire::TcpHeader& header, const Bytes& payload) {
    iface_->advance(t0_);
    rte_mbuf* m = outgoing_segment(header, payload);
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return nullptr;
    iface_->send_tcp(m, kOurIp, kPeerIp);
    EXPECT_EQ(sink_.size(), 1u);
    return sink_.empty() ? nullptr : sink_.at(sink_.size() - 1);
  }

  // Checks the Ethernet and IPv4 headers; returns the TCP segment.
  Bytes expect_ipv4_to_peer(const rte_mbuf* m, size_t tcp_len, bool verify_ip_checksum) {
    const Bytes frame = bytes_of(m);
    EXPECT_EQ(frame.size(), 14 + 20 + tcp_len);
    EXPECT_EQ(m->pkt_len, frame.size());
    const ParsedFrame f = parse_frame(frame);
    EXPECT_EQ(f.eth_dst, kPeerMac);
    EXPECT_EQ(f.eth_src, kOurMac);
    EXPECT_EQ(f.ether_type, 0x0800);
    const auto ip = wire::Ipv4View::parse(cspan(f.payload), verify_ip_checksum);
    EXPECT_TRUE(ip) << wire::to_string(ip.error());
    if (!ip) return {};
    EXPECT_EQ(std::to_integer<uint8_t>(f.payload[0]), 0x45);
    EXPECT_EQ(ip->dscp_ecn(), 0);
    EXPECT_EQ(ip->total_length(), 20 + tcp_len);
    EXPECT_TRUE(ip->dont_fragment()) << "TCP does its own PMTU discovery (RFC 1191)";
    EXPECT_FALSE(ip->is_fragment());
    EXPECT_EQ(ip->ttl(), 64);
    EXPECT_EQ(ip->protocol(), 6);
    EXPECT_EQ(ip->src(), kOurIp);
    EXPECT_EQ(ip->dst(), kPeerIp);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    return Bytes(ip->payload().begin(), ip->payload().end());
  }
};

TEST_F(InterfaceTcpOutput, SendTcp_Software_CorrectIpv4HeaderAndTcpChecksum) {
  const wire::TcpHeader header = syn_ack();
  const Bytes payload = filled(100, 0x20);
  rte_mbuf* m = send(header, payload);
  ASSERT_NE(m, nullptr);
  const Bytes segment = expect_ipv4_to_peer(m, wire::tcp_header_len(header) + payload.size(), true);
  const auto tcp = wire::TcpView::parse(cspan(segment));
  ASSERT_TRUE(tcp) << wire::to_string(tcp.error());
  EXPECT_TRUE(tcp->verify_checksum(kOurIp, kPeerIp));
  EXPECT_EQ(tcp->src_port(), 80);
  EXPECT_EQ(tcp->dst_port(), 40000);
  EXPECT_EQ(tcp->seq(), 0x11223344u);
  EXPECT_EQ(tcp->ack(), 0x55667788u);
  EXPECT_EQ(tcp->options(), header.options);
  EXPECT_EQ(Bytes(tcp->payload().begin(), tcp->payload().end()), payload);
  // Same checksum as the wire layer's own writer.
  Bytes expected = segment;
  wire::fill_tcp_checksum(expected, kOurIp, kPeerIp);
  EXPECT_EQ(segment, expected);
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM), 0u);
  EXPECT_EQ(counters_.tx_tcp, 1u);
}

TEST_F(InterfaceTcpOutput, SendTcp_Software_OddLengthAndBareHeader) {
  for (size_t len : {0u, 1u, 3u, 1459u}) {
    SCOPED_TRACE(len);
    sink_.clear();
    const Bytes payload = filled(len, 0xf0);
    rte_mbuf* m = send(tcp_ack(7), payload);
    ASSERT_NE(m, nullptr);
    const Bytes segment = expect_ipv4_to_peer(m, 20 + len, true);
    const auto tcp = wire::TcpView::parse(cspan(segment));
    ASSERT_TRUE(tcp);
    EXPECT_TRUE(tcp->verify_checksum(kOurIp, kPeerIp));
  }
}

TEST_F(InterfaceTcpOutput, SendTcp_ChainedSegment_ChecksumCoversEverySegment) {
  // TCP may hand over its header in one mbuf and the data in another.
  const wire::TcpHeader header = tcp_ack(99);
  Bytes head_bytes(wire::tcp_header_len(header));
  wire::write_tcp_header(head_bytes, header);
  const Bytes data = filled(301, 0x05);
  rte_mbuf* head = to_mbuf(head_bytes);
  rte_mbuf* tail = to_mbuf(data);
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  head->l4_len = 20;
  iface_->advance(t0_);
  iface_->send_tcp(head, kOurIp, kPeerIp);
  ASSERT_EQ(sink_.size(), 1u);
  const Bytes segment = expect_ipv4_to_peer(sink_.at(0), 20 + data.size(), true);
  const auto tcp = wire::TcpView::parse(cspan(segment));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->verify_checksum(kOurIp, kPeerIp));
  EXPECT_EQ(Bytes(tcp->payload().begin(), tcp->payload().end()), data);
}

TEST_F(InterfaceTcpOutput, SendTcp_IdentificationAdvancesPerDatagram) {
  std::vector<uint16_t> ids;
  for (int i = 0; i < 3; ++i) {
    sink_.clear();
    rte_mbuf* m = send(tcp_ack(1), {});
    ASSERT_NE(m, nullptr);
    const ParsedFrame f = parse_frame(bytes_of(m));
    const auto ip = wire::Ipv4View::parse(cspan(f.payload));
    ASSERT_TRUE(ip);
    ids.push_back(ip->identification());
  }
  EXPECT_EQ(ids[1], static_cast<uint16_t>(ids[0] + 1));
  EXPECT_EQ(ids[2], static_cast<uint16_t>(ids[1] + 1));
}

TEST_F(InterfaceTcpOutput, SendTcp_TcpChecksumOffload_FlagsLengthsAndPseudoHeaderSum) {
  setup_.tx_tcp_checksum_offload = true;
  rebuild();
  learn_peer();
  const Bytes payload = filled(33);
  const wire::TcpHeader header = syn_ack();
  const size_t tcp_len = wire::tcp_header_len(header) + payload.size();
  rte_mbuf* m = send(header, payload);
  ASSERT_NE(m, nullptr);
  const Bytes segment = expect_ipv4_to_peer(m, tcp_len, true);  // IP checksum still in software
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_IPV4, RTE_MBUF_F_TX_IPV4);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, 0u);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0u);
  // The NIC expects the uncomplemented pseudo-header sum (src, dst, 0, 6, TCP length) in the
  // checksum field (DPDK rte_ipv4_phdr_cksum(); the Intel datasheets' "partial checksum").
  const uint16_t pseudo = static_cast<uint16_t>(
      ~wire::checksum_fold(wire::pseudo_header_sum(kOurIp, kPeerIp, 6, static_cast<uint16_t>(tcp_len))));
  EXPECT_EQ(wire::load_be16(segment.data() + 16), pseudo);
  // With the NIC's part done in software the segment verifies.
  Bytes finished = segment;
  wire::store_be16(finished.data() + 16, wire::checksum_fold(wire::checksum_accumulate(cspan(finished))));
  EXPECT_TRUE(wire::TcpView::parse(cspan(finished))->verify_checksum(kOurIp, kPeerIp));
}

TEST_F(InterfaceTcpOutput, SendTcp_IpAndTcpChecksumOffload_IpChecksumLeftZero) {
  setup_.tx_tcp_checksum_offload = true;
  setup_.tx_ip_checksum_offload = true;
  rebuild();
  learn_peer();
  rte_mbuf* m = send(tcp_ack(5), filled(10));
  ASSERT_NE(m, nullptr);
  expect_ipv4_to_peer(m, 30, false);
  const Bytes frame = bytes_of(m);
  EXPECT_EQ(wire::load_be16(frame.data() + 14 + 10), 0) << "the NIC fills the IPv4 checksum";
  const uint64_t want = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
  EXPECT_EQ(m->ol_flags & want, want);
}

TEST_F(InterfaceTcpOutput, SendTcp_IpChecksumOffloadOnly_TcpChecksumInSoftware) {
  setup_.tx_ip_checksum_offload = true;
  rebuild();
  learn_peer();
  rte_mbuf* m = send(tcp_ack(5), filled(10));
  ASSERT_NE(m, nullptr);
  const Bytes segment = expect_ipv4_to_peer(m, 30, false);
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM), RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
  EXPECT_TRUE(wire::TcpView::parse(cspan(segment))->verify_checksum(kOurIp, kPeerIp));
}

TEST_F(InterfaceTcpOutput, SendTcp_QueuedBehindArp_ChecksumStillValidWhenReleased) {
  send_tcp_at(t0_, 77, kOtherIp, filled(5));
  sink_.clear();
  receive(arp_frame(kOurMac, kOtherMac,
                    {.op = wire::ArpOp::reply, .sender_mac = kOtherMac, .sender_ip = kOtherIp,
                     .target_mac = kOurMac, .target_ip = kOurIp}));
  ASSERT_EQ(sink_.size(), 1u);
  const ParsedFrame f = parse_frame(sink_.bytes(0));
  EXPECT_EQ(f.eth_dst, kOtherMac);
  const auto ip = wire::Ipv4View::parse(cspan(f.payload));
  ASSERT_TRUE(ip);
  const auto tcp = wire::TcpView::parse(ip->payload());
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->verify_checksum(kOurIp, kOtherIp));
  EXPECT_EQ(tcp->seq(), 77u);
}

TEST_F(InterfaceTcpOutput, TcpMss_IsMtuMinusHeaders) {
  EXPECT_EQ(iface_->tcp_mss(), 1460);
  setup_.mtu = 9000;
  rebuild();
  EXPECT_EQ(iface_->tcp_mss(), 8960);
}

}  // namespace
}  // namespace dtcp::stack::test
