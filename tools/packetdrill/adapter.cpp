// libdtcp_packetdrill_core.so (loaded by libdtcp_packetdrill.so, shim.cpp): runs packetdrill
// scripts against dtcp, in packetdrill's process.
//
//   packetdrill --so_filename=libdtcp_packetdrill.so --so_flags="KEY=VALUE ..."
//               --ip_version=ipv4 --local_ip=198.18.0.1 --remote_ip=198.18.0.2 script.pkt
//
// packetdrill (https://github.com/google/packetdrill) loads a shared object that gives it socket
// calls and a network device (its `struct packetdrill_interface`, packetdrill.h). Here the
// socket calls are dtcp's sockets API (include/dtcp/sockets.hpp) and the device is one end of
// an in-process net_ring pair: dtcp's port is side 0, and this file plays side 1. It answers
// dtcp's ARP requests for any address with its own MAC, hands packetdrill the IPv4 packets dtcp
// sends (Ethernet header stripped, stamped on the stack's clock) and turns packetdrill's packets
// into frames for dtcp; netdev_send() returns once dtcp has processed the packet, as a kernel
// has by the time packetdrill's tun write returns. packetdrill's clock (gettimeofday) is the
// stack's: microseconds of the TSC since the runtime started, on the wall-clock epoch.
//
// so_flags: `config=FILE` (an INI file replacing the embedded default below), then any number
// of `SECTION.KEY=VALUE` overrides (e.g. tcp.min_rto=200ms), and `receive_timeout=MS`: how long
// netdev_receive() waits for dtcp to send something before it returns nothing, which makes
// packetdrill fail the script at that line (default 10000; packetdrill ignores its own timeout
// in this mode, so without this a missing packet would hang the run); `verbose=1` prints dtcp's
// counters and connections after each script.
//
// packetdrill closes sockets a script leaves open with the kernel's close() on the number it was
// given, so every dtcp socket is handed out as a placeholder kernel descriptor (an eventfd) and
// translated back here. packetdrill runs as SCHED_RR; the threads started here (EAL's included)
// are created SCHED_OTHER so a polling lcore cannot starve the machine.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "dpdk/worker.hpp"  // tsc_now(): the stack's clock
#include "dtcp/config.hpp"
#include "dtcp/runtime.hpp"
#include "dtcp/sockets.hpp"
#include "packetdrill/interface.hpp"

namespace {

using namespace dtcp;

constexpr const char* kDefaultConfig = R"(
; dtcp under packetdrill: one port on side 0 of an in-process ring; this library is side 1.
[eal]
args = --no-huge --no-shconf -l 0-1 --log-level=lib.eal:error
[port]
ring = pd:0
address = 198.18.0.1/15
mac = 02:00:00:00:00:01
lcores = 1
[runtime]
idle = adaptive
idle_sleep_max_us = 20
[mempool]
mbufs = 8191
)";

const rte_ether_addr kPeerMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};

// Counts the lcore's poll iterations: netdev_send() waits for one to end after its packet left
// the ring, so the packet is processed before the script's next event.
class PollCounter : public App {
 public:
  explicit PollCounter(std::atomic<uint64_t>* polls) : polls_(polls) {}
  void on_poll(Stack&) override { polls_->fetch_add(1, std::memory_order_release); }

 private:
  std::atomic<uint64_t>* polls_;
};

struct Outbound {
  std::vector<uint8_t> bytes;  // an IP packet
  long long time_us = 0;
};

class Adapter {
 public:
  // Process-wide: EAL starts once, and packetdrill never unloads this library.
  static Adapter& instance() {
    static Adapter* a = new Adapter();
    return *a;
  }

  // Starts the stack on first use; later scripts of the same run reuse it.
  bool start(const char* flags) {
    std::lock_guard lock(start_mutex_);
    if (running_) {
      return true;
    }
    if (!parse_flags(flags ? flags : "")) return false;
    if (!spawn(&Adapter::control_main, &control_thread_)) return false;
    std::unique_lock wait(ready_mutex_);
    ready_cv_.wait(wait, [&] { return ready_ || failed_; });
    if (failed_) return false;
    if (!sockets_->wait_running(std::chrono::seconds(10))) {
      std::fprintf(stderr, "dtcp-packetdrill: the stack did not start\n");
      return false;
    }
    if (!spawn(&Adapter::wire_main, &wire_thread_)) return false;
    running_ = true;
    std::atexit([] { Adapter::instance().stop(); });
    return true;
  }

