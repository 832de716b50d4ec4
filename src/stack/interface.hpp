// One interface as seen by one lcore: Ethernet demux; ARP, IPv4 and ICMP (interface.cpp); IPv6,
// ICMPv6 and neighbour discovery (ipv6.cpp); and the output paths TCP sends through. These two
// files are where the network layer's family-specific code lives; TCP sees wire::IpAddr only.
// Owned and used by a single lcore; no locks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/log.hpp"
#include "base/time.hpp"
#include "dtcp/config.hpp"
#include "stack/arp_cache.hpp"
#include "stack/neighbor_cache.hpp"
#include "stack/counters.hpp"
#include "wire/addr.hpp"
#include "wire/arp.hpp"
#include "wire/ecn.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/icmpv6.hpp"
#include "wire/tx_header.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace dtcp::stack {

// Where finished frames go (the port layer's transmit buffer). Takes ownership.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void transmit(rte_mbuf* frame) = 0;
};

// Where verified TCP segments go. `segment` starts at the TCP header and holds exactly the
// segment (IP padding trimmed); its checksum has been verified. `ecn` is the ECN field of its IP
// header (RFC 3168 §5). Takes ownership.
class TcpReceiver {
 public:
  virtual ~TcpReceiver() = default;
  virtual void tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn,
                         TimePoint now) = 0;
  // An ICMP destination-unreachable or time-exceeded message whose quote names a TCP segment
  // sent from one of our addresses (parsed and checked by the interface; the frame is already
  // freed). TCP decides whether it is about a connection and acts (RFC 1122 4.2.3.9, RFC 5927).
  virtual void icmp_error(const wire::IcmpTcpError& error, TimePoint now) = 0;
  // Admission past capacity (tcp::Shard::syn_shedding_flag()): a flag that is true while TCP
  // takes no more bare SYNs in this loop iteration, read by the interface once per frame;
  // nullptr (the default) when TCP never sheds. A frame the interface drops for it is reported
  // with syn_shed() (TCP counts it) and freed by the interface.
  virtual const bool* syn_shedding_flag() const { return nullptr; }
  virtual void syn_shed() {}
};

struct InterfaceSetup {
  wire::MacAddr mac;
  wire::Ipv4Addr address;  // 0.0.0.0: no IPv4 on this interface
  uint32_t address_count = 1;  // address .. address+address_count-1 are ours
  uint8_t prefix_len = 24;
  std::optional<wire::Ipv4Addr> gateway;
  uint16_t mtu = 1500;
  bool tx_ip_checksum_offload = false;
  bool tx_tcp_checksum_offload = false;
  // A TCP segment that arrives marked RTE_MBUF_F_TX_TCP_CKSUM (its checksum left to the device)
  // is taken as verified: set for net_ring pairs, whose two ends are ports of this process
  // passing the same mbuf (Linux's veth passes CHECKSUM_PARTIAL through the same way).
  bool rx_trust_tx_checksum = false;
  ArpConfig arp;
  rte_mempool* pool = nullptr;
  // IPv6 (PortConfig's keys). Every interface also has the link-local address derived from `mac`.
  std::vector<Ipv6AddressRange> addresses6;
  std::optional<wire::Ipv6Addr> gateway6;
  bool accept_router_advertisements = false;
  NeighborConfig nd;
  // Duplicate address detection (RFC 4862 §5.4): solicitations per address before it is used;
  // 0 = the addresses are used at once. Only the announcing queue of a port probes and
  // announces; with dad_transmits > 0 the port's other queues (announce false) hold the
  // addresses tentative until learn_address_state() tells them the outcome.
  uint8_t dad_transmits = 1;
  bool announce = true;
};

class Interface {
 public:
  Interface(const InterfaceSetup& setup, FrameSink& sink, NetCounters& counters, TimePoint now);
  ~Interface();
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  void attach_tcp(TcpReceiver* tcp) {
    tcp_ = tcp;
    syn_shedding_ = tcp ? tcp->syn_shedding_flag() : nullptr;
  }

