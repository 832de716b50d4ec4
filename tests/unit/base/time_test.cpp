// Stack time: a TimePoint is a plain microsecond count; nothing here reads a clock.
#include "base/time.hpp"

#include <gtest/gtest.h>

#include <type_traits>

namespace dtcp {
namespace {

using namespace std::chrono_literals;

TEST(StackTime, TimePointArithmetic_InMicroseconds) {
  const TimePoint start{};
  const TimePoint later = start + 1500us;
  EXPECT_EQ(later.time_since_epoch().count(), 1500);
  EXPECT_EQ(later - start, Duration(1500));
  EXPECT_EQ(start - later, Duration(-1500));  // signed: a deadline in the past is negative
  EXPECT_EQ(start + 2ms, start + Duration(2000));
  EXPECT_LT(start, later);
}

TEST(StackTime, ClockTraits_Signed64BitMicroseconds) {
  static_assert(std::is_same_v<Duration::rep, int64_t> || sizeof(Duration::rep) == 8);
  static_assert(std::is_signed_v<Duration::rep>);
  static_assert(std::is_same_v<StackClock::duration, Duration>);
  static_assert(std::is_same_v<TimePoint::clock, StackClock>);
  static_assert(StackClock::is_steady);
  static_assert(std::chrono::is_clock_v<StackClock> == false);  // deliberately no now()
}

}  // namespace
}  // namespace dtcp