  void stop() {
    if (!running_) return;
    running_ = false;
    if (verbose_) {  // a failed script ends in exit() without free(): show the state here
      runtime_->print_counters(stderr, false);
      runtime_->print_connections(stderr);
    }
    wire_stop_.store(true);
    pthread_join(wire_thread_, nullptr);
    runtime_->request_stop();
    pthread_join(control_thread_, nullptr);
  }

  // ---- descriptors: packetdrill sees placeholder kernel fds ----
  int adopt(int dtcp_fd) {
    if (dtcp_fd < 0) return dtcp_fd;
    const int placeholder = eventfd(0, EFD_CLOEXEC);
    if (placeholder < 0) {
      const int e = errno;
      sockets_->close(dtcp_fd);
      errno = e;
      return -1;
    }
    std::lock_guard lock(fd_mutex_);
    fds_[placeholder] = dtcp_fd;
    return placeholder;
  }
  int translate(int fd) {
    std::lock_guard lock(fd_mutex_);
    auto it = fds_.find(fd);
    return it == fds_.end() ? -1 : it->second;
  }
  int close_fd(int fd) {
    int dtcp_fd = -1;
    {
      std::lock_guard lock(fd_mutex_);
      auto it = fds_.find(fd);
      if (it == fds_.end()) {
        errno = EBADF;
        return -1;
      }
      dtcp_fd = it->second;
      fds_.erase(it);
    }
    const int rc = sockets_->close(dtcp_fd);
    const int e = errno;
    ::close(fd);
    errno = e;
    return rc;
  }
  // After a script: whatever it left open is reset, its packets forgotten.
  void reset() {
    if (verbose_) {
      runtime_->print_counters(stderr, false);
      runtime_->print_connections(stderr);
    }
    std::unordered_map<int, int> left;
    {
      std::lock_guard lock(fd_mutex_);
      left.swap(fds_);
    }
    for (auto [placeholder, dtcp_fd] : left) {
      const linger abort_now{1, 0};
      sockets_->setsockopt(dtcp_fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
      sockets_->close(dtcp_fd);
      ::close(placeholder);  // packetdrill may have closed it already: EBADF is fine
    }
    std::lock_guard lock(out_mutex_);
    outbound_.clear();
  }

  Sockets& sockets() { return *sockets_; }

  // ---- clock ----
  long long now_us() const { return wall_base_us_ + dpdk::tsc_now().time_since_epoch().count(); }

  // ---- device ----
  int netdev_send(const void* buf, size_t count) {
    if (count == 0 || count > RTE_MBUF_DEFAULT_DATAROOM - RTE_ETHER_HDR_LEN) {
      errno = EMSGSIZE;
      return -1;
    }
    const uint8_t version = static_cast<const uint8_t*>(buf)[0] >> 4;
    if (version != 4 && version != 6) {
      errno = EINVAL;
      return -1;
    }
    const int rc = inject(static_cast<const uint8_t*>(buf), count, version == 4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
    if (rc == 0) wait_processed();
    return rc;
  }

  // A kernel under packetdrill has handled an injected packet by the time the tun write returns,
  // so a script's next line (a write(), say, at the same time) sees its effect. Here the packet
  // only sits in the ring, and the lcore runs its message ring (where the socket calls arrive)
  // before its rx burst: without this wait, a write() right after an ACK that shrank the window
  // was sent against the old window. Waits until the ring is empty and a poll iteration has
  // ended after that (on_poll() comes after the burst's processing); bounded, in case the lcore
  // stalls. The pause is 20 us: this thread is SCHED_RR, and waking it every 2 us kept the
  // lcore (SCHED_OTHER) from running for most of a second.
  void wait_processed() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    const timespec pause{0, 20'000};
    while (!rte_ring_empty(to_dtcp_)) {
      if (std::chrono::steady_clock::now() > deadline) return;
      nanosleep(&pause, nullptr);
    }
    const uint64_t seen = polls_.load(std::memory_order_acquire);
    while (polls_.load(std::memory_order_acquire) == seen) {
      if (std::chrono::steady_clock::now() > deadline) return;
      nanosleep(&pause, nullptr);
    }
  }

  int netdev_receive(void* buf, size_t* count, long long* time_us) {
    std::unique_lock lock(out_mutex_);
    if (!out_cv_.wait_for(lock, receive_timeout_, [&] { return !outbound_.empty(); })) {
      std::fprintf(stderr, "dtcp-packetdrill: dtcp sent nothing for %lld ms (receive_timeout)\n",
                   static_cast<long long>(receive_timeout_.count()));
      *count = 0;  // packetdrill fails the script at the packet it expected
      return 0;
    }
    Outbound p = std::move(outbound_.front());
    outbound_.pop_front();
    const size_t n = std::min(*count, p.bytes.size());
    std::memcpy(buf, p.bytes.data(), n);
    *count = n;
    *time_us = p.time_us;
    return 0;
  }

 private:
  Adapter() = default;

  bool parse_flags(const std::string& flags) {
    try {
      std::istringstream in(flags);
      std::string word, config_file;
      std::vector<std::pair<std::string, std::string>> overrides;
      while (in >> word) {
        const size_t eq = word.find('=');
        if (eq == std::string::npos) throw ConfigError("so_flags: '" + word + "' is not KEY=VALUE");
        const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
        if (key == "config") config_file = value;
        else if (key == "receive_timeout") receive_timeout_ = std::chrono::milliseconds(std::stoll(value));
        else if (key == "verbose") verbose_ = value != "0";
        else overrides.emplace_back(key, value);
      }
      config_ = config_file.empty() ? parse_config(kDefaultConfig, "packetdrill adapter default") : load_config(config_file);
      for (const auto& [key, value] : overrides) {
        const size_t dot = key.find('.');
        if (dot == std::string::npos) throw ConfigError("so_flags: '" + key + "' is not SECTION.KEY");
        set_config_key(config_, key.substr(0, dot), key.substr(dot + 1), value, "so_flags");
      }
      if (config_.ports.size() != 1 || config_.ports[0].ring.empty()) {
        throw ConfigError("the adapter needs exactly one port, on a ring (ring = PAIR:0)");
      }
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dtcp-packetdrill: %s\n", e.what());
      return false;
    }
  }

  // Threads of our own run SCHED_OTHER whatever packetdrill's policy (SCHED_RR).
  bool spawn(void* (*fn)(void*), pthread_t* thread) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
    sched_param param{};
    param.sched_priority = 0;
    pthread_attr_setschedparam(&attr, &param);
    const int rc = pthread_create(thread, &attr, fn, this);
    pthread_attr_destroy(&attr);
    if (rc != 0) std::fprintf(stderr, "dtcp-packetdrill: pthread_create: %s\n", std::strerror(rc));
    return rc == 0;
  }

  // EAL's main lcore: starts the runtime, then runs it until stop().
  static void* control_main(void* self) {
    auto& a = *static_cast<Adapter*>(self);
    try {
      a.sockets_ = std::make_unique<Sockets>();
      a.runtime_ = Runtime::start(a.config_, {}, "dtcp-packetdrill");
      const std::string pair = a.config_.ports[0].ring.substr(0, a.config_.ports[0].ring.find(':'));
      // Side 0 sends on ring 0 and receives on ring 1 (one queue): the other end of both.
      a.from_dtcp_ = rte_ring_lookup(("dtcp_" + pair + "_0").c_str());
      a.to_dtcp_ = rte_ring_lookup(("dtcp_" + pair + "_1").c_str());
      a.pool_ = rte_pktmbuf_pool_create("pd_inject", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      if (a.from_dtcp_ == nullptr || a.to_dtcp_ == nullptr || a.pool_ == nullptr) {
        throw RuntimeError("cannot find the ring port's rings or create the injection pool");
      }
      timeval tv{};
      ::gettimeofday(&tv, nullptr);
      a.wall_base_us_ = static_cast<long long>(tv.tv_sec) * 1'000'000 + tv.tv_usec - dpdk::tsc_now().time_since_epoch().count();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dtcp-packetdrill: %s\n", e.what());
      std::lock_guard lock(a.ready_mutex_);
      a.failed_ = true;
      a.ready_cv_.notify_all();
      return nullptr;
    }
    {
      std::lock_guard lock(a.ready_mutex_);
      a.ready_ = true;
      a.ready_cv_.notify_all();
    }
    a.runtime_->run(a.sockets_->app_factory([&a](Stack&) { return std::make_unique<PollCounter>(&a.polls_); }));
    a.runtime_->account();
    return nullptr;
  }

  int inject(const uint8_t* payload, size_t len, uint16_t ether_type) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      errno = ENOBUFS;
      return -1;
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = dtcp_mac();
    eth->src_addr = kPeerMac;
    eth->ether_type = rte_cpu_to_be_16(ether_type);
    std::memcpy(eth + 1, payload, len);
    m->data_len = m->pkt_len = static_cast<uint32_t>(RTE_ETHER_HDR_LEN + len);
    std::lock_guard lock(inject_mutex_);  // the ring is single-producer; two threads inject
    if (rte_ring_sp_enqueue(to_dtcp_, m) != 0) {
      rte_pktmbuf_free(m);
      errno = ENOBUFS;
      return -1;
    }
    return 0;
  }

  rte_ether_addr dtcp_mac() const {
    rte_ether_addr mac{};
    std::memcpy(mac.addr_bytes, config_.ports[0].mac->bytes.data(), 6);
    return mac;
  }

  // ARP: every address dtcp asks for is the peer's (packetdrill plays all remote hosts).
  void answer_arp(const rte_mbuf* m) {
    if (m->pkt_len < RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr)) return;
    rte_arp_hdr copy;  // rte_pktmbuf_read() copies only when the bytes span segments
    const rte_arp_hdr& request =
        *static_cast<const rte_arp_hdr*>(rte_pktmbuf_read(m, RTE_ETHER_HDR_LEN, sizeof copy, &copy));
    if (request.arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) return;
    rte_arp_hdr reply = request;
    reply.arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    reply.arp_data.arp_sha = kPeerMac;
    reply.arp_data.arp_sip = request.arp_data.arp_tip;
    reply.arp_data.arp_tha = request.arp_data.arp_sha;
    reply.arp_data.arp_tip = request.arp_data.arp_sip;
    inject(reinterpret_cast<const uint8_t*>(&reply), sizeof reply, RTE_ETHER_TYPE_ARP);
  }

