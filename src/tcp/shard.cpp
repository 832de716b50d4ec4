// Pools, tables, listeners, active open, event delivery and TIME-WAIT records.
#include <algorithm>
#include <cassert>
#include <new>
#include <stdexcept>
#include <string>

#include <rte_lcore.h>
#include <rte_mempool.h>

#include "base/log.hpp"
#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

namespace {

void validate(const TcpConfig& c, const ShardEnv& env) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("tcp config: " + what); };
  if (!env.pool) fail("ShardEnv.pool is null");
  if (!env.output) fail("ShardEnv.output is null");
  if (c.max_connections == 0) fail("max_connections must be at least 1");
  if (c.max_listeners == 0) fail("max_listeners must be at least 1");
  if (c.mss < 64) fail("mss must be at least 64, got " + std::to_string(c.mss));
  if (c.min_rto.count() <= 0 || c.min_rto > c.max_rto)
    fail("min_rto must be positive and not above max_rto");
  if (c.initial_rto < c.min_rto || c.initial_rto > c.max_rto)
    fail("initial_rto must lie between min_rto and max_rto");
  if (c.msl.count() < 0) fail("msl must not be negative");
  if (c.min_pmtu < 104) fail("min_pmtu must be at least 104 (an MSS of 64), got " + std::to_string(c.min_pmtu));
  if (c.send_buffer == 0 || c.recv_buffer == 0) fail("send_buffer and recv_buffer must be positive");
  if (c.ephemeral_port_min == 0 || c.ephemeral_port_min > c.ephemeral_port_max)
    fail("ephemeral_port_min must be in 1..ephemeral_port_max");
  if (rte_pktmbuf_data_room_size(env.pool) < RTE_PKTMBUF_HEADROOM + 64)
    fail("mbuf pool data room too small for TCP segments");
}

}  // namespace

const char* state_name(TcpState s) { return to_string(s); }

ShardCore::ShardCore(const TcpConfig& cfg, const ShardEnv& e, TimePoint now)
    : config((validate(cfg, e), cfg)),
      env(e),
      keys_(e.secret_seed ^ (uint64_t{e.shard_id} << 48)),
      sent_pool_(cfg.sent_records),
      tcbs_(new Tcb[cfg.max_connections]),
      table_(cfg.max_connections, keys_),
      tw_records_(new TimeWaitRecord[std::max<uint32_t>(cfg.max_time_wait, 1)]),
      tw_table_(std::max<uint32_t>(cfg.max_time_wait, 1), keys_),
      wheel_(tick_floor(now)),
      now_(now),
      trace_state_changes_(log::enabled(log::Subsystem::tcp, log::Level::debug)),
      trace_level_tick_(tick_floor(now)),
      challenge_window_start_(now) {
  free_tcbs_.reserve(cfg.max_connections);
  for (uint32_t i = cfg.max_connections; i-- > 0;) free_tcbs_.push_back(&tcbs_[i]);
  free_tw_.reserve(cfg.max_time_wait);
  for (uint32_t i = cfg.max_time_wait; i-- > 0;) free_tw_.push_back(&tw_records_[i]);
  listeners_.reserve(cfg.max_listeners);
  sent_pool_.count_refusals_in(&counters.sent_map_full);
  const uint32_t window_max = std::max(cfg.recv_buffer, cfg.recv_buffer_max);
  while (rcv_wscale_ < wire::kTcpMaxWindowScale && (uint64_t{0xffff} << rcv_wscale_) < window_max) ++rcv_wscale_;
  if (env.pool != nullptr) {
    mem_size_ = env.pool->size;
    mem_low_ = static_cast<uint32_t>(cfg.mem_low * mem_size_);
    mem_pressure_ = static_cast<uint32_t>(cfg.mem_pressure * mem_size_);
    mem_high_ = static_cast<uint32_t>(cfg.mem_high * mem_size_);
    mem_mbuf_bytes_ = rte_pktmbuf_data_room_size(env.pool);
    mbufs_.init(env.pool, env.mbuf_stash, env.pool_shards);
    if (env.pool->cache_size != 0) {
      unsigned lcore;
      RTE_LCORE_FOREACH(lcore) mem_cache_lcores_.push_back(lcore);
    }
    mem_refresh();
  }
}

ShardCore::~ShardCore() {
  // No callbacks, nothing sent: just give every mbuf back and unlink every hook.
  pending_.clear();
  reap_.clear();
  orphans_.clear();
  for (uint32_t i = 0; i < config.max_connections; ++i) {
    Tcb& t = tcbs_[i];
    if (t.table_hook.is_linked()) table_.erase(t);
    t.timer.cancel();
    t.snd_buf.clear();
    t.snd_cursor = {};
    t.rcv_buf.clear();
    t.ooo.clear();
    t.sent.clear(sent_pool_);
  }
  tw_expiry_.clear();
}

// ---------------------------------------------------------------------------------------------
// TCB pool and events

