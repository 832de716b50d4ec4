// Internals of a shard. The member functions are split by role, gVisor style:
//   shard.cpp      pools, tables, listeners, connect(), event delivery (drain), TIME-WAIT records
//   input.cpp      segment arrival: RFC 9293 §3.10.7 per state, each check a verdict
//   receive.cpp    the receiver: trimming, reassembly, receive queue, window advertisement
//   output.cpp     the sender: segment building, SWS/Nagle, options, RST/ACK replies
//   timers.cpp     retransmission (RFC 6298), persist, FIN-WAIT-2, the one wheel entry per TCB
//   recovery.cpp   loss recovery with SACK: scoreboard, RACK-TLP, PRR, D-SACK (sent_map.* holds
//                  the records); reno_recovery.cpp: NewReno for peers without SACK;
//                  congestion.hpp / cubic.*: the controllers
//   icmp.cpp       ICMP errors: soft and hard errors (RFC 1122, RFC 5927), path MTU (RFC 1191)
//   api.cpp        Connection's methods
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "base/seq.hpp"
#include "base/time.hpp"
#include "base/timer_wheel.hpp"
#include "dtcp/tcp.hpp"
#include "tcp/counters.hpp"
#include "tcp/isn.hpp"
#include "tcp/mbuf.hpp"
#include "tcp/shard.hpp"
#include "tcp/table.hpp"
#include "tcp/tcb.hpp"
#include "tcp/time_wait.hpp"
#include "wire/ecn.hpp"
#include "wire/tcp.hpp"

namespace dtcp::tcp {

// TCP timers run on a wheel of 1 ms ticks.
inline constexpr int64_t kMicrosPerTick = 1000;
inline Tick tick_floor(TimePoint t) { return static_cast<Tick>(t.time_since_epoch().count() / kMicrosPerTick); }
inline Tick tick_ceil(TimePoint t) {
  return static_cast<Tick>((t.time_since_epoch().count() + kMicrosPerTick - 1) / kMicrosPerTick);
}
// RFC 6298 §2: G, the clock granularity, is one timer tick.
inline constexpr Duration kClockGranularity = std::chrono::milliseconds(1);
// RFC 9293 §3.7.1 / RFC 1122 4.2.2.6: the MSS assumed when the peer sends no MSS option.
inline constexpr uint16_t kDefaultMss = 536;
// Receive queue: payloads up to this size are copied into the tail mbuf when it has room, so a
// peer trickling tiny segments cannot pin one mbuf per byte (see receive.cpp).
inline constexpr uint32_t kCoalesceMax = 1024;
// Reassembly queue entries carry their first sequence number and flags in the mbuf's scratch
// fields; this flag marks the entry that held the peer's FIN (receive.cpp), which the SACK blocks
// must cover too (output.cpp).
inline constexpr uint32_t kScratchFin = 1;
inline bool ooo_fin(const rte_mbuf* m) { return (mbuf_scratch_flags(m) & kScratchFin) != 0; }

struct Listener {
  uint16_t port = 0;
  bool active = false;
  ListenHandler* handler = nullptr;
  uint32_t syn_backlog = 0;
  uint32_t syn_received = 0;  // TCBs in SYN-RECEIVED counted against syn_backlog
  bool nodelay = false;
  CongestionAlgorithm congestion = CongestionAlgorithm::cubic;  // resolved at listen()
  bool ecn = false;                                             // resolved at listen()
  bool keepalive = false;
  Duration keepalive_idle{0};  // resolved against TcpConfig at listen()
  Duration keepalive_interval{0};
  uint32_t keepalive_probes = 0;
  uint32_t send_buffer = 0;  // ListenOptions: 0 = TcpConfig's
  uint32_t recv_buffer = 0;
  // SYN flood defence (syn_cookies.cpp).
  SynCookies syn_cookies = SynCookies::automatic;  // resolved at listen()
  std::optional<wire::IpFamily> family;             // empty = both
  uint32_t syn_old = 0;            // of syn_received, those whose SYN-ACK was retransmitted
  bool cookie_sent = false;        // a cookie SYN-ACK went out, last at last_cookie_sent
  TimePoint last_cookie_sent;
};

// An incoming segment after parsing: the TCP header is stripped from `payload`, whose data is
// exactly the segment text (len bytes, pkt_len of the head; possibly 0). The payload may be a
// chain (a coalesced or scattered frame): trim it with mbuf_chain_trim_front/back.
struct Segment {
  SeqNum seq;
  SeqNum ack;
  wire::TcpFlags flags = wire::TcpFlags::none;
  uint16_t wnd = 0;  // raw header field (unscaled)
  wire::Ecn ecn = wire::Ecn::not_ect;  // the IP header's ECN field
  wire::TcpOptions options;
  uint32_t len = 0;
  // The size of the wire segments it holds: len, or for a frame coalesced by LRO / rte_gro the
  // size of the (full-sized) segments it was made of, which is what the peer's MSS is.
  uint16_t wire_segment_size = 0;
  MbufPtr payload;

