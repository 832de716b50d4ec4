#include "loadgen/idle.hpp"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace dtcp::loadgen {

uint64_t IdleStats::errors_total() const {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

void IdleStats::merge(const IdleStats& o) {
  opened += o.opened;
  established_hold_start += o.established_hold_start;
  established_hold_end += o.established_hold_end;
  closed += o.closed;
  for (size_t i = 0; i < kErrorKinds; i++) errors[i] += o.errors[i];
  open_time = std::max(open_time, o.open_time);
  hold_time = std::max(hold_time, o.hold_time);
  close_time = std::max(close_time, o.close_time);
}

IdleEngine::IdleEngine(const IdleSpec& spec, IdleTransport& transport, LiveCounters* live,
                       std::function<void(Phase)> on_phase)
    : spec_(spec),
      transport_(transport),
      live_(live),
      on_phase_(std::move(on_phase)),
      slots_(new SlotState[spec.connections]()),
      ring_(size_t{std::max<uint32_t>(spec.handshakes, 1)} * 4) {
  static_assert(sizeof(SlotState) == kBytesPerSlot);
}

void IdleEngine::start(Nanos now) {
  phase_start_ = now;
  if (live_) {
    live_->started.store(true, std::memory_order_relaxed);
    live_->measuring.store(true, std::memory_order_relaxed);
  }
  poll(now);
}

void IdleEngine::enter(Phase next, Nanos now) {
  const Nanos spent = now - phase_start_;
  switch (phase_) {
    case Phase::opening:
      stats_.open_time = spent;
      stats_.established_hold_start = established_;
      break;
    case Phase::holding:
      stats_.hold_time = spent;
      stats_.established_hold_end = established_;
      break;
    case Phase::closing:
      stats_.close_time = spent;
      break;
    case Phase::done:
      return;
  }
  phase_ = next;
  phase_start_ = now;
  cursor_ = 0;
  ring_head_ = ring_size_ = 0;  // what is left are entries of slots that moved on
  if (on_phase_) on_phase_(next);
}

void IdleEngine::poll(Nanos now) {
  expire(now);
  if (phase_ == Phase::opening) {
    open_more(now);
    if (cursor_ == spec_.connections && in_flight_ == 0) enter(Phase::holding, now);
  }
  // Nothing to hold when every handshake failed.
  if (phase_ == Phase::holding && (now - phase_start_ >= spec_.hold || established_ == 0)) enter(Phase::closing, now);
  if (phase_ == Phase::closing) {
    close_more(now);
    if (cursor_ == spec_.connections && in_flight_ == 0) enter(Phase::done, now);
  }
  publish();
  if (phase_ == Phase::done && live_) live_->finished.store(true, std::memory_order_release);
}

void IdleEngine::interrupt(Nanos now) {
  if (phase_ == Phase::done) return;
  if (phase_ == Phase::opening) {
    stats_.open_time = now - phase_start_;
    stats_.established_hold_start = established_;
  } else if (phase_ == Phase::holding) {
    stats_.hold_time = now - phase_start_;
    stats_.established_hold_end = established_;
  } else {
    stats_.close_time = now - phase_start_;
  }
  phase_ = Phase::done;
  publish();
  if (live_) live_->finished.store(true, std::memory_order_release);
}

// Handshakes in flight grow with those completed (one, then doubling each round trip, as TCP's
// slow start), so the first burst does not outrun ARP: each side queues only so many frames
// for a next hop it is still resolving ([arp] max_pending_per_entry), and a SYN dropped there
// costs a 1 s retransmission.
void IdleEngine::open_more(Nanos now) {
  const SourceTuples tuples{spec_.source_addr, spec_.source_addr_count, spec_.port_min, spec_.port_max};
  const auto resolved = [&] { return cursor_ - in_flight_; };  // handshakes done or failed
  while (cursor_ < spec_.connections && in_flight_ < std::min(spec_.handshakes, std::max(resolved(), 1u)) &&
         ring_size_ < ring_.size()) {
    const uint32_t slot = cursor_++;
    ErrorKind error = ErrorKind::local;
    const auto status =
        open_from(tuples, source_cursor_, [&](Source source) { return transport_.open(slot, source, error); });
    if (status != Transport::OpenStatus::ok) {
      if (status == Transport::OpenStatus::tuple_busy) error = ErrorKind::local;  // no free source tuple
      slots_[slot] = SlotState::done;
      stats_.errors[static_cast<size_t>(error)]++;
      continue;
    }
    slots_[slot] = SlotState::connecting;
    in_flight_++;
    push(slot, now + spec_.timeout);
  }
}

void IdleEngine::close_more(Nanos now) {
  while (cursor_ < spec_.connections && in_flight_ < spec_.handshakes && ring_size_ < ring_.size()) {
    const uint32_t slot = cursor_++;
    if (slots_[slot] != SlotState::established) continue;  // failed or lost earlier
    slots_[slot] = SlotState::closing;
    established_--;
    in_flight_++;
    push(slot, now + spec_.timeout);
    transport_.shutdown(slot);  // may report on_error() at once
  }
}

void IdleEngine::push(uint32_t slot, Nanos deadline) {
  assert(ring_size_ < ring_.size());
  ring_[(ring_head_ + ring_size_) % ring_.size()] = InFlight{slot, deadline};
  ring_size_++;
}

// The oldest entries first; deadlines are pushed in time order, so the first one not yet due
// ends the scan.
void IdleEngine::expire(Nanos now) {
  const SlotState waiting = phase_ == Phase::opening ? SlotState::connecting : SlotState::closing;
  while (ring_size_ > 0) {
    const InFlight& f = ring_[ring_head_];
    if (slots_[f.slot] == waiting) {
      if (now < f.deadline) return;
      transport_.abort(f.slot);
      const ErrorKind kind = ErrorKind::timeout;
      end(f.slot, &kind);
    }
    ring_head_ = (ring_head_ + 1) % ring_.size();
    ring_size_--;
  }
}

void IdleEngine::end(uint32_t slot, const ErrorKind* kind) {
  switch (slots_[slot]) {
    case SlotState::connecting:
    case SlotState::closing:
      in_flight_--;
      break;
    case SlotState::established:
      established_--;
      break;
    case SlotState::unopened:
    case SlotState::done:
      return;
  }
  slots_[slot] = SlotState::done;
  if (kind) stats_.errors[static_cast<size_t>(*kind)]++;
}

void IdleEngine::on_connected(uint32_t slot, Nanos) {
  if (slots_[slot] != SlotState::connecting) return;
  slots_[slot] = SlotState::established;
  in_flight_--;
  established_++;
  stats_.opened++;
}

void IdleEngine::on_data(uint32_t slot, size_t, Nanos) {
  const SlotState s = slots_[slot];
  if (s == SlotState::unopened || s == SlotState::done) return;
  transport_.abort(slot);
  const ErrorKind kind = ErrorKind::protocol;
  end(slot, &kind);
}

void IdleEngine::on_peer_closed(uint32_t slot, Nanos) {
  const SlotState s = slots_[slot];
  if (s == SlotState::unopened || s == SlotState::done) return;
  transport_.close(slot);
  if (s == SlotState::closing) {
    stats_.closed++;
    end(slot, nullptr);
    return;
  }
  const ErrorKind kind = ErrorKind::short_read;  // the peer ended a connection we were holding
  end(slot, &kind);
}

void IdleEngine::on_error(uint32_t slot, ErrorKind kind, Nanos) { end(slot, &kind); }

void IdleEngine::publish() {
  if (live_ == nullptr) return;
  live_->connections.store(stats_.opened, std::memory_order_relaxed);
  live_->errors.store(stats_.errors_total(), std::memory_order_relaxed);
  live_->active.store(established_, std::memory_order_relaxed);
}

uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

uint64_t peak_resident_bytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  bool found = false;
  while (!found && std::fgets(line, sizeof(line), f)) found = std::sscanf(line, "VmHWM: %llu kB", &kib) == 1;
  std::fclose(f);
  return found ? kib * 1024 : 0;
}

}  // namespace dtcp::loadgen
