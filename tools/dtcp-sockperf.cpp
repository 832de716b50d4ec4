// dtcp-sockperf: what a request/response costs through each of dtcp's APIs, and through the
// kernel's sockets, in one process on the same machine.
//
//   dtcp-sockperf --api callback|sockets|epoll|kernel [--connections N] [--seconds S]
//                 [--size BYTES] [--mode rr|crr]
//
// A dtcp echo server (callback API) runs on port a of an in-process net_ring pair; the client
// runs on port b through the API asked for:
//   callback  an App on port b's lcore, run to completion (the fast path)
//   sockets   N application threads, one blocking connection each (read/write)
//   epoll     one application thread, N non-blocking connections, epoll_wait (level-triggered)
//   kernel    N threads, blocking kernel sockets over loopback to a kernel echo thread per
//             connection (the same program shape as `sockets`, on Linux's stack)
// mode rr: each connection sends `size` bytes and waits for them back, closed loop; crr: each
// exchange opens a connection, does one exchange and closes it. Both ports share one worker
// lcore (the other CPU is left to the application threads). Prints one JSON line: exchanges/s,
// latency p50/p99 in µs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"
#include "dtcp/sockets.hpp"

namespace {

using namespace dtcp;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kPort = 7;

const char* kConfig =
    "[eal]\nargs = --no-huge --no-shconf\n"
    "[port.a]\nring = sperf:0\naddress = 198.18.1.1/24\nmac = 02:00:00:00:01:01\nlcores = 1\n"
    "[port.b]\nring = sperf:1\naddress = 198.18.1.2/24\nmac = 02:00:00:00:01:02\nlcores = 1\n"
    "[runtime]\nidle = busy\n[mempool]\nmbufs = 65535\n[tcp]\nmsl = 100ms\n";

struct Options {
  std::string api = "sockets";
  std::string mode = "rr";
  unsigned connections = 1;
  double seconds = 3;
  size_t size = 64;
};

// ---- the server: echo on port a (callback API) ----
struct Echo final : ConnectionHandler {
  void on_readable(Connection& c) override {
    // Until nothing is left or the send buffer is full (then on_writable() calls again).
    forward_readable(c, [&c](std::span<const std::byte> bytes) { return c.send(bytes); });
  }
  void on_writable(Connection& c) override { on_readable(c); }
  void on_peer_closed(Connection& c) override {
    c.close();
    delete this;
  }
  void on_closed(Connection&, CloseReason) override { delete this; }
};
struct EchoServer final : App, ListenHandler {
  void on_start(Stack& s) override { s.listen(kPort, *this, {}); }
  ConnectionHandler* on_accept(Connection& c) override {
    c.set_nodelay(true);
    return new Echo;
  }
};

// Latencies in µs, one vector per client, merged at the end.
struct Samples {
  std::vector<uint32_t> us;
  uint64_t exchanges = 0;
  uint64_t errors = 0;
};

void report(const Options& o, std::vector<Samples>& per, double seconds) {
  std::vector<uint32_t> all;
  uint64_t n = 0, errors = 0;
  for (auto& s : per) {
    all.insert(all.end(), s.us.begin(), s.us.end());
    n += s.exchanges;
    errors += s.errors;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : double(all[std::min(all.size() - 1, size_t(p * all.size()))]); };
  std::printf("{\"api\": \"%s\", \"mode\": \"%s\", \"connections\": %u, \"size\": %zu, \"seconds\": %.2f, "
              "\"per_second\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"errors\": %llu}\n",
              o.api.c_str(), o.mode.c_str(), o.connections, o.size, seconds, double(n) / seconds, pct(0.5), pct(0.99),
              static_cast<unsigned long long>(errors));
}

// ---- the callback client (port b's lcore) ----
struct CallbackClient final : App, ConnectionHandler {
  const Options& o;
  Samples& samples;
  Clock::time_point end;
  std::vector<std::byte> request;
  struct Slot {
    size_t got = 0;
    Clock::time_point sent;
  };
  bool done = false;
  unsigned open = 0;

  CallbackClient(const Options& opt, Samples& s) : o(opt), samples(s), request(opt.size, std::byte{'x'}) {}

