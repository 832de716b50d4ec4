#include "loadgen/report.hpp"

#include <time.h>

#include <chrono>
#include <cmath>
#include <cinttypes>
#include <cstdarg>
#include <algorithm>

namespace dtcp::loadgen {
namespace {

std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return std::string(buf, static_cast<size_t>(std::max(0, std::min<int>(n, sizeof(buf) - 1))));
}

struct Rates {
  double seconds, conns, reqs, gbits;
};

Rates rates(const Stats& s) {
  const double seconds = static_cast<double>(s.elapsed) / 1e9;
  if (seconds <= 0) return {0, 0, 0, 0};
  return {seconds, static_cast<double>(s.connections) / seconds, static_cast<double>(s.requests) / seconds,
          static_cast<double>(s.tx_bytes + s.rx_bytes) * 8 / seconds / 1e9};
}

// Latencies are recorded in ns; JSON keeps µs (latency_us, with ns in its decimals) beside
// exact ns (latency_ns), text prints each in the unit that suits it (format_latency).
double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

struct Percentile {
  const char* text;
  const char* json;
  double p;
};
constexpr Percentile kPercentiles[] = {
    {"p50", "p50", 50}, {"p90", "p90", 90}, {"p99", "p99", 99}, {"p99.9", "p99_9", 99.9}};

Nanos monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

}  // namespace

std::string format_progress(unsigned second, double conns_per_s, double req_per_s, double gbit_per_s,
                            uint64_t errors, uint64_t active, bool warmup) {
  return fmt("[%3us] conns/s %.0f  req/s %.0f  Gbit/s %.2f  errors %" PRIu64 "  active %" PRIu64 "%s", second,
             conns_per_s, req_per_s, gbit_per_s, errors, active, warmup ? "  (warm-up)" : "");
}

