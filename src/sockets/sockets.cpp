// The application-thread half of the sockets layer: the BSD calls. State that only the lcore
// knows travels there as a Call (table.hpp); readiness is read from what the lcore published.
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "sockets/futex.hpp"
#include "sockets/table.hpp"

namespace dtcp {

using sockets::Call;
using sockets::Kind;
using sockets::Phase;
using sockets::Socket;

namespace {

constexpr int64_t kWaitSliceNs = 100'000'000;  // sleepers look at the runtime's state this often

int fail(int e) {
  errno = e;
  return -1;
}

// sockaddr -> Endpoint for a socket of `domain` (AF_INET6 sockets take IPv4-mapped addresses).
bool endpoint_from(const sockaddr* addr, socklen_t len, int domain, Endpoint* out, int* error) {
  if (addr == nullptr) {
    *error = EFAULT;
    return false;
  }
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    if (domain != AF_INET) {
      *error = EAFNOSUPPORT;
      return false;
    }
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    out->addr = wire::Ipv4Addr{ntohl(a->sin_addr.s_addr)};
    out->port = ntohs(a->sin_port);
    return true;
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    if (domain != AF_INET6) {
      *error = EAFNOSUPPORT;
      return false;
    }
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    wire::Ipv6Addr v6;
    std::memcpy(v6.bytes.data(), a->sin6_addr.s6_addr, 16);
    out->addr = wire::IpAddr(v6);
    out->port = ntohs(a->sin6_port);
    return true;
  }
  *error = (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) ? EINVAL : EAFNOSUPPORT;
  return false;
}

// Endpoint -> sockaddr in the socket's family; truncates like the kernel and reports the length
// the full address needs.
void endpoint_to(const Endpoint& e, int domain, sockaddr* addr, socklen_t* len) {
  sockaddr_storage ss{};
  socklen_t need = 0;
  if (domain == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(e.port);
    a->sin_addr.s_addr = htonl(e.addr.is_v4() ? e.addr.v4().value : 0);
    need = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(e.port);
    const wire::Ipv6Addr v6 = e.addr.v6();
    std::memcpy(a->sin6_addr.s6_addr, v6.bytes.data(), 16);
    need = sizeof(sockaddr_in6);
  }
  if (addr != nullptr && len != nullptr) std::memcpy(addr, &ss, std::min(*len, need));
  if (len != nullptr) *len = need;
}

bool is_blocking(const Socket& s, int flags) {
  return !s.nonblocking.load(std::memory_order_relaxed) && (flags & MSG_DONTWAIT) == 0;
}

}  // namespace

// ---- table ----------------------------------------------------------------------------------

Sockets::Impl::Impl(const Options& o) : options(o), table(new Socket[o.max_sockets]), free_(o.max_sockets) {
  if (o.max_sockets == 0 || o.max_sockets > static_cast<uint32_t>(INT_MAX - sockets::kFirstFd)) {
    throw std::invalid_argument("Sockets: max_sockets must be 1 .. INT_MAX - 3");
  }
  for (uint32_t i = 0; i < o.max_sockets; i++) {
    table[i].index = i;
    free_[i] = i;
  }
  free_count_ = o.max_sockets;
}

Sockets::Impl::~Impl() {
  for (uint32_t i = 0; i < options.max_sockets; i++) {
    Socket& s = table[i];
    s.ready.clear();
    s.interest.clear();
    if (rte_ring* ring = s.accept_ring.load(); ring != nullptr) rte_ring_free(ring);
  }
  for (rte_ring* r : retired_rings) rte_ring_free(r);
}

Socket* Sockets::Impl::allocate(Kind kind) {
  std::lock_guard lock(free_mutex_);
  if (free_count_ == 0) return nullptr;
  Socket& s = table[free_[head_]];
  head_ = (head_ + 1) % free_.size();
  free_count_--;
  s.phase = Phase::open;
  s.domain = AF_INET;
  s.nonblocking.store(false, std::memory_order_relaxed);
  s.reuseaddr = s.keepalive = s.nodelay = s.linger_on = s.v6only = false;
  s.keepidle_s = s.keepintvl_s = s.keepcnt = s.linger_s = s.sndbuf = s.rcvbuf = s.maxseg = 0;
  s.bound_addr = {};
  s.bound_port = 0;
  s.queue = 0;
  s.events.store(0, std::memory_order_relaxed);
  s.so_error.store(0, std::memory_order_relaxed);
  s.established.store(false, std::memory_order_relaxed);
  s.ended.store(false, std::memory_order_relaxed);
  s.readable_bytes.store(0, std::memory_order_relaxed);
  s.send_space.store(0, std::memory_order_relaxed);
  s.local = s.remote = {};
  s.conn = {};
  s.rd_shut = s.wr_shut = s.peer_fin = false;
  s.leftover.clear();
  s.leftover_pos = 0;
  s.ep_index.store(sockets::kNoIndex, std::memory_order_relaxed);
  s.kind.store(kind, std::memory_order_relaxed);
  s.generation.fetch_add(1, std::memory_order_release);
  in_use.fetch_add(1, std::memory_order_relaxed);
  return &s;
}