Tcb* ShardCore::alloc_tcb(const FourTuple& tuple, TimePoint now) {
  if (free_tcbs_.empty()) return nullptr;
  Tcb* t = free_tcbs_.back();
  free_tcbs_.pop_back();
  // A free block's buffers, sent map, timer and hooks are already empty (release_tcb()), and
  // every open selects its congestion controller, so only the plain fields need their defaults:
  // one copy of a fresh TcbFields, not the destruction and construction of the whole block
  // (about 400 instructions a connection, each side).
  static constexpr TcbFields kFresh{};
  static_cast<TcbFields&>(*t) = kFresh;
  t->user_data = nullptr;
  t->core = this;
  t->slot = static_cast<uint32_t>(t - tcbs_.get());
  tcb_high_water_ = std::max(tcb_high_water_, t->slot + 1);
  ++t->generation;
  t->tuple = tuple;
  t->rto = config.initial_rto;
  t->rcv_space = config.recv_buffer;
  t->rcv_space_stamp = now;
  t->snd_mss = kDefaultMss;
  // The ISN (RFC 6528) and the timestamp offset (RFC 7323 §7.1) from one keyed hash; an active or
  // passive open keeps this ISN, a SYN cookie replaces it with the cookie.
  const SecretKeys::ConnectionSecrets secrets = keys_.connection_secrets(tuple, now);
  t->iss = SeqNum(secrets.isn);
  t->ts_offset = secrets.ts_offset;
  t->last_rx = now;
  t->opened = now;
  t->rate_sample_start = now;
  return t;
}

void ShardCore::release_tcb(Tcb& t) {
  // Every block comes here after close_connection() (drain()'s reaping of zombies, or
  // reclaim_oldest_orphan()), which emptied the send side, the reassembly queue and the sent map
  // and let no output run since: only the bytes a normal close left readable remain.
  assert(!t.table_hook.is_linked() && !t.pending_hook.is_linked());
  assert(t.zombie && t.snd_buf.empty() && t.ooo.empty() && t.sent.empty());
  t.timer.cancel();
  t.rcv_buf.clear(mbufs_);
  ++counters.conn_closed;
  free_tcbs_.push_back(&t);
}

void ShardCore::schedule(Tcb& t) {
  if (!t.pending_hook.is_linked()) pending_.push_back(t);
}

void ShardCore::drain() {
  while (!pending_.empty()) {
    Tcb& t = pending_.front();
    pending_.pop_front();
    if (t.events) deliver_events(t);
    if (!t.zombie) {
      // A callback that sent or read scheduled the connection again; the output() just below
      // covers that, so a second pass would only repeat an output() with nothing to send.
      if (t.events == 0 && t.pending_hook.is_linked()) pending_.erase(pending_.iterator_to(t));
      output(t, now_);
      update_timer(t);
    }
    if (t.zombie && !t.pending_hook.is_linked()) reap_.push_back(t);
  }
  while (!reap_.empty()) {
    Tcb& t = reap_.front();
    reap_.pop_front();
    release_tcb(t);
  }
}

// Callbacks in a fixed order; after each one the application may have closed the connection
// (handler cleared), which ends delivery.
void ShardCore::deliver_events(Tcb& t) {
  const uint8_t ev = t.events;
  t.events = 0;
  if (ev & kEventAccept) {
    Listener* l = t.accept_from;
    t.accept_from = nullptr;
    ConnectionHandler* h = (l && l->active && !t.zombie) ? l->handler->on_accept(t) : nullptr;
    if (!h) {
      if (!t.zombie) {
        ++counters.conn_accept_refused;
        reset_connection(t, CloseReason::aborted);
      }
      return;
    }
    if (t.zombie && t.app_closed) return;  // closed from inside on_accept
    if (!t.app_closed) t.handler = h;
  }
  if ((ev & kEventConnected) && t.handler) t.handler->on_connected(t);
  if ((ev & kEventReadable) && t.handler && t.rcv_buf.bytes() > 0) t.handler->on_readable(t);
  if ((ev & kEventPeerClosed) && t.handler) t.handler->on_peer_closed(t);
  if ((ev & kEventWritable) && t.handler && !t.zombie) t.handler->on_writable(t);
  if ((ev & kEventClosed) && t.handler) {
    ConnectionHandler* h = t.handler;
    t.handler = nullptr;
    h->on_closed(t, t.close_reason);
  }
}

void ShardCore::set_state(Tcb& t, TcpState next) {
  // The one place state changes.
  if (next == t.state) return;
  if (next == TcpState::established) ++counters.conn_established;
  // RFC 4022's tcpCurrEstab counts ESTABLISHED and CLOSE-WAIT; tcpEstabResets and
  // tcpAttemptFails count the direct transitions to CLOSED named in its DESCRIPTIONs.
  const auto synchronized_open = [](TcpState s) { return s == TcpState::established || s == TcpState::close_wait; };
  if (synchronized_open(next) && !synchronized_open(t.state)) ++counters.conn_estab_entered;
  if (!synchronized_open(next) && synchronized_open(t.state)) ++counters.conn_estab_left;
  if (next == TcpState::closed) {
    if (synchronized_open(t.state)) ++counters.conn_estab_resets;
    if (t.state == TcpState::syn_sent || t.state == TcpState::syn_received) ++counters.conn_attempt_failed;
  }
  // Out of line, so the transition itself (about six a connection) does not pay for the
  // registers the formatting needs.
  if (env.state_tracer || trace_state_changes_) [[unlikely]]
    trace_state_change(t, next);
  t.state = next;
}

