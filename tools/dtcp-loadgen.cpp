// dtcp-loadgen: a TCP load generator with two backends (dtcp, Linux sockets) sharing one engine,
// and servers for its protocols on either backend. See --help and README.md.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"
#include "loadgen/dtcp_backend.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/kernel_backend.hpp"
#include "loadgen/report.hpp"
#include "loadgen/server.hpp"

namespace {

using namespace dtcp::loadgen;
using dtcp::tools::usage_error;

constexpr const char* kProgram = "dtcp-loadgen";
constexpr uint64_t kMaxConnections = 1'000'000;  // slots of the request engine
constexpr uint64_t kMaxIdleConnections = 16'000'000;

// Two stacks over an in-process net_ring pair, as dtcp-echo: the client on port a, servers
// given with b:PORT on port b.
constexpr const char* kEmbeddedConfig = DTCP_RING_PAIR_PORTS;

constexpr const char* kUsage = R"(Usage: dtcp-loadgen [--backend dtcp|kernel] [CLIENT OPTIONS] [SERVERS] [--config FILE] [-- EAL ARGS]
Client:
  --target ADDR:PORT        the server to load; IPv6 in brackets: [2001:db8::1]:80
  --mode conn|rr|bulk|idle  conn: open, one request and response, close (connection rate);
                            rr: requests over persistent connections (default);
                            bulk: streams that send or receive as fast as they can;
                            idle (dtcp): open --connections, hold them without traffic for
                            --hold, close them; reports how many were held and the memory
  --protocol http|raw       http: GET requests (default); raw: --request-size bytes answered by
                            exactly --response-size bytes
  --connections N           concurrent connections or streams (default 64)
  --rate R                  open loop: R requests/s (conn: connections/s) on a fixed schedule;
                            latency counts from the scheduled time (default: closed loop)
  --duration S              measure for S seconds (default 10; decimals allowed)
  --warmup S                run S seconds before measuring (default 0)
  --requests N              stop after exactly N requests (then --duration, if given, is a limit)
  --timeout S               per request, handshake included (default 5)
  --request-size N          raw: request bytes (default 64)
  --response-size N         raw: response bytes (default: --request-size)
  --path PATH               http: request target (default /)
  --host NAME               http: Host header (default: the target address, with :PORT unless 80)
  --direction send|recv     bulk: send to a sink or receive from a source (default recv)
  --source A[-B]            source addresses, used in turn, IPv4 or IPv6 (2001:db8::10-2001:db8::4f;
                            dtcp: within the port's addresses; kernel: bound before connect; they
                            must be local)
  --source-ports P-Q        source ports, used in turn (default: the stack chooses)
  --verify-body             hash every response body; a body differing from the first is an error
  --json FILE|-             also write the results as JSON (- : stdout; the text goes to stderr)
  --quiet                   no progress lines
  --delay S                 start the load S seconds after the stack is up (default 0)
  --client-port NAME        dtcp: the port whose Stacks run the client (default: the first port)
  --hold S                  idle: how long to hold the connections once all are open (default 10)
  --handshakes N            idle: handshakes (then closes) in flight at once (default 256)
Servers (dtcp: on every Stack, or port NAME's; kernel: on --listen-addr):
  --serve-http [NAME:]PORT  minimal HTTP/1.1, --body-size bytes per response (default 64)
  --serve-echo [NAME:]PORT  raw: answers every --request-size bytes with --response-size bytes
  --serve-sink [NAME:]PORT  discards what it reads
  --serve-source [NAME:]PORT sends without end
  --serve-hold [NAME:]PORT  dtcp: holds what it accepts, sending nothing, until the peer closes
  --listen-addr ADDR        kernel: address to bind (default ::, both families)
  --body-size N             bytes of each HTTP response body (default 64)
Other:
  --backend dtcp|kernel     the stack to run on (default dtcp)
  --config FILE             dtcp: INI configuration (default: two stacks over net_ring,
                            a=198.18.1.1 and b=198.18.1.2)
With servers and no --target, serves until interrupted or --duration.
Progress lines go to stderr every second; the summary to stdout. Exit status: 0 when no request
failed, 1 when some did (or setup failed), 2 for bad flags.
Example (one process, dtcp on both sides over net_ring):
  dtcp-loadgen --serve-http b:80 --target 198.18.1.2:80 --connections 64 --duration 5
)";

struct ServerFlag {
  ServeMode mode;
  std::string port_name;
  uint16_t port;
  bool hold = false;  // --serve-hold (mode unused)
};

struct Options {
  bool kernel = false;
  std::optional<std::string> target_text;
  dtcp::wire::IpAddr target_addr{};
  uint16_t target_port = 0;
  LoadSpec spec;
  std::string path = "/";
  std::optional<std::string> host;
  bool response_size_set = false;
  bool duration_set = false;
  std::optional<std::string> json;
  bool quiet = false;
  Nanos delay = 0;
  std::optional<std::string> client_port;
  std::vector<ServerFlag> servers;
  dtcp::wire::IpAddr listen_addr{};  // kernel backend: "::" = both families
  uint64_t body_size = 64;
  bool idle = false;  // --mode idle
  Nanos hold = 10 * kNanosPerSecond;
  uint32_t handshakes = 256;
  bool hold_set = false;
  bool handshakes_set = false;
};

double parse_seconds(const std::string& flag, const std::string& value, double min, double max) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max) {
    usage_error(kProgram, flag + ": expected seconds in " + std::to_string(min).substr(0, 5) + ".." +
                              std::to_string(static_cast<long long>(max)) + ", got '" + value + "'");
  }
  return v;
}

