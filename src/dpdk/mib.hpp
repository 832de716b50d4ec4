// The TCP MIB under the names operators know: RFC 4022's tcp group (what `netstat -s` prints
// and Linux's `nstat` shows as Tcp*), and Linux's TcpExt names for what RFC 4022 lacks. Each
// entry is derived from dtcp's own counters (StackCounters), so one definition serves the exit
// print, `/dtcp/stats` and `dtcp-ss -s`; dtcp's finer drop reasons stay beside it under their
// own names. X(name, value expression over `c`, description); where dtcp's meaning differs from
// the kernel's, the description says how.
#pragma once

#include <cstdint>

#include "dpdk/worker.hpp"

#define DTCP_MIB(X)                                                                                                 \
  X(ActiveOpens, c.tcp.conn_active_opens, "direct transitions CLOSED -> SYN-SENT (connect() sent a SYN)")           \
  X(PassiveOpens, c.tcp.conn_passive_opens, "direct transitions LISTEN -> SYN-RECEIVED, and SYN cookies validated") \
  X(AttemptFails, c.tcp.conn_attempt_failed, "SYN-SENT or SYN-RECEIVED -> CLOSED")                                  \
  X(EstabResets, c.tcp.conn_estab_resets, "ESTABLISHED or CLOSE-WAIT -> CLOSED")                                    \
  X(CurrEstab, c.tcp.conn_estab_entered - c.tcp.conn_estab_left, "connections now in ESTABLISHED or CLOSE-WAIT")    \
  X(InSegs, c.tcp.rx_segments, "segments received, in error or not (as handed to TCP)")                             \
  X(OutSegs, c.tcp.tx_segments - c.tcp.tx_retransmitted_segments,                                                   \
    "segments sent, retransmissions excluded (RFC 4022 tcpOutSegs)")                                                \
  X(RetransSegs, c.tcp.tx_retransmitted_segments + c.tcp.tx_syn_retransmits,                                       \
    "segments sent again: data, FIN, SYN and SYN-ACK")                                                              \
  X(InErrs, c.net.drop_tcp_malformed + c.net.drop_tcp_bad_checksum + c.tcp.drop_malformed,                          \
    "segments received in error: bad checksum or malformed header/options")                                        \
  X(OutRsts, c.tcp.tx_rst, "segments sent with RST")                                                                \
  X(InCsumErrors, c.net.drop_tcp_bad_checksum, "segments received with a bad TCP checksum")                         \
  X(SyncookiesSent, c.tcp.syn_cookies_sent, "SYN-ACKs sent carrying a SYN cookie (RFC 4987 3.6)")                   \
  X(SyncookiesRecv, c.tcp.syn_cookies_validated, "ACKs whose SYN cookie was valid")                                 \
  X(SyncookiesFailed, c.tcp.syn_cookies_failed, "ACKs to a listener whose SYN cookie was invalid or too old")        \
  X(EmbryonicRsts, c.tcp.drop_syn_received_bad_ack, "resets sent for unacceptable ACKs in SYN-RECEIVED")             \
  X(ListenOverflows, c.tcp.drop_syn_backlog_full,                                                                   \
    "SYNs dropped: the listener's SYN backlog was full (dtcp has no accept queue; cookies off)")                    \
  X(ListenDrops, c.tcp.drop_syn_backlog_full + c.tcp.drop_syn_pool_full + c.tcp.syn_cookies_no_connection +         \
                     c.tcp.conn_accept_refused + c.tcp.drop_syn_budget,                                             \
    "SYNs or cookie ACKs a listener could not take: backlog or pool full, SYN budget, or refused by on_accept")    \
  X(TW, c.tcp.time_wait_expired, "TIME-WAIT records that ran out their 2*MSL")                                      \
  X(TWRecycled, c.tcp.time_wait_reused, "TIME-WAIT records replaced by a new SYN (RFC 6191)")                      \
  X(TCPTimeWaitOverflow, c.tcp.time_wait_overflow, "connections closed at once: the TIME-WAIT pool was full")       \
  X(PAWSEstab, c.tcp.drop_paws, "segments dropped by PAWS (RFC 7323 5.3)")                                          \
  X(TCPTimeouts, c.tcp.tx_retransmits + c.tcp.tx_syn_retransmits, "retransmission timeouts (data, FIN, SYN)")       \
  X(TCPLossProbes, c.tcp.tlp_probes, "tail loss probes sent (RFC 8985 7)")                                          \
  X(TCPLossProbeRecovery, c.tcp.tlp_repaired, "losses repaired by a tail loss probe")                                \
  X(TCPSackRecovery, c.tcp.sack_recoveries, "fast recoveries with the SACK scoreboard (RFC 6675)")                  \
  X(TCPRenoRecovery, c.tcp.recovery_entered, "fast recoveries without SACK (RFC 6582)")                          \
  X(TCPFastRetrans, c.tcp.tx_fast_retransmits + c.tcp.tx_sack_retransmits, "segments resent by fast recovery")      \
  X(TCPSACKReneging, c.tcp.sack_reneged, "timeouts that found SACKed data dropped by the peer")                      \
  X(TCPDSACKRecv, c.tcp.rx_dsack, "D-SACK blocks received (RFC 2883)")                                              \
  X(TCPDSACKOldSent, c.tcp.tx_dsack, "D-SACK blocks sent")                                                          \
  X(TCPDSACKUndo, c.tcp.dsack_undo, "congestion reductions undone by D-SACK")                                       \
  X(TCPSpuriousRTOs, c.tcp.rto_spurious, "retransmission timeouts undone as spurious (RFC 3522)")                   \
  X(TCPOFOQueue, c.tcp.rx_out_of_order, "segments queued out of order")                                             \
  X(TCPOFODrop, c.tcp.drop_ooo_full, "out-of-order segments dropped: reassembly queue full")                        \
  X(TCPChallengeACK, c.tcp.tx_challenge_ack, "challenge ACKs sent (RFC 5961)")                                      \
  X(TCPACKSkippedChallenge, c.tcp.drop_challenge_ack_limited, "challenge ACKs not sent: rate limit")                \
  X(TCPSYNChallenge, c.tcp.drop_syn_synchronized, "SYNs in a synchronized state (RFC 5961 4.2)")                    \
  X(TCPAbortOnData, c.tcp.drop_data_after_close, "resets sent for data after the application closed")               \
  X(TCPAbortOnTimeout, c.tcp.conn_timed_out + c.tcp.conn_keepalive_timeout + c.tcp.conn_orphan_timed_out,           \
    "connections given up by a timer: retransmission limit, keep-alive, orphan retries")                           \
  X(TCPAbortOnMemory, c.tcp.conn_orphans_reset, "orphans reset for want of control blocks")                        \
  X(TCPAbortOnClose, c.tcp.conn_aborted, "connections aborted locally")                                             \
  X(TCPKeepAlive, c.tcp.tx_keepalive_probes, "keep-alive probes sent")                                              \
  X(TCPWinProbe, c.tcp.tx_window_probes, "zero-window probes sent")                                                 \
  X(TCPDelivered, c.tcp.rx_payload_bytes, "payload bytes received in sequence (dtcp: bytes, not segments)")         \
  X(TCPHystartExits, c.tcp.cc_hystart_exits, "slow starts ended by HyStart++ (RFC 9406)")                          \
  X(TCPPMTUReductions, c.tcp.icmp_pmtu_reductions, "path MSS lowered by ICMP (RFC 1191, RFC 8201)")                 \
  X(TCPTimerFires, c.tcp.timers_fired, "connection timer-wheel entries expired (the wheel's load)")                 \
  X(TCPConnInUse, c.gauges.conn_in_use, "control blocks in use (gauge)")                                             \
  X(TCPConnCapacity, c.gauges.conn_capacity, "control blocks preallocated (gauge)")                                  \
  X(TCPTimeWaitNow, c.gauges.time_wait_records, "TIME-WAIT records held now (gauge)")

namespace dtcp::dpdk {

// Calls fn(name, value, description) for each MIB entry of `c`, in the table's order.
template <class Fn>
void for_each_mib(const StackCounters& c, Fn&& fn) {
#define DTCP_MIB_VISIT(name, value, description) fn(#name, static_cast<uint64_t>(value), description);
  DTCP_MIB(DTCP_MIB_VISIT)
#undef DTCP_MIB_VISIT
}

}  // namespace dtcp::dpdk
