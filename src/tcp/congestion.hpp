// Congestion control behind a small per-connection interface, apart from loss recovery (as
// gVisor's netstack splits them, and as FreeBSD's cc_algo and smoltcp's Controller are shaped).
// Loss recovery (recovery.hpp: NewReno, RFC 6675 SACK with PRR, RACK-TLP) decides *when* the
// network signalled congestion and how much may be sent while repairing; the controller decides
// what cwnd and ssthresh become: growth on each ACK, the reduction on each congestion event.
//
// The controller is told:
//   init()               once the handshake completes (initial window, RFC 6928);
//   ack_received()       for every ACK that delivered data outside recovery, with the time, the
//                        bytes delivered, the RTT sample and what is still in flight;
//   congestion_event()   when recovery starts (loss), on an ECN echo, or on a timeout;
//   recovery_exit()      when the repair ends: cwnd returns to ssthresh (RFC 6937 §3);
//   idle_restart()       before sending after an idle period (RFC 5681 §4.1, RFC 9438 §5.8).
// During recovery the loss-recovery unit owns cwnd (PRR, or NewReno's inflation) through
// set_cwnd(); the controller does not grow it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "base/seq.hpp"
#include "base/time.hpp"
#include "dtcp/tcp.hpp"

namespace dtcp::tcp {

// What one ACK told the sender (smoltcp's on_ack() arguments, FreeBSD's ccv fields).
struct AckSample {
  TimePoint now{};
  uint32_t bytes_acked = 0;  // newly delivered: SND.UNA's advance plus newly SACKed bytes
  Duration rtt{0};           // the RTT sample this ACK gave; 0 when it gave none
  Duration min_rtt{0};       // the connection's minimum RTT so far; 0 when none yet
  uint32_t in_flight = 0;    // bytes still in flight after this ACK (RFC 6675 pipe, or FlightSize)
  SeqNum ack;                // SND.UNA after this ACK
  SeqNum snd_nxt;            // SND.NXT when the ACK arrived (rounds end when SND.UNA passes it)
  // The flight filled cwnd when this data was sent; an application-limited sender does not grow
  // cwnd (RFC 7661 §4.3 / RFC 9438 §5.8 "cwnd-limited").
  bool cwnd_limited = true;
};

enum class CongestionEvent : uint8_t {
  loss,     // fast recovery begins (duplicate ACKs, SACK or RACK detected a loss)
  ecn,      // an ECN-Echo (RFC 3168 §6.1.2): reduce once per window, without retransmitting
  timeout,  // the retransmission timer expired (RFC 5681 §3.1: loss window of one segment)
};

class CongestionController {
 public:
  virtual ~CongestionController() = default;
  // Connection established: cwnd = `initial_segments` segments of `smss` bytes, ssthresh high.
  virtual void init(uint32_t smss, uint32_t initial_segments, TimePoint now) = 0;
  // An ACK delivered new data outside recovery: slow start or congestion avoidance.
  virtual void ack_received(const AckSample& ack) = 0;
  // A congestion signal with `flight_size` bytes outstanding. loss: ssthresh is set, cwnd is left
  // to the recovery unit; ecn: ssthresh is set and cwnd = ssthresh; timeout: ssthresh is set and
  // cwnd = one segment (the loss window).
  virtual void congestion_event(CongestionEvent kind, uint32_t flight_size, TimePoint now) = 0;
  // Recovery ended (everything outstanding when it began is acknowledged): cwnd = ssthresh.
  virtual void recovery_exit(TimePoint now) = 0;
  // About to send after `idle` with nothing in flight (RFC 5681 §4.1: when idle exceeds the RTO,
  // cwnd = min(cwnd, restart window); CUBIC also moves its epoch forward by the idle time).
  virtual void idle_restart(TimePoint now, Duration idle, Duration rto, uint32_t initial_segments) = 0;
  // The recovery unit sets cwnd directly during recovery (PRR, NewReno inflation).
  virtual void set_cwnd(uint32_t cwnd) = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
  // Slow-start rounds exited by HyStart++ (RFC 9406) and CUBIC epochs started, for counters.
  // Plain fields, not virtual calls: every ACK that grows cwnd reads both before and after.
  uint32_t epochs() const { return epochs_; }
  uint32_t hystart_exits() const { return hystart_exits_; }

 protected:
  uint32_t epochs_ = 0;
  uint32_t hystart_exits_ = 0;
};

inline constexpr uint32_t kMaxCwnd = 1u << 30;

// RFC 5681 slow start and congestion avoidance.
class RenoCongestion final : public CongestionController {
 public:
  void init(uint32_t smss, uint32_t initial_segments, TimePoint) override {
    smss_ = smss;
    cwnd_ = std::max(1u, initial_segments) * smss;  // RFC 6928 (10 segments by default)
    ssthresh_ = std::numeric_limits<uint32_t>::max() / 2;  // RFC 5681 §3.1: arbitrarily high
    ca_bytes_ = 0;
  }
  void ack_received(const AckSample& ack) override {
    if (!ack.cwnd_limited) return;
    if (cwnd_ < ssthresh_) {
      // Slow start, RFC 5681 eq. 2 with appropriate byte counting (RFC 3465, L = 2 SMSS, so
      // a delayed ACK covering two segments still grows cwnd by two).
      cwnd_ += std::min(ack.bytes_acked, 2 * smss_);
    } else {
      // Congestion avoidance, RFC 5681 §3.1 eq. 3 counted in bytes: one SMSS per cwnd acked.
      ca_bytes_ += ack.bytes_acked;
      if (ca_bytes_ >= cwnd_) {
        ca_bytes_ -= cwnd_;
        cwnd_ += smss_;
      }
    }
    cwnd_ = std::min(cwnd_, kMaxCwnd);
  }
  void congestion_event(CongestionEvent kind, uint32_t flight_size, TimePoint) override {
    ssthresh_ = std::max(flight_size / 2, 2 * smss_);  // RFC 5681 eq. 4
    ca_bytes_ = 0;
    if (kind == CongestionEvent::timeout) cwnd_ = smss_;  // loss window, RFC 5681 §3.1
    if (kind == CongestionEvent::ecn) cwnd_ = ssthresh_;  // RFC 3168 §6.1.2
  }
  void recovery_exit(TimePoint) override { cwnd_ = ssthresh_; }
  void idle_restart(TimePoint, Duration idle, Duration rto, uint32_t initial_segments) override {
    if (idle > rto) cwnd_ = std::min(cwnd_, std::max(1u, initial_segments) * smss_);  // RFC 5681 §4.1
  }
  void set_cwnd(uint32_t cwnd) override { cwnd_ = std::clamp(cwnd, smss_, kMaxCwnd); }
  uint32_t cwnd() const override { return cwnd_; }
  uint32_t ssthresh() const override { return ssthresh_; }

 private:
  uint32_t smss_ = 536;
  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = 0;
  uint32_t ca_bytes_ = 0;
};

}  // namespace dtcp::tcp
