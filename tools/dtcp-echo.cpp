// dtcp-echo: TCP echo, sink and source servers, and clients that verify every byte.
//
// Servers (any number, each on every Stack or on the named port's Stacks):
//   --serve [NAME:]PORT    echo back everything; close after the peer closes
//   --sink [NAME:]PORT     read and discard; print bytes and sha256 per connection at the peer's FIN
//   --source [NAME:]PORT   send --bytes of the --seed pattern, then close
// Clients (one per --connect, spread over every Stack of the first or the named port):
//   --connect [NAME:]ADDR:PORT --mode echo|send|recv|rr --connections N --concurrency C --bytes B
//   echo: send B pattern bytes, verify the echo byte for byte, half-close, wait for the peer's FIN
//   send: send B pattern bytes, half-close, wait for the peer's FIN; print sha256 of what was sent
//   recv: read until the peer's FIN; print bytes and sha256
//   rr:   --requests R rounds: send B bytes, wait for their echo (verified), then the next
// Exit status: 0 when every client connection succeeded (or no client ran), 1 otherwise.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "common/address_flags.hpp"
#include "common/cli.hpp"
#include "common/sha256.hpp"
#include "dtcp/runtime.hpp"

namespace {

using dtcp::Connection;
using dtcp::tools::fill_pattern;
using dtcp::tools::Sha256;

constexpr const char* kEmbeddedConfig = DTCP_RING_PAIR_PORTS "[runtime]\nidle = auto\n";

constexpr const char* kUsage = R"(Usage: dtcp-echo [--config FILE] [SERVERS...] [CLIENT] [--duration S] [-- EAL ARGS]
Servers (each on every Stack, or only on port NAME's):
  --serve [NAME:]PORT      echo server
  --sink [NAME:]PORT       discard server; prints bytes and sha256 when the peer closes
  --source [NAME:]PORT     sends --bytes of the --seed pattern, then closes
Clients (one per --connect, on every Stack of port NAME, default the first port; queue 0 asks each
queue by cross-lcore message to open its share: connection i on queue i mod queues):
  --connect [NAME:]ADDR:PORT  ADDR IPv4, or IPv6 in brackets: b:[2001:db8::2]:7
  --mode echo|send|recv|rr echo: send and verify the echo; send: send only; recv: receive only;
                           rr: --requests request/response rounds of --bytes each, verified
  --connections N          connections per client (default 1)
  --concurrency N          at most N open at once per client (default: all)
  --bytes N                bytes per connection, per request with rr (default 1048576; suffixes K, M, G)
  --requests N             rr rounds per connection (default 1)
  --delay MS               wait MS milliseconds before the first connection (time to set up a
                           net_tap peer)
  --seed N                 pattern seed (default 1; connection i uses seed+i)
Other:
  --duration S             give up after S seconds (client: counts as failure; default 120)
  --keepalive              keep-alive on every connection, with the [tcp] keepalive_* settings
  --config FILE            INI configuration (default: two stacks a=198.18.1.1, b=198.18.1.2 over net_ring)
Without --config the embedded two-stack net_ring configuration is used, e.g.
  dtcp-echo --serve a:7 --connect b:198.18.1.1:7 --connections 100 --bytes 1M
)";

struct Endpoint {
  std::string port_name;  // empty: every port
  dtcp::wire::IpAddr addr;
  uint16_t port = 0;
  std::string address_text() const { return dtcp::Endpoint{addr, port}.to_string(); }  // [v6]:port
};

enum class ServerMode { echo, sink, source };
enum class ClientMode { echo, send, recv, rr };

struct Options {
  std::vector<std::pair<ServerMode, Endpoint>> servers;
  std::vector<Endpoint> targets;  // one client per --connect
  ClientMode client_mode = ClientMode::echo;
  uint32_t connections = 1;
  uint32_t concurrency = 0;
  uint64_t bytes = 1 << 20;
  uint64_t requests = 1;
  uint64_t seed = 1;
  uint64_t duration_s = 120;
  uint64_t delay_ms = 0;
  bool keepalive = false;
};

uint64_t parse_size(const char* program, const std::string& flag, std::string text) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K': case 'k': scale = 1ull << 10; break;
      case 'M': case 'm': scale = 1ull << 20; break;
      case 'G': case 'g': scale = 1ull << 30; break;
      default: break;
    }
    if (scale != 1) text.pop_back();
  }
  return dtcp::tools::parse_number(program, flag, text, 0, (1ull << 40) / scale) * scale;
}

