// The Interface's IPv6 half: header and extension-header validation (RFC 8200), ICMPv6 (RFC
// 4443), neighbour discovery (RFC 4861) with duplicate address detection (RFC 4862 §5.4), and the
// IPv6 output path TCP sends through. interface.cpp holds Ethernet, ARP, IPv4 and ICMP.
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "stack/interface.hpp"
#include "base/mbuf_trim.hpp"
#include "stack/mbuf_checksum.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"

namespace dtcp::stack {
namespace {

using wire::Icmpv6Type;
using wire::Ipv6Addr;

std::span<const std::byte> frame_bytes(const rte_mbuf* m) { return {rte_pktmbuf_mtod(m, const std::byte*), m->data_len}; }

// RFC 4443 §2.4 (c): an error quotes as much of the offending packet as fits in the minimum
// IPv6 MTU.
constexpr size_t kIcmpv6ErrorMaxQuote = 1280 - wire::kIpv6HeaderLen - wire::kIcmpv6HeaderLen;

// RFC 4861 §10: RetransTimer's default, the interval between DAD probes (RFC 4862 §5.4.1).
constexpr auto kRetransTimer = std::chrono::milliseconds(1000);

// The first `length` bits of a and b agree; two 64-bit compares (on every IPv6 packet sent).
bool same_prefix(const Ipv6Addr& a, const Ipv6Addr& b, uint8_t length) {
  const uint64_t high = a.high_be() ^ b.high_be();
  if (length <= 64) return length == 0 || (high >> (64 - length)) == 0;
  return high == 0 && ((a.low_be() ^ b.low_be()) >> (128 - length)) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Addresses

Interface::AddressState Interface::address_state(const Ipv6Addr& a) const {
  for (const DadEntry& e : dad_) {
    if (e.address == a) return e.state;
  }
  // The rest of a range shares the state of its first address.
  for (size_t i = 0; i < setup_.addresses6.size(); ++i) {
    if (setup_.addresses6[i].contains(a)) {
      const Ipv6Addr first = setup_.addresses6[i].address;
      for (const DadEntry& e : dad_)
        if (e.address == first) return e.state;
    }
  }
  return AddressState::preferred;
}

bool Interface::is_configured6(const Ipv6Addr& a) const {
  if (a == link_local_) return true;
  for (const auto& r : setup_.addresses6)
    if (r.contains(a)) return true;
  return false;
}

bool Interface::is_local6(const Ipv6Addr& a) const {
  // Once DAD has settled (every address preferred) the state need not be looked up per packet.
  return is_configured6(a) && (dad_settled_ || address_state(a) == AddressState::preferred);
}

bool Interface::is_joined_group(const Ipv6Addr& a) const {
  if (a == Ipv6Addr::all_nodes()) return true;
  const Ipv6Addr solicited = a;  // ff02::1:ffXX:XXXX names every address ending in XX:XXXX
  if (link_local_.solicited_node() == solicited) return true;
  for (const auto& r : setup_.addresses6) {
    // Some address of the range ends in the group's 24 bits: the range's first address with
    // those bits, or that plus 2^24 (a range is at most 2^32 long, always within its /64).
    Ipv6Addr candidate = r.address;
    candidate.bytes[13] = a.bytes[13];
    candidate.bytes[14] = a.bytes[14];
    candidate.bytes[15] = a.bytes[15];
    if (candidate.solicited_node() != solicited) continue;
    if (r.contains(candidate) || r.contains(candidate.plus(uint64_t{1} << 24))) return true;
  }
  return false;
}

std::optional<std::vector<wire::MacAddr>> Interface::ipv6_multicast_macs(const wire::MacAddr& mac,
                                                                         const std::vector<Ipv6AddressRange>& addresses6) {
  // A list cut short would leave the device deaf to the solicitations for the addresses past
  // the cut (a device may take a truncated list without complaint): past the bound, none.
  uint64_t groups = 2;
  for (const auto& r : addresses6) groups += r.count;
  if (groups > kMaxIpv6MulticastFilter) return std::nullopt;
  std::vector<wire::MacAddr> macs{Ipv6Addr::all_nodes().multicast_mac(),
                                  Ipv6Addr::link_local_from_mac(mac).solicited_node().multicast_mac()};
  for (const auto& r : addresses6) {
    for (uint64_t i = 0; i < r.count; ++i) macs.push_back(r.address.plus(i).solicited_node().multicast_mac());
  }
  std::sort(macs.begin(), macs.end(), [](const auto& x, const auto& y) { return x.bytes < y.bytes; });
  macs.erase(std::unique(macs.begin(), macs.end()), macs.end());
  return macs;
}

std::optional<Ipv6Addr> Interface::default_router6() const {
  if (setup_.gateway6) return setup_.gateway6;
  if (ra_router_ && now_ < ra_router_expiry_) return ra_router_;
  return std::nullopt;
}

// RFC 4861 §5.2 / RFC 5942: on-link means link-local, inside a configured prefix or one a
// router advertised; anything else goes to the default router (there is no "assume on-link").
bool Interface::on_link6(const Ipv6Addr& a) const {
  if (a.is_link_local() || a.is_multicast()) return true;
  for (const auto& r : setup_.addresses6)
    if (same_prefix(a, r.address, r.prefix_len)) return true;
  for (const LearnedPrefix& p : ra_prefixes_)
    if (p.length != 0 && now_ < p.expiry && same_prefix(a, p.prefix, p.length)) return true;
  return false;
}

Ipv6Addr Interface::source_for(const Ipv6Addr& dst) const {
  if (dst.is_link_local() || dst.is_multicast() || setup_.addresses6.empty()) return link_local_;
  for (const auto& r : setup_.addresses6)
    if (same_prefix(dst, r.address, r.prefix_len)) return r.address;
  return setup_.addresses6.front().address;
}

// ---------------------------------------------------------------------------------------------
// Start-up: duplicate address detection and announcements

void Interface::start_ipv6() {
  dad_.clear();
  // With DAD every address starts tentative. The announcing queue probes; the port's other
  // queues wait for its outcome (learn_address_state()), so none of them answers or sends from
  // an address that may yet turn out to be another node's.
  const bool dad = setup_.dad_transmits > 0;
  auto add = [&](const Ipv6Addr& a) {
    dad_.push_back(DadEntry{a, dad ? AddressState::tentative : AddressState::preferred, 0, now_});
  };
  add(link_local_);
  for (const auto& r : setup_.addresses6) add(r.address);
  dad_settled_ = !dad;
  if (dad && !setup_.announce) return;
  if (!dad) {
    for (const DadEntry& e : dad_) {
      if (setup_.announce) {
        send_neighbor_advertisement(e.address, Ipv6Addr::all_nodes(), Ipv6Addr::all_nodes().multicast_mac(), false);
      }
    }
    if (setup_.announce && setup_.accept_router_advertisements) send_router_solicitation();
    return;
  }
  advance_ipv6(now_);  // the first probes go out now
}

void Interface::advance_ipv6(TimePoint now) {
  if (!dad_settled_) advance_dad(now);
  nd_.advance(
      now,
      [this](const Ipv6Addr& target, const wire::MacAddr* unicast) { send_neighbor_solicitation(target, unicast, nullptr); },
      [this](rte_mbuf* m) { drop(m, counters_.drop_nd_unresolved); },
      [this] { counters_.nd_entries_expired++; });
}

void Interface::advance_dad(TimePoint now) {
  if (!setup_.announce) return;  // another queue probes and tells this one
  for (DadEntry& e : dad_) {
    if (e.state != AddressState::tentative || now < e.next) continue;
    if (e.probes_sent < setup_.dad_transmits) {
      // RFC 4862 §5.4.2: from the unspecified address to the solicited-node group, no
      // source link-layer option.
      send_neighbor_solicitation(e.address, nullptr, nullptr);
      ++e.probes_sent;
      e.next = now + kRetransTimer;
      continue;
    }
    // No one defended it within RetransTimer of the last probe (§5.4.3): it is ours. Announce
    // it (RFC 4861 §7.2.6) so neighbours that cached another MAC update.
    e.state = AddressState::preferred;
    counters_.nd_dad_succeeded++;
    if (address_state_hook_ != nullptr) address_state_hook_(address_state_ctx_, e.address, e.state);
    send_neighbor_advertisement(e.address, Ipv6Addr::all_nodes(), Ipv6Addr::all_nodes().multicast_mac(), false);
    if (e.address == link_local_ && setup_.accept_router_advertisements) send_router_solicitation();
  }
  dad_concluded();
}

void Interface::dad_concluded() {
  // A duplicate address keeps the state looked up per packet (it must stay unusable).
  dad_settled_ = std::all_of(dad_.begin(), dad_.end(), [](const DadEntry& e) { return e.state == AddressState::preferred; });
}

bool Interface::mark_duplicate(const Ipv6Addr& target) {
  for (DadEntry& e : dad_) {
    if (e.address != target || e.state != AddressState::tentative) continue;
    e.state = AddressState::duplicate;
    counters_.nd_dad_duplicates++;
    if (address_state_hook_ != nullptr) address_state_hook_(address_state_ctx_, e.address, e.state);
    dad_concluded();
    return true;
  }
  return false;
}

void Interface::learn_address_state(const Ipv6Addr& address, AddressState state) {
  for (DadEntry& e : dad_) {
    if (e.address != address || e.state == state || e.state == AddressState::duplicate) continue;
    if (state == AddressState::tentative) continue;  // nothing to learn
    e.state = state;
    counters_.nd_dad_from_peers++;
  }
  dad_concluded();
}

// ---------------------------------------------------------------------------------------------
// Input

void Interface::ipv6_input(rte_mbuf* frame, size_t offset, TimePoint now) {
  const auto ip = wire::Ipv6View::parse_prefix(frame_bytes(frame).subspan(offset), frame->pkt_len - offset);
  if (!ip) {
    return drop(frame, ip.error() == wire::ParseError::bad_version ? counters_.drop_ip6_bad_version
                                                                     : counters_.drop_ip6_truncated);
  }
  counters_.rx_ipv6++;
  const Ipv6Addr src = ip->src(), dst = ip->dst();
  // RFC 4291 §2.5.2 / §2.7, RFC 8200: a source that is multicast, or loopback from the wire,
  // is a martian; the unspecified source is only for DAD (ND input checks it).
  if (src.is_multicast() || src.is_loopback() || src.is_v4_mapped()) return drop(frame, counters_.drop_ip6_bad_source);
  // Nor may it be one of our own addresses (as for IPv4, RFC 1122 3.2.1.3), except in a
  // neighbour advertisement: another node claiming our address is how DAD finds a duplicate
  // (RFC 4862 §5.4.4). icmpv6_input() applies the same rule once it knows the message type.
  if (ip->next_header() != static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6) && is_configured6(src)) {
    return drop(frame, counters_.drop_ip6_bad_source);
  }
  const bool multicast = dst.is_multicast();
  // A configured address still tentative receives neighbour discovery only (RFC 4862 §5.4).
  bool tentative_dst = false;
  if (multicast) {
    if (!is_joined_group(dst)) return drop(frame, counters_.drop_ip6_not_for_us);
  } else if (!is_local6(dst)) {
    tentative_dst = !dad_settled_ && is_configured6(dst) && address_state(dst) == AddressState::tentative;
    if (!tentative_dst) return drop(frame, counters_.drop_ip6_not_for_us);
  }

  const auto ext = wire::walk_ipv6_extensions(ip->next_header(), ip->payload());
  // A chain (LRO, rte_gro, scattered rx) goes on only to TCP, its headers in the first mbuf:
  // the other paths, and the errors quoting the packet, read it as one contiguous buffer.
  if (frame->next != nullptr && (ext.outcome != wire::Ipv6ExtOutcome::upper_layer ||
                                 ext.protocol != static_cast<uint8_t>(wire::Ipv6NextHeader::tcp))) {
    return drop(frame, counters_.drop_rx_chained);
  }
  if (ext.headers > 0) counters_.rx_ip6_extension_headers++;
  switch (ext.outcome) {
    case wire::Ipv6ExtOutcome::upper_layer:
      break;
    case wire::Ipv6ExtOutcome::no_next_header:
      return drop(frame, counters_.rx_ip6_no_next_header);
    case wire::Ipv6ExtOutcome::fragment:
      return drop(frame, counters_.drop_ip6_fragment);
    case wire::Ipv6ExtOutcome::truncated:
    case wire::Ipv6ExtOutcome::bad_option_length:
      return drop(frame, counters_.drop_ip6_bad_extension);
    case wire::Ipv6ExtOutcome::too_many_headers:
      return drop(frame, counters_.drop_ip6_too_many_extensions);
    case wire::Ipv6ExtOutcome::option_discard:
      return drop(frame, counters_.drop_ip6_unknown_option);
    default:
      // Parameter problems (RFC 8200 §4, RFC 4443 §3.4), never about a packet to a multicast
      // group except for the option types that ask for it (RFC 4443 §2.4 (e.3)).
      counters_.drop_ip6_parameter_problem++;
      if (tentative_dst || (multicast && !ext.problem_even_if_multicast) || src.is_unspecified()) {
        rte_pktmbuf_free(frame);
        return;
      }
      return send_icmpv6_error(frame, offset, wire::kIpv6HeaderLen + ip->payload_length(),
                               static_cast<uint8_t>(Icmpv6Type::parameter_problem),
                               static_cast<uint8_t>(ext.problem_code), ext.problem_pointer);
  }
  const size_t l4_offset = offset + ext.offset;
  const size_t l4_len = wire::kIpv6HeaderLen + ip->payload_length() - ext.offset;
  if (ext.protocol == static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6)) {
    return icmpv6_input(frame, offset, l4_offset, l4_len, now);
  }
  if (tentative_dst) return drop(frame, counters_.drop_ip6_not_for_us);
  if (src.is_unspecified()) return drop(frame, counters_.drop_ip6_bad_source);
  if (ext.protocol == static_cast<uint8_t>(wire::Ipv6NextHeader::tcp)) {
    // RFC 9293 §3.9.1 (and RFC 1122 4.2.3.10): TCP never takes a multicast destination.
    if (multicast) return drop(frame, counters_.drop_ip6_tcp_multicast);
    return tcp6_input(frame, l4_offset, l4_len, src, dst, ip->ecn(), now);
  }
  // RFC 8200 §4: an unrecognised Next Header is answered with a parameter problem, code 1,
  // pointing at the field that named it; not for multicast (RFC 4443 §2.4 (e.3)).
  if (multicast) return drop(frame, counters_.drop_ip6_unknown_protocol);
  counters_.drop_ip6_unknown_protocol++;
  send_icmpv6_error(frame, offset, wire::kIpv6HeaderLen + ip->payload_length(),
                    static_cast<uint8_t>(Icmpv6Type::parameter_problem),
                    static_cast<uint8_t>(wire::Icmpv6ParamProblem::unrecognized_next_header), ext.next_header_field);
}

void Interface::tcp6_input(rte_mbuf* frame, size_t tcp_offset, size_t tcp_len, const Ipv6Addr& src,
                           const Ipv6Addr& dst, wire::Ecn ecn, TimePoint now) {
  if (tcp_len < 20) return drop_malformed(frame, counters_.drop_tcp_malformed, log::Subsystem::tcp, "TCP segment below 20 bytes");
  const uint64_t l4_flags = frame->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
    return drop_malformed(frame, counters_.drop_tcp_bad_checksum, log::Subsystem::tcp, "TCP checksum bad (NIC)");
  }
  mbuf_chain_trim_to(frame, static_cast<uint32_t>(tcp_offset + tcp_len));  // Ethernet padding off
  if (l4_flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !tcp_checksum_passed_through(frame)) {
    const uint32_t sum = wire::pseudo_header_sum(wire::IpAddr(src), wire::IpAddr(dst),
                                                 static_cast<uint8_t>(wire::IpProtocol::tcp), static_cast<uint32_t>(tcp_len));
    if (!mbuf_l4_checksum_ok(frame, static_cast<uint32_t>(tcp_offset), static_cast<uint32_t>(tcp_len), sum)) {
      return drop_malformed(frame, counters_.drop_tcp_bad_checksum, log::Subsystem::tcp, "TCP checksum bad");
    }
  }
  if (tcp_ == nullptr) return drop(frame, counters_.drop_tcp_no_stack);
  counters_.rx_tcp++;
  counters_.rx_tcp6++;
  rte_pktmbuf_adj(frame, static_cast<uint16_t>(tcp_offset));
  tcp_->tcp_input(frame, src, dst, ecn, now);
}

