// The Interface's IPv6 half with literal frames in and frames out on a virtual clock: ICMPv6
// echo (RFC 4443 §4), neighbour discovery (RFC 4861 §7), duplicate address detection (RFC 4862
// §5.4), the RFC 8200 header and extension-header checks with their parameter problems (RFC 4443
// §3.4), ICMPv6 errors to TCP, TCP over the IPv6 pseudo-header, output routing and router
// advertisements. Replies are checked with the wire parsers (golden-tested in tests/unit/wire)
// and TCP checksums with a separate sum written here.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kDestOptions = 60;
constexpr uint8_t kIcmpv6 = 58;

// A received IPv6 frame taken apart; the views point into `eth.payload`, so it is neither
// copied nor moved.
struct Frame6 {
  explicit Frame6(const Bytes& bytes) : eth(parse_frame(bytes)) {
    EXPECT_EQ(eth.ether_type, 0x86dd);
    auto parsed = wire::Ipv6View::parse(cspan(eth.payload));
    EXPECT_TRUE(parsed) << "IPv6 header";
    if (!parsed) return;
    ip.emplace(*parsed);
    if (ip->next_header() != kIcmpv6) return;
    auto m = wire::Icmpv6View::parse(ip->payload(), ip->src(), ip->dst(), true);
    EXPECT_TRUE(m) << "ICMPv6 message (checksum verified)";
    if (m) icmp.emplace(*m);
  }
  Frame6(const Frame6&) = delete;
  Frame6& operator=(const Frame6&) = delete;
  Bytes payload() const { return Bytes(icmp->payload().begin(), icmp->payload().end()); }

  ParsedFrame eth;
  std::optional<wire::Ipv6View> ip;
  std::optional<wire::Icmpv6View> icmp;
};

// RFC 8200 §8.1 pseudo-header sum computed here byte by byte, apart from wire/checksum.cpp:
// source, destination, 32-bit upper-layer length, three zero bytes, next header; then the
// segment. A correct checksum makes the whole sum 0xffff.
uint16_t ones_complement_sum_ipv6(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, uint8_t next_header,
                                  std::span<const std::byte> upper) {
  std::vector<uint8_t> all(src.bytes.begin(), src.bytes.end());
  all.insert(all.end(), dst.bytes.begin(), dst.bytes.end());
  const auto len = static_cast<uint32_t>(upper.size());
  for (int shift : {24, 16, 8, 0}) all.push_back(static_cast<uint8_t>(len >> shift));
  all.insert(all.end(), {0, 0, 0, next_header});
  for (std::byte b : upper) all.push_back(std::to_integer<uint8_t>(b));
  if (all.size() % 2 != 0) all.push_back(0);
  uint32_t sum = 0;
  for (size_t i = 0; i < all.size(); i += 2) sum += uint32_t{all[i]} << 8 | all[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Extension headers, 8 bytes each, built from RFC 8200 §4.3-§4.5.
Bytes options_header(uint8_t next, const Bytes& option6) {  // one 6-byte option (or padding) after NH and length
  return Bytes{std::byte{next}, std::byte{0}} + option6;
}
Bytes padn_header(uint8_t next) { return options_header(next, hex("0104 00000000")); }
Bytes routing_header(uint8_t next, uint8_t type, uint8_t segments_left) {
  return Bytes{std::byte{next}, std::byte{0}, std::byte{type}, std::byte{segments_left}} + hex("00000000");
}
Bytes fragment_header(uint8_t next) { return Bytes{std::byte{next}, std::byte{0}} + hex("0000 00000001"); }

class InterfaceIpv6 : public InterfaceTest {
 protected:
  void SetUp() override {
    setup_ = default_setup6();
    InterfaceTest::SetUp();
    attach_tcp();
  }

  // The peer solicits our address with its link-layer address (cached STALE); our
  // advertisement is discarded.
  void learn_peer6(TimePoint at) {
    receive(icmpv6_frame(kPeerIp6, kOurIp6.solicited_node(),
                         neighbor_solicitation(kPeerIp6, kOurIp6.solicited_node(), kOurIp6, kPeerMac)),
            at);
    ASSERT_NE(iface_->neighbor_cache().find(kPeerIp6), nullptr);
    sink_.clear();
  }
  void learn_peer6() { learn_peer6(t0_); }

  Bytes udp_payload() const { return hex("9c40 0035 0008 0000"); }  // 8-byte header, checksum not looked at

  void send_tcp6(const wire::Ipv6Addr& dst, uint32_t seq = 7, const Bytes& payload = {},
                 wire::Ecn ecn = wire::Ecn::not_ect) {
    rte_mbuf* m = outgoing_segment(tcp_ack(seq), payload);
    ASSERT_NE(m, nullptr);
    iface_->send_tcp(m, kOurIp6, dst, ecn);
  }

  // A parameter problem from us to the peer quoting `original` (the IPv6 packet it sent).
  void expect_parameter_problem(const Bytes& frame, uint8_t code, uint32_t pointer, const Bytes& original,
                                const wire::Ipv6Addr& from = kOurIp6) {
    const Frame6 f(frame);
    EXPECT_EQ(f.eth.eth_dst, kPeerMac);
    EXPECT_EQ(f.eth.eth_src, kOurMac);
    ASSERT_TRUE(f.ip && f.icmp);
    EXPECT_EQ(f.ip->src(), from);
    EXPECT_EQ(f.ip->dst(), kPeerIp6);
    EXPECT_EQ(f.ip->hop_limit(), 64);
    EXPECT_EQ(f.icmp->type(), 4);
    EXPECT_EQ(f.icmp->code(), code);
    EXPECT_EQ(f.icmp->pointer(), pointer);
    EXPECT_EQ(f.payload(), original) << "the whole offending packet is quoted (it fits in 1280)";
  }

  // Sends `packet` (an IPv6 packet from the peer) and expects one parameter problem about it.
  void expect_problem_for(const Ipv6Spec& spec, uint8_t code, uint32_t pointer) {
    learn_peer6();
    const NetCounters before = counters_;
    receive(ipv6_frame(spec));
    ASSERT_EQ(sink_.size(), 1u) << ::testing::PrintToString(changed(before, counters_));
    expect_parameter_problem(sink_.bytes(0), code, pointer, ipv6_packet(spec));
    EXPECT_EQ(counters_.tx_icmp6_error, before.tx_icmp6_error + 1);
    EXPECT_TRUE(tcp_.segments.empty());
  }

  void expect_unsolicited_na(const Bytes& frame, const wire::Ipv6Addr& target) {
    const Frame6 f(frame);
    EXPECT_EQ(f.eth.eth_dst, wire::Ipv6Addr::all_nodes().multicast_mac());
    ASSERT_TRUE(f.ip && f.icmp);
    EXPECT_EQ(f.ip->src(), target);
    EXPECT_EQ(f.ip->dst(), wire::Ipv6Addr::all_nodes());
    EXPECT_EQ(f.ip->hop_limit(), 255);
    const auto na = wire::parse_neighbor_advertisement(*f.icmp);
    ASSERT_TRUE(na);
    EXPECT_EQ(na->target, target);
    EXPECT_FALSE(na->solicited);
    EXPECT_TRUE(na->override);
    EXPECT_FALSE(na->router);
    EXPECT_EQ(na->options.target_link_layer, kOurMac);
  }

  void expect_dad_probe(const Bytes& frame, const wire::Ipv6Addr& target) {
    const Frame6 f(frame);
    EXPECT_EQ(f.eth.eth_dst, target.solicited_node().multicast_mac());
    ASSERT_TRUE(f.ip && f.icmp);
    EXPECT_TRUE(f.ip->src().is_unspecified()) << "RFC 4862 §5.4.2: from ::";
    EXPECT_EQ(f.ip->dst(), target.solicited_node());
    EXPECT_EQ(f.ip->hop_limit(), 255);
    const auto ns = wire::parse_neighbor_solicitation(*f.icmp);
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->target, target);
    EXPECT_FALSE(ns->options.source_link_layer) << "no source link-layer option from ::";
  }

  Bytes router_advertisement_frame(uint16_t lifetime, std::optional<wire::MacAddr> sll = kGatewayMac) {
    const wire::NdRouterAdvertisement ra{.cur_hop_limit = 64, .router_lifetime = lifetime,
                                         .options = {.source_link_layer = sll}};
    Bytes icmp(wire::kNdRouterAdvertisementLen + (sll ? 8 : 0));
    wire::write_router_advertisement(icmp, kGatewayIp6, wire::Ipv6Addr::all_nodes(), ra);
    return ipv6_frame({.src = kGatewayIp6, .dst = wire::Ipv6Addr::all_nodes(), .hop_limit = 255, .payload = icmp},
                      std::nullopt, kGatewayMac);
  }
};

// ---- echo ---------------------------------------------------------------------------------

TEST_F(InterfaceIpv6, EchoRequest_Unicast_ReplyFromTheAddressPinged) {
  learn_peer6();
  const Bytes data = filled(56, 0x20);
  receive(icmpv6_frame(kPeerIp6, kOurIp6, icmpv6_message(kPeerIp6, kOurIp6, 128, 0, 0x1c480001, data), 64));
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  EXPECT_EQ(f.eth.eth_dst, kPeerMac);
  EXPECT_EQ(f.eth.eth_src, kOurMac);
  ASSERT_TRUE(f.ip && f.icmp);
  EXPECT_EQ(f.ip->src(), kOurIp6);
  EXPECT_EQ(f.ip->dst(), kPeerIp6);
  EXPECT_EQ(f.ip->hop_limit(), 64);
  EXPECT_EQ(f.ip->payload_length(), 8 + data.size());
  EXPECT_EQ(f.icmp->type(), 129);
  EXPECT_EQ(f.icmp->code(), 0);
  EXPECT_EQ(f.icmp->identifier(), 0x1c48);
  EXPECT_EQ(f.icmp->sequence(), 1);
  EXPECT_EQ(f.payload(), data);
  EXPECT_EQ(counters_.rx_icmp6_echo_request, 1u);
  EXPECT_EQ(counters_.tx_icmp6_echo_reply, 1u);
}

TEST_F(InterfaceIpv6, EchoRequest_ToAllNodes_ReplyFromOurAddress) {
  learn_peer6();
  const auto all = wire::Ipv6Addr::all_nodes();
  receive(icmpv6_frame(kPeerIp6, all, icmpv6_message(kPeerIp6, all, 128, 0, 0x00070002, filled(8)), 64));
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  ASSERT_TRUE(f.ip && f.icmp);
  EXPECT_EQ(f.ip->src(), kOurIp6) << "a global peer gets our global address";
  EXPECT_EQ(f.ip->dst(), kPeerIp6);
  EXPECT_EQ(f.icmp->type(), 129);
  EXPECT_EQ(f.icmp->identifier(), 7);
}

TEST_F(InterfaceIpv6, EchoRequest_BadChecksum_Dropped) {
  Bytes icmp = icmpv6_message(kPeerIp6, kOurIp6, 128, 0, 1, filled(4));
  icmp[3] ^= std::byte{1};
  expect_dropped(icmpv6_frame(kPeerIp6, kOurIp6, icmp, 64), "drop_icmp6_bad_checksum");
}

// ---- neighbour solicitation and advertisement ----------------------------------------------

TEST_F(InterfaceIpv6, SolicitationForOurAddress_SolicitedAdvertisementToSolicitorsMac) {
  const auto group = kOurIp6.solicited_node();
  receive(icmpv6_frame(kPeerIp6, group, neighbor_solicitation(kPeerIp6, group, kOurIp6, kPeerMac)));
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  EXPECT_EQ(f.eth.eth_dst, kPeerMac);
  EXPECT_EQ(f.eth.eth_src, kOurMac);
  ASSERT_TRUE(f.ip && f.icmp);
  EXPECT_EQ(f.ip->src(), kOurIp6);
  EXPECT_EQ(f.ip->dst(), kPeerIp6);
  EXPECT_EQ(f.ip->hop_limit(), 255);
  const auto na = wire::parse_neighbor_advertisement(*f.icmp);
  ASSERT_TRUE(na);
  EXPECT_EQ(na->target, kOurIp6);
  EXPECT_TRUE(na->solicited);
  EXPECT_TRUE(na->override);
  EXPECT_FALSE(na->router);
  EXPECT_EQ(na->options.target_link_layer, kOurMac);
  const auto* e = iface_->neighbor_cache().find(kPeerIp6);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, NeighborCache::State::stale) << "RFC 4861 §7.2.3";
  EXPECT_EQ(e->mac, kPeerMac);
  EXPECT_EQ(counters_.rx_nd_solicitation, 1u);
  EXPECT_EQ(counters_.tx_nd_advertisement, 1u);
  EXPECT_EQ(counters_.nd_entries_added, 1u);
}