// [NAME:]PORT, or with an address [NAME:]ADDR:PORT where ADDR is IPv4 or a bracketed IPv6
// address ("client:[2001:db8::1]:7"); see tools/common/address_flags.hpp.
Endpoint parse_endpoint(const char* program, const std::string& flag, const std::string& text, bool with_addr) {
  std::string error;
  const auto parsed = dtcp::tools::parse_named_endpoint(text, with_addr, error);
  if (!parsed) dtcp::tools::usage_error(program, flag + ": " + error);
  return Endpoint{.port_name = parsed->port_name, .addr = parsed->addr, .port = parsed->port};
}

// ---- servers ----

class ServerConnection final : public dtcp::ConnectionHandler {
 public:
  ServerConnection(ServerMode mode, uint64_t bytes, uint64_t seed) : mode_(mode), bytes_(bytes), seed_(seed) {}

  void start(Connection& c) {
    if (mode_ == ServerMode::source) pump_source(c);
  }
  void on_readable(Connection& c) override {
    if (mode_ == ServerMode::echo) return pump_echo(c);
    // sink, and a source that is sent data: hash and discard. on_readable() is edge-triggered and
    // a filled hole can make hundreds of segments readable at once: read until nothing is left.
    std::array<std::span<const std::byte>, 16> iov;
    while (c.readable() > 0) {
      size_t total = 0;
      const size_t n = c.peek(iov);
      for (size_t i = 0; i < n; i++) {
        sha_.update(iov[i]);
        total += iov[i].size();
      }
      received_ += total;
      c.consume(total);
      if (total == 0) break;
    }
  }
  void on_writable(Connection& c) override {
    if (mode_ == ServerMode::echo) pump_echo(c);
    else if (mode_ == ServerMode::source) pump_source(c);
  }
  void on_peer_closed(Connection& c) override {
    peer_closed_ = true;
    if (mode_ == ServerMode::sink) {
      on_readable(c);
      const auto remote = c.remote();
      std::printf("sink: %s bytes=%llu sha256=%s\n", remote.to_string().c_str(),
                  static_cast<unsigned long long>(received_), sha_.hex_digest().c_str());
      std::fflush(stdout);
    }
    maybe_close(c);
  }
  void on_closed(Connection&, dtcp::CloseReason reason) override {
    if (reason != dtcp::CloseReason::normal) std::fprintf(stderr, "server connection ended: %s\n", to_string(reason));
    delete this;
  }

 private:
  // Each pump tries send() even when the buffer looks full: a short send() is what asks the
  // stack for on_writable() (see Connection::send).
  void pump_echo(Connection& c) {
    std::array<std::span<const std::byte>, 16> iov;
    while (c.readable() > 0) {
      const size_t n = c.peek(iov);
      size_t moved = 0;
      for (size_t i = 0; i < n; i++) {
        const size_t took = c.send(iov[i]);
        moved += took;
        if (took < iov[i].size()) break;
      }
      c.consume(moved);
      if (moved == 0) break;
    }
    maybe_close(c);
  }
  void pump_source(Connection& c) {
    std::array<std::byte, 16384> chunk;
    while (sent_ < bytes_) {
      // Fill only what send() can take (at least a byte: the short send() asks for
      // on_writable()); filling 16 KiB that a full buffer then refuses cost a third of the rate.
      const size_t len = std::min<uint64_t>({chunk.size(), bytes_ - sent_, std::max<size_t>(c.send_space(), 1)});
      fill_pattern(seed_, sent_, std::span(chunk).first(len));
      const size_t took = c.send(std::span(chunk).first(len));
      sent_ += took;
      if (took < len) break;
    }
    if (sent_ == bytes_) finish(c);
  }
  void maybe_close(Connection& c) {
    if (peer_closed_ && c.readable() == 0 && mode_ != ServerMode::source) finish(c);
  }
  void finish(Connection& c) {
    // close() ends our relationship with the connection: no on_closed() follows.
    c.close();
    delete this;
  }

