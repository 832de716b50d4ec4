// The transmission control block (RFC 9293 §3.3.1), one per connection, preallocated in the
// shard's pool. Field names follow the RFC (snd.una -> snd_una, ...). Tcb derives from the public
// Connection, which has no state of its own beyond user_data, so API calls are static_casts.
#pragma once

#include <cstdint>
#include <type_traits>

#include <boost/intrusive/list_hook.hpp>
#include <boost/intrusive/unordered_set_hook.hpp>

#include "base/seq.hpp"
#include "base/time.hpp"
#include "base/timer_wheel.hpp"
#include "dtcp/tcp.hpp"
#include "tcp/congestion_slot.hpp"
#include "tcp/mbuf.hpp"
#include "tcp/sent_map.hpp"
#include "tcp/tuple.hpp"
#include "wire/tx_header.hpp"

namespace dtcp::tcp {

class ShardCore;
struct Listener;

inline constexpr TimePoint kNever = TimePoint::max();

// Events the state machine raises for the application; delivered by ShardCore::drain() after the
// segment or timer has been fully processed, so callbacks always see a consistent TCB.
enum Event : uint8_t {
  kEventAccept = 1 << 0,
  kEventConnected = 1 << 1,
  kEventReadable = 1 << 2,
  kEventPeerClosed = 1 << 3,
  kEventWritable = 1 << 4,
  kEventClosed = 1 << 5,
};

// Every plain field of a control block: each new connection starts them all at these defaults,
// by one copy of a default-constructed TcbFields in ShardCore::alloc_tcb() (a memcpy, since the
// struct is trivially copyable), so a field added here is reset without a list to keep in step.
// What is not plain (buffers, the congestion controller, the sent map, the timer entry and the
// intrusive hooks) lives in Tcb below and is emptied when the connection ends (release_tcb()).
struct TcbFields {
  // ---- identity, state ----
  FourTuple tuple;
  TcpState state = TcpState::closed;
  bool passive = false;  // created by a listener (SYN-RECEIVED -> LISTEN rules of RFC 9293)
  Listener* listener = nullptr;     // set while counted in the listener's SYN backlog
  Listener* accept_from = nullptr;  // passive: whose on_accept() announces it
  ConnectionHandler* handler = nullptr;  // nullptr: not accepted yet, or detached by close()/abort()

  // ---- send sequence space (RFC 9293 §3.3.1) ----
  SeqNum iss;
  SeqNum snd_una;
  SeqNum snd_nxt;
  SeqNum snd_max;  // highest sequence number sent + 1 (snd_nxt drops back on go-back-N)
  uint32_t snd_wnd = 0;
  uint32_t max_snd_wnd = 0;  // largest window the peer offered (RFC 5961 §5.2, SWS avoidance)
  SeqNum snd_wl1;
  SeqNum snd_wl2;
  uint16_t snd_mss = 536;  // effective send MSS (RFC 9293 §3.7.1, RFC 6691)
  bool fin_queued = false;  // the application shut the write side; FIN goes at fin_seq
  SeqNum fin_seq;           // sequence number of our FIN (valid when fin_queued)
  bool nodelay = false;
  uint32_t send_buffer = 0;  // bytes the application may queue (SO_SNDBUF); 0 = TcpConfig::send_buffer
  SeqNum snd_sml;  // end of the last segment shorter than snd_mss (Minshall's Nagle variant)

  // ---- receive sequence space ----
  SeqNum irs;
  SeqNum rcv_nxt;
  SeqNum rcv_adv;  // right edge of the window we last advertised (never moves left)
  bool fin_received = false;
  // Receive buffer auto-tuning: the buffer now, what the application read since the stamp.
  uint32_t rcv_space = 0;
  bool rcv_space_fixed = false;  // set_receive_buffer() (SO_RCVBUF): no auto-tuning
  uint32_t rcv_copied = 0;
  TimePoint rcv_space_stamp;

