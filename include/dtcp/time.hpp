// Time as the stack sees it.
//
// The stack never reads a clock. The lcore loop reads the TSC once per iteration, converts it to a
// TimePoint and passes `now` down; everything below takes time as an argument. That is what makes
// unit tests and simulations deterministic: they drive a virtual clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <ratio>

namespace dtcp {

// Signed 64-bit microseconds: differences of TimePoints may be negative (a deadline in the past).
using Duration = std::chrono::microseconds;

// A clock type only so that std::chrono arithmetic works on TimePoint. It has no now() on purpose:
// nothing in the stack may read time except the lcore loop, which owns the TSC conversion.
struct StackClock {
  using rep = int64_t;
  using period = std::micro;
  using duration = Duration;
  using time_point = std::chrono::time_point<StackClock, Duration>;
  static constexpr bool is_steady = true;
};

// Microseconds since the stack started (TimePoint{} is the start).
using TimePoint = StackClock::time_point;

}  // namespace dtcp
