#include "stack/interface.hpp"

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "wire/arp.hpp"
#include "wire/bytes.hpp"
#include "base/mbuf_trim.hpp"
#include "stack/mbuf_checksum.hpp"
#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"
#include "wire/tcp.hpp"

namespace dtcp::stack {
namespace {

std::span<const std::byte> frame_bytes(const rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, const std::byte*), m->data_len};
}

std::span<std::byte> frame_bytes_mut(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, std::byte*), m->data_len};
}

// RFC 792: an ICMP error quotes the offending header and at least 8 bytes of its data; like
// Linux we quote as much as keeps the error within the 576-byte minimum datagram.
constexpr size_t kIcmpErrorMaxQuote = 576 - wire::kIpv4MinHeaderLen - wire::kIcmpHeaderLen;

}  // namespace

Interface::Interface(const InterfaceSetup& setup, FrameSink& sink, NetCounters& counters, TimePoint now)
    : setup_(setup),
      sink_(sink),
      counters_(counters),
      arp_(setup.arp),
      netmask_(setup.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - setup.prefix_len)),
      subnet_broadcast_(setup.prefix_len < 31 ? (setup.address.value & netmask_) | ~netmask_ : 0),
      link_local_(wire::Ipv6Addr::link_local_from_mac(setup.mac)),
      nd_(setup.nd),
      now_(now),
      icmp_refill_(now) {}

Interface::~Interface() {
  arp_.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
  nd_.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
}

void Interface::drop(rte_mbuf* m, uint64_t& counter) {
  counter++;
  rte_pktmbuf_free(m);
}

void Interface::drop_malformed(rte_mbuf* m, uint64_t& counter, log::Subsystem subsystem, const char* why) {
  constexpr auto level = log::Level::debug;
  if (log::enabled(subsystem, level) && log::admit(subsystem, level, now_)) [[unlikely]] {
    // The sender's MAC, when the frame is long enough to have one, says where to look.
    const auto bytes = frame_bytes(m);
    const auto eth = wire::EthernetView::parse(bytes);
    write_log(subsystem, level, "dtcp: %s: dropped a %u-byte frame from %s: %s\n",
              log::short_name(subsystem), m->pkt_len, eth ? eth->src().to_string().c_str() : "?", why);
  }
  drop(m, counter);
}

bool Interface::on_link(wire::Ipv4Addr a) const {
  return (a.value & netmask_) == (setup_.address.value & netmask_);
}

void Interface::input(rte_mbuf* frame, TimePoint now) {
  now_ = now;
  counters_.rx_frames++;
  counters_.rx_bytes += frame->pkt_len;
  if (frame->next != nullptr) {
    // Scattered rx, LRO or rte_gro. A chain that fits in its first buffer is made contiguous
    // (a copy of a small frame); a longer one goes on as a chain, which only the TCP path takes,
    // with its Ethernet, IP and TCP headers in the first mbuf (as LRO and rte_gro leave them).
    if (rte_pktmbuf_linearize(frame) == 0) {
      counters_.rx_chained_linearized++;
    } else {
      counters_.rx_chained++;
    }
  }

  const auto eth = wire::EthernetView::parse(frame_bytes(frame));
  if (!eth) return drop_malformed(frame, counters_.drop_eth_truncated, log::Subsystem::ip, "shorter than an Ethernet header");
  const wire::MacAddr dst = eth->dst();
  // IPv6 multicast (33:33:..., RFC 2464 §7) is taken here; the IPv6 layer keeps the groups joined.
  const bool ipv6_multicast = dst.bytes[0] == 0x33 && dst.bytes[1] == 0x33 &&
                              eth->ether_type() == static_cast<uint16_t>(wire::EtherType::ipv6);
  if (dst != setup_.mac && !dst.is_broadcast() && !ipv6_multicast) {
    return drop(frame, dst.is_multicast() ? counters_.drop_eth_multicast : counters_.drop_eth_not_for_us);
  }

  if (syn_shedding_ != nullptr && *syn_shedding_ && shed_bare_syn(frame, eth->ether_type())) return;
  switch (eth->ether_type()) {
    case static_cast<uint16_t>(wire::EtherType::ipv6):
      // IPv6 runs on a port only when it has an IPv6 address: an IPv4-only port stays as silent
      // on IPv6 as before (no link-local answers, no ND).
      if (setup_.addresses6.empty()) return drop(frame, counters_.drop_ip6_disabled);
      if (dst.is_broadcast()) return drop(frame, counters_.drop_eth_multicast);
      return ipv6_input(frame, wire::kEthernetHeaderLen, now);
    case static_cast<uint16_t>(wire::EtherType::ipv4):
      return ipv4_input(frame, wire::kEthernetHeaderLen, dst.is_broadcast(), now);
    case static_cast<uint16_t>(wire::EtherType::arp):
      return arp_input(frame, wire::kEthernetHeaderLen, now);
    case static_cast<uint16_t>(wire::EtherType::vlan):
      return drop(frame, counters_.drop_eth_vlan);
    default:
      return drop(frame, counters_.drop_eth_unsupported_type);
  }
}

