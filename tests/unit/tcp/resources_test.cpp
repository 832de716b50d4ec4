// Shard::resources() and release_time_wait(): what the exit-time accounting (tools) and the
// simulator (src/sim) count, driven with literal segments.
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

using Resources = TcpTest;

TEST_F(Resources, Established_HoldsOneTcbAndItsTimer_AbortReturnsThem) {
  EXPECT_TRUE(shard->resources().all_returned());
  const uint32_t iss = established();
  rec.conn->send(std::as_bytes(std::span("abc", 3)));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 1001, .len = 3});
  ShardResources r = shard->resources();
  EXPECT_EQ(r.tcbs_in_use, 1u);
  EXPECT_EQ(r.tcbs_in_table, 1u);
  EXPECT_EQ(r.timers_armed, 1u);  // the retransmission timer of the 3 bytes in flight
  EXPECT_EQ(r.sent_records_in_use, 0u);  // the first record lives inline in the control block
  EXPECT_FALSE(r.all_returned());
  shard->abort_all();
  expect_reply({.flags = RST, .seq = iss + 4});
  r = shard->resources();
  EXPECT_TRUE(r.all_returned()) << "tcbs " << r.tcbs_in_use << " timers " << r.timers_armed << " sent "
                                << r.sent_records_in_use << " events " << r.events_pending;
}

TEST_F(Resources, TimeWaitRecord_CountedUntilReleased) {
  const uint32_t iss = established();
  rec.conn->close();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  inject(5, {.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  ShardResources r = shard->resources();
  EXPECT_EQ(r.tcbs_in_use, 0u);
  EXPECT_EQ(r.time_wait_records, 1u);
  EXPECT_FALSE(r.all_returned());
  shard->release_time_wait();
  expect_nothing();  // nothing is sent for a released record
  EXPECT_TRUE(shard->resources().all_returned());
  EXPECT_EQ(shard->time_wait_count(), 0u);
  EXPECT_EQ(shard->counters().time_wait_released, 1u);
}

}  // namespace
}  // namespace dtcp::tcp::test
