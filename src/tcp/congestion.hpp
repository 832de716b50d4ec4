// Congestion control behind a small per-connection interface, so NewReno (RFC 6582) and CUBIC
// (RFC 9438) can slot in later. The sender asks cwnd() before sending and reports ACKs, duplicate
// ACKs and timeouts; the algorithm owns cwnd/ssthresh.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace dtcp::tcp {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  // Connection established (or restarted): set the initial window for sender MSS `smss`.
  virtual void init(uint32_t smss) = 0;
  // An ACK advanced SND.UNA by `bytes_acked` bytes (of data and SYN/FIN).
  virtual void on_ack(uint32_t bytes_acked, uint32_t flight_size) = 0;
  // A duplicate ACK in the RFC 5681 §2 sense. Returns true if the sender should fast-retransmit
  // the segment at SND.UNA now. FIXME(next issue): NewReno fast retransmit / fast recovery.
  virtual bool on_dup_ack(uint32_t flight_size) = 0;
  // The retransmission timer expired with `flight_size` bytes outstanding (RFC 5681 §3.1 eq. 4).
  virtual void on_timeout(uint32_t flight_size) = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
};

// RFC 5681 slow start and congestion avoidance (Reno without fast recovery for now).
class RenoCongestion final : public CongestionControl {
 public:
  void init(uint32_t smss) override {
    smss_ = smss;
    // RFC 6928 initial window (as Linux): min(10*SMSS, max(2*SMSS, 14600)).
    cwnd_ = std::min(10 * smss, std::max(2 * smss, 14600u));
    ssthresh_ = std::numeric_limits<uint32_t>::max() / 2;  // RFC 5681 §3.1: arbitrarily high
    ca_bytes_ = 0;
  }
  void on_ack(uint32_t bytes_acked, uint32_t /*flight_size*/) override {
    if (cwnd_ < ssthresh_) {
      // Slow start, RFC 5681 eq. 2 with appropriate byte counting (RFC 3465, L = 1 SMSS).
      cwnd_ += std::min(bytes_acked, smss_);
    } else {
      // Congestion avoidance, RFC 5681 §3.1: about one SMSS per RTT, counted in bytes.
      ca_bytes_ += bytes_acked;
      if (ca_bytes_ >= cwnd_) {
        ca_bytes_ -= cwnd_;
        cwnd_ += smss_;
      }
    }
    cwnd_ = std::min(cwnd_, kMaxCwnd);
  }
  bool on_dup_ack(uint32_t /*flight_size*/) override { return false; }
  void on_timeout(uint32_t flight_size) override {
    ssthresh_ = std::max(flight_size / 2, 2 * smss_);  // RFC 5681 eq. 4
    cwnd_ = smss_;                                     // loss window, RFC 5681 §3.1
    ca_bytes_ = 0;
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
