// dtcp-node: brings up the configured ports and runs the stack (ARP, ICMP echo, TCP endpoints
// with no application) until SIGINT/SIGTERM or --duration; prints counters at exit and on SIGUSR1.
#include <cstdio>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"

namespace {

constexpr const char* kEmbeddedConfig = R"(
; The default: one net_tap port, so the Linux kernel on the other side can ping us.
[port]
vdev = net_tap0,iface=dtcp0
address = 198.18.0.1/24
[runtime]
idle = auto
)";

constexpr const char* kUsage = R"(Usage: dtcp-node [--config FILE] [--duration SECONDS] [LCORE FLAGS] [-- EAL ARGS...]
Runs the dtcp stack on the configured ports until interrupted (Ctrl-C, SIGTERM) or
--duration passes. Prints counters at exit; SIGUSR1 prints them while running.
  --config FILE      INI configuration (default: a net_tap port dtcp0 with 198.18.0.1/24)
  --duration SECONDS stop after this long (default: run until interrupted)
  -- EAL ARGS        replace the configured EAL arguments (default --no-huge --no-shconf; --no-pci is
                     added unless a device list is given)
)";

}  // namespace

static int run_main(int argc, char** argv) {
  const char* program = "dtcp-node";
  auto args = dtcp::tools::split_args(argc, argv);
  uint64_t duration_s = 0;
  for (size_t i = 0; i < args.rest.size(); i++) {
    if (args.rest[i] == "--help" || args.rest[i] == "-h") {
      std::fputs(kUsage, stdout);
      std::fputs(dtcp::tools::kCommonUsage, stdout);
      return 0;
    }
    if (auto v = dtcp::tools::flag_value(program, args.rest, i, "--duration")) {
      duration_s = dtcp::tools::parse_number(program, "--duration", *v, 1, 86400 * 365);
    } else {
      dtcp::tools::usage_error(program, "unknown option '" + args.rest[i] + "'");
    }
  }
  const dtcp::Config config = dtcp::tools::load_config_or_default(program, args, kEmbeddedConfig, "<embedded default>");
  const dtcp::Duration limit = std::chrono::seconds(duration_s);
  return dtcp::tools::run_stack(
      program, config, args, [limit](dtcp::Stack&) { return std::make_unique<dtcp::tools::StopAfter>(limit); });
}

// A leak found by the exit-time accounting fails the exit status (after the tool's own reports).
int main(int argc, char** argv) { return dtcp::tools::exit_status(run_main(argc, argv)); }