uint64_t number(const std::string& flag, const std::string& value, uint64_t min, uint64_t max) {
  return dtcp::tools::parse_number(kProgram, flag, value, min, max);
}

dtcp::wire::IpAddr parse_address(const std::string& flag, const std::string& text) {
  const auto a = dtcp::wire::IpAddr::parse(text);
  if (!a) usage_error(kProgram, flag + ": bad IPv4 or IPv6 address '" + text + "'");
  return *a;
}

ServerFlag parse_server(ServeMode mode, const std::string& flag, const std::string& text) {
  ServerFlag s{mode, "", 0, false};
  const size_t colon = text.find(':');
  std::string port = text;
  if (colon != std::string::npos) {
    s.port_name = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (s.port_name.empty()) usage_error(kProgram, flag + ": empty port name in '" + text + "'");
  }
  s.port = static_cast<uint16_t>(number(flag + " port", port, 1, 65535));
  return s;
}

Options parse_options(const std::vector<std::string>& rest) {
  Options o;
  bool warmup_set = false;
  for (size_t i = 0; i < rest.size(); i++) {
    const std::string& arg = rest[i];
    auto value = [&](const char* name) { return dtcp::tools::flag_value(kProgram, rest, i, name); };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (arg == "--verify-body") {
      o.spec.verify_body = true;
    } else if (arg == "--quiet") {
      o.quiet = true;
    } else if (auto v = value("--backend")) {
      if (*v == "kernel") o.kernel = true;
      else if (*v != "dtcp") usage_error(kProgram, "--backend: expected dtcp or kernel, got '" + *v + "'");
    } else if (auto v = value("--target")) {
      const auto target = dtcp::Endpoint::parse(*v);
      if (!target || target->port == 0) {
        usage_error(kProgram, "--target: expected ADDR:PORT or [IPV6]:PORT, got '" + *v + "'");
      }
      o.target_addr = target->addr;
      o.target_port = target->port;
      o.target_text = *v;
    } else if (auto v = value("--mode")) {
      if (*v == "conn") o.spec.mode = Mode::conn;
      else if (*v == "rr") o.spec.mode = Mode::rr;
      else if (*v == "bulk") o.spec.mode = Mode::bulk;
      else if (*v == "idle") o.idle = true;
      else usage_error(kProgram, "--mode: expected conn, rr, bulk or idle, got '" + *v + "'");
    } else if (auto v = value("--protocol")) {
      if (*v == "http") o.spec.protocol = Protocol::http;
      else if (*v == "raw") o.spec.protocol = Protocol::raw;
      else usage_error(kProgram, "--protocol: expected http or raw, got '" + *v + "'");
    } else if (auto v = value("--connections")) {
      o.spec.connections = static_cast<uint32_t>(number("--connections", *v, 1, kMaxIdleConnections));
    } else if (auto v = value("--rate")) {
      o.spec.rate = number("--rate", *v, 1, 1'000'000'000);
    } else if (auto v = value("--duration")) {
      o.spec.duration = static_cast<Nanos>(parse_seconds("--duration", *v, 0.001, 86400 * 365) * 1e9);
      o.duration_set = true;
    } else if (auto v = value("--warmup")) {
      o.spec.warmup = static_cast<Nanos>(parse_seconds("--warmup", *v, 0, 86400) * 1e9);
      warmup_set = o.spec.warmup > 0;
    } else if (auto v = value("--requests")) {
      o.spec.requests = number("--requests", *v, 1, UINT64_MAX / 2);
    } else if (auto v = value("--timeout")) {
      o.spec.timeout = static_cast<Nanos>(parse_seconds("--timeout", *v, 0.001, 86400) * 1e9);
    } else if (auto v = value("--request-size")) {
      o.spec.request_size = static_cast<uint32_t>(number("--request-size", *v, 1, 64 << 20));
    } else if (auto v = value("--response-size")) {
      o.spec.response_size = static_cast<uint32_t>(number("--response-size", *v, 1, 64 << 20));
      o.response_size_set = true;
    } else if (auto v = value("--path")) {
      if (v->empty() || (*v)[0] != '/' || v->find_first_of(" \r\n") != std::string::npos) {
        usage_error(kProgram, "--path: expected an absolute path without spaces, got '" + *v + "'");
      }
      o.path = *v;
    } else if (auto v = value("--host")) {
      if (v->empty() || v->find_first_of(" \r\n") != std::string::npos) usage_error(kProgram, "--host: bad name '" + *v + "'");
      o.host = *v;
    } else if (auto v = value("--direction")) {
      if (*v == "send") o.spec.direction = Direction::send;
      else if (*v == "recv") o.spec.direction = Direction::recv;
      else usage_error(kProgram, "--direction: expected send or recv, got '" + *v + "'");
    } else if (auto v = value("--source")) {
      // A[-B], both of one family; B - A within the last 64 bits (IPv6) and below 65536.
      const size_t dash = v->find('-');
      const auto first = parse_address("--source", v->substr(0, dash));
      const auto last = dash == std::string::npos ? first : parse_address("--source", v->substr(dash + 1));
      const auto f = first.v6(), l = last.v6();
      if (first.is_v4() != last.is_v4() || l.high_be() != f.high_be() || l.low_be() < f.low_be() ||
          l.low_be() - f.low_be() >= 65536) {
        usage_error(kProgram, "--source: expected A[-B] of one family with A <= B, at most 65536 addresses, got '" +
                                  *v + "'");
      }
      if (first.is_unusable_peer()) usage_error(kProgram, "--source: '" + first.to_string() + "' is not a source address");
      o.spec.source_addr = first;
      o.spec.source_addr_count = static_cast<uint32_t>(l.low_be() - f.low_be() + 1);
    } else if (auto v = value("--source-ports")) {
      const size_t dash = v->find('-');
      if (dash == std::string::npos) usage_error(kProgram, "--source-ports: expected P-Q, got '" + *v + "'");
      o.spec.port_min = static_cast<uint16_t>(number("--source-ports", v->substr(0, dash), 1, 65535));
      o.spec.port_max = static_cast<uint16_t>(number("--source-ports", v->substr(dash + 1), o.spec.port_min, 65535));
    } else if (auto v = value("--delay")) {
      o.delay = static_cast<Nanos>(parse_seconds("--delay", *v, 0, 3600) * 1e9);
    } else if (auto v = value("--json")) {
      o.json = *v;
    } else if (auto v = value("--client-port")) {
      o.client_port = *v;
    } else if (auto v = value("--serve-http")) {
      o.servers.push_back(parse_server(ServeMode::http, "--serve-http", *v));
    } else if (auto v = value("--serve-echo")) {
      o.servers.push_back(parse_server(ServeMode::echo, "--serve-echo", *v));
    } else if (auto v = value("--serve-sink")) {
      o.servers.push_back(parse_server(ServeMode::sink, "--serve-sink", *v));
    } else if (auto v = value("--serve-source")) {
      o.servers.push_back(parse_server(ServeMode::source, "--serve-source", *v));
    } else if (auto v = value("--serve-hold")) {
      o.servers.push_back(parse_server(ServeMode::sink, "--serve-hold", *v));
      o.servers.back().hold = true;
    } else if (auto v = value("--hold")) {
      o.hold = static_cast<Nanos>(parse_seconds("--hold", *v, 0, 86400) * 1e9);
      o.hold_set = true;
    } else if (auto v = value("--handshakes")) {
      o.handshakes = static_cast<uint32_t>(number("--handshakes", *v, 1, 1'000'000));
      o.handshakes_set = true;
    } else if (auto v = value("--listen-addr")) {
      o.listen_addr = parse_address("--listen-addr", *v);
    } else if (auto v = value("--body-size")) {
      o.body_size = number("--body-size", *v, 0, 1ull << 30);
    } else {
      usage_error(kProgram, "unknown option '" + arg + "'");
    }
  }
  if (!o.target_text && o.servers.empty()) usage_error(kProgram, "nothing to do: give --target and/or --serve-*");
  if (o.spec.requests && warmup_set) usage_error(kProgram, "--requests counts every request: it cannot be combined with --warmup");
  if (o.spec.requests && o.spec.mode == Mode::bulk) usage_error(kProgram, "--requests: bulk mode has no requests");
  if (o.spec.rate && o.spec.mode == Mode::bulk) usage_error(kProgram, "--rate: bulk mode has no requests");
  if (o.idle) {
    if (o.kernel) usage_error(kProgram, "--mode idle: dtcp backend only");
    if (o.spec.rate || o.spec.requests || warmup_set || o.duration_set) {
      usage_error(kProgram, "--mode idle opens, holds (--hold) and closes: no --rate, --requests, --warmup or --duration");
    }
  } else {
    if (o.hold_set || o.handshakes_set) usage_error(kProgram, "--hold and --handshakes are for --mode idle");
    if (o.spec.connections > kMaxConnections) {
      usage_error(kProgram, "--connections: at most " + std::to_string(kMaxConnections) + " outside --mode idle");
    }
  }
  if (o.kernel && std::any_of(o.servers.begin(), o.servers.end(), [](const ServerFlag& s) { return s.hold; })) {
    usage_error(kProgram, "--serve-hold: dtcp backend only");
  }
  if (o.spec.requests && !o.duration_set) o.spec.duration = 0;  // until the N requests are done
  if (!o.response_size_set) o.spec.response_size = o.spec.request_size;
  if (o.kernel) {
    for (const auto& s : o.servers) {
      if (!s.port_name.empty()) usage_error(kProgram, "--serve-*: NAME: selects a dtcp port; the kernel backend binds --listen-addr");
    }
    if (o.client_port) usage_error(kProgram, "--client-port selects a dtcp port; not with --backend kernel");
  }
  // The HTTP request, formatted once.
  std::string host = o.host.value_or("");
  if (!o.host && o.target_text) {
    const size_t colon = o.target_text->rfind(':');
    host = o.target_port == 80 ? o.target_text->substr(0, colon) : *o.target_text;
  }
  o.spec.http_request = "GET " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: dtcp-loadgen\r\n" +
                        (o.spec.mode == Mode::conn ? "Connection: close\r\n" : "") + "\r\n";
  return o;
}

std::optional<uint64_t> preemptions() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return std::nullopt;
  return static_cast<uint64_t>(usage.ru_nivcsw);
}

