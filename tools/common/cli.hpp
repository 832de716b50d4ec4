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

struct CommonArgs {
  std::optional<std::string> config_path;
  std::vector<std::string> eal_args;  // everything after "--"
  std::vector<std::string> rest;      // tool-specific flags, in order
};

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
    if (arg == "--config" || arg == "-c") {
      if (i + 1 >= argc) usage_error(argv[0], "--config needs a file name");
      args.config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      args.config_path = std::string(arg.substr(9));
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

inline Config load_config_or_default(const char* program, const CommonArgs& args, const char* embedded,
                                     const char* embedded_name) {
  try {
    return args.config_path ? load_config(*args.config_path) : parse_config(embedded, embedded_name);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    std::exit(1);
  }
}

// Runs the stack with `factory` until stopped, then prints counters, connection listings and
// the mbufs still out of their pools. Returns the process exit status (1 when setup failed).
inline int run_stack(const char* program, const Config& config, const CommonArgs& args, const AppFactory& factory,
                     bool per_lcore = false) {
  try {
    auto runtime = Runtime::start(config, args.eal_args, program);
    runtime->install_signal_handlers();
    std::fprintf(stderr, "%s: running; Ctrl-C stops, SIGUSR1 prints counters and connections\n", program);
    runtime->run(factory);
    runtime->print_counters(stdout, per_lcore);
    runtime->print_connections(stdout);
    std::printf("mbufs_in_use_after_shutdown %zu\n", runtime->shutdown());
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