  ServerMode mode_;
  uint64_t bytes_;
  uint64_t seed_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  bool peer_closed_ = false;
  Sha256 sha_;
};

class Listener final : public dtcp::ListenHandler {
 public:
  Listener(ServerMode mode, uint64_t bytes, uint64_t seed) : mode_(mode), bytes_(bytes), seed_(seed) {}
  dtcp::ConnectionHandler* on_accept(Connection& c) override {
    auto* handler = new ServerConnection(mode_, bytes_, seed_ + accepted_++);
    c.user_data = handler;
    handler->start(c);
    return handler;
  }

 private:
  ServerMode mode_;
  uint64_t bytes_;
  uint64_t seed_;
  uint64_t accepted_ = 0;
};

// ---- client ----
//
// One coordinator per --connect, on queue 0 of the client port, asks every queue of the port
// (itself included) to open its share of the connections with Stack::post(): connection i on
// queue i mod queues, --concurrency split evenly. Each queue's agent then opens, runs and counts
// its connections on its own lcore (source ports are chosen so the replies come back there) and
// tells the coordinator when its share is done, again by message. Nothing else passes between
// lcores, so per-connection work never crosses cores; the reports are read after run().

struct alignas(64) ClientReport {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t requests = 0;
};

class ClientAgent;
class ClientCoordinator;

// Control blocks each Stack of the process still holds, published by that Stack's loop once
// per iteration. The last client to finish stops the runtime only once every Stack's count is 0
// (or after kCloseGrace): a fixed linger lost the race to a peer's retransmitted FIN under loss
// or a sanitizer, leaving a connection in LAST-ACK at exit.
class OpenConnections {
 public:
  explicit OpenConnections(size_t stacks) : counts_(stacks) {}
  void publish(size_t slot, size_t in_use) { counts_[slot].store(in_use, std::memory_order_relaxed); }
  size_t total() const {
    size_t sum = 0;
    for (const auto& c : counts_) sum += c.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  std::vector<std::atomic<size_t>> counts_;
};
constexpr dtcp::Duration kCloseGrace = std::chrono::seconds(10);

// Everything one --connect needs across lcores; built before the runtime starts.
struct ClientGroup {
  const Options* options = nullptr;
  Endpoint target;
  std::string port_name;  // the client port
  std::vector<ClientAgent*> agents;    // by queue; each written and read only on its own lcore
  std::vector<ClientReport> reports;   // by queue; read after run()
  ClientCoordinator* coordinator = nullptr;  // on queue 0
  std::atomic<int>* running = nullptr;       // coordinators not yet finished (all groups)
  const OpenConnections* open = nullptr;     // what every Stack of the process still holds
  // Written by the coordinator's lcore, read after run().
  bool finished = false;
  dtcp::Duration elapsed{0};
};

class ClientConnection final : public dtcp::ConnectionHandler {
 public:
  ClientConnection(ClientAgent& agent, uint32_t index, uint64_t seed);
  void on_connected(Connection& c) override { pump(c); }
  void on_readable(Connection& c) override { drain(c); }
  void on_writable(Connection& c) override { pump(c); }
  void on_peer_closed(Connection& c) override;
  void on_closed(Connection& c, dtcp::CloseReason reason) override;

 private:
  void pump(Connection& c);
  // Reads and checks what arrived; false when the connection failed (and `this` is gone).
  bool drain(Connection& c);
  void fail(Connection* c, const std::string& why);
  uint64_t total() const;