RunInfo run_info(const Options& o, const char* backend, uint32_t connections) {
  return RunInfo{.backend = backend,
                 .target = o.target_text.value_or(""),
                 .mode = o.spec.mode,
                 .protocol = o.spec.protocol,
                 .direction = o.spec.direction,
                 .connections = connections,
                 .rate = o.spec.rate,
                 .preemptions = preemptions()};
}

// Prints the text block (stdout, or stderr when JSON goes to stdout) and the JSON.
// Writes the --json document to stdout ("-") or to a file; false (after saying why) if it cannot.
bool write_json(const std::string& destination, const std::string& json) {
  if (destination == "-") {
    std::fputs(json.c_str(), stdout);
    return true;
  }
  std::ofstream out(destination);
  out << json;
  if (!out) std::fprintf(stderr, "%s: --json: cannot write '%s'\n", kProgram, destination.c_str());
  return static_cast<bool>(out);
}

int report(const Options& o, const RunInfo& info, const Stats& stats, bool finished) {
  const std::string text = format_text(info, stats);
  std::fputs(text.c_str(), o.json && *o.json == "-" ? stderr : stdout);
  if (!finished) std::fprintf(stderr, "%s: stopped before the run ended; the figures cover what ran\n", kProgram);
  if (o.json && !write_json(*o.json, format_json(info, stats))) return 1;
  std::fflush(stdout);
  return stats.errors_total() == 0 && finished ? 0 : 1;
}