void Sockets::Impl::release(Socket& s) {
  s.kind.store(Kind::free, std::memory_order_relaxed);
  std::lock_guard lock(free_mutex_);
  free_[(head_ + free_count_) % free_.size()] = s.index;
  free_count_++;
  in_use.fetch_sub(1, std::memory_order_relaxed);
}

Socket* Sockets::Impl::lookup(int fd, Kind kind, uint32_t* generation, int* error) {
  if (fd < sockets::kFirstFd || static_cast<uint32_t>(fd - sockets::kFirstFd) >= options.max_sockets) {
    *error = EBADF;
    return nullptr;
  }
  Socket& s = table[fd - sockets::kFirstFd];
  *generation = s.generation.load(std::memory_order_acquire);
  const Kind k = s.kind.load(std::memory_order_acquire);
  if (k == Kind::free) {
    *error = EBADF;
    return nullptr;
  }
  if (k != kind) {
    *error = kind == Kind::epoll ? EINVAL : ENOTSOCK;
    return nullptr;
  }
  return &s;
}

bool Sockets::Impl::ensure_running() {
  for (;;) {
    const uint32_t seen = lifecycle.load(std::memory_order_seq_cst);
    if (stopping.load(std::memory_order_acquire)) {
      errno = ENETDOWN;
      return false;
    }
    const uint32_t n = queue_count.load(std::memory_order_acquire);
    if (n > 0 && started.load(std::memory_order_acquire) >= n) return true;
    sockets::futex_wait(lifecycle, seen, kWaitSliceNs);
  }
}

bool Sockets::Impl::run_on(uint16_t queue, Call& call) {
  if (!ensure_running()) return false;
  sockets::QueueSockets* q = queues[queue];
  // A full message ring is rare (it holds [runtime] message_ring calls): sleep and retry.
  for (int64_t pause_ns = 10'000; !q->stack().post(queue, &sockets::QueueSockets::run_call, &call,
                                                   reinterpret_cast<uint64_t>(q));
       pause_ns = std::min<int64_t>(pause_ns * 2, 1'000'000)) {
    if (q->stopped()) {
      errno = ENETDOWN;
      return false;
    }
    const timespec ts{0, static_cast<long>(pause_ns)};
    nanosleep(&ts, nullptr);
  }
  uint32_t expected = Call::kPending;
  if (!call.state.compare_exchange_strong(expected, Call::kSleeping, std::memory_order_acq_rel)) return true;
  while (call.state.load(std::memory_order_acquire) != Call::kDone) {
    sockets::futex_wait(call.state, Call::kSleeping, kWaitSliceNs);
    // After on_stop() the lcore runs no more messages: an unrun call never will.
    if (call.state.load(std::memory_order_acquire) != Call::kDone && q->stopped()) {
      errno = ENETDOWN;
      return false;
    }
  }
  return true;
}

void Sockets::Impl::notify_pollers() {
  if (poll_waiters.load(std::memory_order_seq_cst) == 0) return;
  poll_seq.fetch_add(1, std::memory_order_seq_cst);
  sockets::futex_wake_all(poll_seq);
}

// ---- public ---------------------------------------------------------------------------------

Sockets::Sockets() : Sockets(Options{}) {}
Sockets::Sockets(const Options& options) : impl_(std::make_unique<Impl>(options)) {}
Sockets::~Sockets() = default;

uint32_t Sockets::open_sockets() const { return impl_->in_use.load(std::memory_order_relaxed); }

