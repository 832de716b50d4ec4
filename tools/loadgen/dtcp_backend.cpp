#include "loadgen/dtcp_backend.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "dtcp/log.hpp"

namespace dtcp::loadgen {
namespace {

ErrorKind kind_of(CloseReason reason) {
  switch (reason) {
    case CloseReason::refused: return ErrorKind::refused;
    case CloseReason::timed_out:
    case CloseReason::unreachable: return ErrorKind::timeout;
    case CloseReason::no_memory: return ErrorKind::local;
    case CloseReason::reset_by_peer:
    case CloseReason::aborted:
    case CloseReason::normal:
      break;
  }
  return ErrorKind::reset;
}

// Linger after the last response so the final ACKs and FINs leave before the runtime stops.
constexpr Duration kLinger = std::chrono::milliseconds(200);

}  // namespace

// ---- client ----

// One per engine slot, for the slot's whole life; `conn` is the connection it holds, if any.
struct DtcpClientApp::Handler final : ConnectionHandler {
  DtcpClientApp* app = nullptr;
  uint32_t slot = 0;
  Connection* conn = nullptr;
  // While the engine reads this connection's bytes, a close()/abort() it asks for waits until
  // the views it was given are released.
  bool delivering = false;
  Connection* deferred = nullptr;
  bool deferred_abort = false;

  Nanos now() const { return app->stack_->now_ns(); }

  void on_connected(Connection&) override { app->engine_.on_connected(slot, now()); }
  void on_readable(Connection& c) override { deliver(c); }
  void on_writable(Connection&) override { app->engine_.on_writable(slot, now()); }
  void on_peer_closed(Connection& c) override {
    deliver(c);
    if (conn == &c) app->engine_.on_peer_closed(slot, now());
  }
  void on_closed(Connection& c, CloseReason reason) override {
    if (conn != &c) return;
    conn = nullptr;
    app->engine_.on_error(slot, kind_of(reason), now());
  }

  void deliver(Connection& c) {
    std::array<std::span<const std::byte>, 16> iov;
    delivering = true;
    const Nanos t = now();
    while (conn == &c && c.readable() > 0) {
      const size_t n = c.peek(iov);
      size_t total = 0;
      for (size_t i = 0; i < n && conn == &c; i++) {
        app->engine_.on_data(slot, iov[i], t);
        total += iov[i].size();
      }
      c.consume(total);
    }
    delivering = false;
    if (Connection* d = std::exchange(deferred, nullptr)) {
      if (deferred_abort) {
        d->abort();
      } else {
        d->consume(d->readable());  // unread bytes would turn the close into a reset
        d->close();
      }
    }
  }