// Admission past capacity (issue 15 part 4): while TCP sheds bare SYNs (its syn_budget for this
// loop iteration used up while behind), one costs no more here than the peek that finds it.
// Checked after the IP and TCP checksums and the header parse, a shed SYN still cost the
// checksum of the whole frame and two parses: dperf at 3x one lcore's rate (1.2M new SYNs/s,
// 2.2M retransmitted) overflowed the receive ring even so. The peek reads the fields of the
// first mbuf that say "TCP, first fragment, SYN without ACK or RST"; anything else (IPv4 options
// are fine, IPv6 extension headers are not looked behind, a short frame) takes the full path. A
// frame that is not well formed or not for one of our addresses may be counted as shed where
// the full path would have counted it otherwise: it is dropped either way.
bool Interface::shed_bare_syn(rte_mbuf* frame, uint16_t ether_type) {
  if (frame->data_len < wire::kEthernetHeaderLen) return false;
  const std::byte* ip = rte_pktmbuf_mtod(frame, const std::byte*) + wire::kEthernetHeaderLen;
  const size_t available = frame->data_len - wire::kEthernetHeaderLen;
  const auto byte_at = [ip](size_t i) { return std::to_integer<uint8_t>(ip[i]); };
  size_t tcp_offset = 0;
  if (ether_type == static_cast<uint16_t>(wire::EtherType::ipv4)) {
    // RFC 791 §3.1: version and IHL, protocol, and the fragment offset with MF (a later
    // fragment holds no TCP header; a first one does, but reassembly is not ours to skip).
    if (available < wire::kIpv4MinHeaderLen || (byte_at(0) >> 4) != 4) return false;
    tcp_offset = size_t{byte_at(0) & 0x0fu} * 4;
    if (tcp_offset < wire::kIpv4MinHeaderLen || byte_at(9) != 6 || (wire::load_be16(ip + 6) & 0x3fff) != 0) return false;
  } else if (ether_type == static_cast<uint16_t>(wire::EtherType::ipv6)) {
    // RFC 8200 §3: version, and TCP as the first Next Header.
    if (available < wire::kIpv6HeaderLen || (byte_at(0) >> 4) != 6 || byte_at(6) != 6) return false;
    tcp_offset = wire::kIpv6HeaderLen;
  } else {
    return false;
  }
  if (available < tcp_offset + wire::kTcpMinHeaderLen) return false;
  const auto flags = static_cast<wire::TcpFlags>(byte_at(tcp_offset + 13));  // RFC 9293 §3.1
  if ((flags & (wire::TcpFlags::syn | wire::TcpFlags::ack | wire::TcpFlags::rst)) != wire::TcpFlags::syn) return false;
  tcp_->syn_shed();
  rte_pktmbuf_free(frame);
  return true;
}

void Interface::arp_input(rte_mbuf* frame, size_t offset, TimePoint now) {
  counters_.rx_arp++;
  const auto arp = wire::parse_arp(frame_bytes(frame).subspan(offset));
  if (!arp) return drop_malformed(frame, counters_.drop_arp_malformed, log::Subsystem::arp, "malformed ARP packet");

  const bool for_us = is_local(arp->target_ip);
  // RFC 826 merge: refresh a sender we already know; learn it when the packet is for us.
  // A sender of 0.0.0.0 is an RFC 5227 probe and teaches nothing.
  if (!arp->sender_ip.is_unspecified() && !is_local(arp->sender_ip)) {
    const bool created = arp_.update(arp->sender_ip, arp->sender_mac, for_us, now,
                                     [this](rte_mbuf* m, wire::MacAddr mac) { transmit_to(m, mac); });
    counters_.arp_entries_added += created;
    if (for_us && arp_learned_ != nullptr) arp_learned_(arp_learned_ctx_, arp->sender_ip, arp->sender_mac);
  }
  if (!for_us) return drop(frame, counters_.drop_arp_not_for_us);

  if (arp->op == wire::ArpOp::reply) {
    counters_.rx_arp_reply++;
    rte_pktmbuf_free(frame);
    return;
  }
  counters_.rx_arp_request++;
  // Answer in place: the request mbuf becomes the reply, for whichever of our addresses was asked.
  const wire::ArpRepr reply{
      .op = wire::ArpOp::reply,
      .sender_mac = setup_.mac,
      .sender_ip = arp->target_ip,
      .target_mac = arp->sender_mac,
      .target_ip = arp->sender_ip,
  };
  auto bytes = frame_bytes_mut(frame);
  wire::write_ethernet(bytes, arp->sender_mac, setup_.mac, static_cast<uint16_t>(wire::EtherType::arp));
  wire::write_arp(bytes.subspan(offset), reply);
  rte_pktmbuf_trim(frame, static_cast<uint16_t>(frame->pkt_len - (offset + wire::kArpLen)));
  frame->ol_flags = 0;
  counters_.tx_arp_reply++;
  counters_.tx_frames++;
  counters_.tx_bytes += frame->pkt_len;
  sink_.transmit(frame);
}

