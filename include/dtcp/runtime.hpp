// dtcp runtime: starts DPDK's EAL, configures the ports described by a Config, and runs one
// run-to-completion loop per worker lcore. Each (port, queue pair) is one Stack, polled by one
// worker lcore: its own L2/L3 state, TCP shard, timers and counters. Nothing is shared between
// lcores on the packet path.
//
// Several queues per port. Every connection belongs to one queue, chosen by the Toeplitz hash of
// its 4-tuple and the port's RSS redirection table: the device delivers it there (RSS with a
// symmetric key), or the lcore that received a frame passes it to the owner (software steering,
// for devices without usable RSS). So:
//  - a server listens on every Stack: the AppFactory runs once per Stack, and a listen() in
//    App::on_start() installs the port on each queue. A connection is accepted, and all its
//    callbacks run, on the Stack that owns it; a port listened on by only some Stacks refuses
//    (RST) the connections that hash to the others;
//  - connect() on a Stack picks a source port whose connection that Stack owns, so the replies
//    come straight back; when no port in [tcp] ephemeral_port_min..max qualifies it fails with
//    no_ephemeral_port (the search is one bounded pass, never a loop);
//  - to open a connection on another lcore, post() it there.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dtcp/time.hpp"
#include "dtcp/config.hpp"
#include "dtcp/tcp.hpp"

namespace dtcp {

// Thrown when EAL, a port or a pool cannot be set up; the message says which and why.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Stack;

// Application code for one Stack. Every call runs on the Stack's worker lcore.
class App {
 public:
  virtual ~App() = default;
  virtual void on_start(Stack&) {}
  // Once per loop iteration, after received packets and timers have been processed.
  virtual void on_poll(Stack&) {}
  virtual void on_stop(Stack&) {}
};

// Called on each worker lcore for each Stack it polls; may return nullptr for no application.
using AppFactory = std::function<std::unique_ptr<App>(Stack&)>;

// One port queue pair on one worker lcore, as an application sees it.
class Stack {
 public:
  virtual ~Stack() = default;
  virtual unsigned lcore_id() const = 0;
  // This Stack's queue pair, 0..queue_count()-1, among the port's queue pairs (one Stack each).
  virtual uint16_t queue_id() const = 0;
  virtual uint16_t queue_count() const = 0;
  virtual const PortConfig& port_config() const = 0;
  virtual TimePoint now() const = 0;
  // The same reading of the TSC as now() (one per loop iteration, not per packet), converted to
  // nanoseconds since the runtime started: for timing what takes less than a microsecond, e.g.
  // dtcp-loadgen's request latencies over net_ring. now_ns() / 1000 is now() to within 1 µs.
  virtual int64_t now_ns() const = 0;
  // The TCP settings of this Stack's shard ([tcp]).
  virtual const TcpConfig& tcp_config() const = 0;
  // The port's primary address of a family (PortConfig::primary); unspecified when it has none.
  virtual wire::IpAddr address(wire::IpFamily family = wire::IpFamily::v4) const = 0;

  // TCP on this lcore (see dtcp/tcp.hpp). A listener installed here accepts the connections
  // this Stack's queue owns; listen on every Stack of the port (see the top of this file).
  virtual ListenResult listen(uint16_t port, ListenHandler& handler, const ListenOptions& options) = 0;
  virtual void unlisten(uint16_t port) = 0;
  // Active open from this Stack; the connection (and every callback) stays on it. With several
  // queues the source port is one whose connection this queue owns (no_ephemeral_port when none).
  virtual ConnectResult connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                                const ConnectOptions& options) = 0;
  // The connection `id` names on this Stack, or nullptr once it has ended or the application
  // closed it (its slot may hold another connection by then: the generations differ).
  virtual Connection* find(ConnectionId id) = 0;
  // The queue that owns the connection between this port's primary address of remote's family,
  // local_port, and remote.
  virtual uint16_t owner_queue(wire::IpAddr remote, uint16_t remote_port, uint16_t local_port) const = 0;