ServeSpec serve_spec(const Options& o, ServeMode mode) {
  return ServeSpec{.mode = mode,
                   .request_size = o.spec.request_size,
                   .response_size = o.spec.response_size,
                   .body_size = o.body_size};
}

// ---- kernel backend ----

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

int run_kernel(const Options& o) {
  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<KernelServer> server;
  std::thread server_thread;
  std::atomic<bool> server_stop{false};
  try {
    if (!o.servers.empty()) {
      std::vector<KernelListen> listens;
      for (const auto& s : o.servers) listens.push_back({serve_spec(o, s.mode), s.port});
      server = std::make_unique<KernelServer>(listens, o.listen_addr);
      std::fprintf(stderr, "%s: kernel server running on %zu port(s)\n", kProgram, listens.size());
    }
    if (!o.target_text) {
      // Serve until a signal or --duration.
      const Nanos end = o.duration_set ? monotonic_now() + o.spec.duration : INT64_MAX;
      std::thread stopper([&] {
        while (!g_stop.load() && monotonic_now() < end) {
          timespec pause{0, 20'000'000};
          nanosleep(&pause, nullptr);
        }
        g_stop.store(true);
      });
      server->run(g_stop);
      stopper.join();
      std::printf("server: connections_accepted %llu\n", static_cast<unsigned long long>(server->connections_accepted()));
      return 0;
    }
    if (server) server_thread = std::thread([&] { server->run(server_stop); });
    LiveCounters live;
    for (const Nanos start = monotonic_now() + o.delay; monotonic_now() < start && !g_stop.load();) {
      timespec pause{0, 10'000'000};
      nanosleep(&pause, nullptr);
    }
    KernelClient client(o.spec, o.target_addr, o.target_port, &live);
    std::unique_ptr<ProgressPrinter> progress;
    if (!o.quiet) progress = std::make_unique<ProgressPrinter>(std::vector<const LiveCounters*>{&live}, stderr);
    client.run(g_stop);
    if (progress) progress->stop();
    server_stop.store(true);
    if (server_thread.joinable()) server_thread.join();
    const bool interrupted = g_stop.load();
    return report(o, run_info(o, "kernel", o.spec.connections), client.stats(), !interrupted);
  } catch (const SocketError& e) {
    server_stop.store(true);
    if (server_thread.joinable()) server_thread.join();
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 1;
  }
}

