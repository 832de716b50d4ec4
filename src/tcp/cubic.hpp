// CUBIC congestion control (RFC 9438) with HyStart++ slow start (RFC 9406), the second
// CongestionController beside RenoCongestion (gVisor's cubic.go, FreeBSD's cc_cubic.c and
// Linux's tcp_cubic.c are the same algorithm behind their own interfaces).
//
// The window grows along W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438 §4.2), measured from the start
// of the current congestion-avoidance epoch: concave up to the window of the last congestion
// event, W_max, then convex beyond it. A Reno-friendly estimate W_est (§4.3) is the floor while
// it is above the curve (short RTTs, small windows). A congestion event multiplies the window by
// beta_cubic = 0.7 (§4.6) and remembers W_max, lowered further when the flow keeps losing below
// the previous one (fast convergence, §4.7).
//
// The first slow start uses HyStart++: when the minimum RTT of a round rises by RttThresh over
// the last round's, growth is quartered (Conservative Slow Start); after five such rounds slow
// start ends with ssthresh = cwnd, before the overshoot a loss would have ended it with.
//
// State is held in doubles (bytes, seconds): the curve is a cube root and a cube per ACK and
// growth per ACK is often below one byte, which integer bytes would round away. cwnd() returns
// the whole bytes; ssthresh is kept in whole bytes. Linux computes the curve in fixed point
// (cubic_root(), BICTCP_HZ) through snd_cwnd_cnt, and its slow start uses the original HyStart
// (ACK train and delay, no CSS), not HyStart++.
//
// What the caller must provide in each AckSample:
//   rtt          this ACK's own RTT sample (RFC 7323 RTTM or a timed segment), 0 when it gave
//                none. HyStart++ needs per-ACK samples: with only one timed segment per RTT a
//                round never collects N_RTT_SAMPLE = 8 and slow start exits only on loss.
//   min_rtt      the connection's minimum RTT: the RTT in W_cubic(t + RTT) (§4.2); `rtt` is
//                used while it is 0.
//   cwnd_limited whether the flight filled cwnd when this data was sent (RFC 9438 §5.8). An
//                application-limited ACK grows nothing and pauses the curve's clock (§4.2: t
//                must not include application-limited periods).
//   ack, snd_nxt SND.UNA after the ACK and SND.NXT: HyStart++ rounds end when SND.UNA passes the
//                SND.NXT recorded at the round's start (RFC 9406 §4.2).
#pragma once

#include <cstdint>
#include <limits>

#include "base/seq.hpp"
#include "base/time.hpp"
#include "tcp/congestion.hpp"

namespace dtcp::tcp {

class CubicCongestion final : public CongestionController {
 public:
  // RFC 9438 §5: C = 0.4 (segments / s^3) and beta_cubic = 0.7; beta is also kept as 7/10 so
  // that ssthresh is an exact integer (0.7 has no exact binary form).
  static constexpr double kC = 0.4;
  static constexpr uint32_t kBetaNum = 7;
  static constexpr uint32_t kBetaDen = 10;
  static constexpr double kBeta = static_cast<double>(kBetaNum) / kBetaDen;
  // RFC 9438 §4.3: AIMD(alpha, beta) sends on average as much as Reno's AIMD(1, 0.5).
  static constexpr double kAlphaCubic = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

  // RFC 9406 §4.3 constants.
  static constexpr Duration kMinRttThresh = std::chrono::milliseconds(4);
  static constexpr Duration kMaxRttThresh = std::chrono::milliseconds(16);
  static constexpr int kMinRttDivisor = 8;
  static constexpr uint32_t kNRttSample = 8;
  static constexpr uint32_t kCssGrowthDivisor = 4;
  static constexpr uint32_t kCssRounds = 5;
  // RFC 9406 §4.3: L, the most one ACK may grow cwnd in slow start, in SMSS: 8 because dtcp
  // does not pace (L = infinity is for paced senders).
  static constexpr uint32_t kHystartL = 8;
  // Slow starts after the first (after a timeout or an idle restart) are standard slow start
  // (RFC 9406 §4.3 recommends HyStart++ only while ssthresh is at its initial value), counted
  // as Reno counts them: RFC 3465 byte counting with L = 2.
  static constexpr uint32_t kAbcL = 2;