TEST_F(InterfaceIpv6, SolicitationForOurLinkLocal_AnsweredFromIt) {
  const auto group = kOurLinkLocal.solicited_node();
  receive(icmpv6_frame(kPeerLinkLocal, group, neighbor_solicitation(kPeerLinkLocal, group, kOurLinkLocal, kPeerMac)));
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  ASSERT_TRUE(f.ip);
  EXPECT_EQ(f.ip->src(), kOurLinkLocal);
  EXPECT_EQ(f.ip->dst(), kPeerLinkLocal);
}

TEST_F(InterfaceIpv6, SolicitationForAnotherAddress_Dropped) {
  expect_dropped(icmpv6_frame(kPeerIp6, kOurIp6, neighbor_solicitation(kPeerIp6, kOurIp6, kOtherIp6, kPeerMac)),
                 "drop_nd_not_for_us");
}

TEST_F(InterfaceIpv6, NdValidity_Failures_CountedByReason) {
  const auto group = kOurIp6.solicited_node();
  // RFC 4861 §7.1.1: hop limit 255 (a router would have decremented it).
  expect_dropped(icmpv6_frame(kPeerIp6, group, neighbor_solicitation(kPeerIp6, group, kOurIp6, kPeerMac), 254),
                 "drop_nd_invalid_hop_limit_not_255");
  // From :: with a source link-layer option.
  expect_dropped(icmpv6_frame(wire::Ipv6Addr{}, group, neighbor_solicitation(wire::Ipv6Addr{}, group, kOurIp6, kPeerMac)),
                 "drop_nd_invalid_unspecified_source_with_lla");
  // Code not zero.
  Bytes ns = neighbor_solicitation(kPeerIp6, group, kOurIp6, kPeerMac);
  ns[1] = std::byte{1};
  wire::store_be16(ns.data() + 2, 0);
  wire::store_be16(ns.data() + 2, wire::checksum_fold(wire::checksum_accumulate(
                                      cspan(ns), wire::pseudo_header_sum(kPeerIp6, group, kIcmpv6,
                                                                         static_cast<uint32_t>(ns.size())))));
  expect_dropped(icmpv6_frame(kPeerIp6, group, ns), "drop_nd_invalid_code_not_zero");
  // §7.1.2: a solicited advertisement to a multicast group.
  const auto all = wire::Ipv6Addr::all_nodes();
  expect_dropped(icmpv6_frame(kPeerIp6, all,
                              neighbor_advertisement(kPeerIp6, all, {.solicited = true, .override = true,
                                                                     .target = kPeerIp6,
                                                                     .options = {.target_link_layer = kPeerMac}})),
                 "drop_nd_invalid_solicited_to_multicast");
  // An NA with hop limit 64.
  expect_dropped(icmpv6_frame(kPeerIp6, kOurIp6,
                              neighbor_advertisement(kPeerIp6, kOurIp6, {.solicited = true, .target = kPeerIp6}), 64),
                 "drop_nd_invalid_hop_limit_not_255");
  // A solicitation for a multicast target; one too short for its target field.
  expect_dropped(icmpv6_frame(kPeerIp6, group, neighbor_solicitation(kPeerIp6, group, group, kPeerMac)),
                 "drop_nd_invalid_target_multicast");
  expect_dropped(icmpv6_frame(kPeerIp6, group, icmpv6_message(kPeerIp6, group, 135, 0, 0, filled(8))),
                 "drop_nd_invalid_too_short");
  // A source link-layer option of length 0 (RFC 4861 §4.6: invalid, the message is dropped).
  Bytes zero_option = neighbor_solicitation(kPeerIp6, group, kOurIp6, kPeerMac);
  zero_option[wire::kNdNeighborSolicitationLen + 1] = std::byte{0};
  wire::store_be16(zero_option.data() + 2, 0);
  wire::store_be16(zero_option.data() + 2,
                   wire::checksum_fold(wire::checksum_accumulate(
                       cspan(zero_option), wire::pseudo_header_sum(kPeerIp6, group, kIcmpv6,
                                                                   static_cast<uint32_t>(zero_option.size())))));
  expect_dropped(icmpv6_frame(kPeerIp6, group, zero_option), "drop_nd_invalid_bad_option");
  EXPECT_EQ(iface_->neighbor_cache().size(), 0u) << "nothing learned from an invalid message";
}

