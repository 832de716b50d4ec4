// Active open on the right queue: a TCP shard given port_lands_on_queue() as its ephemeral-port
// filter picks only source ports whose replies the RETA sends to its own queue, for every queue
// of a table and either family; when no port qualifies, connect() says no_ephemeral_port after
// one bounded pass.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <set>
#include <vector>

#include "dpdk/rss.hpp"
#include "tcp/shard.hpp"
#include "wire/bytes.hpp"

namespace dtcp::dpdk::test {
extern rte_mempool* g_pool;
}

namespace dtcp::dpdk {
namespace {

const wire::Ipv4Addr kLocal = wire::Ipv4Addr::from_octets(198, 18, 1, 1);
const wire::Ipv4Addr kRemote = wire::Ipv4Addr::from_octets(198, 18, 1, 2);
const wire::IpAddr kLocal6 = *wire::IpAddr::parse("2001:db8:1::1");
const wire::IpAddr kRemote6 = *wire::IpAddr::parse("2001:db8:1::2");
constexpr uint16_t kRemotePort = 7;
// Microsoft's default RSS key, as a NIC might be programmed. The symmetric key hashes only the
// XOR of the input's 16-bit words, which these address pairs share across families (0x0003),
// so a hash of the wrong family would go unnoticed with it alone.
const std::vector<uint8_t> kMicrosoftKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

// Takes the SYNs and remembers their source ports.
struct SynSink : tcp::SegmentOutput {
  std::vector<uint16_t> source_ports;
  void send_segment(rte_mbuf* m, const wire::IpAddr&, const wire::IpAddr&, wire::Ecn) override {
    source_ports.push_back(wire::load_be16(rte_pktmbuf_mtod(m, const std::byte*)));
    rte_pktmbuf_free(m);
  }
};

struct Idle : ConnectionHandler {};

// Counts how often the shard consults the filter, to show the search is one bounded pass.
struct CountingFilter {
  QueueOwnership own;
  uint64_t calls = 0;
  static bool filter(void* ctx, wire::IpAddr local, uint16_t local_port, wire::IpAddr remote,
                     uint16_t remote_port) {
    auto* self = static_cast<CountingFilter*>(ctx);
    self->calls++;
    return port_lands_on_queue(&self->own, local, local_port, remote, remote_port);
  }
};

class PortChoice : public ::testing::Test {
 public:
  std::unique_ptr<tcp::Shard> make_shard(CountingFilter& filter, uint16_t port_min = 32768, uint16_t port_max = 60999) {
    TcpConfig config;
    config.max_connections = 2048;
    config.max_time_wait = 16;
    config.ephemeral_port_min = port_min;
    config.ephemeral_port_max = port_max;
    return std::make_unique<tcp::Shard>(config,
                                        tcp::ShardEnv{.pool = test::g_pool,
                                                      .output = &sink_,
                                                      .local_addr = kLocal,
                                                      .shard_id = filter.own.queue,
                                                      .secret_seed = 42,
                                                      .port_filter = &CountingFilter::filter,
                                                      .port_filter_ctx = &filter,
                                                      .local_addr6 = kLocal6},
                                        TimePoint{});
  }
  void TearDown() override { EXPECT_EQ(rte_mempool_avail_count(test::g_pool), test::g_pool->size) << "mbuf leak"; }