  void start_one(Stack& stack) {
    ConnectOptions co;
    co.nodelay = true;
    co.user_data = new Slot{0, Clock::now()};  // crr: the exchange's time includes the handshake
    if (stack.connect(wire::Ipv4Addr{0xc6120101}, kPort, *this, co).ok()) open++;
    else {
      delete static_cast<Slot*>(co.user_data);
      samples.errors++;
    }
  }
  void on_start(Stack& stack) override {
    end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds + 0.5));
    for (unsigned i = 0; i < o.connections; i++) start_one(stack);
  }
  void send_request(Connection& c) {
    auto* slot = static_cast<Slot*>(c.user_data);
    slot->got = 0;
    slot->sent = Clock::now();
    c.send(request);
  }
  void on_connected(Connection& c) override {
    if (o.mode == "crr") c.send(request);
    else send_request(c);
  }
  void on_readable(Connection& c) override {
    auto* slot = static_cast<Slot*>(c.user_data);
    const size_t n = c.readable();
    c.consume(n);
    slot->got += n;
    if (slot->got < o.size) return;
    const auto now = Clock::now();
    samples.us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - slot->sent).count()));
    samples.exchanges++;
    if (now >= end) {
      done = true;
      delete slot;
      c.close();
      open--;
      return;
    }
    if (o.mode == "crr") {
      delete slot;
      c.close();
      open--;
      pending_opens++;
      return;
    }
    send_request(c);
  }
  void on_closed(Connection& c, CloseReason) override {
    delete static_cast<Slot*>(c.user_data);
    samples.errors++;
    open--;
  }
  unsigned pending_opens = 0;
  void on_poll(Stack& stack) override {
    if (Clock::now() >= end) done = true;
    for (; pending_opens > 0 && !done; pending_opens--) start_one(stack);
    if (done && open == 0) stack.request_stop();
  }
};

// ---- the thread clients: the same loop over either sockets API ----
template <typename Api>
void thread_client(Api& api, const Options& o, Samples& samples, Clock::time_point end, sockaddr_in to) {
  std::vector<char> req(o.size, 'x'), resp(o.size);
  int fd = -1;
  auto open_one = [&] {
    fd = api.socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    api.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (api.connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      samples.errors++;
      api.close(fd);
      fd = -1;
    }
  };
  if (o.mode == "rr") open_one();
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    if (o.mode == "crr") open_one();
    if (fd < 0) break;
    if (api.write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
      samples.errors++;
      break;
    }
    size_t got = 0;
    while (got < o.size) {
      const ssize_t n = api.read(fd, resp.data() + got, o.size - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got < o.size) {
      samples.errors++;
      break;
    }
    if (o.mode == "crr") {
      api.close(fd);
      fd = -1;
    }
    samples.us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
    samples.exchanges++;
  }
  if (fd >= 0) api.close(fd);
}

// Kernel sockets with the same member names as dtcp::Sockets.
struct KernelApi {
  int socket(int d, int t, int p) { return ::socket(d, t, p); }
  int setsockopt(int fd, int l, int n, const void* v, socklen_t len) { return ::setsockopt(fd, l, n, v, len); }
  int connect(int fd, const sockaddr* a, socklen_t l) { return ::connect(fd, a, l); }
  ssize_t write(int fd, const void* b, size_t n) { return ::write(fd, b, n); }
  ssize_t read(int fd, void* b, size_t n) { return ::read(fd, b, n); }
  int close(int fd) { return ::close(fd); }
};

void epoll_client(Sockets& api, const Options& o, Samples& samples, Clock::time_point end, sockaddr_in to) {
  struct Conn {
    int fd = -1;
    size_t got = 0;
    Clock::time_point sent;
  };
  std::vector<Conn> conns(o.connections);
  std::vector<char> req(o.size, 'x'), buf(65536);
  const int ep = api.epoll_create1(0);
  for (unsigned i = 0; i < o.connections; i++) {
    Conn& c = conns[i];
    c.fd = api.socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    api.setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (api.connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      samples.errors++;
      continue;
    }
    api.fcntl(c.fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    api.epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    c.sent = Clock::now();
    api.write(c.fd, req.data(), req.size());
  }
  std::array<epoll_event, 256> events;
  while (Clock::now() < end) {
    const int n = api.epoll_wait(ep, events.data(), events.size(), 100);
    for (int k = 0; k < n; k++) {
      Conn& c = conns[events[k].data.u32];
      const ssize_t r = api.read(c.fd, buf.data(), buf.size());
      if (r <= 0) continue;
      c.got += static_cast<size_t>(r);
      if (c.got < o.size) continue;
      const auto now = Clock::now();
      samples.us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count()));
      samples.exchanges++;
      c.got = 0;
      c.sent = now;
      api.write(c.fd, req.data(), req.size());
    }
  }
  for (Conn& c : conns)
    if (c.fd >= 0) api.close(c.fd);
  api.close(ep);
}