// ---- dtcp backend ----

// The client's share of the load on one of `parts` Stacks.
LoadSpec share(const LoadSpec& spec, unsigned index, unsigned parts) {
  LoadSpec s = spec;
  auto split = [&](uint64_t total) { return total / parts + (index < total % parts ? 1 : 0); };
  s.connections = static_cast<uint32_t>(std::max<uint64_t>(split(spec.connections), 1));
  if (spec.rate) s.rate = std::max<uint64_t>(split(spec.rate), 1);
  if (spec.requests) s.requests = split(spec.requests);
  return s;
}

class ComboApp final : public dtcp::App {
 public:
  void add(std::unique_ptr<dtcp::App> app) { apps_.push_back(std::move(app)); }
  bool empty() const { return apps_.empty(); }
  void on_start(dtcp::Stack& s) override { for (auto& a : apps_) a->on_start(s); }
  void on_poll(dtcp::Stack& s) override { for (auto& a : apps_) a->on_poll(s); }
  void on_stop(dtcp::Stack& s) override { for (auto& a : apps_) a->on_stop(s); }

 private:
  std::vector<std::unique_ptr<dtcp::App>> apps_;
};

IdleSpec idle_spec(const Options& o) {
  return IdleSpec{.connections = o.spec.connections,
                  .handshakes = o.handshakes,
                  .hold = o.hold,
                  .timeout = o.spec.timeout,
                  .source_addr = o.spec.source_addr,
                  .source_addr_count = o.spec.source_addr_count,
                  .port_min = o.spec.port_min,
                  .port_max = o.spec.port_max};
}