  ClientAgent& agent_;
  const Options& options_;
  uint32_t index_;
  uint64_t seed_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  uint64_t requests_ = 0;  // rr: responses completely received
  bool write_shut_ = false;
  Sha256 sent_sha_;
  Sha256 received_sha_;
};

// The client on one Stack of the client port: opens, runs and counts this queue's share.
class ClientAgent final : public dtcp::App {
 public:
  ClientAgent(ClientGroup& group, uint16_t queue) : group_(group), queue_(queue) {}
  void on_start(dtcp::Stack& stack) override {
    stack_ = &stack;
    group_.agents[queue_] = this;
  }
  void on_poll(dtcp::Stack&) override {
    open_more();
    if (finish_unreported_) report_finished();
  }

  // Message from the coordinator: open this queue's share (arg: connections << 32 | concurrency).
  static void start(dtcp::Stack& stack, void* ctx, uint64_t arg) {
    ClientAgent& self = *static_cast<ClientGroup*>(ctx)->agents[stack.queue_id()];
    self.share_ = static_cast<uint32_t>(arg >> 32);
    self.limit_ = std::max<uint32_t>(1, static_cast<uint32_t>(arg));
    self.started_ = true;
    self.open_more();
  }
  void connection_done(bool ok, uint64_t sent, uint64_t received, uint64_t requests) {
    record(ok, sent, received, requests);
    open_more();
  }
  const Options& options() const { return *group_.options; }

 private:
  void record(bool ok, uint64_t sent, uint64_t received, uint64_t requests) {
    ClientReport& r = group_.reports[queue_];
    (ok ? r.ok : r.failed)++;
    r.bytes_sent += sent;
    r.bytes_received += received;
    r.requests += requests;
    active_--;
  }
  void open_more();
  void report_finished();

  ClientGroup& group_;
  uint16_t queue_;
  dtcp::Stack* stack_ = nullptr;
  bool started_ = false;
  uint32_t share_ = 0;
  uint32_t limit_ = 1;
  uint32_t opened_ = 0;
  uint32_t active_ = 0;
  bool finish_unreported_ = false;  // done, but the coordinator's ring was full
};

class ClientCoordinator final : public dtcp::App {
 public:
  explicit ClientCoordinator(ClientGroup& group) : group_(group), options_(*group.options) {}

  void on_start(dtcp::Stack& stack) override {
    group_.coordinator = this;
    started_ = stack.now() + std::chrono::milliseconds(options_.delay_ms);
    started_queues_.assign(stack.queue_count(), false);
  }
  void on_poll(dtcp::Stack& stack) override {
    if (stack.now() < started_) return;  // --delay
    if (done_at_) {
      // Linger so the last ACKs and FINs reach the peer; the last client to finish then waits
      // for every connection of the process to close before the runtime stops.
      const dtcp::Duration lingered = stack.now() - *done_at_;
      if (phase_ == Phase::lingering && lingered >= std::chrono::milliseconds(200)) {
        phase_ = group_.running->fetch_sub(1) == 1 ? Phase::closing : Phase::done;
      }
      if (phase_ != Phase::closing) return;
      const size_t open = group_.open->total();
      if (open != 0 && lingered < kCloseGrace) return;
      if (open != 0) {
        std::fprintf(stderr, "client: %zu connections still open %llds after the clients finished\n", open,
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(lingered).count()));
      }
      phase_ = Phase::done;
      stack.request_stop();
      return;
    }
    start_agents(stack);
    if (stack.now() - started_ >= std::chrono::seconds(options_.duration_s)) {
      std::fprintf(stderr, "client: gave up after %llus with %u of %u queues finished\n",
                   static_cast<unsigned long long>(options_.duration_s), finished_queues_, stack.queue_count());
      finish(stack);
    }
  }
  // Message from an agent: its share is done.
  static void agent_finished(dtcp::Stack& stack, void* ctx, uint64_t) {
    ClientCoordinator& self = *static_cast<ClientGroup*>(ctx)->coordinator;
    if (++self.finished_queues_ == stack.queue_count() && !self.done_at_) self.finish(stack);
  }

