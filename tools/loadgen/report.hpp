// What the load generator prints: a progress line every second while running, and at the end
// a text block and (with --json) a JSON object holding the same numbers under stable keys.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/idle.hpp"

namespace dtcp::loadgen {

struct RunInfo {
  std::string backend;  // "dtcp" or "kernel"
  std::string target;   // "ADDR:PORT"
  Mode mode = Mode::rr;
  Protocol protocol = Protocol::http;
  Direction direction = Direction::recv;
  uint32_t connections = 0;
  uint64_t rate = 0;
  // Times the process was preempted (involuntary context switches, getrusage) over its life;
  // a busy-polling lcore preempted stalls every request in flight for a scheduler slice.
  std::optional<uint64_t> preemptions;
};

// A latency for people: "640 ns" below 10 µs, "12.3 µs" below 10 ms, "25.1 ms" above, so a
// figure keeps three significant digits whatever its size (a net_ring round trip is shorter
// than a microsecond, a kernel's queue under overload tens of milliseconds).
std::string format_latency(uint64_t ns);
std::string format_text(const RunInfo& info, const Stats& stats);
std::string format_json(const RunInfo& info, const Stats& stats);
// --mode idle: counts per phase, errors and memory, as text and as one JSON line.
std::string format_idle_text(const IdleReport& report);
std::string format_idle_json(const IdleReport& report);
// "[  3s] conns/s 51234  req/s 51234  Gbit/s 0.05  errors 0  active 64"
std::string format_progress(unsigned second, double conns_per_s, double req_per_s, double gbit_per_s,
                            uint64_t errors, uint64_t active, bool warmup);

// Prints a progress line every second to `out`, summing the live counters of every engine,
// until stop() (or every engine has finished); none before an engine has started.
class ProgressPrinter {
 public:
  ProgressPrinter(std::vector<const LiveCounters*> sources, FILE* out);
  ~ProgressPrinter();
  void stop();

 private:
  void run();
  std::vector<const LiveCounters*> sources_;
  FILE* out_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace dtcp::loadgen