TEST_F(InterfaceIpv6, TcpToUnresolvedNeighbour_QueuesAndSolicits_AdvertisementReleases) {
  iface_->advance(t0_);
  send_tcp6(kPeerIp6, 77, filled(5));
  ASSERT_EQ(sink_.size(), 1u) << "the solicitation only";
  {
    const Frame6 f(sink_.bytes(0));
    EXPECT_EQ(f.eth.eth_dst, kPeerIp6.solicited_node().multicast_mac());
    ASSERT_TRUE(f.ip && f.icmp);
    EXPECT_EQ(f.ip->src(), kOurIp6) << "RFC 4861 §7.2.2: the queued packet's source";
    EXPECT_EQ(f.ip->dst(), kPeerIp6.solicited_node());
    EXPECT_EQ(f.ip->hop_limit(), 255);
    const auto ns = wire::parse_neighbor_solicitation(*f.icmp);
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->target, kPeerIp6);
    EXPECT_EQ(ns->options.source_link_layer, kOurMac);
  }
  sink_.clear();
  EXPECT_EQ(counters_.nd_entries_added, 1u);
  EXPECT_EQ(iface_->neighbor_cache().pending(), 1u);
  receive(solicited_na_frame(kPeerIp6, kPeerMac), t0_ + 10ms);
  ASSERT_EQ(sink_.size(), 1u) << "the queued segment";
  const Frame6 f(sink_.bytes(0));
  EXPECT_EQ(f.eth.eth_dst, kPeerMac);
  ASSERT_TRUE(f.ip);
  EXPECT_EQ(f.ip->next_header(), kTcp);
  EXPECT_EQ(f.ip->dst(), kPeerIp6);
  EXPECT_EQ(wire::load_be32(f.ip->payload().data() + 4), 77u);
  EXPECT_EQ(iface_->neighbor_cache().find(kPeerIp6)->state, NeighborCache::State::reachable);
}

TEST_F(InterfaceIpv6, UnresolvedNeighbour_NoAnswer_SegmentsDroppedAndCounted) {
  iface_->advance(t0_);
  send_tcp6(kPeerIp6, 1);
  send_tcp6(kPeerIp6, 2);
  for (int s = 1; s <= 3; ++s) iface_->advance(t0_ + std::chrono::seconds(s));
  EXPECT_EQ(counters_.tx_nd_solicitation, 3u);
  EXPECT_EQ(counters_.drop_nd_unresolved, 2u);
  EXPECT_EQ(counters_.nd_entries_expired, 1u);
  EXPECT_EQ(iface_->neighbor_cache().size(), 0u);
}

// ---- duplicate address detection -----------------------------------------------------------

class InterfaceDad : public InterfaceIpv6 {
 protected:
  void SetUp() override {
    InterfaceIpv6::SetUp();
    setup_.dad_transmits = 1;
    setup_.announce = true;
    rebuild();
    iface_->start_ipv6();
  }
};

TEST_F(InterfaceDad, Start_ProbesEachAddress_TentativeUntilRetransTimer_ThenAnnounces) {
  ASSERT_EQ(sink_.size(), 2u);
  expect_dad_probe(sink_.bytes(0), kOurLinkLocal);
  expect_dad_probe(sink_.bytes(1), kOurIp6);
  sink_.clear();
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::tentative);
  EXPECT_FALSE(iface_->is_local6(kOurIp6));
  // RFC 4862 §5.4: a tentative address takes no traffic but ND.
  expect_dropped(tcp6_frame(kPeerIp6, kOurIp6), "drop_ip6_not_for_us");
  iface_->advance(t0_ + 999ms);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::tentative);
  iface_->advance(t0_ + 1000ms);
  ASSERT_EQ(sink_.size(), 2u) << "one unsolicited advertisement per address (RFC 4861 §7.2.6)";
  expect_unsolicited_na(sink_.bytes(0), kOurLinkLocal);
  expect_unsolicited_na(sink_.bytes(1), kOurIp6);
  sink_.clear();
  EXPECT_EQ(counters_.nd_dad_succeeded, 2u);
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::preferred);
  receive(tcp6_frame(kPeerIp6, kOurIp6), t0_ + 1001ms);
  EXPECT_EQ(tcp_.segments.size(), 1u);
  iface_->advance(t0_ + 10s);
  EXPECT_TRUE(sink_.empty()) << "announced once";
}

TEST_F(InterfaceDad, AdvertisementWhileTentative_Duplicate) {
  sink_.clear();
  const auto all = wire::Ipv6Addr::all_nodes();
  receive(ipv6_frame({.src = kOurIp6, .dst = all, .hop_limit = 255,
                      .payload = neighbor_advertisement(kOurIp6, all, {.override = true, .target = kOurIp6,
                                                                       .options = {.target_link_layer = kOtherMac}})},
                     std::nullopt, kOtherMac),
          t0_ + 500ms);
  EXPECT_EQ(counters_.nd_dad_duplicates, 1u);
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::duplicate);
  iface_->advance(t0_ + 1s);
  ASSERT_EQ(sink_.size(), 1u) << "only the link-local address is announced";
  expect_unsolicited_na(sink_.bytes(0), kOurLinkLocal);
  sink_.clear();
  EXPECT_FALSE(iface_->is_local6(kOurIp6));
  expect_dropped(tcp6_frame(kPeerIp6, kOurIp6), "drop_ip6_not_for_us");
}

TEST_F(InterfaceDad, ProbeFromUnspecifiedWhileTentative_Duplicate) {
  sink_.clear();
  const auto group = kOurIp6.solicited_node();
  receive(icmpv6_frame(wire::Ipv6Addr{}, group, neighbor_solicitation(wire::Ipv6Addr{}, group, kOurIp6, std::nullopt)),
          t0_ + 200ms);
  EXPECT_TRUE(sink_.empty()) << "no defence of a tentative address";
  EXPECT_EQ(counters_.nd_dad_duplicates, 1u);
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::duplicate);
  iface_->advance(t0_ + 2s);
  EXPECT_EQ(counters_.nd_dad_succeeded, 1u) << "the link-local one only";
  sink_.clear();
  expect_dropped(tcp6_frame(kPeerIp6, kOurIp6), "drop_ip6_not_for_us");
}