// The client's share of an idle run on one of `parts` Stacks.
IdleSpec idle_share(const IdleSpec& spec, unsigned index, unsigned parts) {
  IdleSpec s = spec;
  s.connections = static_cast<uint32_t>(std::max<uint64_t>(spec.connections / parts + (index < spec.connections % parts ? 1 : 0), 1));
  s.handshakes = std::max<uint32_t>(spec.handshakes / parts, 1);
  return s;
}

// Whether --target is a --serve-hold server of this process (its held count is then reported).
bool targets_own_hold_server(const Options& o, const dtcp::Config& config) {
  for (const auto& s : o.servers) {
    if (!s.hold || s.port != o.target_port) continue;
    for (const auto& p : config.ports) {
      if (!s.port_name.empty() && s.port_name != p.name) continue;
      if (p.is_local(o.target_addr)) return true;
    }
  }
  return false;
}

int report_idle(const Options& o, IdleReport& r) {
  const std::string text = format_idle_text(r);
  std::fputs(text.c_str(), o.json && *o.json == "-" ? stderr : stdout);
  if (!r.finished) std::fprintf(stderr, "%s: stopped before the run ended; the figures cover what ran\n", kProgram);
  if (o.json && !write_json(*o.json, format_idle_json(r))) return 1;
  std::fflush(stdout);
  return r.stats.errors_total() == 0 && r.finished ? 0 : 1;
}

StackMemory stack_memory(const dtcp::Config& config) {
  const dtcp::TcpFootprint f = dtcp::tcp_footprint(config.tcp);
  return StackMemory{.control_block = f.control_block,
                     .per_connection = f.per_connection,
                     .connections = f.connections,
                     .time_wait = f.time_wait,
                     .max_connections = config.tcp.max_connections};
}

