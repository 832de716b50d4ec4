// CUBIC (RFC 9438) with HyStart++ (RFC 9406); see cubic.hpp for what the caller provides.
#include "tcp/cubic.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace dtcp::tcp {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void CubicCongestion::init(uint32_t smss, uint32_t initial_segments, TimePoint now) {
  *this = CubicCongestion{};
  smss_ = smss;
  cwnd_ = static_cast<double>(std::max(1u, initial_segments)) * smss;  // RFC 6928
  ssthresh_ = std::numeric_limits<uint32_t>::max() / 2;                // RFC 5681 §3.1
  clock_seen_ = now;
}

void CubicCongestion::ack_received(const AckSample& ack) {
  if (!ack.cwnd_limited) {
    // RFC 9438 §5.8: no growth while application-limited; §4.2: t "MUST NOT include periods
    // during which cwnd has not been updated due to application-limited behavior", so the
    // epoch's start moves forward by the time since the last ACK. (Linux shifts the epoch only
    // for fully idle periods, CA_EVENT_TX_START; idle_restart() does that here.)
    if (in_epoch_ && ack.now > clock_seen_) t_epoch_ = std::min(t_epoch_ + (ack.now - clock_seen_), ack.now);
    clock_seen_ = std::max(clock_seen_, ack.now);
    return;
  }
  clock_seen_ = std::max(clock_seen_, ack.now);
  if (cwnd_ < ssthresh_) {
    slow_start(ack);
  } else {
    congestion_avoidance(ack);
  }
  cwnd_ = std::min(cwnd_, static_cast<double>(kMaxCwnd));
}

void CubicCongestion::slow_start(const AckSample& ack) {
  if (!hystart_) {
    cwnd_ += std::min(ack.bytes_acked, kAbcL * smss_);  // RFC 5681 eq. 2, RFC 3465
    return;
  }
  // RFC 9406 §4.2: the first round ends when SND.NXT of the first ACK is acknowledged.
  if (!round_started_) {
    round_started_ = true;
    window_end_ = ack.snd_nxt;
  }
  // RFC 9406 §4.2, in its order: grow by what this ACK delivered, at most L SMSS, a quarter of
  // it in CSS; then take its RTT sample and check for a delay increase (in CSS, a decrease).
  const double increase = std::min(ack.bytes_acked, kHystartL * smss_);
  cwnd_ += css_ ? increase / kCssGrowthDivisor : increase;
  if (ack.rtt > Duration::zero()) hystart_sample(ack.rtt);
  // The ACK of windowEnd acknowledges the round's last data, so its sample belongs to the
  // round it ends (Linux ends the round one ACK later, when SND.UNA passes end_seq).
  if (ack.ack >= window_end_) hystart_round_end(ack);
}

void CubicCongestion::hystart_sample(Duration rtt) {
  current_round_min_rtt_ = std::min(current_round_min_rtt_, rtt);
  ++rtt_sample_count_;
  // As the RFC says: the minimum of every sample in the round, checked from the N_RTT_SAMPLE-th
  // sample on. That minimum only falls as samples come in, so in slow start a delay increase
  // normally shows at the N_RTT_SAMPLE-th (where Linux's HYSTART_MIN_SAMPLES checks, on the
  // first 8 only); in CSS a decrease may show at any later sample.
  if (rtt_sample_count_ < kNRttSample) return;
  if (!css_) {
    if (last_round_min_rtt_ == kNoRtt) return;
    const Duration rtt_thresh = std::clamp(last_round_min_rtt_ / kMinRttDivisor, kMinRttThresh, kMaxRttThresh);
    if (current_round_min_rtt_ >= last_round_min_rtt_ + rtt_thresh) {
      css_ = true;
      css_baseline_min_rtt_ = current_round_min_rtt_;
      css_rounds_ = 1;  // §4.2: the partial round CSS starts in counts towards CSS_ROUNDS
    }
  } else if (current_round_min_rtt_ < css_baseline_min_rtt_) {
    // §4.2: the delay fell back below where CSS began: the exit was spurious (jitter), resume
    // slow start.
    css_ = false;
    css_baseline_min_rtt_ = kNoRtt;
  }
}

void CubicCongestion::hystart_round_end(const AckSample& ack) {
  // RFC 9406 §4.2: the next round ends at today's SND.NXT; its minimum starts afresh.
  window_end_ = ack.snd_nxt;
  last_round_min_rtt_ = current_round_min_rtt_;
  current_round_min_rtt_ = kNoRtt;
  rtt_sample_count_ = 0;
  if (!css_) return;
  if (css_rounds_ < kCssRounds) {
    ++css_rounds_;
    return;
  }
  // RFC 9406 §4.2: CSS_ROUNDS rounds in CSS: enter congestion avoidance with ssthresh = cwnd.
  // RFC 9438 §4.10: W_max is undefined after a lossless exit; the epoch starts with
  // cwnd_prior = cwnd, W_max = cwnd_epoch and K = 0.
  ssthresh_ = cwnd();
  cwnd_prior_ = cwnd_;
  w_max_from_epoch_ = true;
  in_epoch_ = false;
  hystart_ = false;
  css_ = false;
  ++hystart_exits_;
}

void CubicCongestion::hystart_reset_rounds() {
  round_started_ = false;
  last_round_min_rtt_ = kNoRtt;
  current_round_min_rtt_ = kNoRtt;
  rtt_sample_count_ = 0;
  css_ = false;
  css_baseline_min_rtt_ = kNoRtt;
  css_rounds_ = 0;
}

