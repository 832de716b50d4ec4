// Port b's callback-API peer: servers and client jobs (see peer.hpp). Everything here runs on
// port b's lcores, except ClientJob's constructor, start() and destructor (the test thread).
#include "peer.hpp"

#include <array>
#include <cstring>
#include <mutex>
#include <span>

namespace socktest {

using dtcp::CloseReason;
using dtcp::Connection;
using dtcp::ConnectionHandler;
using dtcp::Stack;

PeerCounters& peer_counters() {
  static PeerCounters counters;
  return counters;
}

void PeerCounters::note_echo_end(uint16_t client_port, int what) {
  std::lock_guard lock(mutex_);
  echo_end_[client_port] |= what;
}

void PeerCounters::forget_echo_end(uint16_t client_port) {
  std::lock_guard lock(mutex_);
  echo_end_.erase(client_port);
}

int PeerCounters::echo_end(uint16_t client_port) {
  std::lock_guard lock(mutex_);
  const auto it = echo_end_.find(client_port);
  return it == echo_end_.end() ? 0 : it->second;
}

uint8_t pattern_byte(uint64_t seed, uint64_t i) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + (i / 8) + 1;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<uint8_t>(x >> (8 * (i % 8)));
}

namespace {

constexpr uint16_t kMaxQueues = 16;
std::array<std::atomic<Stack*>, kMaxQueues> g_stacks{};
std::atomic<uint16_t> g_started{0};

class PeerApp;

// Owned by the PeerApp of its queue; forget() deletes it (the last thing a callback does).
struct Owned : ConnectionHandler {
  PeerApp* app = nullptr;
};

class PeerApp final : public dtcp::App, public dtcp::ListenHandler {
 public:
  void on_start(Stack& stack) override;
  void on_stop(Stack&) override {}
  ConnectionHandler* on_accept(Connection& c) override;
  void forget(Owned* h) { owned_.erase(h); }

 private:
  template <typename T>
  T* keep() {
    auto h = std::make_unique<T>();
    T* raw = h.get();
    raw->app = this;
    owned_.emplace(raw, std::move(h));
    return raw;
  }
  std::unordered_map<Owned*, std::unique_ptr<Owned>> owned_;
};

// The README's echo server, counting FINs and resets.
struct Echo final : Owned {
  bool peer_done = false;
  void on_readable(Connection& c) override {
    // Until nothing is left or the send buffer is full (then on_writable() calls again).
    forward_readable(c, [&c](std::span<const std::byte> bytes) { return c.send(bytes); });
    if (peer_done && c.readable() == 0) {
      c.close();
      app->forget(this);
    }
  }
  void on_writable(Connection& c) override { on_readable(c); }
  void on_peer_closed(Connection& c) override {
    peer_counters().echo_peer_fin++;
    peer_counters().note_echo_end(c.remote().port, PeerCounters::kFin);
    peer_done = true;
    on_readable(c);
  }
  void on_closed(Connection& c, CloseReason reason) override {
    if (reason == CloseReason::reset_by_peer) {
      peer_counters().echo_reset++;
      peer_counters().note_echo_end(c.remote().port, PeerCounters::kReset);
    }
    app->forget(this);
  }
};

// Never reads: the client's sends fill our window, then its send buffer.
struct Hold final : Owned {
  void on_peer_closed(Connection& c) override {
    c.abort();
    app->forget(this);
  }
  void on_closed(Connection&, CloseReason) override { app->forget(this); }
};

struct Reset final : Owned {
  void on_readable(Connection& c) override {
    peer_counters().reset_sent++;
    c.abort();
    app->forget(this);
  }
  void on_closed(Connection&, CloseReason) override { app->forget(this); }
};

// Which server a binding stands for: one ListenHandler per port.
struct Binding final : dtcp::ListenHandler {
  PeerApp* app = nullptr;
  uint16_t port = 0;
  ConnectionHandler* on_accept(Connection& c) override;
};

}  // namespace

// ---- client jobs ----------------------------------------------------------------------------