  void release(bool abort) {
    Connection* c = std::exchange(conn, nullptr);
    if (c == nullptr) return;
    if (delivering) {
      deferred = c;
      deferred_abort = abort;
    } else if (abort) {
      c->abort();
    } else {
      c->consume(c->readable());
      c->close();
    }
  }
};

DtcpClientApp::DtcpClientApp(const LoadSpec& spec, wire::IpAddr target, uint16_t port, Duration delay,
                             LiveCounters& live, ClientResult& result, std::atomic<int>& clients_running)
    : spec_(spec),
      target_(target),
      port_(port),
      delay_(delay),
      result_(result),
      clients_running_(clients_running),
      handlers_(new Handler[spec.connections]),
      engine_(spec, *this, &live) {
  for (uint32_t i = 0; i < spec.connections; i++) {
    handlers_[i].app = this;
    handlers_[i].slot = i;
  }
}

DtcpClientApp::~DtcpClientApp() = default;

void DtcpClientApp::on_start(Stack& stack) {
  stack_ = &stack;
  start_at_ = stack.now() + delay_;
}

void DtcpClientApp::on_poll(Stack& stack) {
  if (!started_) {
    if (stack.now() < start_at_) return;
    started_ = true;
    engine_.start(stack.now_ns());
  }
  if (!engine_.finished()) {
    engine_.poll(stack.now_ns());
    if (!engine_.finished()) return;
    done_at_ = stack.now();
    report(true);
  }
  if (!reported_ && stack.now() - done_at_ >= kLinger) {
    reported_ = true;
    if (clients_running_.fetch_sub(1) == 1) stack.request_stop();
  }
}

void DtcpClientApp::on_stop(Stack& stack) {
  // Stopped from outside (SIGINT, another lcore): report what there is.
  if (!engine_.finished()) {
    engine_.interrupt(stack.now_ns());
    report(false);
  }
}

void DtcpClientApp::report(bool finished) {
  result_.stats = engine_.stats();
  result_.finished = finished;
}

Transport::OpenStatus DtcpClientApp::open(uint32_t slot, Source source, ErrorKind& error) {
  ConnectOptions options;
  options.local_port = source.port;
  options.nodelay = spec_.mode != Mode::bulk;
  // invalid_address below when it is not one of the port's addresses ([port] address = A-B/P).
  options.local_address = source.addr;
  const ConnectResult r = stack_->connect(target_, port_, handlers_[slot], options);
  switch (r.error) {
    case ConnectError::ok:
      handlers_[slot].conn = r.connection;
      return OpenStatus::ok;
    case ConnectError::no_ephemeral_port:
    case ConnectError::address_in_use:
      return OpenStatus::tuple_busy;
    case ConnectError::invalid_address:
    case ConnectError::no_connection:
    case ConnectError::no_mbuf:
      break;
  }
  error = ErrorKind::local;
  return OpenStatus::failed;
}

size_t DtcpClientApp::send(uint32_t slot, std::span<const std::byte> data) {
  Connection* c = handlers_[slot].conn;
  return c ? c->send(data) : 0;
}

void DtcpClientApp::close(uint32_t slot) { handlers_[slot].release(false); }
void DtcpClientApp::abort(uint32_t slot) { handlers_[slot].release(true); }

// ---- idle client ----

struct DtcpIdleClientApp::Handler final : ConnectionHandler {
  DtcpIdleClientApp* app = nullptr;

  static uint32_t slot(const Connection& c) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(c.user_data)); }
  Nanos now() const { return app->stack_->now_ns(); }

  void on_connected(Connection& c) override { app->engine_.on_connected(slot(c), now()); }
  void on_readable(Connection& c) override {
    const size_t n = c.readable();
    if (n == 0) return;
    c.consume(n);
    app->engine_.on_data(slot(c), n, now());
  }
  void on_peer_closed(Connection& c) override {
    c.consume(c.readable());
    app->engine_.on_peer_closed(slot(c), now());
  }
  void on_closed(Connection& c, CloseReason reason) override {
    const uint32_t s = slot(c);
    app->conns_[s] = nullptr;
    // Both FINs exchanged: the end of our close.
    if (reason == CloseReason::normal) app->engine_.on_peer_closed(s, now());
    else app->engine_.on_error(s, kind_of(reason), now());
  }
};

DtcpIdleClientApp::DtcpIdleClientApp(const IdleSpec& spec, wire::IpAddr target, uint16_t port, Duration delay,
                                     LiveCounters& live, IdleResult& result, std::atomic<int>& clients_running,
                                     const HoldCounters* server)
    : target_(target),
      port_(port),
      delay_(delay),
      result_(result),
      clients_running_(clients_running),
      server_(server),
      handler_(std::make_unique<Handler>()),
      conns_(new Connection*[spec.connections]()),
      engine_(spec, *this, &live, [this](IdleEngine::Phase p) { on_phase(p); }) {
  handler_->app = this;
}

DtcpIdleClientApp::~DtcpIdleClientApp() = default;

void DtcpIdleClientApp::on_start(Stack& stack) {
  stack_ = &stack;
  start_at_ = stack.now() + delay_;
  // Every Stack of the runtime was built before any App starts: pools and preallocated TCBs.
  result_.rss_runtime_up = resident_bytes();
}

void DtcpIdleClientApp::on_phase(IdleEngine::Phase phase) {
  const std::optional<uint64_t> held =
      server_ ? std::optional<uint64_t>(std::max<int64_t>(server_->held.load(std::memory_order_relaxed), 0))
              : std::nullopt;
  if (phase == IdleEngine::Phase::holding) {
    result_.rss_hold_start = resident_bytes();
    result_.server_hold_start = held;
  } else if (phase == IdleEngine::Phase::closing) {
    result_.rss_hold_end = resident_bytes();
    result_.server_hold_end = held;
  }
}

