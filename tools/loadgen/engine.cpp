#include "loadgen/engine.hpp"

#include <algorithm>
#include <cassert>

namespace dtcp::loadgen {

const char* to_string(Mode m) {
  switch (m) {
    case Mode::conn: return "conn";
    case Mode::rr: return "rr";
    case Mode::bulk: return "bulk";
  }
  return "?";
}

const char* to_string(Protocol p) { return p == Protocol::http ? "http" : "raw"; }

const char* to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::refused: return "refused";
    case ErrorKind::reset: return "reset";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::short_read: return "short_read";
    case ErrorKind::local: return "local";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::http_status: return "http_status";
    case ErrorKind::body: return "body";
    case ErrorKind::count_: break;
  }
  return "?";
}

uint64_t Stats::errors_total() const {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

void Stats::merge(const Stats& o) {
  connections += o.connections;
  requests += o.requests;
  tx_bytes += o.tx_bytes;
  rx_bytes += o.rx_bytes;
  late += o.late;
  not_sent += o.not_sent;
  for (size_t i = 0; i < kErrorKinds; i++) errors[i] += o.errors[i];
  latency.merge(o.latency);
  if (per_second.size() < o.per_second.size()) per_second.resize(o.per_second.size());
  for (size_t k = 0; k < o.per_second.size(); k++) {
    per_second[k].connections += o.per_second[k].connections;
    per_second[k].requests += o.per_second[k].requests;
    per_second[k].errors += o.per_second[k].errors;
  }
  elapsed = std::max(elapsed, o.elapsed);
  if (body_sha256.empty()) {
    body_sha256 = o.body_sha256;
  } else if (!o.body_sha256.empty() && o.body_sha256 != body_sha256) {
    errors[static_cast<size_t>(ErrorKind::body)]++;  // two lcores saw different bodies
  }
}

void Stats::reset_counts() {
  connections = requests = tx_bytes = rx_bytes = late = not_sent = 0;
  errors.fill(0);
  latency.reset();
  per_second.clear();  // keeps the capacity reserved at the start
  elapsed = 0;
}

struct Engine::Slot {
  uint32_t index = 0;
  SlotState state = SlotState::closed;
  bool has_request = false;
  bool in_idle_list = false;
  Nanos scheduled = 0;  // latency origin of the current request
  Nanos deadline = 0;   // timeout of the current request or handshake
  uint64_t sent = 0;    // bytes of the current request handed to the stack
  uint64_t received = 0;
  HttpResponseParser parser;
  tools::Sha256 body_hash;
};

Engine::Engine(const LoadSpec& spec, Transport& transport, LiveCounters* live)
    : spec_(spec), transport_(transport), live_(live), slots_(new Slot[spec.connections]) {
  idle_.reserve(spec.connections);
  closed_.reserve(spec.connections);
  for (uint32_t i = spec.connections; i-- > 0;) {
    slots_[i].index = i;
    if (spec.verify_body) slots_[i].parser.set_body_sink(&Engine::hash_body, &slots_[i]);
    closed_.push_back(i);
  }
  // A printable pattern, so a raw echo can be read in a capture.
  const size_t payload = spec.mode == Mode::bulk ? 64 * 1024 : spec.request_size;
  payload_.resize(payload);
  for (size_t i = 0; i < payload; i++) payload_[i] = std::byte{static_cast<uint8_t>('a' + i % 26)};
  if (spec.mode != Mode::bulk && spec.protocol == Protocol::http) {
    request_ = std::as_bytes(std::span(spec.http_request.data(), spec.http_request.size()));
  } else {
    request_ = payload_;
  }
}

Engine::~Engine() = default;

void Engine::hash_body(void* ctx, std::span<const std::byte> bytes) { static_cast<Slot*>(ctx)->body_hash.update(bytes); }

void Engine::start(Nanos now) {
  started_ = now;
  // Every second the run can last, so the request path does not allocate: the measured window,
  // then at most one timeout of draining (or, for a run of N requests, a guess that grows). At
  // most kReservedSeconds (96 KiB; a year-long --duration would ask 750 MB): a longer run grows
  // the series, one allocation in hours.
  const Nanos longest = spec_.duration > 0 ? spec_.duration + spec_.timeout : 64 * kNanosPerSecond;
  stats_.per_second.reserve(std::min<size_t>(static_cast<size_t>(longest / kNanosPerSecond) + 2, kReservedSeconds));
  if (live_) live_->started.store(true, std::memory_order_relaxed);
  const uint64_t limit = spec_.requests ? spec_.requests : Pacer::kUnlimited;
  pacer_ = spec_.rate ? Pacer(spec_.rate, now, limit) : Pacer(limit);
  if (spec_.warmup > 0) {
    phase_ = Phase::warmup;
  } else {
    phase_ = Phase::measure;
    measure_start_ = now;
    if (live_) live_->measuring.store(true, std::memory_order_relaxed);
  }
  next_expiry_scan_ = now;
  dispatch(now);
  publish();
}

Nanos Engine::next_wakeup(Nanos now) const {
  if (phase_ == Phase::done) return now;
  Nanos t = next_expiry_scan_;
  if (phase_ == Phase::warmup) t = std::min(t, started_ + spec_.warmup);
  if (phase_ == Phase::measure && spec_.duration > 0) t = std::min(t, measure_start_ + spec_.duration);
  if (phase_ == Phase::warmup || phase_ == Phase::measure) {
    const bool slot_free = !closed_.empty() || !idle_.empty();
    if (spec_.mode == Mode::bulk) {
      if (!closed_.empty()) return now;
    } else if (pacer_.ready(now) > 0) {
      if (slot_free) return now;
    } else {
      t = std::min(t, pacer_.next_due());
    }
  }
  return std::max(t, now);
}

void Engine::poll(Nanos now) {
  if (phase_ == Phase::done) return;
  if (phase_ == Phase::warmup && now >= started_ + spec_.warmup) {
    // Numbers from now on; requests in flight count when they complete.
    carried_connections_ += stats_.connections;
    carried_requests_ += stats_.requests;
    carried_bytes_ += stats_.tx_bytes + stats_.rx_bytes;
    carried_errors_ += stats_.errors_total();
    stats_.reset_counts();
    stats_.body_sha256.clear();
    measure_start_ = now;
    phase_ = Phase::measure;
    if (live_) live_->measuring.store(true, std::memory_order_relaxed);
  }
  if (now >= next_expiry_scan_) {
    expire(now);
    next_expiry_scan_ = now + kNanosPerSecond / 100;
  }
  if (phase_ == Phase::measure) {
    const bool time_up = spec_.duration > 0 && now >= measure_start_ + spec_.duration;
    const bool all_done = spec_.requests > 0 && pacer_.exhausted() && in_flight_ == 0;
    if (time_up || all_done) end_measurement(now);
  }
  if (phase_ == Phase::warmup || phase_ == Phase::measure) dispatch(now);
  if (phase_ == Phase::drain && in_flight_ == 0) {
    for (uint32_t i = 0; i < spec_.connections; i++) {
      if (slots_[i].state != SlotState::closed) release(slots_[i], true);
    }
    end_seconds(now - measure_start_);
    phase_ = Phase::done;
  }
  publish();
  if (phase_ == Phase::done && live_) live_->finished.store(true, std::memory_order_release);
}

void Engine::interrupt(Nanos now) {
  if (phase_ == Phase::done) return;
  end_seconds(phase_ == Phase::warmup ? 0 : now - measure_start_);
  phase_ = Phase::done;
  publish();
  if (live_) live_->finished.store(true, std::memory_order_release);
}

void Engine::end_measurement(Nanos now) {
  if (spec_.mode == Mode::bulk) {
    // Streams have no natural end: the measurement is the window.
    for (uint32_t i = 0; i < spec_.connections; i++) {
      if (slots_[i].state != SlotState::closed) release(slots_[i], false);
    }
    end_seconds(now - measure_start_);
    phase_ = Phase::done;
    return;
  }
  // Requests in flight still complete (or time out) and count: leaving them out would drop
  // exactly the slowest ones. The elapsed time runs until the last one is done.
  stats_.not_sent += pacer_.stop(now);
  phase_ = Phase::drain;
}

void Engine::dispatch(Nanos now) {
  if (spec_.mode == Mode::bulk) {
    while (!closed_.empty()) {
      Slot& s = slots_[closed_.back()];
      closed_.pop_back();
      if (!open(s, now)) break;  // counted; try again next poll
    }
    return;
  }
  while (pacer_.ready(now) > 0) {
    Slot* s = nullptr;
    if (spec_.mode == Mode::rr) {
      while (!idle_.empty() && s == nullptr) {
        Slot& candidate = slots_[idle_.back()];
        idle_.pop_back();
        candidate.in_idle_list = false;
        if (candidate.state == SlotState::idle) s = &candidate;  // else a stale entry
      }
    }
    if (s == nullptr && !closed_.empty()) {
      s = &slots_[closed_.back()];
      closed_.pop_back();
    }
    if (s == nullptr) {
      pacer_.mark_backlog(now);
      return;
    }
    if (!assign(*s, now)) return;  // the connection could not be opened; counted
  }
}

bool Engine::assign(Slot& s, Nanos now) {
  const Pacer::Issued issued = pacer_.issue(now);
  stats_.late += issued.late;
  s.has_request = true;
  s.scheduled = issued.scheduled;
  s.deadline = now + spec_.timeout;
  s.sent = 0;
  s.received = 0;
  s.parser.reset();
  if (spec_.verify_body) s.body_hash = tools::Sha256();
  in_flight_++;
  if (s.state == SlotState::idle) {
    s.state = SlotState::busy;
    pump(s);
    return true;
  }
  return open(s, now);
}

bool Engine::open(Slot& s, Nanos now) {
  ErrorKind error = ErrorKind::local;
  switch (open_from(spec_.sources(), source_cursor_,
                    [&](Source source) { return transport_.open(s.index, source, error); })) {
    case Transport::OpenStatus::ok:
      s.state = SlotState::connecting;
      if (!s.has_request) s.deadline = now + spec_.timeout;
      active_++;
      return true;
    case Transport::OpenStatus::tuple_busy:
      error = ErrorKind::local;  // no free source tuple
      break;
    case Transport::OpenStatus::failed:
      break;
  }
  fail(s, error, true, now);
  return false;
}

void Engine::pump(Slot& s) {
  if (spec_.mode == Mode::bulk) {
    if (spec_.direction != Direction::send) return;
    for (;;) {
      const size_t took = transport_.send(s.index, payload_);
      stats_.tx_bytes += took;
      if (took < payload_.size()) return;
    }
  }
  while (s.sent < request_.size()) {
    const size_t took = transport_.send(s.index, request_.subspan(s.sent));
    s.sent += took;
    stats_.tx_bytes += took;
    if (took == 0) return;
  }
}

void Engine::on_connected(uint32_t slot, Nanos now) {
  Slot& s = slots_[slot];
  if (s.state != SlotState::connecting) return;
  stats_.connections++;
  if (SecondCounts* second = second_of(now)) second->connections++;
  s.state = SlotState::busy;
  pump(s);
}

void Engine::on_writable(uint32_t slot, Nanos) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::busy) pump(s);
}