  // Each queue of a multi-queue port has its own Interface and ARP cache, and an ARP reply
  // arrives on one queue only. The hook hears every mapping learned from an ARP packet addressed
  // to us (request or reply), so the port layer can pass it to the other queues, which apply it
  // with learn(). nullptr (the default) for a single queue.
  using ArpLearnedHook = void (*)(void* ctx, wire::Ipv4Addr ip, wire::MacAddr mac);
  void set_arp_learned_hook(ArpLearnedHook hook, void* ctx) {
    arp_learned_ = hook;
    arp_learned_ctx_ = ctx;
  }
  // A mapping another queue of the same port learned: creates or refreshes the entry (as an ARP
  // packet for us would, RFC 826) and sends the packets that waited for it. Does not call the hook.
  void learn(wire::Ipv4Addr ip, wire::MacAddr mac, TimePoint now);
  // The same for IPv6 neighbours: what another queue learned from an ND message with a
  // link-layer address (created or updated STALE, RFC 4861 §7.2.3-§7.2.5).
  using NeighborLearnedHook = void (*)(void* ctx, const wire::Ipv6Addr& ip, wire::MacAddr mac);
  void set_neighbor_learned_hook(NeighborLearnedHook hook, void* ctx) {
    neighbor_learned_ = hook;
    neighbor_learned_ctx_ = ctx;
  }
  void learn_neighbor(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint now);

  // Why an address is not (yet) usable.
  enum class AddressState : uint8_t { tentative, preferred, duplicate };
  // Duplicate address detection on a port with several queues: the announcing queue probes; a
  // probe's answer, or another node's probe, may land on any queue. The hook hears every
  // outcome this queue reaches for a probed address (the link-local one, or the first of a
  // range): preferred (undefended for RetransTimer after the last probe, RFC 4862 §5.4.3) or
  // duplicate (§5.4.3, §5.4.4), so the port layer can pass it on. learn_address_state() applies
  // another queue's outcome: duplicate wins over tentative and preferred (the queues must agree,
  // and an address one of them found duplicate is not used), preferred only ends tentative.
  // Does not call the hook.
  using AddressStateHook = void (*)(void* ctx, const wire::Ipv6Addr& address, AddressState state);
  void set_address_state_hook(AddressStateHook hook, void* ctx) {
    address_state_hook_ = hook;
    address_state_ctx_ = ctx;
  }
  void learn_address_state(const wire::Ipv6Addr& address, AddressState state);

  // What an accepted router advertisement taught (RFC 4861 §6.3.4), lifetimes counted from its
  // arrival: the port layer passes it to the other queues (the advertisement lands on one), which
  // apply it with learn_router(); that does not call the hook. Trivially copyable.
  struct RouterInfo {
    static constexpr size_t kMaxPrefixes = wire::kNdMaxPrefixes;  // what one advertisement is parsed for
    struct Prefix {
      wire::Ipv6Addr prefix;
      uint32_t valid_lifetime_s = 0;  // 0xffffffff: infinite
      uint8_t length = 0;
    };
    wire::Ipv6Addr router;               // its link-local source
    std::optional<wire::MacAddr> mac;    // its source link-layer address option
    uint16_t router_lifetime_s = 0;      // 0: not (or no longer) a default router
    uint8_t cur_hop_limit = 0;           // 0: unspecified
    uint8_t prefix_count = 0;            // on-link, not link-local
    std::array<Prefix, kMaxPrefixes> prefixes{};
  };
  using RouterLearnedHook = void (*)(void* ctx, const RouterInfo& info);
  void set_router_learned_hook(RouterLearnedHook hook, void* ctx) {
    router_learned_ = hook;
    router_learned_ctx_ = ctx;
  }
  void learn_router(const RouterInfo& info, TimePoint now);

  // One received frame; the interface owns it afterwards.
  void input(rte_mbuf* frame, TimePoint now);
  // ARP and neighbour-discovery retries and expiry, DAD probes; call once per loop iteration.
  void advance(TimePoint now);
  // Announces our address (RFC 5227 2.3 announcement).
  void send_gratuitous_arp();
  // Starts IPv6 on the link (RFC 4862 §5.4, RFC 4861 §7.2.6): duplicate address detection for
  // the link-local and configured addresses (when setup().announce and dad_transmits > 0),
  // then an unsolicited neighbour advertisement for each; a router solicitation when router
  // advertisements are accepted. Without announce nothing is sent: with dad_transmits > 0 the
  // addresses stay tentative until learn_address_state(), else they are usable at once.
  void start_ipv6();
  // The Ethernet multicast groups IPv6 needs received (RFC 4861 §7.2.1, RFC 2464 §7): all-nodes
  // and the solicited-node group of every address. The port programs them as its multicast
  // filter (or turns on all-multicast where it cannot). nullopt when there would be more than
  // kMaxIpv6MulticastFilter of them (long ranges): the port then takes all multicast.
  static constexpr uint64_t kMaxIpv6MulticastFilter = 4096;
  static std::optional<std::vector<wire::MacAddr>> ipv6_multicast_macs(const wire::MacAddr& mac,
                                                                       const std::vector<Ipv6AddressRange>& addresses6);

