// dtcp-sim: runs the deterministic simulation (src/sim) for one seed or a range of seeds.
//
//   dtcp-sim --seed N [--verbose|--trace] replay one seed; prints its scenario, counters, trace hash
//                                         (--trace: every frame sent and received, every state change)
//   dtcp-sim --cost WORKLOAD [--side client|server] [--count N]
//                                         one cost workload (connection, request, bulk: src/sim/cost.hpp;
//                                         http: the load generator's HTTP work, tools/loadgen/http_cost.hpp),
//                                         metering one side for callgrind; prints what it did
//   dtcp-sim --seeds A..B [--seeds-file F] [--determinism K]
//                                         soak: every seed in A..B (and every seed listed in F, one
//                                         a line, '#' comments), rerunning every K-th seed to check
//                                         it sends the same frames (default 50; 0: never)
//
// A failure prints the seed, what went wrong and the command that replays it; the exit status is
// 1 if any seed failed, 2 for bad flags.
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "loadgen/http_cost.hpp"
#include "sim/cost.hpp"
#include "sim/sim.hpp"

namespace {

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "dtcp-sim: %s\n"
               "usage: dtcp-sim --seed N [--verbose | --trace]\n"
               "       dtcp-sim --seeds A..B [--seeds-file FILE] [--determinism K]\n"
               "       dtcp-sim --cost connection|request|bulk|http [--side client|server] [--count N]\n",
               why);
  std::exit(2);
}