  // Side 1 of the ring: drains what dtcp sends as soon as it is sent, so the timestamps are the
  // stack's and ARP never waits for packetdrill to ask for a packet.
  static void* wire_main(void* self) {
    auto& a = *static_cast<Adapter*>(self);
    std::array<void*, 32> burst;
    while (!a.wire_stop_.load(std::memory_order_relaxed)) {
      const unsigned n = rte_ring_sc_dequeue_burst(a.from_dtcp_, burst.data(), burst.size(), nullptr);
      const long long stamp = a.now_us();
      for (unsigned i = 0; i < n; i++) {
        auto* m = static_cast<rte_mbuf*>(burst[i]);
        rte_ether_hdr copy;
        if (m->pkt_len >= RTE_ETHER_HDR_LEN) {
          const auto* eth = static_cast<const rte_ether_hdr*>(rte_pktmbuf_read(m, 0, sizeof copy, &copy));
          const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
          if (type == RTE_ETHER_TYPE_ARP) {
            a.answer_arp(m);
          } else if (type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6) {
            Outbound p;
            p.bytes.resize(m->pkt_len - RTE_ETHER_HDR_LEN);
            const void* data = rte_pktmbuf_read(m, RTE_ETHER_HDR_LEN, p.bytes.size(), p.bytes.data());
            if (data != p.bytes.data()) std::memcpy(p.bytes.data(), data, p.bytes.size());
            p.time_us = stamp;
            std::lock_guard lock(a.out_mutex_);
            a.outbound_.push_back(std::move(p));
            a.out_cv_.notify_all();
          }
        }
        rte_pktmbuf_free(m);
      }
      if (n == 0) {
        const timespec pause{0, 10'000};
        nanosleep(&pause, nullptr);
      }
    }
    return nullptr;
  }

  std::mutex start_mutex_;
  bool running_ = false;
  Config config_;
  std::chrono::milliseconds receive_timeout_{10'000};
  bool verbose_ = false;  // counters and connections after each script (so_flags verbose=1)
  std::unique_ptr<Sockets> sockets_;  // before runtime_: it must outlive the runtime's teardown
  std::unique_ptr<Runtime> runtime_;
  pthread_t control_thread_{};
  pthread_t wire_thread_{};
  std::mutex ready_mutex_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
  bool failed_ = false;
  std::atomic<bool> wire_stop_{false};
  std::atomic<uint64_t> polls_{0};
  rte_ring* from_dtcp_ = nullptr;
  rte_ring* to_dtcp_ = nullptr;
  rte_mempool* pool_ = nullptr;
  std::mutex inject_mutex_;
  long long wall_base_us_ = 0;
  std::mutex out_mutex_;
  std::condition_variable out_cv_;
  std::deque<Outbound> outbound_;
  std::mutex fd_mutex_;
  std::unordered_map<int, int> fds_;  // placeholder kernel fd -> dtcp socket
};

// ---- the interface's calls: placeholder fds in, dtcp sockets out ----

Adapter& A(void*) { return Adapter::instance(); }

#define DTCP_FD(fd)                         \
  const int dfd = A(ud).translate(fd);      \
  if (dfd < 0) {                            \
    errno = EBADF;                          \
    return -1;                              \
  }

void pd_free(void* ud) { A(ud).reset(); }
int pd_socket(void* ud, int domain, int type, int protocol) {
  return A(ud).adopt(A(ud).sockets().socket(domain, type, protocol));
}
int pd_bind(void* ud, int fd, const sockaddr* addr, socklen_t len) {
  DTCP_FD(fd);
  return A(ud).sockets().bind(dfd, addr, len);
}
int pd_listen(void* ud, int fd, int backlog) {
  DTCP_FD(fd);
  return A(ud).sockets().listen(dfd, backlog);
}
int pd_accept(void* ud, int fd, sockaddr* addr, socklen_t* len) {
  DTCP_FD(fd);
  return A(ud).adopt(A(ud).sockets().accept(dfd, addr, len));
}
int pd_connect(void* ud, int fd, const sockaddr* addr, socklen_t len) {
  DTCP_FD(fd);
  return A(ud).sockets().connect(dfd, addr, len);
}
ssize_t pd_read(void* ud, int fd, void* buf, size_t count) {
  DTCP_FD(fd);
  return A(ud).sockets().read(dfd, buf, count);
}
ssize_t pd_readv(void* ud, int fd, const iovec* iov, int n) {
  DTCP_FD(fd);
  return A(ud).sockets().readv(dfd, iov, n);
}
ssize_t pd_recv(void* ud, int fd, void* buf, size_t len, int flags) {
  DTCP_FD(fd);
  return A(ud).sockets().recv(dfd, buf, len, flags);
}
ssize_t pd_recvfrom(void* ud, int fd, void* buf, size_t len, int flags, sockaddr* src, socklen_t* src_len) {
  DTCP_FD(fd);
  const ssize_t n = A(ud).sockets().recv(dfd, buf, len, flags);
  if (n >= 0 && src != nullptr && src_len != nullptr) A(ud).sockets().getpeername(dfd, src, src_len);
  return n;
}
ssize_t pd_recvmsg(void* ud, int fd, msghdr* msg, int flags) {
  DTCP_FD(fd);
  if (flags != 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  msg->msg_controllen = 0;
  msg->msg_flags = 0;
  return A(ud).sockets().readv(dfd, msg->msg_iov, static_cast<int>(msg->msg_iovlen));
}
ssize_t pd_write(void* ud, int fd, const void* buf, size_t count) {
  DTCP_FD(fd);
  return A(ud).sockets().write(dfd, buf, count);
}
ssize_t pd_writev(void* ud, int fd, const iovec* iov, int n) {
  DTCP_FD(fd);
  return A(ud).sockets().writev(dfd, iov, n);
}
ssize_t pd_send(void* ud, int fd, const void* buf, size_t len, int flags) {
  DTCP_FD(fd);
  return A(ud).sockets().send(dfd, buf, len, flags);
}
ssize_t pd_sendto(void* ud, int fd, const void* buf, size_t len, int flags, const sockaddr*, socklen_t) {
  DTCP_FD(fd);
  return A(ud).sockets().send(dfd, buf, len, flags);  // TCP: the address is ignored (Linux too)
}
ssize_t pd_sendmsg(void* ud, int fd, const msghdr* msg, int flags) {
  DTCP_FD(fd);
  if ((flags & ~MSG_NOSIGNAL) != 0 || msg->msg_controllen != 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  return A(ud).sockets().writev(dfd, msg->msg_iov, static_cast<int>(msg->msg_iovlen));
}
int pd_fcntl(void* ud, int fd, int cmd, ...) {
  DTCP_FD(fd);
  va_list ap;
  va_start(ap, cmd);
  const int arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, int) : 0;
  va_end(ap);
  return A(ud).sockets().fcntl(dfd, cmd, arg);
}
int pd_ioctl(void* ud, int fd, unsigned long request, ...) {
  DTCP_FD(fd);
  va_list ap;
  va_start(ap, request);
  int* arg = va_arg(ap, int*);
  va_end(ap);
  return A(ud).sockets().ioctl(dfd, request, arg);
}
int pd_close(void* ud, int fd) { return A(ud).close_fd(fd); }
int pd_shutdown(void* ud, int fd, int how) {
  DTCP_FD(fd);
  return A(ud).sockets().shutdown(dfd, how);
}
int pd_getsockopt(void* ud, int fd, int level, int name, void* value, socklen_t* len) {
  DTCP_FD(fd);
  return A(ud).sockets().getsockopt(dfd, level, name, value, len);
}
int pd_setsockopt(void* ud, int fd, int level, int name, const void* value, socklen_t len) {
  DTCP_FD(fd);
  return A(ud).sockets().setsockopt(dfd, level, name, value, len);
}
int pd_poll(void* ud, pollfd* fds, nfds_t nfds, int timeout) {
  std::vector<pollfd> mine(fds, fds + nfds);
  for (auto& p : mine) p.fd = p.fd < 0 ? -1 : A(ud).translate(p.fd);
  const int n = A(ud).sockets().poll(mine.data(), nfds, timeout);
  for (nfds_t i = 0; i < nfds; i++) fds[i].revents = fds[i].fd < 0 ? 0 : (mine[i].fd < 0 ? POLLNVAL : mine[i].revents);
  return n;
}
int pd_netdev_send(void* ud, const void* buf, size_t count) { return A(ud).netdev_send(buf, count); }
int pd_netdev_receive(void* ud, void* buf, size_t* count, long long* time_us) {
  return A(ud).netdev_receive(buf, count, time_us);
}
int pd_usleep(void*, useconds_t us) { return ::usleep(us); }
int pd_gettimeofday(void* ud, timeval* tv, struct timezone*) {
  const long long us = A(ud).now_us();
  tv->tv_sec = us / 1'000'000;
  tv->tv_usec = us % 1'000'000;
  return 0;
}
int pd_epoll_create(void* ud, int size) {
  if (size <= 0) {
    errno = EINVAL;
    return -1;
  }
  return A(ud).adopt(A(ud).sockets().epoll_create1(0));
}
int pd_epoll_ctl(void* ud, int epfd, int op, int fd, epoll_event* event) {
  const int dep = A(ud).translate(epfd), dfd = A(ud).translate(fd);
  if (dep < 0 || dfd < 0) {
    errno = EBADF;
    return -1;
  }
  return A(ud).sockets().epoll_ctl(dep, op, dfd, event);
}
int pd_epoll_wait(void* ud, int epfd, epoll_event* events, int maxevents, int timeout) {
  DTCP_FD(epfd);
  return A(ud).sockets().epoll_wait(dfd, events, maxevents, timeout);
}
int pd_pipe(void*, int[2]) {
  errno = ENOSYS;  // splice between sockets and pipes is not part of dtcp's API
  return -1;
}
int pd_splice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
  errno = ENOSYS;
  return -1;
}

}  // namespace

// Called by the loader in shim.cpp (packetdrill_interface_init), which explains why there are two.
extern "C" __attribute__((visibility("default"))) void dtcp_packetdrill_init(const char* flags,
                                                                             packetdrill_interface* ifc) {
  if (!Adapter::instance().start(flags)) {
    std::fprintf(stderr, "dtcp-packetdrill: cannot start dtcp; see above\n");
    std::exit(2);
  }
  *ifc = packetdrill_interface{};
  ifc->userdata = &Adapter::instance();
  ifc->free = pd_free;
  ifc->socket = pd_socket;
  ifc->bind = pd_bind;
  ifc->listen = pd_listen;
  ifc->accept = pd_accept;
  ifc->connect = pd_connect;
  ifc->read = pd_read;
  ifc->readv = pd_readv;
  ifc->recv = pd_recv;
  ifc->recvfrom = pd_recvfrom;
  ifc->recvmsg = pd_recvmsg;
  ifc->write = pd_write;
  ifc->writev = pd_writev;
  ifc->send = pd_send;
  ifc->sendto = pd_sendto;
  ifc->sendmsg = pd_sendmsg;
  ifc->fcntl = pd_fcntl;
  ifc->ioctl = pd_ioctl;
  ifc->close = pd_close;
  ifc->shutdown = pd_shutdown;
  ifc->getsockopt = pd_getsockopt;
  ifc->setsockopt = pd_setsockopt;
  ifc->poll = pd_poll;
  ifc->netdev_send = pd_netdev_send;
  ifc->netdev_receive = pd_netdev_receive;
  ifc->usleep = pd_usleep;
  ifc->gettimeofday = pd_gettimeofday;
  ifc->epoll_create = pd_epoll_create;
  ifc->epoll_ctl = pd_epoll_ctl;
  ifc->epoll_wait = pd_epoll_wait;
  ifc->pipe = pd_pipe;
  ifc->splice = pd_splice;
}