void Interface::learn(wire::Ipv4Addr ip, wire::MacAddr mac, TimePoint now) {
  now_ = now;
  if (ip.is_unspecified() || ip == setup_.address) return;
  const bool created =
      arp_.update(ip, mac, true, now, [this](rte_mbuf* m, wire::MacAddr resolved) { transmit_to(m, resolved); });
  counters_.arp_entries_added += created;
  counters_.arp_entries_from_peers++;
}

void Interface::ipv4_input(rte_mbuf* frame, size_t offset, bool link_broadcast, TimePoint now) {
  const uint64_t ip_flags = frame->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
    return drop_malformed(frame, counters_.drop_ip_bad_checksum, log::Subsystem::ip, "IPv4 header checksum bad (NIC)");
  }
  const bool verify = ip_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  const auto ip = wire::Ipv4View::parse_prefix(frame_bytes(frame).subspan(offset), frame->pkt_len - offset, verify);
  if (!ip) {
    switch (ip.error()) {
      case wire::ParseError::bad_version:
        return drop_malformed(frame, counters_.drop_ip_bad_version, log::Subsystem::ip, "IPv4 version not 4");
      case wire::ParseError::bad_header_length:
        return drop_malformed(frame, counters_.drop_ip_bad_header_length, log::Subsystem::ip,
                              "IPv4 header length below 20 bytes");
      case wire::ParseError::bad_total_length:
        return drop_malformed(frame, counters_.drop_ip_bad_total_length, log::Subsystem::ip,
                              "IPv4 total length shorter than its header");
      case wire::ParseError::bad_checksum:
        return drop_malformed(frame, counters_.drop_ip_bad_checksum, log::Subsystem::ip, "IPv4 header checksum bad");
      default: {
        // The parser says `truncated` both for a frame shorter than its header and for a total
        // length beyond the frame; only the first is truncation.
        const auto bytes = frame_bytes(frame).subspan(offset);
        const size_t header_len = bytes.empty() ? 0 : (std::to_integer<size_t>(bytes[0]) & 0xf) * 4;
        const bool header_fits = bytes.size() >= wire::kIpv4MinHeaderLen && header_len <= bytes.size();
        if (header_fits) {
          return drop_malformed(frame, counters_.drop_ip_bad_total_length, log::Subsystem::ip,
                                "IPv4 total length beyond the frame");
        }
        return drop_malformed(frame, counters_.drop_ip_truncated, log::Subsystem::ip, "IPv4 header truncated");
      }
    }
  }
  counters_.rx_ipv4++;
  if (!ip->options().empty()) counters_.rx_ip_options++;
  if (ip->ttl() == 0) counters_.rx_ip_ttl_zero++;
  if (ip->is_fragment()) return drop(frame, counters_.drop_ip_fragment);
  if (!is_local(ip->dst())) return drop(frame, counters_.drop_ip_not_for_us);
  // RFC 1122 3.2.1.3: a source that is unspecified, loopback, multicast, broadcast (limited or
  // our subnet's), or our own address is discarded. Off-link subnets are unknown to us, so their
  // broadcast addresses cannot be told from hosts.
  const wire::Ipv4Addr src = ip->src();
  if (src.is_unspecified() || src.is_loopback() || src.is_multicast() || src.is_broadcast() ||
      src.value == subnet_broadcast_ || is_local(src)) {
    return drop(frame, counters_.drop_ip_bad_source);
  }

  const size_t l4_offset = offset + ip->header_len();
  const size_t l4_len = ip->total_length() - ip->header_len();
  if (frame->next != nullptr && ip->protocol() != static_cast<uint8_t>(wire::IpProtocol::tcp)) {
    return drop(frame, counters_.drop_rx_chained);
  }
  switch (ip->protocol()) {
    case static_cast<uint8_t>(wire::IpProtocol::icmp):
      return icmp_input(frame, offset, l4_offset, l4_len, now);
    case static_cast<uint8_t>(wire::IpProtocol::tcp):
      return tcp_input(frame, l4_offset, l4_len, src, ip->dst(), ip->ecn(), now);
    default:
      // RFC 1122 3.2.2: no ICMP error for a datagram sent as a link-layer broadcast.
      if (link_broadcast) return drop(frame, counters_.drop_ip_unknown_protocol);
      return send_protocol_unreachable(frame, offset, ip->total_length());
  }
}