  // ---- negotiated options (RFC 7323, RFC 2018) ----
  uint8_t snd_wscale = 0;  // shift applied to windows the peer sends
  uint8_t rcv_wscale = 0;  // shift applied to windows we send
  bool wscale_ok = false;  // both SYNs carried window scale
  bool ts_ok = false;      // both SYNs carried timestamps
  bool sack_ok = false;    // both SYNs carried SACK-permitted
  uint32_t ts_recent = 0;  // RFC 7323 §4.3 TS.Recent
  TimePoint ts_recent_stamp;  // when ts_recent was last updated (PAWS idle rule, §5.5)
  uint32_t ts_offset = 0;  // per-connection random offset of our TSval clock (RFC 7323 §7.1)
  SeqNum last_ack_sent;    // RFC 7323 §4.3 Last.ACK.sent
  SeqNum sack_recent;      // start of the out-of-order data that arrived last (first SACK block)
  uint32_t sack_history[4] = {};  // left edges of the SACK blocks last sent, in the order sent
  uint8_t sack_history_count = 0;

  // ---- application side ----
  bool app_closed = false;     // close() called: no reads any more, data arriving => RST
  bool want_writable = false;  // a send did not fit; raise kEventWritable when space frees
  uint8_t events = 0;          // pending Event bits
  CloseReason close_reason = CloseReason::normal;
  bool zombie = false;  // closed; memory returns to the pool after the current drain

  // ---- buffers ----
  MbufQueue::Cursor snd_cursor;  // where the last segment was copied from

  // ---- totals for operators (ss -i's bytes_sent/bytes_acked/bytes_received/delivery_rate) ----
  TimePoint opened;             // when the control block was taken
  uint64_t bytes_sent = 0;      // payload bytes sent, retransmissions included
  uint64_t bytes_acked = 0;     // payload bytes cumulatively acknowledged
  uint64_t bytes_received = 0;  // payload bytes received in sequence
  // Delivery rate: bytes acknowledged over a sample of at least one smoothed RTT (RFC 4898's
  // idea, simplified: no per-segment send times as Linux keeps).
  uint64_t rate_acked_at_start = 0;
  TimePoint rate_sample_start;
  uint64_t delivery_rate = 0;  // bytes/s of the last complete sample

  // ---- retransmission (RFC 6298) ----
  Duration srtt{0};
  Duration rttvar{0};
  Duration rto{0};
  bool have_rtt = false;
  bool rtt_timing = false;  // a segment is being timed (one at a time, Karn's rule)
  SeqNum rtt_seq;           // ... the one starting here
  TimePoint rtt_sent;
  TimePoint first_timeout_at;    // when `retries` went from 0 to 1 (the orphan time floor, timers.cpp)
  uint32_t retries = 0;          // consecutive timeouts of the oldest unacknowledged segment
  bool syn_retransmitted = false;  // RFC 6298 §5.7
  // Built from a SYN cookie: the ACK completing the handshake echoes a TSval rounded down to
  // the cookie's option bits, so it gives no RTT sample (syn_cookies.cpp).
  bool cookie_untimed = false;
  uint32_t persist_backoff = 0;
  uint32_t persist_unanswered = 0;  // window probes since the peer last ACKed anything
  bool ack_now = false;    // an ACK must go out (with data if any)
  // Delayed ACK (RFC 9293 §3.8.6.3): in-order bytes not yet acknowledged, and the largest segment
  // seen (Linux's rcv_mss), so every second full-sized segment is ACKed at once.
  uint32_t rcv_unacked = 0;
  uint16_t rcv_mss = 536;

  // ---- loss recovery (RFC 5681 §3.2, RFC 6582 NewReno, RFC 3042 limited transmit) ----
  uint32_t dupacks = 0;
  bool in_recovery = false;
  bool partial_ack_seen = false;  // RFC 6582 §3.2 step 5: the timer resets on the first only
  SeqNum recover;                 // RFC 6582 "recover": snd_max when recovery began
  // Eifel detection (RFC 3522) of a spurious first timeout: the TSval of the retransmission and
  // the window before the timeout collapsed it, kept until the next ACK of new data.
  bool rto_undo_armed = false;
  uint32_t rto_tsval = 0;

