// Starts a minimal EAL once, only for mbuf pools: no hugepages, no shared config, no devices,
// no telemetry, one lcore floating over the first two CPUs. After every test all mbufs must be
// back in their pools (the fixtures assert it too; this listener is the backstop for tests
// that do not use them), so a leak fails the run.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

rte_mempool* g_pool = nullptr;
rte_mempool* g_tiny_pool = nullptr;
bool g_leaked = false;

class LeakCheck : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    for (rte_mempool* mp : {g_pool, g_tiny_pool}) {
      if (in_use(mp) == 0) continue;
      std::fprintf(stderr, "LEAK: %s.%s left %u mbuf(s) out of pool %s\n", info.test_suite_name(), info.name(),
                   in_use(mp), mp->name);
      g_leaked = true;
    }
  }
};

}  // namespace

rte_mempool* pool() { return g_pool; }
rte_mempool* tiny_pool() { return g_tiny_pool; }

}  // namespace dtcp::stack::test

int main(int argc, char** argv) {
  using namespace dtcp::stack::test;
  ::testing::InitGoogleTest(&argc, argv);

  // DPDK 22.11 refuses --no-huge together with --in-memory; --no-shconf plus a per-process
  // prefix keeps parallel runs apart instead.
  const std::string prefix = "--file-prefix=stacktest" + std::to_string(getpid());
  std::vector<std::string> args{argv[0], "--no-huge", "--no-shconf", "-m", "128", "--no-pci", "--no-telemetry",
                                "--lcores", "0@(0-1)", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  // Captured before cleanup: EAL creates this directory even with --no-shconf and leaves it.
  const std::string runtime_dir = rte_eal_get_runtime_dir();

  // No per-lcore cache, so rte_mempool_avail_count() is exact after every test.
  g_pool = rte_pktmbuf_pool_create("stacktest", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  g_tiny_pool = rte_pktmbuf_pool_create("stacktest_tiny", 4, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (g_pool == nullptr || g_tiny_pool == nullptr) {
    std::fprintf(stderr, "mbuf pool creation failed: %s\n", rte_strerror(rte_errno));
    rte_eal_cleanup();
    return 2;
  }

  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheck);
  int rc = RUN_ALL_TESTS();
  if (g_leaked) rc = 1;

  rte_mempool_free(g_tiny_pool);
  rte_mempool_free(g_pool);
  rte_eal_cleanup();
  if (rmdir(runtime_dir.c_str()) != 0) std::perror(("rmdir " + runtime_dir).c_str());
  return rc;
}
