// CUBIC (RFC 9438) and HyStart++ (RFC 9406) driven directly: AckSamples at virtual times, no
// connection and no clock. Expected windows are computed here from the RFCs' formulas, in
// segments and seconds, apart from the class's own arithmetic (which works in bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

#include "tcp/cubic.hpp"

namespace dtcp::tcp::test {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kSmss = 1460;
// RFC 9438 §5's constants, written out again rather than taken from the class under test.
constexpr double kC = 0.4;
constexpr double kBeta = 0.7;
constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);  // §4.3
constexpr uint32_t kInitialSsthresh = std::numeric_limits<uint32_t>::max() / 2;

TimePoint at(Duration d) { return TimePoint{} + d; }
Duration us(double seconds) { return Duration(static_cast<int64_t>(std::llround(seconds * 1e6))); }
double secs(Duration d) { return std::chrono::duration<double>(d).count(); }
double segs(uint32_t bytes) { return static_cast<double>(bytes) / kSmss; }

// RFC 9438 §4.2 Figure 1, segments and seconds.
double w_cubic(double t, double k, double w_max) { return kC * std::pow(t - k, 3) + w_max; }
// §4.2 Figure 2 with cwnd_epoch = beta * W_max, as after a loss and recovery: K = cbrt(W_max
// (1 - beta) / C).
double k_after_loss(double w_max) { return std::cbrt(w_max * (1 - kBeta) / kC); }

// An ACK in congestion avoidance (SND.UNA and SND.NXT do not matter there).
AckSample ca_ack(TimePoint now, uint32_t bytes, Duration min_rtt = 100ms, Duration rtt = 100ms) {
  return {.now = now, .bytes_acked = bytes, .rtt = rtt, .min_rtt = min_rtt};
}

// Lost at `w_max_segments` and recovered: W_max = that, cwnd = ssthresh = 0.7 of it.
CubicCongestion after_loss(uint32_t w_max_segments) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(w_max_segments * kSmss);
  cc.congestion_event(CongestionEvent::loss, w_max_segments * kSmss, at(0s));
  cc.recovery_exit(at(0s));
  return cc;
}

// The window in segments after the epoch's first ACK (one segment at t = 0) and a second of `n`
// segments at `t`, per RFC 9438 §4.2-§4.5. At t = 0, W_cubic(0) = cwnd_epoch is below W_est, which
// the ACK has just grown by alpha/cwnd, so the first ACK is in the Reno-friendly region.
// `cwnd_prior` decides alpha (§4.3).
double two_acks(double cwnd_epoch, double cwnd_prior, double w_max, double k, double t, double rtt, double n) {
  double w_est = cwnd_epoch + (cwnd_epoch >= cwnd_prior ? 1.0 : kAlpha) / cwnd_epoch;
  double cwnd = std::max(cwnd_epoch, w_est);
  w_est += (w_est >= cwnd_prior ? 1.0 : kAlpha) * n / cwnd;
  if (w_cubic(t, k, w_max) < w_est) return std::max(cwnd, w_est);
  const double target = std::clamp(w_cubic(t + rtt, k, w_max), cwnd, 1.5 * cwnd);
  return cwnd + (target - cwnd) / cwnd * n;
}

// ---------------------------------------------------------------------------------------------
// Initial window, slow start, the congestion events.

TEST(Cubic, Init_TenSegmentsAndArbitrarilyHighSsthresh) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  EXPECT_EQ(cc.cwnd(), 10 * kSmss);  // RFC 6928
  EXPECT_EQ(cc.ssthresh(), kInitialSsthresh);
  EXPECT_EQ(cc.epochs(), 0u);
  EXPECT_EQ(cc.hystart_exits(), 0u);
  EXPECT_FALSE(cc.in_css());
  cc.init(kSmss, 0, at(0s));
  EXPECT_EQ(cc.cwnd(), kSmss);  // at least one segment
}

