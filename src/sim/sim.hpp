// Deterministic simulation: two full stacks (stack::Interface with Ethernet, ARP, IPv4, ICMP, and
// a tcp::Shard with its timers) in one thread on a virtual clock, joined by a seeded impaired
// link, with no DPDK device and no wall clock. Everything a run does follows from its seed: the
// scenario (configurations, impairments, connections, transfer sizes, how each side closes or
// aborts, slow readers), the impairment's and the link's random draws, the ISN keys. The same
// seed gives the same frames in the same order at the same virtual times (trace_hash), so a
// failure is reproduced by rerunning its seed.
//
// Checks after every run: every stream byte-exact, every connection ended the way its scenario
// says (CloseReason), no hang (bounded virtual time), and every resource back: control blocks,
// TIME-WAIT records (after 2*MSL of virtual time), armed timers, sent-segment records, frames
// held in the link, the impairment stage or ARP, and every mbuf (the pool full again).
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace dtcp::sim {

struct Options {
  bool verbose = false;  // print the scenario and, at the end, counters and listings
  bool trace = false;    // also print every frame sent and delivered, and every state change
};

struct Result {
  bool ok = false;
  std::string failure;     // what went wrong (empty when ok)
  std::string scenario;    // one line: what the seed chose
  uint64_t trace_hash = 0;  // FNV-1a over (virtual time, host, bytes) of every frame sent
  uint64_t frames = 0;      // frames sent by both hosts
  int64_t virtual_us = 0;   // virtual time at the end
};

// Runs the scenario `seed` selects. `pool` must have no per-lcore cache (so its available count
// is exact), hold at least 8191 mbufs of RTE_MBUF_DEFAULT_BUF_SIZE, and be full on entry; it is
// full again on return unless the result reports a leak. Single-threaded; never reads a clock.
Result run(uint64_t seed, rte_mempool* pool, const Options& options = {});

}  // namespace dtcp::sim