void Interface::icmpv6_input(rte_mbuf* frame, size_t ip_offset, size_t icmp_offset, size_t icmp_len, TimePoint now) {
  counters_.rx_icmp6++;
  const auto bytes = frame_bytes(frame);
  const auto ip = wire::Ipv6View::parse(bytes.subspan(ip_offset));
  const auto icmp = wire::Icmpv6View::parse(bytes.subspan(icmp_offset, icmp_len), ip->src(), ip->dst(), true);
  if (!icmp) {
    return drop(frame, icmp.error() == wire::ParseError::bad_checksum ? counters_.drop_icmp6_bad_checksum
                                                                       : counters_.drop_icmp6_malformed);
  }
  const wire::NdIpHeader nd_ip{ip->src(), ip->dst(), ip->hop_limit()};
  const bool tentative_dst = !ip->dst().is_multicast() && !is_local6(ip->dst());
  if (icmp->type() != static_cast<uint8_t>(Icmpv6Type::neighbor_advertisement) && is_configured6(ip->src())) {
    return drop(frame, counters_.drop_ip6_bad_source);  // ipv6_input(): only an NA may come from our address
  }
  switch (static_cast<Icmpv6Type>(icmp->type())) {
    case Icmpv6Type::neighbor_solicitation:
      return neighbor_solicitation_input(frame, nd_ip, *icmp, now);
    case Icmpv6Type::neighbor_advertisement:
      return neighbor_advertisement_input(frame, nd_ip, *icmp, now);
    case Icmpv6Type::router_advertisement:
      return router_advertisement_input(frame, nd_ip, *icmp, now);
    default:
      break;
  }
  if (tentative_dst || ip->src().is_unspecified()) return drop(frame, counters_.drop_ip6_not_for_us);
  if (icmp->is_error()) return icmpv6_error_input(frame, *icmp, now);
  if (icmp->type() != static_cast<uint8_t>(Icmpv6Type::echo_request) || icmp->code() != 0) {
    // Router solicitations (we are no router), redirects and unknown informational messages:
    // RFC 4443 §2.4 (b) says pass unknown informational messages up and otherwise ignore them.
    counters_.rx_icmp6_other++;
    rte_pktmbuf_free(frame);
    return;
  }
  // RFC 4443 §4.2: the reply carries the request's identifier, sequence number and data, from
  // the address the request was sent to (or, for a multicast request, one of ours).
  counters_.rx_icmp6_echo_request++;
  const Ipv6Addr peer = ip->src();
  const Ipv6Addr self = ip->dst().is_multicast() ? source_for(peer) : ip->dst();
  std::byte* icmp_bytes = nullptr;
  rte_mbuf* reply = new_icmpv6_packet(self, peer, icmp_len, hop_limit_, icmp_bytes);
  if (reply == nullptr) return drop(frame, counters_.drop_no_mbuf);
  wire::write_icmpv6({icmp_bytes, icmp_len}, self, peer, static_cast<uint8_t>(Icmpv6Type::echo_reply), 0,
                     icmp->rest_of_header(), icmp->payload());
  rte_pktmbuf_free(frame);
  counters_.tx_icmp6_echo_reply++;
  ip6_output(reply, peer);
}