AppFactory Sockets::app_factory(AppFactory inner) {
  Impl* impl = impl_.get();
  return [impl, inner](Stack& stack) -> std::unique_ptr<App> {
    std::unique_ptr<App> app = inner ? inner(stack) : nullptr;
    std::lock_guard lock(impl->start_mutex);
    if (!impl->port_chosen) {
      impl->port_name = impl->options.port.empty() ? stack.port_config().name : impl->options.port;
      impl->port_chosen = true;
    }
    if (stack.port_config().name != impl->port_name) return app;
    if (impl->queues.empty()) {
      impl->queues.assign(stack.queue_count(), nullptr);
      impl->queue_count.store(stack.queue_count(), std::memory_order_release);
    }
    auto q = std::make_unique<sockets::QueueSockets>(*impl, stack, std::move(app));
    impl->queues[stack.queue_id()] = q.get();
    return q;
  };
}

bool Sockets::wait_running(Duration timeout) const {
  const int64_t deadline = sockets::monotonic_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  for (;;) {
    const uint32_t seen = impl_->lifecycle.load(std::memory_order_seq_cst);
    const uint32_t n = impl_->queue_count.load(std::memory_order_acquire);
    if (n > 0 && impl_->started.load(std::memory_order_acquire) >= n) return true;
    const int64_t left = deadline - sockets::monotonic_ns();
    if (left <= 0 || impl_->stopping.load(std::memory_order_acquire)) return false;
    sockets::futex_wait(impl_->lifecycle, seen, std::min(left, kWaitSliceNs));
  }
}

int Sockets::socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return fail(EAFNOSUPPORT);
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base != SOCK_STREAM) return fail(EPROTONOSUPPORT);
  if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
  Socket* s = impl_->allocate(Kind::tcp);
  if (s == nullptr) return fail(EMFILE);
  s->domain = domain;
  s->nonblocking.store((type & SOCK_NONBLOCK) != 0, std::memory_order_relaxed);
  return static_cast<int>(s->index) + sockets::kFirstFd;
}

int Sockets::bind(int fd, const sockaddr* addr, socklen_t len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  std::lock_guard lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  Endpoint ep;
  if (!endpoint_from(addr, len, s->domain, &ep, &e)) return fail(e);
  if (s->phase != Phase::open) return fail(EINVAL);
  if (!impl_->ensure_running()) return -1;
  const PortConfig& port = impl_->queues[0]->stack().port_config();
  if (!ep.addr.is_unspecified() && !port.is_local(ep.addr)) return fail(EADDRNOTAVAIL);
  {
    std::lock_guard bind_lock(impl_->bind_mutex);
    if (ep.port == 0) {
      // An ephemeral port no socket has bound (connect() would pick one per destination; a
      // bound socket needs one now, as Linux's inet_csk_get_port()), from the shard's range.
      // The search starts past the last port handed out: the lowest free port is usually the
      // one a socket just closed, whose connection is still in TIME-WAIT towards the same peer
      // (connect() then fails with EADDRINUSE). FIXME: the layer cannot see the shards'
      // TIME-WAIT records, so once the cursor wraps such a port can still be picked.
      const TcpConfig& tcp = impl_->queues[0]->stack().tcp_config();
      const uint32_t first = tcp.ephemeral_port_min, span = uint32_t{tcp.ephemeral_port_max} - first + 1;
      for (uint32_t i = 0; i < span; i++) {
        const auto p = static_cast<uint16_t>(first + (impl_->next_bind_port + i) % span);
        if (impl_->bound.count(p) == 0) {
          ep.port = p;
          impl_->next_bind_port = (impl_->next_bind_port + i + 1) % span;
          break;
        }
      }
      if (ep.port == 0) return fail(EADDRINUSE);
    }
    auto [first, last] = impl_->bound.equal_range(ep.port);
    for (auto it = first; it != last; ++it) {
      const Socket& other = *it->second;
      // Linux: two sockets share a port when both set SO_REUSEADDR and neither listens.
      if (!(s->reuseaddr && other.reuseaddr && other.phase != Phase::listening)) return fail(EADDRINUSE);
    }
    impl_->bound.emplace(ep.port, s);
  }
  s->bound_addr = ep.addr;
  s->bound_port = ep.port;
  s->phase = Phase::bound;
  return 0;
}