  bool has(wire::TcpFlags f) const { return wire::has(flags, f); }
  // SEG.LEN of RFC 9293: payload plus one for each of SYN and FIN.
  SeqLen seg_len() const {
    return SeqLen(len + (has(wire::TcpFlags::syn) ? 1u : 0u) + (has(wire::TcpFlags::fin) ? 1u : 0u));
  }
};

// What one step of segment processing decided (RFC 9293 §3.10.7.4).
enum class Verdict : uint8_t {
  proceed,       // go on to the next check
  drop,          // discard the segment (replies already queued, if any)
  drop_and_ack,  // discard it and send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
  done,          // the segment was fully handled (e.g. the connection closed)
};

class ShardCore {
 public:
  ShardCore(const TcpConfig& config, const ShardEnv& env, TimePoint now);
  ~ShardCore();

  // ---- entry points (Shard forwards here) ----
  void input(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now);
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now);
  void advance(TimePoint now);
  ListenResult listen(uint16_t port, ListenHandler& handler, const ListenOptions& options);
  void unlisten(uint16_t port);
  ConnectResult connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                        const ConnectOptions& options, TimePoint now);
  void for_each_connection(void (*fn)(void*, const ConnectionInfo&), void* ctx) const;
  uint64_t list_connections(uint64_t cursor, const ConnectionFilter& filter, size_t max_entries, size_t max_slots,
                            void (*fn)(void*, const ConnectionInfo&), void* ctx) const;
  void for_each_listener(void (*fn)(void*, const ListenerInfo&), void* ctx) const;
  void describe(const Tcb& t, ConnectionInfo& info) const;
  void describe(const TimeWaitRecord& tw, ConnectionInfo& info) const;
  TimePoint next_deadline() const;
  void abort_all();

  // ---- Connection API (api.cpp) ----
  size_t api_read(Tcb& t, std::span<std::byte> out);
  void api_consume(Tcb& t, size_t n);
  size_t api_send_space(const Tcb& t) const;
  size_t api_send(Tcb& t, std::span<const std::byte> data);
  bool api_send_mbuf(Tcb& t, rte_mbuf* m);
  void api_shutdown_write(Tcb& t);
  void api_close(Tcb& t);
  void api_abort(Tcb& t);
  void api_set_nodelay(Tcb& t, bool on);
  TimePoint now_for_api() const { return now_; }  // the `now` of the latest input/advance/connect
  uint32_t send_limit(const Tcb& t) const { return t.send_buffer != 0 ? t.send_buffer : config.send_buffer; }
  void api_set_keepalive(Tcb& t, Duration idle, Duration interval, uint32_t probes);

  // Every call from outside (input, advance, connect, API) holds one of these; when the outermost
  // one ends, drain() delivers events, flushes output and reclaims closed TCBs. This is what makes
  // re-entrant callbacks safe.
  class Entry {
   public:
    explicit Entry(ShardCore& core) : core_(core) { enter(); }
    // An entry that brings the time (a segment, the loop's advance(), connect()): the clock
    // moves first, so the refresh's interval is judged on it.
    Entry(ShardCore& core, TimePoint now) : core_(core) {
      core_.now_ = now;
      enter();
    }
    ~Entry() {
      if (core_.depth_ == 1) core_.drain();
      --core_.depth_;
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    // The refresh's own interval is checked here, inline: most entries are within it.
    void enter() {
      if (core_.depth_++ == 0 && core_.now_ >= core_.mem_refresh_due_) core_.mem_refresh();
    }
    ShardCore& core_;
  };

  const TcpConfig config;
  const ShardEnv env;
  TcpCounters counters;

 private:
  friend class Shard;
  using TcbList = boost::intrusive::list<
      Tcb, boost::intrusive::member_hook<Tcb, boost::intrusive::list_member_hook<>, &Tcb::pending_hook>>;
  using OrphanList = boost::intrusive::list<
      Tcb, boost::intrusive::member_hook<Tcb, boost::intrusive::list_member_hook<>, &Tcb::orphan_hook>>;
  using TimeWaitList = boost::intrusive::list<
      TimeWaitRecord, boost::intrusive::member_hook<TimeWaitRecord, boost::intrusive::list_member_hook<>,
                                                    &TimeWaitRecord::expiry_hook>>;

  // ---- shard.cpp: pools, events ----
  Tcb* alloc_tcb(const FourTuple& tuple, TimePoint now);
  void release_tcb(Tcb& t);
  void schedule(Tcb& t);
  void raise(Tcb& t, uint8_t events) {
    t.events |= events;
    schedule(t);
  }
  void drain();
  void deliver_events(Tcb& t);
  // The active listener that accepts `family` on `port`.
  Listener* find_listener(uint16_t port, wire::IpFamily family);
  bool tuple_in_use(const FourTuple& t) const;
  // The MSS this side announces and sends at most on `t`'s family (tuple.hpp family_mss()).
  uint16_t local_mss(const FourTuple& t) const { return family_mss(config.mss, t); }
  uint16_t local_mss(const Tcb& t) const { return local_mss(t.tuple); }
  uint16_t pick_ephemeral_port(wire::IpAddr local, wire::IpAddr remote, uint16_t remote_port);
  // A 4-tuple left both tables (not for TIME-WAIT): a range remembered as exhausted for its
  // local address and destination may have a port again.
  void tuple_freed(const FourTuple& t);
  void set_state(Tcb& t, TcpState next);
  [[gnu::cold, gnu::noinline]] void trace_state_change(const Tcb& t, TcpState next);  // set_state()'s log line and tracer call
  // Ends the connection: out of the table, buffers freed, timers stopped, state CLOSED;
  // on_closed(reason) is raised if the application is still attached.
  void close_connection(Tcb& t, CloseReason reason);
  // Sends RST <SEQ=SND.NXT> (when synchronized) and closes with `reason`.
  void reset_connection(Tcb& t, CloseReason reason);
  // close() left `t` to finish on its own: it joins the orphan list (and the oldest orphan is
  // reset when that passes max_orphans).
  void make_orphan(Tcb& t);
  // Resets the oldest orphan and returns its control block to the free list at once, for a
  // new connection that found none. False when there is no orphan.
  bool reclaim_oldest_orphan();
  // The retransmission budget of `t` (orphan_retries for orphans, else max_retries).
  uint32_t retry_limit(const Tcb& t) const { return t.orphan ? config.orphan_retries : config.max_retries; }
  // An orphan gives up after orphan_retries timeouts, but not before those timeouts would have
  // taken from Linux's 200 ms minimum RTO (TCP_RTO_MIN; Linux's retransmits_timed_out() is
  // time-based the same way): with dtcp's 10 ms floor, 4 retries alone would end an orphan, and
  // the data it still had to deliver, after a stall of a third of a second (a busy lcore, a
  // congested queue). The floor counts from the first timeout: 2^(k+1) - 2 base RTOs, 6 s for 4.
  Duration orphan_time_floor() const {
    constexpr Duration kLinuxMinRto = std::chrono::milliseconds(200);
    const uint32_t k = std::min<uint32_t>(config.orphan_retries, 20);
    const Duration floor = kLinuxMinRto * ((int64_t{2} << k) - 2);
    return std::min(floor, config.max_rto * (k + 1));
  }
  void enter_time_wait(Tcb& t, TimePoint now);
  // `hash`, here and in the listen path: keys_.table_hash(tuple), the segment's lookup's.
  void time_wait_segment_arrives(TimeWaitRecord& tw, Segment& seg, const FourTuple& tuple, size_t hash, TimePoint now);
  void expire_time_wait(TimePoint now);
  void free_time_wait(TimeWaitRecord& tw);

  // ---- input.cpp: segment arrival ----
  void closed_segment_arrives(const FourTuple& tuple, const Segment& seg);
  void listen_segment_arrives(Listener& l, const FourTuple& tuple, size_t hash, Segment& seg, TimePoint now,
                              const SeqNum* time_wait_snd_nxt);
  // Admission of a bare SYN (no ACK, no RST), before the lookups and anything else is spent on
  // it: false (counted) when the shard is behind and this loop iteration's syn_budget is used up.
  bool syn_admitted();
 public:
  // A bare SYN the interface dropped before its checksums because shedding_syns_ was set:
  // counted as drop_syn_budget and as a segment of this iteration, as syn_admitted()
  // would have.
  void syn_shed();
  // True while behind with this iteration's syn_budget used up: the interface may drop bare
  // SYNs before any parse (Shard::syn_shedding_flag()).
  bool shedding_syns_ = false;

 private:
  void syn_sent_segment_arrives(Tcb& t, Segment& seg, TimePoint now);
  void segment_arrives(Tcb& t, Segment& seg, TimePoint now);
  // Header prediction: an ESTABLISHED connection's next segment in order, carrying only an ACK
  // (and PSH) that every check of segment_arrives() would pass unchanged, takes a short path.
  bool header_predicted(const Tcb& t, const Segment& seg) const;
  void predicted_segment_arrives(Tcb& t, Segment& seg, TimePoint now);
  Verdict check_sequence(Tcb& t, Segment& seg);
  bool repeated_fin_acks_new_data(const Tcb& t, const Segment& seg, SeqLen len) const;
  Verdict check_rst(Tcb& t, const Segment& seg);
  Verdict check_syn(Tcb& t, const Segment& seg);
  Verdict check_ack(Tcb& t, const Segment& seg, TimePoint now);
  // The fifth step's work for an acceptable ACK (SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.MAX):
  // the scoreboard or NewReno, the send window, ECN. `prior_una`: SND.UNA before the segment.
  // Inlined into both callers: out of line, the full path paid about 50 instructions a
  // segment more for the call (tools/bench --cost, connection).
  [[gnu::always_inline]] inline void take_ack(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now);
  // `in_recovery_partial`: a partial ACK during NewReno recovery (no cwnd growth; the timer
  // restarts only for the first one, RFC 6582 §3.2 step 5).
  void ack_advances(Tcb& t, SeqNum ack, TimePoint now, const wire::TcpOptions* options = nullptr,
                    bool in_recovery_partial = false);
  void update_send_window(Tcb& t, const Segment& seg, bool ack_advanced);
  void establish(Tcb& t, const Segment& seg, TimePoint now);
  // The SYN-only options of the peer's SYN (RFC 9293 §3.7.1, RFC 7323 §2-3, RFC 2018 §2).
  void take_syn_options(Tcb& t, const Segment& seg, TimePoint now);
  // RFC 7323 §5.3 R1 (PAWS) and §3.2 (a timestamp is required once negotiated).
  Verdict check_timestamps(Tcb& t, const Segment& seg, TimePoint now);
  void spurious_timeout_check(Tcb& t, const Segment& seg);
  void challenge_ack(Tcb& t, TimePoint now);
  bool challenge_ack_allowed(TimePoint now);

  // ---- syn_cookies.cpp: RFC 4987 §3.6 ----
  // Answers a SYN with a cookie SYN-ACK, keeping nothing.
  void send_syn_cookie(Listener& l, const FourTuple& tuple, const Segment& seg, TimePoint now);
  // ListenOptions' buffer sizes on a connection born of the listener, before its SYN-ACK.
  static void apply_listener_buffers(Tcb& t, const Listener& l);
  // Whether an ACK to the listener may carry a cookie (always, or automatic after a recent one).
  bool cookie_ack_expected(const Listener& l, TimePoint now) const;
  // An ACK to the listener: true if its cookie was valid (the connection was built and the
  // segment processed on it, or dropped for lack of a TCB); false if invalid (counted; the
  // caller sends the RST).
  bool syn_cookie_ack(Listener& l, const FourTuple& tuple, size_t hash, Segment& seg, TimePoint now);
  // SYN-ACK retransmissions allowed for a half-open connection of `l` now (Linux's young/old rule).
  uint32_t syn_ack_retry_limit(const Listener& l) const;
  void leave_syn_backlog(Tcb& t);

  // ---- ecn.cpp: RFC 3168 ----
  void ecn_syn_arrives(Tcb& t, const Segment& seg, bool enabled);
  wire::TcpFlags ecn_syn_flags(const Tcb& t) const;
  void ecn_segment_arrives(Tcb& t, const Segment& seg);
  void ecn_ack_arrives(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now);
  // The ECN codepoint of an outgoing non-SYN segment; adds ECE and CWR to `flags` as due.
  wire::Ecn ecn_mark(const Tcb& t, SeqNum seq, wire::TcpFlags& flags, uint32_t len) const;

  // ---- icmp.cpp ----
  void icmp_soft_error(Tcb& t, const wire::IcmpTcpError& e);
  void icmp_hard_error(Tcb& t, const wire::IcmpTcpError& e);
  void pmtu_reduce(Tcb& t, const wire::IcmpTcpError& e);
  // Resends the flight at the new MSS (Linux's tcp_simple_retransmit).
  void pmtu_resend(Tcb& t);
  // CloseReason for a connection that ran out of retransmissions.
  CloseReason timeout_reason(const Tcb& t) const {
    return t.soft_error_type != 0 ? CloseReason::unreachable : CloseReason::timed_out;
  }

  // ---- receive.cpp ----
  Verdict process_text(Tcb& t, Segment& seg);
  // Text at RCV.NXT (no FIN) onto the receive queue: RCV.NXT, the peer's segment size, the
  // counts and the readable event. The caller then handles reassembly and the ACK.
  void queue_text_at_rcv_nxt(Tcb& t, Segment& seg);
  Verdict process_fin(Tcb& t, Segment& seg, TimePoint now);
  void fin_arrived(Tcb& t, TimePoint now);
  void delay_ack(Tcb& t);
  void queue_in_order(Tcb& t, MbufPtr m);
  void queue_out_of_order(Tcb& t, Segment& seg);
  void queue_out_of_order_piece(Tcb& t, SeqNum seq, uint32_t len, bool fin, MbufPtr payload);
  void note_duplicate(Tcb& t, SeqNum left, SeqNum right);
  void tune_receive_buffer(Tcb& t);
  // Moves segments that became in-order from the reassembly queue; true if a FIN was reached.
  bool pull_reassembly(Tcb& t);
  // The window field for an outgoing segment; moves rcv_adv per receiver SWS avoidance.
  uint16_t advertise_window(Tcb& t);
  // How far the window could open now (for window updates after reads).
  // `clamped` (optional) is set when memory pressure held the window back.
  uint32_t window_opening(const Tcb& t, bool* clamped = nullptr) const;
  void maybe_window_update(Tcb& t);

  // ---- output.cpp ----
  void output(Tcb& t, TimePoint now, bool force = false);
  bool send_syn(Tcb& t, TimePoint now);  // SYN or SYN-ACK, per state
  bool send_ack(Tcb& t);
  SeqNum acceptable_ack_seq(const Tcb& t) const;
  bool send_segment(Tcb& t, SeqNum seq, wire::TcpFlags flags, uint32_t data_offset, uint32_t len);
  // With TSO for t's family: the payload of each segment the device cuts a super-segment into
  // (at most the effective MSS); 0 without TSO.
  uint32_t tso_segment_size(const Tcb& t) const;
  bool send_header(const FourTuple& tuple, const wire::TcpHeader& h);
  bool send_bare(const FourTuple& tuple, uint32_t seq, uint32_t ack, wire::TcpFlags flags, uint16_t window,
                 std::optional<wire::TcpTimestamps> timestamps = std::nullopt);
  void send_reset_for(const FourTuple& tuple, const Segment& seg);
  wire::TcpOptions build_options(const Tcb& t, wire::TcpFlags flags, uint32_t payload_len) const;
  void write_plain_header(const Tcb& t, rte_mbuf* m, SeqNum seq, wire::TcpFlags flags, uint16_t window) const;
  // RFC 2018 §4: an ACK reports SACK blocks while out-of-order data is held, or a D-SACK waits.
  static bool reports_sack(const Tcb& t) { return t.sack_ok && (!t.ooo.empty() || t.dsack_pending); }
  void fill_sack_blocks(const Tcb& t, wire::TcpOptions& o, size_t max_blocks) const;
  void send_window_probe(Tcb& t);
  void retransmit_head(Tcb& t);
  // Our TSval clock (RFC 7323 §5.4: 1 ms per tick) for connection t.
  uint32_t ts_clock(const Tcb& t) const { return ts_clock(t.ts_offset); }
  uint32_t ts_clock(uint32_t offset) const {
    return static_cast<uint32_t>(now_.time_since_epoch().count() / 1000) + offset;
  }

  // ---- reno_recovery.cpp: NewReno for connections without SACK ----
  void newreno_ack(Tcb& t, const Segment& seg, bool ack_is_new, TimePoint now);
  void on_duplicate_ack(Tcb& t);

  // ---- recovery.cpp: SACK scoreboard, RACK-TLP, PRR, D-SACK ----
  void scoreboard_start(Tcb& t);
  void scoreboard_ack(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now);
  void grow_cwnd(Tcb& t, uint32_t delivered, Duration rtt, TimePoint now);
  void cc_ack_received(Tcb& t, const AckSample& sample);
  void rack_update(Tcb& t, const SentSegment& s, SeqNum end, const wire::TcpOptions& o, bool cumulative,
                   TimePoint now);
  Duration rack_reo_wnd(const Tcb& t) const;
  void detect_losses(Tcb& t, TimePoint now);
  void detect_losses_dupthresh(Tcb& t);
  void on_rack_timeout(Tcb& t, TimePoint now);
  void enter_sack_recovery(Tcb& t, SeqNum prior_una, TimePoint now);
  void prr_ack(Tcb& t, uint32_t delivered);
  void begin_loss_episode(Tcb& t);
  void end_loss_episode(Tcb& t);
  void on_dsack(Tcb& t, SeqNum left, SeqNum right, SeqNum prior_una);
  bool retransmit_lost(Tcb& t, TimePoint now);
  bool resend(Tcb& t, SeqNum start, uint32_t len);
  void arm_tlp(Tcb& t, TimePoint now);
  void on_tlp_timeout(Tcb& t, TimePoint now);
  void tlp_ack(Tcb& t, const Segment& seg, bool dsack);
  void sack_timeout(Tcb& t, TimePoint now);
  void sack_spurious_timeout(Tcb& t);
  // The TSval our clock gave at `when` (to tell which transmission an echo answers).
  uint32_t ts_clock_at(const Tcb& t, TimePoint when) const {
    return static_cast<uint32_t>(when.time_since_epoch().count() / 1000) + t.ts_offset;
  }

  // ---- pressure.cpp: memory pressure (Linux tcp_mem), the shard's use of the mbuf pool ----
  // Reads the pool's free count and enters or leaves pressure: at an outermost entry, each one
  // when the pool has no per-lcore cache, else once per kMemRefreshInterval (mem_refresh_due_).
  void mem_refresh();
  // False beyond mem_high: only control segments may take an mbuf now (counts the refusal).
  bool mem_data_allowed();
  bool mem_data_would_be_allowed() const { return env.pool == nullptr || mem_size_ - std::min(mem_size_, mem_free_) < mem_high_; }
  // A control segment is about to take an mbuf: counts it when it comes from the reserve.
  void mem_note_control();
  // Lowers the free estimate (conservative until the next refresh) and enters pressure as soon
  // as the estimate crosses mem_pressure, not only at the next refresh: one poll iteration's
  // send() calls (all with the same `now`) could otherwise fill the pool to mem_high before any
  // fair share applies.
  // Mbufs of the pool in use by the last count (mem_free_ is an estimate between refreshes).
  uint32_t mem_in_use() const { return mem_size_ > mem_free_ ? mem_size_ - mem_free_ : 0; }
  void mem_note_alloc() {
    if (mem_free_ > 0) --mem_free_;
    if (!mem_under_pressure_ && mem_size_ - std::min(mem_size_, mem_free_) > mem_pressure_) mem_enter_pressure();
  }
  // Once an episode: out of line, so the allocation paths that may call it stay short.
  [[gnu::cold, gnu::noinline]] void mem_enter_pressure();
  // Under pressure: the mbufs one connection may hold per direction (send queue; receive and
  // reassembly queues), Linux's per-socket fair share of tcp_mem[2].
  uint32_t mem_share() const;
  // Bytes send() may add now under pressure (UINT32_MAX when not under pressure).
  uint32_t mem_send_room(const Tcb& t) const {
    return mem_under_pressure_ ? mem_send_share_room(t) : std::numeric_limits<uint32_t>::max();
  }
  uint32_t mem_send_share_room(const Tcb& t) const;  // under pressure: the fair share's room
  // Bytes the receive window may cover from RCV.NXT under pressure (UINT32_MAX otherwise).
  uint32_t mem_recv_room(const Tcb& t) const {
    return mem_under_pressure_ ? mem_recv_share_room(t) : std::numeric_limits<uint32_t>::max();
  }
  uint32_t mem_recv_share_room(const Tcb& t) const;  // under pressure: the fair share's room
  // After received data was queued: collapse, then prune the reassembly queue, while the
  // connection holds more than its share (Linux tcp_prune_queue()).
  void mem_receive_queued(Tcb& t);
  uint32_t collapse_queue(MbufQueue& q, bool reassembly);

  // ---- timers.cpp ----
  void update_timer(Tcb& t);
  void on_timer(Tcb& t, TimePoint now);
  void on_rexmit_timeout(Tcb& t, TimePoint now);
  void on_persist_timeout(Tcb& t, TimePoint now);
  void on_keepalive_timeout(Tcb& t, TimePoint now);
  void start_keepalive(Tcb& t, TimePoint now);
  void rtt_sample(Tcb& t, Duration r);
  void restart_rexmit(Tcb& t, TimePoint now) { t.rexmit_deadline = now + t.rto; }
  void stop_rexmit(Tcb& t) { t.rexmit_deadline = kNever; }

  // ---- state ----
  SecretKeys keys_;
  uint8_t rcv_wscale_ = 0;  // RFC 7323 §2.3: the shift that lets 65535 << shift cover recv_buffer
  SentSegmentPool sent_pool_;  // before tcbs_: their maps hold its records
  MbufStash mbufs_;            // what segments are built from and freed into (env.pool's)
  std::unique_ptr<Tcb[]> tcbs_;
  std::vector<Tcb*> free_tcbs_;
  TupleTable<Tcb> table_;
  std::unique_ptr<TimeWaitRecord[]> tw_records_;
  uint32_t tcb_high_water_ = 0;  // 1 + the highest control block slot ever taken (listings stop there)
  uint32_t tw_high_water_ = 0;   // the same for TIME-WAIT records
  std::vector<TimeWaitRecord*> free_tw_;
  TupleTable<TimeWaitRecord> tw_table_;
  TimeWaitList tw_expiry_;
  std::vector<Listener> listeners_;
  TimerWheel wheel_;
  TcbList pending_;
  TcbList reap_;
  OrphanList orphans_;  // oldest first
  TimePoint now_;
  // Whether dtcp.tcp is at debug, for the state-change trace. rte_log_can_log() is a call into
  // EAL, about 60 instructions with its caller's share, and a connection changes state about six
  // times: this copy is read instead and refreshed once a timer tick in advance(), so a level set
  // at run time (rte_log_set_level) applies within a millisecond.
  bool trace_state_changes_ = false;
  Tick trace_level_tick_ = 0;
  int depth_ = 0;
  uint32_t tlp_probe_allowance_ = 0;  // bytes a tail loss probe may send beyond cwnd
  uint32_t port_counter_ = 0;
  // RFC 6056 §3.3.3's F(local, remote, remote_port) for the last destination connected to: the
  // same for every connect() towards it, so a client opening many connections to one server
  // computes its SipHash once (about 200 instructions a connection).
  struct PortOffset {
    wire::IpAddr local, remote;
    uint16_t remote_port = 0;
    uint32_t offset = 0;
  };
  std::optional<PortOffset> last_port_offset_;
  // Admission ([tcp] syn_budget, admission.cpp): what the shard took since the last advance(),
  // and how many iterations in a row handed it a full receive burst. One full burst is a
  // moment's queue, which a shard at capacity sees all the time (and a SYN dropped costs its
  // client a 1 s retransmission); kBehindIterations of them in a row are half of a 1024-entry
  // receive ring left waiting. But a closed-loop client at capacity keeps the ring that full
  // too without offering more than is served, so behind_ also needs SYNs offered faster than
  // handshakes complete: syn_excess_ (bare SYNs seen, shed or not, less handshakes completed,
  // leaking 1/16384 an iteration) above the SYN backlog.
  static constexpr uint32_t kFullBurst = 32;  // dpdk's kBurstSize: a burst that came back full
  static constexpr uint32_t kBehindIterations = 16;
  void admission_advance();
  uint32_t syns_this_iteration_ = 0;          // bare SYNs taken
  uint32_t syns_refused_this_iteration_ = 0;  // bare SYNs dropped for the budget, here or by the interface
  uint32_t segments_this_iteration_ = 0;
  uint32_t full_bursts_in_a_row_ = 0;
  static constexpr int64_t kSynExcessOne = int64_t{1} << 14;  // syn_excess_ is fixed point
  int64_t syn_excess_ = 0;
  // SYN-RECEIVED -> ESTABLISHED (cookie ACKs included) since the last advance(): what the SYNs
  // of this iteration are weighed against.
  uint32_t handshakes_this_iteration_ = 0;
  bool behind_ = false;
  // Ephemeral ranges found with no free port, by (local address, destination): a connect()
  // that would walk one again fails at once until tuple_freed() forgets the entry. Without it
  // every failing connect() walks the whole range (28,232 ports x two table lookups, a listener
  // lookup and the RSS filter), which stalled a load generator with 4 source addresses and
  // 120,000 connections for seconds. A few entries cover the addresses a client cycles through;
  // when more are exhausted the oldest entry is replaced (it then costs one more walk).
  struct ExhaustedRange {
    wire::IpAddr local, remote;
    uint16_t remote_port = 0;
  };
  static constexpr uint32_t kExhaustedRanges = 16;
  std::array<ExhaustedRange, kExhaustedRanges> exhausted_ranges_{};
  uint32_t exhausted_count_ = 0;  // entries [0, exhausted_count_) are valid
  uint32_t exhausted_next_ = 0;   // the entry replaced when all are taken
  TimePoint challenge_window_start_;
  uint32_t challenge_acks_in_window_ = 0;
  // Memory pressure (pressure.cpp): thresholds in mbufs in use, from the pool's size.
  uint32_t mem_size_ = 0, mem_free_ = 0;
  uint32_t mem_low_ = 0, mem_pressure_ = 0, mem_high_ = 0;
  uint32_t mem_mbuf_bytes_ = 0;  // data room of one pool mbuf
  bool mem_under_pressure_ = false;
  // The first outermost entry at or after this reads the pool again (mem_refresh()): at once
  // (min) without caches or before the first refresh on the clock, never (max) without a pool.
  TimePoint mem_refresh_due_ = TimePoint::min();
  // The lcores that may hold mbufs of the pool in their caches (the enabled EAL lcores, read at
  // construction): counting only theirs gives rte_mempool_avail_count's answer without walking
  // all RTE_MAX_LCORE caches (about 400 instructions a refresh, counted by tools/bench --cost).
  std::vector<unsigned> mem_cache_lcores_;
};