void Interface::tcp_input(rte_mbuf* frame, size_t tcp_offset, size_t tcp_len, wire::Ipv4Addr src,
                          wire::Ipv4Addr dst, wire::Ecn ecn, TimePoint now) {
  if (tcp_len < 20) return drop_malformed(frame, counters_.drop_tcp_malformed, log::Subsystem::tcp, "TCP segment below 20 bytes");
  const uint64_t l4_flags = frame->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
    return drop_malformed(frame, counters_.drop_tcp_bad_checksum, log::Subsystem::tcp, "TCP checksum bad (NIC)");
  }
  mbuf_chain_trim_to(frame, static_cast<uint32_t>(tcp_offset + tcp_len));  // Ethernet padding off
  if (l4_flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !tcp_checksum_passed_through(frame)) {
    const uint32_t sum = wire::pseudo_header_sum(src, dst, static_cast<uint8_t>(wire::IpProtocol::tcp),
                                                 static_cast<uint16_t>(tcp_len));
    if (!mbuf_l4_checksum_ok(frame, static_cast<uint32_t>(tcp_offset), static_cast<uint32_t>(tcp_len), sum)) {
      return drop_malformed(frame, counters_.drop_tcp_bad_checksum, log::Subsystem::tcp, "TCP checksum bad");
    }
  }
  if (tcp_ == nullptr) return drop(frame, counters_.drop_tcp_no_stack);
  counters_.rx_tcp++;
  rte_pktmbuf_adj(frame, static_cast<uint16_t>(tcp_offset));
  tcp_->tcp_input(frame, src, dst, ecn, now);
}

void Interface::icmp_input(rte_mbuf* frame, size_t ip_offset, size_t icmp_offset, size_t icmp_len, TimePoint now) {
  counters_.rx_icmp++;
  auto bytes = frame_bytes_mut(frame);
  const auto icmp = wire::IcmpView::parse(bytes.subspan(icmp_offset, icmp_len), true);
  if (!icmp) {
    return drop(frame, icmp.error() == wire::ParseError::bad_checksum ? counters_.drop_icmp_bad_checksum
                                                                       : counters_.drop_icmp_malformed);
  }
  if (icmp->type() == static_cast<uint8_t>(wire::IcmpType::dest_unreachable) ||
      icmp->type() == static_cast<uint8_t>(wire::IcmpType::time_exceeded)) {
    return icmp_error_input(frame, icmp->type(), icmp->code(), icmp->next_hop_mtu(), icmp->payload(), now);
  }
  if (icmp->type() != static_cast<uint8_t>(wire::IcmpType::echo_request) || icmp->code() != 0) {
    counters_.rx_icmp_other++;
    rte_pktmbuf_free(frame);
    return;
  }
  counters_.rx_icmp_echo_request++;
  // Reply in place (RFC 792: the reply carries the request's identifier, sequence and data).
  const auto request_ip = wire::Ipv4View::parse(bytes.subspan(ip_offset), false);
  const wire::Ipv4Addr peer = request_ip->src();
  const wire::Ipv4Addr self = request_ip->dst();  // the reply comes from the address pinged
  const size_t header_len = icmp_offset - ip_offset;
  std::byte* ip_start = bytes.data() + ip_offset;
  // The request may carry IP options; the reply has none, so the ICMP part moves up.
  if (header_len != wire::kIpv4MinHeaderLen) std::memmove(ip_start + wire::kIpv4MinHeaderLen, ip_start + header_len, icmp_len);
  rte_pktmbuf_adj(frame, static_cast<uint16_t>(ip_offset));
  rte_pktmbuf_trim(frame, static_cast<uint16_t>(frame->pkt_len - (wire::kIpv4MinHeaderLen + icmp_len)));
  std::byte* base = rte_pktmbuf_mtod(frame, std::byte*);
  std::byte* icmp_bytes = base + wire::kIpv4MinHeaderLen;
  icmp_bytes[0] = std::byte{static_cast<uint8_t>(wire::IcmpType::echo_reply)};
  wire::store_be16(icmp_bytes + 2, 0);
  wire::store_be16(icmp_bytes + 2, wire::internet_checksum({icmp_bytes, icmp_len}));
  wire::write_ipv4({base, wire::kIpv4MinHeaderLen},
                   wire::Ipv4Header{.src = self,
                                    .dst = peer,
                                    .protocol = static_cast<uint8_t>(wire::IpProtocol::icmp),
                                    .ttl = 64,
                                    .identification = next_ip_id_++,
                                    .dont_fragment = false,
                                    .payload_len = static_cast<uint16_t>(icmp_len)});
  frame->ol_flags = 0;
  counters_.tx_icmp_echo_reply++;
  ip_output(frame, peer);
}