namespace {
// An accepted connection no application will see: RST, and its entry freed by the lcore.
void reset_child(Sockets::Impl& impl, Socket& child) {
  child.generation.fetch_add(1, std::memory_order_seq_cst);
  Call call;
  call.op = Call::Op::abort_child;
  call.socket = &child;
  if (!impl.run_on(child.queue, call)) impl.release(child);
}

// Connections accepted by the stack but not by the application are reset, as Linux does when
// a listener closes. Runs after every queue's unlisten, so nothing is enqueued meanwhile.
void reset_unaccepted(Sockets::Impl& impl, Socket& listener) {
  rte_ring* ring = listener.accept_ring.load(std::memory_order_relaxed);
  if (ring == nullptr) return;
  void* obj = nullptr;
  while (rte_ring_mc_dequeue(ring, &obj) == 0) {
    reset_child(impl, *static_cast<Socket*>(obj));
  }
}

void unbind(Sockets::Impl& impl, Socket& s) {
  if (s.bound_port == 0) return;
  std::lock_guard lock(impl.bind_mutex);
  auto [first, last] = impl.bound.equal_range(s.bound_port);
  for (auto it = first; it != last; ++it) {
    if (it->second == &s) {
      impl.bound.erase(it);
      break;
    }
  }
}
}  // namespace

int Sockets::listen(int fd, int backlog) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  std::lock_guard lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  if (s->phase == Phase::listening) return 0;  // Linux: a second listen() only resizes the backlog
  if (s->phase == Phase::open) {
    // Linux binds an unbound socket to an ephemeral port.
    s->mutex.unlock();
    sockaddr_storage any{};
    any.ss_family = static_cast<sa_family_t>(s->domain);
    const int rc = bind(fd, reinterpret_cast<sockaddr*>(&any),
                        s->domain == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    s->mutex.lock();
    if (rc != 0) return -1;
  }
  if (s->phase != Phase::bound) return fail(EINVAL);
  if (!impl_->ensure_running()) return -1;
  // The accept queue: Linux's backlog (clamped to SOMAXCONN 4096), at least 1.
  const unsigned capacity = static_cast<unsigned>(std::clamp(backlog, 1, 4096));
  rte_ring* ring = s->accept_ring.load(std::memory_order_relaxed);
  if (ring == nullptr || rte_ring_get_capacity(ring) != capacity) {
    // A new size: the old ring is retired (see Socket::accept_ring).
    const std::string name = "dtcp_acc_" + std::to_string(s->index) + "_" + std::to_string(gen);
    rte_ring* fresh = rte_ring_create(name.c_str(), capacity, SOCKET_ID_ANY, RING_F_EXACT_SZ);
    if (fresh == nullptr) return fail(ENOBUFS);
    s->accept_ring.store(fresh, std::memory_order_release);
    if (ring != nullptr) {
      // Retired, not freed: an accept() of the entry's last listener may still hold it.
      std::lock_guard retired_lock(impl_->bind_mutex);
      impl_->retired_rings.push_back(ring);
    }
  }
  const auto queues = static_cast<uint16_t>(impl_->queues.size());
  for (uint16_t q = 0; q < queues; q++) {
    auto b = std::make_unique<sockets::ListenBinding>();
    b->listener = s;
    b->queue = impl_->queues[q];
    b->inherited = {s->nodelay, s->keepalive, s->keepidle_s, s->keepintvl_s, s->keepcnt,
                    s->sndbuf,  s->rcvbuf,    s->linger_on,  s->linger_s,    s->maxseg};
    s->bindings.push_back(std::move(b));
  }
  uint16_t installed = 0;
  int error = 0;
  for (; installed < queues; installed++) {
    Call call;
    call.op = Call::Op::listen;
    call.socket = s;
    call.generation = gen;
    call.port = s->bound_port;
    call.binding = s->bindings[installed].get();
    if (!impl_->run_on(installed, call)) {
      error = errno;
      break;
    }
    if (call.result < 0) {
      error = call.error;
      break;
    }
  }
  if (error != 0) {
    for (uint16_t q = 0; q < installed; q++) {
      Call call;
      call.op = Call::Op::unlisten;
      call.socket = s;
      call.port = s->bound_port;
      impl_->run_on(q, call);
    }
    s->bindings.clear();
    reset_unaccepted(*impl_, *s);  // what the queues that did listen accepted meanwhile
    return fail(error);
  }
  s->phase = Phase::listening;
  return 0;
}

int Sockets::accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