  // TCP output: `segment` starts at the TCP header with its checksum field zero and
  // segment->l4_len set. Prepends IPv4 (DSCP 0, `ecn` in the ECN field) and Ethernet, fills
  // checksums (offload or software), resolves the next hop and transmits. Takes ownership.
  // The family of `src` and `dst` (always the same) picks the IPv4 or IPv6 output.
  // By reference down to the header write: the addresses are copied once, from where they live
  // (the control block's 4-tuple), into the packet.
  void send_tcp(rte_mbuf* segment, const wire::IpAddr& src, const wire::IpAddr& dst,
                wire::Ecn ecn = wire::Ecn::not_ect) {
    if (src.is_v4()) return send_tcp4(segment, src.v4(), dst.v4(), ecn);
    send_tcp6(segment, src, dst, ecn);
  }
  // The same for a connection's segment, through the connection's header template `tmpl`
  // (kept by TCP, built here): while it is valid (the neighbour cache's generation it was built
  // under, before its expiry) the Ethernet and IP headers are copied from it and patched (ECN,
  // lengths, IPv4 identification and checksum) and the TCP checksum starts from its
  // pseudo-header sum, with no route or neighbour lookup; otherwise the path above runs and
  // rebuilds the template when the next hop resolved to a REACHABLE entry. Either way the same
  // bytes, counters and offload flags.
  //
  // A segment whose own template is not valid (a connection's first, its SYN or SYN-ACK, or one
  // after its entry changed) takes a copy of the last template built, when that one is for the
  // same addresses and still valid: the headers depend on nothing else
  // (the next hop and its entry follow from the destination, the generation and expiry say the
  // entry is unchanged), and the connections a server accepts, or a client opens, mostly share
  // their peer. That spares each connection the slow path's route and neighbour lookup and the
  // template's building, about 230 instructions a connection and side.
  void send_tcp(rte_mbuf* segment, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn,
                wire::TxHeaderTemplate& tmpl) {
    const bool v4 = src.is_v4();
    if (template_valid(tmpl, v4)) [[likely]] return send_tcp_templated(segment, ecn, tmpl);
    if (template_valid(last_template_, v4) && last_template_dst_ == dst && last_template_src_ == src) {
      tmpl = last_template_;
      return send_tcp_templated(segment, ecn, tmpl);
    }
    tx_template_ = &tmpl;
    send_tcp(segment, src, dst, ecn);
    tx_template_ = nullptr;
    if (template_valid(tmpl, v4)) {
      last_template_ = tmpl;
      last_template_src_ = src;
      last_template_dst_ = dst;
    }
  }
  void send_tcp4(rte_mbuf* segment, wire::Ipv4Addr src, wire::Ipv4Addr dst, wire::Ecn ecn);
  // `src` and `dst` are IPv6 addresses (not IPv4-mapped).
  void send_tcp6(rte_mbuf* segment, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn);

  const InterfaceSetup& setup() const { return setup_; }
  const ArpCache& arp_cache() const { return arp_; }
  uint16_t tcp_mss() const { return static_cast<uint16_t>(setup_.mtu - 40); }
  const NeighborCache& neighbor_cache() const { return nd_; }
  const wire::Ipv6Addr& link_local() const { return link_local_; }
  // One of our IPv6 unicast addresses that may be used (configured or link-local, not tentative
  // or found duplicate).
  bool is_local6(const wire::Ipv6Addr& a) const;
  // Configured or link-local, whatever its DAD state.
  bool is_configured6(const wire::Ipv6Addr& a) const;
  // A multicast group this interface has joined (all-nodes, a solicited-node group of ours).
  bool is_joined_group(const wire::Ipv6Addr& a) const;
  // Either family.
  bool is_local(const wire::IpAddr& a) const { return a.is_v4() ? is_local(a.v4()) : is_local6(a.v6()); }
  // The default router in use: gateway6, or the last one a router advertisement named.
  std::optional<wire::Ipv6Addr> default_router6() const;
  AddressState address_state(const wire::Ipv6Addr& a) const;
  // One of our addresses (the range address .. address+address_count-1).
  bool is_local(wire::Ipv4Addr a) const {
    return !setup_.address.is_unspecified() && a.value - setup_.address.value < setup_.address_count;
  }

