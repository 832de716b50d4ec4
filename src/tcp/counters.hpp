// Per-shard TCP counters: one per event of interest and one per drop reason (FreeBSD style),
// written only by the shard's lcore. X(name, description), like DTCP_NET_COUNTERS.
#pragma once

#include <cstdint>

#include "base/counter_block.hpp"

#define DTCP_TCP_COUNTERS(X)                                                                          \
  X(rx_segments, "TCP segments received (a coalesced frame counts its wire segments)")                \
  X(rx_predicted, "segments taken by header prediction (in order, ACK only or ACK and text)")      \
  X(rx_coalesced_segments, "wire segments that arrived coalesced into a larger frame (LRO, rte_gro)") \
  X(rx_payload_bytes, "payload bytes received in sequence")                                           \
  X(rx_out_of_order, "segments queued for reassembly")                                                \
  X(rx_coalesced, "small payloads copied into the tail mbuf of the receive queue")                    \
  X(tx_segments, "TCP segments sent (each segment a TSO super-segment becomes on the wire)")          \
  X(tx_tso_super_segments, "TSO super-segments handed to the device (payload above one segment)")    \
  X(tx_tso_bytes, "payload bytes sent in TSO super-segments")                                         \
  X(tx_payload_bytes, "payload bytes sent (including retransmissions)")                               \
  X(tx_retransmitted_segments, "segments carrying data or a FIN sent again (RFC 4022 tcpRetransSegs)") \
  X(tx_retransmitted_bytes, "payload bytes sent again (timeouts, fast, SACK and probe retransmissions)") \
  X(tx_rst, "RST segments sent")                                                                      \
  X(tx_challenge_ack, "challenge ACKs sent (RFC 5961)")                                               \
  X(tx_retransmits, "data/FIN retransmission timeouts")                                               \
  X(timers_fired, "connection timer-wheel entries that expired (retransmission, delayed ACK, keep-alive, ...)") \
  X(tx_syn_retransmits, "SYN or SYN-ACK retransmissions")                                             \
  X(tx_syn_ack_duplicate_syn, "SYN-ACKs resent for a retransmitted SYN")                              \
  X(tx_window_probes, "zero-window probes sent")                                                      \
  X(tx_keepalive_probes, "keep-alive probes sent")                                                   \
  X(tx_window_updates, "window updates sent after the application read")                              \
  X(tx_no_mbuf, "segments not built for lack of mbufs (retried later)")                               \
  X(tx_fast_retransmits, "segments resent by fast retransmit or a NewReno partial ACK")               \
  X(tx_limited_transmits, "new segments sent beyond cwnd on duplicate ACKs (RFC 3042)")               \
  X(tx_delayed_acks, "ACKs sent when the delayed-ACK timer expired")                                  \
  X(tx_sack_blocks, "SACK blocks sent for out-of-order data")                                         \
  X(rx_dup_acks, "duplicate ACKs received (RFC 5681 definition)")                                     \
  X(rx_sack_blocks, "SACK blocks received")                                                          \
  X(rx_sack_invalid, "SACK blocks ignored: empty, beyond SND.MAX or below SND.UNA (not D-SACK)")      \
  X(rx_dsack, "D-SACK blocks received (RFC 2883)")                                                    \
  X(tx_dsack, "D-SACK blocks sent for duplicate segments (RFC 2883)")                                 \
  X(sack_recoveries, "fast recoveries entered with the SACK scoreboard (RFC 6675)")                  \
  X(sack_lost_segments, "segments deemed lost by RFC 6675 IsLost (RACK off)")                         \
  X(sack_reneged, "timeouts that found the peer had dropped data it SACKed (RFC 2018 8)")             \
  X(tx_sack_retransmits, "lost segments resent from the SACK scoreboard")                             \
  X(prr_sent_bytes, "bytes sent during SACK recovery as PRR allowed (RFC 6937)")                      \
  X(rack_lost_segments, "segments deemed lost by RACK (RFC 8985)")                                    \
  X(rack_reorder_timeouts, "RACK reordering timer expirations (RFC 8985 6.3)")                        \
  X(tlp_probes, "tail loss probes sent (RFC 8985 7)")                                                 \
  X(tlp_new_data, "tail loss probes that sent new data")                                              \
  X(tlp_repaired, "losses repaired by a tail loss probe (RFC 8985 7.4)")                              \
  X(dsack_undo, "congestion reductions undone because D-SACK showed them spurious")                  \
  X(cc_cubic_epochs, "CUBIC congestion-avoidance epochs started (RFC 9438)")                          \
  X(cc_hystart_exits, "slow starts ended by HyStart++ (RFC 9406)")                                    \
  X(sent_map_full, "sent-segment records not to be had (the map kept coarser records)")              \
  X(recovery_entered, "NewReno fast recoveries entered, without SACK (three duplicate ACKs)")                               \
  X(recovery_partial_acks, "partial ACKs during NewReno recovery")                                    \
  X(recovery_not_entered, "third duplicate ACKs ignored, below 'recover' (RFC 6582 3.2)")             \
  X(rto_spurious, "retransmission timeouts undone: the original was only delayed (RFC 3522)")        \
  X(rtt_timestamp_samples, "RTT samples taken from echoed timestamps (RFC 7323 4.1)")                 \
  X(conn_ecn, "connections that negotiated ECN (RFC 3168 6.1.1)")                                     \
  X(rx_ce, "data segments received marked CE on ECN connections (ECE echoed until CWR)")             \
  X(ecn_reductions, "congestion window reductions for an ECN-Echo, at most one per window")          \
  X(tx_cwr, "segments sent with CWR after a window reduction (RFC 3168 6.1.2)")                       \
  X(conn_active_opens, "connect() calls that entered SYN-SENT (AttemptFails too if no mbuf held the SYN)")                                             \
  X(connect_no_ephemeral_port, "connect() calls that found no free ephemeral port for their address and destination") \
  X(connect_port_range_walks_failed, "walks of the whole ephemeral range that found no port (remembered until one frees)") \
  X(conn_passive_opens, "SYNs accepted by a listener (SYN-RECEIVED)")                                 \
  X(conn_established, "connections that reached ESTABLISHED")                                         \
  X(conn_attempt_failed, "opens that failed: SYN-SENT or SYN-RECEIVED straight to CLOSED (RFC 4022 tcpAttemptFails)") \
  X(conn_estab_resets, "ESTABLISHED or CLOSE-WAIT straight to CLOSED (RFC 4022 tcpEstabResets)")        \
  X(conn_estab_entered, "entries into ESTABLISHED or CLOSE-WAIT from another state")                  \
  X(conn_estab_left, "exits from ESTABLISHED or CLOSE-WAIT to another state (entered - left = CurrEstab)") \
  X(conn_accept_refused, "connections refused by ListenHandler::on_accept")                           \
  X(conn_closed, "connections whose control block was released")                                      \
  X(conn_reset_by_peer, "connections reset by the peer")                                              \
  X(conn_timed_out, "connections given up after the retransmission limit")                            \
  X(conn_aborted, "connections aborted locally (abort(), close with unread data, ...)")               \
  X(conn_keepalive_timeout, "connections reset after unanswered keep-alive probes")                   \
  X(conn_fin_wait_2_timeout, "connections closed by the FIN-WAIT-2 timer")                            \
  X(time_wait_entered, "TIME-WAIT records created")                                                   \
  X(time_wait_expired, "TIME-WAIT records expired after 2*MSL")                                       \
  X(time_wait_reused, "TIME-WAIT records replaced by a new incarnation (SYN)")                        \
  X(time_wait_overflow, "connections closed at once because the TIME-WAIT pool was full")             \
  X(drop_split_header, "drop: chained segment whose TCP header is not within its first mbuf")         \
  X(drop_malformed, "drop: TCP header or options failed to parse")                                    \
  X(drop_bad_address, "drop: source broadcast/multicast/unspecified, or a port 0")                    \
  X(drop_closed_port, "drop: no connection or listener (RST sent unless the segment was RST)")        \
  X(drop_listen_rst, "drop: RST to a listener")                                                       \
  X(drop_listen_ack, "drop: ACK to a listener (RST sent)")                                            \
  X(drop_listen_no_syn, "drop: segment without SYN to a listener")                                    \
  X(drop_syn_pool_full, "drop: SYN while the connection pool was full")                               \
  X(drop_syn_backlog_full, "drop: SYN while the listener's SYN backlog was full")                     \
  X(drop_syn_budget, "drop: SYN past the shard's [tcp] syn_budget for this loop iteration (no state, no SYN-ACK)") \
  X(drop_syn_sent_bad_ack, "drop: SYN-SENT got an unacceptable ACK (RST sent unless RST)")            \
  X(drop_syn_sent_other, "drop: SYN-SENT got a segment with neither SYN nor acceptable RST")          \
  X(drop_unacceptable, "drop: sequence number outside the receive window (ACK sent unless RST)")      \
  X(rx_old_duplicate, "segments wholly below RCV.NXT (resent FIN or data, keep-alive probe): ACKed, not taken again") \
  X(drop_rst_out_of_window, "drop: RST outside the receive window")                                   \
  X(drop_rst_in_window, "drop: RST in window but not exact (challenge ACK, RFC 5961 3.2)")            \
  X(drop_syn_synchronized, "drop: SYN in a synchronized state (challenge ACK, RFC 5961 4.2)")         \
  X(drop_challenge_ack_limited, "challenge ACKs not sent because of the rate limit")                  \
  X(drop_no_ack_flag, "drop: segment without ACK in a synchronized state")                            \
  X(drop_paws, "drop: timestamp older than TS.Recent (PAWS, RFC 7323 5.3; ACK sent)")                 \
  X(drop_missing_timestamp, "drop: no timestamp option although negotiated (RFC 7323 3.2)")          \
  X(drop_ack_too_old, "drop: ACK below SND.UNA - MAX.SND.WND (challenge ACK, RFC 5961 5.2)")          \
  X(drop_ack_unsent, "drop: ACK of data never sent (ACK sent)")                                       \
  X(drop_syn_received_bad_ack, "drop: SYN-RECEIVED got an unacceptable ACK (RST sent)")               \
  X(drop_zero_window_data, "payload dropped because the receive window was zero")                     \
  X(drop_ooo_full, "drop: reassembly queue full")                                                     \
  X(drop_ooo_duplicate, "drop: out-of-order segment already held")                                    \
  X(drop_ooo_pruned, "drop: held out-of-order segment displaced by one nearer RCV.NXT")             \
  X(rcv_buffer_grown, "receive buffers doubled by auto-tuning")                                      \
  X(drop_data_after_close, "drop: data after the application closed (connection reset)")             \
  X(drop_data_after_fin, "drop: data after the peer's FIN")                                           \
  X(drop_time_wait_rst, "drop: RST in TIME-WAIT (ignored, RFC 1337)")                                 \
  X(drop_time_wait_segment, "drop: segment in TIME-WAIT (ACKed when the RFC says so)")             \
  X(mem_pressure_entered, "times the shard entered memory pressure (pool use above mem_pressure)")   \
  X(mem_reserve_used, "control segments built from the reserve (pool use above mem_high)")           \
  X(mem_data_refused, "data segments or send() mbufs refused: pool use above mem_high (retried)")    \
  X(mem_send_refused, "send() calls cut short by the connection's fair share under pressure")       \
  X(mem_window_clamped, "window advertisements held back by the fair share under pressure")         \
  X(mem_collapsed_mbufs, "mbufs freed by collapsing held receive data into fewer mbufs")              \
  X(mem_ooo_pruned, "out-of-order segments pruned under memory pressure (the sender resends)")        \
  X(time_wait_released, "TIME-WAIT records freed before 2*MSL because the stack stopped")             \
  X(syn_cookies_sent, "SYN-ACKs sent with a SYN cookie (no state kept, RFC 4987 3.6)")                \
  X(syn_cookies_validated, "ACKs whose SYN cookie was valid (connection established from it)")        \
  X(syn_cookies_failed, "ACKs to a listener whose SYN cookie was invalid or too old (RST sent)")      \
  X(syn_cookies_no_connection, "drop: valid SYN cookie ACK while the connection pool was full")       \
  X(syn_ack_pruned, "half-open connections given up early: SYN backlog more than half full")          \
  X(icmp_soft_errors, "ICMP errors kept as the connection's soft error (RFC 1122 4.2.3.9)")        \
  X(icmp_hard_errors, "ICMP port/protocol unreachable that ended a connection in its handshake")   \
  X(icmp_pmtu_reductions, "path MSS lowered by ICMP fragmentation needed (RFC 1191)")             \
  X(icmp_pmtu_floored, "fragmentation-needed MTUs below [tcp] min_pmtu, raised to it")             \
  X(icmp_rejected_no_connection, "ICMP errors ignored: no connection has the quoted 4-tuple")      \
  X(icmp_rejected_out_of_window, "ICMP errors ignored: quoted SEG.SEQ not in flight (RFC 5927 4.1)") \
  X(icmp_rejected_pmtu_not_lower, "fragmentation needed ignored: it would not lower the path MSS") \
  X(icmp_rejected_other, "ICMP errors ignored: a type or code TCP does not act on")               \
  X(conn_timed_out_unreachable, "connections timed out after an ICMP soft error (closed as unreachable)") \
  X(conn_orphan_timed_out, "orphans (closed by the application) reset after orphan_retries")      \
  X(conn_orphans_reset, "orphans reset early: past max_orphans, or their slot was needed")

namespace dtcp::tcp {

DTCP_COUNTER_BLOCK(TcpCounters, DTCP_TCP_COUNTERS);

}  // namespace dtcp::tcp
