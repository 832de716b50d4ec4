// dpdk_test: the DPDK layer's pure parts (RSS) and the RSS port filter driving a real TCP shard.
// A minimal EAL is started once, only for the shard's mbuf pool: no hugepages, no devices.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

namespace dtcp::dpdk::test {
rte_mempool* g_pool = nullptr;
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // DPDK 22.11 refuses --no-huge with --in-memory; --no-shconf plus a per-process prefix instead.
  const std::string prefix = "--file-prefix=dpdktest" + std::to_string(getpid());
  std::vector<std::string> args{argv[0], "--no-huge", "--no-shconf", "-m", "64", "--no-pci", "--no-telemetry",
                                "--lcores", "0@(0-1)", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "dpdk_test: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  // Cache size 0 so rte_mempool_avail_count() is exact when tests check for leaks.
  dtcp::dpdk::test::g_pool = rte_pktmbuf_pool_create("dpdk_test", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (dtcp::dpdk::test::g_pool == nullptr) {
    std::fprintf(stderr, "dpdk_test: mbuf pool creation failed: %s\n", rte_strerror(rte_errno));
    rte_eal_cleanup();
    return 2;
  }
  const int rc = RUN_ALL_TESTS();
  rte_mempool_free(dtcp::dpdk::test::g_pool);
  rte_eal_cleanup();
  rmdir(runtime_dir.c_str());
  return rc;
}
