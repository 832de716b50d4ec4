// Loss recovery with SACK: the RFC 6675 scoreboard kept in the sent-segment map, RACK-TLP
// (RFC 8985) as the loss detector, PRR (RFC 6937) pacing what is sent while repairing, and D-SACK
// (RFC 2883) to undo reductions that proved spurious. Congestion control (cwnd growth, the size of
// a reduction) stays behind CongestionController; this file decides when and what to resend.
// Connections without SACK recover with NewReno (input.cpp, RFC 6582).
//
// States (Linux's CA_Open, CA_Recovery, CA_Loss):
//   open      nothing lost; a loss RACK (or IsLost) detects starts fast recovery;
//   recovery  resend lost segments as PRR allows; ends when SND.UNA reaches `recover`;
//   loss      after a timeout every unSACKed segment is lost and is resent in slow start.
#include <algorithm>
#include <cassert>

#include "tcp/core.hpp"

namespace dtcp::tcp {

namespace {

using Flag = SentSegment::Flag;

// RFC 8985 §6.2 RACK_sent_after(): was (o1, end1) sent after (o2, end2)? The order of
// transmissions stands in for the RFC's transmit time, which a clock read once per poll iteration
// cannot tell apart (see SentSegment::xmit_order); within one transmission (a burst kept as one
// record and later split by SACK blocks or a partial ACK) lower sequence numbers went first.
bool sent_after(uint32_t o1, SeqNum end1, uint32_t o2, SeqNum end2) {
  const int32_t d = static_cast<int32_t>(o1 - o2);
  return d > 0 || (d == 0 && end1 > end2);
}

// RFC 6675 §2: DupThresh.
constexpr uint32_t kDupThresh = 3;

// Sequence space one retransmission of `s` may cover: an MSS of data, and our FIN with it when
// the piece reaches the FIN (the FIN takes a sequence number but no payload, so a last segment of
// a full MSS and the FIN goes again as it was first sent, not as MSS - 1 bytes and the FIN). A
// longer record ending in the FIN resends its first MSS only: MSS + 1 from its start would be
// MSS + 1 bytes of data, one more than the peer allowed (RFC 9293 §3.7.1).
uint32_t retransmit_limit(const Tcb& t, const SentSegment& s) {
  const uint32_t mss = t.eff_mss();
  return t.fin_sent() && s.end == t.fin_seq + SeqLen(1) && s.len() <= mss + 1 ? mss + 1 : mss;
}

}  // namespace

// The map starts with the connection (everything sent before is the SYN, which it does not hold).
void ShardCore::scoreboard_start(Tcb& t) {
  t.retransmit_hint = t.snd_una;
  t.rack_fack = t.snd_una;
  t.rack_xmit_order = 0;
  t.rack_end_seq = t.snd_una;
  if (t.snd_max > t.snd_una) t.sent.on_send(sent_pool_, config.sent_records_per_connection, t.snd_una, t.snd_max, now_);
}

// Every acceptable ACK of a SACK connection (SND.UNA <= SEG.ACK <= SND.MAX), after ack_advances()
// freed what it acknowledged. `prior_una`: SND.UNA before this ACK.
void ShardCore::scoreboard_ack(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now) {
  const wire::TcpOptions& o = seg.options;
  const uint32_t max_records = config.sent_records_per_connection;
  const SeqNum prior_fack = t.rack_fack;
  uint32_t delivered = 0;
  bool dsack = false;
  // This ACK's RTT sample for the controller: the most recently sent segment it delivered, if
  // that was sent once (Karn).
  Duration ack_rtt{0};
  uint32_t ack_rtt_order = 0;
  SeqNum ack_rtt_end;
  // `end`: where the delivered part of record `s` ends (a cumulative ACK may cover only part of
  // the record of a burst; the rest was not delivered and must not count as such).
  auto on_delivered = [&](const SentSegment& s, SeqNum end, bool cumulative) {
    rack_update(t, s, end, o, cumulative, now);
    if (!s.has(Flag::kEverRetransmitted) && (ack_rtt.count() == 0 || sent_after(s.xmit_order, end, ack_rtt_order, ack_rtt_end))) {
      ack_rtt = std::max<Duration>(now - s.xmit_time, Duration{1});
      ack_rtt_order = s.xmit_order;
      ack_rtt_end = end;
    }
    // RFC 8985 §6.2 step 3: delivered below what was delivered before, and sent once: reordering.
    if (end < prior_fack && !s.has(Flag::kEverRetransmitted)) t.rack_reordering_seen = true;
  };

  // The common case: an ACK without SACK blocks advancing SND.UNA over an in-order flight (nothing
  // SACKed, lost or being retransmitted, no probe out, open state). Of the steps below only the
  // cumulative ACK, RACK's loss check and cwnd growth can do anything then; the rest (D-SACK,
  // blocks, duplicate counting, tlp_ack(), the other loss states) is skipped. Equal to the full
  // path by construction: the same calls in the same order.
  if (o.sack_block_count == 0 && seg.ack > prior_una && t.loss_state == Tcb::LossState::open && !t.tlp_in_flight &&
      t.sent.unmarked()) {
    t.sent.on_cumulative_ack(sent_pool_, seg.ack, [&](const SentSegment& s) {
      const SeqNum end = seq_min(s.end, seg.ack);
      on_delivered(s, end, true);
      delivered += (end - s.start).value();
    });
    t.rack_fack = seq_max(t.rack_fack, seg.ack);
    if (t.retransmit_hint < seg.ack) t.retransmit_hint = seg.ack;
    t.dupacks = 0;
    if (t.rack_dsack_round && t.snd_una >= t.rack_dsack_round_end) t.rack_dsack_round = false;
    detect_losses(t, now);
    if (t.sent.lost_bytes() > 0) {
      enter_sack_recovery(t, prior_una, now);
      prr_ack(t, delivered);
    } else if (delivered > 0) {
      grow_cwnd(t, delivered, ack_rtt, now);
    }
    arm_tlp(t, now);
    return;
  }

  // RFC 2883 §4: a first block below the cumulative ACK, or inside the second block, reports a
  // duplicate. It says nothing about holes; it tells a retransmission was not needed.
  size_t first_block = 0;
  if (o.sack_block_count > 0) {
    const SeqNum left(o.sack_blocks[0].left), right(o.sack_blocks[0].right);
    const bool below_ack = right <= seg.ack;
    const bool inside_second = o.sack_block_count > 1 && SeqNum(o.sack_blocks[1].left) <= left &&
                               right <= SeqNum(o.sack_blocks[1].right);
    if (left < right && (below_ack || inside_second)) {
      dsack = true;
      first_block = 1;
      on_dsack(t, left, right, prior_una);
    }
  }

  if (seg.ack > prior_una) {
    t.sent.on_cumulative_ack(sent_pool_, seg.ack, [&](const SentSegment& s) {
      const SeqNum end = seq_min(s.end, seg.ack);
      on_delivered(s, end, true);
      delivered += (end - s.start).value();
    });
    t.rack_fack = seq_max(t.rack_fack, seg.ack);
    if (t.retransmit_hint < seg.ack) t.retransmit_hint = seg.ack;
  }
  for (size_t i = first_block; i < o.sack_block_count; ++i) {
    SeqNum left(o.sack_blocks[i].left), right(o.sack_blocks[i].right);
    // A block must lie within what we sent; below SND.UNA only a D-SACK may (handled above).
    if (!(left < right) || right > t.snd_max || !(right > t.snd_una)) {
      ++counters.rx_sack_invalid;
      continue;
    }
    left = seq_max(left, t.snd_una);
    delivered += t.sent.on_sack(sent_pool_, max_records, left, right,
                                [&](const SentSegment& s) { on_delivered(s, s.end, false); });
    t.rack_fack = seq_max(t.rack_fack, right);
  }
  counters.rx_sack_blocks += o.sack_block_count;

  // A duplicate ACK with no SACK information at all (a peer that negotiated SACK but does not
  // send blocks): after DupThresh of them the first segment is lost (RFC 6675 §5 step 4's trigger,
  // RFC 5681 §3.2), as NewReno would conclude.
  const bool duplicate = seg.ack == prior_una && seg.len == 0 && t.flight_size() > 0 && o.sack_block_count == 0 &&
                         !seg.has(wire::TcpFlags::fin) && (uint32_t{seg.wnd} << t.snd_wscale) == t.snd_wnd;
  if (seg.ack > prior_una) {
    t.dupacks = 0;
  } else if (duplicate || (o.sack_block_count > 0 && delivered > 0)) {
    ++t.dupacks;
    ++counters.rx_dup_acks;
  }

  // RACK reordering window bookkeeping (RFC 8985 §6.2 step 4) and the loss check (step 5).
  if (t.rack_dsack_round && t.snd_una >= t.rack_dsack_round_end) t.rack_dsack_round = false;
  if (dsack && !t.rack_dsack_round) {
    t.rack_dsack_round = true;
    t.rack_dsack_round_end = t.snd_max;
    t.rack_reo_wnd_mult = static_cast<uint8_t>(std::min<uint32_t>(t.rack_reo_wnd_mult + 1u, 255u));
    t.rack_reo_wnd_persist = 16;
  }
  detect_losses(t, now);
  if (duplicate && t.dupacks >= kDupThresh && t.loss_state == Tcb::LossState::open) {
    if (SentSegment* head = t.sent.first(); head && !head->has(Flag::kSacked) && !head->has(Flag::kLost)) {
      t.sent.mark_lost(*head);
      t.retransmit_hint = seq_min(t.retransmit_hint, head->start);
    }
  }

  tlp_ack(t, seg, dsack);

  // RFC 5681 §3.1: cwnd grows only on ACKs that cumulatively acknowledge new data; SACKed bytes
  // that a duplicate ACK reports leave it alone (pipe already lets a segment out for each, as
  // limited transmit would, RFC 3042). Linux: tcp_may_raise_cwnd() without high reordering.
  const bool may_grow = delivered > 0 && seg.ack > prior_una;
  switch (t.loss_state) {
    case Tcb::LossState::open:
      if (t.sent.lost_bytes() > 0) {
        enter_sack_recovery(t, prior_una, now);
        prr_ack(t, delivered);
      } else if (may_grow) {
        grow_cwnd(t, delivered, ack_rtt, now);
      }
      break;
    case Tcb::LossState::recovery:
      if (t.snd_una >= t.recover) {
        // RFC 6675 §5 / RFC 6937 §3: everything outstanding when recovery began is acknowledged.
        t.loss_state = Tcb::LossState::open;
        t.cc->recovery_exit(now);
        end_loss_episode(t);
        if (t.sent.lost_bytes() > 0) {  // a later loss: a new episode
          enter_sack_recovery(t, prior_una, now);
          prr_ack(t, delivered);
        }
      } else {
        prr_ack(t, delivered);
      }
      break;
    case Tcb::LossState::loss:
      // RFC 5681 §3.1: slow start from the loss window while the lost flight is resent.
      if (may_grow) grow_cwnd(t, delivered, ack_rtt, now);
      if (t.snd_una >= t.recover) {
        t.loss_state = Tcb::LossState::open;
        end_loss_episode(t);
      }
      break;
  }
  if (seg.ack > prior_una || delivered > 0) arm_tlp(t, now);
}

void ShardCore::grow_cwnd(Tcb& t, uint32_t delivered, Duration rtt, TimePoint now) {
  AckSample sample;
  sample.now = now;
  sample.bytes_acked = delivered;
  sample.rtt = rtt;
  sample.min_rtt = t.min_rtt;
  sample.in_flight = t.sack_ok ? t.sent.pipe(t.flight_size()) : t.flight_size();
  sample.ack = t.snd_una;
  sample.snd_nxt = t.snd_max;
  sample.cwnd_limited = t.cwnd_limited;
  cc_ack_received(t, sample);
}

// Every ACK the controller hears of goes through here, so its epochs and HyStart++ exits reach
// the shard's counters.
void ShardCore::cc_ack_received(Tcb& t, const AckSample& sample) {
  const uint32_t epochs = t.cc->epochs();
  const uint32_t exits = t.cc->hystart_exits();
  t.cc->ack_received(sample);
  counters.cc_cubic_epochs += t.cc->epochs() - epochs;
  counters.cc_hystart_exits += t.cc->hystart_exits() - exits;
}

// RFC 8985 §6.2 step 2 for one newly delivered (acknowledged or SACKed) segment, `s` up to `end`:
// remember the most recently sent delivered segment and its RTT. A retransmitted segment's RTT is
// ambiguous (RFC 6298 §3, Karn); it is used only when its RTT is not below the minimum (so it
// cannot be the original's ACK arriving early) and, for a cumulative ACK, the echoed timestamp
// does not predate the retransmission. A SACK's TSecr proves nothing either way: the receiver
// echoes TS.Recent, which an out-of-order segment never updates (RFC 7323 §4.3), so a SACKed tail
// loss probe always echoes an older TSval; trusting it would discard the probe's delivery, and a
// second lost segment before it would wait for the RTO (Linux tests only min_rtt here).
void ShardCore::rack_update(Tcb& t, const SentSegment& s, SeqNum end, const wire::TcpOptions& o, bool cumulative,
                            TimePoint now) {
  const Duration rtt = now - s.xmit_time;
  if (s.has(Flag::kEverRetransmitted)) {
    if (rtt < t.min_rtt) return;
    if (cumulative && t.ts_ok && o.timestamps && o.timestamps->tsecr != 0) {
      const uint32_t ts_at_xmit = ts_clock_at(t, s.xmit_time);
      if (static_cast<int32_t>(o.timestamps->tsecr - ts_at_xmit) < 0) return;  // the original's ACK
    }
  } else if (t.min_rtt.count() == 0 || rtt < t.min_rtt) {
    t.min_rtt = std::max<Duration>(rtt, Duration{1});
  }
  if (sent_after(s.xmit_order, end, t.rack_xmit_order, t.rack_end_seq) || t.rack_rtt.count() == 0) {
    t.rack_rtt = rtt;
    t.rack_xmit_ts = s.xmit_time;
    t.rack_xmit_order = s.xmit_order;
    t.rack_end_seq = end;
  }
}

// RFC 8985 §6.2 step 4, RACK_update_reo_wnd(): no reordering seen yet, the window is zero once
// recovery started or DupThresh segments are SACKed (it then behaves as RFC 6675); otherwise a
// quarter of the minimum RTT, widened for each round that a D-SACK showed a spurious
// retransmission, never more than SRTT.
Duration ShardCore::rack_reo_wnd(const Tcb& t) const {
  if (!t.rack_reordering_seen) {
    if (t.loss_state != Tcb::LossState::open) return Duration{0};
    if (t.sent.sacked_bytes() >= kDupThresh * t.eff_mss()) return Duration{0};
  }
  const Duration wnd = t.min_rtt / 4 * t.rack_reo_wnd_mult;
  return t.have_rtt ? std::min(wnd, t.srtt) : wnd;
}

// Marks what is lost: RACK (RFC 8985 §6.2 step 5) walks the segments in flight from the oldest
// transmission; each sent before the most recently delivered one and older than RACK.rtt +
// reo_wnd is lost; the first that is not yet arms the reordering timer for when it will be.
// Without RACK, RFC 6675 §4 IsLost(): DupThresh segments' worth SACKed above.
void ShardCore::detect_losses(Tcb& t, TimePoint now) {
  t.rack_deadline = kNever;
  if (t.sent.empty()) return;
  if (!config.rack) {
    detect_losses_dupthresh(t);
    return;
  }
  if (t.rack_rtt.count() == 0 && t.rack_xmit_ts == TimePoint{}) return;  // nothing delivered yet
  const Duration reo_wnd = rack_reo_wnd(t);
  auto& order = t.sent.by_time();
  for (auto it = order.begin(); it != order.end();) {
    SentSegment& s = *it++;
    if (!sent_after(t.rack_xmit_order, t.rack_end_seq, s.xmit_order, s.end)) break;  // sent after RACK.segment
    const TimePoint deadline = s.xmit_time + t.rack_rtt + reo_wnd;
    if (deadline <= now) {
      t.sent.mark_lost(s);
      t.retransmit_hint = seq_min(t.retransmit_hint, s.start);
      ++counters.rack_lost_segments;
    } else {
      t.rack_deadline = deadline;  // RFC 8985 §6.3: the oldest one left decides
      break;
    }
  }
}

// RFC 6675 §4 IsLost(SeqNum): lost once DupThresh discontiguous SACKed ranges, or more than
// (DupThresh - 1) * SMSS SACKed bytes, lie above it. Walks from the highest record down.
void ShardCore::detect_losses_dupthresh(Tcb& t) {
  uint32_t sacked_above = 0;
  uint32_t ranges_above = 0;
  const uint32_t threshold = (kDupThresh - 1) * t.eff_mss();
  auto& seq = t.sent.by_seq();
  for (auto it = seq.rbegin(); it != seq.rend(); ++it) {
    SentSegment& s = *it;
    if (s.has(Flag::kSacked)) {
      sacked_above += s.len();
      ++ranges_above;
      continue;
    }
    if (s.has(Flag::kLost) || s.has(Flag::kRetransmitted)) continue;
    if (ranges_above >= kDupThresh || sacked_above > threshold) {
      t.sent.mark_lost(s);
      t.retransmit_hint = seq_min(t.retransmit_hint, s.start);
      ++counters.sack_lost_segments;
    }
  }
}

void ShardCore::on_rack_timeout(Tcb& t, TimePoint now) {
  t.rack_deadline = kNever;
  if (!t.sack_ok || t.sent.empty()) return;
  ++counters.rack_reorder_timeouts;
  const uint32_t lost_before = t.sent.lost_bytes();
  detect_losses(t, now);
  if (t.sent.lost_bytes() > lost_before && t.loss_state == Tcb::LossState::open) {
    enter_sack_recovery(t, t.snd_una, now);
    prr_ack(t, 0);
  }
}

// RFC 6675 §5 step 4 / RFC 6937: recovery begins. The controller sets ssthresh; PRR starts.
void ShardCore::enter_sack_recovery(Tcb& t, SeqNum prior_una, TimePoint now) {
  t.loss_state = Tcb::LossState::recovery;
  t.recover = t.snd_max;
  ++counters.sack_recoveries;
  begin_loss_episode(t);
  t.cc.save();
  // RFC 3168 §6.1.2: one reduction per window for losses and CE marks together (see on_duplicate_ack()).
  if (!t.ecn_window_reduced()) t.cc->congestion_event(CongestionEvent::loss, (t.snd_max - prior_una).value(), now);
  if (t.ecn_ok) t.cwr_pending = true;
  t.prr_delivered = 0;
  t.prr_out = 0;
  t.recover_fs = std::max((t.snd_max - prior_una).value(), 1u);  // RFC 6937 §3: RecoverFS
}

// RFC 6937 §3, on every ACK during recovery: how much may be sent is proportional to what was
// delivered while the flight is above ssthresh (PRR), and grows back to ssthresh at most one
// segment faster than delivery below it (slow-start reduction bound, PRR-SSRB). cwnd is set so
// that cwnd - pipe is exactly that amount.
void ShardCore::prr_ack(Tcb& t, uint32_t delivered) {
  t.prr_delivered += delivered;
  const uint32_t pipe = t.sent.pipe(t.flight_size());
  const uint64_t ssthresh = t.cc->ssthresh();
  int64_t sndcnt;
  if (pipe > ssthresh) {
    sndcnt = static_cast<int64_t>((uint64_t{t.prr_delivered} * ssthresh + t.recover_fs - 1) / t.recover_fs) -
             static_cast<int64_t>(t.prr_out);
  } else {
    const int64_t limit = std::max<int64_t>(int64_t{t.prr_delivered} - int64_t{t.prr_out}, delivered) + t.eff_mss();
    sndcnt = std::min<int64_t>(static_cast<int64_t>(ssthresh) - pipe, limit);
  }
  sndcnt = std::max<int64_t>(sndcnt, 0);
  // The first ACK of recovery always lets the fast retransmit out (RFC 6937 §3 with Linux's
  // tcp_cwnd_reduction(): sndcnt >= 1 segment while nothing was sent yet).
  if (t.prr_out == 0 && sndcnt == 0) sndcnt = t.eff_mss();
  t.cc->set_cwnd(static_cast<uint32_t>(std::min<int64_t>(pipe + sndcnt, kMaxCwnd)));
}

void ShardCore::begin_loss_episode(Tcb& t) {
  t.dsack_undo_armed = true;
  t.undo_retrans = 0;
  t.undo_marker = t.snd_una;
}

void ShardCore::end_loss_episode(Tcb& t) {
  t.dsack_undo_armed = false;
  // RFC 8985 §6.2 step 4: the widened reordering window lasts 16 recoveries.
  if (t.rack_reo_wnd_persist > 0 && --t.rack_reo_wnd_persist == 0) t.rack_reo_wnd_mult = 1;
}

// RFC 2883 §5 / RFC 3708: a D-SACK for data this episode retransmitted means that retransmission
// was not needed. When every retransmission of the episode is reported so, the reduction was
// spurious and is undone (Linux: tcp_try_undo_dsack()).
void ShardCore::on_dsack(Tcb& t, SeqNum left, SeqNum right, SeqNum prior_una) {
  ++counters.rx_dsack;
  (void)prior_una;
  // A retransmission reported duplicate: its original arrived after all, later than RACK
  // allowed. That is reordering (or delay) evidence the RFC 8985 §6.2 step 3 check cannot see,
  // since it ignores retransmitted segments; Linux counts it too (tcp_sacktag_one() feeding
  // tcp_check_sack_reordering()). With it, reo_wnd no longer drops to 0 in recovery.
  const bool ours = t.sent.was_retransmitted(left, right);
  if (ours) t.rack_reordering_seen = true;
  if (!t.dsack_undo_armed || t.undo_retrans == 0) return;
  if (!(right > t.undo_marker) || right > t.snd_max) return;  // not data of this episode
  if (!ours) return;  // a duplicate the network made
  if (--t.undo_retrans > 0) return;
  ++counters.dsack_undo;
  t.cc.undo();
  t.dsack_undo_armed = false;
  if (t.loss_state != Tcb::LossState::open) {
    t.loss_state = Tcb::LossState::open;
    t.sent.unmark_lost_unretransmitted();
    end_loss_episode(t);
  }
}

// Sends [start, start + len) again (len counts a FIN), with the flags it first had. Karn (RFC 6298
// §3): a timed segment that is sent again gives no sample.
bool ShardCore::resend(Tcb& t, SeqNum start, uint32_t len) {
  const SeqNum end = start + SeqLen(len);
  const bool fin = t.fin_sent() && end == t.fin_seq + SeqLen(1);
  const uint32_t data_len = len - (fin ? 1u : 0u);
  wire::TcpFlags flags = wire::TcpFlags::ack;
  if (fin) flags |= wire::TcpFlags::fin;
  if (data_len > 0 && start + SeqLen(data_len) == t.data_end()) flags |= wire::TcpFlags::psh;
  if (t.rtt_timing && t.rtt_seq < end) t.rtt_timing = false;
  return send_segment(t, start, flags, (start - t.snd_una).value(), data_len);
}

// RFC 6675 §4 NextSeg() rule 1 and §5 step (C): while cwnd allows, resend the lowest lost segment
// not yet resent, an MSS of data at most (and the FIN when it ends there). New data (rule 2) is
// output()'s; rules 3 and 4 (resending what is not known lost) are left out, as Linux leaves them
// out: RACK marks losses early enough.
// Returns false if an mbuf could not be had.
bool ShardCore::retransmit_lost(Tcb& t, TimePoint now) {
  if (t.sent.lost_bytes() == 0) return true;
  SentSegment* s = t.sent.find(seq_max(t.retransmit_hint, t.snd_una));
  if (s == nullptr) s = t.sent.first();
  auto& seq = t.sent.by_seq();
  for (auto it = seq.iterator_to(*s); it != seq.end();) {
    SentSegment& r = *it;
    if (!r.has(Flag::kLost) || r.has(Flag::kRetransmitted) || r.has(Flag::kSacked)) {
      ++it;
      t.retransmit_hint = r.end;
      continue;
    }
    const uint32_t pipe = t.sent.pipe(t.flight_size());
    if (pipe >= t.cc->cwnd()) return true;
    const uint32_t len = std::min(r.len(), retransmit_limit(t, r));
    if (!resend(t, r.start, len)) return false;
    SentSegment& sent = t.sent.on_retransmit(sent_pool_, config.sent_records_per_connection, r, len, now);
    ++counters.tx_sack_retransmits;
    if (t.loss_state == Tcb::LossState::recovery) {
      t.prr_out += sent.len();
      counters.prr_sent_bytes += sent.len();
    }
    if (t.dsack_undo_armed) ++t.undo_retrans;
    t.retransmit_hint = sent.end;
    it = std::next(seq.iterator_to(sent));
    if (t.rexmit_deadline == kNever) restart_rexmit(t, now);
  }
  return true;
}

// RFC 8985 §7.3: the probe. New data if the peer's window allows (it then also probes for the
// loss of the tail), else the last segment sent again; either way the RTO is re-armed.
void ShardCore::on_tlp_timeout(Tcb& t, TimePoint now) {
  t.tlp_deadline = kNever;
  if (!t.sack_ok || t.loss_state != Tcb::LossState::open || t.snd_una == t.snd_max || t.tlp_in_flight) return;
  ++counters.tlp_probes;
  const SeqNum before = t.snd_max;
  tlp_probe_allowance_ = t.eff_mss();
  output(t, now);
  tlp_probe_allowance_ = 0;
  if (t.snd_max > before) {
    t.tlp_retransmitted = false;
    ++counters.tlp_new_data;
  } else {
    SentSegment* last = t.sent.last();
    if (last == nullptr || last->has(Flag::kSacked)) return;
    const uint32_t len = std::min(last->len(), retransmit_limit(t, *last));
    SentSegment* piece = last;
    uint32_t piece_len = last->len();
    if (len < last->len()) {
      piece = t.sent.split(sent_pool_, config.sent_records_per_connection, *last, last->end - SeqLen(len));
      // No record to split off (the sent-record pool is spent): probe with the record's first
      // MSS instead of its last, which still draws the ACK or SACK the probe is for (RFC 8985
      // §7.3), rather than one segment above the MSS.
      if (piece == nullptr) piece = last;
      piece_len = std::min(piece->len(), len);
    }
    if (!resend(t, piece->start, piece_len)) return;
    t.sent.on_retransmit(sent_pool_, config.sent_records_per_connection, *piece, piece_len, now);
    t.tlp_retransmitted = true;
  }
  t.tlp_in_flight = true;
  t.tlp_end_seq = t.snd_max;
  restart_rexmit(t, now);
}

// RFC 8985 §7.4: was the probe needed? An ACK beyond the probe of a retransmitted segment, with no
// D-SACK for it, means the original was lost and the probe repaired it: that loss still signals
// congestion, so the controller reduces as for a fast recovery.
void ShardCore::tlp_ack(Tcb& t, const Segment& seg, bool dsack) {
  if (!t.tlp_in_flight || seg.ack < t.tlp_end_seq) return;
  if (!t.tlp_retransmitted) {
    t.tlp_in_flight = false;
    return;
  }
  if (dsack) {
    t.tlp_in_flight = false;  // both arrived: the probe was redundant
    return;
  }
  if (seg.ack > t.tlp_end_seq || t.snd_max == t.tlp_end_seq) {
    t.tlp_in_flight = false;
    ++counters.tlp_repaired;
    if (t.loss_state == Tcb::LossState::open) {
      t.cc.save();
      t.cc->congestion_event(CongestionEvent::loss, t.flight_size(), now_);
      t.cc->recovery_exit(now_);
    }
  }
}

// RFC 6298 §5.4-5.6 with a scoreboard: every segment not SACKed is lost, cwnd is one segment, and
// the lost ones are resent in sequence order as slow start lets them out, instead of go-back-N over
// data the peer holds. A SACKed first segment that the peer never acknowledged means it reneged
// (RFC 2018 §8): then the SACK marks go too (Linux: tcp_check_sack_reneging()).
void ShardCore::sack_timeout(Tcb& t, TimePoint now) {
  SentSegment* head = t.sent.first();
  const bool reneged = head && head->has(Flag::kSacked);
  if (reneged) ++counters.sack_reneged;
  if (t.loss_state == Tcb::LossState::open) begin_loss_episode(t);
  if (!config.rack || reneged) {
    t.sent.mark_all_lost(reneged);
  } else {
    // RFC 8985 §6.3: the first outstanding segment is lost, and so is whatever was sent more than
    // RACK.rtt + reo_wnd ago; what went out more recently may still arrive, and resending it
    // would only duplicate it (a timeout is often a stall of ours, not a loss of the network's).
    const Duration reo_wnd = rack_reo_wnd(t);
    bool first = true;
    for (SentSegment& s : t.sent.by_seq()) {
      if (s.has(Flag::kSacked)) continue;
      if (first || s.xmit_time + t.rack_rtt + reo_wnd <= now) t.sent.mark_lost(s);
      first = false;
    }
  }
  t.retransmit_hint = t.snd_una;
  t.loss_state = Tcb::LossState::loss;
  t.recover = t.snd_max;
  t.tlp_in_flight = false;
  t.tlp_deadline = kNever;
  t.rack_deadline = kNever;
}

// RFC 3522 / RFC 4015 with a scoreboard: the timeout was spurious, so what was marked lost and not
// resent yet is in flight after all.
void ShardCore::sack_spurious_timeout(Tcb& t) {
  t.sent.unmark_lost_unretransmitted();
  t.loss_state = Tcb::LossState::open;
  end_loss_episode(t);
}

}  // namespace dtcp::tcp
