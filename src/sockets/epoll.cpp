// Readiness for many sockets at once: poll() and an epoll instance (level- and edge-triggered,
// EPOLLONESHOT), fed by what the lcores publish (QueueSockets::publish).
//
// An epoll instance keeps an interest list and a ready list under its ep_mutex. An lcore puts a
// socket on the ready list whenever something happens to it (an edge) and wakes the instance's
// waiters; epoll_wait() takes sockets off the list, reports those whose current readiness meets
// their mask, and puts level-triggered ones back (they stay ready until readiness falls, as in
// Linux's ep_send_events()). Edge-triggered ones come back only with the next edge.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "sockets/futex.hpp"
#include "sockets/table.hpp"

namespace dtcp {

using sockets::Kind;
using sockets::Phase;
using sockets::Socket;

namespace {

constexpr uint32_t kAlways = EPOLLERR | EPOLLHUP;  // reported whatever the mask (epoll_ctl(2))
constexpr uint32_t kFlagBits = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;

int fail(int e) {
  errno = e;
  return -1;
}

// What a socket reports now: published by its lcore, or fixed by what the application did.
uint32_t readiness(const Socket& s) {
  if (s.kind.load(std::memory_order_acquire) != Kind::tcp) return 0;
  switch (s.phase) {
    case Phase::open:
    case Phase::bound:
      return EPOLLOUT | EPOLLWRNORM | EPOLLHUP;  // Linux: an unconnected TCP socket is CLOSE
    default:
      return s.events.load(std::memory_order_acquire);
  }
}

int64_t deadline_of(int timeout_ms) {
  return timeout_ms < 0 ? -1 : sockets::monotonic_ns() + int64_t{timeout_ms} * 1'000'000;
}

}  // namespace

void Sockets::Impl::notify_epoll(Socket& s, uint32_t events) {
  const uint32_t ep = s.ep_index.load(std::memory_order_acquire);
  if (ep == sockets::kNoIndex) return;
  Socket& e = table[ep];
  {
    std::lock_guard lock(e.ep_mutex);
    // Checked again under the instance's lock: the socket may have left it meanwhile.
    if (s.ep_index.load(std::memory_order_relaxed) != ep || e.kind.load(std::memory_order_relaxed) != Kind::epoll ||
        e.generation.load(std::memory_order_relaxed) != s.ep_generation) {
      return;
    }
    if ((events & (s.ep_mask | kAlways)) == 0) return;
    if (!s.ready_hook.is_linked()) e.ready.push_back(s);
  }
  e.ep_seq.fetch_add(1, std::memory_order_seq_cst);
  if (e.ep_waiters.load(std::memory_order_seq_cst) != 0) sockets::futex_wake_all(e.ep_seq);
}

void Sockets::Impl::epoll_forget(Socket& s) {
  const uint32_t ep = s.ep_index.load(std::memory_order_acquire);
  if (ep == sockets::kNoIndex) return;
  Socket& e = table[ep];
  std::lock_guard lock(e.ep_mutex);
  if (s.ep_index.load(std::memory_order_relaxed) != ep) return;
  if (s.ready_hook.is_linked()) e.ready.erase(e.ready.iterator_to(s));
  if (s.interest_hook.is_linked()) e.interest.erase(e.interest.iterator_to(s));
  s.ep_index.store(sockets::kNoIndex, std::memory_order_release);
}

int Sockets::epoll_create1(int flags) {
  if ((flags & ~EPOLL_CLOEXEC) != 0) return fail(EINVAL);
  Socket* e = impl_->allocate(Kind::epoll);
  if (e == nullptr) return fail(EMFILE);
  return static_cast<int>(e->index) + sockets::kFirstFd;
}

int Sockets::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  uint32_t egen = 0, sgen = 0;
  int err = 0;
  Socket* e = impl_->lookup(epfd, Kind::epoll, &egen, &err);
  if (e == nullptr) return fail(err);
  Socket* s = impl_->lookup(fd, Kind::tcp, &sgen, &err);
  if (s == nullptr) return fail(err == ENOTSOCK ? EINVAL : err);  // epoll of epoll: not supported
  if (op != EPOLL_CTL_DEL && event == nullptr) return fail(EFAULT);
  std::lock_guard lock(e->ep_mutex);
  if (e->generation.load(std::memory_order_relaxed) != egen) return fail(EBADF);
  if (s->generation.load(std::memory_order_acquire) != sgen) return fail(EBADF);
  const uint32_t registered = s->ep_index.load(std::memory_order_relaxed);
  const bool mine = registered == e->index && s->ep_generation == egen;
  switch (op) {
    case EPOLL_CTL_ADD:
      if (mine) return fail(EEXIST);
      if (registered != sockets::kNoIndex) return fail(EBUSY);  // one instance per socket
      s->ep_generation = egen;
      s->ep_mask = event->events;
      s->ep_data = event->data.u64;
      e->interest.push_back(*s);
      s->ep_index.store(e->index, std::memory_order_release);
      break;
    case EPOLL_CTL_MOD:
      if (!mine) return fail(ENOENT);
      s->ep_mask = event->events;
      s->ep_data = event->data.u64;
      break;
    case EPOLL_CTL_DEL:
      if (!mine) return fail(ENOENT);
      if (s->ready_hook.is_linked()) e->ready.erase(e->ready.iterator_to(*s));
      e->interest.erase(e->interest.iterator_to(*s));
      s->ep_index.store(sockets::kNoIndex, std::memory_order_release);
      return 0;
    default:
      return fail(EINVAL);
  }
  // A socket already ready is reported by the next epoll_wait() (Linux checks at insertion).
  if ((readiness(*s) & (s->ep_mask | kAlways)) != 0 && !s->ready_hook.is_linked()) e->ready.push_back(*s);
  e->ep_seq.fetch_add(1, std::memory_order_seq_cst);
  if (e->ep_waiters.load(std::memory_order_seq_cst) != 0) sockets::futex_wake_all(e->ep_seq);
  return 0;
}