 private:
  void start_agents(dtcp::Stack& stack) {
    const uint16_t queues = stack.queue_count();
    const uint32_t concurrency = options_.concurrency ? options_.concurrency : options_.connections;
    for (uint16_t q = 0; q < queues; q++) {
      if (started_queues_[q]) continue;
      // Connection i runs on queue i mod queues; concurrency is split the same way.
      const uint32_t share = options_.connections / queues + (q < options_.connections % queues ? 1 : 0);
      const uint32_t limit = concurrency / queues + (q < concurrency % queues ? 1 : 0);
      // A full ring: try again next iteration.
      started_queues_[q] = stack.post(q, &ClientAgent::start, &group_, (uint64_t{share} << 32) | limit);
    }
  }
  void finish(dtcp::Stack& stack) {
    group_.finished = finished_queues_ == stack.queue_count();
    group_.elapsed = stack.now() - started_;
    done_at_ = stack.now();
  }

  ClientGroup& group_;
  const Options& options_;
  std::vector<bool> started_queues_;
  uint16_t finished_queues_ = 0;
  // After finish(): lingering 200 ms; then closing (the last group to finish waits for every
  // connection of the process, then stops the runtime) or done.
  enum class Phase : uint8_t { lingering, closing, done };
  Phase phase_ = Phase::lingering;
  dtcp::TimePoint started_{};
  std::optional<dtcp::TimePoint> done_at_;
};

void ClientAgent::open_more() {
  if (!started_) return;
  const uint16_t queues = stack_->queue_count();
  while (opened_ < share_ && active_ < limit_) {
    const uint64_t index = queue_ + uint64_t{opened_} * queues;
    opened_++;
    active_++;
    auto* handler = new ClientConnection(*this, static_cast<uint32_t>(index), group_.options->seed + index);
    const auto result = stack_->connect(group_.target.addr, group_.target.port, *handler,
                                        dtcp::ConnectOptions{.keepalive = group_.options->keepalive});
    if (!result.ok()) {
      std::fprintf(stderr, "client: connect %llu on queue %u failed: %s\n", static_cast<unsigned long long>(index),
                   queue_, to_string(result.error));
      delete handler;
      record(false, 0, 0, 0);
    }
  }
  if (opened_ == share_ && active_ == 0 && !finish_unreported_) {
    started_ = false;  // done: nothing more to open
    finish_unreported_ = true;
    report_finished();
  }
}

void ClientAgent::report_finished() {
  if (stack_->post(0, &ClientCoordinator::agent_finished, &group_, queue_)) finish_unreported_ = false;
}

ClientConnection::ClientConnection(ClientAgent& agent, uint32_t index, uint64_t seed)
    : agent_(agent), options_(agent.options()), index_(index), seed_(seed) {}

uint64_t ClientConnection::total() const {
  return options_.client_mode == ClientMode::rr ? options_.bytes * options_.requests : options_.bytes;
}

void ClientConnection::pump(Connection& c) {
  const auto mode = options_.client_mode;
  if (mode == ClientMode::recv || write_shut_) return;
  // rr: one request of --bytes at a time, the next once its response is complete.
  const uint64_t limit = mode == ClientMode::rr ? std::min(total(), (requests_ + 1) * options_.bytes) : total();
  std::array<std::byte, 16384> chunk;
  while (sent_ < limit) {
    const size_t len = std::min<uint64_t>({chunk.size(), limit - sent_, std::max<size_t>(c.send_space(), 1)});
    fill_pattern(seed_, sent_, std::span(chunk).first(len));
    const size_t took = c.send(std::span(chunk).first(len));
    sent_sha_.update(std::span(chunk).first(took));
    sent_ += took;
    if (took < len) break;
  }
  if (sent_ == total() && (mode != ClientMode::rr || requests_ == options_.requests)) {
    write_shut_ = true;
    c.shutdown_write();
  }
}