int Sockets::accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return fail(EINVAL);
  if (s->phase.load(std::memory_order_acquire) != Phase::listening) return fail(EINVAL);
  rte_ring* ring = s->accept_ring.load(std::memory_order_acquire);
  if (ring == nullptr) return fail(EINVAL);
  const bool blocking = is_blocking(*s, 0);
  for (;;) {
    s->waiters.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = s->seq.load(std::memory_order_seq_cst);
    void* obj = nullptr;
    const bool got = s->generation.load(std::memory_order_acquire) == gen && rte_ring_mc_dequeue(ring, &obj) == 0;
    if (got && rte_ring_count(ring) == 0) {
      // Readiness falls with the last queued connection; re-raised if an lcore queued one since.
      s->events.fetch_and(~static_cast<uint32_t>(EPOLLIN | EPOLLRDNORM), std::memory_order_acq_rel);
      if (rte_ring_count(ring) != 0) s->events.fetch_or(EPOLLIN | EPOLLRDNORM, std::memory_order_acq_rel);
    }
    if (got && s->generation.load(std::memory_order_seq_cst) != gen) {
      // close() ran between the check and the dequeue: this child is the closing listener's,
      // and close() may have finished draining. Reset it as close() does.
      reset_child(*impl_, *static_cast<Socket*>(obj));
      s->waiters.fetch_sub(1, std::memory_order_relaxed);
      return fail(EBADF);
    }
    if (got) {
      s->waiters.fetch_sub(1, std::memory_order_relaxed);
      Socket* child = static_cast<Socket*>(obj);
      child->nonblocking.store((flags & SOCK_NONBLOCK) != 0, std::memory_order_relaxed);
      endpoint_to(child->remote, child->domain, addr, len);
      return static_cast<int>(child->index) + sockets::kFirstFd;
    }
    int error = 0;
    if (s->generation.load(std::memory_order_acquire) != gen) error = EBADF;
    else if (impl_->stopping.load(std::memory_order_acquire)) error = ENETDOWN;
    else if (!blocking) error = EAGAIN;
    if (error != 0) {
      s->waiters.fetch_sub(1, std::memory_order_relaxed);
      return fail(error);
    }
    sockets::futex_wait(s->seq, seen, kWaitSliceNs);
    s->waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

namespace {
// Sleeps until `ready(s)` holds, the socket is closed (EBADF), the runtime stops (ENETDOWN) or
// the deadline (ns, monotonic; < 0 none) passes (EAGAIN). Returns 0 when ready.
template <typename Ready>
int wait_until(Sockets::Impl& impl, Socket& s, uint32_t gen, Ready ready, int64_t deadline_ns = -1) {
  for (;;) {
    s.waiters.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = s.seq.load(std::memory_order_seq_cst);
    int result = -1;
    if (s.generation.load(std::memory_order_acquire) != gen) result = EBADF;
    else if (ready(s)) result = 0;
    else if (impl.stopping.load(std::memory_order_acquire)) result = ENETDOWN;
    int64_t slice = kWaitSliceNs;
    if (result < 0 && deadline_ns >= 0) {
      const int64_t left = deadline_ns - sockets::monotonic_ns();
      if (left <= 0) result = EAGAIN;
      slice = std::min(slice, left);
    }
    if (result >= 0) {
      s.waiters.fetch_sub(1, std::memory_order_relaxed);
      return result;
    }
    sockets::futex_wait(s.seq, seen, slice);
    s.waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

constexpr uint32_t kReadReady = EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP;
constexpr uint32_t kWriteReady = EPOLLOUT | EPOLLERR | EPOLLHUP;
}  // namespace

int Sockets::connect(int fd, const sockaddr* addr, socklen_t len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  std::unique_lock lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  Endpoint remote;
  if (!endpoint_from(addr, len, s->domain, &remote, &e)) return fail(e);
  switch (s->phase) {
    case Phase::listening: return fail(EINVAL);
    case Phase::accepted: return fail(EISCONN);
    case Phase::connecting:
      if (s->established.load(std::memory_order_acquire)) return fail(EISCONN);
      if (s->ended.load(std::memory_order_acquire)) {
        const int err = s->so_error.exchange(0, std::memory_order_relaxed);
        return fail(err != 0 ? err : ECONNABORTED);
      }
      if (!is_blocking(*s, 0)) return fail(EALREADY);
      break;  // a blocking connect() after a non-blocking one waits for it
    case Phase::open:
    case Phase::bound: {
      if (remote.port == 0 || remote.addr.is_unspecified()) return fail(ECONNREFUSED);
      if (!impl_->ensure_running()) return -1;
      const Stack& any = impl_->queues[0]->stack();
      // With a fixed source port only one queue owns the connection; otherwise take turns.
      s->queue = s->bound_port != 0
                     ? any.owner_queue(remote.addr, remote.port, s->bound_port)
                     : static_cast<uint16_t>(impl_->next_queue.fetch_add(1, std::memory_order_relaxed) % impl_->queues.size());
      Call call;
      call.op = Call::Op::connect;
      call.socket = s;
      call.generation = gen;
      call.remote = remote;
      if (!impl_->run_on(s->queue, call)) return -1;
      if (call.result < 0) return fail(call.error);
      s->phase = Phase::connecting;
      if (!is_blocking(*s, 0)) return fail(EINPROGRESS);
      break;
    }
  }
  lock.unlock();
  const int rc = wait_until(*impl_, *s, gen, [](Socket& x) {
    return x.established.load(std::memory_order_acquire) || x.ended.load(std::memory_order_acquire);
  });
  if (rc != 0) return fail(rc);
  if (s->ended.load(std::memory_order_acquire) && !s->established.load(std::memory_order_acquire)) {
    const int err = s->so_error.exchange(0, std::memory_order_relaxed);
    return fail(err != 0 ? err : ECONNREFUSED);
  }
  return 0;
}

namespace {
size_t iov_total(const iovec* iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; i++) t += iov[i].iov_len;
  return t;
}
}  // namespace

ssize_t Sockets::recv(int fd, void* buf, size_t len, int flags) {
  iovec v{buf, len};
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (s->phase == Phase::open || s->phase == Phase::bound || s->phase == Phase::listening) return fail(ENOTCONN);
  if (len == 0) return 0;
  const bool blocking = is_blocking(*s, flags);
  const bool wait_all = (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0 && blocking;
  size_t done = 0;
  for (;;) {
    // Nothing to read (as far as the lcore last said): a non-blocking read needs no round trip
    // to learn it; a blocking one waits on the lcore, which answers it when something comes.
    if (blocking || (s->events.load(std::memory_order_acquire) & kReadReady) != 0 ||
        s->generation.load(std::memory_order_acquire) != gen) {
      iovec part{static_cast<char*>(v.iov_base) + done, len - done};
      Call call;
      call.op = Call::Op::read;
      call.socket = s;
      call.generation = gen;
      call.iov = &part;
      call.iovcnt = 1;
      call.flags = flags;
      call.park = blocking;
      if (!impl_->run_on(s->queue, call)) return done > 0 ? static_cast<ssize_t>(done) : -1;
      if (call.result > 0) {
        done += static_cast<size_t>(call.result);
        if (!wait_all || done == len) return static_cast<ssize_t>(done);
        continue;
      }
      if (call.result == 0) return static_cast<ssize_t>(done);  // end of stream
      if (call.error != EAGAIN) return done > 0 ? static_cast<ssize_t>(done) : fail(call.error);
    }
    if (!blocking) return done > 0 ? static_cast<ssize_t>(done) : fail(EAGAIN);
    // Another thread's read is parked on this socket: wait for readiness instead.
    const int rc = wait_until(*impl_, *s, gen, [](Socket& x) { return (x.events.load(std::memory_order_acquire) & kReadReady) != 0; });
    if (rc != 0) return done > 0 ? static_cast<ssize_t>(done) : fail(rc);
  }
}

ssize_t Sockets::read(int fd, void* buf, size_t len) { return recv(fd, buf, len, 0); }

ssize_t Sockets::readv(int fd, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (s->phase == Phase::open || s->phase == Phase::bound || s->phase == Phase::listening) return fail(ENOTCONN);
  if (iov_total(iov, iovcnt) == 0) return 0;
  const bool blocking = is_blocking(*s, 0);
  for (;;) {
    if (blocking || (s->events.load(std::memory_order_acquire) & kReadReady) != 0) {
      Call call;
      call.op = Call::Op::read;
      call.socket = s;
      call.generation = gen;
      call.iov = iov;
      call.iovcnt = iovcnt;
      call.park = blocking;
      if (!impl_->run_on(s->queue, call)) return -1;
      if (call.result >= 0) return call.result;
      if (call.error != EAGAIN) return fail(call.error);
    }
    if (!blocking) return fail(EAGAIN);
    const int rc = wait_until(*impl_, *s, gen, [](Socket& x) { return (x.events.load(std::memory_order_acquire) & kReadReady) != 0; });
    if (rc != 0) return fail(rc);
  }
}

ssize_t Sockets::writev(int fd, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (s->phase == Phase::open || s->phase == Phase::bound || s->phase == Phase::listening) return fail(ENOTCONN);
  const size_t want = iov_total(iov, iovcnt);
  if (want == 0) return 0;
  const bool blocking = is_blocking(*s, 0);
  // A blocking write returns when every byte is queued (or an error ends it early, returning
  // what was queued); the iovec array is walked past what each round took.
  std::vector<iovec> rest;
  size_t rest_first = 0;  // rest[rest_first..] is what remains
  const iovec* cur = iov;
  int cur_n = iovcnt;
  size_t done = 0;
  for (;;) {
    Call call;
    call.op = Call::Op::write;
    call.socket = s;
    call.generation = gen;
    call.iov = cur;
    call.iovcnt = cur_n;
    if (!impl_->run_on(s->queue, call)) return done > 0 ? static_cast<ssize_t>(done) : -1;
    if (call.result > 0) {
      done += static_cast<size_t>(call.result);
      if (!blocking || done == want) return static_cast<ssize_t>(done);
      // Skip what was taken, in a copy of the caller's array made once (assigning `rest` from
      // itself, as this did from the second round on, is undefined behaviour).
      if (rest.empty()) rest.assign(iov, iov + iovcnt);
      size_t skip = static_cast<size_t>(call.result);
      while (rest_first < rest.size() && skip >= rest[rest_first].iov_len) skip -= rest[rest_first++].iov_len;
      rest[rest_first].iov_base = static_cast<char*>(rest[rest_first].iov_base) + skip;  // done < want: one is left
      rest[rest_first].iov_len -= skip;
      cur = rest.data() + rest_first;
      cur_n = static_cast<int>(rest.size() - rest_first);
    } else if (call.error != EAGAIN) {
      return done > 0 ? static_cast<ssize_t>(done) : fail(call.error);
    } else if (!blocking) {
      return fail(EAGAIN);
    }
    const int rc = wait_until(*impl_, *s, gen, [](Socket& x) {
      return (x.events.load(std::memory_order_acquire) & kWriteReady) != 0;
    });
    if (rc != 0) return done > 0 ? static_cast<ssize_t>(done) : fail(rc);
  }
}

ssize_t Sockets::send(int fd, const void* buf, size_t len, int flags) {
  if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)) != 0) return fail(EOPNOTSUPP);
  if ((flags & MSG_DONTWAIT) != 0) {
    uint32_t gen = 0;
    int e = 0;
    Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
    if (s == nullptr) return fail(e);
    if (!s->nonblocking.load(std::memory_order_relaxed)) {
      // One non-blocking round: the same call with the blocking loop cut after its first try.
      iovec v{const_cast<void*>(buf), len};
      if (s->phase == Phase::open || s->phase == Phase::bound || s->phase == Phase::listening) return fail(ENOTCONN);
      if (len == 0) return 0;
      Call call;
      call.op = Call::Op::write;
      call.socket = s;
      call.generation = gen;
      call.iov = &v;
      call.iovcnt = 1;
      if (!impl_->run_on(s->queue, call)) return -1;
      return call.result >= 0 ? call.result : fail(call.error);
    }
  }
  iovec v{const_cast<void*>(buf), len};
  return writev(fd, &v, 1);
}

