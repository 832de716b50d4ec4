// Shared pieces of the stack tests: the mbuf pools main.cpp creates, frame builders on top of
// the wire writers, a recording FrameSink and TcpReceiver, counter diffs and the Interface
// fixture every Interface test derives from.
//
// Frames are built field by field here rather than kept as golden bytes: each test overrides
// the one field it is about (a bad IHL, a fragment offset) and every other field stays valid,
// so a drop can only come from the field under test. The replies are checked with the wire
// parsers (whose own golden tests live in tests/unit/wire) and, for ARP, byte for byte.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "wire/addr.hpp"
#include "wire/arp.hpp"
#include "wire/bytes.hpp"
#include "../wire/wire_test_util.hpp"
#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"
#include "wire/tcp.hpp"

namespace dtcp::stack::test {

using namespace std::chrono_literals;
using Bytes = std::vector<std::byte>;

// Created once by main.cpp. The tiny pool exists so a test can run the interface out of mbufs.
rte_mempool* pool();
rte_mempool* tiny_pool();
inline unsigned in_use(rte_mempool* mp) { return mp->size - rte_mempool_avail_count(mp); }

// --- addresses ------------------------------------------------------------------------------

inline constexpr wire::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr wire::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr wire::MacAddr kPeerNewMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x22}};
inline constexpr wire::MacAddr kOtherMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x03}};
inline constexpr wire::MacAddr kGatewayMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};
inline constexpr wire::Ipv4Addr kOurIp = wire::Ipv4Addr::from_octets(198, 18, 0, 1);
inline constexpr wire::Ipv4Addr kPeerIp = wire::Ipv4Addr::from_octets(198, 18, 0, 2);
inline constexpr wire::Ipv4Addr kOtherIp = wire::Ipv4Addr::from_octets(198, 18, 0, 3);
inline constexpr wire::Ipv4Addr kGatewayIp = wire::Ipv4Addr::from_octets(198, 18, 0, 254);
inline constexpr wire::Ipv4Addr kRemoteIp = wire::Ipv4Addr::from_octets(203, 0, 113, 9);

// IPv6 (RFC 3849 documentation prefix): ours, on-link peers in our /64, an off-link host, and
// a router known by its link-local address as routers are (RFC 4861 §8).
inline wire::Ipv6Addr ip6(std::string_view text) { return *wire::Ipv6Addr::parse(text); }
inline const wire::Ipv6Addr kOurIp6 = ip6("2001:db8::1");
inline const wire::Ipv6Addr kPeerIp6 = ip6("2001:db8::2");
inline const wire::Ipv6Addr kOtherIp6 = ip6("2001:db8::3");
inline const wire::Ipv6Addr kRemoteIp6 = ip6("2001:db8:ffff::9");
inline const wire::Ipv6Addr kGatewayIp6 = ip6("fe80::fe");
inline const wire::Ipv6Addr kOurLinkLocal = wire::Ipv6Addr::link_local_from_mac(kOurMac);  // fe80::ff:fe00:1
inline const wire::Ipv6Addr kPeerLinkLocal = wire::Ipv6Addr::link_local_from_mac(kPeerMac);

// --- bytes and mbufs ------------------------------------------------------------------------

inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Bytes filled(size_t n, uint8_t first = 0) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = std::byte(static_cast<uint8_t>(first + i));
  return out;
}

// Golden-frame helpers shared with the wire tests.
using dtcp::wire::test::cspan;
using dtcp::wire::test::hex;

// One single-segment mbuf holding `frame`.
inline rte_mbuf* to_mbuf(const Bytes& frame, rte_mempool* mp = pool()) {
  rte_mbuf* m = rte_pktmbuf_alloc(mp);
  EXPECT_NE(m, nullptr) << "mbuf pool exhausted";
  if (m == nullptr) return nullptr;
  auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  EXPECT_NE(p, nullptr) << "frame larger than an mbuf";
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  if (!frame.empty()) std::memcpy(p, frame.data(), frame.size());
  return m;
}

// `frame` in a chain of mbufs cut at the offsets `cuts` (ascending), as LRO, rte_gro or
// scattered rx deliver it.
inline rte_mbuf* to_chain(const Bytes& frame, const std::vector<size_t>& cuts, rte_mempool* mp = pool()) {
  rte_mbuf* head = nullptr;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : frame.size();
    rte_mbuf* m = to_mbuf(Bytes(frame.begin() + static_cast<std::ptrdiff_t>(from),
                                frame.begin() + static_cast<std::ptrdiff_t>(to)), mp);
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      ADD_FAILURE() << "chain too long";
      rte_pktmbuf_free(head);
      rte_pktmbuf_free(m);
      return nullptr;
    }
    from = to;
  }
  return head;
}

