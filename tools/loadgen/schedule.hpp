// When requests are issued.
//
// Open loop (wrk2, dperf): request i is due at start + i/rate, whatever happened to the ones
// before it. A due request that finds every connection busy waits, but its latency still counts
// from its scheduled time, so a stalled server cannot hide its stall by slowing the generator
// down (coordinated omission). Such a request is counted as late.
//
// Closed loop: no schedule; each connection sends its next request as soon as the previous
// response has arrived (the engine handles that; the pacer only counts).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace dtcp::loadgen {

// Nanoseconds on the generator's clock (the backend's monotonic clock).
using Nanos = int64_t;

// The fixed open-loop schedule: request i (0-based) is due at start + floor(i * 1e9 / rate) ns.
// Computed from i each time, so rounding never accumulates into drift.
class OpenLoopSchedule {
 public:
  // rate: requests per second, at least 1.
  OpenLoopSchedule(uint64_t rate_per_s, Nanos start) : rate_(rate_per_s), start_(start) {}

  Nanos time_of(uint64_t index) const {
    return start_ + static_cast<Nanos>(static_cast<unsigned __int128>(index) * 1'000'000'000u / rate_);
  }
  // How many requests are due at `now`: the number of i with time_of(i) <= now.
  uint64_t due(Nanos now) const {
    if (now < start_) return 0;
    const auto elapsed = static_cast<unsigned __int128>(now - start_) + 1;
    return static_cast<uint64_t>((elapsed * rate_ + 999'999'999u) / 1'000'000'000u);
  }
  uint64_t rate() const { return rate_; }
  Nanos start() const { return start_; }

 private:
  uint64_t rate_;
  Nanos start_;
};

// Hands out request indexes in order, to at most `limit` requests, either as they fall due
// (open loop) or whenever asked (closed loop), and tells which ones were late.
class Pacer {
 public:
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

  // Closed loop.
  explicit Pacer(uint64_t limit = kUnlimited) : limit_(limit) {}
  // Open loop at `rate_per_s` from `start`.
  Pacer(uint64_t rate_per_s, Nanos start, uint64_t limit = kUnlimited)
      : open_loop_(true), schedule_(rate_per_s, start), limit_(limit) {}

  bool open_loop() const { return open_loop_; }
  // Requests that may be issued at `now` and have not been: due and unissued (open loop), or
  // everything left under the limit (closed loop).
  uint64_t ready(Nanos now) const {
    const uint64_t available = open_loop_ ? std::min(schedule_.due(now), limit_) : limit_;
    return available - issued_;
  }
  // The engine found ready requests but no connection to send them on: every request due by
  // now is late (it will be sent after its scheduled time for want of a connection).
  void mark_backlog(Nanos now) {
    if (open_loop_) late_before_ = std::max(late_before_, std::min(schedule_.due(now), limit_));
  }
  struct Issued {
    uint64_t index;
    Nanos scheduled;  // latency origin: the schedule (open loop) or `now` (closed loop)
    bool late;
  };
  // Takes the next request; ready(now) must be > 0.
  Issued issue(Nanos now) {
    const uint64_t i = issued_++;
    if (!open_loop_) return {i, now, false};
    const bool late = i < late_before_;
    late_ += late;
    return {i, schedule_.time_of(i), late};
  }
  // When the next request falls due (open loop; max() when the limit is reached or closed loop).
  Nanos next_due() const {
    if (!open_loop_ || issued_ >= limit_) return std::numeric_limits<Nanos>::max();
    return schedule_.time_of(issued_);
  }
  // Stops handing out requests (the run's end); returns how many were due but never issued.
  uint64_t stop(Nanos now) {
    const uint64_t unsent = open_loop_ ? ready(now) : 0;
    limit_ = issued_;
    return unsent;
  }
  uint64_t issued() const { return issued_; }
  uint64_t late() const { return late_; }
  uint64_t limit() const { return limit_; }
  bool exhausted() const { return issued_ >= limit_; }

 private:
  bool open_loop_ = false;
  OpenLoopSchedule schedule_{1, 0};
  uint64_t limit_;
  uint64_t issued_ = 0;
  uint64_t late_before_ = 0;
  uint64_t late_ = 0;
};

}  // namespace dtcp::loadgen
