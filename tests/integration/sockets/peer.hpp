// The callback-API side of the sockets test: what runs on port b's Stacks, on their lcores.
// Servers (echo, hold, reset) on every queue, and client jobs the test thread posts to each
// queue (Stack::post) to open connections towards the sockets layer on port a.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dtcp/runtime.hpp"

namespace socktest {

// Ports the peer serves (on 198.18.1.2 and 2001:db8:1::2).
inline constexpr uint16_t kEchoPort = 7;    // echoes, closes after the client's FIN
inline constexpr uint16_t kHoldPort = 9;    // accepts and never reads (the client's window fills)
inline constexpr uint16_t kResetPort = 10;  // aborts (RST) on the first byte received

// What the peer's servers saw, summed over queues.
struct PeerCounters {
  std::atomic<uint64_t> echo_accepted{0};
  std::atomic<uint64_t> echo_peer_fin{0};  // FINs received on echo connections
  std::atomic<uint64_t> echo_reset{0};     // echo connections reset by the client
  std::atomic<uint64_t> hold_accepted{0};
  std::atomic<uint64_t> reset_sent{0};
  // How each echo connection ended, by the client's port: kFin and/or kReset.
  static constexpr int kFin = 1, kReset = 2;
  void note_echo_end(uint16_t client_port, int what);
  int echo_end(uint16_t client_port);  // 0 until something happened
  void forget_echo_end(uint16_t client_port);

 private:
  std::mutex mutex_;
  std::unordered_map<uint16_t, int> echo_end_;
};
PeerCounters& peer_counters();

// Byte `i` of the data pattern `seed` (splitmix64 of the 8-byte block).
uint8_t pattern_byte(uint64_t seed, uint64_t i);

// Connections opened by port b's queues towards `dst`; connection k (k = 0..count-1) runs on
// queue k mod queues. Each sends `request_bytes` of pattern seed + k, expects them echoed,
// verifies every byte and closes. request_bytes == 0: connect, count as ok, and stay open until
// the other side closes (then close).
class ClientJob {
 public:
  ClientJob(dtcp::Endpoint dst, uint32_t count, uint32_t concurrency_per_queue, uint32_t request_bytes, uint64_t seed);
  ~ClientJob();
  // Posts the job to every queue of port b; false if a post failed.
  bool start();
  bool finished() const { return ok.load() + failed.load() >= count_; }
  std::atomic<uint32_t> connected{0};
  std::atomic<uint32_t> ok{0};
  std::atomic<uint32_t> failed{0};
  std::atomic<uint32_t> ended{0};  // connections whose handler is done (closed or failed)

  struct QueueRun;

 private:
  friend struct QueueRun;
  dtcp::Endpoint dst_;
  uint32_t count_, concurrency_, request_bytes_;
  uint64_t seed_;
  std::vector<std::unique_ptr<QueueRun>> runs_;
};

// Port b's App factory; records the Stacks so jobs can be posted to them.
std::unique_ptr<dtcp::App> make_peer_app(dtcp::Stack& stack);
// Stacks of port b by queue (filled as the lcores start), and how many started.
dtcp::Stack* peer_stack(uint16_t queue);
uint16_t peer_queues_started();

}  // namespace socktest