// RFC 1122 3.2.2.1 / 4.2.3.9: a destination-unreachable or time-exceeded message goes to the
// transport protocol that sent the datagram it quotes. The checks here are the ones that need no
// connection: the quote is a well-formed IPv4 header with 8 bytes after it, it was sent from one
// of our addresses (RFC 5927 §4.1: anything else cannot be about us) and it is not a later
// fragment (whose 8 bytes would not be a TCP header; dtcp never fragments). TCP then checks the
// quoted sequence number against its connection (RFC 5927 §4.1, §7).
void Interface::icmp_error_input(rte_mbuf* frame, uint8_t type, uint8_t code, uint16_t next_hop_mtu,
                                 std::span<const std::byte> quote_bytes, TimePoint now) {
  counters_.rx_icmp_error++;
  const auto quote = wire::parse_icmp_quote(quote_bytes);
  if (!quote) return drop(frame, counters_.drop_icmp_quote_malformed);
  if (!is_local(quote->src) || quote->fragment_offset_bytes != 0) {
    return drop(frame, counters_.drop_icmp_quote_not_ours);
  }
  if (quote->protocol != static_cast<uint8_t>(wire::IpProtocol::tcp)) {
    counters_.rx_icmp_error_other_protocol++;
    rte_pktmbuf_free(frame);
    return;
  }
  if (tcp_ == nullptr) return drop(frame, counters_.drop_tcp_no_stack);
  const std::byte* tcp = quote->transport.data();
  const wire::IcmpErrorKind kind = wire::icmp_error_kind(type, code);
  const wire::IcmpTcpError error{
      .kind = kind,
      .type = type,
      .code = code,
      .quoted_length = quote->total_length,
      .next_hop_mtu = kind == wire::IcmpErrorKind::packet_too_big ? next_hop_mtu : uint16_t{0},
      .local = quote->src,
      .remote = quote->dst,
      .local_port = wire::load_be16(tcp),
      .remote_port = wire::load_be16(tcp + 2),
      .seq = wire::load_be32(tcp + 4),
  };
  rte_pktmbuf_free(frame);  // `quote_bytes` pointed into it: nothing below reads them
  counters_.rx_icmp_tcp_error++;
  tcp_->icmp_error(error, now);
}

