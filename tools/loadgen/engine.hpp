// The load logic shared by every backend: which connection sends what and when, what a complete
// response is, what went wrong, and the statistics. A backend (dtcp App, kernel epoll loop) is a
// thin adapter: it implements Transport and forwards its connection events to the Engine, with
// `now` from its own clock. Everything here is preallocated at construction; the request path
// does not allocate (except with verify_body, which formats each body's digest).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/sha256.hpp"
#include "wire/addr.hpp"
#include "loadgen/histogram.hpp"
#include "loadgen/http_parser.hpp"
#include "loadgen/schedule.hpp"

namespace dtcp::loadgen {

inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

enum class Mode : uint8_t {
  conn,  // connection rate: open, one request and its response, close
  rr,    // request rate over persistent connections
  bulk,  // streams sending or receiving as fast as they can
};
enum class Protocol : uint8_t { http, raw };
enum class Direction : uint8_t { send, recv };
const char* to_string(Mode);
const char* to_string(Protocol);

// Why a request (or a connection) failed. Every failure is counted once under one kind and
// never retried.
enum class ErrorKind : uint8_t {
  refused,      // RST in answer to the SYN (ECONNREFUSED)
  reset,        // RST on an established connection
  timeout,      // no complete response (or no handshake) within the timeout
  short_read,   // the peer closed before the response was complete
  local,        // could not open a connection here: no free source tuple, no TCB, no socket
  protocol,     // malformed HTTP, or more bytes than the response size
  http_status,  // a complete HTTP response whose status is not 2xx
  body,         // --verify-body: a body differing from the first one
  count_,
};
inline constexpr size_t kErrorKinds = static_cast<size_t>(ErrorKind::count_);
const char* to_string(ErrorKind);

// A source for connect(): address of either family (unspecified = the backend's default) and
// port (0 = the stack chooses an ephemeral port).
struct Source {
  wire::IpAddr addr{};
  uint16_t port = 0;
};

// The source tuples of a run in the order they are tried (addresses vary fastest), from
// address first..first+count-1 (unspecified: backend default) and ports port_min..port_max (0:
// the stack chooses). A range never crosses the end of an IPv4 address (the flag parser checks).
struct SourceTuples {
  wire::IpAddr addr{};
  uint32_t addr_count = 1;
  uint16_t port_min = 0;
  uint16_t port_max = 0;

  uint64_t size() const {
    return uint64_t{std::max<uint32_t>(addr_count, 1)} * (port_min ? uint64_t{port_max} - port_min + 1 : 1);
  }
  Source at(uint64_t k) const {
    const uint64_t addresses = std::max<uint32_t>(addr_count, 1);
    return Source{addr.is_unspecified() ? wire::IpAddr{} : wire::IpAddr(addr.v6().plus(k % addresses)),
                  port_min ? static_cast<uint16_t>(port_min + k / addresses) : uint16_t{0}};
  }
};

struct LoadSpec {
  Mode mode = Mode::rr;
  Protocol protocol = Protocol::http;
  Direction direction = Direction::recv;  // bulk only
  uint32_t connections = 64;              // concurrent connections (streams in bulk)
  uint64_t rate = 0;                      // requests (conn: connections) per second; 0 = closed loop
  Nanos warmup = 0;                       // run this long before measuring
  Nanos duration = 10 * kNanosPerSecond;  // measure this long; 0 = until `requests` are done
  uint64_t requests = 0;                  // stop after exactly this many requests; 0 = no limit
  Nanos timeout = 5 * kNanosPerSecond;    // per request, handshake included
  uint32_t request_size = 64;             // raw: bytes per request
  uint32_t response_size = 64;            // raw: bytes per response
  std::string http_request;               // http: the request, sent verbatim
  bool verify_body = false;               // hash every body; differing ones are errors
  // Source tuples, tried in turn: address first..first+count-1 (unspecified: backend default),
  // port port_min..port_max (0: the stack chooses).
  wire::IpAddr source_addr{};
  uint32_t source_addr_count = 1;
  uint16_t port_min = 0;
  uint16_t port_max = 0;
  SourceTuples sources() const { return {source_addr, source_addr_count, port_min, port_max}; }
};

// What one second of the measurement counted: second k covers [k s, k+1 s) after the
// measurement's start. Requests still in flight when the measured window ends complete after it
// and count in the last, partial second (Stats::elapsed says where it ends).
struct SecondCounts {
  uint64_t connections = 0;  // handshakes completed
  uint64_t requests = 0;     // responses completed without error
  uint64_t errors = 0;       // failures of every kind

  bool operator==(const SecondCounts&) const = default;
};

// What a run measured. Mergeable across engines (one per lcore).
struct Stats {
  uint64_t connections = 0;  // handshakes completed
  uint64_t requests = 0;     // responses completed without error
  uint64_t tx_bytes = 0;     // payload bytes handed to the stack
  uint64_t rx_bytes = 0;     // payload bytes received
  uint64_t late = 0;         // open loop: sent after their scheduled time for want of a connection
  uint64_t not_sent = 0;     // open loop: fell due but the run ended before a connection was free
  std::array<uint64_t, kErrorKinds> errors{};
  Histogram latency;         // ns, from the scheduled (open loop) or send (closed loop) time
  Nanos elapsed = 0;         // measured time
  std::string body_sha256;   // verify_body: the digest every body had to match
  // The counts above second by second (their sums equal connections, requests and the errors
  // the engine counted). Engines merge second k with second k, each counted from its own start.
  std::vector<SecondCounts> per_second;