// RFC 4443 §3 and RFC 5927 §4.1 as for IPv4: the quoted packet must be one we sent (from one of
// our addresses), of TCP, with the ports and sequence number; TCP then checks the connection.
// Packet Too Big carries the next hop's MTU (RFC 8201 §4).
void Interface::icmpv6_error_input(rte_mbuf* frame, const wire::Icmpv6View& icmp, TimePoint now) {
  counters_.rx_icmp6_error++;
  const auto error = wire::parse_icmpv6_tcp_error(icmp);
  if (!error) {
    if (error.error() == wire::ParseError::bad_next_header) {
      counters_.rx_icmp_error_other_protocol++;
      rte_pktmbuf_free(frame);
      return;
    }
    return drop(frame, counters_.drop_icmp6_quote_malformed);
  }
  if (!is_local6(error->local)) return drop(frame, counters_.drop_icmp6_quote_not_ours);
  if (tcp_ == nullptr) return drop(frame, counters_.drop_tcp_no_stack);
  const wire::IcmpTcpError e{
      .kind = error->kind,
      .type = error->type,
      .code = error->code,
      .quoted_length = static_cast<uint16_t>(std::min<uint32_t>(0xffff, error->quoted_payload_length + 40u)),
      .next_hop_mtu = error->kind == wire::IcmpErrorKind::packet_too_big ? error->mtu : 0,
      .local = error->local,
      .remote = error->remote,
      .local_port = error->local_port,
      .remote_port = error->remote_port,
      .seq = error->seq,
  };
  rte_pktmbuf_free(frame);  // `icmp` pointed into it
  counters_.rx_icmp_tcp_error++;
  tcp_->icmp_error(e, now);
}