void Engine::on_data(uint32_t slot, std::span<const std::byte> data, Nanos now) {
  Slot& s = slots_[slot];
  stats_.rx_bytes += data.size();
  if (spec_.mode == Mode::bulk || s.state == SlotState::closed) return;
  if (!s.has_request) return fail(s, ErrorKind::protocol, false, now);  // bytes nobody asked for
  if (spec_.protocol == Protocol::raw) {
    s.received += data.size();
    if (s.received > spec_.response_size) return fail(s, ErrorKind::protocol, false, now);
    if (s.received == spec_.response_size) complete(s, now);
    return;
  }
  const auto result = s.parser.feed(data);
  if (result.status == HttpResponseParser::Status::error) return fail(s, ErrorKind::protocol, false, now);
  if (result.status == HttpResponseParser::Status::complete) {
    // One request at a time: bytes after the response are not an answer to anything.
    if (result.consumed != data.size()) return fail(s, ErrorKind::protocol, false, now);
    complete(s, now);
  }
}

void Engine::complete(Slot& s, Nanos now) {
  bool ok = true;
  bool keep = spec_.mode == Mode::rr;
  if (spec_.protocol == Protocol::http) {
    keep = keep && s.parser.keep_alive();
    if (s.parser.status_code() < 200 || s.parser.status_code() > 299) {
      count_error(ErrorKind::http_status, now);
      ok = false;
    }
    if (ok && spec_.verify_body) {
      const std::string digest = s.body_hash.hex_digest();
      if (stats_.body_sha256.empty()) {
        stats_.body_sha256 = digest;
      } else if (digest != stats_.body_sha256) {
        count_error(ErrorKind::body, now);
        ok = false;
      }
    }
  }
  if (ok) {
    stats_.requests++;
    if (SecondCounts* second = second_of(now)) second->requests++;
    stats_.latency.record(static_cast<uint64_t>(std::max<Nanos>(now - s.scheduled, 0)));
  }
  s.has_request = false;
  in_flight_--;
  if (!keep) return release(s, true);
  s.state = SlotState::idle;
  // Closed loop, or an open-loop request already waiting: send on this connection right away.
  if ((phase_ == Phase::warmup || phase_ == Phase::measure) && pacer_.ready(now) > 0) {
    assign(s, now);
    return;
  }
  if (!s.in_idle_list) {
    s.in_idle_list = true;
    idle_.push_back(s.index);
  }
}

