// The lcore half of the sockets layer: runs the calls threads post, turns connection events
// into published readiness, and accepts connections into listeners' accept queues.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sockets/futex.hpp"
#include "sockets/table.hpp"

namespace dtcp::sockets {

int errno_of(CloseReason reason) {
  switch (reason) {
    case CloseReason::normal: return 0;
    case CloseReason::reset_by_peer: return ECONNRESET;
    case CloseReason::refused: return ECONNREFUSED;
    case CloseReason::timed_out: return ETIMEDOUT;
    case CloseReason::aborted: return ECONNABORTED;
    case CloseReason::no_memory: return ENOMEM;
    case CloseReason::unreachable: return EHOSTUNREACH;
  }
  return EIO;
}

namespace {

int errno_of(ConnectError error, bool explicit_source) {
  switch (error) {
    case ConnectError::ok: return 0;
    case ConnectError::invalid_address: return explicit_source ? EADDRNOTAVAIL : ENETUNREACH;
    case ConnectError::no_ephemeral_port: return EADDRNOTAVAIL;  // as Linux when the range is used up
    case ConnectError::address_in_use: return EADDRINUSE;
    case ConnectError::no_connection: return ENOBUFS;
    case ConnectError::no_mbuf: return ENOBUFS;
  }
  return EIO;
}

Socket* socket_of(Connection& c) { return static_cast<Socket*>(c.user_data); }

}  // namespace

// ---- events ---------------------------------------------------------------------------------

void QueueSockets::publish(Socket& s, Connection* c, bool edge) {
  if (Call* parked = s.parked_read; parked != nullptr) {
    const bool readable = s.leftover_pos < s.leftover.size() ||
                          (c != nullptr && s.established.load(std::memory_order_relaxed) && c->readable() > 0);
    if (readable || s.peer_fin || s.rd_shut || s.ended.load(std::memory_order_relaxed) ||
        s.so_error.load(std::memory_order_relaxed) != 0) {
      s.parked_read = nullptr;
      parked->parked = false;
      parked->park = false;
      do_read(*parked, s, c);  // publishes the readiness it leaves
      complete(*parked);
    }
  }
  // Linux's tcp_poll(): HUP once both directions are shut (or the connection is gone), IN|RDHUP
  // once the peer's FIN (or our SHUT_RD) ends the read side, OUT while the write side is shut
  // (a write fails at once rather than blocking), ERR while an error is pending.
  uint32_t ev = 0;
  size_t readable = s.leftover.size() - s.leftover_pos;
  size_t space = 0;
  if (s.ended.load(std::memory_order_relaxed)) {
    ev |= EPOLLHUP | EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLOUT | EPOLLWRNORM;
  } else if (c != nullptr) {
    if (s.rd_shut && s.wr_shut) ev |= EPOLLHUP;
    if (s.peer_fin || s.rd_shut) ev |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if (s.established.load(std::memory_order_relaxed)) {
      readable += c->readable();
      if (s.wr_shut) {
        ev |= EPOLLOUT | EPOLLWRNORM;
      } else {
        space = c->send_space();
        if (space > 0) ev |= EPOLLOUT | EPOLLWRNORM;
      }
    }
  }
  if (readable > 0) ev |= EPOLLIN | EPOLLRDNORM;
  if (s.so_error.load(std::memory_order_relaxed) != 0) ev |= EPOLLERR;
  s.readable_bytes.store(static_cast<uint32_t>(std::min<size_t>(readable, UINT32_MAX)), std::memory_order_relaxed);
  s.send_space.store(static_cast<uint32_t>(std::min<size_t>(space, UINT32_MAX)), std::memory_order_relaxed);
  const uint32_t old = s.events.exchange(ev, std::memory_order_release);
  s.seq.fetch_add(1, std::memory_order_seq_cst);
  if (s.waiters.load(std::memory_order_seq_cst) != 0) futex_wake_all(s.seq);
  if (edge || ev != old) impl_.notify_epoll(s, ev);
  impl_.notify_pollers();
}

void QueueSockets::on_connected(Connection& c) {
  Socket& s = *socket_of(c);
  s.local = c.local();
  s.remote = c.remote();
  s.established.store(true, std::memory_order_release);
  publish(s, &c, true);
}

void QueueSockets::on_readable(Connection& c) { publish(*socket_of(c), &c, true); }
void QueueSockets::on_writable(Connection& c) { publish(*socket_of(c), &c, true); }

void QueueSockets::on_peer_closed(Connection& c) {
  Socket& s = *socket_of(c);
  s.peer_fin = true;
  publish(s, &c, true);
}

void QueueSockets::on_closed(Connection& c, CloseReason reason) {
  Socket& s = *socket_of(c);
  // The bytes of a normal close stay readable only while on_closed() runs: keep them for the
  // reader (a rare path: both FINs went by before the application read everything).
  if (reason == CloseReason::normal && c.readable() > 0) {
    const size_t old = s.leftover.size() - s.leftover_pos;
    std::vector<std::byte> bytes(old + c.readable());
    if (old > 0) std::memcpy(bytes.data(), s.leftover.data() + s.leftover_pos, old);  // data() may be null
    c.read(std::span<std::byte>(bytes).subspan(old));
    s.leftover = std::move(bytes);
    s.leftover_pos = 0;
  }
  if (const int e = sockets::errno_of(reason); e != 0) s.so_error.store(e, std::memory_order_relaxed);
  s.conn = {};
  s.ended.store(true, std::memory_order_release);
  publish(s, nullptr, true);
  end_linger(s, true);  // a lingering close waits no longer for a connection that is gone
}

ConnectionHandler* ListenBinding::on_accept(Connection& c) {
  Sockets::Impl& impl = queue->impl();
  Socket* child = impl.allocate(Kind::tcp);
  if (child == nullptr) return nullptr;  // the socket table is full: RST, as a full pool does
  child->domain = listener->domain;
  child->phase = Phase::accepted;
  child->queue = queue->stack().queue_id();
  child->conn = c.id();
  child->local = c.local();
  child->remote = c.remote();
  // Linux's sk_clone_lock(): the accepted socket starts with the listener's options (as they
  // were at listen(): the binding's copy, which the listener's thread no longer writes).
  child->nodelay = inherited.nodelay;
  child->keepalive = inherited.keepalive;
  child->keepidle_s = inherited.keepidle_s;
  child->keepintvl_s = inherited.keepintvl_s;
  child->keepcnt = inherited.keepcnt;
  child->sndbuf = inherited.sndbuf;
  child->rcvbuf = inherited.rcvbuf;
  child->linger_on = inherited.linger_on;
  child->linger_s = inherited.linger_s;
  child->maxseg = inherited.maxseg;
  child->established.store(true, std::memory_order_relaxed);
  c.user_data = child;
  apply_options(*child, c);  // the buffer sizes; nodelay and keep-alive came with ListenOptions
  queue->publish(*child, &c, false);
  if (rte_ring_mp_enqueue(listener->accept_ring.load(std::memory_order_relaxed), child) != 0) {
    // The accept queue is full (listen()'s backlog): refuse, as a full SYN backlog would.
    child->conn = {};
    child->generation.fetch_add(1, std::memory_order_relaxed);
    impl.release(*child);
    return nullptr;
  }
  listener->events.fetch_or(EPOLLIN | EPOLLRDNORM, std::memory_order_release);
  listener->seq.fetch_add(1, std::memory_order_seq_cst);
  if (listener->waiters.load(std::memory_order_seq_cst) != 0) futex_wake_all(listener->seq);
  impl.notify_epoll(*listener, EPOLLIN | EPOLLRDNORM);
  impl.notify_pollers();
  return queue;
}

// ---- calls ----------------------------------------------------------------------------------

void QueueSockets::run_call(Stack&, void* ctx, uint64_t arg) {
  Call& call = *static_cast<Call*>(ctx);
  reinterpret_cast<QueueSockets*>(arg)->execute(call);
  if (!call.parked) complete(call);
}

void QueueSockets::complete(Call& call) {
  if (call.state.exchange(Call::kDone, std::memory_order_acq_rel) == Call::kSleeping) futex_wake_all(call.state);
}

void QueueSockets::execute(Call& call) {
  Socket& s = *call.socket;
  const bool owner_call = call.op == Call::Op::close || call.op == Call::Op::abort_child || call.op == Call::Op::linger ||
                          call.op == Call::Op::unlisten;
  if (!owner_call && s.generation.load(std::memory_order_acquire) != call.generation) {
    call.result = -1;
    call.error = EBADF;
    return;
  }
  Connection* c = connection(s);
  switch (call.op) {
    case Call::Op::connect:
      do_connect(call, s);
      return;
    case Call::Op::listen: {
      ListenOptions o;
      o.nodelay = s.nodelay;
      o.keepalive = s.keepalive;
      if (s.keepidle_s > 0) o.keepalive_idle = std::chrono::seconds(s.keepidle_s);
      if (s.keepintvl_s > 0) o.keepalive_interval = std::chrono::seconds(s.keepintvl_s);
      if (s.keepcnt > 0) o.keepalive_probes = static_cast<uint32_t>(s.keepcnt);
      // Linux: accepted sockets inherit the listener's SO_SNDBUF / SO_RCVBUF, and the SYN-ACK's
      // window follows SO_RCVBUF.
      if (s.sndbuf > 0) o.send_buffer = static_cast<uint32_t>(s.sndbuf);
      if (s.rcvbuf > 0) o.recv_buffer = static_cast<uint32_t>(s.rcvbuf);
      if (s.domain == AF_INET) o.family = wire::IpFamily::v4;
      else if (s.v6only) o.family = wire::IpFamily::v6;
      const ListenResult r = stack_.listen(call.port, *call.binding, o);
      if (!r.ok()) {
        call.result = -1;
        call.error = r.error == ListenError::port_in_use ? EADDRINUSE : (r.error == ListenError::too_many_listeners ? ENOBUFS : EINVAL);
      }
      return;
    }
    case Call::Op::unlisten:
      stack_.unlisten(call.port);
      return;
    case Call::Op::read:
      do_read(call, s, c);
      return;
    case Call::Op::write:
      do_write(call, s, c);
      return;
    case Call::Op::shutdown:
      if (call.how == SHUT_RD || call.how == SHUT_RDWR) s.rd_shut = true;
      if (call.how == SHUT_WR || call.how == SHUT_RDWR) {
        s.wr_shut = true;
        if (c != nullptr) c->shutdown_write();
      }
      publish(s, c, true);
      return;
    case Call::Op::close:
      do_close(call, s, c, s.linger_on && s.linger_s == 0);
      return;
    case Call::Op::abort_child:
      do_close(call, s, c, true);
      return;
    case Call::Op::apply_options:
      if (c != nullptr) apply_options(s, *c);
      return;
    case Call::Op::info:
      fill_tcp_info(call, s, c);
      return;
    case Call::Op::linger:
      do_linger(call, s, c);
      return;
  }
}

// SO_LINGER with a timeout (socket(7)): close() sends the FIN after the queued data and blocks
// until the FIN is acknowledged or the time runs out; either way the close then goes on as
// usual (Linux's tcp_close() after sk_stream_wait_close(): no reset on the timeout).
void QueueSockets::do_linger(Call& call, Socket& s, Connection* c) {
  if (c == nullptr || s.parked_linger != nullptr) return;  // nothing to wait for
  call.deadline = stack_.now() + std::chrono::seconds(call.how);
  s.wr_shut = true;
  c->shutdown_write();
  publish(s, c, true);
  s.parked_linger = &call;
  call.parked = true;
  lingering_.push_back(&s);
  end_linger(s, false);
}

bool QueueSockets::end_linger(Socket& s, bool force) {
  Call* call = s.parked_linger;
  if (call == nullptr) return true;
  if (!force) {
    Connection* c = connection(s);
    const TcpState st = c != nullptr ? c->state() : TcpState::closed;
    const bool fin_unacked = st == TcpState::fin_wait_1 || st == TcpState::closing || st == TcpState::last_ack ||
                             st == TcpState::established || st == TcpState::close_wait ||
                             st == TcpState::syn_sent || st == TcpState::syn_received;
    if (fin_unacked && stack_.now() < call->deadline) return false;
  }
  s.parked_linger = nullptr;
  call->parked = false;
  call->result = 0;
  complete(*call);
  std::erase(lingering_, &s);
  return true;
}

void QueueSockets::do_connect(Call& call, Socket& s) {
  ConnectOptions o;
  o.local_port = s.bound_port;
  if (!s.bound_addr.is_unspecified()) o.local_address = s.bound_addr;
  o.nodelay = s.nodelay;
  o.keepalive = s.keepalive;
  if (s.keepidle_s > 0) o.keepalive_idle = std::chrono::seconds(s.keepidle_s);
  if (s.keepintvl_s > 0) o.keepalive_interval = std::chrono::seconds(s.keepintvl_s);
  if (s.keepcnt > 0) o.keepalive_probes = static_cast<uint32_t>(s.keepcnt);
  o.user_data = &s;
  const ConnectResult r = stack_.connect(call.remote.addr, call.remote.port, *this, o);
  if (!r.ok()) {
    call.result = -1;
    call.error = errno_of(r.error, !s.bound_addr.is_unspecified());
    return;
  }
  s.conn = r.connection->id();
  s.local = r.connection->local();
  s.remote = call.remote;
  // SO_SNDBUF/SO_RCVBUF set before connect() are for this connection (ConnectOptions has no
  // buffer sizes); applied before the SYN-ACK can arrive, so before any data.
  apply_options(s, *r.connection);
  publish(s, r.connection, false);
}

void QueueSockets::do_read(Call& call, Socket& s, Connection* c) {
  const bool peek = (call.flags & MSG_PEEK) != 0;
  size_t total = 0;
  for (int i = 0; i < call.iovcnt; i++) {
    std::span<std::byte> out(static_cast<std::byte*>(call.iov[i].iov_base), call.iov[i].iov_len);
    size_t got = 0;
    // A read has already moved leftover_pos past what earlier iovecs took; a peek has not.
    const size_t from = s.leftover_pos + (peek ? total : 0);
    if (from < s.leftover.size()) {
      got = std::min(out.size(), s.leftover.size() - from);
      std::memcpy(out.data(), s.leftover.data() + from, got);
      if (!peek) s.leftover_pos += got;
    } else if (c != nullptr) {
      if (peek) {
        // Copy without consuming: walk the readable views past what earlier iovecs took.
        std::array<std::span<const std::byte>, 64> views;
        const size_t k = c->peek(views);
        size_t skip = total, at = 0;
        for (size_t v = 0; v < k && at < out.size(); v++) {
          auto view = views[v];
          if (skip >= view.size()) {
            skip -= view.size();
            continue;
          }
          view = view.subspan(skip);
          skip = 0;
          const size_t n = std::min(view.size(), out.size() - at);
          std::memcpy(out.data() + at, view.data(), n);
          at += n;
        }
        got = at;
      } else {
        got = c->read(out);
      }
    }
    total += got;
    if (got < out.size()) break;
  }
  if (s.leftover_pos == s.leftover.size() && !s.leftover.empty()) {
    s.leftover.clear();
    s.leftover_pos = 0;
  }
  if (total > 0) {
    call.result = static_cast<ssize_t>(total);
  } else if (const int e = s.so_error.exchange(0, std::memory_order_relaxed); e != 0) {
    call.result = -1;
    call.error = e;
  } else if (s.rd_shut || s.peer_fin || s.ended.load(std::memory_order_relaxed)) {
    call.result = 0;
  } else if (call.park && s.parked_read == nullptr && !stopped()) {
    s.parked_read = &call;  // publish() answers it
    call.parked = true;
    return;
  } else {
    call.result = -1;
    call.error = EAGAIN;
  }
  publish(s, c, false);
}

void QueueSockets::do_write(Call& call, Socket& s, Connection* c) {
  if (s.wr_shut || c == nullptr) {
    call.result = -1;
    const int e = s.so_error.exchange(0, std::memory_order_relaxed);
    call.error = e != 0 ? e : (s.wr_shut || s.ended.load(std::memory_order_relaxed) ? EPIPE : ENOTCONN);
    if (c == nullptr && !s.wr_shut && !s.ended.load(std::memory_order_relaxed)) call.error = EAGAIN;
    publish(s, c, false);
    return;
  }
  if (!s.established.load(std::memory_order_relaxed)) {
    // SYN-SENT: the stack would queue the bytes (RFC 9293 §3.10.2 allows it), but Linux's
    // sk_stream_wait_connect() makes a write wait for the handshake (EAGAIN when non-blocking);
    // a blocking write sleeps until EPOLLOUT, which publish() raises once established.
    call.result = -1;
    call.error = EAGAIN;
    return;
  }
  size_t total = 0;
  for (int i = 0; i < call.iovcnt; i++) {
    const std::span<const std::byte> data(static_cast<const std::byte*>(call.iov[i].iov_base), call.iov[i].iov_len);
    const size_t n = c->send(data);
    total += n;
    if (n < data.size()) break;
  }
  if (total > 0) {
    call.result = static_cast<ssize_t>(total);
  } else {
    call.result = -1;
    call.error = EAGAIN;
  }
  publish(s, c, false);
}

void QueueSockets::do_close(Call&, Socket& s, Connection* c, bool abort) {
  if (Call* parked = s.parked_read; parked != nullptr) {  // another thread closed it under a read
    s.parked_read = nullptr;
    parked->parked = false;
    parked->result = -1;
    parked->error = EBADF;
    complete(*parked);
  }
  if (c != nullptr) {
    if (abort) c->abort();
    else c->close();
  }
  s.conn = {};
  impl_.release(s);
}

// ---- lifecycle ------------------------------------------------------------------------------

void QueueSockets::on_start(Stack& stack) {
  impl_.started.fetch_add(1, std::memory_order_release);
  impl_.lifecycle.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(impl_.lifecycle);
  if (inner_) inner_->on_start(stack);
}

void QueueSockets::on_poll(Stack& stack) {
  for (size_t i = lingering_.size(); i-- > 0;) end_linger(*lingering_[i], false);
  if (inner_) inner_->on_poll(stack);
}

void QueueSockets::on_stop(Stack& stack) {
  if (inner_) inner_->on_stop(stack);
  while (!lingering_.empty()) end_linger(*lingering_.back(), true);
  // Reads parked here are answered now: nothing will run on this lcore again.
  for (uint32_t i = 0; i < impl_.options.max_sockets; i++) {
    Socket& s = impl_.table[i];
    if (s.queue != stack.queue_id() || s.parked_read == nullptr) continue;
    Call* parked = s.parked_read;
    s.parked_read = nullptr;
    parked->parked = false;
    parked->result = -1;
    parked->error = ENETDOWN;
    complete(*parked);
  }
  // From here on this lcore runs no message: callers waiting on one give up (ENETDOWN).
  impl_.stopping.store(true, std::memory_order_seq_cst);
  stopped_.store(true, std::memory_order_seq_cst);
  impl_.lifecycle.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(impl_.lifecycle);
  for (uint32_t i = 0; i < impl_.options.max_sockets; i++) {
    Socket& s = impl_.table[i];
    if (s.waiters.load(std::memory_order_seq_cst) != 0 || s.ep_waiters.load(std::memory_order_seq_cst) != 0) {
      s.seq.fetch_add(1, std::memory_order_seq_cst);
      s.ep_seq.fetch_add(1, std::memory_order_seq_cst);
      futex_wake_all(s.seq);
      futex_wake_all(s.ep_seq);
    }
  }
  impl_.poll_seq.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(impl_.poll_seq);
}

}  // namespace dtcp::sockets