bool ClientConnection::drain(Connection& c) {
  std::array<std::span<const std::byte>, 16> iov;
  std::array<std::byte, 4096> expected;
  const bool verify = options_.client_mode == ClientMode::echo || options_.client_mode == ClientMode::rr;
  while (c.readable() > 0) {
    const size_t n = c.peek(iov);
    size_t total_read = 0;
    for (size_t i = 0; i < n; i++) {
      received_sha_.update(iov[i]);
      if (verify) {
        for (size_t off = 0; off < iov[i].size(); off += expected.size()) {
          const size_t len = std::min(expected.size(), iov[i].size() - off);
          fill_pattern(seed_, received_ + total_read + off, std::span(expected).first(len));
          if (std::memcmp(expected.data(), iov[i].data() + off, len) != 0) {
            c.consume(total_read);
            fail(&c, "echoed bytes differ near offset " + std::to_string(received_ + total_read + off));
            return false;
          }
        }
      }
      total_read += iov[i].size();
    }
    received_ += total_read;
    c.consume(total_read);
  }
  if (verify && received_ > total()) {
    fail(&c, "more bytes echoed than sent");
    return false;
  }
  if (options_.client_mode == ClientMode::rr && received_ >= (requests_ + 1) * options_.bytes) {
    requests_ = received_ / options_.bytes;
    pump(c);
  }
  return true;
}

void ClientConnection::on_peer_closed(Connection& c) {
  if (!drain(c)) return;
  const auto mode = options_.client_mode;
  if ((mode == ClientMode::echo || mode == ClientMode::rr) && received_ != total()) {
    return fail(&c, "peer closed after " + std::to_string(received_) + " of " + std::to_string(total()) + " bytes");
  }
  if (mode != ClientMode::recv && sent_ != total()) return fail(&c, "peer closed before we sent everything");
  if (mode == ClientMode::send) {
    std::printf("client: connection %u sent bytes=%llu sha256=%s\n", index_, static_cast<unsigned long long>(sent_),
                sent_sha_.hex_digest().c_str());
  }
  if (mode == ClientMode::recv) {
    std::printf("client: connection %u received bytes=%llu sha256=%s\n", index_,
                static_cast<unsigned long long>(received_), received_sha_.hex_digest().c_str());
  }
  agent_.connection_done(true, sent_, received_, mode == ClientMode::rr ? requests_ : 1);
  c.close();
  delete this;
}

void ClientConnection::on_closed(Connection&, dtcp::CloseReason reason) {
  fail(nullptr, std::string("connection ended: ") + to_string(reason));
}

void ClientConnection::fail(Connection* c, const std::string& why) {
  std::fprintf(stderr, "client: connection %u failed: %s\n", index_, why.c_str());
  agent_.connection_done(false, sent_, received_, requests_);
  if (c != nullptr) c->abort();
  delete this;
}

// ---- servers per Stack ----

class ServerApp final : public dtcp::App {
 public:
  ServerApp(std::vector<std::pair<ServerMode, uint16_t>> listens, uint64_t bytes, uint64_t seed, bool keepalive)
      : keepalive_(keepalive) {
    for (auto [mode, port] : listens) listeners_.emplace_back(port, std::make_unique<Listener>(mode, bytes, seed));
  }
  void on_start(dtcp::Stack& stack) override {
    for (auto& [port, listener] : listeners_) {
      const auto result = stack.listen(port, *listener, dtcp::ListenOptions{.keepalive = keepalive_});
      if (!result.ok()) {
        std::fprintf(stderr, "listen on port %u failed: %s\n", port, to_string(result.error));
        stack.request_stop();
      }
    }
  }

 private:
  std::vector<std::pair<uint16_t, std::unique_ptr<Listener>>> listeners_;
  bool keepalive_;
};

// Both roles on one Stack.
class ComboApp final : public dtcp::App {
 public:
  ComboApp(OpenConnections& open, size_t slot) : open_(open), slot_(slot) {}
  void add(std::unique_ptr<dtcp::App> app) { apps_.push_back(std::move(app)); }
  void on_start(dtcp::Stack& s) override { for (auto& a : apps_) a->on_start(s); }
  void on_poll(dtcp::Stack& s) override {
    for (auto& a : apps_) a->on_poll(s);
    open_.publish(slot_, s.connections_in_use());
  }
  void on_stop(dtcp::Stack& s) override { for (auto& a : apps_) a->on_stop(s); }