  // ---- ECN, RFC 3168 (ecn.cpp) ----
  bool ecn_offered = false;  // active open: our first SYN was ECN-setup (ECE|CWR)
  bool ecn_ok = false;       // both ends agreed (§6.1.1): new data goes ECT(0); ECE and CWR count
  bool ece_pending = false;  // receiver: a CE arrived; ECE on every ACK until the peer's CWR (§6.1.3)
  bool cwr_pending = false;  // sender: cwnd was reduced; CWR on the next new data segment (§6.1.2)
  SeqNum ecn_recover;        // SND.MAX at the last ECE reduction (Linux's high_seq in CA_CWR)
  // The flight nearly filled cwnd at the last send: only then does an ACK grow cwnd (RFC 7661).
  bool cwnd_limited = false;
  TimePoint last_data_sent;  // idle restart (RFC 5681 §4.1)
  Duration latest_rtt{0};    // the last RTT sample and when it was taken (for AckSample::rtt)
  TimePoint latest_rtt_at;

  // ---- SACK loss recovery (recovery.cpp): RFC 6675 scoreboard, RFC 6937 PRR, RFC 8985 RACK-TLP ----
  // Used when both SYNs carried SACK-permitted; NewReno above serves the others.
  enum class LossState : uint8_t {
    open,      // no loss being repaired
    recovery,  // fast recovery: lost segments resent at the pace PRR sets, until `recover` is acked
    loss,      // after a retransmission timeout: lost segments resent in slow start
  };
  LossState loss_state = LossState::open;
  SeqNum retransmit_hint;  // NextSeg: lost records below it have all been resent
  // RFC 6937: bytes delivered and sent since recovery began, and the flight when it began.
  uint32_t prr_delivered = 0;
  uint32_t prr_out = 0;
  uint32_t recover_fs = 0;
  // RFC 8985 §6.1: the most recently sent segment that was delivered, and what RACK learned.
  TimePoint rack_xmit_ts;
  uint32_t rack_xmit_order = 0;  // its SentSegment::xmit_order
  SeqNum rack_end_seq;           // and where its delivered part ended
  Duration rack_rtt{0};
  Duration min_rtt{0};
  SeqNum rack_fack;  // highest sequence number delivered (SACKed or acked)
  bool rack_reordering_seen = false;
  uint8_t rack_reo_wnd_mult = 1;
  uint8_t rack_reo_wnd_persist = 0;
  bool rack_dsack_round = false;
  SeqNum rack_dsack_round_end;
  // RFC 8985 §7: the tail loss probe in flight.
  bool tlp_in_flight = false;
  bool tlp_retransmitted = false;
  SeqNum tlp_end_seq;
  // RFC 2883 undo: retransmissions of this loss episode not yet reported duplicate by D-SACK.
  bool dsack_undo_armed = false;
  uint32_t undo_retrans = 0;
  SeqNum undo_marker;
  // Receiver: a duplicate segment to report as the first SACK block of the next ACK (RFC 2883).
  bool dsack_pending = false;
  SeqNum dsack_left;
  SeqNum dsack_right;

  // ---- timers: deadlines as fields, one wheel entry armed for the earliest ----
  TimePoint rexmit_deadline = kNever;
  TimePoint persist_deadline = kNever;     // zero-window probe / SWS override
  TimePoint fin_wait_2_deadline = kNever;
  TimePoint tx_retry_deadline = kNever;    // retry after mbuf exhaustion
  TimePoint keepalive_deadline = kNever;   // lazily re-armed from last_rx (see timers.cpp)
  TimePoint delack_deadline = kNever;
  TimePoint rack_deadline = kNever;  // RFC 8985 §6.3 reordering timer
  TimePoint tlp_deadline = kNever;   // RFC 8985 §7.2 probe timeout

  // ---- keep-alive ----
  Duration keepalive_idle{0};  // 0 = off
  Duration keepalive_interval{0};
  uint32_t keepalive_probes = 0;
  uint32_t keepalive_sent = 0;  // unanswered probes
  TimePoint last_rx;            // last acceptable ACK from the peer