// ---- receive.cpp's window arithmetic, inline: every segment sent advertises a window ----

// RFC 9293 §3.8.6.2.2 (RFC 1122 4.2.3.3): the right edge RCV.NXT + RCV.WND moves only when it can
// move by at least min(recv_buffer / 2, MSS), and it never moves left (no window shrinking).
// Under memory pressure the window covers no more than the connection's fair share of the pool
// (pressure.cpp); the edge already advertised stays where it is.
inline uint32_t ShardCore::window_opening(const Tcb& t, bool* clamped) const {
  const uint32_t used = t.rcv_buf.bytes();
  uint32_t free_space = t.rcv_space > used ? t.rcv_space - used : 0;
  if (const uint32_t room = mem_recv_room(t); room < free_space) {
    free_space = room;
    if (clamped) *clamped = true;
  }
  const uint32_t wnd = std::min<uint32_t>(free_space, uint32_t{0xffff} << t.rcv_wscale);
  const SeqNum edge = t.rcv_nxt + SeqLen(wnd);
  if (!(edge > t.rcv_adv)) return 0;
  const uint32_t grow = (edge - t.rcv_adv).value();
  const uint32_t threshold = std::min<uint32_t>(t.rcv_space / 2, config.mss);
  return grow >= threshold ? grow : 0;
}

