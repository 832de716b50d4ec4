// Command-line handling shared by the dtcp tools: --config FILE, --help, and EAL arguments after
// "--". Bad flags print a clear message and exit with status 2 (usage error).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtcp/config.hpp"
#include "dtcp/runtime.hpp"

namespace dtcp::tools {

// The tools' embedded default: two stacks in one process over an in-process net_ring pair,
// port a = 198.18.1.1 and port b = 198.18.1.2.
#define DTCP_RING_PAIR_PORTS \
  "[port.a]\nring = pair0:0\naddress = 198.18.1.1/24\nmac = 02:00:00:00:01:01\n" \
  "[port.b]\nring = pair0:1\naddress = 198.18.1.2/24\nmac = 02:00:00:00:01:02\n"

struct CommonArgs {
  std::optional<std::string> config_path;
  // Lcore layout, overriding every port's [port] queues/lcores and [runtime] idle.
  std::optional<std::string> queues;
  std::optional<std::string> lcores;
  std::optional<std::string> idle;
  std::optional<std::string> capture;  // [runtime] capture
  bool per_lcore = false;             // print counters per lcore too
  std::vector<std::string> eal_args;  // everything after "--"
  std::vector<std::string> rest;      // tool-specific flags, in order
};

// The flags every tool takes, for its --help.
inline constexpr const char* kCommonUsage = R"(Lcores (every tool; override the configuration's ports and [runtime]):
  --queues N         queue pairs per port, one Stack each (default: the configuration's)
  --lcores LIST      worker lcores polling queue 0, 1, ... of every port, e.g. 1,2 or 1-4; sets
                     --queues to their number unless given; EAL lcores are added to match
  --idle MODE        busy (poll always), adaptive (back off to short sleeps when idle) or auto
                     (adaptive when lcores outnumber CPUs)
  --per-lcore        also print counters per lcore
Capture (every tool; [runtime] capture; see README "Packet capture"):
  --capture SPEC     pcapng capture from start-up, e.g. file=/tmp/x.pcapng,port=a,dir=rx,filter=80,count=1000
                     (options: file, port, dir, filter, count, bytes, snaplen); /dtcp/capture stops it
)";

[[noreturn]] inline void usage_error(const char* program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", program, message.c_str(), program);
  std::exit(2);
}

inline CommonArgs split_args(int argc, char** argv) {
  CommonArgs args;
  for (int i = 1; i < argc; i++) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      for (int j = i + 1; j < argc; j++) args.eal_args.emplace_back(argv[j]);
      break;
    }
    bool matched = false;
    for (auto [name, field] : {std::pair{std::string_view("--config"), &args.config_path},
                               std::pair{std::string_view("--queues"), &args.queues},
                               std::pair{std::string_view("--lcores"), &args.lcores},
                               std::pair{std::string_view("--idle"), &args.idle},
                               std::pair{std::string_view("--capture"), &args.capture}}) {
      if (arg == name || (name == "--config" && arg == "-c")) {
        if (i + 1 >= argc) usage_error(argv[0], std::string(name) + " needs a value");
        *field = argv[++i];
        matched = true;
      } else if (arg.size() > name.size() && arg.rfind(name, 0) == 0 && arg[name.size()] == '=') {
        *field = std::string(arg.substr(name.size() + 1));
        matched = true;
      }
    }
    if (matched) continue;
    if (arg == "--per-lcore") {
      args.per_lcore = true;
    } else {
      args.rest.emplace_back(arg);
    }
  }
  return args;
}

// Parses "--name=value" or "--name value" from `rest` at index i; advances i.
inline std::optional<std::string> flag_value(const char* program, const std::vector<std::string>& rest, size_t& i,
                                             std::string_view name) {
  const std::string& arg = rest[i];
  if (arg == name) {
    if (i + 1 >= rest.size()) usage_error(program, std::string(name) + " needs a value");
    return rest[++i];
  }
  if (arg.size() > name.size() && arg.rfind(name, 0) == 0 && arg[name.size()] == '=') {
    return arg.substr(name.size() + 1);
  }
  return std::nullopt;
}

inline uint64_t parse_number(const char* program, std::string_view flag, const std::string& value, uint64_t min,
                             uint64_t max) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < min || n > max) {
    usage_error(program, std::string(flag) + ": expected an integer in " + std::to_string(min) + ".." +
                             std::to_string(max) + ", got '" + value + "'");
  }
  return n;
}

// Loads --config (or the embedded default) and applies --queues, --lcores and --idle.
inline Config load_config_or_default(const char* program, const CommonArgs& args, const char* embedded,
                                     const char* embedded_name) {
  Config config;
  try {
    config = args.config_path ? load_config(*args.config_path) : parse_config(embedded, embedded_name);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    std::exit(1);
  }
  // Flag errors are usage errors (status 2); the message still names the key it would set.
  try {
    if (args.queues || args.lcores) {
      // The configured lcores no longer apply (a configured reta still does, if it fits).
      for (auto& port : config.ports) port.lcores.clear();
    }
    std::optional<std::string> queues = args.queues;
    if (args.lcores && !queues) queues = std::to_string(parse_lcore_list(*args.lcores, "--lcores").size());
    if (queues) set_config_key(config, "port", "queues", *queues, "--queues");
    if (args.lcores) set_config_key(config, "port", "lcores", *args.lcores, "--lcores");
    if (args.idle) set_config_key(config, "runtime", "idle", *args.idle, "--idle");
    if (args.capture) set_config_key(config, "runtime", "capture", *args.capture, "--capture");
  } catch (const ConfigError& e) {
    usage_error(program, e.what());
  }
  return config;
}

// Set by run_stack() when the exit-time accounting found something not returned; the tools then
// exit with kExitLeak (through exit_status()) after their own reports.
inline bool& resources_leaked() {
  static bool leaked = false;
  return leaked;
}
inline constexpr int kExitLeak = 3;
inline int exit_status(int status) { return status == 0 && resources_leaked() ? kExitLeak : status; }

// Runs the stack with `factory` until stopped, then prints counters, connection listings and
// the mbufs still out of their pools and the `dtcp: resources:` line. Returns the process exit
// status (1 when setup failed); a leak sets resources_leaked().
inline int run_stack(const char* program, const Config& config, const CommonArgs& args, const AppFactory& factory) {
  const bool per_lcore = args.per_lcore;
  try {
    auto runtime = Runtime::start(config, args.eal_args, program);
    runtime->install_signal_handlers();
    std::fprintf(stderr, "%s: running; Ctrl-C stops, SIGUSR1 prints counters and connections\n", program);
    runtime->run(factory);
    runtime->print_counters(stdout, per_lcore);
    runtime->print_connections(stdout);
    const ResourceReport resources = runtime->account();
    std::printf("mbufs_in_use_after_shutdown %zu\n", resources.mbufs);
    // The integration harness checks this line for every dtcp process it runs.
    std::printf("dtcp: resources: %s\n", resources.to_string().c_str());
    if (!resources.ok()) resources_leaked() = true;
  } catch (const RuntimeError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

// Stops the whole runtime once the stack clock passes `limit` (0: never).
class StopAfter : public App {
 public:
  explicit StopAfter(Duration limit) : limit_(limit) {}
  void on_poll(Stack& stack) override {
    if (limit_.count() > 0 && stack.now().time_since_epoch() >= limit_) stack.request_stop();
  }

 private:
  Duration limit_;
};

}  // namespace dtcp::tools