void Engine::on_peer_closed(uint32_t slot, Nanos now) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::closed) return;
  if (!s.has_request) return release(s, true);  // an idle connection (or a finished stream) ended
  if (spec_.protocol == Protocol::http && s.parser.finish() == HttpResponseParser::Status::complete) {
    complete(s, now);  // a body delimited by the close
    if (s.state != SlotState::closed) release(s, true);
    return;
  }
  const bool malformed = spec_.protocol == Protocol::http && s.parser.error() != HttpError::truncated;
  fail(s, malformed ? ErrorKind::protocol : ErrorKind::short_read, false, now);
}

void Engine::on_error(uint32_t slot, ErrorKind kind, Nanos now) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::closed) return;
  fail(s, kind, true, now);
}

void Engine::count_error(ErrorKind kind, Nanos now) {
  stats_.errors[static_cast<size_t>(kind)]++;
  if (SecondCounts* second = second_of(now)) second->errors++;
}

SecondCounts* Engine::second_of(Nanos now) {
  if (phase_ == Phase::warmup) return nullptr;
  const size_t k = static_cast<size_t>(std::max<Nanos>(now - measure_start_, 0) / kNanosPerSecond);
  // Beyond what start() reserved only in a run of N requests: one allocation in a second's worth.
  if (k >= stats_.per_second.size()) stats_.per_second.resize(k + 1);
  return &stats_.per_second[k];
}

