// Loss recovery without SACK: RFC 5681 §3.2 fast retransmit with RFC 6582 NewReno (duplicate ACK
// counting, "recover", partial and full ACKs) and RFC 3042 limited transmit (in output()). The
// controller sets ssthresh; NewReno inflates and deflates cwnd through set_cwnd() as the RFC's
// window arithmetic says. Connections with SACK use the scoreboard (recovery.cpp) instead.
#include <algorithm>

#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

// An acceptable ACK (SEG.ACK <= SND.MAX) of a connection without SACK (or one whose SYN this ACK
// acknowledges: the scoreboard starts then).
void ShardCore::newreno_ack(Tcb& t, const Segment& seg, bool ack_is_new, TimePoint now) {
  if (ack_is_new) {
    // close() in SYN-RECEIVED moved to FIN-WAIT-1 before our SYN was acknowledged: this ACK
    // completes the handshake too.
    const bool completes_handshake = t.syn_unacked();
    if (t.rto_undo_armed) spurious_timeout_check(t, seg);
    if (t.in_recovery && seg.ack < t.recover) {
      // RFC 6582 §3.2 step 5, a partial ACK: the next hole is lost too; resend it at once.
      const uint32_t acked = (seg.ack - t.snd_una).value();
      ack_advances(t, seg.ack, now, &seg.options, /*in_recovery_partial=*/true);
      // RFC 6582 §3.2 step 5: deflate by the amount acknowledged, add back one SMSS if that was at
      // least one SMSS, so about ssthresh bytes stay in flight when recovery ends.
      const uint32_t cwnd = t.cc->cwnd();
      t.cc->set_cwnd((cwnd > acked ? cwnd - acked : 0) + (acked >= t.eff_mss() ? t.eff_mss() : 0));
      ++counters.recovery_partial_acks;
      retransmit_head(t);
    } else {
      const bool full_ack = t.in_recovery;
      ack_advances(t, seg.ack, now, &seg.options);
      if (full_ack) {
        // RFC 6582 §3.2 step 3: everything sent before recovery began is acknowledged.
        t.in_recovery = false;
        // RFC 6582 §3.2 step 3, option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS), which
        // avoids a burst when little is left in flight.
        t.cc->recovery_exit(now);
        t.cc->set_cwnd(std::min(t.cc->ssthresh(), std::max(t.flight_size(), t.eff_mss()) + t.eff_mss()));
      }
    }
    t.dupacks = 0;
    if (completes_handshake) {
      t.cc->init(t.eff_mss(), config.initial_window, now);
      if (t.sack_ok) scoreboard_start(t);
      raise(t, t.passive ? kEventAccept : kEventConnected);
    }
  } else if (seg.ack == t.snd_una && seg.len == 0 && t.flight_size() > 0 &&
             !seg.has(TcpFlags::fin) && (uint32_t{seg.wnd} << t.snd_wscale) == t.snd_wnd) {
    on_duplicate_ack(t);  // RFC 5681 §2's definition, all five conditions
  }
}

// RFC 5681 §3.2 fast retransmit with RFC 6582 NewReno recovery; the first two duplicates allow
// limited transmit (RFC 3042, in output()).
void ShardCore::on_duplicate_ack(Tcb& t) {
  ++counters.rx_dup_acks;
  ++t.dupacks;
  if (t.in_recovery) {
    // RFC 5681 §3.2 step 4: a segment left the network; inflate cwnd, maybe send new data.
    t.cc->set_cwnd(t.cc->cwnd() + t.eff_mss());
    return;
  }
  if (t.dupacks != 3) return;
  // RFC 6582 §3.2 step 2: duplicates of data sent before the last recovery or timeout ended
  // ("recover") do not start a new one (that would halve cwnd twice for one loss event).
  if (!(t.snd_una > t.recover)) {
    ++counters.recovery_not_entered;
    return;
  }
  t.in_recovery = true;
  t.partial_ack_seen = false;
  t.recover = t.snd_max;
  // RFC 3168 §6.1.2: one reduction per window for losses and CE marks together; an ECE of this
  // window reduced it already (Linux: tcp_enter_recovery() in CA_CWR keeps ssthresh).
  if (!t.ecn_window_reduced()) t.cc->congestion_event(CongestionEvent::loss, t.flight_size(), now_);
  if (t.ecn_ok) t.cwr_pending = true;  // RFC 3168 §6.1.2: CWR follows any reduction
  t.cc->set_cwnd(t.cc->ssthresh() + 3 * t.eff_mss());  // RFC 5681 §3.2 step 3
  ++counters.recovery_entered;
  retransmit_head(t);
}

}  // namespace dtcp::tcp