// RFC 4861 §7.2.3 (and RFC 4862 §5.4.3 for DAD): a solicitation for one of our addresses is
// answered with a solicited advertisement; its source link-layer address is cached STALE.
void Interface::neighbor_solicitation_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                            TimePoint now) {
  counters_.rx_nd_solicitation++;
  if (!nd_valid(wire::validate_neighbor_solicitation(ip, icmp), frame)) return;
  const auto ns = wire::parse_neighbor_solicitation(icmp);
  const Ipv6Addr target = ns->target;
  const bool ours_any_state = target == link_local_ || address_state(target) != AddressState::preferred ||
                              std::any_of(setup_.addresses6.begin(), setup_.addresses6.end(),
                                          [&](const auto& r) { return r.contains(target); });
  if (!ours_any_state) return drop(frame, counters_.drop_nd_not_for_us);
  if (!is_local6(target)) {
    // Our address is tentative (RFC 4862 §5.4.3): a probe from :: for it means another node is
    // doing DAD for the same address at the same time; ours is then a duplicate too. Anything
    // else is ignored while tentative, and everything once it is a duplicate.
    if (ip.src.is_unspecified() && mark_duplicate(target)) {
      rte_pktmbuf_free(frame);
      return;
    }
    return drop(frame, counters_.drop_nd_target_unusable);
  }
  const std::optional<wire::MacAddr> sll = ns->options.source_link_layer;
  rte_pktmbuf_free(frame);
  if (ip.src.is_unspecified()) {
    // Someone else probes an address we hold: defend it with an advertisement to all-nodes
    // (RFC 4862 §5.4.3, RFC 4861 §7.2.4), not solicited.
    send_neighbor_advertisement(target, Ipv6Addr::all_nodes(), Ipv6Addr::all_nodes().multicast_mac(), false);
    return;
  }
  if (sll) {
    cache_neighbor(ip.src, *sll, now);
    if (neighbor_learned_ != nullptr) neighbor_learned_(neighbor_learned_ctx_, ip.src, *sll);
  }
  // Reply to the soliciting address, at the MAC it gave (or its cached one, or by resolution).
  wire::MacAddr dst_mac{};
  if (sll) {
    dst_mac = *sll;
  } else if (const auto* e = nd_.find(ip.src); e != nullptr && e->has_mac()) {
    dst_mac = e->mac;
  } else {
    // A unicast NS without the option (allowed, §7.2.4): answer through normal resolution.
    dst_mac = wire::MacAddr{};
  }
  send_neighbor_advertisement(target, ip.src, dst_mac, true);
}

