// The impairment stage's CE marking: a fraction of the ECN-capable IPv4 frames become CE with a
// header checksum that still verifies; other frames pass untouched; a frame the loss draws is
// dropped, never marked.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "dpdk/impairment.hpp"
#include "wire/ethernet.hpp"
#include "wire/ipv4.hpp"

namespace dtcp::dpdk::test {
extern rte_mempool* g_pool;
namespace {

// An Ethernet frame with an IPv4/TCP header whose TOS byte is `tos` (checksum filled).
rte_mbuf* ipv4_frame(uint8_t tos) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  EXPECT_NE(m, nullptr);
  auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, 14 + 20 + 20));
  std::memset(p, 0, 14 + 20 + 20);
  wire::write_ethernet({p, 14}, wire::MacAddr{{2, 0, 0, 0, 0, 2}}, wire::MacAddr{{2, 0, 0, 0, 0, 1}},
                       static_cast<uint16_t>(wire::EtherType::ipv4));
  wire::write_ipv4({p + 14, 20}, wire::Ipv4Header{.src = wire::Ipv4Addr::from_octets(198, 18, 0, 1),
                                                  .dst = wire::Ipv4Addr::from_octets(198, 18, 0, 2),
                                                  .protocol = 6,
                                                  .dscp_ecn = tos,
                                                  .payload_len = 20});
  return m;
}

// Runs one frame through; returns it (nullptr if dropped). Delay is 0, so it passes at once.
rte_mbuf* pass(Impairment& imp, rte_mbuf* m) {
  rte_mbuf* out = nullptr;
  imp.process(m, TimePoint{}, [&](rte_mbuf* f) { out = f; });
  return out;
}

// The IPv4 header, parsed with its checksum verified.
wire::Parsed<wire::Ipv4View> ip_of(const rte_mbuf* m) {
  return wire::Ipv4View::parse({rte_pktmbuf_mtod(m, const std::byte*) + 14, m->data_len - 14u}, true);
}

TEST(Impairment, Ce_MarksEctFramesOnly_ChecksumStillVerifies) {
  stack::NetCounters counters{};
  Impairment imp(ImpairmentConfig{.ce = 1.0}, g_pool, counters);
  ASSERT_TRUE(imp.enabled());
  for (const uint8_t tos : {uint8_t{0x02}, uint8_t{0x01}, uint8_t{0xba}}) {
    rte_mbuf* m = pass(imp, ipv4_frame(tos));
    ASSERT_NE(m, nullptr);
    const auto ip = ip_of(m);
    EXPECT_TRUE(ip) << "the header checksum must still verify";
    if (ip) {
      EXPECT_EQ(ip->ecn(), wire::Ecn::ce);
      EXPECT_EQ(ip->dscp_ecn() & 0xfc, tos & 0xfc) << "DSCP kept";
    }
    rte_pktmbuf_free(m);
  }
  for (const uint8_t tos : {uint8_t{0x00}, uint8_t{0x03}}) {
    rte_mbuf* m = pass(imp, ipv4_frame(tos));
    ASSERT_NE(m, nullptr);
    const auto ip = ip_of(m);
    EXPECT_TRUE(ip);
    if (ip) {
      EXPECT_EQ(ip->dscp_ecn(), tos);
    }
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(counters.impair_ce_marked, 3u);
}

TEST(Impairment, Ce_FractionOfEctFrames) {
  stack::NetCounters counters{};
  Impairment imp(ImpairmentConfig{.ce = 0.25, .seed = 3}, g_pool, counters);
  unsigned marked = 0;
  for (int i = 0; i < 4000; ++i) {
    rte_mbuf* m = pass(imp, ipv4_frame(0x02));
    ASSERT_NE(m, nullptr);
    const auto ip = ip_of(m);
    EXPECT_TRUE(ip);
    marked += ip && ip->ecn() == wire::Ecn::ce;
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(counters.impair_ce_marked, marked);
  EXPECT_NEAR(marked, 1000, 100);
}

TEST(Impairment, Ce_LossAppliesFirst) {
  stack::NetCounters counters{};
  Impairment imp(ImpairmentConfig{.loss = 1.0, .ce = 1.0}, g_pool, counters);
  EXPECT_EQ(pass(imp, ipv4_frame(0x02)), nullptr);
  EXPECT_EQ(counters.impair_dropped, 1u);
  EXPECT_EQ(counters.impair_ce_marked, 0u);
}

}  // namespace
}  // namespace dtcp::dpdk::test