// A server-only process with --serve-hold: its own memory per connection it held at most (the
// client's side of an idle run measured apart, in another process).
int report_hold_server(const Options& o, const dtcp::Config& config, const HoldCounters& counters,
                       uint64_t rss_before_runtime) {
  const uint64_t peak = static_cast<uint64_t>(std::max<int64_t>(counters.peak.load(), 0));
  const uint64_t rss_peak = peak_resident_bytes();
  const double per_held = peak ? (static_cast<double>(rss_peak) - static_cast<double>(rss_before_runtime)) / peak : 0;
  const StackMemory m = stack_memory(config);
  std::printf("hold server: held at most %llu connections; rss peak %.1f MiB, before the runtime %.1f MiB: %.1f B per "
              "held connection for the whole process; tcp %llu B per connection slot, %u slots\n",
              static_cast<unsigned long long>(peak), static_cast<double>(rss_peak) / (1 << 20),
              static_cast<double>(rss_before_runtime) / (1 << 20), per_held,
              static_cast<unsigned long long>(m.per_connection), m.max_connections);
  if (o.json) {
    char json[512];
    std::snprintf(json, sizeof(json),
                  "{\"tool\": \"dtcp-loadgen\", \"mode\": \"hold_server\", \"peak_held\": %llu, "
                  "\"rss_before_runtime\": %llu, \"rss_peak\": %llu, \"rss_per_connection\": %.1f, "
                  "\"tcp_per_connection_slot\": %llu, \"tcp_max_connections\": %u}\n",
                  static_cast<unsigned long long>(peak), static_cast<unsigned long long>(rss_before_runtime),
                  static_cast<unsigned long long>(rss_peak), per_held,
                  static_cast<unsigned long long>(m.per_connection), m.max_connections);
    if (*o.json == "-") {
      std::fputs(json, stdout);
    } else {
      std::ofstream out(*o.json);
      out << json;
      if (!out) {
        std::fprintf(stderr, "%s: --json: cannot write '%s'\n", kProgram, o.json->c_str());
        return 1;
      }
    }
  }
  std::fflush(stdout);
  return 0;
}