  // ---- ICMP (icmp.cpp) and orphans ----
  // The path MSS an ICMP fragmentation-needed set (RFC 1191), capping snd_mss; never raised.
  uint16_t path_mss = 0xffff;
  // The last soft error (RFC 1122 4.2.3.9): its ICMP type (0 = none) and code, cleared when an
  // ACK advances SND.UNA (as Linux clears sk_err_soft); a timeout then closes as unreachable.
  uint8_t soft_error_type = 0;
  uint8_t soft_error_code = 0;
  // close() was called and the connection still finishes its close on its own (FIN-WAIT-1,
  // FIN-WAIT-2, CLOSING, LAST-ACK): linked in the shard's orphan list, oldest first.
  bool orphan = false;

  // ---- transmit ----
  // The Ethernet and IP headers of this connection's segments, built and checked by the IP
  // layer (SegmentOutput::send_connection_segment()); generation 0 (fresh) = not built.
  wire::TxHeaderTemplate tx_header;
};
static_assert(std::is_trivially_copyable_v<TcbFields>, "alloc_tcb() resets TcbFields by a plain copy");

struct Tcb final : Connection, TcbFields {
  Tcb() = default;
  // The fields, not Connection's calls of the same names, as when they were Tcb's own members.
  using TcbFields::send_buffer;
  using TcbFields::state;

  // ---- identity (kept across connections: the slot and how often it was handed out) ----
  ShardCore* core = nullptr;
  uint32_t slot = 0;        // index in the shard's pool (ConnectionId::slot)
  uint32_t generation = 0;  // times the slot was handed out (ConnectionId::generation)

  // ---- buffers (empty whenever the block is free) ----
  MbufQueue snd_buf;  // data from snd_una (after the SYN) to the end of what the app queued
  MbufQueue rcv_buf;  // in-order data not yet read
  MbufQueue ooo;      // out-of-order segments, sorted, disjoint (seq in mbuf scratch)

  CongestionSlot cc;  // chosen (select()) by every open: active, passive and SYN cookie
  // SACK loss recovery's sent-segment map (recovery.cpp); cleared to its fresh state on close.
  SentMap sent;
  TimerEntry timer;  // one wheel entry for the earliest deadline (timers.cpp); disarmed when free

  // ---- intrusive hooks (unlinked whenever the block is free) ----
  boost::intrusive::unordered_set_member_hook<> table_hook;
  size_t tuple_hash = 0;  // keys.table_hash(tuple), set by TupleTable::insert(); its TIME-WAIT record reuses it
  boost::intrusive::list_member_hook<> pending_hook;  // drain() / reap lists
  boost::intrusive::list_member_hook<> orphan_hook;   // ShardCore::orphans_, while orphan

  bool synchronized() const { return state != TcpState::syn_sent && state != TcpState::syn_received; }
  // SYN not yet acknowledged: it occupies snd_una.
  bool syn_unacked() const { return snd_una == iss; }
  // Sequence number after the last byte the application queued.
  SeqNum data_end() const { return snd_una + SeqLen((syn_unacked() ? 1u : 0u) + snd_buf.bytes()); }
  bool fin_sent() const { return fin_queued && snd_max > fin_seq; }
  bool fin_acked() const { return fin_queued && snd_una > fin_seq; }
  uint32_t rcv_wnd() const { return rcv_adv > rcv_nxt ? (rcv_adv - rcv_nxt).value() : 0; }
  uint32_t flight_size() const { return (snd_max - snd_una).value(); }
  // RFC 3168 §6.1.2: an ECE reduced cwnd and SND.UNA has not yet passed the data in flight then;
  // congestion signals from that window (ECE or loss) must not reduce it again.
  bool ecn_window_reduced() const { return ecn_ok && snd_una <= ecn_recover; }
  // Largest payload of a segment: the MSS less the timestamp option (RFC 6691 §2, RFC 7323 §3).
  uint32_t eff_mss() const { return snd_mss - (ts_ok ? 12u : 0u); }
};

const char* state_name(TcpState s);

}  // namespace dtcp::tcp