// init() on a controller that has run (a reused connection's) starts its counts afresh: the
// epoch and HyStart++ exit counts are fields of the base class, reset with the rest.
TEST(Cubic, Init_AfterUse_CountsStartAtZero) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(100 * kSmss);
  cc.congestion_event(CongestionEvent::timeout, 100 * kSmss, at(0s));
  cc.set_cwnd(70 * kSmss);
  cc.ack_received(ca_ack(at(2s), kSmss));
  ASSERT_EQ(cc.epochs(), 1u);
  cc.init(kSmss, 10, at(3s));
  EXPECT_EQ(cc.epochs(), 0u);
  EXPECT_EQ(cc.hystart_exits(), 0u);
  EXPECT_EQ(cc.cwnd(), 10 * kSmss);
}

TEST(Cubic, SlowStart_GrowsByBytesAckedAtMostEightSegmentsPerAck) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  SeqNum una(1000);
  const SeqNum nxt = una + SeqLen(40 * kSmss);
  const auto ack = [&](uint32_t bytes) {
    una += SeqLen(bytes);
    cc.ack_received({.now = at(1ms), .bytes_acked = bytes, .ack = una, .snd_nxt = nxt});
  };
  ack(kSmss);
  EXPECT_EQ(cc.cwnd(), 11 * kSmss);
  ack(2 * kSmss);
  EXPECT_EQ(cc.cwnd(), 13 * kSmss);
  ack(20 * kSmss);  // RFC 9406 §4.3: L = 8 for a sender that does not pace
  EXPECT_EQ(cc.cwnd(), 21 * kSmss);
  EXPECT_EQ(cc.ssthresh(), kInitialSsthresh);
}

TEST(Cubic, NotCwndLimited_NoGrowthInSlowStartOrCongestionAvoidance) {
  CubicCongestion ss;
  ss.init(kSmss, 10, at(0s));
  ss.ack_received({.now = at(1ms), .bytes_acked = 4 * kSmss, .cwnd_limited = false});
  EXPECT_EQ(ss.cwnd(), 10 * kSmss);

  CubicCongestion ca = after_loss(100);
  ca.ack_received(ca_ack(at(1s), kSmss));
  const uint32_t before = ca.cwnd();
  AckSample limited = ca_ack(at(3s), 10 * kSmss);
  limited.cwnd_limited = false;
  ca.ack_received(limited);
  EXPECT_EQ(ca.cwnd(), before);  // RFC 9438 §5.8
}

TEST(Cubic, Loss_SsthreshSevenTenthsOfCwnd_CwndLeftToRecovery) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(100 * kSmss);
  cc.congestion_event(CongestionEvent::loss, 100 * kSmss, at(0s));
  EXPECT_EQ(cc.ssthresh(), 70 * kSmss);  // RFC 9438 §4.6
  EXPECT_EQ(cc.cwnd(), 100 * kSmss);     // the recovery unit's until recovery_exit()
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0 * kSmss);
  cc.recovery_exit(at(100ms));
  EXPECT_EQ(cc.cwnd(), 70 * kSmss);

  // Whole bytes, rounded down: 0.7 * 14601 = 10220.7.
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(14601);
  cc.congestion_event(CongestionEvent::loss, 14601, at(0s));
  EXPECT_EQ(cc.ssthresh(), 10220u);

  // At least 2 SMSS.
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(2 * kSmss);
  cc.congestion_event(CongestionEvent::loss, 2 * kSmss, at(0s));
  EXPECT_EQ(cc.ssthresh(), 2 * kSmss);
}

TEST(Cubic, Ecn_CwndBecomesSsthresh) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(100 * kSmss);
  cc.congestion_event(CongestionEvent::ecn, 100 * kSmss, at(0s));
  EXPECT_EQ(cc.ssthresh(), 70 * kSmss);
  EXPECT_EQ(cc.cwnd(), 70 * kSmss);  // RFC 3168 §6.1.2, RFC 9438 §4.6
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0 * kSmss);
}

