// The sockets layer's shared state: the socket table, the calls that travel to an lcore, and
// the per-queue half that runs there. Thread side (sockets.cpp) and lcore side (lcore.cpp)
// meet only through the fields marked below, each with the rule that makes sharing it safe.
#pragma once

#include <netinet/tcp.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "dtcp/sockets.hpp"
#include "dtcp/tcp.hpp"

namespace dtcp::sockets {

inline constexpr int kFirstFd = 3;  // 0-2 look like the standard streams; nothing else is reserved
inline constexpr uint32_t kNoIndex = UINT32_MAX;

enum class Kind : uint8_t { free, tcp, epoll };

// What the application has done with a TCP socket (thread side, under Socket::mutex).
enum class Phase : uint8_t {
  open,        // socket()
  bound,       // bind()
  listening,   // listen()
  connecting,  // connect() sent the SYN (established/ended below tell what became of it)
  accepted,    // came out of accept(): the connection exists
};

class QueueSockets;
struct Socket;

// What an accepted socket takes from its listener: copied by listen() before the binding
// reaches the lcore, so the lcore never reads the listener's own (thread-side) fields.
// FIXME: options changed on the listener after listen() do not reach later children (Linux
// copies them at accept time).
struct InheritedOptions {
  bool nodelay = false;
  bool keepalive = false;
  int keepidle_s = 0, keepintvl_s = 0, keepcnt = 0;
  int sndbuf = 0, rcvbuf = 0;
  bool linger_on = false;
  int linger_s = 0;
  int maxseg = 0;
};

// One listening socket on one queue: the shard's ListenHandler.
struct Call;

struct ListenBinding final : ListenHandler {
  Socket* listener = nullptr;
  QueueSockets* queue = nullptr;
  InheritedOptions inherited;
  ConnectionHandler* on_accept(Connection& c) override;
};

struct EpollTag;
struct InterestTag;
using ReadyHook = boost::intrusive::list_member_hook<boost::intrusive::tag<EpollTag>>;
using InterestHook = boost::intrusive::list_member_hook<boost::intrusive::tag<InterestTag>>;

struct Socket {
  // ---- identity: changed under `mutex` (and the table's free-list lock); read anywhere ----
  uint32_t index = 0;
  std::atomic<uint32_t> generation{0};  // +1 at allocation and at close
  std::atomic<Kind> kind{Kind::free};
  std::mutex mutex;  // serializes the application's state changes on this socket

  // ---- thread side, under `mutex` ----
  std::atomic<Phase> phase{Phase::open};  // stored under `mutex`; poll and epoll read it without
  int domain = AF_INET;
  std::atomic<bool> nonblocking{false};
  bool reuseaddr = false;
  bool keepalive = false;
  bool nodelay = false;
  int keepidle_s = 0, keepintvl_s = 0, keepcnt = 0;  // 0: the shard's defaults
  bool linger_on = false;
  int linger_s = 0;
  int sndbuf = 0, rcvbuf = 0;  // what SO_SNDBUF/SO_RCVBUF asked for (0: the shard's)
  int maxseg = 0;
  wire::IpAddr bound_addr{};
  uint16_t bound_port = 0;
  bool v6only = false;
  // Listening: accepted Socket*s, MP/MC. Kept by the table entry after close() (drained) and
  // reused by its next listen() of the same backlog, retired (freed with the table) when a
  // listen() needs another size: an accept() that read it just before a racing close() must still
  // find a ring there, not freed memory.
  std::atomic<rte_ring*> accept_ring{nullptr};
  std::vector<std::unique_ptr<ListenBinding>> bindings;  // listening: one per queue

  // Set before the socket's first call reaches an lcore, or by the lcore before it publishes
  // the socket through the accept ring (whose enqueue releases it); read-only afterwards.
  uint16_t queue = 0;

  // ---- published by the owning lcore: written there, read by any thread ----
  std::atomic<uint32_t> events{0};          // EPOLL* bits, as Linux's tcp_poll() computes them
  std::atomic<uint32_t> seq{0};             // +1 after every change below: the futex word
  std::atomic<uint32_t> waiters{0};         // threads sleeping on `seq`
  std::atomic<int> so_error{0};             // pending error (SO_ERROR), errno value
  std::atomic<bool> established{false};     // the handshake completed
  std::atomic<bool> ended{false};           // the connection is gone (closed, reset, timed out)
  std::atomic<uint32_t> readable_bytes{0};  // FIONREAD
  std::atomic<uint32_t> send_space{0};
  // Written by the lcore before `established` (release) or before the socket enters the accept
  // ring; read after either.
  Endpoint local{}, remote{};

