#include "loadgen/kernel_backend.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace dtcp::loadgen {
namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr int kMaxEvents = 256;
// Listeners are told apart from connections in epoll data by this bit.
constexpr uint64_t kListenerTag = uint64_t{1} << 63;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

ErrorKind kind_of(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return ErrorKind::refused;
    case ETIMEDOUT:
      return ErrorKind::timeout;
    case ECONNRESET:
    case EPIPE:
      return ErrorKind::reset;
    default:
      return ErrorKind::local;
  }
}

// Waits for events until `deadline` (monotonic ns; nanosecond resolution via epoll_pwait2).
int wait_events(int epoll_fd, epoll_event* events, Nanos timeout) {
  timeout = std::clamp<Nanos>(timeout, 0, 100'000'000);  // wake at least every 100 ms for stop
  timespec ts{static_cast<time_t>(timeout / kNanosPerSecond), static_cast<long>(timeout % kNanosPerSecond)};
  return epoll_pwait2(epoll_fd, events, kMaxEvents, &ts, nullptr);
}

void set_int(int fd, int level, int name, int value) { setsockopt(fd, level, name, &value, sizeof(value)); }

}  // namespace

Nanos monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

// ---- client ----

namespace {

// sockaddr_in or sockaddr_in6 for an address of either family; returns its length.
socklen_t to_sockaddr(const wire::IpAddr& a, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(a.v4().value);
    sin->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  std::memcpy(sin6->sin6_addr.s6_addr, a.bytes.data(), 16);
  sin6->sin6_port = htons(port);
  return sizeof(sockaddr_in6);
}

}  // namespace

KernelClient::KernelClient(const LoadSpec& spec, const wire::IpAddr& target, uint16_t port, LiveCounters* live)
    : spec_(spec),
      target_len_(to_sockaddr(target, port, target_)),
      sockets_(spec.connections),
      buffer_(new std::byte[kBufferSize]),
      engine_(spec, *this, live) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw SocketError(errno_text("epoll_create1"));
}

KernelClient::~KernelClient() {
  for (auto& s : sockets_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Transport::OpenStatus KernelClient::open(uint32_t slot, Source source, ErrorKind& error) {
  const int fd = socket(target_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = ErrorKind::local;
    return OpenStatus::failed;
  }
  set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (spec_.mode != Mode::bulk) set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (!source.addr.is_unspecified() || source.port != 0) {
    // Without a port, let connect() choose it per 4-tuple rather than per address at bind().
    if (source.port == 0) set_int(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    sockaddr_storage local{};
    const wire::IpAddr any = target_.ss_family == AF_INET ? wire::IpAddr(wire::Ipv4Addr{}) : wire::IpAddr{};
    const socklen_t local_len = to_sockaddr(source.addr.is_unspecified() ? any : source.addr, source.port, local);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), local_len) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EADDRINUSE) return OpenStatus::tuple_busy;
      error = ErrorKind::local;
      return OpenStatus::failed;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target_), target_len_) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    // EADDRNOTAVAIL: no free port towards the target from this address; EADDRINUSE: this exact
    // 4-tuple is taken (an explicit port).
    if (err == EADDRNOTAVAIL || err == EADDRINUSE) return OpenStatus::tuple_busy;
    error = kind_of(err);
    return OpenStatus::failed;
  }
  Socket& s = sockets_[slot];
  s.fd = fd;
  s.generation++;
  s.connecting = true;
  s.want_write = true;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = slot | (uint64_t{s.generation} << 32);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    s.fd = -1;
    error = ErrorKind::local;
    return OpenStatus::failed;
  }
  return OpenStatus::ok;
}

void KernelClient::set_events(uint32_t slot, Socket& s, bool want_write) {
  if (s.want_write == want_write) return;
  s.want_write = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = slot | (uint64_t{s.generation} << 32);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
}

size_t KernelClient::send(uint32_t slot, std::span<const std::byte> data) {
  Socket& s = sockets_[slot];
  if (s.fd < 0 || data.empty()) return 0;
  const ssize_t n = ::send(s.fd, data.data(), data.size(), MSG_NOSIGNAL);
  const size_t took = n > 0 ? static_cast<size_t>(n) : 0;
  // A short write asks for EPOLLOUT; errors (EPIPE, ECONNRESET) surface as EPOLLERR/read errors.
  if (took < data.size()) set_events(slot, s, true);
  return took;
}