  // Needs: smss > 0. Resets everything: cwnd = max(1, initial_segments) segments (RFC 6928),
  // ssthresh arbitrarily high (RFC 5681 §3.1), HyStart++ on, no W_max yet.
  void init(uint32_t smss, uint32_t initial_segments, TimePoint now) override;
  // Slow start (HyStart++ while ssthresh is at its initial value) below ssthresh, the CUBIC
  // curve at or above it. Nothing grows unless ack.cwnd_limited.
  void ack_received(const AckSample& ack) override;
  // loss and ecn: W_max (with fast convergence), ssthresh = max(0.7 cwnd, 2 SMSS); ecn also
  // sets cwnd = ssthresh, loss leaves cwnd to the recovery unit. timeout: the same ssthresh,
  // cwnd = 1 SMSS, and the next epoch starts with K = 0 (RFC 9438 §4.8). Every event ends
  // HyStart++ and the current epoch; `flight_size` is not used (see congestion_event()).
  void congestion_event(CongestionEvent kind, uint32_t flight_size, TimePoint now) override;
  void recovery_exit(TimePoint now) override;
  // Moves the epoch's start forward by `idle` so the curve resumes where it paused; when
  // idle > rto, cwnd = min(cwnd, restart window) (RFC 5681 §4.1) and a reduced window starts a
  // new epoch from where it now is.
  void idle_restart(TimePoint now, Duration idle, Duration rto, uint32_t initial_segments) override;
  void set_cwnd(uint32_t cwnd) override;
  uint32_t cwnd() const override { return static_cast<uint32_t>(cwnd_); }
  uint32_t ssthresh() const override { return ssthresh_; }

  // For listings and tests: W_max in bytes (0 before the first congestion event or slow-start
  // exit), and whether HyStart++ is in Conservative Slow Start.
  double w_max() const { return w_max_; }
  bool in_css() const { return css_; }

 private:
  void start_epoch(TimePoint now);
  void congestion_avoidance(const AckSample& ack);
  void slow_start(const AckSample& ack);
  // HyStart++: one RTT sample (CSS entry and return), and the end of a round (CSS exit).
  void hystart_sample(Duration rtt);
  void hystart_round_end(const AckSample& ack);
  void hystart_reset_rounds();

  static constexpr Duration kNoRtt = Duration::max();

  uint32_t smss_ = 536;
  double cwnd_ = 0;  // bytes
  uint32_t ssthresh_ = 0;

  // RFC 9438 §4 state, bytes and seconds.
  double w_max_ = 0;
  double cwnd_prior_ = 0;  // cwnd when ssthresh was last set (§4.3's alpha switch)
  double cwnd_epoch_ = 0;
  double w_est_ = 0;
  double k_ = 0;
  TimePoint t_epoch_{};
  bool in_epoch_ = false;
  // No usable W_max at the next epoch (after a timeout, §4.8, or a HyStart++ exit, §4.10): it
  // starts with W_max = cwnd_epoch and K = 0.
  bool w_max_from_epoch_ = true;
  // Up to when application-limited time has been taken out of the curve's clock.
  TimePoint clock_seen_{};

  // RFC 9406 §4.2 state.
  bool hystart_ = true;  // only for the initial slow start (§4.3)
  bool round_started_ = false;
  SeqNum window_end_;
  Duration last_round_min_rtt_ = kNoRtt;
  Duration current_round_min_rtt_ = kNoRtt;
  uint32_t rtt_sample_count_ = 0;
  bool css_ = false;
  Duration css_baseline_min_rtt_ = kNoRtt;
  uint32_t css_rounds_ = 0;
};

}  // namespace dtcp::tcp
