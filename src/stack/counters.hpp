// Per-lcore L2/L3 counters: one per packet type and one per drop reason (FreeBSD style), kept in
// the lcore's own cache lines and only ever written by that lcore.
#pragma once

#include <cstdint>

#include "base/counter_block.hpp"

// X(name, description)
#define DTCP_NET_COUNTERS(X)                                                                    \
  X(rx_frames, "frames received")                                                               \
  X(rx_bytes, "bytes received")                                                                 \
  X(tx_frames, "frames handed to the device")                                                   \
  X(tx_bytes, "bytes handed to the device")                                                     \
  X(rx_arp, "ARP packets received")                                                             \
  X(rx_arp_request, "ARP requests for our address")                                             \
  X(rx_arp_reply, "ARP replies received")                                                       \
  X(rx_ipv4, "IPv4 packets received")                                                           \
  X(rx_icmp, "ICMP messages received")                                                          \
  X(rx_icmp_echo_request, "ICMP echo requests received")                                        \
  X(rx_icmp_other, "ICMP messages of other types (accepted, not acted on)")                     \
  X(rx_tcp, "TCP segments handed to TCP")                                                       \
  X(rx_ip_ttl_zero, "IPv4 packets with TTL 0 (accepted, RFC 1122 3.2.1.7)")                     \
  X(rx_ip_options, "IPv4 packets carrying options (tolerated)")                                 \
  X(tx_arp_request, "ARP requests sent")                                                        \
  X(tx_arp_reply, "ARP replies sent")                                                           \
  X(tx_arp_gratuitous, "gratuitous ARPs sent")                                                  \
  X(tx_icmp_echo_reply, "ICMP echo replies sent")                                               \
  X(tx_icmp_unreachable, "ICMP destination unreachable sent")                                   \
  X(tx_tcp, "TCP segments sent")                                                                \
  X(tx_tso, "of those, TSO super-segments the device cuts into segments")                      \
  X(rx_tcp_checksum_passed, "TCP segments from a net_ring peer that left the checksum undone")  \
  X(rx_tso_passed, "of those, TSO super-segments taken whole (net_ring, [port] tso)")            \
  X(rx_chained, "frames received in several mbufs (LRO, rte_gro, scattered rx), kept chained")  \
  X(rx_chained_linearized, "frames received in several mbufs, copied into their first one")     \
  X(rx_gro_merged, "frames rte_gro merged into the one before them in their flow ([port] gro)") \
  X(rx_gro_coalesced, "frames rte_gro built out of two or more ([port] gro)")                   \
  X(arp_entries_added, "ARP cache entries created")                                             \
  X(arp_entries_expired, "ARP cache entries removed after failed refresh")                      \
  X(drop_eth_truncated, "drop: frame shorter than an Ethernet header")                          \
  X(drop_eth_not_for_us, "drop: unicast to another MAC")                                       \
  X(drop_eth_multicast, "drop: multicast frame (no multicast groups joined)")                   \
  X(drop_eth_vlan, "drop: VLAN-tagged frame (not supported)")                                   \
  X(drop_eth_unsupported_type, "drop: EtherType other than IPv4, ARP or IPv6")                        \
  X(drop_rx_chained, "drop: chained frame too long to linearize, not TCP")                      \
  X(drop_arp_malformed, "drop: malformed ARP packet")                                           \
  X(drop_arp_not_for_us, "drop: ARP for another address")                                       \
  X(drop_arp_cache_full, "drop: ARP cache full")                                                \
  X(drop_arp_pending_full, "drop: too many packets waiting for ARP")                            \
  X(drop_arp_unresolved, "drop: next hop never answered ARP")                                   \
  X(drop_ip_truncated, "drop: IPv4 packet shorter than its header")                             \
  X(drop_ip_bad_version, "drop: IP version not 4")                                              \
  X(drop_ip_bad_header_length, "drop: IPv4 IHL invalid")                                        \
  X(drop_ip_bad_total_length, "drop: IPv4 total length beyond frame or below header")           \
  X(drop_ip_bad_checksum, "drop: IPv4 header checksum wrong")                                   \
  X(drop_ip_fragment, "drop: IPv4 fragment (reassembly not supported)")                         \
  X(drop_ip_not_for_us, "drop: IPv4 destination not ours")                                      \
  X(drop_ip_bad_source, "drop: IPv4 source multicast, broadcast or ours")                       \
  X(drop_ip_no_route, "drop: destination off-link and no gateway")                              \
  X(drop_ip_unknown_protocol, "drop: unknown protocol in a link-layer broadcast (no ICMP error)")  \
  X(drop_icmp_malformed, "drop: malformed ICMP message")                                        \
  X(drop_icmp_bad_checksum, "drop: ICMP checksum wrong")                                        \
  X(drop_icmp_rate_limited, "ICMP errors not sent because of the rate limit")                   \
  X(drop_tcp_malformed, "drop: malformed TCP header or options")                                \
  X(drop_tcp_bad_checksum, "drop: TCP checksum wrong")                                          \
  X(drop_tcp_no_stack, "drop: TCP segment with no TCP instance attached")                       \
  X(drop_no_mbuf, "drop: mbuf pool empty when building a packet")                               \
  X(drop_tx_full, "drop: device transmit queue full")                                           \
  X(drop_tx_full_payload_bytes, "TCP payload bytes in frames the device transmit queue refused")   \
  X(steered_out, "TCP frames passed on to the queue (lcore) that owns their connection")        \
  X(steered_in, "TCP frames taken from other queues for connections owned here")                \
  X(drop_steer_ring_full, "drop: the owning queue's steering ring was full")                    \
  X(rx_tcp_foreign, "TCP segments handled by a queue that does not own them (0 unless RSS is wrong)") \
  X(msg_posted, "cross-lcore messages posted")                                                  \
  X(msg_run, "cross-lcore messages run here")                                                   \
  X(drop_msg_ring_full, "drop: message not posted, the target lcore's message ring was full")   \
  X(arp_entries_shared, "ARP mappings learned here and passed to the port's other queues")      \
  X(arp_entries_from_peers, "ARP mappings learned by another queue of the port, applied here")  \
  X(impair_dropped, "impairment: frames dropped")                                               \
  X(impair_dropped_payload_bytes, "impairment: TCP payload bytes in the frames dropped")          \
  X(impair_duplicated, "impairment: frames duplicated")                                         \
  X(impair_reordered, "impairment: frames held back for reordering")                            \
  X(impair_corrupted, "impairment: frames corrupted")                                           \
  X(impair_corrupted_payload_bytes, "impairment: TCP payload bytes in the frames corrupted")        \
  X(impair_ce_marked, "impairment: ECN-capable frames marked CE instead of passed unchanged")   \
  X(impair_delayed, "impairment: frames delayed")                                              \
  X(rx_icmp_error, "ICMP destination-unreachable and time-exceeded messages received")          \
  X(rx_icmp_tcp_error, "ICMP errors quoting one of our TCP segments, handed to TCP")            \
  X(rx_icmp_error_other_protocol, "ICMP errors quoting a datagram other than TCP (not acted on)") \
  X(drop_icmp_quote_malformed, "drop: ICMP error whose quoted IPv4 header + 8 bytes is truncated or invalid") \
  X(drop_icmp_quote_not_ours, "drop: ICMP error quoting a datagram not from our address, or a later fragment") \
  X(rx_icmp_foreign, "ICMP errors for TCP handled by a queue that does not own the connection") \
  X(rx_ipv6, "IPv6 packets received")                                                           \
  X(drop_ip6_disabled, "drop: IPv6 frame on a port without IPv6 addresses")                      \
  X(rx_tcp6, "TCP segments over IPv6 handed to TCP")                                             \
  X(tx_tcp6, "TCP segments sent over IPv6")                                                      \
  X(rx_ip6_extension_headers, "IPv6 packets with extension headers (walked, RFC 8200 §4)")      \
  X(rx_ip6_no_next_header, "IPv6 packets with No Next Header (nothing to deliver)")              \
  X(drop_ip6_truncated, "drop: IPv6 packet shorter than its header or its payload length")      \
  X(drop_ip6_bad_version, "drop: IPv6 version field not 6")                                      \
  X(drop_ip6_bad_source, "drop: IPv6 source multicast, loopback, IPv4-mapped, ours (but in an NA), or unspecified (not ND)") \
  X(drop_ip6_not_for_us, "drop: IPv6 destination not ours, a group not joined, or still tentative") \
  X(drop_ip6_fragment, "drop: IPv6 fragment (reassembly not supported)")                        \
  X(drop_ip6_bad_extension, "drop: IPv6 extension header truncated or with a bad option length") \
  X(drop_ip6_too_many_extensions, "drop: IPv6 extension-header chain longer than the bound (8)") \
  X(drop_ip6_unknown_option, "drop: IPv6 option whose type says discard (RFC 8200 §4.2)")       \
  X(drop_ip6_parameter_problem, "drop: IPv6 packet answered with (or owed) a parameter problem") \
  X(drop_ip6_unknown_protocol, "drop: IPv6 next header not TCP or ICMPv6")                      \
  X(drop_ip6_tcp_multicast, "drop: TCP to an IPv6 multicast group")                             \
  X(drop_ip6_no_route, "drop: IPv6 destination off-link and no default router")                 \
  X(rx_icmp6, "ICMPv6 messages received")                                                       \
  X(rx_icmp6_echo_request, "ICMPv6 echo requests received")                                     \
  X(rx_icmp6_error, "ICMPv6 error messages received")                                           \
  X(rx_icmp6_other, "ICMPv6 informational messages of other types (not acted on)")              \
  X(tx_icmp6_echo_reply, "ICMPv6 echo replies sent")                                            \
  X(tx_icmp6_error, "ICMPv6 errors sent (parameter problem)")                                   \
  X(drop_icmp6_malformed, "drop: ICMPv6 message shorter than its header")                       \
  X(drop_icmp6_bad_checksum, "drop: ICMPv6 checksum wrong")                                     \
  X(drop_icmp6_quote_malformed, "drop: ICMPv6 error whose quoted IPv6 packet is truncated or reaches no TCP ports") \
  X(drop_icmp6_quote_not_ours, "drop: ICMPv6 error quoting a packet not from one of our usable addresses") \
  X(rx_nd_solicitation, "neighbour solicitations received")                                     \
  X(rx_nd_advertisement, "neighbour advertisements received")                                   \
  X(rx_nd_router_advertisement, "router advertisements received")                               \
  X(rx_nd_router_advertisement_ignored, "router advertisements ignored ([port] accept_ra off)")  \
  X(tx_nd_solicitation, "neighbour solicitations sent (resolution, probes, DAD)")                \
  X(tx_nd_advertisement, "neighbour advertisements sent (answers, announcements, defence)")      \
  X(tx_nd_router_solicitation, "router solicitations sent")                                      \
  /* RFC 4861 §6.1 / §7.1 validity checks, one counter per wire::NdInvalid reason */          \
  X(drop_nd_invalid_wrong_type, "drop: ND message validated as another type (never expected)")  \
  X(drop_nd_invalid_hop_limit_not_255, "drop: ND message with hop limit not 255 (may be off-link)") \
  X(drop_nd_invalid_code_not_zero, "drop: ND message with ICMPv6 code not 0")                   \
  X(drop_nd_invalid_too_short, "drop: ND message shorter than its fixed part")                  \
  X(drop_nd_invalid_bad_option, "drop: ND option of length 0, of the wrong length, or past the end") \
  X(drop_nd_invalid_target_multicast, "drop: neighbour solicitation or advertisement for a multicast target") \
  X(drop_nd_invalid_unspecified_source_with_lla, "drop: ND message from :: with a source link-layer address") \
  X(drop_nd_invalid_unspecified_source_not_solicited_node, "drop: solicitation from :: not to a solicited-node group") \
  X(drop_nd_invalid_solicited_to_multicast, "drop: advertisement to a multicast group with Solicited set") \
  X(drop_nd_invalid_source_not_link_local, "drop: router advertisement from other than a link-local address") \
  X(drop_nd_target_unusable, "drop: solicitation for one of our addresses still tentative or duplicate (not a DAD probe)") \
  X(drop_nd_not_for_us, "drop: neighbour solicitation for an address not ours")                 \
  X(drop_nd_cache_full, "drop: neighbour cache full")                                           \
  X(drop_nd_pending_full, "drop: too many packets waiting for neighbour resolution")            \
  X(drop_nd_unresolved, "drop: neighbour never answered solicitations")                         \
  X(nd_entries_added, "neighbour cache entries created")                                       \
  X(nd_entries_expired, "neighbour cache entries removed (unreachable or collected)")          \
  X(nd_entries_shared, "neighbour mappings learned here and passed to the port's other queues") \
  X(nd_entries_from_peers, "neighbour mappings learned by another queue of the port, applied here") \
  X(nd_prefixes_ignored, "on-link prefixes from router advertisements not kept (table full)")   \
  X(nd_dad_succeeded, "addresses that passed duplicate address detection")                     \
  X(nd_dad_duplicates, "addresses found duplicate by DAD (not used)")                          \
  X(nd_address_conflicts, "advertisements from another node for an address we hold")          \
  X(nd_dad_shared, "DAD outcomes reached here and passed to the port's other queues")          \
  X(nd_dad_from_peers, "DAD outcomes reached by another queue of the port, applied here")      \
  X(nd_routers_shared, "router advertisements accepted here and passed to the port's other queues") \
  X(nd_routers_from_peers, "router advertisements accepted by another queue of the port, applied here")

namespace dtcp::stack {

DTCP_COUNTER_BLOCK(NetCounters, DTCP_NET_COUNTERS);

}  // namespace dtcp::stack
