#include "fuzz_env.hpp"

#include <unistd.h>

#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace dtcp::fuzz {

rte_mempool* init_eal_pool(const char* name, unsigned mbufs) {
  // As the unit tests do (tests/unit/tcp/main.cpp): DPDK 22.11 refuses --no-huge with
  // --in-memory, so --no-shconf and a per-process prefix keep parallel runs apart.
  const std::string prefix = std::string("--file-prefix=fuzz") + name + std::to_string(getpid());
  std::vector<std::string> args{"dtcp-fuzz", "--no-huge", "--no-shconf", "-m", "128", "--no-pci", "--no-telemetry",
                                "--lcores", "0@(0-1)", prefix, "--log-level=*:error"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "%s: rte_eal_init failed: %s\n", name, rte_strerror(rte_errno));
    std::exit(2);
  }
  // EAL leaves its (empty) runtime directory behind even with --no-shconf; libFuzzer ends the
  // process with exit(), so remove it then.
  static std::string runtime_dir = rte_eal_get_runtime_dir();
  std::atexit([] { rmdir(runtime_dir.c_str()); });
  rte_mempool* pool = rte_pktmbuf_pool_create(name, mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) {
    std::fprintf(stderr, "%s: mbuf pool creation failed: %s\n", name, rte_strerror(rte_errno));
    std::exit(2);
  }
  return pool;
}

unsigned mbufs_in_use(rte_mempool* pool) { return pool->size - rte_mempool_avail_count(pool); }

}  // namespace dtcp::fuzz