// RFC 4861 §7.2.5: an advertisement updates the cache; RFC 4862 §5.4.4: one for an address we are
// still probing means someone has it.
void Interface::neighbor_advertisement_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                             TimePoint now) {
  counters_.rx_nd_advertisement++;
  if (!nd_valid(wire::validate_neighbor_advertisement(ip, icmp), frame)) return;
  const auto na = wire::parse_neighbor_advertisement(icmp);
  const Ipv6Addr target = na->target;
  if (mark_duplicate(target)) {
    rte_pktmbuf_free(frame);
    return;
  }
  if (target == link_local_ || is_local6(target)) {
    // Someone else claims an address we hold (after DAD): RFC 4862 §5.4.4 leaves the reaction
    // to the implementation; count it, keep the address, as Linux does.
    counters_.nd_address_conflicts++;
    rte_pktmbuf_free(frame);
    return;
  }
  const std::optional<wire::MacAddr> tll = na->options.target_link_layer;
  const bool router = na->router, solicited = na->solicited, override = na->override;
  rte_pktmbuf_free(frame);
  // §7.2.5: with no entry here the advertisement creates none. But on a port with several
  // queues a solicited one, to one of our addresses, answers a solicitation some queue sent,
  // and lands where the device's hash puts it, not necessarily on that queue: it is passed on
  // (as an ARP reply is) so the queue waiting for it resolves instead of giving up.
  const bool answers_another_queue = !ip.dst.is_multicast() && solicited && nd_.find(target) == nullptr;
  const auto outcome = nd_.on_advertisement(target, tll, solicited, override, router, now,
                                            [this](rte_mbuf* m, wire::MacAddr mac) {
                                              transmit_to(m, mac, wire::EtherType::ipv6);
                                            });
  if (outcome.no_longer_router && ra_router_ && *ra_router_ == target) {
    ra_router_.reset();  // §7.2.5
    ++route6_generation_;
  }
  if (tll && (outcome.updated || answers_another_queue) && neighbor_learned_ != nullptr) {
    neighbor_learned_(neighbor_learned_ctx_, target, *tll);
  }
}

// RFC 4861 §6.3.4, when accepted: the default router (router lifetime), the on-link prefixes
// (prefix information with L set) and the hop limit. Addresses are not autoconfigured
// (RFC 4862 §5.5 is not implemented): dtcp's addresses are configured.
void Interface::router_advertisement_input(rte_mbuf* frame, const wire::NdIpHeader& ip, const wire::Icmpv6View& icmp,
                                           TimePoint now) {
  counters_.rx_nd_router_advertisement++;
  if (!setup_.accept_router_advertisements) return drop(frame, counters_.rx_nd_router_advertisement_ignored);
  if (!nd_valid(wire::validate_router_advertisement(ip, icmp), frame)) return;
  const auto ra = wire::parse_router_advertisement(icmp);
  RouterInfo info{.router = ip.src, .mac = ra->options.source_link_layer, .router_lifetime_s = ra->router_lifetime,
                  .cur_hop_limit = ra->cur_hop_limit};
  for (const wire::NdPrefixInfo& p : ra->options.prefix_list()) {
    if (!p.on_link || p.prefix.is_link_local() || p.prefix_length > 128) continue;
    if (info.prefix_count == info.prefixes.size()) break;  // the parser keeps no more
    info.prefixes[info.prefix_count++] = {p.prefix, p.valid_lifetime, p.prefix_length};
  }
  rte_pktmbuf_free(frame);
  apply_router_info(info, now);
  // The advertisement reached this queue only; the port's other queues route by it too.
  if (router_learned_ != nullptr) router_learned_(router_learned_ctx_, info);
}