  uint64_t errors_total() const;
  void merge(const Stats& other);
  void reset_counts();  // keeps nothing: the start of the measurement after warm-up
};

// Running totals for the once-a-second progress line, written by the engine's thread and read
// by the printer's (relaxed atomics: one writer, values only need to be recent).
struct LiveCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> active{0};
  std::atomic<bool> started{false};  // the load began (the stack is up, --delay has passed)
  std::atomic<bool> measuring{false};
  std::atomic<bool> finished{false};
};

// What the engine asks of a backend. Slots are 0..connections-1; each holds at most one
// connection at a time.
class Transport {
 public:
  enum class OpenStatus : uint8_t { ok, tuple_busy, failed };
  virtual ~Transport() = default;
  // Starts connecting slot `slot` from `source`. ok: on_connected() or on_error() follows.
  // tuple_busy: that source is in use, try another. failed: `error` says why (no event follows).
  virtual OpenStatus open(uint32_t slot, Source source, ErrorKind& error) = 0;
  // Queues bytes; returns how many were taken. When fewer than offered, on_writable() follows.
  virtual size_t send(uint32_t slot, std::span<const std::byte> data) = 0;
  // Graceful close (FIN after queued bytes); no event for the slot follows.
  virtual void close(uint32_t slot) = 0;
  // Reset (RST); no event for the slot follows.
  virtual void abort(uint32_t slot) = 0;
};

// Opens through `open(Source) -> Transport::OpenStatus` with the tuples from `cursor` on until
// one is not busy: at most 64 tries, so a range mostly in TIME-WAIT costs a little per
// connection, not a stall. Returns tuple_busy when every try was busy.
template <class OpenFn>
Transport::OpenStatus open_from(const SourceTuples& tuples, uint64_t& cursor, OpenFn&& open) {
  const uint64_t n = tuples.size();
  const uint64_t attempts = std::min<uint64_t>(n, 64);
  for (uint64_t a = 0; a < attempts; a++) {
    const Transport::OpenStatus status = open(tuples.at(cursor++ % n));
    if (status != Transport::OpenStatus::tuple_busy) return status;
  }
  return Transport::OpenStatus::tuple_busy;
}

class Engine {
 public:
  // Seconds of the per-second series reserved at start() at most (--duration may be a year).
  static constexpr size_t kReservedSeconds = 4096;

  // `spec` must outlive the engine. `live` may be null.
  Engine(const LoadSpec& spec, Transport& transport, LiveCounters* live);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void start(Nanos now);
  // Issues due requests, opens connections, expires timeouts, moves between phases. Call every
  // loop iteration (dtcp) or after every batch of events (kernel).
  void poll(Nanos now);
  bool finished() const { return phase_ == Phase::done; }
  // The run is cut short (a signal): the numbers so far stand, over the time measured so far.
  // Connections are left to the backend.
  void interrupt(Nanos now);
  // Earliest time poll() has something to do, for a backend that sleeps (kernel epoll).
  Nanos next_wakeup(Nanos now) const;
  // Valid once finished() (or at any time for a look at the numbers so far).
  const Stats& stats() const { return stats_; }
  uint32_t active() const { return active_; }

  // ---- events from the transport ----
  void on_connected(uint32_t slot, Nanos now);
  // Received bytes; the engine reads them all before returning (they may be freed afterwards).
  void on_data(uint32_t slot, std::span<const std::byte> data, Nanos now);
  void on_writable(uint32_t slot, Nanos now);
  // The peer's FIN; the connection still accepts close().
  void on_peer_closed(uint32_t slot, Nanos now);
  // The connection is gone (no close() or abort() needed).
  void on_error(uint32_t slot, ErrorKind kind, Nanos now);

 private:
  enum class Phase : uint8_t { warmup, measure, drain, done };
  enum class SlotState : uint8_t { closed, connecting, idle, busy };
  struct Slot;

  void dispatch(Nanos now);
  // Gives `s` the next request; false when its connection could not be opened (counted).
  bool assign(Slot& s, Nanos now);
  bool open(Slot& s, Nanos now);
  void pump(Slot& s);
  void complete(Slot& s, Nanos now);
  void fail(Slot& s, ErrorKind kind, bool connection_gone, Nanos now);
  void release(Slot& s, bool graceful);
  void count_error(ErrorKind kind, Nanos now);
  // The per-second counts `now` falls in; null during the warm-up (whose counts are reset).
  SecondCounts* second_of(Nanos now);
  void end_measurement(Nanos now);
  // Sets the measured time; the per-second series covers all of it.
  void end_seconds(Nanos elapsed);
  void expire(Nanos now);
  void publish();
  static void hash_body(void* ctx, std::span<const std::byte> bytes);

  const LoadSpec& spec_;
  Transport& transport_;
  LiveCounters* live_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<uint32_t> idle_;    // connected slots without a request (rr)
  std::vector<uint32_t> closed_;  // slots without a connection
  std::vector<std::byte> payload_;  // raw request bytes / bulk send pattern
  std::span<const std::byte> request_;
  Pacer pacer_;
  Stats stats_;
  Phase phase_ = Phase::warmup;
  Nanos started_ = 0;
  Nanos measure_start_ = 0;
  Nanos next_expiry_scan_ = 0;
  uint32_t active_ = 0;  // slots holding a connection
  uint32_t in_flight_ = 0;  // slots holding a request
  uint64_t source_cursor_ = 0;
  // Totals from the warm-up, so the progress line keeps counting across the reset.
  uint64_t carried_connections_ = 0;
  uint64_t carried_requests_ = 0;
  uint64_t carried_bytes_ = 0;
  uint64_t carried_errors_ = 0;
};

}  // namespace dtcp::loadgen