ssize_t Sockets::write(int fd, const void* buf, size_t len) {
  iovec v{const_cast<void*>(buf), len};
  return writev(fd, &v, 1);
}

int Sockets::shutdown(int fd, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(EINVAL);
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  std::lock_guard lock(s->mutex);
  if (s->phase == Phase::open || s->phase == Phase::bound) return fail(ENOTCONN);
  if (s->phase == Phase::listening) return fail(ENOTCONN);
  Call call;
  call.op = Call::Op::shutdown;
  call.socket = s;
  call.generation = gen;
  call.how = how;
  if (!impl_->run_on(s->queue, call)) return -1;
  return call.result < 0 ? fail(call.error) : 0;
}

int Sockets::close(int fd) {
  uint32_t gen = 0;
  int e = 0;
  Kind kind = Kind::tcp;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr && e == ENOTSOCK) {
    kind = Kind::epoll;
    s = impl_->lookup(fd, Kind::epoll, &gen, &e);
  }
  if (s == nullptr) return fail(e);
  std::unique_lock lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  // From here every call on this socket, and every thread sleeping on it, sees EBADF.
  s->generation.fetch_add(1, std::memory_order_seq_cst);
  s->seq.fetch_add(1, std::memory_order_seq_cst);
  sockets::futex_wake_all(s->seq);
  if (kind == Kind::epoll) {
    {
      std::lock_guard ep_lock(s->ep_mutex);
      s->ready.clear();
      for (Socket& member : s->interest) member.ep_index.store(sockets::kNoIndex, std::memory_order_relaxed);
      s->interest.clear();
    }
    s->ep_seq.fetch_add(1, std::memory_order_seq_cst);
    sockets::futex_wake_all(s->ep_seq);
    lock.unlock();
    impl_->release(*s);
    return 0;
  }
  const Phase phase = s->phase;
  if ((phase == Phase::connecting || phase == Phase::accepted) && s->linger_on && s->linger_s > 0 &&
      !s->ended.load(std::memory_order_acquire)) {
    // SO_LINGER {1, N}: the FIN goes now and close() waits for its ACK, at most N seconds (on
    // the lcore: the wait is a parked call, answered by its on_poll). Under the new generation
    // the socket is closed to every other call already.
    Call call;
    call.op = Call::Op::linger;
    call.socket = s;
    call.how = s->linger_s;  // seconds
    impl_->run_on(s->queue, call);
  }
  impl_->epoll_forget(*s);
  unbind(*impl_, *s);
  if (phase == Phase::listening) {
    for (uint16_t q = 0; q < s->bindings.size(); q++) {
      Call call;
      call.op = Call::Op::unlisten;
      call.socket = s;
      call.port = s->bound_port;
      impl_->run_on(q, call);
    }
    s->bindings.clear();
    reset_unaccepted(*impl_, *s);  // the ring stays with the entry (see Socket::accept_ring)
  }
  const bool has_connection = phase == Phase::connecting || phase == Phase::accepted;
  lock.unlock();
  if (has_connection) {
    // The lcore closes the connection and frees the entry, after which nothing of it is touched.
    Call call;
    call.op = Call::Op::close;
    call.socket = s;
    if (!impl_->run_on(s->queue, call)) impl_->release(*s);
  } else {
    impl_->release(*s);
  }
  return 0;
}