void Engine::end_seconds(Nanos elapsed) {
  stats_.elapsed = elapsed;
  // Seconds at the end in which nothing completed are zeros in the series, not missing.
  const size_t seconds = static_cast<size_t>((elapsed + kNanosPerSecond - 1) / kNanosPerSecond);
  if (stats_.per_second.size() < seconds) stats_.per_second.resize(seconds);
}

void Engine::fail(Slot& s, ErrorKind kind, bool connection_gone, Nanos now) {
  count_error(kind, now);
  if (s.has_request) {
    s.has_request = false;
    in_flight_--;
  }
  if (connection_gone) {
    if (s.state != SlotState::closed) {
      active_--;
      s.state = SlotState::closed;
    }
    closed_.push_back(s.index);
  } else {
    release(s, false);
  }
}

void Engine::release(Slot& s, bool graceful) {
  if (s.state == SlotState::closed) return;
  if (graceful) transport_.close(s.index);
  else transport_.abort(s.index);
  s.state = SlotState::closed;
  active_--;
  closed_.push_back(s.index);
}

void Engine::expire(Nanos now) {
  for (uint32_t i = 0; i < spec_.connections; i++) {
    Slot& s = slots_[i];
    if ((s.has_request || s.state == SlotState::connecting) && now >= s.deadline) fail(s, ErrorKind::timeout, false, now);
  }
}

void Engine::publish() {
  if (live_ == nullptr) return;
  live_->connections.store(carried_connections_ + stats_.connections, std::memory_order_relaxed);
  live_->requests.store(carried_requests_ + stats_.requests, std::memory_order_relaxed);
  live_->bytes.store(carried_bytes_ + stats_.tx_bytes + stats_.rx_bytes, std::memory_order_relaxed);
  live_->errors.store(carried_errors_ + stats_.errors_total(), std::memory_order_relaxed);
  live_->active.store(active_, std::memory_order_relaxed);
}

}  // namespace dtcp::loadgen
