// TcpFootprint: the arrays ShardCore's constructor allocates (see core.hpp), in bytes.
#include <algorithm>

#include "tcp/core.hpp"

namespace dtcp {

TcpFootprint tcp_footprint(const TcpConfig& config) {
  using tcp::Tcb;
  using tcp::TimeWaitRecord;
  const size_t slots = config.max_connections;
  const size_t records = std::max<uint32_t>(config.max_time_wait, 1);
  TcpFootprint f;
  f.control_block = sizeof(Tcb);
  // tcbs_, free_tcbs_ (reserved to max_connections) and table_'s buckets.
  f.connections = slots * (sizeof(Tcb) + sizeof(Tcb*)) + tcp::TupleTable<Tcb>::bucket_bytes(slots);
  f.per_connection = slots ? (f.connections + slots - 1) / slots : 0;
  // tw_records_, free_tw_ and tw_table_'s buckets.
  f.time_wait = records * (sizeof(TimeWaitRecord) + sizeof(TimeWaitRecord*)) +
                tcp::TupleTable<TimeWaitRecord>::bucket_bytes(records);
  // sent_pool_: its records and free list.
  f.sent_records = size_t{config.sent_records} * (sizeof(tcp::SentSegment) + sizeof(tcp::SentSegment*));
  return f;
}

}  // namespace dtcp