 private:
  std::vector<std::unique_ptr<dtcp::App>> apps_;
  OpenConnections& open_;
  size_t slot_;
};

Options parse_options(const char* program, const std::vector<std::string>& rest) {
  Options o;
  for (size_t i = 0; i < rest.size(); i++) {
    if (rest[i] == "--help" || rest[i] == "-h") {
      std::fputs(kUsage, stdout);
      std::fputs(dtcp::tools::kCommonUsage, stdout);
      std::exit(0);
    }
    if (auto v = dtcp::tools::flag_value(program, rest, i, "--serve")) {
      o.servers.emplace_back(ServerMode::echo, parse_endpoint(program, "--serve", *v, false));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--sink")) {
      o.servers.emplace_back(ServerMode::sink, parse_endpoint(program, "--sink", *v, false));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--source")) {
      o.servers.emplace_back(ServerMode::source, parse_endpoint(program, "--source", *v, false));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--connect")) {
      o.targets.push_back(parse_endpoint(program, "--connect", *v, true));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--mode")) {
      if (*v == "echo") o.client_mode = ClientMode::echo;
      else if (*v == "send") o.client_mode = ClientMode::send;
      else if (*v == "recv") o.client_mode = ClientMode::recv;
      else if (*v == "rr") o.client_mode = ClientMode::rr;
      else dtcp::tools::usage_error(program, "--mode: expected echo, send, recv or rr, got '" + *v + "'");
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--connections")) {
      o.connections = static_cast<uint32_t>(dtcp::tools::parse_number(program, "--connections", *v, 1, 10'000'000));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--concurrency")) {
      o.concurrency = static_cast<uint32_t>(dtcp::tools::parse_number(program, "--concurrency", *v, 1, 10'000'000));
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--bytes")) {
      o.bytes = parse_size(program, "--bytes", *v);
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--requests")) {
      o.requests = dtcp::tools::parse_number(program, "--requests", *v, 1, 1ull << 40);
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--seed")) {
      o.seed = dtcp::tools::parse_number(program, "--seed", *v, 0, UINT64_MAX / 2);
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--delay")) {
      o.delay_ms = dtcp::tools::parse_number(program, "--delay", *v, 0, 3'600'000);
    } else if (rest[i] == "--keepalive") {
      o.keepalive = true;
    } else if (auto v = dtcp::tools::flag_value(program, rest, i, "--duration")) {
      o.duration_s = dtcp::tools::parse_number(program, "--duration", *v, 1, 86400 * 365);
    } else {
      dtcp::tools::usage_error(program, "unknown option '" + rest[i] + "'");
    }
  }
  if (o.client_mode == ClientMode::rr && o.bytes == 0) dtcp::tools::usage_error(program, "--mode rr needs --bytes of at least 1");
  if (o.servers.empty() && o.targets.empty()) dtcp::tools::usage_error(program, "nothing to do: give --serve/--sink/--source or --connect");
  return o;
}

}  // namespace

