// One IPv4 interface as seen by one lcore: Ethernet demux, ARP, IPv4 validation, ICMP, and the
// IPv4 output path that TCP sends through. Owned and used by a single lcore; no locks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/time.hpp"
#include "dtcp/config.hpp"
#include "stack/arp_cache.hpp"
#include "stack/counters.hpp"
#include "wire/addr.hpp"
#include "wire/arp.hpp"
#include "wire/ecn.hpp"
#include "wire/icmp.hpp"

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
};

struct InterfaceSetup {
  wire::MacAddr mac;
  wire::Ipv4Addr address;
  uint32_t address_count = 1;  // address .. address+address_count-1 are ours
  uint8_t prefix_len = 24;
  std::optional<wire::Ipv4Addr> gateway;
  uint16_t mtu = 1500;
  bool tx_ip_checksum_offload = false;
  bool tx_tcp_checksum_offload = false;
  ArpConfig arp;
  rte_mempool* pool = nullptr;
};

class Interface {
 public:
  Interface(const InterfaceSetup& setup, FrameSink& sink, NetCounters& counters, TimePoint now);
  ~Interface();
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  void attach_tcp(TcpReceiver* tcp) { tcp_ = tcp; }

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

  // One received frame; the interface owns it afterwards.
  void input(rte_mbuf* frame, TimePoint now);
  // ARP retries and expiry; call once per loop iteration.
  void advance(TimePoint now);
  // Announces our address (RFC 5227 2.3 announcement).
  void send_gratuitous_arp();

  // TCP output: `segment` starts at the TCP header with its checksum field zero and
  // segment->l4_len set. Prepends IPv4 (DSCP 0, `ecn` in the ECN field) and Ethernet, fills
  // checksums (offload or software), resolves the next hop and transmits. Takes ownership.
  // The family of `src` and `dst` (always the same) picks the IPv4 or IPv6 output.
  void send_tcp(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn = wire::Ecn::not_ect) {
    if (src.is_v4()) return send_tcp4(segment, src.v4(), dst.v4(), ecn);
    send_tcp6(segment, src.v6(), dst.v6(), ecn);
  }
  void send_tcp4(rte_mbuf* segment, wire::Ipv4Addr src, wire::Ipv4Addr dst, wire::Ecn ecn);
  void send_tcp6(rte_mbuf* segment, const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, wire::Ecn ecn);

  const InterfaceSetup& setup() const { return setup_; }
  const ArpCache& arp_cache() const { return arp_; }
  uint16_t tcp_mss() const { return static_cast<uint16_t>(setup_.mtu - 40); }
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
  // `packet` starts at the IPv4 header. Routes, resolves and transmits.
  void ip_output(rte_mbuf* packet, wire::Ipv4Addr dst);
  void transmit_to(rte_mbuf* packet, wire::MacAddr dst_mac);
  bool on_link(wire::Ipv4Addr a) const;
  bool icmp_error_allowed();
  void drop(rte_mbuf* m, uint64_t& counter);

  InterfaceSetup setup_;
  FrameSink& sink_;
  NetCounters& counters_;
  ArpCache arp_;
  TcpReceiver* tcp_ = nullptr;
  ArpLearnedHook arp_learned_ = nullptr;
  void* arp_learned_ctx_ = nullptr;
  uint32_t netmask_;
  uint16_t next_ip_id_ = 1;
  TimePoint now_;
  // ICMP error token bucket: 1000 per second, bursts of 50 (Linux's icmp_msgs_per_sec/burst).
  double icmp_tokens_ = 50;
  TimePoint icmp_refill_{};
};

}  // namespace dtcp::stack