TEST_F(InterfaceDad, SolicitationForATentativeAddress_DroppedAndCounted) {
  sink_.clear();
  // RFC 4862 §5.4.3: a solicitation from a unicast source is not a probe; ignored while tentative.
  const auto group = kOurIp6.solicited_node();
  expect_dropped(icmpv6_frame(kPeerIp6, group, neighbor_solicitation(kPeerIp6, group, kOurIp6, kPeerMac)),
                 "drop_nd_target_unusable");
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::tentative);
  EXPECT_EQ(iface_->neighbor_cache().size(), 0u) << "nothing cached from it";
}

TEST_F(InterfaceDad, ProbeFromUnspecifiedAfterDad_Defended) {
  iface_->advance(t0_ + 1s);
  sink_.clear();
  const auto group = kOurIp6.solicited_node();
  receive(icmpv6_frame(wire::Ipv6Addr{}, group, neighbor_solicitation(wire::Ipv6Addr{}, group, kOurIp6, std::nullopt)),
          t0_ + 2s);
  ASSERT_EQ(sink_.size(), 1u);
  expect_unsolicited_na(sink_.bytes(0), kOurIp6);
  EXPECT_EQ(iface_->address_state(kOurIp6), Interface::AddressState::preferred);
}

// ---- header checks -------------------------------------------------------------------------

TEST_F(InterfaceIpv6, MartianSources_Dropped) {
  expect_dropped(tcp6_frame(ip6("ff02::1"), kOurIp6), "drop_ip6_bad_source");
  expect_dropped(tcp6_frame(ip6("::1"), kOurIp6), "drop_ip6_bad_source");
  expect_dropped(tcp6_frame(ip6("::ffff:198.18.0.2"), kOurIp6), "drop_ip6_bad_source");
  expect_dropped(tcp6_frame(wire::Ipv6Addr{}, kOurIp6), "drop_ip6_bad_source");
  // One of our own addresses (RFC 1122 3.2.1.3, as IPv4's SourceInOurRange_Dropped): TCP,
  // behind an extension header, and ICMPv6 other than an advertisement.
  expect_dropped(tcp6_frame(kOurIp6, kOurIp6), "drop_ip6_bad_source");
  expect_dropped(tcp6_frame(kOurLinkLocal, kOurIp6), "drop_ip6_bad_source");
  expect_dropped(ipv6_frame({.src = kOurIp6, .next_header = kHopByHop,
                             .payload = padn_header(kTcp) + tcp_segment(kOurIp6, kOurIp6, tcp_ack(1), {})}),
                 "drop_ip6_bad_source");
  expect_dropped(icmpv6_frame(kOurIp6, kOurIp6, icmpv6_message(kOurIp6, kOurIp6, 128, 0, 0x00010001, filled(8)), 64),
                 "drop_ip6_bad_source");
  const auto group = kOurIp6.solicited_node();
  expect_dropped(icmpv6_frame(kOurIp6, group, neighbor_solicitation(kOurIp6, group, kOurIp6, kOtherMac)),
                 "drop_ip6_bad_source");
}

TEST_F(InterfaceIpv6, AdvertisementFromOurOwnAddress_StillSeen_ConflictCounted) {
  // The exception: another node advertising our address is how a conflict shows (RFC 4862 §5.4.4).
  const auto all = wire::Ipv6Addr::all_nodes();
  receive(ipv6_frame({.src = kOurIp6, .dst = all, .hop_limit = 255,
                      .payload = neighbor_advertisement(kOurIp6, all, {.override = true, .target = kOurIp6,
                                                                       .options = {.target_link_layer = kOtherMac}})},
                     std::nullopt, kOtherMac));
  EXPECT_EQ(counters_.nd_address_conflicts, 1u);
  EXPECT_EQ(counters_.drop_ip6_bad_source, 0u);
}

TEST_F(InterfaceIpv6, DestinationNotOurs_Dropped) {
  expect_dropped(tcp6_frame(kPeerIp6, kOtherIp6), "drop_ip6_not_for_us");
  // A solicited-node group we have not joined, at its own multicast MAC.
  expect_dropped(icmpv6_frame(kPeerIp6, kOtherIp6.solicited_node(),
                              neighbor_solicitation(kPeerIp6, kOtherIp6.solicited_node(), kOtherIp6, kPeerMac)),
                 "drop_ip6_not_for_us");
}

TEST_F(InterfaceIpv6, TcpChecksum_OverThePseudoHeader) {
  receive(tcp6_frame(kPeerIp6, kOurIp6, filled(9)));
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].src, wire::IpAddr(kPeerIp6));
  EXPECT_EQ(tcp_.segments[0].dst, wire::IpAddr(kOurIp6));
  EXPECT_EQ(tcp_.segments[0].bytes, tcp_segment(kPeerIp6, kOurIp6, tcp_ack(5000), filled(9)));
  EXPECT_EQ(counters_.rx_tcp6, 1u);
  Bytes bad = tcp6_frame(kPeerIp6, kOurIp6, filled(9));
  bad.back() ^= std::byte{0x10};
  expect_dropped(bad, "drop_tcp_bad_checksum");
  // The same segment checksummed for another source: only the pseudo-header differs.
  Bytes spoofed = ipv6_frame({.src = kPeerIp6, .next_header = kTcp,
                              .payload = tcp_segment(kOtherIp6, kOurIp6, tcp_ack(5000), filled(9))});
  expect_dropped(spoofed, "drop_tcp_bad_checksum");
}

TEST_F(InterfaceIpv6, TcpToMulticast_Dropped) {
  const auto all = wire::Ipv6Addr::all_nodes();
  expect_dropped(ipv6_frame({.dst = all, .next_header = kTcp, .payload = tcp_segment(kPeerIp6, all, tcp_ack(1), {})}),
                 "drop_ip6_tcp_multicast");
}

// ---- extension headers (RFC 8200 §4) -----------------------------------------------------------

TEST_F(InterfaceIpv6, HopByHopThenTcp_Delivered) {
  const Bytes seg = tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), filled(3));
  receive(ipv6_frame({.next_header = kHopByHop, .payload = padn_header(kTcp) + seg}));
  ASSERT_EQ(tcp_.segments.size(), 1u);
  EXPECT_EQ(tcp_.segments[0].bytes, seg);
  EXPECT_EQ(counters_.rx_ip6_extension_headers, 1u);
}

TEST_F(InterfaceIpv6, EightExtensionHeaders_Delivered_NineDropped) {
  const Bytes seg = tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {});
  auto chain = [&](int n) {
    Bytes out;
    for (int i = 0; i < n; ++i) out = out + padn_header(i + 1 == n ? kTcp : kDestOptions);
    return out + seg;
  };
  receive(ipv6_frame({.next_header = kDestOptions, .payload = chain(8)}));
  EXPECT_EQ(tcp_.segments.size(), 1u);
  expect_dropped(ipv6_frame({.next_header = kDestOptions, .payload = chain(9)}), "drop_ip6_too_many_extensions");
}

TEST_F(InterfaceIpv6, UnknownOption10_ParameterProblemCode2AtTheOption) {
  // Hop-by-hop at offset 40; its option type at 42 (RFC 4443 §3.4: from the IPv6 header).
  expect_problem_for({.next_header = kHopByHop,
                      .payload = options_header(kTcp, hex("8004 00000000")) + tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})},
                     2, 42);
  EXPECT_EQ(counters_.drop_ip6_parameter_problem, 1u);
}