uint64_t parse_u64(const char* flag, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') usage((std::string(flag) + ": expected a number, got '" + s + "'").c_str());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> seeds;
  bool single = false;
  bool verbose = false;
  bool trace = false;
  uint64_t determinism_every = 50;
  std::optional<dtcp::sim::CostOptions> cost;
  bool http_cost = false;
  int cost_side = -1;
  uint64_t cost_count = 1000;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + ": missing value").c_str());
      return argv[++i];
    };
    if (a == "--seed") {
      seeds.push_back(parse_u64("--seed", value()));
      single = true;
    } else if (a == "--seeds") {
      const std::string v = value();
      const size_t dots = v.find("..");
      if (dots == std::string::npos) usage(("--seeds: expected A..B, got '" + v + "'").c_str());
      const uint64_t lo = parse_u64("--seeds", v.substr(0, dots)), hi = parse_u64("--seeds", v.substr(dots + 2));
      if (hi < lo) usage("--seeds: B below A");
      for (uint64_t s = lo; s <= hi; s++) seeds.push_back(s);
    } else if (a == "--seeds-file") {
      const std::string path = value();
      std::ifstream in(path);
      if (!in) usage(("--seeds-file: cannot read " + path).c_str());
      std::string line;
      while (std::getline(in, line)) {
        const size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
        size_t start = 0;
        while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) start++;
        if (start < line.size()) seeds.push_back(parse_u64("--seeds-file", line.substr(start)));
      }
    } else if (a == "--determinism") {
      determinism_every = parse_u64("--determinism", value());
    } else if (a == "--cost") {
      const std::string w = value();
      cost = dtcp::sim::CostOptions{};
      if (w == "connection") {
        cost->workload = dtcp::sim::CostWorkload::connection;
      } else if (w == "request") {
        cost->workload = dtcp::sim::CostWorkload::request;
      } else if (w == "bulk") {
        cost->workload = dtcp::sim::CostWorkload::bulk;
      } else if (w == "http") {
        http_cost = true;
      } else {
        usage(("--cost: expected connection, request, bulk or http, got '" + w + "'").c_str());
      }
    } else if (a == "--side") {
      const std::string v = value();
      if (v == "client") {
        cost_side = 0;
      } else if (v == "server") {
        cost_side = 1;
      } else if (v == "none") {
        cost_side = -1;
      } else {
        usage(("--side: expected client, server or none, got '" + v + "'").c_str());
      }
    } else if (a == "--count") {
      cost_count = parse_u64("--count", value());
      if (cost_count == 0) usage("--count: must be at least 1");
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--trace") {
      verbose = trace = true;
    } else {
      usage(("unknown flag '" + a + "'").c_str());
    }
  }
  if (seeds.empty() && !cost) usage("give --seed N, --seeds A..B or --cost WORKLOAD");
  if (cost && !seeds.empty()) usage("--cost runs alone, without --seed or --seeds");
  if (http_cost) {
    // No stack, so no EAL: the HTTP work alone.
    if (cost_side < 0) usage("--cost http: give --side client (the response parser) or server (the request side)");
    const dtcp::loadgen::HttpCostResult r = dtcp::loadgen::run_http_cost(cost_side == 1, cost_count);
    std::printf("dtcp-sim cost: workload=http side=%s count=%" PRIu64 " ops=%" PRIu64 " %s%s\n",
                cost_side == 0 ? "client" : "server", cost_count, r.ops, r.ok ? "ok" : "FAILED: ", r.failure.c_str());
    return r.ok ? 0 : 1;
  }

  // EAL for the mbuf pool only: no devices, no hugepages, a file prefix of our own.
  const std::string prefix = "--file-prefix=dtcpsim" + std::to_string(getpid());
  std::vector<std::string> eal{argv[0], "--no-huge", "--no-shconf", "-m", "128", "--no-pci", "--no-telemetry",
                               "--lcores", "0@(0-1)", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& s : eal) eal_argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "dtcp-sim: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  // No per-lcore cache, so the available count is exact when every run checks for leaks. The cost
  // workloads take one of [mempool] cache's default size, as a production lcore's pool has: the
  // count is then what an lcore pays per mbuf (rte_mempool_avail_count still counts the cache).
  const unsigned cache = cost ? 256 : 0;
  rte_mempool* pool = rte_pktmbuf_pool_create("dtcp_sim", 16383, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) {
    std::fprintf(stderr, "dtcp-sim: mbuf pool creation failed: %s\n", rte_strerror(rte_errno));
    rte_eal_cleanup();
    return 1;
  }

  if (cost) {
    cost->metered_side = cost_side;
    cost->count = cost_count;
    const dtcp::sim::CostResult r = dtcp::sim::run_cost(*cost, pool);
    std::printf("dtcp-sim cost: workload=%s side=%s count=%" PRIu64 " ops=%" PRIu64 " data_segments=%" PRIu64
                " client_sent=%" PRIu64 " client_received=%" PRIu64 " server_sent=%" PRIu64
                " server_received=%" PRIu64 " virtual_us=%" PRId64 " %s%s\n",
                dtcp::sim::to_string(cost->workload), cost_side == 0 ? "client" : cost_side == 1 ? "server" : "none",
                cost_count, r.ops, r.data_segments_sent, r.segments_sent[0], r.segments_received[0], r.segments_sent[1],
                r.segments_received[1], r.virtual_us, r.ok ? "ok" : "FAILED: ", r.failure.c_str());
    rte_mempool_free(pool);
    rte_eal_cleanup();
    rmdir(runtime_dir.c_str());
    return r.ok ? 0 : 1;
  }

  size_t passed = 0, failed = 0, rerun = 0;
  uint64_t frames = 0, virtual_us = 0;
  for (size_t i = 0; i < seeds.size(); i++) {
    const uint64_t seed = seeds[i];
    const dtcp::sim::Result r = dtcp::sim::run(seed, pool, {.verbose = verbose, .trace = trace});
    frames += r.frames;
    virtual_us += static_cast<uint64_t>(r.virtual_us);
    std::string failure = r.failure;
    if (r.ok && !single && determinism_every > 0 && i % determinism_every == 0) {
      // Same seed, same frames: a difference means something outside the seed steered the run.
      const dtcp::sim::Result again = dtcp::sim::run(seed, pool, {});
      rerun++;
      if (again.trace_hash != r.trace_hash || again.frames != r.frames) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "not deterministic: trace %016" PRIx64 " (%" PRIu64 " frames), rerun %016" PRIx64
                      " (%" PRIu64 " frames)", r.trace_hash, r.frames, again.trace_hash, again.frames);
        failure = buf;
      }
    }
    if (single) {
      std::printf("seed %" PRIu64 ": %s\nseed %" PRIu64 ": trace %016" PRIx64 " frames %" PRIu64 " virtual_ms %" PRId64 "\n",
                  seed, r.scenario.c_str(), seed, r.trace_hash, r.frames, r.virtual_us / 1000);
    }
    if (failure.empty()) {
      passed++;
    } else {
      failed++;
      std::printf("dtcp-sim: seed %" PRIu64 " FAILED: %s\n  scenario: %s\n  replay: %s --seed %" PRIu64 " --verbose\n",
                  seed, failure.c_str(), r.scenario.c_str(), argv[0], seed);
    }
    std::fflush(stdout);
  }
  std::printf("dtcp-sim: %zu seeds, %zu passed, %zu failed, %zu rerun for determinism, %" PRIu64
              " frames, %.1f s virtual\n",
              seeds.size(), passed, failed, rerun, frames, static_cast<double>(virtual_us) / 1e6);
  rte_mempool_free(pool);
  rte_eal_cleanup();
  rmdir(runtime_dir.c_str());
  return failed == 0 ? 0 : 1;
}