// The bytes of a (possibly chained) mbuf.
inline Bytes bytes_of(const rte_mbuf* m) {
  Bytes out;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const auto* p = rte_pktmbuf_mtod(s, const std::byte*);
    out.insert(out.end(), p, p + s->data_len);
  }
  return out;
}

// --- frame builders -------------------------------------------------------------------------

inline Bytes ethernet(wire::MacAddr dst, wire::MacAddr src, uint16_t ether_type, const Bytes& payload) {
  Bytes out(wire::kEthernetHeaderLen);
  wire::write_ethernet(out, dst, src, ether_type);
  return out + payload;
}

inline Bytes arp_packet(const wire::ArpRepr& arp) {
  Bytes out(wire::kArpLen);
  wire::write_arp(out, arp);
  return out;
}

inline Bytes arp_frame(wire::MacAddr eth_dst, wire::MacAddr eth_src, const wire::ArpRepr& arp) {
  return ethernet(eth_dst, eth_src, static_cast<uint16_t>(wire::EtherType::arp), arp_packet(arp));
}

// An IPv4 datagram. Every field has a valid default; the overrides make it invalid on purpose.
struct Ipv4Spec {
  wire::Ipv4Addr src = kPeerIp;
  wire::Ipv4Addr dst = kOurIp;
  uint8_t protocol = static_cast<uint8_t>(wire::IpProtocol::icmp);
  uint8_t tos = 0;  // DSCP and ECN
  uint8_t ttl = 64;
  uint16_t identification = 0x1234;
  uint16_t flags_fragment = 0x4000;  // DF
  Bytes options;                     // a multiple of 4 bytes
  Bytes payload;
  std::optional<uint8_t> version;            // default 4
  std::optional<uint8_t> ihl;                // default from options
  std::optional<uint16_t> total_length;      // default header + payload
  bool corrupt_checksum = false;
};

inline Bytes ipv4_packet(const Ipv4Spec& s) {
  const size_t header_len = wire::kIpv4MinHeaderLen + s.options.size();
  Bytes out(header_len);
  std::byte* p = out.data();
  const uint8_t ihl = s.ihl.value_or(static_cast<uint8_t>(header_len / 4));
  p[0] = std::byte(static_cast<uint8_t>((s.version.value_or(4) << 4) | (ihl & 0x0f)));
  p[1] = std::byte{s.tos};
  wire::store_be16(p + 2, s.total_length.value_or(static_cast<uint16_t>(header_len + s.payload.size())));
  wire::store_be16(p + 4, s.identification);
  wire::store_be16(p + 6, s.flags_fragment);
  p[8] = std::byte{s.ttl};
  p[9] = std::byte{s.protocol};
  wire::store_be32(p + 12, s.src.value);
  wire::store_be32(p + 16, s.dst.value);
  std::copy(s.options.begin(), s.options.end(), out.begin() + wire::kIpv4MinHeaderLen);
  uint16_t sum = wire::internet_checksum(cspan(out));
  if (s.corrupt_checksum) sum = static_cast<uint16_t>(sum ^ 0x0101);
  wire::store_be16(p + 10, sum);
  return out + s.payload;
}

inline Bytes ipv4_frame(const Ipv4Spec& s, wire::MacAddr eth_dst = kOurMac, wire::MacAddr eth_src = kPeerMac) {
  return ethernet(eth_dst, eth_src, static_cast<uint16_t>(wire::EtherType::ipv4), ipv4_packet(s));
}

inline Bytes icmp_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& payload) {
  Bytes out(wire::kIcmpHeaderLen + payload.size());
  wire::write_icmp(out, type, code, rest, cspan(payload));
  return out;
}

inline Bytes echo_request(uint16_t identifier, uint16_t sequence, const Bytes& payload) {
  return icmp_message(static_cast<uint8_t>(wire::IcmpType::echo_request), 0,
                      (uint32_t{identifier} << 16) | sequence, payload);
}

// A TCP segment (header + payload) with a correct checksum for src -> dst.
inline Bytes tcp_segment(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpHeader& header, const Bytes& payload) {
  Bytes out(wire::tcp_header_len(header));
  wire::write_tcp_header(out, header);
  out = out + payload;
  wire::fill_tcp_checksum(out, src, dst);
  return out;
}

