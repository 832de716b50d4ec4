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
  CongestionController* operator->() { return &get(); }
  const CongestionController* operator->() const { return &get(); }
  CongestionController& get() {
    return std::visit([](auto& c) -> CongestionController& { return c; }, current_);
  }
  const CongestionController& get() const {
    return std::visit([](const auto& c) -> const CongestionController& { return c; }, current_);
  }
  void select(CongestionAlgorithm algorithm) {
    if (algorithm == CongestionAlgorithm::cubic) {
      current_.emplace<CubicCongestion>();
    } else {
      current_.emplace<RenoCongestion>();
    }
  }
  bool is_cubic() const { return std::holds_alternative<CubicCongestion>(current_); }
  // Remembers the state before a reduction.
  void save() { saved_ = current_; }
  void undo() {
    const uint32_t cwnd = get().cwnd();
    current_ = saved_;
    if (get().cwnd() < cwnd) get().set_cwnd(cwnd);
  }

 private:
  using Variant = std::variant<CubicCongestion, RenoCongestion>;
  Variant current_;
  Variant saved_;
};

}  // namespace dtcp::tcp