std::string format_latency(uint64_t ns) {
  if (ns < 10'000) return fmt("%" PRIu64 " ns", ns);
  if (ns < 10'000'000) return fmt("%.1f µs", static_cast<double>(ns) / 1e3);
  return fmt("%.1f ms", static_cast<double>(ns) / 1e6);
}

std::string format_text(const RunInfo& info, const Stats& s) {
  const Rates r = rates(s);
  std::string out;
  out += fmt("backend %s  target %s  mode %s  protocol %s  connections %u  %s\n", info.backend.c_str(),
             info.target.c_str(), to_string(info.mode), info.mode == Mode::bulk ? "-" : to_string(info.protocol),
             info.connections,
             info.rate ? fmt("open loop at %" PRIu64 "/s", info.rate).c_str() : "closed loop");
  out += fmt("duration %.3f s\n", r.seconds);
  out += fmt("connections %" PRIu64 "  requests %" PRIu64 "  tx_bytes %" PRIu64 "  rx_bytes %" PRIu64 "\n",
             s.connections, s.requests, s.tx_bytes, s.rx_bytes);
  out += fmt("conns/s %.1f  req/s %.1f  Gbit/s %.3f\n", r.conns, r.reqs, r.gbits);
  if (info.rate) out += fmt("late %" PRIu64 "  not_sent %" PRIu64 "\n", s.late, s.not_sent);
  out += fmt("errors %" PRIu64, s.errors_total());
  for (size_t k = 0; k < kErrorKinds; k++) {
    out += fmt("  %s %" PRIu64, to_string(static_cast<ErrorKind>(k)), s.errors[k]);
  }
  out += "\n";
  if (info.mode != Mode::bulk) {
    out += fmt("latency count %" PRIu64 "  min %s  mean %s", s.latency.count(),
               format_latency(s.latency.min()).c_str(), format_latency(static_cast<uint64_t>(std::llround(s.latency.mean()))).c_str());
    for (const auto& p : kPercentiles) {
      out += fmt("  %s %s", p.text, format_latency(s.latency.percentile(p.p)).c_str());
    }
    out += fmt("  max %s\n", format_latency(s.latency.max()).c_str());
  }
  if (info.preemptions) out += fmt("preemptions %" PRIu64 " (involuntary context switches of the process)\n", *info.preemptions);
  if (!s.body_sha256.empty()) out += "body_sha256 " + s.body_sha256 + "\n";
  return out;
}

std::string format_json(const RunInfo& info, const Stats& s) {
  const Rates r = rates(s);
  std::string out = "{";
  out += fmt("\"tool\": \"dtcp-loadgen\", \"backend\": \"%s\", \"target\": \"%s\", \"mode\": \"%s\", ",
             info.backend.c_str(), info.target.c_str(), to_string(info.mode));
  out += fmt("\"protocol\": \"%s\", \"direction\": \"%s\", \"connections\": %u, \"rate\": %" PRIu64 ", ",
             to_string(info.protocol), info.direction == Direction::send ? "send" : "recv", info.connections,
             info.rate);
  out += fmt("\"duration_s\": %.6f, ", r.seconds);
  out += fmt("\"totals\": {\"connections\": %" PRIu64 ", \"requests\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
             ", \"rx_bytes\": %" PRIu64 ", \"late\": %" PRIu64 ", \"not_sent\": %" PRIu64 "}, ",
             s.connections, s.requests, s.tx_bytes, s.rx_bytes, s.late, s.not_sent);
  out += fmt("\"conns_per_s\": %.3f, \"req_per_s\": %.3f, \"gbit_per_s\": %.6f, ", r.conns, r.reqs, r.gbits);
  out += fmt("\"errors\": {\"total\": %" PRIu64, s.errors_total());
  for (size_t k = 0; k < kErrorKinds; k++) {
    out += fmt(", \"%s\": %" PRIu64, to_string(static_cast<ErrorKind>(k)), s.errors[k]);
  }
  out += "}, ";
  out += fmt("\"latency_us\": {\"count\": %" PRIu64 ", \"min\": %.3f, \"mean\": %.3f", s.latency.count(),
             us(s.latency.min()), s.latency.mean() / 1000.0);
  for (const auto& p : kPercentiles) out += fmt(", \"%s\": %.3f", p.json, us(s.latency.percentile(p.p)));
  out += fmt(", \"max\": %.3f}, ", us(s.latency.max()));
  out += fmt("\"latency_ns\": {\"count\": %" PRIu64 ", \"min\": %" PRIu64 ", \"mean\": %lld", s.latency.count(),
             s.latency.min(), std::llround(s.latency.mean()));
  for (const auto& p : kPercentiles) out += fmt(", \"%s\": %" PRIu64, p.json, s.latency.percentile(p.p));
  out += fmt(", \"max\": %" PRIu64 "}", s.latency.max());
  // Second k (t = k + 1, as the progress lines number them) lasted a whole second but for the
  // last, which ends with the run: `seconds` says how long, so a rate is counts / seconds.
  out += ", \"per_second\": [";
  const double elapsed_s = static_cast<double>(s.elapsed) / 1e9;
  for (size_t k = 0; k < s.per_second.size(); k++) {
    const SecondCounts& c = s.per_second[k];
    const double length = std::clamp(elapsed_s - static_cast<double>(k), 0.0, 1.0);
    out += fmt("%s{\"t\": %zu, \"seconds\": %.6f, \"connections\": %" PRIu64 ", \"requests\": %" PRIu64
               ", \"errors\": %" PRIu64 "}",
               k ? ", " : "", k + 1, length, c.connections, c.requests, c.errors);
  }
  out += "]";
  if (info.preemptions) out += fmt(", \"preemptions\": %" PRIu64, *info.preemptions);
  if (!s.body_sha256.empty()) out += ", \"body_sha256\": \"" + s.body_sha256 + "\"";
  out += "}\n";
  return out;
}

ProgressPrinter::ProgressPrinter(std::vector<const LiveCounters*> sources, FILE* out)
    : sources_(std::move(sources)), out_(out), thread_([this] { run(); }) {}

ProgressPrinter::~ProgressPrinter() { stop(); }

void ProgressPrinter::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ProgressPrinter::run() {
  struct Sample {
    uint64_t connections = 0, requests = 0, bytes = 0;
  };
  auto sample = [this] {
    Sample s;
    for (const auto* c : sources_) {
      s.connections += c->connections.load(std::memory_order_relaxed);
      s.requests += c->requests.load(std::memory_order_relaxed);
      s.bytes += c->bytes.load(std::memory_order_relaxed);
    }
    return s;
  };
  const Nanos start = monotonic_ns();
  Sample last = sample();
  Nanos last_time = start;
  for (unsigned second = 1;; second++) {
    const Nanos target = start + static_cast<Nanos>(second) * kNanosPerSecond;
    // Sleep in short steps so stop() is prompt.
    for (Nanos now = monotonic_ns(); now < target; now = monotonic_ns()) {
      if (stop_.load()) return;
      bool all_finished = true;
      for (const auto* c : sources_) all_finished &= c->finished.load(std::memory_order_acquire);
      if (all_finished) return;
      const Nanos step = std::min<Nanos>(target - now, 50'000'000);
      timespec pause{0, static_cast<long>(step)};
      nanosleep(&pause, nullptr);
    }
    const Sample now_sample = sample();
    const Nanos now = monotonic_ns();
    bool started = false;
    for (const auto* c : sources_) started |= c->started.load(std::memory_order_relaxed);
    if (!started) {  // the runtime is still starting (a million preallocated TCBs take seconds)
      last = now_sample;
      last_time = now;
      continue;
    }
    const double dt = static_cast<double>(now - last_time) / 1e9;
    uint64_t errors = 0, active = 0;
    bool measuring = true;
    for (const auto* c : sources_) {
      errors += c->errors.load(std::memory_order_relaxed);
      active += c->active.load(std::memory_order_relaxed);
      measuring &= c->measuring.load(std::memory_order_relaxed);
    }
    const std::string line = format_progress(
        second, static_cast<double>(now_sample.connections - last.connections) / dt,
        static_cast<double>(now_sample.requests - last.requests) / dt,
        static_cast<double>(now_sample.bytes - last.bytes) * 8 / dt / 1e9, errors, active, !measuring);
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
    last = now_sample;
    last_time = now;
  }
}

namespace {

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }
double seconds(Nanos ns) { return static_cast<double>(ns) / 1e9; }
double per(double total, uint64_t n) { return n ? total / static_cast<double>(n) : 0.0; }
double opens_per_second(const IdleStats& s) {
  return s.open_time > 0 ? static_cast<double>(s.opened) / seconds(s.open_time) : 0.0;
}

// RSS growth while the handshakes ran, per connection held at the start of the hold.
double rss_growth_per_connection(const IdleReport& r) {
  return per(static_cast<double>(r.rss_hold_start) - static_cast<double>(r.rss_runtime_up), r.stats.established_hold_start);
}

// The whole process's resident set at the start of the hold, per connection then held.
double rss_per_connection(const IdleReport& r) {
  return per(static_cast<double>(r.rss_hold_start) - static_cast<double>(r.rss_before_runtime),
             r.stats.established_hold_start);
}

// The stack's preallocation on one side, per connection held at the start of the hold.
double stack_preallocated_per_connection(const IdleReport& r) {
  return per(static_cast<double>(r.stack.connections + r.stack.time_wait), r.stats.established_hold_start);
}

std::string json_optional(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("null");
}

}  // namespace