void ShardCore::trace_state_change(const Tcb& t, TcpState next) {
  DTCP_LOG_DP(tcp, debug, now_, "dtcp: tcp: %s:%u > %s:%u: %s -> %s\n", t.tuple.local.to_string().c_str(),
              t.tuple.local_port, t.tuple.remote.to_string().c_str(), t.tuple.remote_port, to_string(t.state),
              to_string(next));
  if (env.state_tracer)
    env.state_tracer(env.state_tracer_ctx, t.tuple.local_endpoint(), t.tuple.remote_endpoint(), t.state, next);
}

void ShardCore::close_connection(Tcb& t, CloseReason reason) {
  if (t.zombie) return;
  if (t.table_hook.is_linked()) {
    table_.erase(t);
    // enter_time_wait() keeps the tuple in use as a record (or frees it on overflow).
    if (exhausted_count_ != 0 && t.state != TcpState::time_wait) tuple_freed(t.tuple);
  }
  t.timer.cancel();
  t.rexmit_deadline = t.persist_deadline = t.fin_wait_2_deadline = t.tx_retry_deadline = kNever;
  t.rack_deadline = t.tlp_deadline = kNever;
  t.sent.clear(sent_pool_);
  t.snd_buf.clear(mbufs_);
  t.snd_cursor = {};
  t.ooo.clear(mbufs_);
  // After a normal close the bytes already received stay readable until on_closed() returns.
  if (reason != CloseReason::normal) t.rcv_buf.clear(mbufs_);
  leave_syn_backlog(t);
  if (t.orphan) {
    orphans_.erase(orphans_.iterator_to(t));
    t.orphan = false;
  }
  set_state(t, TcpState::closed);
  t.zombie = true;
  t.close_reason = reason;
  if (t.handler) t.events |= kEventClosed;
  schedule(t);
}

void ShardCore::reset_connection(Tcb& t, CloseReason reason) {
  if (t.zombie) return;
  // RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST> unless in SYN-SENT. (Linux sends RST|ACK;
  // both are accepted since the receiver only checks SEG.SEQ against RCV.NXT.)
  if (t.state != TcpState::syn_sent && t.state != TcpState::closed)
    send_bare(t.tuple, t.snd_max.value(), 0, TcpFlags::rst, 0);
  if (reason == CloseReason::aborted) ++counters.conn_aborted;
  close_connection(t, reason);
}

// ---------------------------------------------------------------------------------------------
// Orphans: connections the application closed that still finish their close on their own. Linux
// keeps them within tcp_max_orphans and resets them when memory runs short; here the control
// blocks are the resource, so a new connection that finds none takes the oldest orphan's.

void ShardCore::make_orphan(Tcb& t) {
  if (t.zombie || t.orphan) return;
  t.orphan = true;
  orphans_.push_back(t);
  while (orphans_.size() > config.max_orphans) {
    ++counters.conn_orphans_reset;
    reset_connection(orphans_.front(), CloseReason::aborted);  // unlinks it
  }
}