void DtcpIdleClientApp::on_poll(Stack& stack) {
  if (!started_) {
    if (stack.now() < start_at_) return;
    started_ = true;
    engine_.start(stack.now_ns());
  }
  if (!engine_.finished()) {
    engine_.poll(stack.now_ns());
    if (!engine_.finished()) return;
    done_at_ = stack.now();
    result_.stats = engine_.stats();
    result_.finished = true;
  }
  if (!reported_ && stack.now() - done_at_ >= kLinger) {
    reported_ = true;
    if (clients_running_.fetch_sub(1) == 1) stack.request_stop();
  }
}

void DtcpIdleClientApp::on_stop(Stack& stack) {
  if (!engine_.finished()) {
    engine_.interrupt(stack.now_ns());
    result_.stats = engine_.stats();
    result_.finished = false;
  }
}

Transport::OpenStatus DtcpIdleClientApp::open(uint32_t slot, Source source, ErrorKind& error) {
  ConnectOptions options;
  options.local_port = source.port;
  options.local_address = source.addr;
  options.user_data = reinterpret_cast<void*>(static_cast<uintptr_t>(slot));
  const ConnectResult r = stack_->connect(target_, port_, *handler_, options);
  switch (r.error) {
    case ConnectError::ok:
      conns_[slot] = r.connection;
      return Transport::OpenStatus::ok;
    case ConnectError::no_ephemeral_port:
    case ConnectError::address_in_use:
      return Transport::OpenStatus::tuple_busy;
    case ConnectError::invalid_address:
    case ConnectError::no_connection:
    case ConnectError::no_mbuf:
      break;
  }
  error = ErrorKind::local;
  return Transport::OpenStatus::failed;
}

void DtcpIdleClientApp::shutdown(uint32_t slot) {
  if (Connection* c = conns_[slot]) c->shutdown_write();
}

void DtcpIdleClientApp::close(uint32_t slot) {
  if (Connection* c = std::exchange(conns_[slot], nullptr)) {
    c->consume(c->readable());  // unread bytes would turn the close into a reset
    c->close();
  }
}

void DtcpIdleClientApp::abort(uint32_t slot) {
  if (Connection* c = std::exchange(conns_[slot], nullptr)) c->abort();
}

// ---- hold server ----

struct DtcpHoldServerApp::Handler final : ListenHandler, ConnectionHandler {
  explicit Handler(HoldCounters& counters) : counters(counters) {}
  HoldCounters& counters;

  ConnectionHandler* on_accept(Connection&) override {
    const int64_t held = counters.held.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t peak = counters.peak.load(std::memory_order_relaxed);
    while (held > peak && !counters.peak.compare_exchange_weak(peak, held, std::memory_order_relaxed)) {
    }
    return this;
  }
  void on_readable(Connection& c) override { c.consume(c.readable()); }
  void on_peer_closed(Connection& c) override {
    counters.held.fetch_sub(1, std::memory_order_relaxed);
    c.consume(c.readable());
    c.close();
  }
  void on_closed(Connection&, CloseReason) override { counters.held.fetch_sub(1, std::memory_order_relaxed); }
};

DtcpHoldServerApp::DtcpHoldServerApp(std::vector<uint16_t> ports, HoldCounters& counters)
    : ports_(std::move(ports)), handler_(std::make_unique<Handler>(counters)) {}

DtcpHoldServerApp::~DtcpHoldServerApp() = default;

void DtcpHoldServerApp::on_start(Stack& stack) {
  for (uint16_t port : ports_) {
    const ListenResult r = stack.listen(port, *handler_, {});
    if (!r.ok()) {
      write_log(LogType::loadgen, LogLevel::error, "dtcp-loadgen: listen on port %u: %s\n", port, to_string(r.error));
      stack.request_stop();
    }
  }
}

}  // namespace dtcp::loadgen
