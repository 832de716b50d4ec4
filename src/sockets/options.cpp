// getsockopt() and setsockopt(): options kept with the socket, applied to its connection on the
// owning lcore (Call::Op::apply_options), and what only the lcore knows (TCP_INFO, buffer
// sizes, the send MSS) asked through Call::Op::info.
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sockets/table.hpp"

namespace dtcp {

using sockets::Call;
using sockets::Kind;
using sockets::Phase;
using sockets::Socket;

namespace {

int fail(int e) {
  errno = e;
  return -1;
}

bool read_int(const void* value, socklen_t len, int* out) {
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(int))) return false;
  std::memcpy(out, value, sizeof(int));
  return true;
}

int put(void* value, socklen_t* len, const void* what, size_t size) {
  if (value == nullptr || len == nullptr) return fail(EFAULT);
  const size_t n = std::min<size_t>(*len, size);
  std::memcpy(value, what, n);
  *len = static_cast<socklen_t>(n);
  return 0;
}

int put_int(void* value, socklen_t* len, int v) {
  if (len != nullptr && *len < static_cast<socklen_t>(sizeof(int))) return fail(EINVAL);
  return put(value, len, &v, sizeof v);
}

bool has_connection(const Socket& s) {
  return (s.phase == Phase::connecting || s.phase == Phase::accepted) && !s.ended.load(std::memory_order_acquire);
}

}  // namespace

int Sockets::setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  std::lock_guard lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  int v = 0;
  bool apply = false;  // the connection must hear of it
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        if (!read_int(value, len, &v)) return fail(EINVAL);
        s->reuseaddr = v != 0;
        return 0;
      case SO_KEEPALIVE:
        if (!read_int(value, len, &v)) return fail(EINVAL);
        s->keepalive = v != 0;
        apply = true;
        break;
      case SO_SNDBUF:
      case SO_RCVBUF:
        if (!read_int(value, len, &v)) return fail(EINVAL);
        // Linux doubles the request for its bookkeeping; dtcp counts payload bytes only, so the
        // value is taken as given (getsockopt reports what the connection uses).
        (name == SO_SNDBUF ? s->sndbuf : s->rcvbuf) = std::max(v, 1);
        apply = true;
        break;
      case SO_LINGER: {
        if (value == nullptr || len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
        linger l{};
        std::memcpy(&l, value, sizeof l);
        s->linger_on = l.l_onoff != 0;
        s->linger_s = std::max(l.l_linger, 0);
        return 0;
      }
      default:
        return fail(ENOPROTOOPT);
    }
  } else if (level == IPPROTO_TCP) {
    if (!read_int(value, len, &v)) return fail(EINVAL);
    switch (name) {
      case TCP_NODELAY:
        s->nodelay = v != 0;
        apply = true;
        break;
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL:
        if (v < 1 || v > 32767) return fail(EINVAL);  // Linux's MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL
        (name == TCP_KEEPIDLE ? s->keepidle_s : s->keepintvl_s) = v;
        apply = s->keepalive;
        break;
      case TCP_KEEPCNT:
        if (v < 1 || v > 127) return fail(EINVAL);  // MAX_TCP_KEEPCNT
        s->keepcnt = v;
        apply = s->keepalive;
        break;
      case TCP_MAXSEG:
        // Linux: settable before the connection exists, within 88 .. 65495 (TCP_MIN_MSS ..
        // MAX_TCP_WINDOW); dtcp keeps the value for getsockopt and does not announce it.
        if (v < 88 || v > 65495) return fail(EINVAL);
        if (has_connection(*s)) return fail(EINVAL);
        s->maxseg = v;
        return 0;
      default:
        return fail(ENOPROTOOPT);
    }
  } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
    if (s->domain != AF_INET6) return fail(ENOPROTOOPT);
    if (!read_int(value, len, &v)) return fail(EINVAL);
    if (s->phase != Phase::open) return fail(EINVAL);  // Linux: only before bind()
    s->v6only = v != 0;
    return 0;
  } else {
    return fail(ENOPROTOOPT);
  }
  if (apply && has_connection(*s)) {
    Call call;
    call.op = Call::Op::apply_options;
    call.socket = s;
    call.generation = gen;
    if (!impl_->run_on(s->queue, call)) return -1;
    if (call.result < 0) return fail(call.error);
  }
  return 0;
}