void KernelClient::drop(uint32_t slot, bool reset) {
  Socket& s = sockets_[slot];
  if (s.fd < 0) return;
  if (reset) {
    const linger l{1, 0};  // close() then sends RST
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  ::close(s.fd);  // also leaves the epoll set
  s.fd = -1;
  s.generation++;
  s.connecting = false;
  s.want_write = false;
}

void KernelClient::close(uint32_t slot) { drop(slot, false); }
void KernelClient::abort(uint32_t slot) { drop(slot, true); }

void KernelClient::handle(uint32_t slot, uint32_t events) {
  Socket& s = sockets_[slot];
  const uint32_t generation = s.generation;
  auto gone = [&] { return s.fd < 0 || s.generation != generation; };
  if (s.connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      drop(slot, false);
      engine_.on_error(slot, kind_of(err), now_);
      return;
    }
    s.connecting = false;
    set_events(slot, s, false);
    engine_.on_connected(slot, now_);
    if (gone()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    for (int i = 0; i < 4; i++) {
      const ssize_t n = ::recv(s.fd, buffer_.get(), kBufferSize, 0);
      if (n > 0) {
        engine_.on_data(slot, {buffer_.get(), static_cast<size_t>(n)}, now_);
        if (gone()) return;
        if (static_cast<size_t>(n) < kBufferSize) break;
        continue;
      }
      if (n == 0) {
        engine_.on_peer_closed(slot, now_);
        if (!gone()) drop(slot, false);  // the engine lets an idle connection go quietly
        return;
      }
      if (errno == EAGAIN || errno == EINTR) break;
      const ErrorKind kind = kind_of(errno);
      drop(slot, false);
      engine_.on_error(slot, kind, now_);
      return;
    }
  }
  if ((events & EPOLLOUT) && s.want_write) {
    set_events(slot, s, false);
    engine_.on_writable(slot, now_);
  }
}

void KernelClient::run(const std::atomic<bool>& stop) {
  now_ = monotonic_now();
  engine_.start(now_);
  epoll_event events[kMaxEvents];
  while (!engine_.finished() && !stop.load(std::memory_order_relaxed)) {
    const int n = wait_events(epoll_fd_, events, engine_.next_wakeup(now_) - now_);
    now_ = monotonic_now();
    for (int i = 0; i < n; i++) {
      const auto slot = static_cast<uint32_t>(events[i].data.u64);
      const auto generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
      // An event for a socket closed earlier in this batch belongs to nobody.
      if (sockets_[slot].fd < 0 || sockets_[slot].generation != generation) continue;
      handle(slot, events[i].events);
    }
    engine_.poll(now_);
  }
  if (!engine_.finished()) engine_.interrupt(monotonic_now());
}

// ---- server ----

KernelServer::KernelServer(const std::vector<KernelListen>& listens, const wire::IpAddr& bind_addr)
    : buffer_(new std::byte[kBufferSize]) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw SocketError(errno_text("epoll_create1"));
  for (const auto& l : listens) {
    sockaddr_storage addr{};
    socklen_t addr_len = to_sockaddr(bind_addr, l.port, addr);
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == EAFNOSUPPORT && bind_addr == wire::IpAddr{}) {
      // The default "::" on a host without IPv6 (ipv6.disable=1, some containers): IPv4 only,
      // as before the default was dual-stack.
      addr_len = to_sockaddr(wire::Ipv4Addr{}, l.port, addr);
      fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) throw SocketError(errno_text("socket"));
    listen_fds_.push_back(fd);
    set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // "::" takes IPv4 connections too, as IPv4-mapped addresses (RFC 3493 §3.7).
    if (addr.ss_family == AF_INET6) set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
      throw SocketError("bind port " + std::to_string(l.port) + ": " + std::strerror(errno));
    }
    if (listen(fd, 4096) != 0) throw SocketError(errno_text("listen"));
    contents_.push_back(std::make_unique<ServerContent>(l.spec));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | (listen_fds_.size() - 1);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw SocketError(errno_text("epoll_ctl"));
  }
}

KernelServer::~KernelServer() {
  for (auto& c : conns_) {
    if (c && c->fd >= 0) ::close(c->fd);
  }
  for (int fd : listen_fds_) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void KernelServer::accept_all(size_t listener) {
  for (;;) {
    const int fd = accept4(listen_fds_[listener], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection reset before we took it
    accepted_++;
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 1);
    auto& slot = conns_[static_cast<size_t>(fd)];
    const ServerContent& content = *contents_[listener];
    if (!slot) slot = std::make_unique<Conn>(content);
    else slot->session.reset(content);
    slot->fd = fd;
    slot->peer_closed = false;
    slot->want_write = false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    // A source starts sending at once.
    if (content.spec().mode == ServeMode::source) flush(*slot);
  }
}

void KernelServer::finish(Conn& c) {
  ::close(c.fd);
  c.fd = -1;
}

void KernelServer::flush(Conn& c) {
  for (auto pending = c.session.pending(); !pending.empty(); pending = c.session.pending()) {
    const ssize_t n = ::send(c.fd, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN) return finish(c);
      break;
    }
    c.session.sent(static_cast<size_t>(n));
    if (static_cast<size_t>(n) < pending.size()) break;
  }
  const bool blocked = !c.session.pending().empty();
  if (!blocked && (c.session.done() || c.peer_closed)) return finish(c);
  if (blocked != c.want_write) {
    c.want_write = blocked;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (blocked ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = static_cast<uint64_t>(c.fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void KernelServer::serve(int fd, uint32_t events) {
  Conn& c = *conns_[static_cast<size_t>(fd)];
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    for (int i = 0; i < 4 && !c.peer_closed; i++) {
      const ssize_t n = ::recv(fd, buffer_.get(), kBufferSize, 0);
      if (n > 0) {
        c.session.on_data({buffer_.get(), static_cast<size_t>(n)});
        if (static_cast<size_t>(n) < kBufferSize) break;
      } else if (n == 0) {
        c.peer_closed = true;
        // A stream without requests ends with the peer.
        const ServeMode mode = c.session.content().spec().mode;
        if (mode == ServeMode::source || mode == ServeMode::sink) return finish(c);
      } else {
        if (errno == EAGAIN || errno == EINTR) break;
        return finish(c);  // reset
      }
    }
  }
  flush(c);
}

void KernelServer::run(const std::atomic<bool>& stop) {
  epoll_event events[kMaxEvents];
  while (!stop.load(std::memory_order_relaxed)) {
    const int n = wait_events(epoll_fd_, events, 100'000'000);
    for (int i = 0; i < n; i++) {
      const uint64_t data = events[i].data.u64;
      if (data & kListenerTag) {
        accept_all(static_cast<size_t>(data & ~kListenerTag));
        continue;
      }
      const int fd = static_cast<int>(data);
      if (static_cast<size_t>(fd) < conns_.size() && conns_[fd] && conns_[fd]->fd == fd) serve(fd, events[i].events);
    }
  }
}

}  // namespace dtcp::loadgen