  SynSink sink_;
  Idle idle_;
};
using PortChoiceFixture = PortChoice;

// The queue the device (or software steering) delivers this connection's segments to.
uint16_t reply_queue(const RssMap& map, uint16_t local_port, wire::IpAddr local = kLocal, wire::IpAddr remote = kRemote) {
  return map.queue_of(TcpFlow{.src = remote, .dst = local, .src_port = kRemotePort, .dst_port = local_port});
}

void connect_lands_on_every_queue(PortChoice& test, SynSink& sink, Idle& idle, const RssMap& map, uint16_t queues,
                                  std::unique_ptr<tcp::Shard> (PortChoice::*make)(CountingFilter&, uint16_t, uint16_t),
                                  wire::IpAddr local = kLocal, wire::IpAddr remote = kRemote) {
  for (uint16_t q = 0; q < queues; q++) {
    CountingFilter filter{.own = {&map, q}};
    auto shard = (test.*make)(filter, 32768, 60999);
    sink.source_ports.clear();
    std::set<uint16_t> ports;
    for (int i = 0; i < 300; i++) {
      const auto result = shard->connect(remote, kRemotePort, idle, {}, TimePoint{});
      ASSERT_TRUE(result.ok()) << "queue " << q << " connect " << i << ": " << to_string(result.error);
      ASSERT_EQ(result.connection->local().addr, local);
      const uint16_t port = result.connection->local().port;
      EXPECT_EQ(reply_queue(map, port, local, remote), q) << "port " << port;
      EXPECT_TRUE(ports.insert(port).second) << "port " << port << " chosen twice";
    }
    // The SYNs really left from the chosen ports.
    EXPECT_EQ(std::set<uint16_t>(sink.source_ports.begin(), sink.source_ports.end()), ports);
  }
}

TEST_F(PortChoice, RoundRobinReta_EveryQueueGetsPortsThatLandOnIt) {
  for (uint16_t queues : {2, 3, 4, 8}) {
    SCOPED_TRACE(queues);
    const RssMap map(symmetric_rss_key(), build_reta(kSoftwareRetaSize, queues, {}));
    connect_lands_on_every_queue(*this, sink_, idle_, map, queues, &PortChoice::make_shard);
  }
}

TEST_F(PortChoice, UnevenHardwareSizedReta_EveryQueueGetsPortsThatLandOnIt) {
  // A 512-entry table (many NICs) where queue 1 has a quarter of the entries.
  const std::vector<uint16_t> pattern{0, 0, 0, 1};
  const RssMap map(symmetric_rss_key(), build_reta(512, 2, pattern));
  connect_lands_on_every_queue(*this, sink_, idle_, map, 2, &PortChoice::make_shard);
}

// The same over IPv6: the filter hashes the 36-byte IPv6 input (ToeplitzHash::ipv6_tcp), with
// the symmetric key and a device's.
TEST_F(PortChoice, Ipv6_EveryQueueGetsPortsThatLandOnIt) {
  for (const auto& key : {symmetric_rss_key(), kMicrosoftKey}) {
    for (uint16_t queues : {2, 4}) {
      SCOPED_TRACE(queues);
      const RssMap map(key, build_reta(kSoftwareRetaSize, queues, {}));
      connect_lands_on_every_queue(*this, sink_, idle_, map, queues, &PortChoice::make_shard, kLocal6, kRemote6);
    }
  }
}

// Ports that land on a queue for an IPv4 peer are not, in general, the ones for an IPv6 peer:
// the filter must hash the family of the connection it is asked about (with a device key; see
// kMicrosoftKey for why not the symmetric one).
TEST_F(PortChoice, Ipv4AndIpv6Peers_DifferentPortsLandOnAQueue) {
  const RssMap map(kMicrosoftKey, build_reta(kSoftwareRetaSize, 4, {}));
  int differ = 0;
  for (uint32_t p = 40000; p < 40256; p++) {
    const auto port = static_cast<uint16_t>(p);
    differ += reply_queue(map, port) != reply_queue(map, port, kLocal6, kRemote6);
  }
  EXPECT_GT(differ, 128);  // about 3/4 of them with 4 queues
}

TEST_F(PortChoice, NoPortLandsOnThisQueue_NoEphemeralPortAfterOnePass) {
  const RssMap map(symmetric_rss_key(), std::vector<uint16_t>(128, 0));  // everything to queue 0
  CountingFilter filter{.own = {&map, 1}};
  auto shard = make_shard(filter);
  const auto result = shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{});
  EXPECT_EQ(result.error, ConnectError::no_ephemeral_port);
  EXPECT_EQ(filter.calls, 60999u - 32768u + 1u);  // each port of the range once, no more
  EXPECT_TRUE(sink_.source_ports.empty());
}

TEST_F(PortChoice, SuitablePortsUsedUp_ReportedNotLoopedOn) {
  const RssMap map(symmetric_rss_key(), build_reta(kSoftwareRetaSize, 2, {}));
  constexpr uint16_t kMin = 40000, kMax = 40063;
  for (uint16_t q = 0; q < 2; q++) {
    size_t suitable = 0;
    for (uint32_t p = kMin; p <= kMax; p++) suitable += reply_queue(map, static_cast<uint16_t>(p)) == q;
    ASSERT_GT(suitable, 0u) << "queue " << q << " has no port in the range; pick another range";
    CountingFilter filter{.own = {&map, q}};
    auto shard = make_shard(filter, kMin, kMax);
    for (size_t i = 0; i < suitable; i++) ASSERT_TRUE(shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{}).ok());
    filter.calls = 0;
    EXPECT_EQ(shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{}).error, ConnectError::no_ephemeral_port);
    EXPECT_LE(filter.calls, uint64_t{kMax - kMin + 1});
  }
}


// Issue 15, defect A: with the range used up, a connect() must not walk it again on every call
// (a load generator with 4 addresses and 120,000 connections stalled for seconds that way). The
// first failure walks the range once; the following ones cost no probe at all, until a tuple of
// that address and destination is freed, when one walk finds it. Other destinations are not
// affected.
TEST_F(PortChoice, RangeExhausted_FailingConnectsDoNotWalkAgainUntilATupleIsFreed) {
  const RssMap map(symmetric_rss_key(), std::vector<uint16_t>(128, 0));  // every port suits queue 0
  CountingFilter filter{.own = {&map, 0}};
  constexpr uint16_t kMin = 40000, kMax = 40063;
  constexpr uint64_t kRange = kMax - kMin + 1;
  auto shard = make_shard(filter, kMin, kMax);
  std::vector<Connection*> open;
  for (uint64_t i = 0; i < kRange; i++) {
    const auto r = shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{});
    ASSERT_TRUE(r.ok()) << i;
    open.push_back(r.connection);
  }
  for (int i = 0; i < 1001; i++)
    ASSERT_EQ(shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{}).error, ConnectError::no_ephemeral_port);
  EXPECT_EQ(shard->counters().connect_no_ephemeral_port, 1001u);
  EXPECT_EQ(shard->counters().connect_port_range_walks_failed, 1u);
  // Another destination port has its own range of 4-tuples.
  const auto other = shard->connect(kRemote, kRemotePort + 1, idle_, {}, TimePoint{});
  ASSERT_TRUE(other.ok());
  // A freed tuple: the next connect walks once and takes it; the one after fails with a walk.
  const uint16_t freed = open[10]->local().port;
  open[10]->abort();
  const auto again = shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{});
  ASSERT_TRUE(again.ok()) << to_string(again.error);
  EXPECT_EQ(again.connection->local().port, freed);
  EXPECT_EQ(shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{}).error, ConnectError::no_ephemeral_port);
  EXPECT_EQ(shard->counters().connect_port_range_walks_failed, 2u);
  EXPECT_EQ(shard->connect(kRemote, kRemotePort, idle_, {}, TimePoint{}).error, ConnectError::no_ephemeral_port);
  EXPECT_EQ(shard->counters().connect_port_range_walks_failed, 2u);
  shard->abort_all();
}

}  // namespace
}  // namespace dtcp::dpdk