void Interface::learn_router(const RouterInfo& info, TimePoint now) {
  now_ = now;
  apply_router_info(info, now);
  counters_.nd_routers_from_peers++;
}

void Interface::apply_router_info(const RouterInfo& info, TimePoint now) {
  ++route6_generation_;  // the hop limit, default router or on-link prefixes may change
  if (info.cur_hop_limit != 0) hop_limit_ = info.cur_hop_limit;
  if (info.router_lifetime_s != 0) {
    ra_router_ = info.router;
    ra_router_expiry_ = now + std::chrono::seconds(info.router_lifetime_s);
  } else if (ra_router_ && *ra_router_ == info.router) {
    ra_router_.reset();
  }
  for (size_t i = 0; i < info.prefix_count; ++i) {
    const RouterInfo::Prefix& p = info.prefixes[i];
    const Ipv6Addr prefix = p.prefix.masked(p.length);
    const TimePoint expiry = p.valid_lifetime_s == 0xffffffffu ? TimePoint::max() : now + std::chrono::seconds(p.valid_lifetime_s);
    LearnedPrefix* slot = nullptr;
    for (LearnedPrefix& lp : ra_prefixes_) {
      if (lp.length == p.length && lp.prefix == prefix) slot = &lp;
    }
    for (LearnedPrefix& lp : ra_prefixes_) {
      if (slot == nullptr && (lp.length == 0 || lp.expiry <= now)) slot = &lp;
    }
    if (slot == nullptr) {
      counters_.nd_prefixes_ignored++;
      continue;
    }
    *slot = LearnedPrefix{prefix, p.length, expiry};
  }
  if (info.mac) cache_neighbor(info.router, *info.mac, now);
  nd_.mark_router(info.router);
}

// RFC 4861's validity checks failed: a drop counted under its reason (wire::NdInvalid).
bool Interface::nd_valid(wire::NdInvalid invalid, rte_mbuf* frame) {
  using wire::NdInvalid;
  uint64_t* counter = nullptr;
  switch (invalid) {
    case NdInvalid::none: return true;
    case NdInvalid::wrong_type: counter = &counters_.drop_nd_invalid_wrong_type; break;
    case NdInvalid::hop_limit_not_255: counter = &counters_.drop_nd_invalid_hop_limit_not_255; break;
    case NdInvalid::code_not_zero: counter = &counters_.drop_nd_invalid_code_not_zero; break;
    case NdInvalid::too_short: counter = &counters_.drop_nd_invalid_too_short; break;
    case NdInvalid::bad_option: counter = &counters_.drop_nd_invalid_bad_option; break;
    case NdInvalid::target_multicast: counter = &counters_.drop_nd_invalid_target_multicast; break;
    case NdInvalid::unspecified_source_with_lla: counter = &counters_.drop_nd_invalid_unspecified_source_with_lla; break;
    case NdInvalid::unspecified_source_not_solicited_node:
      counter = &counters_.drop_nd_invalid_unspecified_source_not_solicited_node;
      break;
    case NdInvalid::solicited_to_multicast: counter = &counters_.drop_nd_invalid_solicited_to_multicast; break;
    case NdInvalid::source_not_link_local: counter = &counters_.drop_nd_invalid_source_not_link_local; break;
  }
  drop(frame, counter != nullptr ? *counter : counters_.drop_nd_invalid_wrong_type);
  return false;
}

// A link-layer address learned from an ND message (or another queue): created or updated STALE,
// and the packets that waited for it sent.
void Interface::cache_neighbor(const Ipv6Addr& ip, wire::MacAddr mac, TimePoint now) {
  const bool created = nd_.on_solicitation(ip, mac, now, [this](rte_mbuf* m, wire::MacAddr resolved) {
    transmit_to(m, resolved, wire::EtherType::ipv6);
  });
  counters_.nd_entries_added += created;
}

void Interface::learn_neighbor(const Ipv6Addr& ip, wire::MacAddr mac, TimePoint now) {
  now_ = now;
  cache_neighbor(ip, mac, now);
  counters_.nd_entries_from_peers++;
}

// ---------------------------------------------------------------------------------------------
// Output

rte_mbuf* Interface::new_icmpv6_packet(const Ipv6Addr& src, const Ipv6Addr& dst, size_t icmp_len, uint8_t hop_limit,
                                       std::byte*& icmp_out) {
  rte_mbuf* m = rte_pktmbuf_alloc(setup_.pool);
  if (m == nullptr) {
    counters_.drop_no_mbuf++;
    return nullptr;
  }
  auto* out = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(wire::kIpv6HeaderLen + icmp_len)));
  if (out == nullptr) {
    rte_pktmbuf_free(m);
    counters_.drop_no_mbuf++;
    return nullptr;
  }
  wire::write_ipv6({out, wire::kIpv6HeaderLen},
                   wire::Ipv6Header{.src = src,
                                    .dst = dst,
                                    .next_header = static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6),
                                    .hop_limit = hop_limit,
                                    .payload_len = static_cast<uint16_t>(icmp_len)});
  icmp_out = out + wire::kIpv6HeaderLen;
  return m;
}