void CubicCongestion::start_epoch(TimePoint now) {
  // RFC 9438 §4.2: the epoch starts at the first ACK in congestion avoidance after a congestion
  // event, from the window of that moment.
  in_epoch_ = true;
  ++epochs_;
  t_epoch_ = now;
  clock_seen_ = std::max(clock_seen_, now);
  cwnd_epoch_ = cwnd_;
  w_est_ = cwnd_;  // §4.3
  if (w_max_from_epoch_) {
    // §4.8 (after a timeout) and §4.10 (after HyStart++): W_max = cwnd_epoch, K = 0, so the
    // epoch begins convex.
    w_max_ = cwnd_;
    k_ = 0;
    w_max_from_epoch_ = false;
  } else {
    // §4.2: K = cbrt((W_max - cwnd_epoch) / C), in segments; negative when the window is
    // already above W_max (grown in recovery, or undone), which makes the epoch convex at once.
    k_ = std::cbrt((w_max_ - cwnd_epoch_) / smss_ / kC);
  }
}

void CubicCongestion::congestion_avoidance(const AckSample& ack) {
  if (!in_epoch_) start_epoch(ack.now);
  const double smss = smss_;
  const double t = std::max(0.0, seconds(ack.now - t_epoch_));
  // The RTT of W_cubic(t + RTT): the minimum RTT, as Linux's delay_min, so a queue the flow
  // itself built does not steepen its own curve.
  const double rtt = seconds(ack.min_rtt > Duration::zero() ? ack.min_rtt : std::max(ack.rtt, Duration::zero()));
  // §4.2 eq. 1, in bytes: C is in segments per second cubed.
  const auto w_cubic = [&](double at) {
    const double d = at - k_;
    return kC * d * d * d * smss + w_max_;
  };
  // §4.3: W_est grows by alpha_cubic per window acked, and by 1 (Reno's rate) once it has
  // reached the window of the last reduction.
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : kAlphaCubic;
  w_est_ += alpha * ack.bytes_acked * smss / cwnd_;
  if (w_cubic(t) < w_est_) {
    // §4.3 Reno-friendly region: cwnd = W_est (never lowered by it).
    cwnd_ = std::max(cwnd_, w_est_);
    return;
  }
  // §4.4 / §4.5 (concave below W_max, convex above): grow towards W_cubic one RTT ahead,
  // clamped to [cwnd, 1.5 cwnd] (§4.2), by (target - cwnd) / cwnd per SMSS acked.
  const double target = std::clamp(w_cubic(t + rtt), cwnd_, 1.5 * cwnd_);
  cwnd_ += (target - cwnd_) / cwnd_ * ack.bytes_acked;
}

void CubicCongestion::congestion_event(CongestionEvent kind, uint32_t, TimePoint) {
  // §4.7 fast convergence: a flow reduced below its last W_max is losing share, so it releases
  // more, W_max = cwnd (1 + beta) / 2; otherwise W_max = cwnd (taken before the reduction).
  w_max_ = cwnd_ < w_max_ ? cwnd_ * (1.0 + kBeta) / 2.0 : cwnd_;
  w_max_from_epoch_ = false;
  cwnd_prior_ = cwnd_;
  // §4.6: ssthresh = beta * cwnd, at least 2 SMSS. The RFC writes flight_size; it allows cwnd
  // ("Some implementations of CUBIC use cwnd", as Linux's bictcp_recalc_ssthresh does) when
  // cwnd cannot grow beyond what is in flight, which is what the cwnd_limited gate ensures.
  const uint64_t reduced = static_cast<uint64_t>(cwnd()) * kBetaNum / kBetaDen;
  ssthresh_ = static_cast<uint32_t>(std::max<uint64_t>(reduced, 2 * static_cast<uint64_t>(smss_)));
  in_epoch_ = false;
  // RFC 9406 §4.2: loss or ECN during slow start or CSS ends it; §4.3: later slow starts are
  // standard ones.
  hystart_ = false;
  css_ = false;
  switch (kind) {
    case CongestionEvent::loss:
      break;  // cwnd is the recovery unit's (PRR, NewReno) until recovery_exit()
    case CongestionEvent::ecn:
      cwnd_ = ssthresh_;  // RFC 3168 §6.1.2, RFC 9438 §4.6
      break;
    case CongestionEvent::timeout:
      // §4.8: Reno's loss window; the next epoch starts with W_max = cwnd_epoch and K = 0.
      cwnd_ = smss_;
      w_max_from_epoch_ = true;
      break;
  }
}

void CubicCongestion::recovery_exit(TimePoint) { cwnd_ = ssthresh_; }

void CubicCongestion::idle_restart(TimePoint now, Duration idle, Duration rto, uint32_t initial_segments) {
  // RFC 9438 §4.2 / §5.8: the idle time is not part of t; moving the epoch forward makes the
  // curve resume where it stopped instead of jumping to W_cubic(t + idle). Linux's bictcp does
  // the same on CA_EVENT_TX_START, and also caps the epoch at now.
  if (in_epoch_ && idle > Duration::zero()) t_epoch_ = std::min(t_epoch_ + idle, now);
  clock_seen_ = std::max(clock_seen_, now);
  if (idle <= rto) return;
  // RFC 5681 §4.1: cwnd = min(cwnd, RW), RW = min(IW, cwnd).
  const double restart_window = static_cast<double>(std::max(1u, initial_segments)) * smss_;
  if (cwnd_ <= restart_window) return;
  cwnd_ = restart_window;
  // The old curve no longer describes this window: the next congestion avoidance starts a new
  // epoch from wherever the window is then, towards the same W_max. (Linux keeps the shifted
  // epoch.) Old HyStart++ rounds are stale.
  in_epoch_ = false;
  if (hystart_) hystart_reset_rounds();
}

void CubicCongestion::set_cwnd(uint32_t cwnd) { cwnd_ = std::clamp(cwnd, smss_, kMaxCwnd); }

}  // namespace dtcp::tcp
