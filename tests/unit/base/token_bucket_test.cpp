// The token bucket behind the packet-path log limit, on a virtual clock: the burst passes at
// once, then one event per 1/rate seconds; idle time refills up to the burst and no further.
#include "base/token_bucket.hpp"

#include <gtest/gtest.h>

namespace dtcp {
namespace {

using namespace std::chrono_literals;

constexpr TimePoint kStart = TimePoint{} + 5s;

TEST(TokenBucket, Fresh_BurstPassesThenRefusesAndCounts) {
  TokenBucket bucket(10, 20);
  for (int i = 0; i < 20; i++) EXPECT_TRUE(bucket.admit(kStart)) << "event " << i;
  EXPECT_FALSE(bucket.admit(kStart));
  EXPECT_FALSE(bucket.admit(kStart));
  EXPECT_EQ(bucket.refused(), 2u);
  EXPECT_EQ(bucket.take_refused(), 2u);
  EXPECT_EQ(bucket.refused(), 0u);  // taken: the next report starts from zero
}

TEST(TokenBucket, Empty_OneTokenPerTenthOfASecondAtTenPerSecond) {
  TokenBucket bucket(10, 20);
  for (int i = 0; i < 20; i++) bucket.admit(kStart);
  EXPECT_FALSE(bucket.admit(kStart + 99'999us));
  EXPECT_TRUE(bucket.admit(kStart + 100ms));
  EXPECT_FALSE(bucket.admit(kStart + 100ms));
  // Refills of a few microseconds add up instead of rounding away.
  TimePoint t = kStart + 100ms;
  int passed = 0;
  for (int i = 0; i < 100'000; i++) {
    t += 1us;
    passed += bucket.admit(t);
  }
  EXPECT_EQ(passed, 1);  // 100 ms more in 1 us steps: exactly one token
}

TEST(TokenBucket, Flood_TenSecondsAtAThousandPerSecond_PassesBurstPlusRate) {
  TokenBucket bucket(10, 20);
  int passed = 0;
  for (int ms = 0; ms < 10'000; ms++) passed += bucket.admit(kStart + Duration(ms * 1000));
  // 20 at once, then 10 a second for the 9.999 s that follow.
  EXPECT_EQ(passed, 20 + 99);
  EXPECT_EQ(bucket.refused(), 10'000u - passed);
}

TEST(TokenBucket, LongIdle_RefillsToTheBurstOnly) {
  TokenBucket bucket(10, 20);
  for (int i = 0; i < 25; i++) bucket.admit(kStart);
  const TimePoint later = kStart + std::chrono::hours(24 * 365);
  int passed = 0;
  for (int i = 0; i < 100; i++) passed += bucket.admit(later);
  EXPECT_EQ(passed, 20);
}

TEST(TokenBucket, EarlierTime_RefillsNothing) {
  TokenBucket bucket(10, 1);
  EXPECT_TRUE(bucket.admit(kStart + 10s));
  // Another clock's smaller `now` is no elapsed time, and does not move the refill mark back.
  EXPECT_FALSE(bucket.admit(kStart));
  EXPECT_FALSE(bucket.admit(kStart + 10s + 99ms));
  EXPECT_TRUE(bucket.admit(kStart + 10s + 100ms));
}

TEST(TokenBucket, TryTake_DoesNotCountARefusal) {
  TokenBucket bucket(10, 1);
  EXPECT_TRUE(bucket.try_take(kStart));
  EXPECT_FALSE(bucket.try_take(kStart));
  EXPECT_EQ(bucket.refused(), 0u);
}

TEST(TokenBucket, ZeroRate_NeverRefills) {
  TokenBucket bucket(0, 2);
  EXPECT_TRUE(bucket.admit(kStart));
  EXPECT_TRUE(bucket.admit(kStart));
  EXPECT_FALSE(bucket.admit(kStart + std::chrono::hours(1)));
}

}  // namespace
}  // namespace dtcp
