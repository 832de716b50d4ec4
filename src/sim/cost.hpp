// Cost workloads: two full stacks (Interface + Shard, as src/sim/sim.hpp wires them) on a virtual
// clock over a clean link, running one fixed workload, so that an instruction counter (callgrind)
// sees only the work the workload causes: no idle polling, no wall clock, no device driver.
//
// One side is metered: the run brackets every entry into that host (frame delivery, timer
// advance, connect, the application's calls) with callgrind's collection toggle, and leaves the
// link (the other host's input queue) outside it. Run under
//   valgrind --tool=callgrind --collect-atstart=no dtcp-sim --cost WORKLOAD --side SIDE --count N
// twice, with N and 2N, and the difference of the totals divided by the difference of `ops` is the
// cost of one operation on that side, without the fixed start-up (EAL, pools, the first ARP).
// `tools/bench --cost` does exactly that. Outside valgrind the toggles are no-ops and the run is
// a plain functional check (every byte and every close as expected).
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace dtcp::sim {

enum class CostWorkload : uint8_t {
  connection,  // open, one 64-byte request and response, client closes first, TIME-WAIT expires
  request,     // 64 kept connections, `count` 64-byte requests and responses spread over them
  bulk,        // one connection, `count` x 64 KiB from client to server; ops = data segments
};
const char* to_string(CostWorkload w);

struct CostOptions {
  CostWorkload workload = CostWorkload::connection;
  int metered_side = -1;  // 0: the client host, 1: the server host, -1: neither
  uint64_t count = 1000;  // connections, requests, or 64 KiB blocks
};

struct CostResult {
  bool ok = false;
  std::string failure;
  uint64_t ops = 0;                   // connections, requests, or segments (see CostWorkload)
  uint64_t segments_sent[2] = {};     // TCP segments each host sent
  uint64_t segments_received[2] = {}; // TCP segments each host received
  uint64_t data_segments_sent = 0;    // bulk: client segments that carried payload
  int64_t virtual_us = 0;
};

// `pool` as for sim::run (no per-lcore cache, full on entry; full again on return).
CostResult run_cost(const CostOptions& options, rte_mempool* pool);

}  // namespace dtcp::sim
