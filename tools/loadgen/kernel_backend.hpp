// The kernel-sockets backend: the same Engine and ServerSession driven by one thread over
// non-blocking sockets and level-triggered epoll, so dtcp and Linux are measured by identical
// load logic. Time is CLOCK_MONOTONIC, read once per epoll batch.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/server.hpp"

namespace dtcp::loadgen {

Nanos monotonic_now();

// A socket call failed during setup (socket, bind, listen, epoll); the message says which.
class SocketError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KernelClient final : public Transport {
 public:
  // `target` of either family (AF_INET or AF_INET6 sockets follow it; source addresses must be
  // of the same family). Throws SocketError.
  KernelClient(const LoadSpec& spec, const wire::IpAddr& target, uint16_t port, LiveCounters* live);
  ~KernelClient() override;
  // Runs the engine until it finishes or `stop` becomes true (then stops where it is).
  void run(const std::atomic<bool>& stop);
  const Stats& stats() const { return engine_.stats(); }

  OpenStatus open(uint32_t slot, Source source, ErrorKind& error) override;
  size_t send(uint32_t slot, std::span<const std::byte> data) override;
  void close(uint32_t slot) override;
  void abort(uint32_t slot) override;

 private:
  struct Socket {
    int fd = -1;
    uint32_t generation = 0;
    bool connecting = false;
    bool want_write = false;
  };
  void handle(uint32_t slot, uint32_t events);
  void set_events(uint32_t slot, Socket& s, bool want_write);
  void drop(uint32_t slot, bool reset);

  const LoadSpec& spec_;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  int epoll_fd_ = -1;
  std::vector<Socket> sockets_;
  std::unique_ptr<std::byte[]> buffer_;
  Nanos now_ = 0;
  Engine engine_;
};

struct KernelListen {
  ServeSpec spec;
  uint16_t port = 0;
};

// Servers on one or more ports, one thread. Throws SocketError from the constructor when a
// port cannot be bound.
class KernelServer {
 public:
  // `bind_addr` "::" (the default) listens on both families (IPV6_V6ONLY off); an IPv4 address
  // binds an AF_INET socket to it, another IPv6 address an AF_INET6 one.
  KernelServer(const std::vector<KernelListen>& listens, const wire::IpAddr& bind_addr);
  ~KernelServer();
  // Serves until `stop` becomes true.
  void run(const std::atomic<bool>& stop);
  uint64_t connections_accepted() const { return accepted_; }

 private:
  struct Conn {
    explicit Conn(const ServerContent& content) : session(content) {}
    ServerSession session;
    int fd = -1;
    bool peer_closed = false;
    bool want_write = false;
  };
  void accept_all(size_t listener);
  void serve(int fd, uint32_t events);
  void flush(Conn& c);
  void finish(Conn& c);

  int epoll_fd_ = -1;
  std::vector<int> listen_fds_;
  std::vector<std::unique_ptr<ServerContent>> contents_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd; reused
  std::unique_ptr<std::byte[]> buffer_;
  uint64_t accepted_ = 0;
};

}  // namespace dtcp::loadgen