TEST(Cubic, Timeout_OneSegment_SsthreshAsForLoss_NextEpochHasKZero) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(100 * kSmss);
  cc.congestion_event(CongestionEvent::timeout, 100 * kSmss, at(0s));
  EXPECT_EQ(cc.cwnd(), kSmss);
  EXPECT_EQ(cc.ssthresh(), 70 * kSmss);
  // Slow start after a timeout is standard slow start (RFC 9406 §4.3), L = 2 (RFC 3465).
  cc.ack_received(ca_ack(at(100ms), 3 * kSmss));
  EXPECT_EQ(cc.cwnd(), 3 * kSmss);
  // Back at ssthresh, RFC 9438 §4.8: the epoch's W_max is its cwnd_epoch and K = 0, so the
  // curve is C t^3 + cwnd_epoch (convex from the start). cwnd_prior = 100 segments: alpha_cubic.
  cc.set_cwnd(70 * kSmss);
  const TimePoint t0 = at(2s);
  cc.ack_received(ca_ack(t0, kSmss));
  EXPECT_EQ(cc.epochs(), 1u);
  EXPECT_DOUBLE_EQ(cc.w_max(), 70.0 * kSmss);
  cc.ack_received(ca_ack(t0 + 1s, 4 * kSmss));
  EXPECT_NEAR(segs(cc.cwnd()), two_acks(70, 100, 70, 0, 1.0, 0.1, 4), 2.0 / kSmss);
}