inline uint16_t ShardCore::advertise_window(Tcb& t) {
  bool clamped = false;
  if (const uint32_t grow = window_opening(t, &clamped)) t.rcv_adv += SeqLen(grow);
  if (clamped) ++counters.mem_window_clamped;
  // With window scaling the field loses the low rcv_wscale bits. Rounding up and moving
  // RCV.ADV to match (as Linux's tcp_select_window() does) keeps the edge the peer sees equal
  // to rcv_adv, so it never appears to move left (RFC 7323 §2.4).
  const uint32_t unit = 1u << t.rcv_wscale;
  const uint32_t field = std::min<uint32_t>((t.rcv_wnd() + unit - 1) >> t.rcv_wscale, 0xffff);
  const SeqNum edge = t.rcv_nxt + SeqLen(field << t.rcv_wscale);
  if (edge > t.rcv_adv) t.rcv_adv = edge;
  return static_cast<uint16_t>(field);
}

// ---- recovery.cpp's and timers.cpp's per-ACK steps, inline: each ACK of new data takes them ----

// RFC 8985 §7.2: after new data goes out or an ACK arrives, in the open state, with SACK, and no
// probe outstanding: PTO = 2 * SRTT, plus the peer's worst delayed ACK when what is in flight may
// be held by it (RFC: one segment; here less than two full ones, since a receiver ACKs every
// second full-sized segment at once and holds a lone or short one), for which min_rto stands in
// (10 ms against dtcp peers, 200 ms in the Linux profile). The probe fires no later than the
// retransmission timer would, and replaces it (Linux: tcp_schedule_loss_probe() clamps to the
// RTO): a lost tail then costs a probe, not a timeout's collapse of cwnd.
inline void ShardCore::arm_tlp(Tcb& t, TimePoint now) {
  t.tlp_deadline = kNever;
  if (!t.sack_ok || !config.rack || t.loss_state != Tcb::LossState::open || t.tlp_in_flight) return;
  if (t.snd_una == t.snd_max || t.syn_unacked() || t.rexmit_deadline == kNever) return;
  Duration pto = t.have_rtt ? 2 * t.srtt : std::chrono::seconds(1);
  if (t.flight_size() < 2 * t.eff_mss()) pto += config.min_rto;
  pto = std::max<Duration>(pto, 2 * kClockGranularity);
  t.tlp_deadline = std::min(now + pto, t.rexmit_deadline);
}

// RFC 6298 §2.2, §2.3 (K = 4, alpha = 1/8, beta = 1/4, G = one tick), clamped per §2.4, §2.5.
inline void ShardCore::rtt_sample(Tcb& t, Duration r) {
  if (r.count() < 0) return;
  t.latest_rtt = r;
  t.latest_rtt_at = now_;
  if (!t.have_rtt) {
    t.srtt = r;
    t.rttvar = r / 2;
    t.have_rtt = true;
  } else {
    const Duration delta = t.srtt > r ? t.srtt - r : r - t.srtt;
    t.rttvar = (3 * t.rttvar + delta) / 4;
    t.srtt = (7 * t.srtt + r) / 8;
  }
  t.rto = std::clamp<Duration>(t.srtt + std::max<Duration>(kClockGranularity, 4 * t.rttvar), config.min_rto,
                               config.max_rto);
}

}  // namespace dtcp::tcp
