// tcp_test: starts a minimal EAL once (for the mbuf pool only) and runs the tests.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "harness.hpp"

namespace dtcp::tcp::test {
rte_mempool* g_pool = nullptr;
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // DPDK 22.11 refuses --no-huge together with --in-memory; --no-shconf plus a per-process file
  // prefix keeps parallel runs apart instead. Floating affinity (--lcores 0@(0-1)) so parallel
  // test runs do not all pin to core 0.
  const std::string prefix = "--file-prefix=tcptest" + std::to_string(getpid());
  std::vector<std::string> args{argv[0], "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--no-telemetry",
                                "--lcores", "0@(0-1)", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "tcp_test: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  // Cache size 0 so rte_mempool_avail_count() is exact when tests check for leaks.
  dtcp::tcp::test::g_pool = rte_pktmbuf_pool_create("tcp_test", dtcp::tcp::test::kPoolSize, 0, 0,
                                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!dtcp::tcp::test::g_pool) {
    std::fprintf(stderr, "tcp_test: mbuf pool creation failed: %s\n", rte_strerror(rte_errno));
    rte_eal_cleanup();
    return 2;
  }
  const int rc = RUN_ALL_TESTS();
  rte_mempool_free(dtcp::tcp::test::g_pool);
  rte_eal_cleanup();
  rmdir(runtime_dir.c_str());
  return rc;
}