bool ShardCore::reclaim_oldest_orphan() {
  if (orphans_.empty()) return false;
  Tcb& t = orphans_.front();
  ++counters.conn_orphans_reset;
  reset_connection(t, CloseReason::aborted);  // RST to the peer; no handler to tell
  // It is a zombie now, scheduled for drain(); an orphan has no handler and no events, so its
  // block can go back at once (drain() would only have released it).
  if (t.pending_hook.is_linked()) pending_.erase(pending_.iterator_to(t));
  release_tcb(t);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Listeners and active open

Listener* ShardCore::find_listener(uint16_t port, wire::IpFamily family) {
  for (Listener& l : listeners_)
    if (l.active && l.port == port && (!l.family || *l.family == family)) return &l;
  return nullptr;
}

ListenResult ShardCore::listen(uint16_t port, ListenHandler& handler, const ListenOptions& options) {
  if (port == 0) return {ListenError::invalid_port};
  // A dual-stack listener conflicts with any other on the port; single-family ones only with
  // their own family.
  for (Listener& l : listeners_)
    if (l.active && l.port == port && (!l.family || !options.family || *l.family == *options.family))
      return {ListenError::port_in_use};
  Listener* slot = nullptr;
  for (Listener& l : listeners_)
    if (!l.active && l.syn_received == 0) slot = &l;
  if (!slot) {
    if (listeners_.size() >= config.max_listeners) return {ListenError::too_many_listeners};
    slot = &listeners_.emplace_back();  // within the reserved capacity: pointers stay valid
  }
  *slot = Listener{port, true, &handler, options.syn_backlog ? options.syn_backlog : config.syn_backlog, 0,
                   options.nodelay, options.congestion.value_or(config.congestion),
                   options.ecn.value_or(config.ecn), options.keepalive,
                   options.keepalive_idle.count() > 0 ? options.keepalive_idle : config.keepalive_idle,
                   options.keepalive_interval.count() > 0 ? options.keepalive_interval : config.keepalive_interval,
                   options.keepalive_probes > 0 ? options.keepalive_probes : config.keepalive_probes};
  slot->syn_cookies = options.syn_cookies.value_or(config.syn_cookies);
  slot->send_buffer = options.send_buffer;
  slot->recv_buffer = options.recv_buffer;
  slot->family = options.family;
  return {};
}

void ShardCore::unlisten(uint16_t port) {
  Entry entry(*this);
  exhausted_count_ = 0;  // the port may serve as an ephemeral one again
  // Every listener of the port (one for both families, or one per family).
  for (Listener& listener : listeners_) {
    if (!listener.active || listener.port != port) continue;
    Listener* l = &listener;
    l->active = false;
    // Connections not yet accepted are reset (as Linux does when a listener closes).
    for (uint32_t i = 0; i < config.max_connections; ++i) {
      Tcb& t = tcbs_[i];
      if (!t.zombie && t.core && (t.listener == l || t.accept_from == l)) {
        t.accept_from = nullptr;
        reset_connection(t, CloseReason::aborted);
      }
    }
  }
}

bool ShardCore::tuple_in_use(const FourTuple& t) const {
  return table_.contains(t) || tw_table_.contains(t);
}

// RFC 6056 §3.3.3 (algorithm 3): start at a keyed hash of the destination plus a counter, walk
// the range, skip 4-tuples in use (TIME-WAIT included) and ports the stack vetoes. A walk that
// finds nothing is remembered (exhausted_ranges_), so the connects that follow fail in O(1)
// until a tuple of that address and destination is freed: a failing connect costs one walk per
// freed tuple, not one per call.
uint16_t ShardCore::pick_ephemeral_port(wire::IpAddr local, wire::IpAddr remote, uint16_t remote_port) {
  for (uint32_t k = 0; k < exhausted_count_; ++k) {
    const ExhaustedRange& e = exhausted_ranges_[k];
    if (e.remote_port == remote_port && e.local == local && e.remote == remote) {
      ++counters.connect_no_ephemeral_port;
      return 0;
    }
  }
  const uint32_t range = uint32_t{config.ephemeral_port_max} - config.ephemeral_port_min + 1;
  if (!last_port_offset_ || last_port_offset_->remote_port != remote_port || last_port_offset_->local != local ||
      last_port_offset_->remote != remote)
    last_port_offset_ = PortOffset{local, remote, remote_port, keys_.port_offset(local, remote, remote_port)};
  const uint32_t offset = last_port_offset_->offset + port_counter_;
  for (uint32_t i = 0; i < range; ++i) {
    const auto port = static_cast<uint16_t>(config.ephemeral_port_min + (offset + i) % range);
    const FourTuple t{local, remote, port, remote_port};
    if (tuple_in_use(t) || find_listener(port, local.family())) continue;
    if (env.port_filter && !env.port_filter(env.port_filter_ctx, local, port, remote, remote_port)) continue;
    port_counter_ += i + 1;
    return port;
  }
  ++counters.connect_no_ephemeral_port;
  ++counters.connect_port_range_walks_failed;
  ExhaustedRange& slot = exhausted_count_ < kExhaustedRanges ? exhausted_ranges_[exhausted_count_++]
                                                             : exhausted_ranges_[exhausted_next_++ % kExhaustedRanges];
  slot = ExhaustedRange{local, remote, remote_port};
  return 0;
}

void ShardCore::tuple_freed(const FourTuple& t) {
  for (uint32_t k = 0; k < exhausted_count_;) {
    const ExhaustedRange& e = exhausted_ranges_[k];
    if (e.remote_port == t.remote_port && e.local == t.local && e.remote == t.remote) {
      exhausted_ranges_[k] = exhausted_ranges_[--exhausted_count_];  // order does not matter
    } else {
      ++k;
    }
  }
}

ConnectResult ShardCore::connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                                 const ConnectOptions& options, TimePoint now) {
  Entry entry(*this, now);
  if (dst.is_unusable_peer() || dst_port == 0) return {ConnectError::invalid_address};
  // The caller (the Stack) has checked that a local_address given is one of ours.
  const wire::IpAddr local = !options.local_address.is_unspecified() ? options.local_address
                             : dst.is_v4()                           ? env.local_addr
                                                                     : env.local_addr6;
  if (local.is_unspecified() || local.is_v4() != dst.is_v4()) return {ConnectError::invalid_address};
  uint16_t port = options.local_port;
  if (port == 0) {
    port = pick_ephemeral_port(local, dst, dst_port);  // a port whose tuple is not in use
    if (port == 0) return {ConnectError::no_ephemeral_port};
  } else if (tuple_in_use(FourTuple{local, dst, port, dst_port})) {
    return {ConnectError::address_in_use};
  }
  const FourTuple tuple{local, dst, port, dst_port};
  Tcb* t = alloc_tcb(tuple, now);
  if (!t && reclaim_oldest_orphan()) t = alloc_tcb(tuple, now);
  if (!t) return {ConnectError::no_connection};
  t->handler = &handler;
  t->user_data = options.user_data;
  t->nodelay = options.nodelay;
  t->cc.select(options.congestion.value_or(config.congestion));
  t->ecn_offered = options.ecn.value_or(config.ecn);
  t->snd_una = t->snd_nxt = t->snd_max = t->snd_sml = t->recover = t->ecn_recover = t->iss;
  if (options.keepalive) {
    t->keepalive_idle = options.keepalive_idle.count() > 0 ? options.keepalive_idle : config.keepalive_idle;
    t->keepalive_interval =
        options.keepalive_interval.count() > 0 ? options.keepalive_interval : config.keepalive_interval;
    t->keepalive_probes = options.keepalive_probes > 0 ? options.keepalive_probes : config.keepalive_probes;
    // the timer starts in establish()
  }
  set_state(*t, TcpState::syn_sent);
  // Counted with the transition (RFC 4022 tcpActiveOpens), so a SYN that cannot be built makes
  // an AttemptFail of an ActiveOpen, never one without it.
  ++counters.conn_active_opens;
  if (!send_syn(*t, now)) {
    set_state(*t, TcpState::closed);
    free_tcbs_.push_back(t);
    return {ConnectError::no_mbuf};
  }
  table_.insert(*t);
  restart_rexmit(*t, now);
  schedule(*t);
  return {ConnectError::ok, t};
}