  // ---- lcore side only ----
  ConnectionId conn{};
  bool rd_shut = false;
  bool wr_shut = false;
  bool peer_fin = false;
  // A blocking read that found nothing, kept here and answered by the event that ends its wait
  // (data, FIN, reset, SHUT_RD, close, stop): one wake-up per read instead of two.
  Call* parked_read = nullptr;
  // close() with SO_LINGER {1, N > 0}: waits here until the FIN is acknowledged, the
  // connection ends or N seconds pass (QueueSockets::on_poll looks).
  Call* parked_linger = nullptr;
  std::vector<std::byte> leftover;  // bytes still unread when the connection ended normally
  size_t leftover_pos = 0;

  // ---- epoll registration of this socket: under the epoll instance's ep_mutex ----
  std::atomic<uint32_t> ep_index{kNoIndex};  // the epoll instance's table index, or kNoIndex
  uint32_t ep_generation = 0;
  uint32_t ep_mask = 0;
  uint64_t ep_data = 0;
  ReadyHook ready_hook;
  InterestHook interest_hook;

  // ---- epoll instance (kind == epoll) ----
  std::mutex ep_mutex;
  boost::intrusive::list<Socket, boost::intrusive::member_hook<Socket, ReadyHook, &Socket::ready_hook>> ready;
  boost::intrusive::list<Socket, boost::intrusive::member_hook<Socket, InterestHook, &Socket::interest_hook>> interest;
  std::atomic<uint32_t> ep_seq{0};
  std::atomic<uint32_t> ep_waiters{0};
};

// A call that needs the connection: built on the caller's stack, run on the owning lcore,
// answered through `state`. The caller returns only after state == kDone, so the lcore never
// touches a call whose owner has gone, except the futex wake on `state`'s address, which is
// harmless (a spurious wake-up for whoever uses that word next).
struct Call {
  enum class Op : uint8_t { connect, listen, unlisten, read, write, shutdown, close, abort_child, apply_options, info, linger };
  static constexpr uint32_t kPending = 0, kSleeping = 1, kDone = 2;

  Op op = Op::read;
  Socket* socket = nullptr;
  uint32_t generation = 0;  // the caller's view; a mismatch (the socket was closed) is EBADF
  // in
  const iovec* iov = nullptr;
  int iovcnt = 0;
  int flags = 0;
  int how = 0;
  Endpoint remote{};
  ListenBinding* binding = nullptr;
  uint16_t port = 0;
  void* out = nullptr;  // info: Query*
  bool park = false;    // read: rather than EAGAIN, wait on the lcore for something to read
  bool parked = false;  // set by the lcore: answered later, by complete()
  TimePoint deadline{};  // linger (`how` seconds from when it runs): when close() stops waiting
  // out
  ssize_t result = 0;
  int error = 0;
  std::atomic<uint32_t> state{kPending};
};

// The part of the layer that runs on one queue's lcore.
class QueueSockets final : public App, public ConnectionHandler {
 public:
  QueueSockets(Sockets::Impl& impl, Stack& stack, std::unique_ptr<App> inner)
      : impl_(impl), stack_(stack), inner_(std::move(inner)) {}
  Stack& stack() { return stack_; }
  Sockets::Impl& impl() { return impl_; }
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  // App
  void on_start(Stack& stack) override;
  void on_poll(Stack& stack) override;
  void on_stop(Stack& stack) override;
  // ConnectionHandler: every socket connection of this queue (Connection::user_data = Socket*)
  void on_connected(Connection&) override;
  void on_readable(Connection&) override;
  void on_writable(Connection&) override;
  void on_peer_closed(Connection&) override;
  void on_closed(Connection&, CloseReason) override;

