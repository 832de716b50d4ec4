#include "loadgen/schedule.hpp"

#include <gtest/gtest.h>

namespace dtcp::loadgen {
namespace {

TEST(OpenLoopSchedule, TimesFollowTheRateWithoutDrift) {
  const OpenLoopSchedule s(3, 1000);  // every 333333333.33 ns
  EXPECT_EQ(s.time_of(0), 1000);
  EXPECT_EQ(s.time_of(1), 1000 + 333'333'333);
  EXPECT_EQ(s.time_of(2), 1000 + 666'666'666);
  EXPECT_EQ(s.time_of(3), 1000 + 1'000'000'000);
  EXPECT_EQ(s.time_of(3'000'000), 1000 + 1'000'000'000'000'000);  // exact after a million seconds
}

TEST(OpenLoopSchedule, DueCountsExactlyTheRequestsScheduledByNow) {
  for (uint64_t rate : {1ull, 3ull, 7ull, 1000ull, 123457ull, 10'000'000ull}) {
    const OpenLoopSchedule s(rate, 5000);
    EXPECT_EQ(s.due(4999), 0u);
    EXPECT_EQ(s.due(5000), 1u);  // request 0 is due at the start
    for (uint64_t i = 1; i < 2000; i++) {
      // Just before request i's time, i are due; at it, i+1.
      ASSERT_EQ(s.due(s.time_of(i) - 1), i) << "rate " << rate << " i " << i;
      ASSERT_EQ(s.due(s.time_of(i)), i + 1) << "rate " << rate << " i " << i;
    }
  }
}

TEST(Pacer, ClosedLoop_IssuesUpToTheLimitAtOnce) {
  Pacer p(5);
  EXPECT_FALSE(p.open_loop());
  EXPECT_EQ(p.ready(0), 5u);
  const auto first = p.issue(777);
  EXPECT_EQ(first.index, 0u);
  EXPECT_EQ(first.scheduled, 777);  // closed loop: latency from the send
  EXPECT_FALSE(first.late);
  for (int i = 0; i < 4; i++) p.issue(800);
  EXPECT_EQ(p.ready(900), 0u);
  EXPECT_TRUE(p.exhausted());
}

TEST(Pacer, OpenLoop_ReleasesRequestsAsTheyFallDue) {
  Pacer p(1000, 0);  // one per ms
  EXPECT_EQ(p.ready(0), 1u);
  EXPECT_EQ(p.issue(0).scheduled, 0);
  EXPECT_EQ(p.ready(999'999), 0u);
  EXPECT_EQ(p.next_due(), 1'000'000);
  EXPECT_EQ(p.ready(1'000'000), 1u);
  EXPECT_EQ(p.ready(5'500'000), 5u);  // requests 1..5
  // Sent late, the latency origin is still the schedule.
  const auto second = p.issue(5'500'000);
  EXPECT_EQ(second.index, 1u);
  EXPECT_EQ(second.scheduled, 1'000'000);
  EXPECT_FALSE(second.late);  // late means: waited for a connection (mark_backlog)
}

TEST(Pacer, OpenLoop_BacklogMarksDueRequestsLate) {
  Pacer p(1000, 0);
  p.issue(0);
  // At 3.2 ms requests 1..3 are due and no connection is free.
  p.mark_backlog(3'200'000);
  EXPECT_TRUE(p.issue(3'300'000).late);   // 1
  EXPECT_TRUE(p.issue(3'300'000).late);   // 2
  EXPECT_TRUE(p.issue(3'300'000).late);   // 3
  EXPECT_FALSE(p.issue(4'000'000).late);  // 4 fell due after the backlog cleared
  EXPECT_EQ(p.late(), 3u);
}

TEST(Pacer, OpenLoop_LimitAndStop) {
  Pacer p(1000, 0, 3);
  EXPECT_EQ(p.ready(10'000'000), 3u);  // the limit caps what is due
  p.issue(10'000'000);
  EXPECT_EQ(p.stop(10'000'000), 2u);   // two were due and never sent
  EXPECT_EQ(p.ready(20'000'000), 0u);
  EXPECT_TRUE(p.exhausted());
  EXPECT_EQ(p.next_due(), std::numeric_limits<Nanos>::max());
}

}  // namespace
}  // namespace dtcp::loadgen