 private:
  void arp_input(rte_mbuf* frame, size_t offset, TimePoint now);
  void ipv4_input(rte_mbuf* frame, size_t offset, bool link_broadcast, TimePoint now);
  void icmp_input(rte_mbuf* frame, size_t ip_offset, size_t icmp_offset, size_t icmp_len, TimePoint now);
  void icmp_error_input(rte_mbuf* frame, uint8_t type, uint8_t code, uint16_t next_hop_mtu,
                        std::span<const std::byte> quote, TimePoint now);
  void tcp_input(rte_mbuf* frame, size_t tcp_offset, size_t tcp_len,
                 wire::Ipv4Addr src, wire::Ipv4Addr dst, wire::Ecn ecn, TimePoint now);
  void send_protocol_unreachable(rte_mbuf* frame, size_t ip_offset, size_t ip_len);
  // Returns false (counted as drop_no_mbuf) when no mbuf was available.
  bool send_arp(wire::ArpOp op, wire::MacAddr eth_dst, wire::MacAddr target_mac, wire::Ipv4Addr target_ip);
  void send_arp_request(wire::MacAddr eth_dst, wire::Ipv4Addr target_ip);
  // The epoch a transmit header template must have been built under: the ARP cache's, or the
  // neighbour cache's plus the router advertisements' (both only grow, so their sum changes
  // whenever either does).
  uint32_t tx_generation(bool v4) const { return v4 ? arp_.generation() : nd_.generation() + route6_generation_; }
  // Built under the current epoch and before its entry's deadline.
  bool template_valid(const wire::TxHeaderTemplate& t, bool v4) const {
    return t.generation == tx_generation(v4) && now_ < t.expiry;
  }
  void send_tcp_templated(rte_mbuf* segment, wire::Ecn ecn, const wire::TxHeaderTemplate& tmpl);
  // Build *tx_template_ from `packet` (starting at its IP header) for the REACHABLE entry of
  // `next_hop`; nothing when there is no such entry (probing, STALE, DELAY: the slow path's
  // verdicts must run for every packet).
  void fill_tx_template4(const rte_mbuf* packet, wire::Ipv4Addr next_hop, wire::MacAddr mac);
  void fill_tx_template6(const rte_mbuf* packet, const wire::Ipv6Addr& next_hop, wire::MacAddr mac);
  // `packet` starts at the IPv4 header. Routes, resolves and transmits.
  void ip_output(rte_mbuf* packet, wire::Ipv4Addr dst);
  void transmit_to(rte_mbuf* packet, wire::MacAddr dst_mac, wire::EtherType type = wire::EtherType::ipv4);