int Sockets::getsockname(int fd, sockaddr* addr, socklen_t* len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (len == nullptr) return fail(EFAULT);
  std::lock_guard lock(s->mutex);
  Endpoint local{s->bound_addr, s->bound_port};
  if (s->phase == Phase::accepted || s->phase == Phase::connecting) local = s->local;
  endpoint_to(local, s->domain, addr, len);
  return 0;
}

int Sockets::getpeername(int fd, sockaddr* addr, socklen_t* len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (len == nullptr) return fail(EFAULT);
  if (!s->established.load(std::memory_order_acquire) || s->ended.load(std::memory_order_acquire)) return fail(ENOTCONN);
  endpoint_to(s->remote, s->domain, addr, len);
  return 0;
}

int Sockets::fcntl(int fd, int cmd, int arg) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr && e == ENOTSOCK) s = impl_->lookup(fd, Kind::epoll, &gen, &e);
  if (s == nullptr) return fail(e);
  switch (cmd) {
    case F_GETFL: return O_RDWR | (s->nonblocking.load(std::memory_order_relaxed) ? O_NONBLOCK : 0);
    case F_SETFL: s->nonblocking.store((arg & O_NONBLOCK) != 0, std::memory_order_relaxed); return 0;
    case F_GETFD: return 0;
    case F_SETFD: return 0;
    default: return fail(EINVAL);
  }
}

int Sockets::ioctl(int fd, unsigned long request, int* arg) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (arg == nullptr) return fail(EFAULT);
  switch (request) {
    case FIONREAD:
      if (s->phase == Phase::listening) return fail(EINVAL);
      *arg = static_cast<int>(std::min<uint32_t>(s->readable_bytes.load(std::memory_order_acquire), INT_MAX));
      return 0;
    case FIONBIO:
      s->nonblocking.store(*arg != 0, std::memory_order_relaxed);
      return 0;
    default: return fail(ENOTTY);
  }
}

}  // namespace dtcp