  static void run_call(Stack& stack, void* ctx, uint64_t arg);
  static void complete(Call& call);
  // Recomputes the socket's readiness and wakes whoever waits on it; `edge`: something
  // happened (data, space, a state change), which re-arms edge-triggered epoll.
  void publish(Socket& s, Connection* c, bool edge);
  Connection* connection(Socket& s) { return s.conn.valid() ? stack_.find(s.conn) : nullptr; }

 private:
  void execute(Call& call);
  void do_connect(Call& call, Socket& s);
  void do_read(Call& call, Socket& s, Connection* c);
  void do_write(Call& call, Socket& s, Connection* c);
  void do_close(Call& call, Socket& s, Connection* c, bool abort);
  void do_linger(Call& call, Socket& s, Connection* c);
  // Answers the lingering close of `s` if its wait is over (or `force`); true when answered.
  bool end_linger(Socket& s, bool force);

  Sockets::Impl& impl_;
  Stack& stack_;
  std::unique_ptr<App> inner_;
  std::atomic<bool> stopped_{false};
  std::vector<Socket*> lingering_;  // sockets with a parked_linger, looked at in on_poll()
};

int errno_of(CloseReason reason);
// What getsockopt() asks the lcore (Call::Op::info, through call.out).
struct Query {
  tcp_info info;
  uint32_t send_buffer = 0;
  uint32_t receive_buffer = 0;
  uint32_t maxseg = 0;
  bool connected = false;
};
// internals.cpp: what needs the control block behind the Connection.
void fill_tcp_info(Call& call, Socket& s, Connection* c);  // call.out: Query*
void apply_options(const Socket& s, Connection& c);        // TCP_NODELAY, keep-alive, SO_SNDBUF


}  // namespace dtcp::sockets

namespace dtcp {

class Sockets::Impl {
 public:
  explicit Impl(const Options& options);
  ~Impl();

  Options options;
  std::unique_ptr<sockets::Socket[]> table;

  // Free list, first in first out (a closed socket is reused as late as possible).
  sockets::Socket* allocate(sockets::Kind kind);
  void release(sockets::Socket& s);  // back to the free list; generation already moved on
  std::atomic<uint32_t> in_use{0};

  // The port's queues, by queue id; filled by app_factory() as the lcores start.
  std::mutex start_mutex;
  std::string port_name;
  bool port_chosen = false;
  std::vector<sockets::QueueSockets*> queues;
  std::atomic<uint32_t> started{0};       // queues whose on_start ran
  std::atomic<uint32_t> queue_count{0};   // known once the first queue registered
  std::atomic<uint32_t> lifecycle{0};     // futex word: +1 at every start and stop
  std::atomic<bool> stopping{false};
  std::atomic<uint32_t> next_queue{0};

  // Ports bound by sockets (bind/listen), for EADDRINUSE (SO_REUSEADDR rules as Linux's).
  std::mutex bind_mutex;
  std::unordered_multimap<uint16_t, sockets::Socket*> bound;
  std::vector<rte_ring*> retired_rings;  // accept rings replaced by another size (bind_mutex)
  uint32_t next_bind_port = 0;  // under bind_mutex: where bind() to port 0 searches next (offset in the range)

  // poll(): threads sleeping in poll() wait here; every publication bumps it while they do.
  std::atomic<uint32_t> poll_seq{0};
  std::atomic<uint32_t> poll_waiters{0};

  // Runs `call` on `queue`'s lcore and waits for it. Returns false (errno set: ENETDOWN) when
  // the runtime stopped before running it.
  bool run_on(uint16_t queue, sockets::Call& call);
  // Waits until every queue started (false: the runtime is stopping, errno ENETDOWN).
  bool ensure_running();
  // Adds the socket to its epoll instance's ready list (if registered for any of `events`)
  // and wakes the instance's waiters.
  void notify_epoll(sockets::Socket& s, uint32_t events);
  void notify_pollers();
  // Unregisters `s` from its epoll instance, if any.
  void epoll_forget(sockets::Socket& s);

  sockets::Socket* lookup(int fd, sockets::Kind kind, uint32_t* generation, int* error);

 private:
  std::mutex free_mutex_;
  std::vector<uint32_t> free_;  // circular: indices free_[head_ .. head_ + free_count_)
  size_t head_ = 0;
  size_t free_count_ = 0;
};

}  // namespace dtcp