void Interface::send_icmpv6_error(rte_mbuf* frame, size_t ip_offset, size_t ip_len, uint8_t type, uint8_t code,
                                  uint32_t rest) {
  // RFC 4443 §2.4 (f): rate-limited, with the same bucket as ICMPv4's errors.
  if (!icmp_error_allowed()) return drop(frame, counters_.drop_icmp_rate_limited);
  const auto original = frame_bytes(frame).subspan(ip_offset, ip_len);
  const auto ip = wire::Ipv6View::parse(original);
  const Ipv6Addr peer = ip->src();
  // From the address the packet was sent to, or one of ours for a multicast one.
  const Ipv6Addr self = ip->dst().is_multicast() ? source_for(peer) : ip->dst();
  const size_t quote = std::min(original.size(), kIcmpv6ErrorMaxQuote);
  const size_t icmp_len = wire::kIcmpv6HeaderLen + quote;
  std::byte* icmp_bytes = nullptr;
  rte_mbuf* reply = new_icmpv6_packet(self, peer, icmp_len, hop_limit_, icmp_bytes);
  if (reply == nullptr) return drop(frame, counters_.drop_no_mbuf);
  wire::write_icmpv6({icmp_bytes, icmp_len}, self, peer, type, code, rest, original.first(quote));
  rte_pktmbuf_free(frame);
  counters_.tx_icmp6_error++;
  ip6_output(reply, peer);
}

void Interface::send_neighbor_solicitation(const Ipv6Addr& target, const wire::MacAddr* unicast,
                                           const Ipv6Addr* source_hint) {
  // DAD probes (our own target still tentative) come from ::, without a source link-layer
  // option (RFC 4862 §5.4.2); resolution and reachability probes from one of our addresses.
  const bool dad = address_state(target) == AddressState::tentative &&
                   (target == link_local_ || std::any_of(setup_.addresses6.begin(), setup_.addresses6.end(),
                                                         [&](const auto& r) { return r.contains(target); }));
  const Ipv6Addr src = dad ? Ipv6Addr{} : source_hint ? *source_hint : source_for(target);
  const Ipv6Addr dst = unicast ? target : target.solicited_node();
  const std::optional<wire::MacAddr> sll = dad ? std::nullopt : std::optional(setup_.mac);
  const size_t len = wire::kNdNeighborSolicitationLen + (sll ? 8 : 0);
  std::byte* icmp = nullptr;
  rte_mbuf* m = new_icmpv6_packet(src, dst, len, wire::kNdHopLimit, icmp);
  if (m == nullptr) return;
  wire::write_neighbor_solicitation({icmp, len}, src, dst, target, sll);
  counters_.tx_nd_solicitation++;
  transmit_to(m, unicast ? *unicast : dst.multicast_mac(), wire::EtherType::ipv6);
}

void Interface::send_neighbor_advertisement(const Ipv6Addr& target, const Ipv6Addr& dst, wire::MacAddr dst_mac,
                                            bool solicited) {
  // RFC 4861 §7.2.4: a host sets Override for its own addresses; R is 0 (not a router).
  const wire::NdNeighborAdvertisement na{.router = false, .solicited = solicited, .override = true, .target = target,
                                         .options = {.target_link_layer = setup_.mac}};
  const size_t len = wire::kNdNeighborAdvertisementLen + 8;
  const Ipv6Addr src = target;
  std::byte* icmp = nullptr;
  rte_mbuf* m = new_icmpv6_packet(src, dst, len, wire::kNdHopLimit, icmp);
  if (m == nullptr) return;
  wire::write_neighbor_advertisement({icmp, len}, src, dst, na);
  counters_.tx_nd_advertisement++;
  if (dst_mac.is_zero()) return ip6_output(m, dst);
  transmit_to(m, dst_mac, wire::EtherType::ipv6);
}

void Interface::send_router_solicitation() {
  const Ipv6Addr dst = Ipv6Addr::all_routers();
  const size_t len = wire::kNdRouterSolicitationLen + 8;
  std::byte* icmp = nullptr;
  rte_mbuf* m = new_icmpv6_packet(link_local_, dst, len, wire::kNdHopLimit, icmp);
  if (m == nullptr) return;
  wire::write_router_solicitation({icmp, len}, link_local_, dst, setup_.mac);
  counters_.tx_nd_router_solicitation++;
  transmit_to(m, dst.multicast_mac(), wire::EtherType::ipv6);
}