static int run_main(int argc, char** argv) {
  const char* program = "dtcp-echo";
  auto args = dtcp::tools::split_args(argc, argv);
  const Options options = parse_options(program, args.rest);
  const dtcp::Config config = dtcp::tools::load_config_or_default(program, args, kEmbeddedConfig, "<embedded two-stack ring>");
  auto has_port = [&](const std::string& name) {
    return std::any_of(config.ports.begin(), config.ports.end(), [&](const auto& p) { return p.name == name; });
  };
  for (const auto& [mode, ep] : options.servers) {
    if (!ep.port_name.empty() && !has_port(ep.port_name)) {
      dtcp::tools::usage_error(program, "no [port." + ep.port_name + "] in the configuration");
    }
  }
  // One group per --connect, with a report slot per queue of its port.
  std::atomic<int> clients_running{static_cast<int>(options.targets.size())};
  std::vector<std::unique_ptr<ClientGroup>> groups;
  // One slot per Stack: port p's queue q at p * max_queues + q.
  size_t max_queues = 1;
  for (const auto& p : config.ports) max_queues = std::max<size_t>(max_queues, p.rx_queues);
  OpenConnections open_connections(config.ports.size() * max_queues);
  for (const auto& target : options.targets) {
    if (!target.port_name.empty() && !has_port(target.port_name)) {
      dtcp::tools::usage_error(program, "--connect: no [port." + target.port_name + "] in the configuration");
    }
    const auto& port = target.port_name.empty() ? config.ports.front()
                                                : *std::find_if(config.ports.begin(), config.ports.end(),
                                                                [&](const auto& p) { return p.name == target.port_name; });
    auto group = std::make_unique<ClientGroup>();
    group->options = &options;
    group->target = target;
    group->port_name = port.name;
    group->agents.assign(port.rx_queues, nullptr);
    group->reports.resize(port.rx_queues);
    group->running = &clients_running;
    group->open = &open_connections;
    groups.push_back(std::move(group));
  }
  const int setup_status = dtcp::tools::run_stack(program, config, args, [&](dtcp::Stack& stack) -> std::unique_ptr<dtcp::App> {
    const size_t port_index = static_cast<size_t>(std::find_if(config.ports.begin(), config.ports.end(), [&](const auto& p) {
                                                    return p.name == stack.port_config().name;
                                                  }) - config.ports.begin());
    auto combo = std::make_unique<ComboApp>(open_connections, port_index * max_queues + stack.queue_id());
    std::vector<std::pair<ServerMode, uint16_t>> listens;
    for (const auto& [mode, ep] : options.servers) {
      if (ep.port_name.empty() || ep.port_name == stack.port_config().name) listens.emplace_back(mode, ep.port);
    }
    // Servers listen on every Stack: a connection is accepted by the queue that owns it.
    if (!listens.empty()) combo->add(std::make_unique<ServerApp>(listens, options.bytes, options.seed, options.keepalive));
    for (auto& group : groups) {
      if (group->port_name != stack.port_config().name) continue;
      combo->add(std::make_unique<ClientAgent>(*group, stack.queue_id()));
      if (stack.queue_id() == 0) combo->add(std::make_unique<ClientCoordinator>(*group));
    }
    return combo;
  });
  if (setup_status != 0) return setup_status;
  int status = 0;
  for (const auto& group : groups) {
    ClientReport total;
    for (const auto& r : group->reports) {
      total.ok += r.ok;
      total.failed += r.failed;
      total.bytes_sent += r.bytes_sent;
      total.bytes_received += r.bytes_received;
      total.requests += r.requests;
    }
    // Connections that never ended (given up at --duration) count as failed.
    const uint64_t failed = options.connections - total.ok;
    const std::string where = (group->port_name.empty() ? "" : group->port_name + "->") + group->target.address_text();
    std::printf("client: connections=%u ok=%llu failed=%llu bytes_sent=%llu bytes_received=%llu %s\n",
                options.connections, static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(failed),
                static_cast<unsigned long long>(total.bytes_sent), static_cast<unsigned long long>(total.bytes_received),
                where.c_str());
    std::string per_queue;
    for (size_t q = 0; q < group->reports.size(); q++) {
      per_queue += (q ? "," : "") + std::to_string(group->reports[q].ok + group->reports[q].failed);
    }
    const double seconds = std::chrono::duration<double>(group->elapsed).count();
    std::printf("client: elapsed_s=%.3f connections_per_s=%.0f requests=%llu requests_per_s=%.0f per_queue=%s %s\n",
                seconds, seconds > 0 ? static_cast<double>(total.ok) / seconds : 0.0,
                static_cast<unsigned long long>(total.requests),
                seconds > 0 ? static_cast<double>(total.requests) / seconds : 0.0, per_queue.c_str(), where.c_str());
    if (!group->finished || failed > 0 || total.ok != options.connections) status = 1;
  }
  return status;
}

// A leak found by the exit-time accounting fails the exit status (after the tool's own reports).
int main(int argc, char** argv) { return dtcp::tools::exit_status(run_main(argc, argv)); }
