// The congestion controller slot of a TCB: CUBIC or Reno by value.
#pragma once

#include <variant>

#include "tcp/congestion.hpp"
#include "tcp/cubic.hpp"

namespace dtcp::tcp {

// The controller of one connection, chosen per connection, held by value in the TCB (no heap on
// the packet path), with a copy kept for undoing a reduction that proved spurious (RFC 4015,
// RFC 2883 D-SACK): undo() brings back the saved state, keeping the larger cwnd.
class CongestionSlot {
 public:
  CongestionSlot() { rebind(); }
  CongestionSlot(const CongestionSlot& other) : current_(other.current_), saved_(other.saved_) { rebind(); }
  CongestionSlot& operator=(const CongestionSlot& other) {
    current_ = other.current_;
    saved_ = other.saved_;
    rebind();
    return *this;
  }
  // The active controller through a pointer kept beside the variant: the packet path asks for
  // cwnd() and feeds ACKs several times a segment, and a std::visit before each virtual call
  // showed in tools/bench --cost.
  CongestionController* operator->() { return active_; }
  const CongestionController* operator->() const { return active_; }
  CongestionController& get() { return *active_; }
  const CongestionController& get() const { return *active_; }
  void select(CongestionAlgorithm algorithm) {
    if (algorithm == CongestionAlgorithm::cubic) {
      current_.emplace<CubicCongestion>();
    } else {
      current_.emplace<RenoCongestion>();
    }
    rebind();
  }
  bool is_cubic() const { return std::holds_alternative<CubicCongestion>(current_); }
  // Remembers the state before a reduction.
  void save() { saved_ = current_; }
  void undo() {
    const uint32_t cwnd = get().cwnd();
    current_ = saved_;
    rebind();
    if (get().cwnd() < cwnd) get().set_cwnd(cwnd);
  }

 private:
  void rebind() {
    active_ = std::visit([](auto& c) -> CongestionController* { return &c; }, current_);
  }

  using Variant = std::variant<CubicCongestion, RenoCongestion>;
  Variant current_;
  Variant saved_;
  CongestionController* active_ = nullptr;
};

}  // namespace dtcp::tcp
