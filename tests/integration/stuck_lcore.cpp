// A dtcp process whose worker lcore can be made to hang in an application callback (--stall), for
// stuck_lcore_test.py: Runtime::run() must end the process after [runtime] stop_grace_ms, or at a
// second stop signal, instead of waiting for that lcore forever. Without --stall it stops cleanly.
#include <cstdio>
#include <memory>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"

namespace {

// Spins in on_poll once the stack has run for a moment (so "running" is printed first and the
// lcore really is inside its loop when the stop request comes).
class StallingApp : public dtcp::App {
 public:
  explicit StallingApp(bool stall) : stall_(stall) {}
  void on_poll(dtcp::Stack& stack) override {
    if (!stall_ || stack.now().time_since_epoch() < std::chrono::milliseconds(200)) return;
    std::fprintf(stderr, "stuck-lcore: lcore %u stalls in on_poll\n", stack.lcore_id());
    while (spin_) {
    }
  }

 private:
  bool stall_;
  static inline volatile bool spin_ = true;  // never cleared: a callback that does not return
};

}  // namespace

int main(int argc, char** argv) {
  const char* program = "stuck-lcore";
  auto args = dtcp::tools::split_args(argc, argv);
  bool stall = false;
  for (const auto& arg : args.rest) {
    if (arg == "--stall") {
      stall = true;
    } else {
      dtcp::tools::usage_error(program, "unknown option '" + arg + "'");
    }
  }
  const dtcp::Config config = dtcp::tools::load_config_or_default(program, args, "", "<none>");
  return dtcp::tools::exit_status(dtcp::tools::run_stack(
      program, config, args, [stall](dtcp::Stack&) { return std::make_unique<StallingApp>(stall); }));
}
