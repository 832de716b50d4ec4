// Congestion control behind a small per-connection interface. The sender (input.cpp, timers.cpp)
// owns loss detection and NewReno recovery (RFC 6582: duplicate ACK counting, "recover", partial
// ACKs); the algorithm owns cwnd and ssthresh and decides how they move on each event. CUBIC
// (RFC 9438) changes on_ack() growth and the reduction factor and fits the same calls.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace dtcp::tcp {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  // Connection established: initial window of `initial_segments` segments of `smss` bytes.
  virtual void init(uint32_t smss, uint32_t initial_segments) = 0;
  // An ACK advanced SND.UNA by `bytes_acked` outside fast recovery.
  virtual void on_ack(uint32_t bytes_acked) = 0;
  // Three duplicate ACKs with `flight_size` bytes outstanding: fast retransmit begins
  // (RFC 5681 §3.2 steps 2-3).
  virtual void on_enter_recovery(uint32_t flight_size) = 0;
  // Each further duplicate ACK during recovery (RFC 5681 §3.2 step 4: inflate by one SMSS).
  virtual void on_recovery_dup_ack() = 0;
  // A partial ACK for `bytes_acked` during recovery (RFC 6582 §3.2 step 5: deflate).
  virtual void on_partial_ack(uint32_t bytes_acked) = 0;
  // A full ACK ends recovery with `flight_size` still outstanding (RFC 6582 §3.2 step 3).
  virtual void on_exit_recovery(uint32_t flight_size) = 0;
  // The retransmission timer expired with `flight_size` bytes outstanding (RFC 5681 eq. 4).
  virtual void on_timeout(uint32_t flight_size) = 0;
  // A reduction turned out to be spurious (RFC 4015): go back to the state saved before it.
  virtual void undo(uint32_t saved_cwnd, uint32_t saved_ssthresh) = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
};

// RFC 5681 slow start and congestion avoidance with RFC 6582's window arithmetic in recovery.
class RenoCongestion final : public CongestionControl {
 public:
  void init(uint32_t smss, uint32_t initial_segments) override {
    smss_ = smss;
    cwnd_ = std::max(1u, initial_segments) * smss;  // RFC 6928 (10 segments by default)
    ssthresh_ = std::numeric_limits<uint32_t>::max() / 2;  // RFC 5681 §3.1: arbitrarily high
    ca_bytes_ = 0;
  }
  void on_ack(uint32_t bytes_acked) override {
    if (cwnd_ < ssthresh_) {
      // Slow start, RFC 5681 eq. 2 with appropriate byte counting (RFC 3465, L = 2 SMSS, so
      // a delayed ACK covering two segments still grows cwnd by two).
      cwnd_ += std::min(bytes_acked, 2 * smss_);
    } else {
      // Congestion avoidance, RFC 5681 §3.1 eq. 3 counted in bytes: one SMSS per cwnd acked.
      ca_bytes_ += bytes_acked;
      if (ca_bytes_ >= cwnd_) {
        ca_bytes_ -= cwnd_;
        cwnd_ += smss_;
      }
    }
    cwnd_ = std::min(cwnd_, kMaxCwnd);
  }
  void on_enter_recovery(uint32_t flight_size) override {
    ssthresh_ = std::max(flight_size / 2, 2 * smss_);  // RFC 5681 eq. 4
    cwnd_ = ssthresh_ + 3 * smss_;                     // RFC 5681 §3.2 step 3
    ca_bytes_ = 0;
  }
  void on_recovery_dup_ack() override { cwnd_ = std::min(cwnd_ + smss_, kMaxCwnd); }
  void on_partial_ack(uint32_t bytes_acked) override {
    // RFC 6582 §3.2 step 5: deflate by the amount acknowledged, add back one SMSS if that was at
    // least one SMSS, so about ssthresh bytes stay in flight when recovery ends.
    cwnd_ = cwnd_ > bytes_acked ? cwnd_ - bytes_acked : 0;
    if (bytes_acked >= smss_) cwnd_ += smss_;
    cwnd_ = std::max(cwnd_, smss_);
  }
  void on_exit_recovery(uint32_t flight_size) override {
    // RFC 6582 §3.2 step 3, option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS), which avoids
    // a burst when little is left in flight.
    cwnd_ = std::min(ssthresh_, std::max(flight_size, smss_) + smss_);
  }
  void on_timeout(uint32_t flight_size) override {
    ssthresh_ = std::max(flight_size / 2, 2 * smss_);  // RFC 5681 eq. 4
    cwnd_ = smss_;                                     // loss window, RFC 5681 §3.1
    ca_bytes_ = 0;
  }
  void undo(uint32_t saved_cwnd, uint32_t saved_ssthresh) override {
    cwnd_ = std::max(cwnd_, saved_cwnd);
    ssthresh_ = std::max(ssthresh_, saved_ssthresh);
  }
  uint32_t cwnd() const override { return cwnd_; }
  uint32_t ssthresh() const override { return ssthresh_; }

 private:
  static constexpr uint32_t kMaxCwnd = 1u << 30;
  uint32_t smss_ = 536;
  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = 0;
  uint32_t ca_bytes_ = 0;
};

}  // namespace dtcp::tcp