bool Interface::tcp_checksum_passed_through(rte_mbuf* frame) {
  if (!setup_.rx_trust_tx_checksum || (frame->ol_flags & RTE_MBUF_F_TX_L4_MASK) != RTE_MBUF_F_TX_TCP_CKSUM) return false;
  counters_.rx_tcp_checksum_passed++;
  if ((frame->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 && frame->tso_segsz != 0) {
    // A TSO super-segment from the net_ring peer, which nothing cut: taken whole, as a frame
    // LRO coalesced out of segments of tso_segsz bytes (TCP counts them; see shard input).
    frame->ol_flags |= RTE_MBUF_F_RX_LRO;
    counters_.rx_tso_passed++;
  }
  return true;
}

bool Interface::icmp_error_allowed() {
  const double elapsed_s = std::chrono::duration<double>(now_ - icmp_refill_).count();
  icmp_refill_ = now_;
  icmp_tokens_ = std::min(50.0, icmp_tokens_ + elapsed_s * 1000.0);
  if (icmp_tokens_ < 1.0) return false;
  icmp_tokens_ -= 1.0;
  return true;
}

void Interface::send_protocol_unreachable(rte_mbuf* frame, size_t ip_offset, size_t ip_len) {
  // RFC 1122 3.2.2: never in answer to a broadcast; ipv4_input checked the addresses.
  if (!icmp_error_allowed()) return drop(frame, counters_.drop_icmp_rate_limited);
  rte_mbuf* reply = rte_pktmbuf_alloc(setup_.pool);
  if (reply == nullptr) return drop(frame, counters_.drop_no_mbuf);
  const auto original = frame_bytes(frame).subspan(ip_offset, ip_len);
  const auto ip = wire::Ipv4View::parse(original, false);
  const size_t quote = std::min(original.size(), kIcmpErrorMaxQuote);
  const size_t icmp_len = wire::kIcmpHeaderLen + quote;
  auto* out = reinterpret_cast<std::byte*>(
      rte_pktmbuf_append(reply, static_cast<uint16_t>(wire::kIpv4MinHeaderLen + icmp_len)));
  if (out == nullptr) {
    rte_pktmbuf_free(reply);
    return drop(frame, counters_.drop_no_mbuf);
  }
  // Type 3 code 2: protocol unreachable (RFC 792).
  wire::write_icmp({out + wire::kIpv4MinHeaderLen, icmp_len},
                   static_cast<uint8_t>(wire::IcmpType::dest_unreachable), 2, 0, original.first(quote));
  wire::write_ipv4({out, wire::kIpv4MinHeaderLen},
                   wire::Ipv4Header{.src = ip->dst(),  // the address the datagram was sent to
                                    .dst = ip->src(),
                                    .protocol = static_cast<uint8_t>(wire::IpProtocol::icmp),
                                    .ttl = 64,
                                    .identification = next_ip_id_++,
                                    .dont_fragment = false,
                                    .payload_len = static_cast<uint16_t>(icmp_len)});
  const wire::Ipv4Addr dst = ip->src();
  rte_pktmbuf_free(frame);
  counters_.tx_icmp_unreachable++;
  ip_output(reply, dst);
}

void Interface::send_tcp4(rte_mbuf* segment, wire::Ipv4Addr src, wire::Ipv4Addr dst, wire::Ecn ecn) {
  const uint16_t tcp_len = static_cast<uint16_t>(segment->pkt_len);
  auto* ip = reinterpret_cast<std::byte*>(rte_pktmbuf_prepend(segment, wire::kIpv4MinHeaderLen));
  if (ip == nullptr) return drop(segment, counters_.drop_no_mbuf);
  wire::write_ipv4({ip, wire::kIpv4MinHeaderLen},
                   wire::Ipv4Header{.src = src,
                                    .dst = dst,
                                    .protocol = static_cast<uint8_t>(wire::IpProtocol::tcp),
                                    .ttl = 64,
                                    .identification = next_ip_id_++,
                                    .dont_fragment = true,
                                    .dscp_ecn = wire::with_ecn(0, ecn),
                                    .payload_len = tcp_len},
                   !setup_.tx_ip_checksum_offload);
  auto* ip_hdr = reinterpret_cast<rte_ipv4_hdr*>(ip);
  auto* tcp_checksum = reinterpret_cast<uint16_t*>(ip + wire::kIpv4MinHeaderLen + 16);
  segment->l2_len = wire::kEthernetHeaderLen;
  segment->l3_len = wire::kIpv4MinHeaderLen;
  if (setup_.tx_ip_checksum_offload) segment->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  // A TSO super-segment (TCP asked for it, and the port enables TSO only with both checksum
  // offloads): the device writes every segment's checksums; the TCP field holds the
  // pseudo-header sum without the length, which rte_ipv4_phdr_cksum() leaves out for TCP_SEG.
  if (segment->ol_flags & RTE_MBUF_F_TX_TCP_SEG) counters_.tx_tso++;
  if (setup_.tx_tcp_checksum_offload) {
    segment->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    *tcp_checksum = rte_ipv4_phdr_cksum(ip_hdr, segment->ol_flags);
  } else {
    *tcp_checksum = 0;
    const uint32_t sum = mbuf_checksum_accumulate(
        segment, wire::kIpv4MinHeaderLen,
        wire::pseudo_header_sum(src, dst, static_cast<uint8_t>(wire::IpProtocol::tcp), tcp_len));
    wire::store_be16(reinterpret_cast<std::byte*>(tcp_checksum), wire::checksum_fold(sum));
  }
  counters_.tx_tcp++;
  ip_output(segment, dst);
}

void Interface::ip_output(rte_mbuf* packet, wire::Ipv4Addr dst) {
  wire::Ipv4Addr next_hop = dst;
  if (!on_link(dst)) {
    if (!setup_.gateway) return drop(packet, counters_.drop_ip_no_route);
    next_hop = *setup_.gateway;
  }
  if (dst.is_broadcast()) return transmit_to(packet, wire::MacAddr::broadcast());

  wire::MacAddr mac;
  switch (arp_.lookup(next_hop, packet, now_, mac)) {
    case ArpCache::Verdict::send:
      if (tx_template_ != nullptr) [[unlikely]] fill_tx_template4(packet, next_hop, mac);
      return transmit_to(packet, mac);
    case ArpCache::Verdict::send_and_refresh:
      // RFC 1122 2.3.2.1: refresh by unicast to the cached address first.
      send_arp_request(mac, next_hop);
      return transmit_to(packet, mac);
    case ArpCache::Verdict::queued_and_request:
      counters_.arp_entries_added++;
      send_arp_request(wire::MacAddr::broadcast(), next_hop);
      return;
    case ArpCache::Verdict::queued:
      return;
    case ArpCache::Verdict::drop_full:
      return drop(packet, counters_.drop_arp_cache_full);
    case ArpCache::Verdict::drop_pending_full:
      return drop(packet, counters_.drop_arp_pending_full);
  }
}

void Interface::fill_tx_template4(const rte_mbuf* packet, wire::Ipv4Addr next_hop, wire::MacAddr mac) {
  const ArpCache::Entry* entry = arp_.find(next_hop);
  if (entry == nullptr || entry->state != ArpCache::State::reachable) return;
  wire::TxHeaderTemplate& t = *tx_template_;
  wire::write_ethernet({t.bytes.data(), wire::kEthernetHeaderLen}, mac, setup_.mac,
                       static_cast<uint16_t>(wire::EtherType::ipv4));
  std::byte* ip = t.bytes.data() + wire::kEthernetHeaderLen;
  std::memcpy(ip, rte_pktmbuf_mtod(packet, const std::byte*), wire::kIpv4MinHeaderLen);
  // What changes per packet is zero here: the ECN field (TOS), total length, identification and
  // checksum. The sum of the rest is the checksum's start.
  ip[1] = std::byte{0};
  wire::store_be16(ip + 2, 0);
  wire::store_be16(ip + 4, 0);
  wire::store_be16(ip + 10, 0);
  t.ip_sum = static_cast<uint16_t>(wire::checksum_accumulate({ip, wire::kIpv4MinHeaderLen}));
  const wire::Ipv4Addr src{wire::load_be32(ip + 12)};
  const wire::Ipv4Addr dst{wire::load_be32(ip + 16)};
  const uint32_t pseudo = wire::pseudo_header_sum(src, dst, static_cast<uint8_t>(wire::IpProtocol::tcp), 0);
  t.pseudo_sum = (pseudo & 0xffff) + (pseudo >> 16);
  t.l3_len = wire::kIpv4MinHeaderLen;
  t.expiry = entry->deadline;  // RFC 1122 2.3.2.1: the refresh is due then (the slow path sends it)
  t.generation = arp_.generation();
}

// One copy of the template's headers, the per-packet fields patched, then what send_tcp4() /
// send_tcp6() and transmit_to() do after writing their headers, in the same order and with the
// same counters: the bytes on the wire are the slow path's.
void Interface::send_tcp_templated(rte_mbuf* segment, wire::Ecn ecn, const wire::TxHeaderTemplate& tmpl) {
  const uint32_t tcp_len = segment->pkt_len;
  const bool v4 = tmpl.l3_len == wire::kIpv4MinHeaderLen;
  auto* frame = reinterpret_cast<std::byte*>(
      rte_pktmbuf_prepend(segment, static_cast<uint16_t>(wire::kEthernetHeaderLen + tmpl.l3_len)));
  if (frame == nullptr) return drop(segment, counters_.drop_no_mbuf);
  std::byte* ip = frame + wire::kEthernetHeaderLen;
  auto* tcp_checksum = reinterpret_cast<uint16_t*>(ip + tmpl.l3_len + 16);
  segment->l2_len = wire::kEthernetHeaderLen;
  segment->l3_len = tmpl.l3_len;
  const uint8_t tos = wire::with_ecn(0, ecn);
  uint64_t l3_flag;
  if (v4) {
    std::memcpy(frame, tmpl.bytes.data(), wire::kEthernetHeaderLen + wire::kIpv4MinHeaderLen);
    const auto total_len = static_cast<uint16_t>(wire::kIpv4MinHeaderLen + tcp_len);
    const uint16_t id = next_ip_id_++;
    ip[1] = std::byte{tos};
    wire::store_be16(ip + 2, total_len);
    wire::store_be16(ip + 4, id);
    if (setup_.tx_ip_checksum_offload) {
      segment->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else {
      wire::store_be16(ip + 10, wire::checksum_fold(uint32_t{tmpl.ip_sum} + tos + total_len + id));
    }
    l3_flag = RTE_MBUF_F_TX_IPV4;
  } else {
    std::memcpy(frame, tmpl.bytes.data(), wire::kEthernetHeaderLen + wire::kIpv6HeaderLen);
    wire::store_be32(ip, 6u << 28 | uint32_t{tos} << 20);  // RFC 8200 §3: traffic class = ECN only
    wire::store_be16(ip + 4, static_cast<uint16_t>(tcp_len));
    l3_flag = RTE_MBUF_F_TX_IPV6;
  }
  if (segment->ol_flags & RTE_MBUF_F_TX_TCP_SEG) counters_.tx_tso++;
  if (setup_.tx_tcp_checksum_offload) {
    segment->ol_flags |= l3_flag | RTE_MBUF_F_TX_TCP_CKSUM;
    *tcp_checksum = v4 ? rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), segment->ol_flags)
                       : rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), segment->ol_flags);
  } else {
    *tcp_checksum = 0;
    // The length is the IPv4 pseudo-header's 16-bit field, or IPv6's 32-bit one (RFC 8200 §8.1).
    const uint32_t sum = mbuf_checksum_accumulate(segment, wire::kEthernetHeaderLen + tmpl.l3_len,
                                                  tmpl.pseudo_sum + (tcp_len >> 16) + (tcp_len & 0xffff));
    wire::store_be16(reinterpret_cast<std::byte*>(tcp_checksum), wire::checksum_fold(sum));
  }
  counters_.tx_tcp++;
  if (!v4) counters_.tx_tcp6++;
  counters_.tx_frames++;
  counters_.tx_bytes += segment->pkt_len;
  sink_.transmit(segment);
}