std::string format_idle_text(const IdleReport& r) {
  const IdleStats& s = r.stats;
  std::string out;
  out += fmt("backend %s  target %s  mode idle  connections %u  handshakes %u  hold %.1f s\n", r.backend.c_str(),
             r.target.c_str(), r.spec.connections, r.spec.handshakes, seconds(r.spec.hold));
  out += fmt("opened %" PRIu64 " in %.3f s (%.0f/s)  held %" PRIu64 " at the start of the hold, %" PRIu64
             " at its end (%.1f s)\n",
             s.opened, seconds(s.open_time), opens_per_second(s),
             s.established_hold_start, s.established_hold_end, seconds(s.hold_time));
  if (r.server_hold_start) {
    out += fmt("server held %" PRIu64 " at the start of the hold, %s at its end\n", *r.server_hold_start,
               r.server_hold_end ? std::to_string(*r.server_hold_end).c_str() : "-");
  }
  out += fmt("closed %" PRIu64 " in %.3f s\n", s.closed, seconds(s.close_time));
  out += fmt("errors %" PRIu64, s.errors_total());
  for (size_t k = 0; k < kErrorKinds; k++) out += fmt("  %s %" PRIu64, to_string(static_cast<ErrorKind>(k)), s.errors[k]);
  out += "\n";
  out += fmt("memory rss MiB: before runtime %.1f, runtime up %.1f, hold start %.1f, hold end %.1f\n",
             mib(r.rss_before_runtime), mib(r.rss_runtime_up), mib(r.rss_hold_start), mib(r.rss_hold_end));
  out += fmt("memory rss per held connection: %.1f B for the whole process (every stack, mbuf pool, EAL and the "
             "load generator), of which %.1f B grew while opening (control blocks are preallocated)\n",
             rss_per_connection(r), rss_growth_per_connection(r));
  out += fmt("memory tcp per side: control block %" PRIu64 " B, %" PRIu64 " B per connection slot; %u slots "
             "preallocated %.1f MiB, TIME-WAIT %.1f MiB: %.1f B per held connection\n",
             r.stack.control_block, r.stack.per_connection, r.stack.max_connections, mib(r.stack.connections),
             mib(r.stack.time_wait), stack_preallocated_per_connection(r));
  out += fmt("memory load generator per connection: client %" PRIu64 " B", r.client_app_per_connection);
  if (r.server_app_per_connection) out += fmt(", server %" PRIu64 " B", *r.server_app_per_connection);
  out += "\n";
  return out;
}