TEST_F(InterfaceIpv6, UnknownOptionAfterPadding_PointerAtTheOption) {
  // Pad1 then a 10xxxxxx option in a destination options header after a hop-by-hop one.
  expect_problem_for({.next_header = kHopByHop,
                      .payload = padn_header(kDestOptions) + options_header(kTcp, hex("00 8103 000000")) +
                                 tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})},
                     2, 48 + 3);
}

TEST_F(InterfaceIpv6, UnknownOption01_DiscardedSilently) {
  expect_dropped(ipv6_frame({.next_header = kHopByHop,
                             .payload = options_header(kTcp, hex("4004 00000000")) + tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})}),
                 "drop_ip6_unknown_option");
}

TEST_F(InterfaceIpv6, RoutingHeaderWithSegmentsLeft_ParameterProblemCode0AtTheType) {
  expect_problem_for({.next_header = kRouting,
                      .payload = routing_header(kTcp, 253, 1) + tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})},
                     0, 42);
}

TEST_F(InterfaceIpv6, RoutingHeaderWithNoSegmentsLeft_Ignored) {
  receive(ipv6_frame({.next_header = kRouting,
                      .payload = routing_header(kTcp, 253, 0) + tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})}));
  EXPECT_EQ(tcp_.segments.size(), 1u);
}

TEST_F(InterfaceIpv6, Fragment_Dropped) {
  expect_dropped(ipv6_frame({.next_header = kFragment,
                             .payload = fragment_header(kTcp) + tcp_segment(kPeerIp6, kOurIp6, tcp_ack(1), {})}),
                 "drop_ip6_fragment");
}

TEST_F(InterfaceIpv6, UnknownNextHeader_ParameterProblemCode1AtTheField) {
  expect_problem_for({.next_header = kUdp, .payload = udp_payload()}, 1, 6);
  EXPECT_EQ(counters_.drop_ip6_unknown_protocol, 1u);
}

TEST_F(InterfaceIpv6, UnknownNextHeaderAfterHopByHop_PointsIntoTheExtension) {
  expect_problem_for({.next_header = kHopByHop, .payload = padn_header(kUdp) + udp_payload()}, 1, 40);
}

TEST_F(InterfaceIpv6, ToMulticastGroup_NoErrorExceptForOptionType10) {
  learn_peer6();
  const auto all = wire::Ipv6Addr::all_nodes();
  expect_dropped(ipv6_frame({.dst = all, .next_header = kUdp, .payload = udp_payload()}), "drop_ip6_unknown_protocol");
  // 11xxxxxx: "only if the destination was not multicast" (RFC 8200 §4.2).
  expect_dropped(ipv6_frame({.dst = all, .next_header = kHopByHop,
                             .payload = options_header(kUdp, hex("c004 00000000")) + udp_payload()}),
                 "drop_ip6_parameter_problem");
  // 10xxxxxx: "regardless of whether or not the packet's Destination Address was a multicast address".
  const Ipv6Spec spec{.dst = all, .next_header = kHopByHop,
                      .payload = options_header(kUdp, hex("8004 00000000")) + udp_payload()};
  receive(ipv6_frame(spec));
  ASSERT_EQ(sink_.size(), 1u);
  expect_parameter_problem(sink_.bytes(0), 2, 42, ipv6_packet(spec));
}

TEST_F(InterfaceIpv6, IcmpErrors_RateLimited) {
  learn_peer6();
  const Bytes frame = ipv6_frame({.next_header = kUdp, .payload = udp_payload()});
  for (int i = 0; i < 50; ++i) receive(frame);
  EXPECT_EQ(sink_.size(), 50u) << "a burst of 50";
  sink_.clear();
  // The 51st frame is dropped for its unknown next header and its error is not sent: both
  // counted (unlike IPv4's protocol unreachable, which counts only the rate limit).
  const NetCounters before = counters_;
  receive(frame);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(drops(changed(before, counters_)),
            (CounterDeltas{{"drop_icmp_rate_limited", 1}, {"drop_ip6_unknown_protocol", 1}}));
  receive(frame, t0_ + 1ms);
  EXPECT_EQ(sink_.size(), 1u) << "1000 per second";
  sink_.clear();
  receive(frame, t0_ + 1ms);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.tx_icmp6_error, 51u);
  EXPECT_EQ(counters_.drop_icmp_rate_limited, 2u);
}

// ---- ICMPv6 errors about our TCP segments ----------------------------------------------------

TEST_F(InterfaceIpv6, PacketTooBig_QuotingOurSegment_ToTcpWith32BitMtu) {
  const wire::TcpHeader sent{.src_port = 80, .dst_port = 40000, .seq = 0x11223344, .ack = 1,
                             .flags = wire::TcpFlags::ack, .window = 100};
  const Bytes quote = ipv6_packet({.src = kOurIp6, .dst = kPeerIp6, .next_header = kTcp,
                                   .payload = tcp_segment(kOurIp6, kPeerIp6, sent, filled(100))});
  const auto router = ip6("2001:db8:ffff::1");
  receive(ipv6_frame({.src = router, .dst = kOurIp6, .payload = icmpv6_message(router, kOurIp6, 2, 0, 70000, quote)},
                     std::nullopt, kGatewayMac));
  ASSERT_EQ(tcp_.icmp_errors.size(), 1u);
  const auto& e = tcp_.icmp_errors[0];
  EXPECT_EQ(e.kind, wire::IcmpErrorKind::packet_too_big);
  EXPECT_EQ(e.type, 2);
  EXPECT_EQ(e.next_hop_mtu, 70000u) << "RFC 4443 §3.2: all 32 bits";
  EXPECT_EQ(e.local, wire::IpAddr(kOurIp6));
  EXPECT_EQ(e.remote, wire::IpAddr(kPeerIp6));
  EXPECT_EQ(e.local_port, 80);
  EXPECT_EQ(e.remote_port, 40000);
  EXPECT_EQ(e.seq, 0x11223344u);
  EXPECT_EQ(e.quoted_length, 40 + 20 + 100);
  EXPECT_EQ(counters_.rx_icmp_tcp_error, 1u);
  EXPECT_TRUE(sink_.empty());
}