int run_dtcp(const Options& o, const dtcp::tools::CommonArgs& args) {
  const uint64_t rss_before_runtime = resident_bytes();
  const dtcp::Config config =
      dtcp::tools::load_config_or_default(kProgram, args, kEmbeddedConfig, "<embedded two-stack ring>");
  auto has_port = [&](const std::string& name) {
    return std::any_of(config.ports.begin(), config.ports.end(), [&](const auto& p) { return p.name == name; });
  };
  for (const auto& s : o.servers) {
    if (!s.port_name.empty() && !has_port(s.port_name)) usage_error(kProgram, "no [port." + s.port_name + "] in the configuration");
  }
  if (o.client_port && !has_port(*o.client_port)) usage_error(kProgram, "--client-port: no [port." + *o.client_port + "] in the configuration");
  const dtcp::PortConfig* client_port = nullptr;
  if (o.target_text) client_port = o.client_port ? &*std::find_if(config.ports.begin(), config.ports.end(), [&](const auto& p) { return p.name == *o.client_port; }) : &config.ports.front();
  const unsigned parts = client_port ? client_port->rx_queues : 0;
  if (client_port && o.spec.connections < parts) usage_error(kProgram, "--connections: at least one per client queue (" + std::to_string(parts) + ")");
  if (client_port && o.spec.connections / parts > config.tcp.max_connections) {
    usage_error(kProgram, "--connections: " + std::to_string(o.spec.connections) + " exceed [tcp] max_connections (" +
                              std::to_string(config.tcp.max_connections) + " per lcore)");
  }

  std::vector<LoadSpec> specs;
  std::vector<IdleSpec> idle_specs;
  for (unsigned q = 0; q < parts; q++) {
    if (o.idle) idle_specs.push_back(idle_share(idle_spec(o), q, parts));
    else specs.push_back(share(o.spec, q, parts));
  }
  std::vector<ClientResult> results(parts);
  std::vector<IdleResult> idle_results(parts);
  HoldCounters hold_counters;  // connections the --serve-hold servers hold
  const bool own_hold_server = o.idle && targets_own_hold_server(o, config);
  std::vector<LiveCounters> live(parts);
  std::atomic<int> clients_running{static_cast<int>(parts)};
  std::unique_ptr<ProgressPrinter> progress;
  const dtcp::wire::IpAddr target = o.target_addr;
  const dtcp::Duration serve_limit = o.target_text || !o.duration_set ? dtcp::Duration(0)
                                         : std::chrono::duration_cast<dtcp::Duration>(std::chrono::nanoseconds(o.spec.duration));

  const dtcp::AppFactory factory = [&](dtcp::Stack& stack) -> std::unique_ptr<dtcp::App> {
    auto combo = std::make_unique<ComboApp>();
    std::vector<DtcpServerApp::Listen> listens;
    std::vector<uint16_t> hold_ports;
    for (const auto& s : o.servers) {
      if (!s.port_name.empty() && s.port_name != stack.port_config().name) continue;
      if (s.hold) hold_ports.push_back(s.port);
      else listens.push_back({serve_spec(o, s.mode), s.port});
    }
    if (!listens.empty()) combo->add(std::make_unique<DtcpServerApp>(listens));
    if (!hold_ports.empty()) combo->add(std::make_unique<DtcpHoldServerApp>(hold_ports, hold_counters));
    if (client_port && stack.port_config().name == client_port->name) {
      const unsigned q = stack.queue_id();
      const auto delay = std::chrono::duration_cast<dtcp::Duration>(std::chrono::nanoseconds(o.delay));
      if (o.idle) {
        combo->add(std::make_unique<DtcpIdleClientApp>(idle_specs[q], target, o.target_port, delay, live[q],
                                                       idle_results[q], clients_running,
                                                       own_hold_server ? &hold_counters : nullptr));
      } else {
        combo->add(std::make_unique<DtcpClientApp>(specs[q], target, o.target_port, delay, live[q], results[q],
                                                   clients_running));
      }
    }
    if (serve_limit.count() > 0) combo->add(std::make_unique<dtcp::tools::StopAfter>(serve_limit));
    return combo;
  };
  if (client_port && !o.quiet) {
    std::vector<const LiveCounters*> sources;
    for (auto& l : live) sources.push_back(&l);
    progress = std::make_unique<ProgressPrinter>(sources, stderr);
  }
  // The runtime prints its counters and connection listings to stdout; the load report follows.
  const int setup = dtcp::tools::run_stack(kProgram, config, args, factory);
  if (progress) progress->stop();
  if (setup != 0) return setup;
  if (!client_port) {
    const bool holding = std::any_of(o.servers.begin(), o.servers.end(), [](const ServerFlag& s) { return s.hold; });
    return holding ? report_hold_server(o, config, hold_counters, rss_before_runtime) : 0;
  }
  if (o.idle) {
    IdleReport r;
    r.backend = "dtcp";
    r.target = o.target_text.value_or("");
    r.spec = idle_spec(o);
    r.finished = true;
    for (const auto& part : idle_results) {
      r.stats.merge(part.stats);
      r.finished &= part.finished;
    }
    // Process-wide samples: the first Stack's.
    const IdleResult& first = idle_results.front();
    r.server_hold_start = first.server_hold_start;
    r.server_hold_end = first.server_hold_end;
    r.rss_before_runtime = rss_before_runtime;
    r.rss_runtime_up = first.rss_runtime_up;
    r.rss_hold_start = first.rss_hold_start;
    r.rss_hold_end = first.rss_hold_end;
    r.stack = stack_memory(config);
    r.client_app_per_connection = DtcpIdleClientApp::kBytesPerConnection;
    if (own_hold_server) r.server_app_per_connection = 0;
    return report_idle(o, r);
  }
  Stats total;
  bool finished = true;
  for (const auto& r : results) {
    total.merge(r.stats);
    finished &= r.finished;
  }
  return report(o, run_info(o, "dtcp", o.spec.connections), total, finished);
}

}  // namespace

static int run_main(int argc, char** argv) {
  auto args = dtcp::tools::split_args(argc, argv);
  const Options options = parse_options(args.rest);
  if (options.kernel) {
    if (args.config_path || !args.eal_args.empty()) usage_error(kProgram, "--config and EAL arguments are for --backend dtcp");
    return run_kernel(options);
  }
  return run_dtcp(options, args);
}

// A leak found by the exit-time accounting fails the exit status (after the tool's own reports).
int main(int argc, char** argv) { return dtcp::tools::exit_status(run_main(argc, argv)); }
