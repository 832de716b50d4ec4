// Idle connections: how many a stack holds and what each costs. The engine opens `connections`
// with at most `handshakes` SYNs in flight, holds them without sending a byte for `hold`, then
// closes them gracefully (FIN, the peer's FIN), again at most `handshakes` at a time. Like the
// Engine it is plain C++ driven by a backend through a small transport, with `now` passed in,
// and it preallocates everything at construction: one byte of state per connection and a ring
// of in-flight deadlines.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"

namespace dtcp::loadgen {

struct IdleSpec {
  uint32_t connections = 0;
  uint32_t handshakes = 256;             // SYNs (later: closes) in flight at once
  Nanos hold = 10 * kNanosPerSecond;     // from the last handshake to the first close
  Nanos timeout = 5 * kNanosPerSecond;   // per handshake and per close
  // Source tuples, tried in turn as in LoadSpec.
  wire::IpAddr source_addr{};
  uint32_t source_addr_count = 1;
  uint16_t port_min = 0;
  uint16_t port_max = 0;
};

struct IdleStats {
  uint64_t opened = 0;                  // handshakes completed
  uint64_t established_hold_start = 0;  // open when the hold began
  uint64_t established_hold_end = 0;    // still open when it ended
  uint64_t closed = 0;                  // closes completed: ours acknowledged, the peer's FIN received
  std::array<uint64_t, kErrorKinds> errors{};
  Nanos open_time = 0;   // start to the last handshake's end
  Nanos hold_time = 0;
  Nanos close_time = 0;  // first close to the last close's end

  uint64_t errors_total() const;
  void merge(const IdleStats& other);
};

// What the idle engine asks of a backend. Slots are 0..connections-1.
class IdleTransport {
 public:
  virtual ~IdleTransport() = default;
  // As Transport::open: ok means on_connected() or on_error() follows.
  virtual Transport::OpenStatus open(uint32_t slot, Source source, ErrorKind& error) = 0;
  // Sends FIN after nothing; on_peer_closed() (the peer's FIN) or on_error() follows.
  virtual void shutdown(uint32_t slot) = 0;
  // Done with the slot (after the peer's FIN); no event follows.
  virtual void close(uint32_t slot) = 0;
  // RST; no event follows.
  virtual void abort(uint32_t slot) = 0;
};

class IdleEngine {
 public:
  enum class Phase : uint8_t { opening, holding, closing, done };
  // `spec` must outlive the engine. `live` may be null. `on_phase` (may be empty) is called at
  // every phase change, from inside poll(), with the new phase: the backend samples memory there.
  IdleEngine(const IdleSpec& spec, IdleTransport& transport, LiveCounters* live,
             std::function<void(Phase)> on_phase = {});
  IdleEngine(const IdleEngine&) = delete;
  IdleEngine& operator=(const IdleEngine&) = delete;

  void start(Nanos now);
  // Opens, expires, moves between phases. Call every loop iteration.
  void poll(Nanos now);
  // Cut short: the numbers so far stand; connections are left to the backend.
  void interrupt(Nanos now);
  Phase phase() const { return phase_; }
  bool finished() const { return phase_ == Phase::done; }
  const IdleStats& stats() const { return stats_; }
  uint32_t established() const { return established_; }

  // ---- events from the transport ----
  void on_connected(uint32_t slot, Nanos now);
  // An idle peer sends nothing: bytes are a protocol error and the connection is reset.
  void on_data(uint32_t slot, size_t bytes, Nanos now);
  // The peer's FIN: the end of our close, or (before it) a connection lost (short_read).
  void on_peer_closed(uint32_t slot, Nanos now);
  void on_error(uint32_t slot, ErrorKind kind, Nanos now);

  // Bytes of bookkeeping per connection (the load generator's, not the stack's).
  static constexpr size_t kBytesPerSlot = 1;

 private:
  enum class SlotState : uint8_t { unopened, connecting, established, closing, done };
  struct InFlight {
    uint32_t slot;
    Nanos deadline;
  };

  void enter(Phase next, Nanos now);
  void open_more(Nanos now);
  void close_more(Nanos now);
  void expire(Nanos now);
  void push(uint32_t slot, Nanos deadline);
  // Ends `slot` (no transport call), counting `kind` unless it is null.
  void end(uint32_t slot, const ErrorKind* kind);
  void publish();

  const IdleSpec& spec_;
  IdleTransport& transport_;
  LiveCounters* live_;
  std::function<void(Phase)> on_phase_;
  std::unique_ptr<SlotState[]> slots_;
  // Handshakes (then closes) in flight, oldest first; entries whose slot has moved on are
  // skipped. Four times `handshakes`, so a few slow handshakes do not stall the others.
  std::vector<InFlight> ring_;
  size_t ring_head_ = 0;
  size_t ring_size_ = 0;
  IdleStats stats_;
  Phase phase_ = Phase::opening;
  Nanos phase_start_ = 0;
  uint32_t cursor_ = 0;     // next slot to open, then to close
  uint32_t in_flight_ = 0;  // slots connecting, then closing
  uint32_t established_ = 0;
  uint64_t source_cursor_ = 0;
};

// The process's resident set (VmRSS) in bytes, from /proc/self/statm; 0 if unreadable.
uint64_t resident_bytes();
// Its peak so far (VmHWM) in bytes, from /proc/self/status; 0 if unreadable.
uint64_t peak_resident_bytes();

// What a stack preallocates, from dtcp::tcp_footprint() (kept apart so this library needs no
// dtcp headers), and for how many connections.
struct StackMemory {
  uint64_t control_block = 0;
  uint64_t per_connection = 0;       // slot: control block, free-list entry, table bucket
  uint64_t connections = 0;          // max_connections slots
  uint64_t time_wait = 0;            // TIME-WAIT records and their table
  uint32_t max_connections = 0;
};

// Everything an idle run reports, gathered by the backend.
struct IdleReport {
  std::string backend;
  std::string target;
  IdleSpec spec;  // the whole run's (connections summed over lcores)
  IdleStats stats;
  bool finished = false;
  // Connections the in-process server held at the start and end of the hold (none: no
  // in-process server).
  std::optional<uint64_t> server_hold_start, server_hold_end;
  // Resident set at four points: before the runtime started, once it was up (pools and every
  // shard's preallocated TCBs included), when all handshakes were done, when the hold ended.
  uint64_t rss_before_runtime = 0, rss_runtime_up = 0, rss_hold_start = 0, rss_hold_end = 0;
  StackMemory stack;             // per side (each shard has the same [tcp] config)
  uint64_t client_app_per_connection = 0;
  std::optional<uint64_t> server_app_per_connection;
};

}  // namespace dtcp::loadgen
