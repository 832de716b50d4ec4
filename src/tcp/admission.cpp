// Admission past capacity (issue 15 part 4, [tcp] syn_budget): while an lcore is behind, at most
// syn_budget bare SYNs a loop iteration get a control block, a cookie or a SYN-ACK; the rest are
// dropped at the door (here, or by the interface before its checksums) and counted.
#include "tcp/core.hpp"

namespace dtcp::tcp {

// Past capacity a SYN costs the same whether or not its connection will ever be served: a
// control block or a cookie, a SYN-ACK, and for every one answered the client's ACK and request
// queue behind the segments of connections already under way. When an lcore is offered more
// SYNs than it completes, its receive ring (or the peer's transmit ring) overflows and drops
// without regard to kind: ACKs, requests and FINs of connections already admitted go too, each
// loss then costs a retransmission timeout, and the accepted rate collapses (issue 15, dperf
// over net_memif against dtcp-http: 200k/s offered, 200k/s served; 400k/s, 93k/s; 600k/s,
// 15k/s). A budget of bare SYNs per loop iteration (one receive burst) sheds the excess at the
// door for the price of parsing it: the other segments of a burst, which finish work already
// paid for, are always taken. The budget is small because each admitted SYN brings about four
// more segments (its ACK and request, FIN, last ACK) into bursts of 32: measured, 2 and 4 held
// at 400k/s offered, 8 and more collapsed, and 2 did best at 600k/s. A SYN dropped here is
// retransmitted by its client (RFC 9293 §3.8.1), as after a full backlog without cookies.
bool ShardCore::syn_admitted() {
  if (config.syn_budget == 0 || !behind_ || syns_this_iteration_ < config.syn_budget) {
    ++syns_this_iteration_;
    shedding_syns_ = behind_ && config.syn_budget != 0 && syns_this_iteration_ >= config.syn_budget;
    return true;
  }
  ++syns_refused_this_iteration_;
  ++counters.drop_syn_budget;
  return false;
}

void ShardCore::syn_shed() {
  ++segments_this_iteration_;
  ++syns_refused_this_iteration_;
  ++counters.drop_syn_budget;
}

// Once per loop iteration (advance()): a full burst means frames were left waiting in the ring;
// kBehindIterations of them in a row, a queue at capacity. Whether it grows depends on who
// offers the load. A closed-loop client (dtcp-loadgen --mode conn: each of its N connections
// opens the next only when the last is done) offers a SYN per handshake completed, so SYNs seen
// less handshakes completed stays within N over any stretch; shedding its SYNs costs it, each
// one a connection idle for its 1 s retransmission (RFC 6298 §2.1): with the full bursts alone
// as the signal, 64 connections over net_ring made 317k-392k/s with a budget of 2 and
// 470k-482k/s without. An open-loop client past capacity offers more SYNs than are served
// and retransmits the ones dropped, so the difference grows with the excess (at 1.5x one
// lcore, 150k/s and more, a few SYNs an iteration): it passes the SYN backlog within
// milliseconds. A SYN backlog's worth of SYNs not served is the listener's own measure of
// overload (it then answers with cookies, RFC 4987 §3.6), and no closed loop of fewer
// connections reaches it. The count leaks 1/16384 of itself an iteration (a time constant of
// about 0.3 s at 60k iterations/s), so that the SYNs that never complete (a client that gave
// up, a SYN to a closed port) do not add up over hours, while an open loop past capacity, a
// few SYNs an iteration, holds it far above the backlog. It is not cleared when the ring
// drains, because shedding itself drains it: cleared after 16 bursts that were not full, dperf
// at 600k/s was served at 341k/s, halved at each such burst 302k/s, leaking 437k-469k/s (one,
// one and four runs; likely each clearing let the overload back in while the excess counted up
// again, not verified). Past capacity it still sheds later than full bursts alone did (README,
// "Admission past capacity": 439k against 561k/s at 600k), the price of sparing a closed loop.
void ShardCore::admission_advance() {
  const bool full = segments_this_iteration_ >= kFullBurst;
  full_bursts_in_a_row_ = full ? full_bursts_in_a_row_ + 1 : 0;
  // In 1/2^14 SYN: kept in whole SYNs, the leak (>> 14) of an excess below 16384 was nothing,
  // so an excess past the backlog never went away without handshakes to offset it, and a shard
  // kept busy by other traffic stayed behind for good (admission_test, SynExcessLeaks).
  syn_excess_ += (int64_t{syns_this_iteration_} + int64_t{syns_refused_this_iteration_} -
                  int64_t{handshakes_this_iteration_}) * kSynExcessOne;
  syn_excess_ -= syn_excess_ >> 14;
  if (syn_excess_ < 0) syn_excess_ = 0;
  behind_ = full_bursts_in_a_row_ >= kBehindIterations && syn_excess_ > int64_t{config.syn_backlog} * kSynExcessOne;
  segments_this_iteration_ = 0;
  syns_this_iteration_ = 0;
  syns_refused_this_iteration_ = 0;
  handshakes_this_iteration_ = 0;
  shedding_syns_ = false;
}

}  // namespace dtcp::tcp
