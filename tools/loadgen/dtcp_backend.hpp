// The dtcp backend: the Engine as a dtcp App (one per Stack that runs the client), and the
// ServerSession protocols as a dtcp server App. Both run inside the lcore loop: the engine is
// polled every iteration with the loop's time in ns (Stack::now_ns(): the loop's one TSC reading
// per iteration, finer than the stack's µs `now`, which a round trip over net_ring undercuts),
// and connection events arrive as ConnectionHandler callbacks. Per-connection handlers are
// preallocated (client) or pooled (server), so no request allocates.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "dtcp/runtime.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/idle.hpp"
#include "loadgen/dtcp_server.hpp"
#include "loadgen/server.hpp"

namespace dtcp::loadgen {

// Where a client App leaves its numbers when it is done (read after Runtime::run returns).
struct ClientResult {
  Stats stats;
  bool finished = false;  // the engine ran to its end (not cut short by a stop)
};

class DtcpClientApp final : public App, public Transport {
 public:
  // `clients_running` counts the client Apps not yet done; the last one stops the runtime.
  // The load starts `delay` after the Stack does.
  DtcpClientApp(const LoadSpec& spec, wire::IpAddr target, uint16_t port, Duration delay, LiveCounters& live,
                ClientResult& result, std::atomic<int>& clients_running);
  ~DtcpClientApp() override;

  void on_start(Stack& stack) override;
  void on_poll(Stack& stack) override;
  void on_stop(Stack& stack) override;

  OpenStatus open(uint32_t slot, Source source, ErrorKind& error) override;
  size_t send(uint32_t slot, std::span<const std::byte> data) override;
  void close(uint32_t slot) override;
  void abort(uint32_t slot) override;

 private:
  struct Handler;
  void report(bool finished);

  const LoadSpec& spec_;
  wire::IpAddr target_;
  uint16_t port_;
  Duration delay_;
  ClientResult& result_;
  std::atomic<int>& clients_running_;
  Stack* stack_ = nullptr;
  std::unique_ptr<Handler[]> handlers_;
  Engine engine_;
  bool started_ = false;
  bool reported_ = false;
  TimePoint start_at_{};
  TimePoint done_at_{};
};

// Connections the --serve-hold servers of a process hold, shared by every Stack's instance.
struct HoldCounters {
  std::atomic<int64_t> held{0};
  std::atomic<int64_t> peak{0};
};

// Where an idle client App leaves its numbers (read after Runtime::run returns).
struct IdleResult {
  IdleStats stats;
  bool finished = false;
  uint64_t rss_runtime_up = 0, rss_hold_start = 0, rss_hold_end = 0;
  std::optional<uint64_t> server_hold_start, server_hold_end;
};

// --mode idle on one Stack: the IdleEngine as an App. One handler serves every connection (the
// slot travels in Connection::user_data), so the load generator keeps one byte of state and one
// pointer per connection. Samples the resident set, and `server` (the connections an
// in-process DtcpHoldServerApp holds; may be null), at every phase change.
class DtcpIdleClientApp final : public App, public IdleTransport {
 public:
  DtcpIdleClientApp(const IdleSpec& spec, wire::IpAddr target, uint16_t port, Duration delay, LiveCounters& live,
                    IdleResult& result, std::atomic<int>& clients_running, const HoldCounters* server);
  ~DtcpIdleClientApp() override;

  void on_start(Stack& stack) override;
  void on_poll(Stack& stack) override;
  void on_stop(Stack& stack) override;

  Transport::OpenStatus open(uint32_t slot, Source source, ErrorKind& error) override;
  void shutdown(uint32_t slot) override;
  void close(uint32_t slot) override;
  void abort(uint32_t slot) override;

  // The load generator's bytes per connection: engine state and the connection pointer.
  static constexpr size_t kBytesPerConnection = IdleEngine::kBytesPerSlot + sizeof(Connection*);

 private:
  struct Handler;
  void on_phase(IdleEngine::Phase phase);

  wire::IpAddr target_;
  uint16_t port_;
  Duration delay_;
  IdleResult& result_;
  std::atomic<int>& clients_running_;
  const HoldCounters* server_;
  Stack* stack_ = nullptr;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<Connection*[]> conns_;
  IdleEngine engine_;
  bool started_ = false;
  bool reported_ = false;
  TimePoint start_at_{};
  TimePoint done_at_{};
};

// Holds every connection it accepts on the given ports, sending nothing, until the peer closes;
// `counters` counts them. One handler for all: no memory per connection beyond the stack's.
class DtcpHoldServerApp final : public App {
 public:
  DtcpHoldServerApp(std::vector<uint16_t> ports, HoldCounters& counters);
  ~DtcpHoldServerApp() override;
  void on_start(Stack& stack) override;

 private:
  struct Handler;
  std::vector<uint16_t> ports_;
  std::unique_ptr<Handler> handler_;
};

}  // namespace dtcp::loadgen