// One thread, epoll over non-blocking sockets: the usual shape of a kernel server.
void kernel_echo_server(int listener, std::atomic<bool>& stop) {
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::array<epoll_event, 256> events;
  std::array<char, 65536> buf;
  while (!stop.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(ep, events.data(), events.size(), 50);
    for (int i = 0; i < n; i++) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          const int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      const ssize_t r = ::read(fd, buf.data(), buf.size());
      if (r <= 0) {
        ::close(fd);  // also leaves the epoll set
        continue;
      }
      if (::write(fd, buf.data(), static_cast<size_t>(r)) != r) ::close(fd);
    }
  }
  ::close(ep);
}

int run_kernel(const Options& o) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::fcntl(listener, F_SETFL, O_NONBLOCK);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 4096) != 0) {
    std::perror("dtcp-sockperf: kernel listener");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<bool> stop{false};
  std::thread server(kernel_echo_server, listener, std::ref(stop));
  KernelApi api;
  std::vector<Samples> per(o.connections);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> clients;
  for (unsigned i = 0; i < o.connections; i++)
    clients.emplace_back([&, i] { thread_client(api, o, per[i], end, addr); });
  for (auto& c : clients) c.join();
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  stop.store(true);
  server.join();
  ::close(listener);
  report(o, per, took);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) tools::usage_error(argv[0], a + " needs a value");
      return argv[++i];
    };
    if (a == "--api") o.api = value();
    else if (a == "--mode") o.mode = value();
    else if (a == "--connections") o.connections = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--size") o.size = std::stoul(value());
    else if (a == "--help") {
      std::printf("usage: %s --api callback|sockets|epoll|kernel [--mode rr|crr] [--connections N] [--seconds S] [--size B]\n", argv[0]);
      return 0;
    } else tools::usage_error(argv[0], "unknown flag " + a);
  }
  if (o.api != "callback" && o.api != "sockets" && o.api != "epoll" && o.api != "kernel") tools::usage_error(argv[0], "--api: callback, sockets, epoll or kernel");
  if (o.mode != "rr" && o.mode != "crr") tools::usage_error(argv[0], "--mode: rr or crr");
  if (o.api == "epoll" && o.mode != "rr") tools::usage_error(argv[0], "--api epoll measures --mode rr only");
  if (o.connections == 0 || o.size == 0) tools::usage_error(argv[0], "--connections and --size must be positive");
  if (o.api == "kernel") return run_kernel(o);

  try {
    auto runtime = Runtime::start(parse_config(kConfig, "dtcp-sockperf default"), {}, argv[0]);
    auto sockets = std::make_unique<Sockets>(Sockets::Options{.max_sockets = 65536, .port = "b"});
    std::vector<Samples> per(o.api == "callback" || o.api == "epoll" ? 1 : o.connections);
    Clock::time_point t0;
    double took = 0;
    std::thread driver;
    if (o.api == "callback") {
      t0 = Clock::now();
      runtime->run([&](Stack& s) -> std::unique_ptr<App> {
        if (s.port_config().name == "a") return std::make_unique<EchoServer>();
        return std::make_unique<CallbackClient>(o, per[0]);
      });
      took = std::min(o.seconds + 0.5, std::chrono::duration<double>(Clock::now() - t0).count());
    } else {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(kPort);
      to.sin_addr.s_addr = htonl(0xc6120101);
      driver = std::thread([&] {
        if (!sockets->wait_running(std::chrono::seconds(10))) {
          std::fprintf(stderr, "dtcp-sockperf: the stack did not start\n");
          runtime->request_stop();
          return;
        }
        t0 = Clock::now();
        const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
        if (o.api == "epoll") {
          epoll_client(*sockets, o, per[0], end, to);
        } else {
          std::vector<std::thread> clients;
          for (unsigned i = 0; i < o.connections; i++)
            clients.emplace_back([&, i] { thread_client(*sockets, o, per[i], end, to); });
          for (auto& c : clients) c.join();
        }
        took = std::chrono::duration<double>(Clock::now() - t0).count();
        runtime->request_stop();
      });
      runtime->run(sockets->app_factory([](Stack& s) -> std::unique_ptr<App> {
        if (s.port_config().name == "a") return std::make_unique<EchoServer>();
        return nullptr;
      }));
      driver.join();
    }
    report(o, per, took);
    const ResourceReport leaks = runtime->account();
    std::fprintf(stderr, "dtcp: resources: %s\n", leaks.to_string().c_str());
    sockets.reset();  // after the runtime's teardown, before EAL goes with the runtime
    return leaks.ok() ? 0 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dtcp-sockperf: %s\n", e.what());
    return 1;
  }
}
