// Timers: each TCB keeps its deadlines as fields and arms one wheel entry for the earliest. When
// the entry fires, every deadline is re-checked against `now`; a deadline that moved later (or
// was cleared) since the entry was armed is simply re-armed by update_timer() (gVisor/FreeBSD
// style: cancel lazily, verify on expiry).
#include <algorithm>

#include <rte_mempool.h>

#include "tcp/core.hpp"

namespace dtcp::tcp {

void ShardCore::update_timer(Tcb& t) {
  // A tree of pairwise minima (branch-free), not std::min over an initializer_list: this runs at
  // every drain() of every connection, about 10 times a connection.
  const TimePoint earliest =
      std::min(std::min(std::min(t.rexmit_deadline, t.persist_deadline), std::min(t.fin_wait_2_deadline, t.tx_retry_deadline)),
               std::min(std::min(t.keepalive_deadline, t.delack_deadline), std::min(t.rack_deadline, t.tlp_deadline)));
  if (earliest == kNever) {
    t.timer.cancel();
    return;
  }
  const Tick tick = tick_ceil(earliest);  // never early: fires once now >= earliest
  if (!t.timer.armed() || t.timer.expiry != tick) wheel_.arm(t.timer, tick);
}

// Called from the wheel; must not re-arm (drain() does that once the wheel is done).
void ShardCore::on_timer(Tcb& t, TimePoint now) {
  if (t.zombie) return;
  if (t.tx_retry_deadline <= now) {
    t.tx_retry_deadline = kNever;  // drain()'s output() retries sending
    // A send() cut short by mbuf exhaustion: let the application try again.
    if (t.want_writable && !t.app_closed && api_send_space(t) > 0) {
      if ((mbufs_.count() == 0 && rte_mempool_avail_count(env.pool) == 0) || !mem_data_would_be_allowed()) {
        t.tx_retry_deadline = now + kClockGranularity;  // still none: look again next tick
      } else {
        t.want_writable = false;
        raise(t, kEventWritable);
      }
    }
  }
  if (t.delack_deadline <= now) {
    t.delack_deadline = kNever;  // drain()'s output() sends the ACK
    t.ack_now = true;
    ++counters.tx_delayed_acks;
  }
  if (t.rack_deadline <= now) on_rack_timeout(t, now);
  if (t.tlp_deadline <= now) on_tlp_timeout(t, now);
  if (t.rexmit_deadline <= now) on_rexmit_timeout(t, now);
  if (!t.zombie && t.persist_deadline <= now) on_persist_timeout(t, now);
  if (!t.zombie && t.fin_wait_2_deadline <= now) {
    t.fin_wait_2_deadline = kNever;
    if (t.state == TcpState::fin_wait_2) {
      // Linux (tcp_fin_timeout on an orphan) resets the peer too, so it leaves CLOSE-WAIT.
      ++counters.conn_fin_wait_2_timeout;
      reset_connection(t, CloseReason::timed_out);
    }
  }
  if (!t.zombie && t.keepalive_deadline <= now) on_keepalive_timeout(t, now);
  if (!t.zombie) schedule(t);
}

// Keep-alive: the deadline is not moved on every segment (that would re-arm the wheel per
// packet); instead a fire re-checks last_rx and re-arms if the peer was heard from meanwhile.
void ShardCore::on_keepalive_timeout(Tcb& t, TimePoint now) {
  t.keepalive_deadline = kNever;
  const bool eligible = t.keepalive_idle.count() > 0 &&
                        (t.state == TcpState::established || t.state == TcpState::close_wait ||
                         t.state == TcpState::fin_wait_2);
  if (!eligible) return;
  if (t.keepalive_sent == 0 && now - t.last_rx < t.keepalive_idle) {
    t.keepalive_deadline = t.last_rx + t.keepalive_idle;  // heard from the peer: not idle yet
    return;
  }
  if (t.snd_una != t.snd_max || t.persist_deadline != kNever) {
    // Retransmission or persist timers already test the peer's liveness.
    t.keepalive_deadline = now + t.keepalive_idle;
    return;
  }
  if (t.keepalive_sent >= t.keepalive_probes) {
    ++counters.conn_keepalive_timeout;
    reset_connection(t, CloseReason::timed_out);
    return;
  }
  // Linux's probe: SEG.SEQ = SND.UNA - 1, no data (RFC 1122 4.2.3.6 allows either form); the
  // peer finds it unacceptable and answers with an ACK.
  ++t.keepalive_sent;
  ++counters.tx_keepalive_probes;
  send_segment(t, t.snd_una - SeqLen(1), wire::TcpFlags::ack, 0, 0);
  t.keepalive_deadline = now + t.keepalive_interval;
}

// RFC 6298 §5.4-5.7, for SYN, SYN-ACK, data and FIN.
void ShardCore::on_rexmit_timeout(Tcb& t, TimePoint now) {
  t.rexmit_deadline = kNever;
  const bool handshake = t.state == TcpState::syn_sent || (t.state == TcpState::syn_received && t.syn_unacked());
  if (handshake) {
    // A half-open passive connection may get fewer retries while its listener's backlog is
    // under pressure (syn_cookies.cpp).
    const uint32_t limit = t.listener ? syn_ack_retry_limit(*t.listener) : config.max_syn_retries;
    if (t.retries >= limit) {
      if (limit < config.max_syn_retries) ++counters.syn_ack_pruned;
      ++counters.conn_timed_out;
      if (t.soft_error_type != 0) ++counters.conn_timed_out_unreachable;
      close_connection(t, timeout_reason(t));  // a passive one has no handler: silent
      return;
    }
    ++t.retries;
    ++counters.tx_syn_retransmits;
    t.rto = std::min(t.rto * 2, config.max_rto);
    if (t.listener && !t.syn_retransmitted) ++t.listener->syn_old;
    t.syn_retransmitted = true;
    t.rtt_timing = false;  // Karn
    send_syn(t, now);
    restart_rexmit(t, now);
    return;
  }
  if (t.snd_una == t.snd_max) return;  // everything was acknowledged meanwhile
  if (t.retries >= retry_limit(t) && (!t.orphan || now - t.first_timeout_at >= orphan_time_floor())) {
    ++counters.conn_timed_out;
    if (t.orphan) ++counters.conn_orphan_timed_out;
    if (t.soft_error_type != 0) ++counters.conn_timed_out_unreachable;
    reset_connection(t, timeout_reason(t));
    return;
  }
  // RFC 3522: with timestamps, the first ACK after this timeout tells whether the original
  // segment had only been delayed (it echoes an older TSval than the retransmission's).
  t.rto_undo_armed = t.ts_ok && t.retries == 0;
  if (t.rto_undo_armed) t.rto_tsval = ts_clock(t);
  if (t.retries == 0 && t.loss_state == Tcb::LossState::open) t.cc.save();  // undo by Eifel or D-SACK
  if (t.retries == 0) t.first_timeout_at = now;
  ++t.retries;
  ++counters.tx_retransmits;
  t.rto = std::min(t.rto * 2, config.max_rto);  // §5.5 back off
  t.cc->congestion_event(CongestionEvent::timeout, t.flight_size(), now);
  if (t.ecn_ok) t.cwr_pending = true;  // RFC 3168 §6.1.2: CWR follows any reduction
  // RFC 6582 §3.2 step 1 / §4: recovery ends; duplicates of what was sent so far must not start
  // a new one.
  t.in_recovery = false;
  t.dupacks = 0;
  t.recover = t.snd_max;
  t.rtt_timing = false;  // Karn: no sample from what is retransmitted
  if (t.sack_ok && !t.sent.empty()) {
    sack_timeout(t, now);  // resend what the scoreboard says is missing, in slow start
  } else {
    t.snd_nxt = t.snd_una;  // go-back-N from the first unacknowledged byte
  }
  restart_rexmit(t, now);  // §5.6
  output(t, now);
}

void ShardCore::on_persist_timeout(Tcb& t, TimePoint now) {
  t.persist_deadline = kNever;
  if (t.snd_una != t.snd_max) return;  // data in flight: the retransmission timer covers it
  if (t.snd_wnd == 0) {
    // RFC 1122 4.2.2.17 forbids giving up while the receiver answers the probes; one that stops
    // answering is treated as dead after max_retries probes (orphan_retries for an orphan), as
    // Linux does (tcp_probe_timer()).
    if (t.persist_unanswered >= retry_limit(t)) {
      ++counters.conn_timed_out;
      if (t.orphan) ++counters.conn_orphan_timed_out;
      reset_connection(t, CloseReason::timed_out);
      return;
    }
    ++t.persist_unanswered;
    send_window_probe(t);
    ++t.persist_backoff;
    const Duration backoff =
        std::min<Duration>(t.rto * (1 << std::min<uint32_t>(t.persist_backoff, 16)), config.max_rto);
    t.persist_deadline = now + backoff;
    return;
  }
  output(t, now, /*force=*/true);  // SWS override timeout (RFC 9293 §3.8.6.2.1)
}

}  // namespace dtcp::tcp