int Sockets::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  if (maxevents <= 0) return fail(EINVAL);
  if (events == nullptr) return fail(EFAULT);
  uint32_t egen = 0;
  int err = 0;
  Socket* e = impl_->lookup(epfd, Kind::epoll, &egen, &err);
  if (e == nullptr) return fail(err);
  const int64_t deadline = deadline_of(timeout_ms);
  std::vector<Socket*> again;
  for (;;) {
    e->ep_waiters.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = e->ep_seq.load(std::memory_order_seq_cst);
    int n = 0;
    {
      std::lock_guard lock(e->ep_mutex);
      if (e->generation.load(std::memory_order_relaxed) != egen) {
        e->ep_waiters.fetch_sub(1, std::memory_order_relaxed);
        return fail(EBADF);
      }
      again.clear();
      // One pass over what is ready now; level-triggered sockets go back to the tail after it.
      const size_t queued = e->ready.size();
      for (size_t i = 0; i < queued && n < maxevents; i++) {
        Socket& s = e->ready.front();
        e->ready.pop_front();
        const uint32_t mask = s.ep_mask;
        const uint32_t ev = readiness(s) & (mask | kAlways);
        if (ev == 0 || (mask & ~kFlagBits) == 0) continue;  // readiness fell, or ONESHOT spent
        events[n].events = ev;
        events[n].data.u64 = s.ep_data;
        n++;
        if ((mask & EPOLLONESHOT) != 0) s.ep_mask = mask & kFlagBits;  // disabled until EPOLL_CTL_MOD
        else if ((mask & EPOLLET) == 0) again.push_back(&s);
      }
      for (Socket* s : again) e->ready.push_back(*s);
    }
    if (n > 0 || timeout_ms == 0) {
      e->ep_waiters.fetch_sub(1, std::memory_order_relaxed);
      return n;
    }
    int64_t slice = 100'000'000;
    if (deadline >= 0) {
      const int64_t left = deadline - sockets::monotonic_ns();
      if (left <= 0) {
        e->ep_waiters.fetch_sub(1, std::memory_order_relaxed);
        return 0;
      }
      slice = std::min(slice, left);
    }
    if (impl_->stopping.load(std::memory_order_acquire)) {
      e->ep_waiters.fetch_sub(1, std::memory_order_relaxed);
      return fail(ENETDOWN);
    }
    sockets::futex_wait(e->ep_seq, seen, slice);
    e->ep_waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

int Sockets::poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
  if (nfds > 0 && fds == nullptr) return fail(EFAULT);
  const int64_t deadline = deadline_of(timeout_ms);
  for (;;) {
    impl_->poll_waiters.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = impl_->poll_seq.load(std::memory_order_seq_cst);
    int n = 0;
    for (nfds_t i = 0; i < nfds; i++) {
      pollfd& p = fds[i];
      p.revents = 0;
      if (p.fd < 0) continue;
      uint32_t gen = 0;
      int err = 0;
      Socket* s = impl_->lookup(p.fd, Kind::tcp, &gen, &err);
      if (s == nullptr) {
        p.revents = POLLNVAL;
      } else {
        // EPOLL* and POLL* bits have the same values on Linux.
        const uint32_t ev = readiness(*s);
        p.revents = static_cast<short>(ev & (static_cast<uint32_t>(static_cast<uint16_t>(p.events)) | POLLERR | POLLHUP));
      }
      if (p.revents != 0) n++;
    }
    if (n > 0 || timeout_ms == 0) {
      impl_->poll_waiters.fetch_sub(1, std::memory_order_relaxed);
      return n;
    }
    int64_t slice = 100'000'000;
    if (deadline >= 0) {
      const int64_t left = deadline - sockets::monotonic_ns();
      if (left <= 0) {
        impl_->poll_waiters.fetch_sub(1, std::memory_order_relaxed);
        return 0;
      }
      slice = std::min(slice, left);
    }
    if (impl_->stopping.load(std::memory_order_acquire)) {
      impl_->poll_waiters.fetch_sub(1, std::memory_order_relaxed);
      return fail(ENETDOWN);
    }
    sockets::futex_wait(impl_->poll_seq, seen, slice);
    impl_->poll_waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace dtcp
