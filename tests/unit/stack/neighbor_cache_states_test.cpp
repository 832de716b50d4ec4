// The IPv6 neighbour cache on its own: every transition of RFC 4861 Appendix C (and the timers
// of §7.3.3) on a virtual clock, the bounded pending queue and eviction; the advertisement table
// over all four states with an address, IsRouter from router advertisements (mark_router), and
// DELAY after queued packets are released to a STALE entry. neighbor_cache_test.cpp overlaps. The cache never reads
// the packets it holds, so they are stand-in pointers here; tests/unit/stack/ipv6_test.cpp runs
// the same cache behind the Interface with real frames.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "stack/neighbor_cache.hpp"

namespace dtcp::stack::test {
namespace {

using namespace std::chrono_literals;
using State = NeighborCache::State;
using Verdict = NeighborCache::Verdict;

constexpr wire::MacAddr kMacA{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr wire::MacAddr kMacB{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};

wire::Ipv6Addr addr(uint8_t last, uint8_t second_last = 0) {
  wire::Ipv6Addr a;
  a.bytes[0] = 0x20;
  a.bytes[1] = 0x01;
  a.bytes[2] = 0x0d;
  a.bytes[3] = 0xb8;
  a.bytes[14] = second_last;
  a.bytes[15] = last;
  return a;
}
const wire::Ipv6Addr kPeer = addr(2);

// The cache only stores and hands back packet pointers: distinct fake ones are enough.
rte_mbuf* packet(uintptr_t n) { return reinterpret_cast<rte_mbuf*>(0x1000 + 0x100 * n); }

NeighborConfig test_config() {
  return NeighborConfig{.capacity = 4, .max_pending_per_entry = 2, .retrans_timer = 1000ms,
                        .base_reachable_time = 30000ms, .delay_first_probe_time = 5000ms,
                        .max_multicast_solicit = 3, .max_unicast_solicit = 3};
}

class NeighborCacheStates : public ::testing::Test {
 public:  // the tests take pointers to the make_* helpers
  struct Solicit {
    wire::Ipv6Addr target;
    std::optional<wire::MacAddr> unicast;
    bool operator==(const Solicit&) const = default;
  };
  struct Released {
    rte_mbuf* m;
    wire::MacAddr mac;
    bool operator==(const Released&) const = default;
  };

  NeighborCache& cache() {
    if (!cache_) cache_.emplace(config_, seed_);
    return *cache_;
  }
  Verdict lookup(const wire::Ipv6Addr& ip, rte_mbuf* m, TimePoint at) { return cache().lookup(ip, m, at, mac_out_); }
  void advance(TimePoint at) {
    cache().advance(
        at, [this](const wire::Ipv6Addr& t, const wire::MacAddr* u) {
          solicits_.push_back({t, u ? std::optional(*u) : std::nullopt});
        },
        [this](rte_mbuf* m) { dropped_.push_back(m); }, [this] { removed_++; });
  }
  NeighborCache::Advertised advertise(const wire::Ipv6Addr& target, std::optional<wire::MacAddr> tll, bool solicited,
                                      bool override, bool router, TimePoint at) {
    return cache().on_advertisement(target, tll, solicited, override, router, at,
                                    [this](rte_mbuf* m, wire::MacAddr mac) { released_.push_back({m, mac}); });
  }
  bool solicitation(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint at) {
    return cache().on_solicitation(ip, mac, at,
                                   [this](rte_mbuf* m, wire::MacAddr mac2) { released_.push_back({m, mac2}); });
  }
  State state(const wire::Ipv6Addr& ip) {
    const auto* e = cache().find(ip);
    return e == nullptr ? State::empty : e->state;
  }
  wire::MacAddr mac(const wire::Ipv6Addr& ip) {
    const auto* e = cache().find(ip);
    EXPECT_NE(e, nullptr);
    return e == nullptr ? wire::MacAddr{} : e->mac;
  }

  // Entries in each state, built through the cache's own inputs.
  void make_incomplete(const wire::Ipv6Addr& ip, TimePoint at, uintptr_t n = 1) {
    ASSERT_EQ(lookup(ip, packet(n), at), Verdict::queued_and_solicit);
  }
  void make_reachable(const wire::Ipv6Addr& ip, TimePoint at, wire::MacAddr m = kMacA) {
    make_incomplete(ip, at, 99);
    advertise(ip, m, true, false, false, at);
    ASSERT_EQ(state(ip), State::reachable);
    released_.clear();
  }
  void make_stale(const wire::Ipv6Addr& ip, TimePoint at, wire::MacAddr m = kMacA) {
    ASSERT_TRUE(solicitation(ip, m, at));
    ASSERT_EQ(state(ip), State::stale);
  }
  void make_delay(const wire::Ipv6Addr& ip, TimePoint at, wire::MacAddr m = kMacA) {
    make_stale(ip, at, m);
    ASSERT_EQ(lookup(ip, packet(50), at), Verdict::send);
    ASSERT_EQ(state(ip), State::delay);
  }
  void make_probe(const wire::Ipv6Addr& ip, TimePoint at, wire::MacAddr m = kMacA) {
    make_delay(ip, at, m);
    advance(at + 5000ms);
    ASSERT_EQ(state(ip), State::probe);
    solicits_.clear();
  }

  const TimePoint t0_ = TimePoint{} + 100s;
  NeighborConfig config_ = test_config();
  uint64_t seed_ = 1;
  std::optional<NeighborCache> cache_;
  wire::MacAddr mac_out_{};
  std::vector<Solicit> solicits_;
  std::vector<rte_mbuf*> dropped_;
  std::vector<Released> released_;
  int removed_ = 0;
};

// ---- INCOMPLETE -------------------------------------------------------------------------------

TEST_F(NeighborCacheStates, LookupOnEmpty_CreatesIncompleteQueuesAndAsksForASolicitation) {
  EXPECT_EQ(lookup(kPeer, packet(1), t0_), Verdict::queued_and_solicit);
  EXPECT_EQ(state(kPeer), State::incomplete);
  EXPECT_EQ(cache().size(), 1u);
  EXPECT_EQ(cache().pending(), 1u);
  EXPECT_EQ(cache().find(kPeer)->solicits_sent, 1) << "the caller sends the first one";
  // A second packet while resolving queues without another solicitation.
  EXPECT_EQ(lookup(kPeer, packet(2), t0_ + 10ms), Verdict::queued);
  EXPECT_EQ(cache().pending(), 2u);
}

TEST_F(NeighborCacheStates, Incomplete_RetriesEveryRetransTimerThenDropsQueuedPacketsAndGoes) {
  make_incomplete(kPeer, t0_, 1);
  lookup(kPeer, packet(2), t0_);
  advance(t0_ + 999ms);
  EXPECT_TRUE(solicits_.empty()) << "not before RetransTimer";
  advance(t0_ + 1000ms);
  advance(t0_ + 2000ms);
  // MAX_MULTICAST_SOLICIT = 3: the first by the caller, two by the timer, all multicast.
  EXPECT_EQ(solicits_, (std::vector<Solicit>{{kPeer, std::nullopt}, {kPeer, std::nullopt}}));
  EXPECT_EQ(state(kPeer), State::incomplete);
  advance(t0_ + 2999ms);
  EXPECT_EQ(state(kPeer), State::incomplete);
  EXPECT_EQ(removed_, 0);
  // RetransTimer after the last solicitation with no answer: gone, with its packets (§7.3.3).
  advance(t0_ + 3000ms);
  EXPECT_EQ(solicits_.size(), 2u);
  EXPECT_EQ(state(kPeer), State::empty);
  EXPECT_EQ(dropped_, (std::vector<rte_mbuf*>{packet(1), packet(2)}));
  EXPECT_EQ(removed_, 1);
  EXPECT_EQ(cache().size(), 0u);
  EXPECT_EQ(cache().pending(), 0u);
}

TEST_F(NeighborCacheStates, Incomplete_SolicitedAdvertisement_ReachableAndReleasesInOrder) {
  make_incomplete(kPeer, t0_, 1);
  lookup(kPeer, packet(2), t0_);
  const auto out = advertise(kPeer, kMacA, true, false, false, t0_ + 5ms);
  EXPECT_TRUE(out.updated);
  EXPECT_EQ(state(kPeer), State::reachable);
  EXPECT_EQ(mac(kPeer), kMacA);
  EXPECT_EQ(released_, (std::vector<Released>{{packet(1), kMacA}, {packet(2), kMacA}}));
  EXPECT_EQ(cache().pending(), 0u);
  advance(t0_ + 10s);
  EXPECT_TRUE(solicits_.empty()) << "resolved: no more solicitations";
  EXPECT_TRUE(dropped_.empty());
}

TEST_F(NeighborCacheStates, Incomplete_UnsolicitedAdvertisement_StaleAndReleases) {
  // Appendix C: INCOMPLETE, NA S=0 with a link-layer address -> STALE, send queued packets.
  for (bool override : {false, true}) {
    cache_.reset();
    released_.clear();
    make_incomplete(kPeer, t0_, 1);
    advertise(kPeer, kMacA, false, override, false, t0_);
    EXPECT_EQ(released_, (std::vector<Released>{{packet(1), kMacA}}));
    // STALE, and the queued packet sent to it: DELAY (§7.3.3), so it is probed if nothing confirms.
    EXPECT_EQ(state(kPeer), State::delay) << "O=" << override;
    EXPECT_EQ(cache().find(kPeer)->deadline, t0_ + 5000ms);
  }
}

TEST_F(NeighborCacheStates, Incomplete_UnsolicitedAdvertisementNothingQueued_Stale) {
  // An INCOMPLETE entry always has its first packet, so the STALE case without packets is one
  // made by a solicitation: it stays STALE.
  make_stale(kPeer, t0_);
  advertise(kPeer, kMacB, false, true, false, t0_ + 1ms);
  EXPECT_EQ(state(kPeer), State::stale);
}

TEST_F(NeighborCacheStates, Incomplete_AdvertisementWithoutTargetAddress_Ignored) {
  make_incomplete(kPeer, t0_, 1);
  const auto out = advertise(kPeer, std::nullopt, true, true, false, t0_);
  EXPECT_FALSE(out.updated);
  EXPECT_EQ(state(kPeer), State::incomplete);
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(cache().pending(), 1u);
}

TEST_F(NeighborCacheStates, Incomplete_SolicitationWithSourceAddress_StaleAndReleases) {
  make_incomplete(kPeer, t0_, 1);
  EXPECT_FALSE(solicitation(kPeer, kMacB, t0_)) << "not created: it existed";
  EXPECT_EQ(state(kPeer), State::delay) << "STALE with its queued packet sent (§7.3.3)";
  advance(t0_ + 5000ms);
  EXPECT_EQ(state(kPeer), State::probe) << "the DELAY timer runs (advance() is told of its deadline)";
  EXPECT_EQ(solicits_, (std::vector<Solicit>{{kPeer, kMacB}}));
  EXPECT_EQ(mac(kPeer), kMacB);
  EXPECT_EQ(released_, (std::vector<Released>{{packet(1), kMacB}}));
}

TEST_F(NeighborCacheStates, AdvertisementForUnknownTarget_CreatesNothing) {
  const auto out = advertise(kPeer, kMacA, false, true, false, t0_);
  EXPECT_FALSE(out.updated);
  EXPECT_EQ(cache().size(), 0u);
}

// ---- solicitations (NS/RS/redirect with a source link-layer address) --------------------------

TEST_F(NeighborCacheStates, SolicitationFromUnknown_CreatesStale) {
  EXPECT_TRUE(solicitation(kPeer, kMacA, t0_));
  EXPECT_EQ(state(kPeer), State::stale);
  EXPECT_EQ(mac(kPeer), kMacA);
  EXPECT_EQ(cache().size(), 1u);
}

TEST_F(NeighborCacheStates, Solicitation_SameAddressLeavesEveryStateAlone_DifferentMakesStale) {
  using Maker = void (NeighborCacheStates::*)(const wire::Ipv6Addr&, TimePoint, wire::MacAddr);
  const std::vector<std::pair<Maker, State>> states{{&NeighborCacheStates::make_reachable, State::reachable},
                                                    {&NeighborCacheStates::make_stale, State::stale},
                                                    {&NeighborCacheStates::make_delay, State::delay},
                                                    {&NeighborCacheStates::make_probe, State::probe}};
  for (const auto& [make, s] : states) {
    cache_.reset();
    (this->*make)(kPeer, t0_, kMacA);
    EXPECT_FALSE(solicitation(kPeer, kMacA, t0_ + 1ms));
    EXPECT_EQ(state(kPeer), s) << "same address";
    EXPECT_FALSE(solicitation(kPeer, kMacB, t0_ + 2ms));
    EXPECT_EQ(state(kPeer), State::stale) << "different address, from " << static_cast<int>(s);
    EXPECT_EQ(mac(kPeer), kMacB);
  }
}

// ---- advertisements in the states with an address (Appendix C) ------------------------------

struct AdvertCase {
  State from;
  bool solicited, override, same;
  State to;
  bool mac_changes;
};

TEST_F(NeighborCacheStates, Advertisement_EveryStateFlagsAndAddress_AppendixC) {
  using Maker = void (NeighborCacheStates::*)(const wire::Ipv6Addr&, TimePoint, wire::MacAddr);
  const std::vector<std::pair<State, Maker>> makers{{State::reachable, &NeighborCacheStates::make_reachable},
                                                    {State::stale, &NeighborCacheStates::make_stale},
                                                    {State::delay, &NeighborCacheStates::make_delay},
                                                    {State::probe, &NeighborCacheStates::make_probe}};
  for (const auto& [from, make] : makers) {
    for (bool solicited : {false, true}) {
      for (bool override : {false, true}) {
        for (bool same : {false, true}) {
          // Appendix C, from the RFC's table:
          //   S=1, O=0, same   -> REACHABLE            S=1, O=1, any  -> REACHABLE (address recorded)
          //   S=0, O=any, same -> unchanged            S=0, O=1, diff -> STALE (address recorded)
          //   S=any, O=0, diff -> REACHABLE becomes STALE, others unchanged; address not taken
          State to = from;
          bool mac_changes = false;
          if (!override && !same) {
            if (from == State::reachable) to = State::stale;
          } else {
            mac_changes = !same;
            if (solicited) {
              to = State::reachable;
            } else if (!same) {
              to = State::stale;
            }
          }
          cache_.reset();
          (this->*make)(kPeer, t0_, kMacA);
          advertise(kPeer, same ? kMacA : kMacB, solicited, override, false, t0_ + 1ms);
          const std::string what = "from " + std::to_string(static_cast<int>(from)) + " S=" + std::to_string(solicited) +
                                   " O=" + std::to_string(override) + (same ? " same" : " different");
          EXPECT_EQ(state(kPeer), to) << what;
          EXPECT_EQ(mac(kPeer), mac_changes ? kMacB : kMacA) << what;
        }
      }
    }
  }
}

TEST_F(NeighborCacheStates, SolicitedAdvertisementWithoutTargetAddress_ConfirmsReachable) {
  make_stale(kPeer, t0_);
  advertise(kPeer, std::nullopt, true, false, false, t0_ + 1ms);
  EXPECT_EQ(state(kPeer), State::reachable) << "§7.2.5: no option is as good as the same address";
  EXPECT_EQ(mac(kPeer), kMacA);
}

TEST_F(NeighborCacheStates, IsRouterTrueToFalse_Reported) {
  make_incomplete(kPeer, t0_);
  advertise(kPeer, kMacA, true, true, true, t0_);
  EXPECT_TRUE(cache().find(kPeer)->is_router);
  auto out = advertise(kPeer, kMacA, false, false, true, t0_ + 1ms);
  EXPECT_FALSE(out.no_longer_router);
  out = advertise(kPeer, kMacA, false, false, false, t0_ + 2ms);
  EXPECT_TRUE(out.no_longer_router);
  EXPECT_FALSE(cache().find(kPeer)->is_router);
  out = advertise(kPeer, kMacA, false, false, false, t0_ + 3ms);
  EXPECT_FALSE(out.no_longer_router) << "reported once, on the change";
}

TEST_F(NeighborCacheStates, MarkedRouter_AdvertisementWithRouterClear_Reported) {
  // A router advertisement's source (RFC 4861 §6.3.4) learned through its link-layer option.
  make_stale(kPeer, t0_);
  cache().mark_router(kPeer);
  EXPECT_TRUE(cache().find(kPeer)->is_router);
  EXPECT_TRUE(advertise(kPeer, kMacA, false, false, false, t0_ + 1ms).no_longer_router);
  cache().mark_router(addr(9));
  EXPECT_EQ(cache().find(addr(9)), nullptr) << "creates nothing";
}

// ---- timers: REACHABLE -> STALE -> DELAY -> PROBE -> gone --------------------------------------

TEST_F(NeighborCacheStates, Reachable_AfterReachableTime_Stale) {
  make_reachable(kPeer, t0_);
  const Duration rt = cache().reachable_time();
  advance(t0_ + rt - 1us);
  EXPECT_EQ(state(kPeer), State::reachable);
  advance(t0_ + rt);
  EXPECT_EQ(state(kPeer), State::stale);
  EXPECT_TRUE(solicits_.empty()) << "STALE sends nothing by itself";
  advance(t0_ + 1h);
  EXPECT_EQ(state(kPeer), State::stale) << "and stays until used";
}

TEST_F(NeighborCacheStates, Stale_Send_DelayThenProbeByUnicastThenGone) {
  make_stale(kPeer, t0_);
  EXPECT_EQ(lookup(kPeer, packet(1), t0_ + 1s), Verdict::send);
  EXPECT_EQ(mac_out_, kMacA) << "STALE is used as it is";
  EXPECT_EQ(state(kPeer), State::delay);
  // DELAY_FIRST_PROBE_TIME = 5 s of waiting for an upper-layer confirmation.
  advance(t0_ + 5999ms);
  EXPECT_EQ(state(kPeer), State::delay);
  EXPECT_TRUE(solicits_.empty());
  advance(t0_ + 6s);
  EXPECT_EQ(state(kPeer), State::probe);
  EXPECT_EQ(solicits_, (std::vector<Solicit>{{kPeer, kMacA}}));
  // Packets keep flowing to the cached address while probing.
  EXPECT_EQ(lookup(kPeer, packet(2), t0_ + 6500ms), Verdict::send);
  EXPECT_EQ(mac_out_, kMacA);
  EXPECT_EQ(state(kPeer), State::probe);
  advance(t0_ + 7s);
  advance(t0_ + 8s);
  EXPECT_EQ(solicits_, (std::vector<Solicit>{{kPeer, kMacA}, {kPeer, kMacA}, {kPeer, kMacA}}))
      << "MAX_UNICAST_SOLICIT = 3 unicast probes";
  EXPECT_EQ(state(kPeer), State::probe);
  advance(t0_ + 9s);
  EXPECT_EQ(state(kPeer), State::empty);
  EXPECT_EQ(removed_, 1);
  EXPECT_EQ(solicits_.size(), 3u);
  EXPECT_TRUE(dropped_.empty()) << "nothing was queued";
}

TEST_F(NeighborCacheStates, Delay_Confirmation_Reachable_NoProbe) {
  make_delay(kPeer, t0_);
  cache().confirm_reachable(kPeer, t0_ + 2s);
  EXPECT_EQ(state(kPeer), State::reachable);
  advance(t0_ + 6s);
  EXPECT_TRUE(solicits_.empty());
  EXPECT_EQ(state(kPeer), State::reachable);
}

TEST_F(NeighborCacheStates, Probe_SolicitedAdvertisement_Reachable) {
  make_probe(kPeer, t0_);
  advertise(kPeer, kMacA, true, false, false, t0_ + 5500ms);
  EXPECT_EQ(state(kPeer), State::reachable);
  advance(t0_ + 20s);
  EXPECT_TRUE(solicits_.empty());
}

TEST_F(NeighborCacheStates, ConfirmReachable_FromStaleAndProbe_IgnoredWhenIncompleteOrUnknown) {
  make_stale(kPeer, t0_);
  cache().confirm_reachable(kPeer, t0_ + 1s);
  EXPECT_EQ(state(kPeer), State::reachable);
  EXPECT_EQ(cache().find(kPeer)->deadline, t0_ + 1s + cache().reachable_time());
  const wire::Ipv6Addr b = addr(3);
  make_probe(b, t0_);
  cache().confirm_reachable(b, t0_ + 5500ms);
  EXPECT_EQ(state(b), State::reachable);
  const wire::Ipv6Addr c = addr(4);
  make_incomplete(c, t0_);
  cache().confirm_reachable(c, t0_);
  EXPECT_EQ(state(c), State::incomplete) << "no address to confirm";
  cache().confirm_reachable(addr(5), t0_);
  EXPECT_EQ(state(addr(5)), State::empty);
}

// ---- bounds --------------------------------------------------------------------------------

TEST_F(NeighborCacheStates, PendingPerEntry_Bounded) {
  make_incomplete(kPeer, t0_, 1);
  EXPECT_EQ(lookup(kPeer, packet(2), t0_), Verdict::queued);
  EXPECT_EQ(lookup(kPeer, packet(3), t0_), Verdict::drop_pending_full) << "max_pending_per_entry = 2";
  EXPECT_EQ(cache().pending(), 2u);
  advertise(kPeer, kMacA, true, false, false, t0_);
  EXPECT_EQ(released_.size(), 2u);
}

TEST_F(NeighborCacheStates, PendingTotal_Bounded) {
  // max_pending_total, across entries.
  config_.capacity = 128;
  config_.max_pending_total = 128;
  for (unsigned i = 0; i < 64; ++i) {
    const wire::Ipv6Addr a = addr(static_cast<uint8_t>(i), 1);
    ASSERT_EQ(lookup(a, packet(2 * i), t0_), Verdict::queued_and_solicit);
    ASSERT_EQ(lookup(a, packet(2 * i + 1), t0_), Verdict::queued);
  }
  EXPECT_EQ(cache().pending(), 128u);
  EXPECT_EQ(lookup(addr(200, 1), packet(500), t0_), Verdict::drop_pending_full);
  EXPECT_EQ(cache().find(addr(200, 1)), nullptr) << "no entry made for a packet that was dropped";
  EXPECT_EQ(cache().size(), 64u);
}

TEST_F(NeighborCacheStates, Full_EvictsOldestStale) {
  make_stale(addr(1), t0_ + 3s);
  make_stale(addr(2), t0_ + 1s);  // the oldest STALE
  make_stale(addr(3), t0_ + 2s);
  make_reachable(addr(4), t0_);  // older, but REACHABLE stays
  EXPECT_EQ(cache().size(), 4u);
  EXPECT_EQ(lookup(addr(5), packet(1), t0_ + 4s), Verdict::queued_and_solicit);
  EXPECT_EQ(state(addr(2)), State::empty);
  EXPECT_NE(state(addr(1)), State::empty);
  EXPECT_NE(state(addr(3)), State::empty);
  EXPECT_EQ(state(addr(4)), State::reachable);
  EXPECT_EQ(state(addr(5)), State::incomplete);
  EXPECT_EQ(cache().size(), 4u);
}

TEST_F(NeighborCacheStates, Full_NoStale_Refused) {
  make_reachable(addr(1), t0_);
  make_delay(addr(2), t0_);
  make_probe(addr(3), t0_);
  make_incomplete(addr(4), t0_);
  EXPECT_EQ(lookup(addr(5), packet(1), t0_ + 5500ms), Verdict::drop_full);
  EXPECT_FALSE(solicitation(addr(6), kMacA, t0_ + 5500ms));
  EXPECT_EQ(cache().find(addr(6)), nullptr);
  EXPECT_EQ(cache().size(), 4u);
  EXPECT_EQ(cache().pending(), 1u) << "the refused packet was not queued";
}

TEST_F(NeighborCacheStates, ManyEntries_RemovalDuringAdvance_VisitsEveryEntry) {
  // Removals shift later entries back; every one must still get its timer.
  config_.capacity = 64;
  for (unsigned i = 0; i < 64; ++i) make_incomplete(addr(static_cast<uint8_t>(i), 2), t0_, i);
  advance(t0_ + 1s);
  advance(t0_ + 2s);
  EXPECT_EQ(solicits_.size(), 128u);
  advance(t0_ + 3s);
  EXPECT_EQ(removed_, 64);
  EXPECT_EQ(cache().size(), 0u);
  EXPECT_EQ(dropped_.size(), 64u);
  std::set<rte_mbuf*> unique(dropped_.begin(), dropped_.end());
  EXPECT_EQ(unique.size(), 64u);
}

// ---- ReachableTime (§6.3.2) ----------------------------------------------------------------

TEST_F(NeighborCacheStates, ReachableTime_RandomisedWithinHalfToOneAndAHalf) {
  std::set<int64_t> seen;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    const NeighborCache c(config_, seed);
    const Duration rt = c.reachable_time();
    EXPECT_GE(rt, Duration(15000ms)) << "seed " << seed;
    EXPECT_LT(rt, Duration(45000ms)) << "seed " << seed;
    seen.insert(rt.count());
  }
  EXPECT_GT(seen.size(), 16u) << "the factor varies with the seed";
}

TEST_F(NeighborCacheStates, ReachableTime_FixedForOneSeed) {
  const NeighborCache a(config_, 42), b(config_, 42);
  EXPECT_EQ(a.reachable_time(), b.reachable_time());
}

}  // namespace
}  // namespace dtcp::stack::test