inline wire::TcpHeader tcp_ack(uint32_t seq) {
  return wire::TcpHeader{.src_port = 40000, .dst_port = 80, .seq = seq, .ack = 1000,
                         .flags = wire::TcpFlags::ack, .window = 65535};
}

// --- IPv6 frame builders -------------------------------------------------------------------

// An IPv6 packet: the fixed header over `payload` (extension headers and upper layer, built by
// the caller). Every field has a valid default.
struct Ipv6Spec {
  wire::Ipv6Addr src = kPeerIp6;
  wire::Ipv6Addr dst = kOurIp6;
  uint8_t next_header = static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6);
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  Bytes payload;
};

inline Bytes ipv6_packet(const Ipv6Spec& s) {
  Bytes out(wire::kIpv6HeaderLen);
  wire::write_ipv6(out, wire::Ipv6Header{.src = s.src, .dst = s.dst, .next_header = s.next_header,
                                         .hop_limit = s.hop_limit, .traffic_class = s.traffic_class,
                                         .payload_len = static_cast<uint16_t>(s.payload.size())});
  return out + s.payload;
}

// To our MAC unless the destination is a group (then its 33:33 address, RFC 2464 §7).
inline Bytes ipv6_frame(const Ipv6Spec& s, std::optional<wire::MacAddr> eth_dst = std::nullopt,
                        wire::MacAddr eth_src = kPeerMac) {
  const wire::MacAddr dst = eth_dst.value_or(s.dst.is_multicast() ? s.dst.multicast_mac() : kOurMac);
  return ethernet(dst, eth_src, static_cast<uint16_t>(wire::EtherType::ipv6), ipv6_packet(s));
}

// An ICMPv6 message with its checksum over src -> dst.
inline Bytes icmpv6_message(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, uint8_t type, uint8_t code,
                            uint32_t rest, const Bytes& payload) {
  Bytes out(wire::kIcmpv6HeaderLen + payload.size());
  wire::write_icmpv6(out, src, dst, type, code, rest, cspan(payload));
  return out;
}

// A whole ICMPv6 frame from src to dst (hop limit 255, as ND requires; harmless elsewhere).
inline Bytes icmpv6_frame(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, const Bytes& icmp,
                          uint8_t hop_limit = wire::kNdHopLimit) {
  return ipv6_frame({.src = src, .dst = dst, .hop_limit = hop_limit, .payload = icmp});
}

inline Bytes neighbor_solicitation(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, const wire::Ipv6Addr& target,
                                   std::optional<wire::MacAddr> sll) {
  Bytes out(wire::kNdNeighborSolicitationLen + (sll ? 8 : 0));
  wire::write_neighbor_solicitation(out, src, dst, target, sll);
  return out;
}

inline Bytes neighbor_advertisement(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst,
                                    const wire::NdNeighborAdvertisement& na) {
  Bytes out(wire::kNdNeighborAdvertisementLen + (na.options.target_link_layer ? 8 : 0));
  wire::write_neighbor_advertisement(out, src, dst, na);
  return out;
}

// A solicited advertisement for `target` at `mac`, as a neighbour answering our solicitation sends.
inline Bytes solicited_na_frame(const wire::Ipv6Addr& target, wire::MacAddr mac, const wire::Ipv6Addr& dst = kOurIp6,
                                bool router = false) {
  return ethernet(kOurMac, mac, static_cast<uint16_t>(wire::EtherType::ipv6),
                  ipv6_packet({.src = target, .dst = dst, .hop_limit = wire::kNdHopLimit,
                               .payload = neighbor_advertisement(target, dst,
                                                                 {.router = router, .solicited = true, .override = true,
                                                                  .target = target,
                                                                  .options = {.target_link_layer = mac}})}));
}

// A TCP segment over IPv6 with a correct checksum.
inline Bytes tcp_segment(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, const wire::TcpHeader& header,
                         const Bytes& payload) {
  Bytes out(wire::tcp_header_len(header));
  wire::write_tcp_header(out, header);
  out = out + payload;
  wire::fill_tcp_checksum(out, wire::IpAddr(src), wire::IpAddr(dst));
  return out;
}

inline Bytes tcp6_frame(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, const Bytes& payload = {},
                        uint32_t seq = 5000) {
  return ipv6_frame({.src = src, .dst = dst, .next_header = static_cast<uint8_t>(wire::Ipv6NextHeader::tcp),
                     .payload = tcp_segment(src, dst, tcp_ack(seq), payload)});
}

