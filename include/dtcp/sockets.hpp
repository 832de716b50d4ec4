// dtcp sockets: POSIX-style TCP sockets over dtcp, callable from any thread of the process.
//
// When to use which API. The callback API (dtcp/tcp.hpp) runs on the lcore that owns a
// connection, never blocks and never crosses a thread: it is the fast path, for code written
// for dtcp. The sockets API is for threads of your own and for code written against BSD
// sockets: every call that needs the connection travels to its owning lcore over that lcore's
// message ring and waits for the answer (a round trip between threads, see the README for the
// measured cost of each), while readiness (poll, epoll, EAGAIN) is read from state the lcore
// publishes, without a round trip.
//
// Model.
//  - Sockets are small integers (from 3 up) in dtcp's own table, not kernel file descriptors:
//    pass them only to these functions. A freed socket is reused last (first in, first out),
//    and every table entry carries a generation, so a call racing with close() of the same
//    socket sees EBADF rather than another connection.
//  - Calls return what their POSIX namesakes return and set errno: -1 with EAGAIN, ECONNREFUSED,
//    ECONNRESET, EPIPE, ETIMEDOUT, EINPROGRESS, ENOTCONN, EADDRINUSE, EBADF, ... Writes never
//    raise SIGPIPE (as if MSG_NOSIGNAL were always given).
//  - Blocking calls sleep on a futex, never spin, while the lcores go on running timers and
//    traffic; O_NONBLOCK (socket type flag, fcntl or accept4) and MSG_DONTWAIT make them return
//    EAGAIN instead.
//  - Bytes are copied once, by the owning lcore, between the caller's buffer and the
//    connection's mbufs; nothing is staged in between.
//  - A listening socket is installed on every queue of the port (each queue accepts the
//    connections RSS gives it) and all of them feed one accept queue. connect() picks the next
//    queue in turn (or, after bind() to a port, the queue that owns the connection).
//  - close() from one thread while another is blocked in read(), write(), accept() or
//    connect() on the same socket wakes it with EBADF; shutdown(SHUT_RD) wakes a reader with 0.
//  - epoll: one epoll instance per socket (EBUSY for a second; Linux allows several), level-
//    or edge-triggered, EPOLLONESHOT, EPOLLIN/OUT/RDHUP/HUP/ERR as Linux's tcp_poll() reports
//    them.
//
// Lifetime. Build Sockets before Runtime::run() and pass app_factory() to it; the layer binds
// to one port (Options::port, by default the first). Calls made before the queues started wait
// for them; calls after the runtime stopped return ENETDOWN. Order at the end: Runtime::account()
// (or shutdown(): its teardown still calls the layer's handlers), then destroy Sockets, then the
// Runtime (EAL goes with it, and the accept queues are DPDK rings).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dtcp/runtime.hpp"

namespace dtcp {

class Sockets {
 public:
  struct Options {
    // Sockets and epoll instances together (the table is allocated once, ~0.5 KiB an entry).
    uint32_t max_sockets = 65536;
    // Name of the port (the [port.NAME] suffix) whose queues the sockets use; empty = the first.
    std::string port;
  };

  Sockets();
  explicit Sockets(const Options& options);
  ~Sockets();
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;

  // The factory to hand to Runtime::run(). `inner`, when given, is called for every Stack too
  // and its App runs beside the sockets layer's (on_start/on_poll/on_stop in that order).
  AppFactory app_factory(AppFactory inner = nullptr);
  // Blocks until every queue of the port runs the layer (true) or `timeout` passes (false).
  bool wait_running(Duration timeout) const;

  // ---- BSD socket calls (AF_INET and AF_INET6, SOCK_STREAM; SOCK_NONBLOCK accepted) ----
  int socket(int domain, int type, int protocol);
  int bind(int fd, const sockaddr* addr, socklen_t len);
  int listen(int fd, int backlog);
  int accept(int fd, sockaddr* addr, socklen_t* len);
  int accept4(int fd, sockaddr* addr, socklen_t* len, int flags);  // SOCK_NONBLOCK
  int connect(int fd, const sockaddr* addr, socklen_t len);
  ssize_t read(int fd, void* buf, size_t len);
  ssize_t readv(int fd, const iovec* iov, int iovcnt);
  ssize_t recv(int fd, void* buf, size_t len, int flags);  // MSG_DONTWAIT, MSG_WAITALL, MSG_PEEK
  ssize_t write(int fd, const void* buf, size_t len);
  ssize_t writev(int fd, const iovec* iov, int iovcnt);
  ssize_t send(int fd, const void* buf, size_t len, int flags);  // MSG_DONTWAIT, MSG_NOSIGNAL
  int shutdown(int fd, int how);
  int close(int fd);
  int getsockname(int fd, sockaddr* addr, socklen_t* len);
  int getpeername(int fd, sockaddr* addr, socklen_t* len);
  // SOL_SOCKET: SO_REUSEADDR, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_LINGER, SO_ERROR, SO_TYPE,
  // SO_DOMAIN, SO_ACCEPTCONN. IPPROTO_TCP: TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
  // TCP_MAXSEG, TCP_INFO (struct tcp_info of <netinet/tcp.h>, get only). Others: ENOPROTOOPT.
  int getsockopt(int fd, int level, int name, void* value, socklen_t* len);
  int setsockopt(int fd, int level, int name, const void* value, socklen_t len);
  // F_GETFL / F_SETFL (O_NONBLOCK); others EINVAL.
  int fcntl(int fd, int cmd, int arg = 0);
  // FIONREAD (bytes readable), FIONBIO (int*: non-zero = non-blocking).
  int ioctl(int fd, unsigned long request, int* arg);
  int poll(pollfd* fds, nfds_t nfds, int timeout_ms);

  int epoll_create1(int flags);
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event);
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms);

  // Sockets in use (TCP and epoll), for leak checks.
  uint32_t open_sockets() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dtcp