struct ClientJob::QueueRun {
  struct Conn final : ConnectionHandler {
    QueueRun* run = nullptr;
    uint32_t index = 0;
    size_t got = 0;
    bool verified = false;
    bool was_connected = false;
    bool done = false;
    void on_connected(Connection& c) override {
      was_connected = true;
      run->job->connected++;
      if (run->job->request_bytes_ == 0) {
        run->job->ok++;
        return;
      }
      std::vector<std::byte> request(run->job->request_bytes_);
      for (size_t i = 0; i < request.size(); i++) request[i] = std::byte{pattern_byte(run->job->seed_ + index, i)};
      if (c.send(request) != request.size()) finish(c, false, true);  // requests are small
    }
    void on_readable(Connection& c) override {
      std::array<std::byte, 4096> buf;
      for (;;) {
        const size_t n = c.read(buf);
        if (n == 0) break;
        for (size_t i = 0; i < n; i++) {
          if (got + i >= run->job->request_bytes_ || buf[i] != std::byte{pattern_byte(run->job->seed_ + index, got + i)}) {
            finish(c, false, true);
            return;
          }
        }
        got += n;
      }
      if (run->job->request_bytes_ > 0 && got == run->job->request_bytes_) {
        verified = true;
        finish(c, true, false);
      }
    }
    void on_peer_closed(Connection& c) override {
      if (run->job->request_bytes_ == 0) {
        finish(c, true, false);  // counted as ok when it connected
        return;
      }
      if (!verified) finish(c, false, false);
    }
    void on_closed(Connection&, CloseReason) override {
      if (done) return;
      done = true;
      if (run->job->request_bytes_ == 0 ? !was_connected : !verified) run->job->failed++;
      run->ended(index);
    }
    void finish(Connection& c, bool ok, bool abort) {
      if (done) return;
      done = true;
      if (run->job->request_bytes_ > 0) (ok ? run->job->ok : run->job->failed)++;
      if (abort) c.abort();
      else c.close();
      run->ended(index);
    }
  };

  ClientJob* job = nullptr;
  Stack* stack = nullptr;
  uint16_t queue = 0, queues = 1;
  uint32_t next = 0;  // next connection index of this queue
  uint32_t active = 0;
  std::vector<std::unique_ptr<Conn>> conns;  // by connection index / queues

  static void start(Stack& stack, void* ctx, uint64_t) {
    auto* run = static_cast<QueueRun*>(ctx);
    run->stack = &stack;
    run->launch();
  }
  void launch() {
    while (active < job->concurrency_ && next < job->count_) {
      const uint32_t index = next;
      next += queues;
      auto& conn = conns[index / queues];
      conn = std::make_unique<Conn>();
      conn->run = this;
      conn->index = index;
      active++;
      dtcp::ConnectOptions o;
      const dtcp::ConnectResult r = stack->connect(job->dst_.addr, job->dst_.port, *conn, o);
      if (!r.ok()) {
        active--;
        conn->done = true;
        job->failed++;
        job->ended++;
      }
    }
  }
  void ended(uint32_t) {
    active--;
    job->ended++;
    launch();
  }
};

ClientJob::ClientJob(dtcp::Endpoint dst, uint32_t count, uint32_t concurrency_per_queue, uint32_t request_bytes, uint64_t seed)
    : dst_(dst), count_(count), concurrency_(concurrency_per_queue), request_bytes_(request_bytes), seed_(seed) {
  const uint16_t queues = peer_queues_started();
  for (uint16_t q = 0; q < queues; q++) {
    auto run = std::make_unique<QueueRun>();
    run->job = this;
    run->queue = q;
    run->queues = queues;
    run->next = q;
    run->conns.resize(count / queues + 1);
    runs_.push_back(std::move(run));
  }
}

ClientJob::~ClientJob() = default;

bool ClientJob::start() {
  for (auto& run : runs_) {
    Stack* stack = peer_stack(run->queue);
    if (stack == nullptr || !stack->post(run->queue, &QueueRun::start, run.get(), 0)) return false;
  }
  return true;
}

// ---- servers --------------------------------------------------------------------------------

namespace {

ConnectionHandler* Binding::on_accept(Connection& c) { return app->on_accept(c); }

void PeerApp::on_start(Stack& stack) {
  static std::mutex bindings_mutex;
  static std::vector<std::unique_ptr<Binding>> bindings;  // live as long as the process
  for (uint16_t port : {kEchoPort, kHoldPort, kResetPort}) {
    auto b = std::make_unique<Binding>();
    b->app = this;
    b->port = port;
    stack.listen(port, *b, {});
    std::lock_guard lock(bindings_mutex);
    bindings.push_back(std::move(b));
  }
  g_stacks[stack.queue_id()].store(&stack);
  g_started++;
}

ConnectionHandler* PeerApp::on_accept(Connection& c) {
  switch (c.local().port) {
    case kEchoPort: peer_counters().echo_accepted++; return keep<Echo>();
    case kHoldPort: peer_counters().hold_accepted++; return keep<Hold>();
    case kResetPort: return keep<Reset>();
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<dtcp::App> make_peer_app(Stack&) { return std::make_unique<PeerApp>(); }
Stack* peer_stack(uint16_t queue) { return queue < kMaxQueues ? g_stacks[queue].load() : nullptr; }
uint16_t peer_queues_started() { return g_started.load(); }

}  // namespace socktest