void Interface::send_tcp6(rte_mbuf* segment, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) {
  const auto tcp_len = static_cast<uint16_t>(segment->pkt_len);
  auto* ip = reinterpret_cast<std::byte*>(rte_pktmbuf_prepend(segment, wire::kIpv6HeaderLen));
  if (ip == nullptr) return drop(segment, counters_.drop_no_mbuf);
  // RFC 8200 §3, written in place: the addresses go from the 4-tuple straight into the packet
  // (through a header struct they cost two store-to-load forwarding stalls a segment).
  wire::store_be32(ip, 6u << 28 | uint32_t{wire::with_ecn(0, ecn)} << 20);
  wire::store_be16(ip + 4, tcp_len);
  ip[6] = std::byte{static_cast<uint8_t>(wire::Ipv6NextHeader::tcp)};
  ip[7] = std::byte{hop_limit_};
  std::memcpy(ip + 8, src.bytes.data(), 16);
  std::memcpy(ip + 24, dst.bytes.data(), 16);
  auto* ip_hdr = reinterpret_cast<rte_ipv6_hdr*>(ip);
  auto* tcp_checksum = reinterpret_cast<uint16_t*>(ip + wire::kIpv6HeaderLen + 16);
  segment->l2_len = wire::kEthernetHeaderLen;
  segment->l3_len = wire::kIpv6HeaderLen;
  // A TSO super-segment: as send_tcp4(); rte_ipv6_phdr_cksum() leaves the length out for TCP_SEG.
  if (segment->ol_flags & RTE_MBUF_F_TX_TCP_SEG) counters_.tx_tso++;
  if (setup_.tx_tcp_checksum_offload) {
    segment->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
    *tcp_checksum = rte_ipv6_phdr_cksum(ip_hdr, segment->ol_flags);
  } else {
    *tcp_checksum = 0;
    const uint32_t sum = mbuf_checksum_accumulate(
        segment, wire::kIpv6HeaderLen,
        wire::pseudo_header_sum(src.v6(), dst.v6(), static_cast<uint8_t>(wire::Ipv6NextHeader::tcp), tcp_len));
    wire::store_be16(reinterpret_cast<std::byte*>(tcp_checksum), wire::checksum_fold(sum));
  }
  counters_.tx_tcp++;
  counters_.tx_tcp6++;
  ip6_output(segment, dst.v6());
}

// As fill_tx_template4(): only from a REACHABLE entry (a STALE one must go through lookup(),
// which starts DELAY, RFC 4861 §7.3.3), and only until its ReachableTime ends or anything a
// router advertised (the default router, an on-link prefix) expires, whichever is first: either
// may change the next hop. A new advertisement bumps route6_generation_.
void Interface::fill_tx_template6(const rte_mbuf* packet, const Ipv6Addr& next_hop, wire::MacAddr mac) {
  const NeighborCache::Entry* entry = nd_.find(next_hop);
  if (entry == nullptr || entry->state != NeighborCache::State::reachable) return;
  TimePoint expiry = entry->deadline;
  if (ra_router_) expiry = std::min(expiry, ra_router_expiry_);
  for (const LearnedPrefix& p : ra_prefixes_)
    if (p.length != 0) expiry = std::min(expiry, p.expiry);
  if (now_ >= expiry) return;
  wire::TxHeaderTemplate& t = *tx_template_;
  wire::write_ethernet({t.bytes.data(), wire::kEthernetHeaderLen}, mac, setup_.mac,
                       static_cast<uint16_t>(wire::EtherType::ipv6));
  std::byte* ip = t.bytes.data() + wire::kEthernetHeaderLen;
  std::memcpy(ip, rte_pktmbuf_mtod(packet, const std::byte*), wire::kIpv6HeaderLen);
  wire::store_be32(ip, 0);      // version, traffic class (ECN): per packet
  wire::store_be16(ip + 4, 0);  // payload length: per packet
  Ipv6Addr src, dst;
  std::memcpy(src.bytes.data(), ip + 8, 16);
  std::memcpy(dst.bytes.data(), ip + 24, 16);
  const uint32_t pseudo = wire::pseudo_header_sum(src, dst, static_cast<uint8_t>(wire::Ipv6NextHeader::tcp), 0);
  t.pseudo_sum = (pseudo & 0xffff) + (pseudo >> 16);
  t.ip_sum = 0;  // IPv6 has no header checksum
  t.l3_len = wire::kIpv6HeaderLen;
  t.expiry = expiry;
  t.generation = tx_generation(false);
}

void Interface::ip6_output(rte_mbuf* packet, const Ipv6Addr& dst) {
  if (dst.is_multicast()) return transmit_to(packet, dst.multicast_mac(), wire::EtherType::ipv6);
  Ipv6Addr next_hop = dst;
  if (!on_link6(dst)) {
    const auto router = default_router6();
    if (!router) return drop(packet, counters_.drop_ip6_no_route);
    next_hop = *router;
  }
  wire::MacAddr mac;
  switch (nd_.lookup(next_hop, packet, now_, mac)) {
    case NeighborCache::Verdict::send:
      if (tx_template_ != nullptr) [[unlikely]] fill_tx_template6(packet, next_hop, mac);
      return transmit_to(packet, mac, wire::EtherType::ipv6);
    case NeighborCache::Verdict::queued_and_solicit: {
      counters_.nd_entries_added++;
      // RFC 4861 §7.2.2: the source of the solicitation is the packet's, when it is ours.
      const auto ip = wire::Ipv6View::parse({rte_pktmbuf_mtod(packet, const std::byte*), packet->data_len});
      const Ipv6Addr hint = ip ? ip->src() : source_for(next_hop);
      return send_neighbor_solicitation(next_hop, nullptr, is_local6(hint) ? &hint : nullptr);
    }
    case NeighborCache::Verdict::queued:
      return;
    case NeighborCache::Verdict::drop_full:
      return drop(packet, counters_.drop_nd_cache_full);
    case NeighborCache::Verdict::drop_pending_full:
      return drop(packet, counters_.drop_nd_pending_full);
  }
}

}  // namespace dtcp::stack
