// Explicit Congestion Notification, RFC 3168 §6.1, for TCP: the negotiation in the SYN exchange,
// the receiver echoing CE marks with ECE until the sender's CWR, and the sender reducing cwnd once
// per window of data for an ECE and marking only new data ECN-capable. The IP layer carries the
// codepoint both ways (Shard::input(), SegmentOutput::send_segment()); congestion control decides
// how much a reduction takes (CongestionEvent::ecn: ssthresh as for a loss, cwnd = ssthresh).
#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

// §6.1.1: an ECN-setup SYN carries ECE and CWR; an ECN-setup SYN-ACK carries ECE and not CWR.
// A SYN with only one of them, or a SYN-ACK with both, does not agree to ECN. `enabled`: the
// listener's (passive) or connect()'s (simultaneous open) choice.
void ShardCore::ecn_syn_arrives(Tcb& t, const Segment& seg, bool enabled) {
  const bool ack = seg.has(TcpFlags::ack);
  const bool setup = ack ? seg.has(TcpFlags::ece) && !seg.has(TcpFlags::cwr) : seg.has(TcpFlags::ece | TcpFlags::cwr);
  t.ecn_ok = enabled && setup;
}

// The ECN flags of our SYN or SYN-ACK. §6.1.1.1 lets a host send a non-ECN-setup SYN after a
// timeout in case a middlebox drops ECN-setup SYNs; like Linux (tcp_ecn_clear_syn(), with the
// default tcp_ecn_fallback = 1) every retransmitted SYN is a plain one. An ECN-setup SYN-ACK
// that still arrives (the first SYN got through) turns ECN on, as in Linux. A SYN-ACK, resent
// or not, keeps its answer.
TcpFlags ShardCore::ecn_syn_flags(const Tcb& t) const {
  if (t.state == TcpState::syn_sent) {
    return t.ecn_offered && !t.syn_retransmitted ? TcpFlags::ece | TcpFlags::cwr : TcpFlags::none;
  }
  return t.ecn_ok ? TcpFlags::ece : TcpFlags::none;
}

// §6.1.3, the receiver, for an acceptable segment of a synchronized connection. A segment with
// CWR ends the echo; a CE mark on data (after the CWR when both are set) starts it again. As
// Linux does on a CE (tcp_enter_quickack_mode()), the ACK goes at once rather than delayed: the
// sender may have a small window and its reduction should not wait.
void ShardCore::ecn_segment_arrives(Tcb& t, const Segment& seg) {
  if (!t.ecn_ok) return;
  if (seg.has(TcpFlags::cwr)) t.ece_pending = false;
  if (seg.ecn == wire::Ecn::ce && seg.len > 0) {
    ++counters.rx_ce;
    t.ece_pending = true;
    t.ack_now = true;
  }
}

// §6.1.2, the sender, for an acceptable ACK (check_ack()). `prior_una`: SND.UNA before it; when
// it is still the ISS the ACK belongs to the SYN exchange, whose ECE is the negotiation.
// One reduction per window of data: none while loss recovery (or the loss window after a
// timeout, up to `recover`) has reduced already, none until SND.UNA passes the SND.MAX of the
// last ECE reduction. The flight is the data outstanding when the ACK arrived, as for a loss
// (RFC 5681 eq. 4). Linux differs: it reduces from cwnd and through PRR (tcp_enter_cwr()), not
// at once; RFC 3168 asks for cwnd = ssthresh.
void ShardCore::ecn_ack_arrives(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now) {
  if (!t.ecn_ok || !seg.has(TcpFlags::ece) || prior_una == t.iss) return;
  if (t.in_recovery || t.loss_state != Tcb::LossState::open || t.snd_una <= t.recover) return;
  if (t.ecn_window_reduced()) return;
  t.cc->congestion_event(CongestionEvent::ecn, (t.snd_max - prior_una).value(), now);
  t.ecn_recover = t.snd_max;
  t.cwr_pending = true;
  ++counters.ecn_reductions;
}

// What an outgoing segment of a synchronized connection carries (SYNs: ecn_syn_flags()). ECE on
// every ACK while a CE is unanswered (§6.1.3). Only new data is ECT(0): pure ACKs (§6.1.4),
// retransmissions (§6.1.5) and window probes (§6.1.6, ours carry no data) are Not-ECT, since
// their loss or a mark on them could not be told apart. The first new data segment after a
// reduction carries CWR (§6.1.2); send_segment() clears cwr_pending once it is built.
wire::Ecn ShardCore::ecn_mark(const Tcb& t, SeqNum seq, TcpFlags& flags, uint32_t len) const {
  if (!t.ecn_ok || wire::has(flags, TcpFlags::syn)) return wire::Ecn::not_ect;
  if (t.ece_pending && wire::has(flags, TcpFlags::ack)) flags |= TcpFlags::ece;
  if (len == 0 || seq < t.snd_max) return wire::Ecn::not_ect;
  if (t.cwr_pending) flags |= TcpFlags::cwr;
  return wire::Ecn::ect0;
}

}  // namespace dtcp::tcp