int Sockets::getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  uint32_t gen = 0;
  int e = 0;
  Socket* s = impl_->lookup(fd, Kind::tcp, &gen, &e);
  if (s == nullptr) return fail(e);
  if (value == nullptr || len == nullptr) return fail(EFAULT);
  // What needs the lcore: asked once, outside the socket's lock (a blocked call may hold none).
  const bool needs_query = (level == IPPROTO_TCP && (name == TCP_INFO || name == TCP_MAXSEG)) ||
                           (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF));
  sockets::Query query{};
  if (needs_query && has_connection(*s)) {
    Call call;
    call.op = Call::Op::info;
    call.socket = s;
    call.generation = gen;
    call.out = &query;
    if (!impl_->run_on(s->queue, call)) return -1;
    if (call.result < 0) return fail(call.error);
  } else if (needs_query) {
    query.info.tcpi_state = s->phase == Phase::listening ? 10 : 7;  // TCP_LISTEN / TCP_CLOSE
  }
  if (!impl_->ensure_running()) return -1;
  const TcpConfig& config = impl_->queues[0]->stack().tcp_config();
  std::lock_guard lock(s->mutex);
  if (s->generation.load(std::memory_order_relaxed) != gen) return fail(EBADF);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: return put_int(value, len, s->so_error.exchange(0, std::memory_order_acq_rel));
      case SO_TYPE: return put_int(value, len, SOCK_STREAM);
      case SO_DOMAIN: return put_int(value, len, s->domain);
      case SO_PROTOCOL: return put_int(value, len, IPPROTO_TCP);
      case SO_ACCEPTCONN: return put_int(value, len, s->phase == Phase::listening ? 1 : 0);
      case SO_REUSEADDR: return put_int(value, len, s->reuseaddr ? 1 : 0);
      case SO_KEEPALIVE: return put_int(value, len, s->keepalive ? 1 : 0);
      case SO_SNDBUF:
        return put_int(value, len, static_cast<int>(query.connected ? query.send_buffer
                                                    : (s->sndbuf > 0 ? static_cast<uint32_t>(s->sndbuf) : config.send_buffer)));
      case SO_RCVBUF:
        return put_int(value, len, static_cast<int>(query.connected ? query.receive_buffer
                                                    : (s->rcvbuf > 0 ? static_cast<uint32_t>(s->rcvbuf) : config.recv_buffer)));
      case SO_LINGER: {
        if (*len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
        const linger l{s->linger_on ? 1 : 0, s->linger_s};
        return put(value, len, &l, sizeof l);
      }
      default: return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return put_int(value, len, s->nodelay ? 1 : 0);
      case TCP_KEEPIDLE:
        return put_int(value, len, s->keepidle_s > 0 ? s->keepidle_s : static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config.keepalive_idle).count()));
      case TCP_KEEPINTVL:
        return put_int(value, len, s->keepintvl_s > 0 ? s->keepintvl_s : static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config.keepalive_interval).count()));
      case TCP_KEEPCNT: return put_int(value, len, s->keepcnt > 0 ? s->keepcnt : static_cast<int>(config.keepalive_probes));
      case TCP_MAXSEG: {
        // Linux: the send MSS once connected, else the MSS asked for (or the default 536).
        const uint32_t family_mss = s->domain == AF_INET6 ? config.mss - 20u : config.mss;
        return put_int(value, len, static_cast<int>(query.connected ? query.maxseg : (s->maxseg > 0 ? static_cast<uint32_t>(s->maxseg) : family_mss)));
      }
      case TCP_INFO: return put(value, len, &query.info, sizeof query.info);
      default: return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->domain == AF_INET6) return put_int(value, len, s->v6only ? 1 : 0);
  return fail(ENOPROTOOPT);
}

}  // namespace dtcp
