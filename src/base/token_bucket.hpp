// A token bucket on the stack's clock: at most `burst` events at once and `per_second` a second
// sustained, counting the events it refused. The logger keeps one per lcore and log type so that
// a flood of bad packets cannot flood the log (src/base/log.hpp); plain C++, so tests drive it
// with a virtual clock.
#pragma once

#include <cstdint>

#include "base/time.hpp"

namespace dtcp {

class TokenBucket {
 public:
  // Starts full. constexpr, so a thread_local bucket needs no dynamic initialisation.
  constexpr TokenBucket(uint32_t per_second, uint32_t burst)
      : per_second_(per_second), capacity_(uint64_t{burst} * kUnitsPerToken), credit_(capacity_) {}

  // True when one event may pass at `now` (its token is taken); otherwise counts it refused.
  // A `now` earlier than the last one seen (another clock's time) refills nothing.
  bool admit(TimePoint now) {
    if (try_take(now)) return true;
    ++refused_;
    return false;
  }

  // Takes a token if there is one at `now`, without counting a refusal (for the bucket's own
  // bookkeeping, such as reporting the refused count).
  bool try_take(TimePoint now) {
    refill(now);
    if (credit_ < kUnitsPerToken) return false;
    credit_ -= kUnitsPerToken;
    return true;
  }

  // Events refused since the last call; resets the count.
  uint64_t take_refused() {
    const uint64_t n = refused_;
    refused_ = 0;
    return n;
  }
  uint64_t refused() const { return refused_; }

 private:
  // Credit is kept in token-microseconds (one token = 1e6 units, `per_second` units accrue per
  // microsecond), so refills of a few microseconds are exact instead of rounding to nothing.
  static constexpr uint64_t kUnitsPerToken = 1'000'000;

  void refill(TimePoint now) {
    if (!started_) {
      started_ = true;
      last_ = now;
      return;
    }
    if (now <= last_) return;
    const auto elapsed_us = static_cast<uint64_t>((now - last_).count());
    last_ = now;
    if (per_second_ == 0) return;  // a bucket that never refills
    // Saturate before multiplying: a bucket idle for hours is simply full, without overflow.
    const uint64_t room = capacity_ - credit_;
    if (elapsed_us > room / per_second_) {
      credit_ = capacity_;
    } else {
      credit_ += elapsed_us * per_second_;
    }
  }

  uint32_t per_second_;
  uint64_t capacity_;
  uint64_t credit_;
  uint64_t refused_ = 0;
  TimePoint last_{};
  bool started_ = false;
};

}  // namespace dtcp
