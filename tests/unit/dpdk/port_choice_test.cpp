// Active open on the right queue: a TCP shard given port_lands_on_queue() as its ephemeral-port
// filter picks only source ports whose replies the RETA sends to its own queue, for every queue
// of a table; when no port qualifies, connect() says no_ephemeral_port after one bounded pass.
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
constexpr uint16_t kRemotePort = 7;

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
                                                      .port_filter_ctx = &filter},
                                        TimePoint{});
  }
  void TearDown() override { EXPECT_EQ(rte_mempool_avail_count(test::g_pool), test::g_pool->size) << "mbuf leak"; }

  SynSink sink_;
  Idle idle_;
};
using PortChoiceFixture = PortChoice;

// The queue the device (or software steering) delivers this connection's segments to.
uint16_t reply_queue(const RssMap& map, uint16_t local_port) {
  return map.queue_of(Ipv4TcpFlow{.src = kRemote.value, .dst = kLocal.value, .src_port = kRemotePort,
                                  .dst_port = local_port});
}

void connect_lands_on_every_queue(PortChoice& test, SynSink& sink, Idle& idle, const RssMap& map, uint16_t queues,
                                  std::unique_ptr<tcp::Shard> (PortChoice::*make)(CountingFilter&, uint16_t, uint16_t)) {
  for (uint16_t q = 0; q < queues; q++) {
    CountingFilter filter{.own = {&map, q}};
    auto shard = (test.*make)(filter, 32768, 60999);
    sink.source_ports.clear();
    std::set<uint16_t> ports;
    for (int i = 0; i < 300; i++) {
      const auto result = shard->connect(kRemote, kRemotePort, idle, {}, TimePoint{});
      ASSERT_TRUE(result.ok()) << "queue " << q << " connect " << i << ": " << to_string(result.error);
      const uint16_t port = result.connection->local().port;
      EXPECT_EQ(reply_queue(map, port), q) << "port " << port;
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

}  // namespace
}  // namespace dtcp::dpdk
