// The adaptive idle policy as a pure decision, so that tests drive it with a virtual clock.
//
// After `idle_polls` empty polls in a row the worker pauses (rte_pause, the spin-wait hint that
// lets a sibling hyper-thread run) for as many more, then sleeps: 10 us first, doubling up to
// `sleep_max`, and never past the earliest timer of its queues. Any work (a frame received or
// steered in, a message run) starts the count again. So a worker that went to sleep polls again
// at most `sleep_max` later (plus the kernel's timer slack, which the worker sets to 1 us, and,
// when lcores outnumber cores, the scheduler's latency): that is the wake-up bound.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/time.hpp"

namespace dtcp::dpdk {

class IdleBackoff {
 public:
  static constexpr Duration kFirstSleep{10};

  struct Action {
    enum class Kind : uint8_t { poll, pause, sleep };
    Kind kind = Kind::poll;
    Duration sleep{0};  // for Kind::sleep
  };

  IdleBackoff(uint32_t idle_polls, Duration sleep_max)
      : idle_polls_(idle_polls), sleep_max_(sleep_max), next_sleep_(std::min(kFirstSleep, sleep_max)) {}

  // After one loop iteration. `next_deadline()` returns the earliest pending timer (called only
  // when a sleep is considered).
  template <class NextDeadline>
  Action after_poll(bool work, TimePoint now, NextDeadline&& next_deadline) {
    if (work) {
      empty_polls_ = 0;
      next_sleep_ = std::min(kFirstSleep, sleep_max_);
      return {};
    }
    if (empty_polls_ <= 2 * idle_polls_) empty_polls_++;  // saturates at 2 * idle_polls + 1
    if (empty_polls_ <= idle_polls_) return {};
    if (empty_polls_ <= 2 * idle_polls_) return {Action::Kind::pause};
    const TimePoint deadline = next_deadline();
    if (deadline <= now) return {};  // a timer is due: poll
    const Duration sleep = std::min(next_sleep_, deadline - now);
    next_sleep_ = std::min(next_sleep_ * 2, sleep_max_);
    return {Action::Kind::sleep, sleep};
  }

 private:
  uint32_t idle_polls_;
  Duration sleep_max_;
  uint32_t empty_polls_ = 0;
  Duration next_sleep_;
};

}  // namespace dtcp::dpdk