TEST_F(InterfaceIpv6, ErrorQuotingAnotherSource_Dropped) {
  const Bytes quote = ipv6_packet({.src = kOtherIp6, .dst = kPeerIp6, .next_header = kTcp,
                                   .payload = tcp_segment(kOtherIp6, kPeerIp6, tcp_ack(1), {})});
  expect_dropped(ipv6_frame({.payload = icmpv6_message(kPeerIp6, kOurIp6, 1, 4, 0, quote)}), "drop_icmp6_quote_not_ours");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

TEST_F(InterfaceIpv6, ErrorQuotingTooLittleForTheTcpPorts_DroppedAsMalformed) {
  // Our IPv6 header naming TCP, then 3 bytes: the quote ends before the ports.
  const Bytes quote = ipv6_packet({.src = kOurIp6, .dst = kPeerIp6, .next_header = kTcp,
                                   .payload = tcp_segment(kOurIp6, kPeerIp6, tcp_ack(1), {})});
  const Bytes cut(quote.begin(), quote.begin() + 40 + 3);
  expect_dropped(ipv6_frame({.payload = icmpv6_message(kPeerIp6, kOurIp6, 1, 4, 0, cut)}),
                 "drop_icmp6_quote_malformed");
  EXPECT_TRUE(tcp_.icmp_errors.empty());
}

// ---- output ----------------------------------------------------------------------------------

TEST_F(InterfaceIpv6, SendTcp_IPv6HeaderAndChecksumVerifiedIndependently) {
  learn_peer6();
  iface_->advance(t0_);
  send_tcp6(kPeerIp6, 0xabcdef01, filled(11, 0x30), wire::Ecn::ect0);
  ASSERT_EQ(sink_.size(), 1u);
  const Bytes frame = sink_.bytes(0);
  const Frame6 f(frame);
  EXPECT_EQ(f.eth.eth_dst, kPeerMac);
  EXPECT_EQ(f.eth.eth_src, kOurMac);
  ASSERT_TRUE(f.ip);
  EXPECT_EQ(std::to_integer<uint8_t>(frame[14]) >> 4, 6);
  EXPECT_EQ(f.ip->traffic_class(), 0x02) << "DSCP 0, ECT(0)";
  EXPECT_EQ(f.ip->flow_label(), 0u);
  EXPECT_EQ(f.ip->payload_length(), 20 + 11);
  EXPECT_EQ(f.ip->next_header(), kTcp);
  EXPECT_EQ(f.ip->hop_limit(), 64);
  EXPECT_EQ(f.ip->src(), kOurIp6);
  EXPECT_EQ(f.ip->dst(), kPeerIp6);
  EXPECT_EQ(frame.size(), 14u + 40 + 20 + 11);
  EXPECT_EQ(ones_complement_sum_ipv6(kOurIp6, kPeerIp6, kTcp, f.ip->payload()), 0xffff);
  EXPECT_EQ(wire::load_be16(f.ip->payload().data() + 16), wire::load_be16(tcp_segment(kOurIp6, kPeerIp6,
                                                                                      tcp_ack(0xabcdef01),
                                                                                      filled(11, 0x30)).data() + 16));
  EXPECT_EQ(counters_.tx_tcp6, 1u);
  EXPECT_EQ(iface_->neighbor_cache().find(kPeerIp6)->state, NeighborCache::State::delay)
      << "STALE + a packet sent -> DELAY";
}

// The IPv6 twin of tcp_path_test's SendTcp_TcpChecksumOffload_FlagsLengthsAndPseudoHeaderSum.
TEST_F(InterfaceIpv6, SendTcp_TcpChecksumOffload_FlagsLengthsAndPseudoHeaderSum) {
  setup_.tx_tcp_checksum_offload = true;
  setup_.tx_ip_checksum_offload = true;  // IPv6 has no header checksum: must not ask for one
  rebuild();
  learn_peer6();
  iface_->advance(t0_);
  const Bytes payload = filled(33);
  const wire::TcpHeader header = tcp_ack(0x11223344);
  const size_t tcp_len = wire::tcp_header_len(header) + payload.size();
  send_tcp6(kPeerIp6, 0x11223344, payload);
  ASSERT_EQ(sink_.size(), 1u);
  const rte_mbuf* m = sink_.at(0);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_IPV6, RTE_MBUF_F_TX_IPV6);
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM), 0u);
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0u);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 40u);
  const Bytes frame = sink_.bytes(0);
  ASSERT_EQ(frame.size(), 14 + 40 + tcp_len);
  const Frame6 f(frame);
  ASSERT_TRUE(f.ip);
  EXPECT_EQ(f.ip->payload_length(), tcp_len);
  // The NIC expects the uncomplemented RFC 8200 §8.1 pseudo-header sum in the checksum field
  // (DPDK rte_ipv6_phdr_cksum()).
  const Bytes segment(f.ip->payload().begin(), f.ip->payload().end());
  const uint16_t pseudo = static_cast<uint16_t>(~wire::checksum_fold(wire::pseudo_header_sum(
      wire::IpAddr(kOurIp6), wire::IpAddr(kPeerIp6), kTcp, static_cast<uint32_t>(tcp_len))));
  EXPECT_EQ(wire::load_be16(segment.data() + 16), pseudo);
  // With the NIC's part done in software the segment verifies, by the independent sum above.
  Bytes finished = segment;
  wire::store_be16(finished.data() + 16, wire::checksum_fold(wire::checksum_accumulate(cspan(finished))));
  EXPECT_EQ(ones_complement_sum_ipv6(kOurIp6, kPeerIp6, kTcp, cspan(finished)), 0xffff);
}

TEST_F(InterfaceIpv6, OffLinkWithoutRouter_NoRoute) {
  iface_->advance(t0_);
  send_tcp6(kRemoteIp6);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(counters_.drop_ip6_no_route, 1u);
}

TEST_F(InterfaceIpv6, OffLinkWithGateway6_ResolvedThroughTheRouter) {
  setup_.gateway6 = kGatewayIp6;
  rebuild();
  iface_->advance(t0_);
  send_tcp6(kRemoteIp6, 9);
  ASSERT_EQ(sink_.size(), 1u);
  {
    const Frame6 f(sink_.bytes(0));
    ASSERT_TRUE(f.icmp);
    const auto ns = wire::parse_neighbor_solicitation(*f.icmp);
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->target, kGatewayIp6);
    EXPECT_EQ(f.ip->dst(), kGatewayIp6.solicited_node());
  }
  sink_.clear();
  receive(solicited_na_frame(kGatewayIp6, kGatewayMac, kOurIp6, true), t0_ + 1ms);
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  EXPECT_EQ(f.eth.eth_dst, kGatewayMac);
  EXPECT_EQ(f.ip->dst(), kRemoteIp6);
  EXPECT_EQ(f.ip->next_header(), kTcp);
}

// ---- router advertisements (RFC 4861 §6.3.4) --------------------------------------------------

TEST_F(InterfaceIpv6, RouterAdvertisement_IgnoredUnlessAccepted) {
  receive(router_advertisement_frame(1800));
  EXPECT_EQ(counters_.rx_nd_router_advertisement_ignored, 1u);
  EXPECT_FALSE(iface_->default_router6());
  EXPECT_EQ(iface_->neighbor_cache().size(), 0u);
  iface_->advance(t0_);
  send_tcp6(kRemoteIp6);
  EXPECT_EQ(counters_.drop_ip6_no_route, 1u);
}

TEST_F(InterfaceIpv6, RouterAdvertisement_Accepted_DefaultRouterLearnedAndUsed) {
  setup_.accept_router_advertisements = true;
  rebuild();
  receive(router_advertisement_frame(1800));
  EXPECT_EQ(iface_->default_router6(), kGatewayIp6);
  iface_->advance(t0_);
  send_tcp6(kRemoteIp6);
  ASSERT_EQ(sink_.size(), 1u) << "the router's address came in the advertisement: no solicitation";
  const Frame6 f(sink_.bytes(0));
  EXPECT_EQ(f.eth.eth_dst, kGatewayMac);
  EXPECT_EQ(f.ip->dst(), kRemoteIp6);
  // The router lifetime runs out.
  iface_->advance(t0_ + 1800s);
  EXPECT_FALSE(iface_->default_router6());
}

TEST_F(InterfaceIpv6, RouterAdvertisement_LifetimeZero_RouterForgotten) {
  setup_.accept_router_advertisements = true;
  rebuild();
  receive(router_advertisement_frame(1800));
  receive(router_advertisement_frame(0), t0_ + 1s);
  EXPECT_FALSE(iface_->default_router6());
}

TEST_F(InterfaceIpv6, AdvertisedRouter_AdvertisementWithRouterFlagClear_NoLongerDefault) {
  // RFC 4861 §6.3.4: an RA sets IsRouter; §7.2.5: an NA that clears it removes the router
  // from the default router list.
  setup_.accept_router_advertisements = true;
  rebuild();
  receive(router_advertisement_frame(1800));
  ASSERT_EQ(iface_->default_router6(), kGatewayIp6);
  receive(ipv6_frame({.src = kGatewayIp6, .dst = kOurLinkLocal, .hop_limit = 255,
                      .payload = neighbor_advertisement(kGatewayIp6, kOurLinkLocal,
                                                        {.router = false, .solicited = false, .override = false,
                                                         .target = kGatewayIp6,
                                                         .options = {.target_link_layer = kGatewayMac}})},
                     std::nullopt, kGatewayMac),
          t0_ + 1s);
  EXPECT_FALSE(iface_->default_router6());
}