// What TCP hands to Interface::send_tcp: the segment from its header on, checksum field zero,
// l4_len set, headroom for IPv4 and Ethernet.
inline rte_mbuf* outgoing_segment(const wire::TcpHeader& header, const Bytes& payload) {
  Bytes seg(wire::tcp_header_len(header));
  wire::write_tcp_header(seg, header);
  rte_mbuf* m = to_mbuf(seg + payload);
  if (m != nullptr) m->l4_len = static_cast<uint8_t>(seg.size());
  return m;
}

// --- recording sink and receiver ------------------------------------------------------------

class RecordingSink final : public FrameSink {
 public:
  ~RecordingSink() override { clear(); }
  void transmit(rte_mbuf* frame) override { frames_.push_back(frame); }

  size_t size() const { return frames_.size(); }
  bool empty() const { return frames_.empty(); }
  rte_mbuf* at(size_t i) const { return frames_.at(i); }
  Bytes bytes(size_t i) const { return bytes_of(frames_.at(i)); }
  // Copies out every frame's bytes and frees the mbufs.
  std::vector<Bytes> take() {
    std::vector<Bytes> out;
    for (rte_mbuf* m : frames_) out.push_back(bytes_of(m));
    clear();
    return out;
  }
  void clear() {
    for (rte_mbuf* m : frames_) rte_pktmbuf_free(m);
    frames_.clear();
  }

 private:
  std::vector<rte_mbuf*> frames_;
};

class RecordingTcp final : public TcpReceiver {
 public:
  struct Segment {
    Bytes bytes;
    wire::IpAddr src, dst;
    TimePoint now;
    uint16_t nb_segs;
    wire::Ecn ecn;
    uint64_t ol_flags = 0;
    uint16_t tso_segsz = 0;
  };
  void tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) override {
    segments.push_back({bytes_of(segment), src, dst, now, segment->nb_segs, ecn, segment->ol_flags, static_cast<uint16_t>(segment->tso_segsz)});
    EXPECT_EQ(segment->pkt_len, bytes_of(segment).size()) << "pkt_len out of step with the chain";
    rte_pktmbuf_free(segment);
  }
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now) override {
    icmp_errors.push_back(error);
    (void)now;
  }
  // Admission past capacity: while `shedding` is set, the interface drops bare SYNs before
  // their checksums and reports each here (a shard counts it as drop_syn_budget).
  const bool* syn_shedding_flag() const override { return &shedding; }
  void syn_shed() override { ++syns_shed; }
  std::vector<Segment> segments;
  std::vector<wire::IcmpTcpError> icmp_errors;
  bool shedding = false;
  uint64_t syns_shed = 0;
};

// --- counters -------------------------------------------------------------------------------

using CounterDeltas = std::map<std::string, int64_t>;