TEST(Cubic, SetCwnd_ClampedToOneSegmentAndMaxCwnd_RecoveryExitRestoresSsthresh) {
  CubicCongestion cc;
  cc.init(kSmss, 10, at(0s));
  cc.set_cwnd(0);
  EXPECT_EQ(cc.cwnd(), kSmss);
  cc.set_cwnd(std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(cc.cwnd(), kMaxCwnd);
  cc.congestion_event(CongestionEvent::loss, 0, at(0s));
  cc.set_cwnd(3 * kSmss);  // PRR, say
  cc.recovery_exit(at(1s));
  EXPECT_EQ(cc.cwnd(), cc.ssthresh());
}

// ---------------------------------------------------------------------------------------------
// The cubic curve after a loss.

TEST(Cubic, AfterLoss_WindowFollowsWCubicOfT) {
  const double w_max = 100;
  const double k = k_after_loss(w_max);  // cbrt(75) = 4.22 s
  for (const double t : {0.5, 2.0, k - 0.5, k, k + 1.0, k + 2.0}) {
    SCOPED_TRACE(t);
    CubicCongestion cc = after_loss(100);
    ASSERT_EQ(cc.cwnd(), 70 * kSmss);
    const TimePoint t0 = at(1s);
    cc.ack_received(ca_ack(t0, kSmss));  // the epoch starts
    EXPECT_EQ(cc.epochs(), 1u);
    const Duration dt = us(t);
    cc.ack_received(ca_ack(t0 + dt, 4 * kSmss));
    const double tq = secs(dt);
    EXPECT_NEAR(segs(cc.cwnd()), two_acks(70, 100, w_max, k, tq, 0.1, 4), 2.0 / kSmss);
    // Below W_max the target is concave (§4.4), beyond K convex above W_max (§4.5).
    if (tq + 0.1 < k) {
      EXPECT_LT(w_cubic(tq + 0.1, k, w_max), w_max);
    } else {
      EXPECT_GT(w_cubic(tq + 0.1, k, w_max), w_max);
    }
  }
}

TEST(Cubic, FarAboveTheWindow_TargetClampedToOneAndAHalfCwnd) {
  // W_cubic(12.1 s) is near 296 segments; target = 1.5 cwnd = 105, so 4 segments acked grow
  // cwnd by (105 - 70) / 70 * 4 = 2 segments (§4.2).
  CubicCongestion cc = after_loss(100);
  const TimePoint t0 = at(1s);
  cc.ack_received(ca_ack(t0, kSmss));
  cc.ack_received(ca_ack(t0 + 12s, 4 * kSmss));
  const double k = k_after_loss(100);
  ASSERT_GT(w_cubic(12.1, k, 100), 1.5 * 70.1);
  EXPECT_NEAR(segs(cc.cwnd()), two_acks(70, 100, 100, k, 12.0, 0.1, 4), 2.0 / kSmss);
  EXPECT_NEAR(segs(cc.cwnd()), 72.0, 0.05);
}

TEST(Cubic, TargetLooksOneMinRttAhead_RttSampleWhenNoMinRtt) {
  const double k = k_after_loss(100);
  const double expected = two_acks(70, 100, 100, k, 2.0, 0.1, 4);
  const auto run = [](Duration min_rtt, Duration rtt) {
    CubicCongestion cc = after_loss(100);
    cc.ack_received(ca_ack(at(1s), kSmss, min_rtt, rtt));
    cc.ack_received(ca_ack(at(3s), 4 * kSmss, min_rtt, rtt));
    return segs(cc.cwnd());
  };
  EXPECT_NEAR(run(100ms, 300ms), expected, 2.0 / kSmss);  // min_rtt wins over the sample
  EXPECT_NEAR(run(0us, 100ms), expected, 2.0 / kSmss);    // no min_rtt yet: the sample
  EXPECT_GT(run(300ms, 300ms), expected + 0.03);
}

// ACK-clocked: one ACK per segment, a window per RTT. The window tracks W_cubic(t): concave up
// to W_max around K, convex beyond.
TEST(Cubic, AfterLoss_AckClockedWindowIsConcaveThenConvexAroundWMax) {
  const double w_max = 1000;  // large enough that the Reno-friendly estimate stays below
  const double k = k_after_loss(w_max);  // cbrt(750) = 9.09 s
  const Duration rtt = 100ms;
  CubicCongestion cc = after_loss(1000);
  const TimePoint t0 = at(1s);
  TimePoint now = t0;
  double prev = segs(cc.cwnd());
  double prev_growth = 0;
  bool first = true;
  while (now - t0 < us(k + 4)) {
    const TimePoint round_start = now;
    const uint32_t n = cc.cwnd() / kSmss;
    for (uint32_t i = 1; i <= n; ++i) cc.ack_received(ca_ack(round_start + rtt * i / n, kSmss));
    now = round_start + rtt;
    const double t = secs(now - t0);
    const double cwnd = segs(cc.cwnd());
    // Within 0.3% of the curve (an RTT of lag against a target an RTT ahead).
    EXPECT_NEAR(cwnd, w_cubic(t, k, w_max), 0.003 * w_max) << "t = " << t;
    const double growth = cwnd - prev;
    if (t < k - 0.5) {
      EXPECT_LT(cwnd, w_max) << "t = " << t;
      if (!first) {
        EXPECT_LT(growth, prev_growth) << "concave, t = " << t;
      }
    } else if (t > k + 0.5) {
      EXPECT_GT(cwnd, w_max) << "t = " << t;
      EXPECT_GT(growth, prev_growth) << "convex, t = " << t;
    }
    prev = cwnd;
    prev_growth = growth;
    first = false;
  }
  EXPECT_EQ(cc.epochs(), 1u);
}

// A short RTT and a small W_max: Reno's AIMD(alpha_cubic, beta) out-grows the curve, and cwnd
// follows W_est (§4.3): alpha_cubic per RTT up to cwnd_prior, then 1 segment per RTT.
TEST(Cubic, SmallRttAndWMax_RenoFriendlyEstimateDominates) {
  const double w_max = 20;
  const double k = k_after_loss(w_max);
  const Duration rtt = 1ms;
  CubicCongestion cc = after_loss(20);
  const TimePoint t0 = at(1s);
  TimePoint now = t0;
  double w_est = 14;  // cwnd_epoch
  for (int round = 0; round < 40; ++round) {
    const TimePoint round_start = now;
    const uint32_t n = cc.cwnd() / kSmss;
    for (uint32_t i = 0; i < n; ++i) {
      cc.ack_received(ca_ack(round_start + rtt * i / n, kSmss, rtt, rtt));
      w_est += (w_est >= w_max ? 1.0 : kAlpha) / w_est;  // cwnd = W_est here
    }
    now = round_start + rtt;
    EXPECT_NEAR(segs(cc.cwnd()), w_est, 0.05) << "round " << round;
  }
  // After 40 RTTs (40 ms) the curve has barely left cwnd_epoch; W_est is near 40 segments.
  EXPECT_LT(w_cubic(secs(now - t0), k, w_max), 14.5);
  EXPECT_GT(segs(cc.cwnd()), 35.0);
}

TEST(Cubic, SecondLossBelowWMax_FastConvergenceLowersWMax) {
  CubicCongestion cc = after_loss(100);  // W_max 100, cwnd 70
  cc.congestion_event(CongestionEvent::loss, 70 * kSmss, at(1s));
  // §4.7: 70 < 100, so W_max = 70 (1 + beta) / 2 = 59.5 segments; ssthresh = 49.
  EXPECT_NEAR(cc.w_max(), 70 * (1 + kBeta) / 2 * kSmss, 1e-6);
  EXPECT_EQ(cc.ssthresh(), 49 * kSmss);
  cc.recovery_exit(at(1s));
  // The curve heads for 59.5: K = cbrt((W_max - cwnd_epoch) / C) (§4.2). Measured at K.
  const double w_max = 70 * (1 + kBeta) / 2;
  const double k = std::cbrt((w_max - 49) / kC);
  const TimePoint t0 = at(2s);
  cc.ack_received(ca_ack(t0, kSmss));
  const Duration dt = us(k);
  cc.ack_received(ca_ack(t0 + dt, 4 * kSmss));
  EXPECT_NEAR(segs(cc.cwnd()), two_acks(49, 70, w_max, k, secs(dt), 0.1, 4), 2.0 / kSmss);
  EXPECT_EQ(cc.epochs(), 1u);

  // A loss above the previous W_max sets W_max = cwnd.
  CubicCongestion up = after_loss(100);
  up.set_cwnd(110 * kSmss);
  up.congestion_event(CongestionEvent::loss, 110 * kSmss, at(1s));
  EXPECT_DOUBLE_EQ(up.w_max(), 110.0 * kSmss);
  EXPECT_EQ(up.ssthresh(), 77 * kSmss);
}

// ---------------------------------------------------------------------------------------------
// Application-limited and idle periods.

// Runs `cc` ACK-clocked (one ACK a segment, a window per RTT of 100 ms) from `from` for
// `rounds` RTTs; returns the time of the last ACK.
TimePoint ack_clocked(CubicCongestion& cc, TimePoint from, int rounds) {
  TimePoint now = from;
  for (int r = 0; r < rounds; ++r) {
    const TimePoint round_start = now;
    const uint32_t n = cc.cwnd() / kSmss;
    for (uint32_t i = 1; i <= n; ++i) cc.ack_received(ca_ack(round_start + 100ms * i / n, kSmss));
    now = round_start + 100ms;
  }
  return now;
}

TEST(Cubic, IdleRestart_ShiftsTheEpoch_WindowResumesWithoutAJump) {
  CubicCongestion idle = after_loss(100);
  const TimePoint t0 = at(1s);
  idle.ack_received(ca_ack(t0, kSmss));
  const TimePoint last = ack_clocked(idle, t0, 20);  // 2 s in, concave, below W_max
  const CubicCongestion busy = idle;       // carries on at once
  CubicCongestion unshifted = idle;        // idle, but nobody told it
  const uint32_t before = idle.cwnd();

  idle.idle_restart(last + 1s, 1s, 3s, 10);  // shorter than the RTO: no restart window
  EXPECT_EQ(idle.cwnd(), before);
  idle.ack_received(ca_ack(last + 1s + 10ms, 10 * kSmss));
  CubicCongestion busy_next = busy;
  busy_next.ack_received(ca_ack(last + 10ms, 10 * kSmss));
  // The same point on the curve as if the idle second had not happened.
  EXPECT_EQ(idle.cwnd(), busy_next.cwnd());
  unshifted.ack_received(ca_ack(last + 1s + 10ms, 10 * kSmss));
  // Without the shift the ACK would see t one second later, near W_max: several times the growth.
  ASSERT_GT(idle.cwnd(), before);
  EXPECT_GT(unshifted.cwnd() - before, 4 * (idle.cwnd() - before));
  EXPECT_EQ(idle.epochs(), 1u);
}

TEST(Cubic, IdleLongerThanRto_RestartWindow_NewEpochLater) {
  // Initial slow start: cwnd = min(cwnd, IW) (RFC 5681 §4.1).
  CubicCongestion ss;
  ss.init(kSmss, 10, at(0s));
  ss.set_cwnd(50 * kSmss);
  ss.idle_restart(at(5s), 2s, 1s, 10);
  EXPECT_EQ(ss.cwnd(), 10 * kSmss);
  ss.set_cwnd(5 * kSmss);
  ss.idle_restart(at(10s), 2s, 1s, 10);
  EXPECT_EQ(ss.cwnd(), 5 * kSmss);  // RW = min(IW, cwnd)

  // In congestion avoidance: back to IW, ssthresh kept, slow start (L = 2) to it, then a new
  // epoch.
  CubicCongestion ca = after_loss(100);
  ca.ack_received(ca_ack(at(1s), kSmss));
  EXPECT_EQ(ca.epochs(), 1u);
  ca.idle_restart(at(10s), 5s, 1s, 10);
  EXPECT_EQ(ca.cwnd(), 10 * kSmss);
  EXPECT_EQ(ca.ssthresh(), 70 * kSmss);
  ca.ack_received(ca_ack(at(10s + 100ms), 4 * kSmss));
  EXPECT_EQ(ca.cwnd(), 12 * kSmss);
  ca.set_cwnd(70 * kSmss);
  ca.ack_received(ca_ack(at(11s), kSmss));
  EXPECT_EQ(ca.epochs(), 2u);
}

TEST(Cubic, AppLimitedAcks_PauseTheCurvesClock) {
  // RFC 9438 §4.2: t must not include application-limited periods.
  CubicCongestion paused = after_loss(100);
  const TimePoint t0 = at(1s);
  paused.ack_received(ca_ack(t0, kSmss));
  CubicCongestion busy = paused;
  for (const Duration d : {250ms, 500ms, 750ms, 1000ms}) {
    AckSample a = ca_ack(t0 + d, kSmss);
    a.cwnd_limited = false;
    paused.ack_received(a);
  }
  paused.ack_received(ca_ack(t0 + 1500ms, 4 * kSmss));
  busy.ack_received(ca_ack(t0 + 500ms, 4 * kSmss));
  EXPECT_EQ(paused.cwnd(), busy.cwnd());  // t = 0.5 s for both
  const double k = k_after_loss(100);
  EXPECT_LT(segs(paused.cwnd()), two_acks(70, 100, 100, k, 1.5, 0.1, 4) - 0.1);
}

// ---------------------------------------------------------------------------------------------
// HyStart++ (RFC 9406).

// A sender in its initial slow start: each segment ACKed on its own with an RTT sample, the
// flight refilled to cwnd (whole segments) after each ACK. Rounds counted as RFC 9406 §4.2
// counts them: a round ends with the ACK of the SND.NXT recorded when it began.
class SlowStart {
 public:
  SlowStart() {
    cc.init(kSmss, 10, now);
    nxt = una + SeqLen(cc.cwnd());
    end = nxt;
  }
  void ack(Duration rtt) {
    now += 100us;
    una += SeqLen(kSmss);
    cc.ack_received({.now = now, .bytes_acked = kSmss, .rtt = rtt, .min_rtt = 10ms, .in_flight = (nxt - una).value(),
                     .ack = una, .snd_nxt = nxt});
    ++acks;
    if (una >= end) {
      end = nxt;  // SND.NXT as this ACK found it, before the refill
      ++rounds;
    }
    const SeqNum refill = una + SeqLen(cc.cwnd() / kSmss * kSmss);
    if (nxt < refill) nxt = refill;
  }
  // ACKs the rest of the current round, each with the RTT sample `rtt`.
  void round(Duration rtt) {
    for (const uint32_t r = rounds; rounds == r;) ack(rtt);
  }
  // ACKs one segment and returns how much cwnd grew.
  uint32_t growth_of_one_ack(Duration rtt) {
    const uint32_t before = cc.cwnd();
    ack(rtt);
    return cc.cwnd() - before;
  }

  CubicCongestion cc;
  TimePoint now = at(0s);
  SeqNum una{1000};
  SeqNum nxt;
  SeqNum end;
  uint32_t rounds = 0;
  uint32_t acks = 0;
};

TEST(Cubic, HyStart_SteadyRtt_StaysInSlowStart) {
  SlowStart s;
  // Jitter of 5 ms, under RttThresh = 50 ms / 8 = 6.25 ms.
  for (int r = 0; r < 8; ++r) s.round(r % 2 ? 55ms : 50ms);
  EXPECT_FALSE(s.cc.in_css());
  EXPECT_EQ(s.cc.hystart_exits(), 0u);
  EXPECT_EQ(s.cc.ssthresh(), kInitialSsthresh);
  EXPECT_EQ(s.cc.cwnd(), (10 + s.acks) * kSmss);  // every ACK grew cwnd by what it acked
}

// Three rounds at `base`, then one at `rise`: in CSS afterwards?
bool enters_css(Duration base, Duration rise) {
  SlowStart s;
  for (int r = 0; r < 3; ++r) s.round(base);
  s.round(rise);
  return s.cc.in_css();
}

TEST(Cubic, HyStart_RttThreshIsAnEighthOfLastRoundsMinClampedTo4To16ms) {
  EXPECT_FALSE(enters_css(50ms, 56249us));  // 50 ms / 8 = 6.25 ms
  EXPECT_TRUE(enters_css(50ms, 56250us));
  EXPECT_FALSE(enters_css(20ms, 23999us));  // 2.5 ms, raised to 4 ms
  EXPECT_TRUE(enters_css(20ms, 24ms));
  EXPECT_FALSE(enters_css(200ms, 215999us));  // 25 ms, capped at 16 ms
  EXPECT_TRUE(enters_css(200ms, 216ms));
}

TEST(Cubic, HyStart_RttRiseAboveThresh_EntersCssAtTheEighthSample_GrowthQuartered) {
  SlowStart s;
  for (int r = 0; r < 3; ++r) s.round(50ms);
  // The first seven samples of the round: not enough to judge (N_RTT_SAMPLE = 8).
  for (int i = 0; i < 7; ++i) EXPECT_EQ(s.growth_of_one_ack(60ms), kSmss);
  EXPECT_FALSE(s.cc.in_css());
  // The eighth grows as slow start (the phase it arrived in), then CSS begins.
  EXPECT_EQ(s.growth_of_one_ack(60ms), kSmss);
  EXPECT_TRUE(s.cc.in_css());
  // CSS: each segment acked grows cwnd by a quarter of it (CSS_GROWTH_DIVISOR = 4).
  EXPECT_EQ(s.growth_of_one_ack(60ms), kSmss / 4);
  EXPECT_EQ(s.growth_of_one_ack(60ms), kSmss / 4);
  EXPECT_EQ(s.cc.ssthresh(), kInitialSsthresh);
  EXPECT_EQ(s.cc.hystart_exits(), 0u);
}

TEST(Cubic, HyStart_RttFallsBelowCssBaseline_ResumesSlowStart) {
  SlowStart s;
  for (int r = 0; r < 3; ++r) s.round(50ms);
  s.round(60ms);  // CSS, baseline 60 ms
  ASSERT_TRUE(s.cc.in_css());
  for (int i = 0; i < 7; ++i) EXPECT_EQ(s.growth_of_one_ack(50ms), kSmss / 4);
  EXPECT_TRUE(s.cc.in_css());
  EXPECT_EQ(s.growth_of_one_ack(50ms), kSmss / 4);  // the eighth sample: 50 < 60, back out
  EXPECT_FALSE(s.cc.in_css());
  EXPECT_EQ(s.growth_of_one_ack(50ms), kSmss);
  EXPECT_EQ(s.cc.hystart_exits(), 0u);
  EXPECT_EQ(s.cc.ssthresh(), kInitialSsthresh);
}

TEST(Cubic, HyStart_FiveRoundsInCss_ExitWithSsthreshEqualToCwnd) {
  SlowStart s;
  for (int r = 0; r < 3; ++r) s.round(50ms);
  s.round(60ms);  // CSS from its eighth ACK: this partial round is the first of five
  ASSERT_TRUE(s.cc.in_css());
  for (int r = 0; r < 3; ++r) s.round(60ms);  // rounds 2-4 of CSS
  EXPECT_TRUE(s.cc.in_css());
  EXPECT_EQ(s.cc.hystart_exits(), 0u);
  EXPECT_EQ(s.growth_of_one_ack(60ms), kSmss / 4);
  s.round(60ms);  // the fifth ends CSS and slow start
  EXPECT_FALSE(s.cc.in_css());
  EXPECT_EQ(s.cc.hystart_exits(), 1u);
  EXPECT_EQ(s.cc.ssthresh(), s.cc.cwnd());
  // Congestion avoidance from here: the next ACK starts an epoch (K = 0, W_max = cwnd, §4.10)
  // and grows cwnd by far less than a segment.
  EXPECT_EQ(s.cc.epochs(), 0u);
  EXPECT_LT(s.growth_of_one_ack(60ms), kSmss / 4);
  EXPECT_EQ(s.cc.epochs(), 1u);
  EXPECT_DOUBLE_EQ(s.cc.w_max(), static_cast<double>(s.cc.ssthresh()));
}

TEST(Cubic, HyStart_LossInSlowStart_EndsItWithoutCountingAnExit) {
  SlowStart s;
  for (int r = 0; r < 3; ++r) s.round(50ms);
  const uint32_t cwnd = s.cc.cwnd();
  s.cc.congestion_event(CongestionEvent::loss, cwnd, s.now);
  EXPECT_EQ(s.cc.ssthresh(), static_cast<uint64_t>(cwnd) * 7 / 10);
  EXPECT_EQ(s.cc.hystart_exits(), 0u);
  // A later slow start (after a timeout) is standard slow start, L = 2 (RFC 9406 §4.3).
  s.cc.congestion_event(CongestionEvent::timeout, cwnd, s.now);
  s.cc.ack_received({.now = s.now + 1s, .bytes_acked = 4 * kSmss, .rtt = 50ms, .ack = s.una, .snd_nxt = s.nxt});
  EXPECT_EQ(s.cc.cwnd(), 3 * kSmss);
}

}  // namespace
}  // namespace dtcp::tcp::test