// ---------------------------------------------------------------------------------------------
// TIME-WAIT

void ShardCore::enter_time_wait(Tcb& t, TimePoint now) {
  // The ACK of the peer's FIN goes out before the TCB disappears.
  if (t.ack_now) send_ack(t);
  set_state(t, TcpState::time_wait);
  const FourTuple tuple = t.tuple;
  const size_t hash = t.tuple_hash;  // the same table hash: both tables key on the tuple
  const SeqNum snd_nxt = t.snd_max;
  const SeqNum rcv_nxt = t.rcv_nxt;
  const auto window = static_cast<uint16_t>(std::min<uint32_t>(t.rcv_wnd() >> t.rcv_wscale, 0xffff));
  const bool has_ts = t.ts_ok;
  const uint32_t ts_recent = t.ts_recent;
  const uint32_t ts_offset = t.ts_offset;
  close_connection(t, CloseReason::normal);
  if (free_tw_.empty()) {
    ++counters.time_wait_overflow;
    if (exhausted_count_ != 0) tuple_freed(tuple);
    return;
  }
  TimeWaitRecord* tw = free_tw_.back();
  free_tw_.pop_back();
  tw_high_water_ = std::max(tw_high_water_, static_cast<uint32_t>(tw - tw_records_.get()) + 1);
  tw->tuple = tuple;
  tw->snd_nxt = snd_nxt;
  tw->rcv_nxt = rcv_nxt;
  tw->rcv_wnd = window;
  tw->has_ts = has_ts;
  tw->ts_recent = ts_recent;
  tw->ts_offset = ts_offset;
  tw->deadline = now + 2 * config.msl;
  tw_table_.insert(*tw, hash);
  tw_expiry_.push_back(*tw);
  ++counters.time_wait_entered;
}

void ShardCore::free_time_wait(TimeWaitRecord& tw) {
  if (exhausted_count_ != 0) tuple_freed(tw.tuple);
  tw_table_.erase(tw);
  tw_expiry_.erase(tw_expiry_.iterator_to(tw));
  free_tw_.push_back(&tw);
}

void ShardCore::expire_time_wait(TimePoint now) {
  while (!tw_expiry_.empty() && tw_expiry_.front().deadline <= now) {
    free_time_wait(tw_expiry_.front());
    ++counters.time_wait_expired;
  }
}