// ---- several queues: what one queue tells the port's others ----------------------------------
// Each queue of a multi-queue port has its own Interface; the port layer (dpdk/worker.cpp)
// carries what the hooks report to the other queues, which apply it with learn_*().

class InterfaceIpv6Share : public InterfaceIpv6 {
 protected:
  void SetUp() override {
    InterfaceIpv6::SetUp();
    hook();
  }
  void hook() {
    iface_->set_neighbor_learned_hook(
        [](void* ctx, const wire::Ipv6Addr& ip, wire::MacAddr mac) {
          static_cast<InterfaceIpv6Share*>(ctx)->neighbors_.emplace_back(ip, mac);
        },
        this);
    iface_->set_address_state_hook(
        [](void* ctx, const wire::Ipv6Addr& a, Interface::AddressState state) {
          static_cast<InterfaceIpv6Share*>(ctx)->states_.emplace_back(a, state);
        },
        this);
    iface_->set_router_learned_hook(
        [](void* ctx, const Interface::RouterInfo& info) { static_cast<InterfaceIpv6Share*>(ctx)->routers_.push_back(info); },
        this);
  }
  void rebuild_hooked() {
    rebuild();
    hook();
  }
  std::vector<std::pair<wire::Ipv6Addr, wire::MacAddr>> neighbors_;
  std::vector<std::pair<wire::Ipv6Addr, Interface::AddressState>> states_;
  std::vector<Interface::RouterInfo> routers_;
};

using State = Interface::AddressState;

// With hardware RSS the answer to queue 1's solicitation may land on queue 0, which has no
// entry: RFC 4861 §7.2.5 has it create none, but it is passed on, or queue 1 gives up.
TEST_F(InterfaceIpv6Share, SolicitedAdvertisementWithNoEntryHere_PassedOnNotCached) {
  receive(solicited_na_frame(kPeerIp6, kPeerMac));
  EXPECT_EQ(iface_->neighbor_cache().find(kPeerIp6), nullptr) << "§7.2.5: no entry created here";
  ASSERT_EQ(neighbors_.size(), 1u);
  EXPECT_EQ(neighbors_[0].first, kPeerIp6);
  EXPECT_EQ(neighbors_[0].second, kPeerMac);
}

TEST_F(InterfaceIpv6Share, UnsolicitedAdvertisementWithNoEntry_NotPassedOn) {
  const auto all = wire::Ipv6Addr::all_nodes();
  receive(ipv6_frame({.src = kPeerIp6, .dst = all, .hop_limit = 255,
                      .payload = neighbor_advertisement(kPeerIp6, all, {.override = true, .target = kPeerIp6,
                                                                        .options = {.target_link_layer = kPeerMac}})}));
  EXPECT_TRUE(neighbors_.empty()) << "an announcement answers no one: every queue hears of it or none needs it";
  // Without a target link-layer address there is nothing to pass on either.
  receive(ipv6_frame({.src = kPeerIp6, .dst = kOurIp6, .hop_limit = 255,
                      .payload = neighbor_advertisement(kPeerIp6, kOurIp6, {.solicited = true, .target = kPeerIp6})}));
  EXPECT_TRUE(neighbors_.empty());
}

TEST_F(InterfaceIpv6Share, LearnNeighbor_ReleasesTheSegmentsThatWaited) {
  iface_->advance(t0_);
  send_tcp6(kPeerIp6, 1);
  send_tcp6(kPeerIp6, 2);
  sink_.clear();  // the solicitation
  iface_->learn_neighbor(kPeerIp6, kPeerMac, t0_ + 1ms);
  const auto frames = sink_.take();
  ASSERT_EQ(frames.size(), 2u);
  for (const auto& f : frames) EXPECT_EQ(parse_frame(f).eth_dst, kPeerMac);
  EXPECT_TRUE(neighbors_.empty()) << "a shared mapping is not shared back";
  EXPECT_EQ(counters_.nd_entries_from_peers, 1u);
}

// The port's other queues (announce off, DAD on): nothing sent, every address tentative until
// the announcing queue tells the outcome.
class InterfaceDadFollower : public InterfaceIpv6Share {
 protected:
  void SetUp() override {
    InterfaceIpv6Share::SetUp();
    setup_.dad_transmits = 1;
    setup_.announce = false;
    rebuild_hooked();
    iface_->start_ipv6();
  }
};

TEST_F(InterfaceDadFollower, Start_NoProbe_TentativeUntilTold_ThenUsable) {
  EXPECT_TRUE(sink_.empty()) << "only the announcing queue probes";
  EXPECT_EQ(iface_->address_state(kOurIp6), State::tentative);
  EXPECT_EQ(iface_->address_state(kOurLinkLocal), State::tentative);
  expect_dropped(tcp6_frame(kPeerIp6, kOurIp6), "drop_ip6_not_for_us");
  iface_->advance(t0_ + 10s);
  EXPECT_TRUE(sink_.empty());
  EXPECT_EQ(iface_->address_state(kOurIp6), State::tentative) << "does not conclude on its own";
  iface_->learn_address_state(kOurIp6, State::preferred);
  EXPECT_EQ(iface_->address_state(kOurIp6), State::preferred);
  EXPECT_EQ(iface_->address_state(kOurLinkLocal), State::tentative) << "each address is told apart";
  EXPECT_EQ(counters_.nd_dad_from_peers, 1u);
  receive(tcp6_frame(kPeerIp6, kOurIp6), t0_ + 10s);
  EXPECT_EQ(tcp_.segments.size(), 1u);
  iface_->learn_address_state(kOurLinkLocal, State::preferred);
  EXPECT_TRUE(iface_->is_local6(kOurLinkLocal));
  EXPECT_TRUE(sink_.empty()) << "and announces nothing: the announcing queue did";
  EXPECT_TRUE(states_.empty()) << "a learned outcome is not passed back";
}

TEST_F(InterfaceDadFollower, ToldDuplicate_NeverUsed) {
  iface_->learn_address_state(kOurIp6, State::duplicate);
  iface_->learn_address_state(kOurIp6, State::preferred);
  EXPECT_EQ(iface_->address_state(kOurIp6), State::duplicate) << "a duplicate stays one";
  expect_dropped(tcp6_frame(kPeerIp6, kOurIp6), "drop_ip6_not_for_us");
  EXPECT_EQ(counters_.nd_dad_duplicates, 0u) << "counted where it was found";
}

// A defence lands on whichever queue the device picks: found here, told to the others.
TEST_F(InterfaceDadFollower, AdvertisementForATentativeAddress_DuplicateHereAndTold) {
  const auto all = wire::Ipv6Addr::all_nodes();
  receive(ipv6_frame({.src = kOurIp6, .dst = all, .hop_limit = 255,
                      .payload = neighbor_advertisement(kOurIp6, all, {.override = true, .target = kOurIp6,
                                                                       .options = {.target_link_layer = kOtherMac}})},
                     std::nullopt, kOtherMac));
  EXPECT_EQ(iface_->address_state(kOurIp6), State::duplicate);
  EXPECT_EQ(counters_.nd_dad_duplicates, 1u);
  EXPECT_EQ(states_, (std::vector<std::pair<wire::Ipv6Addr, State>>{{kOurIp6, State::duplicate}}));
  // And a probe from :: for the link-local address, too.
  const auto group = kOurLinkLocal.solicited_node();
  receive(icmpv6_frame(wire::Ipv6Addr{}, group, neighbor_solicitation(wire::Ipv6Addr{}, group, kOurLinkLocal, std::nullopt)));
  ASSERT_EQ(states_.size(), 2u);
  EXPECT_EQ(states_[1], std::make_pair(kOurLinkLocal, State::duplicate));
}

