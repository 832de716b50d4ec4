// The adaptive idle policy on a virtual clock: poll, then pause, then sleeps that double up to
// the cap (the wake-up bound), never past the next timer, and back to polling on any work.
#include <gtest/gtest.h>

#include <vector>

#include "dpdk/idle.hpp"

namespace dtcp::dpdk {
namespace {

using Kind = IdleBackoff::Action::Kind;
using namespace std::chrono_literals;

const TimePoint kNow = TimePoint{} + 5s;
TimePoint no_timer() { return TimePoint::max(); }

TEST(IdleBackoff, EmptyPolls_PollThenPauseThenSleepDoublingToTheCap) {
  IdleBackoff idle(3, 100us);
  std::vector<Kind> kinds;
  std::vector<Duration> sleeps;
  for (int i = 0; i < 13; i++) {
    const auto a = idle.after_poll(false, kNow, no_timer);
    kinds.push_back(a.kind);
    if (a.kind == Kind::sleep) sleeps.push_back(a.sleep);
  }
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::poll, Kind::poll, Kind::poll, Kind::pause, Kind::pause, Kind::pause,
                                      Kind::sleep, Kind::sleep, Kind::sleep, Kind::sleep, Kind::sleep, Kind::sleep,
                                      Kind::sleep}));
  EXPECT_EQ(sleeps, (std::vector<Duration>{10us, 20us, 40us, 80us, 100us, 100us, 100us}));
}

TEST(IdleBackoff, Work_StartsOverFromPolling) {
  IdleBackoff idle(2, 100us);
  for (int i = 0; i < 8; i++) idle.after_poll(false, kNow, no_timer);
  EXPECT_EQ(idle.after_poll(true, kNow, no_timer).kind, Kind::poll);
  EXPECT_EQ(idle.after_poll(false, kNow, no_timer).kind, Kind::poll);
  EXPECT_EQ(idle.after_poll(false, kNow, no_timer).kind, Kind::poll);
  EXPECT_EQ(idle.after_poll(false, kNow, no_timer).kind, Kind::pause);
  EXPECT_EQ(idle.after_poll(false, kNow, no_timer).kind, Kind::pause);
  const auto first = idle.after_poll(false, kNow, no_timer);
  EXPECT_EQ(first.kind, Kind::sleep);
  EXPECT_EQ(first.sleep, 10us) << "sleeps start short again after work";
}

TEST(IdleBackoff, Sleep_NeverPastTheNextTimer) {
  IdleBackoff idle(1, 1000us);
  for (int i = 0; i < 10; i++) idle.after_poll(false, kNow, no_timer);  // sleeps grown to the cap
  const auto a = idle.after_poll(false, kNow, [] { return kNow + 300us; });
  EXPECT_EQ(a.kind, Kind::sleep);
  EXPECT_EQ(a.sleep, 300us);
}

TEST(IdleBackoff, TimerDue_PollsInsteadOfSleeping) {
  IdleBackoff idle(1, 100us);
  for (int i = 0; i < 4; i++) idle.after_poll(false, kNow, no_timer);
  EXPECT_EQ(idle.after_poll(false, kNow, [] { return kNow; }).kind, Kind::poll);
  EXPECT_EQ(idle.after_poll(false, kNow, [] { return kNow - 1ms; }).kind, Kind::poll);
}

TEST(IdleBackoff, CapBelowFirstSleep_CapHolds) {
  IdleBackoff idle(1, 4us);
  for (int i = 0; i < 2; i++) idle.after_poll(false, kNow, no_timer);
  for (int i = 0; i < 5; i++) {
    const auto a = idle.after_poll(false, kNow, no_timer);
    ASSERT_EQ(a.kind, Kind::sleep);
    EXPECT_EQ(a.sleep, 4us);
  }
}

TEST(IdleBackoff, LongIdle_CounterSaturatesAndSleepsStayBounded) {
  IdleBackoff idle(1, 100us);
  for (int i = 0; i < 1'000'000; i++) {
    const auto a = idle.after_poll(false, kNow, no_timer);
    ASSERT_LE(a.sleep, 100us);
  }
  EXPECT_EQ(idle.after_poll(false, kNow, no_timer).kind, Kind::sleep);
}

}  // namespace
}  // namespace dtcp::dpdk