// RFC 9293 §3.10.7.4 for TIME-WAIT, on the compact record.
void ShardCore::time_wait_segment_arrives(TimeWaitRecord& tw, Segment& seg, const FourTuple& tuple, size_t hash,
                                          TimePoint now) {
  if (seg.has(TcpFlags::rst)) {
    // RFC 1337 (TIME-WAIT assassination): ignore RST in TIME-WAIT. Linux, by default
    // (tcp_rfc1337 = 0), closes the TIME-WAIT instead.
    ++counters.drop_time_wait_rst;
    return;
  }
  if (seg.has(TcpFlags::syn) && !seg.has(TcpFlags::ack)) {
    // RFC 9293 §3.10.7.4 / RFC 1122 4.2.2.13: a SYN may reopen the connection if its ISN is above
    // the old RCV.NXT. RFC 6191 §2: when both incarnations use timestamps, a newer timestamp
    // decides instead (an equal one falls back to the ISN).
    bool reopen = seg.seq > tw.rcv_nxt;
    if (tw.has_ts && config.timestamps && seg.options.timestamps) {
      const auto age = static_cast<int32_t>(seg.options.timestamps->tsval - tw.ts_recent);
      reopen = age > 0 || (age == 0 && seg.seq > tw.rcv_nxt);
    }
    Listener* l = find_listener(tuple.local_port, tuple.local.family());
    if (l && reopen) {
      const SeqNum old_snd_nxt = tw.snd_nxt;
      free_time_wait(tw);
      ++counters.time_wait_reused;
      listen_segment_arrives(*l, tuple, hash, seg, now, &old_snd_nxt);
      return;
    }
  }
  // The peer's FIN again (it ends at or below RCV.NXT, whatever its ACK says: an ACK of our FIN
  // or, sent before our FIN reached the peer and delivered late, not): a duplicate to
  // acknowledge, not a stray segment.
  const bool repeated_fin = seg.has(TcpFlags::fin) && !seg.has(TcpFlags::syn) &&
                            seg.seq + SeqLen(seg.len) + SeqLen(1) <= tw.rcv_nxt;
  if (repeated_fin) ++counters.rx_old_duplicate;
  else ++counters.drop_time_wait_segment;
  if (seg.has(TcpFlags::syn)) {
    // Old duplicate SYN: challenge ACK (RFC 5961 §4.2), rate-limited.
    if (!challenge_ack_allowed(now)) return;
    ++counters.tx_challenge_ack;
  } else if (seg.has(TcpFlags::fin)) {
    // "The only thing that can arrive in this state is a retransmission of the remote FIN.
    // Acknowledge it, and restart the 2 MSL timeout."
    tw.deadline = now + 2 * config.msl;
    tw_expiry_.erase(tw_expiry_.iterator_to(tw));
    tw_expiry_.push_back(tw);
  } else if (seg.seq == tw.rcv_nxt && seg.len == 0) {
    return;  // an acceptable bare ACK: nothing to answer (never ACK an ACK)
  }
  std::optional<wire::TcpTimestamps> ts;
  if (tw.has_ts) ts = wire::TcpTimestamps{ts_clock(tw.ts_offset), tw.ts_recent};
  send_bare(tuple, tw.snd_nxt.value(), tw.rcv_nxt.value(), TcpFlags::ack, tw.rcv_wnd, ts);
}

void ShardCore::abort_all() {
  Entry entry(*this);
  for (uint32_t i = 0; i < config.max_connections; ++i) {
    Tcb& t = tcbs_[i];
    if (t.table_hook.is_linked()) reset_connection(t, CloseReason::aborted);
  }
}

// ---------------------------------------------------------------------------------------------
// Observability

namespace {

const char* recovery_name(const Tcb& t) {
  if (!t.sack_ok) return t.in_recovery ? "newreno" : "open";
  return t.loss_state == Tcb::LossState::recovery ? "recovery" : t.loss_state == Tcb::LossState::loss ? "loss" : "open";
}

// The earliest of the connection's deadlines, named as `ss -o` would (retransmission first).
void earliest_timer(const Tcb& t, TimePoint now, ConnectionInfo& info) {
  const std::pair<const char*, TimePoint> timers[] = {
      {"rexmit", t.rexmit_deadline},       {"persist", t.persist_deadline}, {"keepalive", t.keepalive_deadline},
      {"delack", t.delack_deadline},       {"rack", t.rack_deadline},       {"tlp", t.tlp_deadline},
      {"fin_wait_2", t.fin_wait_2_deadline}, {"tx_retry", t.tx_retry_deadline}};
  TimePoint first = kNever;
  for (const auto& [name, deadline] : timers) {
    if (deadline < first) {
      first = deadline;
      info.timer = name;
    }
  }
  if (first != kNever) info.timer_in = first > now ? first - now : Duration{0};
}

}  // namespace

void ShardCore::describe(const Tcb& t, ConnectionInfo& info) const {
  info.slot = t.slot;
  info.local = t.tuple.local_endpoint();
  info.remote = t.tuple.remote_endpoint();
  info.state = t.state;
  info.state_name = to_string(t.state);
  info.snd_una = t.snd_una.value();
  info.snd_nxt = t.snd_nxt.value();
  info.snd_max = t.snd_max.value();
  info.rcv_nxt = t.rcv_nxt.value();
  info.snd_wnd = t.snd_wnd;
  info.rcv_wnd = t.rcv_wnd();
  info.cwnd = t.cc->cwnd();
  info.ssthresh = t.cc->ssthresh();
  info.send_queued = t.snd_buf.bytes();
  info.recv_queued = t.rcv_buf.bytes();
  info.ooo_segments = t.ooo.count();
  info.congestion = t.cc.is_cubic() ? "cubic" : "reno";
  info.recovery = recovery_name(t);
  info.sacked_bytes = t.sent.sacked_bytes();
  info.lost_bytes = t.sent.lost_bytes();
  info.retransmitted_bytes = t.sent.retransmitted_bytes();
  info.srtt = t.srtt;
  info.rto = t.rto;
  info.rttvar = t.rttvar;
  info.retries = t.retries;
  info.mss = t.eff_mss();
  info.snd_wscale = t.snd_wscale;
  info.rcv_wscale = t.rcv_wscale;
  info.timestamps = t.ts_ok;
  info.sack = t.sack_ok;
  info.ecn = t.ecn_ok;
  info.bytes_sent = t.bytes_sent;
  info.bytes_acked = t.bytes_acked;
  info.bytes_received = t.bytes_received;
  info.delivery_rate = t.delivery_rate;
  info.age = now_ - t.opened;
  earliest_timer(t, now_, info);
}