// The announcing queue tells each outcome it reaches.
class InterfaceDadAnnouncer : public InterfaceIpv6Share {
 protected:
  void SetUp() override {
    InterfaceIpv6Share::SetUp();
    setup_.dad_transmits = 1;
    setup_.announce = true;
    rebuild_hooked();
    iface_->start_ipv6();
    sink_.clear();  // the probes
  }
};

TEST_F(InterfaceDadAnnouncer, Undefended_PreferredTold) {
  iface_->advance(t0_ + 999ms);
  EXPECT_TRUE(states_.empty());
  iface_->advance(t0_ + 1000ms);
  EXPECT_EQ(states_, (std::vector<std::pair<wire::Ipv6Addr, State>>{{kOurLinkLocal, State::preferred},
                                                                    {kOurIp6, State::preferred}}));
}

TEST_F(InterfaceDadAnnouncer, DuplicateFoundByAnotherQueue_NotAnnounced) {
  iface_->learn_address_state(kOurIp6, State::duplicate);
  iface_->advance(t0_ + 1000ms);
  ASSERT_EQ(sink_.size(), 1u) << "only the link-local address is announced";
  expect_unsolicited_na(sink_.bytes(0), kOurLinkLocal);
  EXPECT_EQ(iface_->address_state(kOurIp6), State::duplicate);
  EXPECT_EQ(states_, (std::vector<std::pair<wire::Ipv6Addr, State>>{{kOurLinkLocal, State::preferred}}));
}

// An advertisement reaches one queue; the router, the prefixes and the hop limit it gave are
// for the whole port.
TEST_F(InterfaceIpv6Share, RouterAdvertisement_ToldWithItsPrefixes) {
  setup_.accept_router_advertisements = true;
  rebuild_hooked();
  wire::NdRouterAdvertisement ra{.cur_hop_limit = 32, .router_lifetime = 1800,
                                 .options = {.source_link_layer = kGatewayMac}};
  ra.options.prefixes[0] = {.prefix_length = 64, .on_link = true, .valid_lifetime = 600, .prefix = ip6("2001:db8:1::")};
  ra.options.prefixes[1] = {.prefix_length = 64, .on_link = false, .valid_lifetime = 600, .prefix = ip6("2001:db8:2::")};
  ra.options.prefix_count = 2;
  Bytes icmp(wire::kNdRouterAdvertisementLen + 8 + 2 * 32);
  wire::write_router_advertisement(icmp, kGatewayIp6, wire::Ipv6Addr::all_nodes(), ra);
  receive(ipv6_frame({.src = kGatewayIp6, .dst = wire::Ipv6Addr::all_nodes(), .hop_limit = 255, .payload = icmp},
                     std::nullopt, kGatewayMac));
  ASSERT_EQ(routers_.size(), 1u);
  const Interface::RouterInfo& info = routers_[0];
  EXPECT_EQ(info.router, kGatewayIp6);
  EXPECT_EQ(info.mac, kGatewayMac);
  EXPECT_EQ(info.router_lifetime_s, 1800);
  EXPECT_EQ(info.cur_hop_limit, 32);
  ASSERT_EQ(info.prefix_count, 1u) << "the off-link prefix is not for routing";
  EXPECT_EQ(info.prefixes[0].prefix, ip6("2001:db8:1::"));
  EXPECT_EQ(info.prefixes[0].length, 64);
  EXPECT_EQ(info.prefixes[0].valid_lifetime_s, 600u);
  // Ignored advertisements are not told.
  setup_.accept_router_advertisements = false;
  rebuild_hooked();
  receive(router_advertisement_frame(1800));
  EXPECT_EQ(routers_.size(), 1u);
}

TEST_F(InterfaceIpv6Share, LearnRouter_OffLinkTrafficGoesThroughIt) {
  // This queue never saw the advertisement.
  Interface::RouterInfo info{.router = kGatewayIp6, .mac = kGatewayMac, .router_lifetime_s = 1800, .cur_hop_limit = 32};
  info.prefixes[0] = {.prefix = ip6("2001:db8:1::"), .valid_lifetime_s = 600, .length = 64};
  info.prefix_count = 1;
  iface_->learn_router(info, t0_);
  EXPECT_EQ(iface_->default_router6(), kGatewayIp6);
  EXPECT_EQ(counters_.nd_routers_from_peers, 1u);
  EXPECT_TRUE(routers_.empty()) << "not passed back";
  send_tcp6(kRemoteIp6);
  ASSERT_EQ(sink_.size(), 1u) << "the router's MAC came with it: no solicitation";
  {
    const Frame6 f(sink_.bytes(0));
    EXPECT_EQ(f.eth.eth_dst, kGatewayMac);
    EXPECT_EQ(f.ip->dst(), kRemoteIp6);
    EXPECT_EQ(f.ip->hop_limit(), 32) << "the advertised hop limit";
  }
  sink_.clear();
  // The learned prefix is on-link: its hosts are solicited directly, not sent to the router.
  send_tcp6(ip6("2001:db8:1::9"));
  ASSERT_EQ(sink_.size(), 1u);
  const Frame6 f(sink_.bytes(0));
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.icmp->type(), 135);
  EXPECT_EQ(wire::parse_neighbor_solicitation(*f.icmp)->target, ip6("2001:db8:1::9"));
  sink_.clear();
  // A later advertisement with lifetime 0, heard elsewhere, ends it here too.
  iface_->learn_router(Interface::RouterInfo{.router = kGatewayIp6}, t0_ + 1s);
  EXPECT_FALSE(iface_->default_router6());
}

// ---- the multicast filter (RFC 4861 §7.2.1) ---------------------------------------------------

TEST(Ipv6MulticastMacs, AllNodesLinkLocalAndEveryAddressesGroup) {
  const std::vector<Ipv6AddressRange> ranges{{.address = ip6("2001:db8::1"), .count = 3, .prefix_len = 64}};
  const auto macs = Interface::ipv6_multicast_macs(kOurMac, ranges);
  ASSERT_TRUE(macs);
  // 2001:db8::1 and the link-local fe80::ff:fe00:1 end in the same 24 bits: one group.
  EXPECT_EQ(macs->size(), 4u);
  for (const auto& want : {wire::Ipv6Addr::all_nodes().multicast_mac(), kOurLinkLocal.solicited_node().multicast_mac(),
                           ip6("2001:db8::3").solicited_node().multicast_mac()}) {
    EXPECT_NE(std::find(macs->begin(), macs->end(), want), macs->end()) << want.to_string();
  }
}

// A list cut short would leave the addresses past the cut deaf to solicitations; the port takes
// all multicast instead.
TEST(Ipv6MulticastMacs, MoreGroupsThanTheBound_NoListSoAllMulticast) {
  std::vector<Ipv6AddressRange> ranges{
      {.address = ip6("2001:db8::100"), .count = static_cast<uint32_t>(Interface::kMaxIpv6MulticastFilter - 2),
       .prefix_len = 64}};
  const auto fits = Interface::ipv6_multicast_macs(kOurMac, ranges);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->size(), Interface::kMaxIpv6MulticastFilter);
  ranges[0].count++;
  EXPECT_FALSE(Interface::ipv6_multicast_macs(kOurMac, ranges));
  ranges[0].count = 1;
  ranges.push_back({.address = ip6("2001:db8:1::1"), .count = 0xffffffffu, .prefix_len = 64});
  EXPECT_FALSE(Interface::ipv6_multicast_macs(kOurMac, ranges));
}

}  // namespace
}  // namespace dtcp::stack::test