// Every counter that moved between two snapshots, by name.
inline CounterDeltas changed(const NetCounters& before, const NetCounters& after) {
  CounterDeltas out;
#define DTCP_DIFF_COUNTER(name, description)                                              \
  if (after.name != before.name) out[#name] = static_cast<int64_t>(after.name - before.name);
  DTCP_NET_COUNTERS(DTCP_DIFF_COUNTER)
#undef DTCP_DIFF_COUNTER
  return out;
}

// Only the drop_* counters of a diff.
inline CounterDeltas drops(const CounterDeltas& all) {
  CounterDeltas out;
  for (const auto& [name, delta] : all) {
    if (name.rfind("drop_", 0) == 0) out[name] = delta;
  }
  return out;
}

// --- parsed replies -------------------------------------------------------------------------

struct ParsedFrame {
  wire::MacAddr eth_dst, eth_src;
  uint16_t ether_type = 0;
  Bytes payload;  // after the Ethernet header
};

inline ParsedFrame parse_frame(const Bytes& frame) {
  const auto eth = wire::EthernetView::parse(cspan(frame));
  EXPECT_TRUE(eth);
  if (!eth) return {};
  return {eth->dst(), eth->src(), eth->ether_type(), Bytes(eth->payload().begin(), eth->payload().end())};
}

// --- the fixture ----------------------------------------------------------------------------

class InterfaceTest : public ::testing::Test {
 protected:
  static ArpConfig test_arp() {
    return ArpConfig{.entry_timeout = 30s, .request_interval = 1000ms, .request_retries = 3,
                     .max_pending_per_entry = 4, .capacity = 64};
  }
  static InterfaceSetup default_setup() {
    return InterfaceSetup{.mac = kOurMac, .address = kOurIp, .prefix_len = 24, .gateway = kGatewayIp,
                          .mtu = 1500, .arp = test_arp(), .pool = pool()};
  }

  // The IPv6 tests' setup on top of default_setup(): one address in 2001:db8::/64, no default
  // router, a small neighbour cache with RFC 4861's timers. DAD off and no announcements, so the
  // addresses are usable at once and start_ipv6() sends nothing; the DAD tests turn both on.
  static NeighborConfig test_nd() {
    return NeighborConfig{.capacity = 64, .max_pending_per_entry = 4, .retrans_timer = 1000ms,
                          .base_reachable_time = 30000ms, .delay_first_probe_time = 5000ms,
                          .max_multicast_solicit = 3, .max_unicast_solicit = 3};
  }
  static InterfaceSetup default_setup6() {
    InterfaceSetup s = default_setup();
    s.addresses6 = {Ipv6AddressRange{.address = kOurIp6, .count = 1, .prefix_len = 64}};
    s.nd = test_nd();
    s.dad_transmits = 0;
    s.announce = false;
    return s;
  }

  void SetUp() override { rebuild(); }

  void TearDown() override {
    iface_.reset();  // frees whatever waits for ARP
    sink_.clear();
    EXPECT_EQ(in_use(pool()), 0u) << "mbufs leaked from the main pool";
    EXPECT_EQ(in_use(tiny_pool()), 0u) << "mbufs leaked from the tiny pool";
  }

  // Recreates the interface from setup_ (tests change setup_ first), with fresh counters.
  void rebuild() {
    iface_.reset();
    sink_.clear();
    counters_ = NetCounters{};
    iface_.emplace(setup_, sink_, counters_, t0_);
    if (tcp_attached_) iface_->attach_tcp(&tcp_);
  }

  void receive(const Bytes& frame, TimePoint at) {
    rte_mbuf* m = to_mbuf(frame);
    ASSERT_NE(m, nullptr);
    iface_->input(m, at);
  }
  void receive(const Bytes& frame) { receive(frame, t0_); }

  // Feeds `frame` and checks that exactly one drop counter moved, by exactly one, that it is
  // `counter`, that nothing was sent or handed to TCP, and that the frame's mbuf was freed.
  void expect_dropped(const Bytes& frame, const std::string& counter) {
    const NetCounters before = counters_;
    const size_t tcp_before = tcp_.segments.size();
    receive(frame);
    const CounterDeltas all = changed(before, counters_);
    EXPECT_EQ(drops(all), (CounterDeltas{{counter, 1}})) << "all counters that moved: " << ::testing::PrintToString(all);
    EXPECT_EQ(all.count("tx_frames"), 0u);
    EXPECT_EQ(all.count("rx_tcp"), 0u);
    EXPECT_EQ(counters_.rx_frames, before.rx_frames + 1);
    EXPECT_EQ(counters_.rx_bytes, before.rx_bytes + frame.size());
    EXPECT_TRUE(sink_.empty()) << sink_.size() << " frame(s) sent";
    EXPECT_EQ(tcp_.segments.size(), tcp_before);
    EXPECT_EQ(in_use(pool()), 0u) << "the dropped frame was not freed";
  }

  // The peer tells us its address with an ARP request; our reply is discarded.
  void learn(wire::Ipv4Addr ip, wire::MacAddr mac, TimePoint at) {
    receive(arp_frame(wire::MacAddr::broadcast(), mac,
                      {.op = wire::ArpOp::request, .sender_mac = mac, .sender_ip = ip, .target_ip = kOurIp}),
            at);
    ASSERT_NE(iface_->arp_cache().find(ip), nullptr);
    sink_.clear();
  }
  void learn_peer() { learn(kPeerIp, kPeerMac, t0_); }

  // What the lcore loop does: advance the clock, then TCP sends.
  void send_tcp_at(TimePoint at, uint32_t seq, wire::Ipv4Addr dst = kPeerIp, const Bytes& payload = {}) {
    iface_->advance(at);
    rte_mbuf* m = outgoing_segment(tcp_ack(seq), payload);
    ASSERT_NE(m, nullptr);
    iface_->send_tcp(m, kOurIp, dst);
  }

  void attach_tcp() {
    tcp_attached_ = true;
    iface_->attach_tcp(&tcp_);
  }

  const TimePoint t0_ = TimePoint{} + 1000s;
  InterfaceSetup setup_ = default_setup();
  RecordingSink sink_;
  RecordingTcp tcp_;
  NetCounters counters_;
  std::optional<Interface> iface_;
  bool tcp_attached_ = false;
};

}  // namespace dtcp::stack::test