void ShardCore::describe(const TimeWaitRecord& tw, ConnectionInfo& info) const {
  info.slot = config.max_connections + static_cast<uint32_t>(&tw - tw_records_.get());  // after the control blocks
  info.local = tw.tuple.local_endpoint();
  info.remote = tw.tuple.remote_endpoint();
  info.state = TcpState::time_wait;
  info.state_name = to_string(TcpState::time_wait);
  info.time_wait_record = true;
  info.snd_una = info.snd_nxt = info.snd_max = tw.snd_nxt.value();
  info.rcv_nxt = tw.rcv_nxt.value();
  info.rcv_wnd = tw.rcv_wnd;
  info.timestamps = tw.has_ts;
  info.timer = "timewait";
  info.timer_in = tw.deadline > now_ ? tw.deadline - now_ : Duration{0};
  info.age = info.timer_in;
}

void ShardCore::for_each_connection(void (*fn)(void*, const ConnectionInfo&), void* ctx) const {
  table_.for_each([&](const Tcb& t) {
    ConnectionInfo info;
    describe(t, info);
    fn(ctx, info);
  });
  tw_table_.for_each([&](const TimeWaitRecord& tw) {
    ConnectionInfo info;
    describe(tw, info);
    fn(ctx, info);
  });
}

uint64_t ShardCore::list_connections(uint64_t cursor, const ConnectionFilter& filter, size_t max_entries,
                                     size_t max_slots, void (*fn)(void*, const ConnectionInfo&), void* ctx) const {
  // Slots [0, max_connections) are control blocks, then max_time_wait TIME-WAIT records: a
  // position that stays meaningful between pages while connections come and go.
  // The free lists hand out low slots first, so nothing lies past the high-water marks: a
  // listing of a shard that never held many connections looks at few slots.
  const uint64_t tcb_slots = config.max_connections;
  const uint64_t end = tcb_slots + tw_high_water_;
  size_t entries = 0;
  for (uint64_t slot = cursor; slot < end; slot++) {
    if (slot >= tcb_high_water_ && slot < tcb_slots) slot = tcb_slots;  // unused control blocks
    if (slot >= end) break;
    if (entries == max_entries || max_slots-- == 0) return slot;
    ConnectionInfo info;
    if (slot < tcb_slots) {
      const Tcb& t = tcbs_[slot];
      if (!t.table_hook.is_linked()) continue;
      describe(t, info);
    } else {
      const TimeWaitRecord& tw = tw_records_[slot - tcb_slots];
      if (!tw.table_hook.is_linked()) continue;
      describe(tw, info);
    }
    if (!filter.matches(info)) continue;
    fn(ctx, info);
    entries++;
  }
  return Shard::kListingDone;
}

void ShardCore::for_each_listener(void (*fn)(void*, const ListenerInfo&), void* ctx) const {
  for (const Listener& l : listeners_) {
    if (!l.active) continue;
    ListenerInfo info;
    info.port = l.port;
    info.family = !l.family ? "both" : *l.family == wire::IpFamily::v4 ? "ipv4" : "ipv6";
    info.syn_received = l.syn_received;
    info.syn_backlog = l.syn_backlog;
    info.syn_cookies = l.syn_cookies == SynCookies::never ? "never" : l.syn_cookies == SynCookies::always ? "always" : "auto";
    fn(ctx, info);
  }
}