std::string format_idle_json(const IdleReport& r) {
  const IdleStats& s = r.stats;
  std::string out = "{";
  out += fmt("\"tool\": \"dtcp-loadgen\", \"backend\": \"%s\", \"target\": \"%s\", \"mode\": \"idle\", ",
             r.backend.c_str(), r.target.c_str());
  out += fmt("\"connections\": %u, \"handshakes\": %u, \"hold_s\": %.3f, \"finished\": %s, ", r.spec.connections,
             r.spec.handshakes, seconds(r.spec.hold), r.finished ? "true" : "false");
  out += fmt("\"opened\": %" PRIu64 ", \"open_s\": %.6f, \"opens_per_s\": %.1f, ", s.opened, seconds(s.open_time),
             opens_per_second(s));
  out += fmt("\"established_hold_start\": %" PRIu64 ", \"established_hold_end\": %" PRIu64 ", \"held_s\": %.6f, ",
             s.established_hold_start, s.established_hold_end, seconds(s.hold_time));
  out += "\"server_established_hold_start\": " + json_optional(r.server_hold_start) +
         ", \"server_established_hold_end\": " + json_optional(r.server_hold_end) + ", ";
  out += fmt("\"closed\": %" PRIu64 ", \"close_s\": %.6f, ", s.closed, seconds(s.close_time));
  out += fmt("\"errors\": {\"total\": %" PRIu64, s.errors_total());
  for (size_t k = 0; k < kErrorKinds; k++) out += fmt(", \"%s\": %" PRIu64, to_string(static_cast<ErrorKind>(k)), s.errors[k]);
  out += "}, ";
  out += fmt("\"memory\": {\"rss_before_runtime\": %" PRIu64 ", \"rss_runtime_up\": %" PRIu64
             ", \"rss_hold_start\": %" PRIu64 ", \"rss_hold_end\": %" PRIu64 ", \"rss_per_connection\": %.1f"
             ", \"rss_growth_per_connection\": %.1f, ",
             r.rss_before_runtime, r.rss_runtime_up, r.rss_hold_start, r.rss_hold_end, rss_per_connection(r),
             rss_growth_per_connection(r));
  out += fmt("\"tcp_control_block\": %" PRIu64 ", \"tcp_per_connection_slot\": %" PRIu64
             ", \"tcp_max_connections\": %u, \"tcp_preallocated_per_side\": %" PRIu64
             ", \"tcp_time_wait_per_side\": %" PRIu64 ", \"tcp_preallocated_per_held_connection\": %.1f, ",
             r.stack.control_block, r.stack.per_connection, r.stack.max_connections, r.stack.connections,
             r.stack.time_wait, stack_preallocated_per_connection(r));
  out += fmt("\"client_app_per_connection\": %" PRIu64 ", \"server_app_per_connection\": ", r.client_app_per_connection);
  out += json_optional(r.server_app_per_connection) + "}}\n";
  return out;
}


}  // namespace dtcp::loadgen
