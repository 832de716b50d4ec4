// TIME-WAIT as a compact record (RFC 9293 §3.6.1 "2 MSL"): once a connection reaches TIME-WAIT its
// TCB (buffers, timers, handler) goes back to the pool and only what is needed to answer a
// retransmitted FIN or a new SYN stays, in 88 bytes for either family (the 4-tuple holds two
// 16-byte addresses, IPv4 ones mapped), in its own pool and table.
#pragma once

#include <cstdint>

#include <boost/intrusive/list_hook.hpp>
#include <boost/intrusive/unordered_set_hook.hpp>

#include "base/seq.hpp"
#include "base/time.hpp"
#include "tcp/tuple.hpp"

namespace dtcp::tcp {

struct TimeWaitRecord {
  boost::intrusive::unordered_set_member_hook<> table_hook;  // 8 bytes
  boost::intrusive::list_member_hook<> expiry_hook;          // 16: FIFO by deadline (all 2*MSL)
  TimePoint deadline;                                        // 8
  FourTuple tuple;                                           // 36 (IpAddr x2 + ports)
  SeqNum snd_nxt;                                            // 4
  SeqNum rcv_nxt;                                            // 4
  uint32_t ts_recent = 0;                                    // 4: RFC 6191, when has_ts
  uint32_t ts_offset = 0;                                    // 4: our TSval clock, for ACKs
  uint16_t rcv_wnd = 0;                                      // 2: window field we advertise
  bool has_ts = false;                                       // 1
};
static_assert(sizeof(TimeWaitRecord) <= 88, "TIME-WAIT records must stay compact");

}  // namespace dtcp::tcp