TimePoint ShardCore::next_deadline() const {
  TimePoint next = kNever;
  if (auto hint = wheel_.next_expiry_hint())
    next = TimePoint(Duration(static_cast<int64_t>(*hint) * kMicrosPerTick));
  if (!tw_expiry_.empty()) next = std::min(next, tw_expiry_.front().deadline);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Shard: the stack-facing wrapper

Shard::Shard(const TcpConfig& config, const ShardEnv& env, TimePoint now)
    : core_(std::make_unique<ShardCore>(config, env, now)) {}
Shard::~Shard() = default;
void Shard::input(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) {
  core_->input(m, src, dst, ecn, now);
}
void Shard::icmp_error(const wire::IcmpTcpError& error, TimePoint now) { core_->icmp_error(error, now); }
void Shard::advance(TimePoint now) { core_->advance(now); }
const bool* Shard::syn_shedding_flag() const { return &core_->shedding_syns_; }
void Shard::syn_shed() { core_->syn_shed(); }
ListenResult Shard::listen(uint16_t port, ListenHandler& handler, const ListenOptions& options) {
  return core_->listen(port, handler, options);
}
void Shard::unlisten(uint16_t port) { core_->unlisten(port); }

const TcpConfig& Shard::config() const { return core_->config; }

Connection* Shard::find(ConnectionId id) {
  if (id.slot >= core_->config.max_connections) return nullptr;
  Tcb& t = core_->tcbs_[id.slot];
  // A free slot keeps the generation of its last connection, which ended: zombie or detached.
  if (t.generation != id.generation || t.zombie || t.app_closed || t.handler == nullptr) return nullptr;
  return &t;
}
ConnectResult Shard::connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                             const ConnectOptions& options, TimePoint now) {
  return core_->connect(dst, dst_port, handler, options, now);
}
void Shard::abort_all() { core_->abort_all(); }
void Shard::release_time_wait() {
  while (!core_->tw_expiry_.empty()) {
    core_->free_time_wait(core_->tw_expiry_.front());
    ++core_->counters.time_wait_released;
  }
}
ShardResources Shard::resources() const {
  const ShardCore& c = *core_;
  ShardResources r;
  r.tcbs_in_use = c.config.max_connections - c.free_tcbs_.size();
  r.tcbs_in_table = c.table_.size();
  r.time_wait_records = c.config.max_time_wait - c.free_tw_.size();
  for (uint32_t i = 0; i < c.config.max_connections; ++i) r.timers_armed += c.tcbs_[i].timer.armed() ? 1 : 0;
  r.sent_records_in_use = c.config.sent_records - c.sent_pool_.available();
  r.events_pending = c.pending_.size() + c.reap_.size();
  return r;
}
const TcpCounters& Shard::counters() const { return core_->counters; }
unsigned Shard::mbufs_stashed() const { return core_->mbufs_.count(); }
size_t Shard::connections_in_use() const { return core_->config.max_connections - core_->free_tcbs_.size(); }
size_t Shard::connection_capacity() const { return core_->config.max_connections; }
size_t Shard::time_wait_count() const { return core_->tw_table_.size(); }
TimePoint Shard::next_deadline() const { return core_->next_deadline(); }
void Shard::for_each_connection_impl(void (*fn)(void*, const ConnectionInfo&), void* ctx) const {
  core_->for_each_connection(fn, ctx);
}
uint64_t Shard::list_connections_impl(uint64_t cursor, const ConnectionFilter& filter, size_t max_entries,
                                      size_t max_slots, void (*fn)(void*, const ConnectionInfo&), void* ctx) const {
  return core_->list_connections(cursor, filter, max_entries, max_slots, fn, ctx);
}
void Shard::for_each_listener_impl(void (*fn)(void*, const ListenerInfo&), void* ctx) const {
  core_->for_each_listener(fn, ctx);
}

}  // namespace dtcp::tcp

// The public names live in namespace dtcp.
namespace dtcp {

// ---------------------------------------------------------------------------------------------
// Names

const char* to_string(TcpState s) {
  switch (s) {
    case TcpState::closed: return "CLOSED";
    case TcpState::listen: return "LISTEN";
    case TcpState::syn_sent: return "SYN-SENT";
    case TcpState::syn_received: return "SYN-RECEIVED";
    case TcpState::established: return "ESTABLISHED";
    case TcpState::fin_wait_1: return "FIN-WAIT-1";
    case TcpState::fin_wait_2: return "FIN-WAIT-2";
    case TcpState::close_wait: return "CLOSE-WAIT";
    case TcpState::closing: return "CLOSING";
    case TcpState::last_ack: return "LAST-ACK";
    case TcpState::time_wait: return "TIME-WAIT";
  }
  return "?";
}

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::normal: return "normal";
    case CloseReason::reset_by_peer: return "reset_by_peer";
    case CloseReason::refused: return "refused";
    case CloseReason::timed_out: return "timed_out";
    case CloseReason::aborted: return "aborted";
    case CloseReason::no_memory: return "no_memory";
    case CloseReason::unreachable: return "unreachable";
  }
  return "?";
}

const char* to_string(ListenError e) {
  switch (e) {
    case ListenError::ok: return "ok";
    case ListenError::port_in_use: return "port_in_use";
    case ListenError::invalid_port: return "invalid_port";
    case ListenError::too_many_listeners: return "too_many_listeners";
  }
  return "?";
}

const char* to_string(ConnectError e) {
  switch (e) {
    case ConnectError::ok: return "ok";
    case ConnectError::invalid_address: return "invalid_address";
    case ConnectError::no_ephemeral_port: return "no_ephemeral_port";
    case ConnectError::address_in_use: return "address_in_use";
    case ConnectError::no_connection: return "no_connection";
    case ConnectError::no_mbuf: return "no_mbuf";
  }
  return "?";
}

}  // namespace dtcp