  // Cross-lcore work. post() queues fn(target, ctx, arg) to run on the lcore of the Stack polling
  // `queue` of this port, at the start of its next loop iteration (messages from one sender run
  // in order). Returns false, running nothing, when `queue` does not exist or that lcore's message
  // ring ([runtime] message_ring) is full. Callable from any thread of the process: a worker
  // lcore (this Stack's own included) or an application thread (application threads post
  // through a second ring of that lcore, one at a time under a mutex, and are counted
  // atomically; the lcores' own ring stays lock-free). A target lcore sleeping in adaptive idle runs the message
  // when it next wakes, within [runtime] idle_sleep_max. Messages still queued when the runtime stops are discarded without running, so
  // `ctx` must not be the only owner of anything.
  using MessageFn = void (*)(Stack& target, void* ctx, uint64_t arg);
  virtual bool post(uint16_t queue, MessageFn fn, void* ctx, uint64_t arg) = 0;
  // Connections and TIME-WAIT records, one line each (like `ss -tan`), after a header.
  virtual void print_connections(FILE* out) const = 0;
  // Control blocks this Stack holds (any state but TIME-WAIT, whose records hold none).
  virtual size_t connections_in_use() const = 0;
  // Asks the whole runtime to stop (any lcore; the loops finish their iteration).
  virtual void request_stop() = 0;
};

// What a runtime still held when it stopped: counted after every connection was reset, the
// TIME-WAIT records freed, the stacks released and the ports stopped and drained. All zero
// unless something leaked.
struct ResourceReport {
  size_t connections = 0;   // control blocks in use or still in a connection table
  size_t time_wait = 0;     // TIME-WAIT records not returned
  size_t timers = 0;        // TCP timers still armed
  size_t sent_records = 0;  // sent-segment records not returned to their pool
  size_t events = 0;        // control blocks still queued for event delivery
  size_t mbufs = 0;         // mbufs out of their pools
  bool ok() const { return connections == 0 && time_wait == 0 && timers == 0 && sent_records == 0 && events == 0 && mbufs == 0; }
  // "ok", or "LEAK" and each non-zero count, e.g. "LEAK mbufs=1".
  std::string to_string() const;
};

class Runtime {
 public:
  // Starts EAL with the config's EAL arguments (or `eal_override` when not empty), adding
  // --no-pci unless a device list is given, and sets up every port and mbuf pool.
  static std::unique_ptr<Runtime> start(const Config& config, const std::vector<std::string>& eal_override,
                                        const char* program_name);
  virtual ~Runtime() = default;

  // Runs every worker loop until request_stop() (or SIGINT/SIGTERM after
  // install_signal_handlers()). Returns on the main lcore after all workers have stopped.
  virtual void run(const AppFactory& factory) = 0;
  virtual void request_stop() = 0;
  // Counters summed over lcores, and per lcore when `per_lcore` is set, in `name value` lines.
  virtual void print_counters(FILE* out, bool per_lcore) = 0;
  // Every Stack's connection listing (after run() returns, or from SIGUSR1 while running).
  virtual void print_connections(FILE* out) = 0;
  // After run(): releases every Stack (their connections and buffers), closes the ports and
  // drains in-flight frames, then returns how many mbufs are still out of their pools; anything
  // but 0 is a leak. Idempotent; the destructor calls it too.
  virtual size_t shutdown() = 0;
  // After run() (and after printing counters and listings, which it changes): resets every
  // connection still open, frees the TIME-WAIT records, counts what the stacks still hold, then
  // shutdown() and the mbufs still out of the pools. Call once, instead of shutdown().
  virtual ResourceReport account() = 0;
  // SIGINT/SIGTERM stop the loops; SIGUSR1 prints the counters and connections while running.
  virtual void install_signal_handlers() = 0;
};

}  // namespace dtcp