  // IPv6 (ipv6.cpp).
  void ipv6_input(rte_mbuf* frame, size_t offset, TimePoint now);
  void tcp6_input(rte_mbuf* frame, size_t tcp_offset, size_t tcp_len, const wire::Ipv6Addr& src,
                  const wire::Ipv6Addr& dst, wire::Ecn ecn, TimePoint now);
  void icmpv6_input(rte_mbuf* frame, size_t ip_offset, size_t icmp_offset, size_t icmp_len, TimePoint now);
  void icmpv6_error_input(rte_mbuf* frame, const wire::Icmpv6View& icmp, TimePoint now);
  void neighbor_solicitation_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                   TimePoint now);
  void neighbor_advertisement_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                    TimePoint now);
  void router_advertisement_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                  TimePoint now);
  // An ICMPv6 error about the packet in `frame` at ip_offset (RFC 4443 §2.4), to its source,
  // rate-limited with the ICMP errors. Frees `frame`.
  void send_icmpv6_error(rte_mbuf* frame, size_t ip_offset, size_t ip_len, uint8_t type, uint8_t code,
                         uint32_t rest);
  // `packet` starts at the IPv6 header. Routes (on-link prefixes, else the default router),
  // resolves through neighbour discovery and transmits.
  void ip6_output(rte_mbuf* packet, const wire::Ipv6Addr& dst);
  // Allocates an mbuf with an IPv6 header (src, dst, next header ICMPv6, hop_limit) and
  // `icmp_len` bytes after it for the caller to fill; nullptr (counted) without an mbuf.
  rte_mbuf* new_icmpv6_packet(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, size_t icmp_len,
                              uint8_t hop_limit, std::byte*& icmp_out);
  void send_neighbor_solicitation(const wire::Ipv6Addr& target, const wire::MacAddr* unicast,
                                  const wire::Ipv6Addr* source_hint);
  void send_neighbor_advertisement(const wire::Ipv6Addr& target, const wire::Ipv6Addr& dst, wire::MacAddr dst_mac,
                                   bool solicited);
  void send_router_solicitation();
  // The source for a packet to `dst` (RFC 6724 in brief: link-local for link-local and
  // multicast peers, the primary configured address otherwise).
  wire::Ipv6Addr source_for(const wire::Ipv6Addr& dst) const;
  bool on_link6(const wire::Ipv6Addr& a) const;
  void advance_ipv6(TimePoint now);
  void advance_dad(TimePoint now);
  bool nd_valid(wire::NdInvalid invalid, rte_mbuf* frame);
  // `target` (one of ours, tentative) is in use by another node: no longer usable; told to the
  // hook. False when no tentative DAD entry is `target`.
  bool mark_duplicate(const wire::Ipv6Addr& target);
  void dad_concluded();  // recomputes dad_settled_
  void apply_router_info(const RouterInfo& info, TimePoint now);
  void cache_neighbor(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint now);
  bool on_link(wire::Ipv4Addr a) const;
  bool icmp_error_allowed();
  // The segment's checksum was left to a device that never computes it (rx_trust_tx_checksum).
  // A TSO super-segment so passed is marked as LRO marks a coalesced frame (RTE_MBUF_F_RX_LRO).
  bool tcp_checksum_passed_through(rte_mbuf* frame);
  void drop(rte_mbuf* m, uint64_t& counter);
  // A frame that is not well formed: counted like drop(), and said why at debug level
  // (--log-level=dtcp.ip:debug, or dtcp.arp / dtcp.tcp), rate limited.
  void drop_malformed(rte_mbuf* m, uint64_t& counter, log::Subsystem subsystem, const char* why);
  // A bare SYN while TCP sheds them (syn_shedding_), found by a peek at the IP and TCP headers
  // before any checksum or parse: reported to TCP and freed. False for anything else.
  bool shed_bare_syn(rte_mbuf* frame, uint16_t ether_type);

  InterfaceSetup setup_;
  FrameSink& sink_;
  NetCounters& counters_;
  ArpCache arp_;
  TcpReceiver* tcp_ = nullptr;
  const bool* syn_shedding_ = nullptr;  // tcp_->syn_shedding_flag()
  ArpLearnedHook arp_learned_ = nullptr;
  void* arp_learned_ctx_ = nullptr;
  uint32_t netmask_;
  // Our subnet's broadcast address, a source RFC 1122 §3.2.1.3 discards; 0 (unspecified, which
  // it discards anyway) on a /31 or /32, which has none (RFC 3021).
  uint32_t subnet_broadcast_;
  uint16_t next_ip_id_ = 1;
  // The template send_tcp() is building through the slow path (nullptr otherwise): ip_output()
  // and ip6_output() fill it when their lookup says send to a REACHABLE entry.
  wire::TxHeaderTemplate* tx_template_ = nullptr;
  // The last template the slow path built, and for which addresses (send_tcp() copies it).
  wire::TxHeaderTemplate last_template_;
  wire::IpAddr last_template_src_, last_template_dst_;
  uint32_t route6_generation_ = 0;  // bumped by every router advertisement applied
  // IPv6.
  wire::Ipv6Addr link_local_;
  NeighborCache nd_;
  NeighborLearnedHook neighbor_learned_ = nullptr;
  void* neighbor_learned_ctx_ = nullptr;
  AddressStateHook address_state_hook_ = nullptr;
  void* address_state_ctx_ = nullptr;
  RouterLearnedHook router_learned_ = nullptr;
  void* router_learned_ctx_ = nullptr;
  // Duplicate address detection: one entry per address probed (the link-local first, then the
  // first address of each configured range, whose state the rest of its range shares).
  struct DadEntry {
    wire::Ipv6Addr address;
    AddressState state = AddressState::preferred;
    uint8_t probes_sent = 0;
    TimePoint next{};
  };
  std::vector<DadEntry> dad_;
  bool dad_settled_ = true;  // every address in dad_ preferred: is_local6() skips the lookup
  // Router advertisements (accept_router_advertisements): the default router and the on-link
  // prefixes they announced, with their expiry (RFC 4861 §6.3.4).
  struct LearnedPrefix {
    wire::Ipv6Addr prefix;
    uint8_t length = 0;
    TimePoint expiry{};
  };
  std::optional<wire::Ipv6Addr> ra_router_;
  TimePoint ra_router_expiry_{};
  std::array<LearnedPrefix, 4> ra_prefixes_{};
  uint8_t hop_limit_ = 64;
  TimePoint now_;
  // ICMP error token bucket: 1000 per second, bursts of 50 (Linux's icmp_msgs_per_sec/burst).
  double icmp_tokens_ = 50;
  TimePoint icmp_refill_{};
};

}  // namespace dtcp::stack