void Interface::transmit_to(rte_mbuf* packet, wire::MacAddr dst_mac, wire::EtherType type) {
  auto* eth = reinterpret_cast<std::byte*>(rte_pktmbuf_prepend(packet, wire::kEthernetHeaderLen));
  if (eth == nullptr) return drop(packet, counters_.drop_no_mbuf);
  wire::write_ethernet({eth, wire::kEthernetHeaderLen}, dst_mac, setup_.mac, static_cast<uint16_t>(type));
  packet->l2_len = wire::kEthernetHeaderLen;
  counters_.tx_frames++;
  counters_.tx_bytes += packet->pkt_len;
  sink_.transmit(packet);
}

bool Interface::send_arp(wire::ArpOp op, wire::MacAddr eth_dst, wire::MacAddr target_mac, wire::Ipv4Addr target_ip) {
  rte_mbuf* m = rte_pktmbuf_alloc(setup_.pool);
  if (m == nullptr) {
    counters_.drop_no_mbuf++;
    return false;
  }
  auto* out = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, wire::kEthernetHeaderLen + wire::kArpLen));
  wire::write_ethernet({out, wire::kEthernetHeaderLen}, eth_dst, setup_.mac,
                       static_cast<uint16_t>(wire::EtherType::arp));
  wire::write_arp({out + wire::kEthernetHeaderLen, wire::kArpLen},
                  wire::ArpRepr{.op = op,
                                .sender_mac = setup_.mac,
                                .sender_ip = setup_.address,
                                .target_mac = target_mac,
                                .target_ip = target_ip});
  counters_.tx_frames++;
  counters_.tx_bytes += m->pkt_len;
  sink_.transmit(m);
  return true;
}

void Interface::send_gratuitous_arp() {
  counters_.tx_arp_gratuitous +=
      send_arp(wire::ArpOp::request, wire::MacAddr::broadcast(), wire::MacAddr{}, setup_.address);
}

void Interface::send_arp_request(wire::MacAddr eth_dst, wire::Ipv4Addr target_ip) {
  counters_.tx_arp_request += send_arp(wire::ArpOp::request, eth_dst, wire::MacAddr{}, target_ip);
}

void Interface::advance(TimePoint now) {
  now_ = now;
  arp_.advance(
      now,
      [this](wire::Ipv4Addr ip, const wire::MacAddr* unicast) {
        send_arp_request(unicast ? *unicast : wire::MacAddr::broadcast(), ip);
      },
      [this](rte_mbuf* m) { drop(m, counters_.drop_arp_unresolved); },
      [this] { counters_.arp_entries_expired++; });
  if (!setup_.addresses6.empty()) advance_ipv6(now);
}

}  // namespace dtcp::stack
