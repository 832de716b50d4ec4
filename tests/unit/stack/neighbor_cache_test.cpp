// NeighborCache on its own, on a virtual clock: every transition of RFC 4861 Appendix C, the
// solicitation counts and intervals of §7.3.3, the pending-queue bounds, ReachableTime's
// randomisation (§6.3.2) and eviction when the table is full. Packets are real mbufs from the
// test pool; TearDown checks that every one came back.
#include "stack/neighbor_cache.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

using State = NeighborCache::State;
using Verdict = NeighborCache::Verdict;

wire::Ipv6Addr addr(uint8_t last) {
  wire::Ipv6Addr a;
  a.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
  return a;
}
const wire::Ipv6Addr kPeer = addr(2);

class NeighborCacheTest : public ::testing::Test {
 protected:
  static NeighborConfig config() {
    return NeighborConfig{.capacity = 4, .max_pending_per_entry = 2, .retrans_timer = 1000ms,
                          .base_reachable_time = 30000ms, .delay_first_probe_time = 5000ms,
                          .max_multicast_solicit = 3, .max_unicast_solicit = 3, .max_pending_total = 3};
  }

  void TearDown() override {
    cache_.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
    EXPECT_EQ(in_use(pool()), 0u) << "mbufs leaked";
  }

  // Offers one packet to `ip`; frees it unless the cache kept it.
  Verdict send(const wire::Ipv6Addr& ip, TimePoint at, wire::MacAddr* mac_out = nullptr) {
    wire::MacAddr mac{};
    rte_mbuf* m = to_mbuf(Bytes{std::byte{1}});
    const Verdict v = cache_.lookup(ip, m, at, mac);
    if (v != Verdict::queued && v != Verdict::queued_and_solicit) rte_pktmbuf_free(m);
    if (mac_out != nullptr) *mac_out = mac;
    return v;
  }

  NeighborCache::Advertised advertise(const wire::Ipv6Addr& ip, std::optional<wire::MacAddr> tll, bool solicited,
                                      bool override, bool router, TimePoint at) {
    return cache_.on_advertisement(ip, tll, solicited, override, router, at, [this](rte_mbuf* m, wire::MacAddr mac) {
      released_.push_back(mac);
      rte_pktmbuf_free(m);
    });
  }

  bool solicit_from(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint at) {
    return cache_.on_solicitation(ip, mac, at, [this](rte_mbuf* m, wire::MacAddr out) {
      released_.push_back(out);
      rte_pktmbuf_free(m);
    });
  }

  struct Tick {
    std::vector<std::pair<wire::Ipv6Addr, std::optional<wire::MacAddr>>> solicits;  // (target, unicast)
    int unreachable = 0;  // packets handed back for ICMPv6 address unreachable
    int removed = 0;
  };
  Tick advance(TimePoint at) {
    Tick t;
    cache_.advance(
        at,
        [&](const wire::Ipv6Addr& ip, const wire::MacAddr* unicast) {
          t.solicits.emplace_back(ip, unicast ? std::optional{*unicast} : std::nullopt);
        },
        [&](rte_mbuf* m) {
          ++t.unreachable;
          rte_pktmbuf_free(m);
        },
        [&] { ++t.removed; });
    return t;
  }

  State state(const wire::Ipv6Addr& ip) const {
    const auto* e = cache_.find(ip);
    return e ? e->state : State::empty;
  }

  // Resolves kPeer to kPeerMac through a solicited advertisement: REACHABLE at `at`.
  void make_reachable(TimePoint at) {
    ASSERT_EQ(send(kPeer, at), Verdict::queued_and_solicit);
    advertise(kPeer, kPeerMac, true, true, false, at);
    ASSERT_EQ(state(kPeer), State::reachable);
  }
  // kPeer STALE with kPeerMac, learnt from a solicitation at `at`.
  void make_stale(TimePoint at) {
    ASSERT_TRUE(solicit_from(kPeer, kPeerMac, at));
    ASSERT_EQ(state(kPeer), State::stale);
  }

  NeighborCache cache_{config(), 7};
  std::vector<wire::MacAddr> released_;
};

const TimePoint t0{};

// --- INCOMPLETE -----------------------------------------------------------------------------

TEST_F(NeighborCacheTest, FirstPacketCreatesIncompleteAndAsksForASolicitation) {
  EXPECT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  EXPECT_EQ(state(kPeer), State::incomplete);
  EXPECT_EQ(send(kPeer, t0 + 1ms), Verdict::queued);  // the second waits without a new NS
  EXPECT_EQ(cache_.pending(), 2u);
}

TEST_F(NeighborCacheTest, PendingBoundedPerEntry) {
  EXPECT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  EXPECT_EQ(send(kPeer, t0), Verdict::queued);
  EXPECT_EQ(send(kPeer, t0), Verdict::drop_pending_full);
  EXPECT_EQ(cache_.find(kPeer)->pending, 2u);
}

TEST_F(NeighborCacheTest, PendingBoundedInTotal) {
  EXPECT_EQ(send(addr(10), t0), Verdict::queued_and_solicit);
  EXPECT_EQ(send(addr(10), t0), Verdict::queued);
  EXPECT_EQ(send(addr(11), t0), Verdict::queued_and_solicit);
  // Total limit 3 reached: a new target is refused before an entry is made for it.
  EXPECT_EQ(send(addr(12), t0), Verdict::drop_pending_full);
  EXPECT_EQ(state(addr(12)), State::empty);
  EXPECT_EQ(send(addr(11), t0), Verdict::drop_pending_full);
  EXPECT_EQ(cache_.pending(), 3u);
}

TEST_F(NeighborCacheTest, MulticastSolicitEveryRetransTimerThenUnreachable) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);  // NS 1, sent by the caller
  ASSERT_EQ(send(kPeer, t0), Verdict::queued);
  EXPECT_TRUE(advance(t0 + 999ms).solicits.empty());
  auto t = advance(t0 + 1000ms);  // NS 2
  ASSERT_EQ(t.solicits.size(), 1u);
  EXPECT_EQ(t.solicits[0].first, kPeer);
  EXPECT_FALSE(t.solicits[0].second) << "resolution solicits by multicast";
  EXPECT_TRUE(advance(t0 + 1999ms).solicits.empty());
  t = advance(t0 + 2000ms);  // NS 3 = MAX_MULTICAST_SOLICIT
  ASSERT_EQ(t.solicits.size(), 1u);
  EXPECT_FALSE(t.solicits[0].second);
  t = advance(t0 + 2999ms);
  EXPECT_EQ(t.removed, 0);
  t = advance(t0 + 3000ms);  // RetransTimer after the last NS: give up
  EXPECT_TRUE(t.solicits.empty());
  EXPECT_EQ(t.unreachable, 2);
  EXPECT_EQ(t.removed, 1);
  EXPECT_EQ(state(kPeer), State::empty);
  EXPECT_EQ(cache_.pending(), 0u);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(NeighborCacheTest, SolicitedAdvertisementResolvesToReachableAndReleases) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  ASSERT_EQ(send(kPeer, t0), Verdict::queued);
  const auto a = advertise(kPeer, kPeerMac, true, false, false, t0 + 10ms);
  EXPECT_TRUE(a.updated);
  EXPECT_EQ(state(kPeer), State::reachable);
  ASSERT_EQ(released_.size(), 2u);
  EXPECT_EQ(released_[0], kPeerMac);
  EXPECT_EQ(cache_.pending(), 0u);
  wire::MacAddr mac{};
  EXPECT_EQ(send(kPeer, t0 + 20ms, &mac), Verdict::send);
  EXPECT_EQ(mac, kPeerMac);
  EXPECT_TRUE(advance(t0 + 5000ms).solicits.empty()) << "no more resolution NS";
}

TEST_F(NeighborCacheTest, UnsolicitedAdvertisementResolvesToStale) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  advertise(kPeer, kPeerMac, false, true, false, t0 + 10ms);
  // STALE, then DELAY as the queued packet goes to it (§7.3.3).
  EXPECT_EQ(state(kPeer), State::delay);
  EXPECT_EQ(released_.size(), 1u);
}

TEST_F(NeighborCacheTest, AdvertisementWithoutLinkLayerAddressLeavesIncomplete) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  const auto a = advertise(kPeer, std::nullopt, true, true, false, t0 + 10ms);
  EXPECT_FALSE(a.updated);
  EXPECT_EQ(state(kPeer), State::incomplete);
  EXPECT_TRUE(released_.empty());
}

TEST_F(NeighborCacheTest, AdvertisementForUnknownTargetCreatesNothing) {
  advertise(kPeer, kPeerMac, true, true, false, t0);
  EXPECT_EQ(state(kPeer), State::empty);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(NeighborCacheTest, SolicitationResolvesIncompleteToStale) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  EXPECT_FALSE(solicit_from(kPeer, kPeerMac, t0 + 10ms));  // not created: it existed
  EXPECT_EQ(state(kPeer), State::delay);  // STALE, and the queued packet sent to it (§7.3.3)
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0], kPeerMac);
}

// --- REACHABLE, STALE, DELAY, PROBE ---------------------------------------------------------

TEST_F(NeighborCacheTest, ReachableBecomesStaleAfterReachableTime) {
  make_reachable(t0);
  const Duration rt = cache_.reachable_time();
  advance(t0 + rt - 1us);
  EXPECT_EQ(state(kPeer), State::reachable);
  advance(t0 + rt);
  EXPECT_EQ(state(kPeer), State::stale);
}

TEST_F(NeighborCacheTest, SendingToStaleStartsDelayThenProbe) {
  make_stale(t0);
  wire::MacAddr mac{};
  EXPECT_EQ(send(kPeer, t0 + 1s, &mac), Verdict::send);  // STALE still sends
  EXPECT_EQ(mac, kPeerMac);
  EXPECT_EQ(state(kPeer), State::delay);
  EXPECT_EQ(send(kPeer, t0 + 2s), Verdict::send);  // DELAY sends, and its timer is not restarted
  EXPECT_TRUE(advance(t0 + 6s - 1us).solicits.empty());
  EXPECT_EQ(state(kPeer), State::delay);
  auto t = advance(t0 + 6s);  // DELAY_FIRST_PROBE_TIME after the first send
  EXPECT_EQ(state(kPeer), State::probe);
  ASSERT_EQ(t.solicits.size(), 1u);
  EXPECT_EQ(t.solicits[0].second, std::optional{kPeerMac}) << "probes are unicast";
}

TEST_F(NeighborCacheTest, ProbeUnicastSolicitsThenRemoves) {
  make_stale(t0);
  send(kPeer, t0);
  auto t = advance(t0 + 5s);  // probe 1
  ASSERT_EQ(t.solicits.size(), 1u);
  EXPECT_EQ(send(kPeer, t0 + 5s + 500ms), Verdict::send) << "PROBE keeps sending to the cached address";
  EXPECT_TRUE(advance(t0 + 6s - 1us).solicits.empty());
  t = advance(t0 + 6s);  // probe 2
  ASSERT_EQ(t.solicits.size(), 1u);
  EXPECT_EQ(t.solicits[0].second, std::optional{kPeerMac});
  t = advance(t0 + 7s);  // probe 3 = MAX_UNICAST_SOLICIT
  ASSERT_EQ(t.solicits.size(), 1u);
  t = advance(t0 + 8s);
  EXPECT_TRUE(t.solicits.empty());
  EXPECT_EQ(t.removed, 1);
  EXPECT_EQ(t.unreachable, 0) << "nothing was queued";
  EXPECT_EQ(state(kPeer), State::empty);
}

TEST_F(NeighborCacheTest, UpperLayerConfirmationInDelayOrProbeMakesReachable) {
  make_stale(t0);
  send(kPeer, t0);
  cache_.confirm_reachable(kPeer, t0 + 1s);  // §7.3.1: TCP saw its data acknowledged
  EXPECT_EQ(state(kPeer), State::reachable);
  EXPECT_TRUE(advance(t0 + 6s).solicits.empty());
  // Into PROBE this time, then confirmed.
  advance(t0 + 1s + cache_.reachable_time());
  ASSERT_EQ(state(kPeer), State::stale);
  const TimePoint t1 = t0 + 1s + cache_.reachable_time();
  send(kPeer, t1);
  advance(t1 + 5s);
  ASSERT_EQ(state(kPeer), State::probe);
  cache_.confirm_reachable(kPeer, t1 + 5s + 100ms);
  EXPECT_EQ(state(kPeer), State::reachable);
  EXPECT_TRUE(advance(t1 + 10s).solicits.empty());
}

TEST_F(NeighborCacheTest, ConfirmationDoesNotResolveIncomplete) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  cache_.confirm_reachable(kPeer, t0);
  EXPECT_EQ(state(kPeer), State::incomplete);
  cache_.confirm_reachable(addr(9), t0);  // unknown: nothing created
  EXPECT_EQ(cache_.size(), 1u);
}

TEST_F(NeighborCacheTest, SolicitedAdvertisementInProbeMakesReachable) {
  make_stale(t0);
  send(kPeer, t0);
  advance(t0 + 5s);
  ASSERT_EQ(state(kPeer), State::probe);
  advertise(kPeer, kPeerMac, true, false, false, t0 + 5s + 10ms);
  EXPECT_EQ(state(kPeer), State::reachable);
  EXPECT_TRUE(advance(t0 + 9s).solicits.empty());
}

// --- Appendix C: advertisements for an entry that has an address -----------------------------

// One row of the table: the entry in `from` with kPeerMac, then an NA with the flags.
struct NaCase {
  State from;
  bool solicited, override;
  bool different;  // kPeerNewMac instead of kPeerMac
  State to;
  bool new_mac;  // the entry takes kPeerNewMac
};

class NeighborCacheNaTable : public NeighborCacheTest, public ::testing::WithParamInterface<NaCase> {};

TEST_P(NeighborCacheNaTable, Transition) {
  const NaCase& c = GetParam();
  make_stale(t0);
  switch (c.from) {
    case State::reachable:
      cache_.confirm_reachable(kPeer, t0);
      break;
    case State::delay:
      send(kPeer, t0);
      break;
    case State::probe:
      send(kPeer, t0);
      advance(t0 + 5s);
      break;
    default:
      break;
  }
  ASSERT_EQ(state(kPeer), c.from);
  const TimePoint at = t0 + 5s + 10ms;
  advertise(kPeer, c.different ? kPeerNewMac : kPeerMac, c.solicited, c.override, false, at);
  EXPECT_EQ(state(kPeer), c.to);
  EXPECT_EQ(cache_.find(kPeer)->mac, c.new_mac ? kPeerNewMac : kPeerMac);
}

constexpr State R = State::reachable, S = State::stale, D = State::delay, P = State::probe;
INSTANTIATE_TEST_SUITE_P(
    AppendixC, NeighborCacheNaTable,
    ::testing::Values(
        // S=0 O=0, different: REACHABLE -> STALE keeping the address; others unchanged.
        NaCase{R, false, false, true, S, false}, NaCase{S, false, false, true, S, false},
        NaCase{D, false, false, true, D, false}, NaCase{P, false, false, true, P, false},
        // S=1 O=0, different: the same as S=0 (the address is not taken).
        NaCase{R, true, false, true, S, false}, NaCase{D, true, false, true, D, false},
        NaCase{P, true, false, true, P, false},
        // S=0 O=1, different: the new address, STALE.
        NaCase{R, false, true, true, S, true}, NaCase{D, false, true, true, S, true},
        NaCase{P, false, true, true, S, true},
        // S=1 O=1, different: the new address, REACHABLE.
        NaCase{S, true, true, true, R, true}, NaCase{P, true, true, true, R, true},
        // Same address: S=1 -> REACHABLE whatever O; S=0 unchanged.
        NaCase{S, true, false, false, R, false}, NaCase{D, true, true, false, R, false},
        NaCase{R, false, true, false, R, false}, NaCase{S, false, false, false, S, false},
        NaCase{D, false, true, false, D, false}, NaCase{P, false, false, false, P, false}));

TEST_F(NeighborCacheTest, RouterBecomingHostIsReported) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  advertise(kPeer, kPeerMac, true, true, true, t0);
  EXPECT_TRUE(cache_.find(kPeer)->is_router);
  EXPECT_FALSE(advertise(kPeer, kPeerMac, false, false, true, t0 + 1s).no_longer_router);
  const auto a = advertise(kPeer, kPeerMac, false, false, false, t0 + 2s);
  EXPECT_TRUE(a.no_longer_router) << "§7.2.5: the caller drops it from the default router list";
  EXPECT_FALSE(cache_.find(kPeer)->is_router);
}

TEST_F(NeighborCacheTest, IgnoredAdvertisementKeepsRouterFlag) {
  ASSERT_EQ(send(kPeer, t0), Verdict::queued_and_solicit);
  advertise(kPeer, kPeerMac, true, true, true, t0);
  // O=0 with a different address is ignored apart from REACHABLE -> STALE (Appendix C).
  EXPECT_FALSE(advertise(kPeer, kPeerNewMac, false, false, false, t0 + 1s).no_longer_router);
  EXPECT_TRUE(cache_.find(kPeer)->is_router);
}

// --- solicitations, router messages, redirects with a source link-layer address -------------

TEST_F(NeighborCacheTest, SolicitationCreatesStaleOrUpdates) {
  EXPECT_TRUE(solicit_from(kPeer, kPeerMac, t0));
  EXPECT_EQ(state(kPeer), State::stale);
  cache_.confirm_reachable(kPeer, t0);
  EXPECT_FALSE(solicit_from(kPeer, kPeerMac, t0 + 1s));  // same address: unchanged
  EXPECT_EQ(state(kPeer), State::reachable);
  solicit_from(kPeer, kPeerNewMac, t0 + 2s);  // different: STALE with the new one
  EXPECT_EQ(state(kPeer), State::stale);
  EXPECT_EQ(cache_.find(kPeer)->mac, kPeerNewMac);
}

// --- ReachableTime ----------------------------------------------------------------------------

TEST_F(NeighborCacheTest, ReachableTimeRandomisedWithinBoundsAndSeeded) {
  const NeighborConfig c = config();
  Duration lo = Duration::max(), hi = Duration::min();
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const NeighborCache a(c, seed), b(c, seed);
    EXPECT_EQ(a.reachable_time(), b.reachable_time()) << "seed " << seed;
    EXPECT_GE(a.reachable_time(), Duration{15s});
    EXPECT_LT(a.reachable_time(), Duration{45s});
    lo = std::min(lo, a.reachable_time());
    hi = std::max(hi, a.reachable_time());
  }
  // The factor spreads over the range rather than sitting at one value.
  EXPECT_LT(lo, Duration{20s});
  EXPECT_GT(hi, Duration{40s});
}

// --- a full table -----------------------------------------------------------------------------

TEST_F(NeighborCacheTest, FullTableEvictsOldestStale) {
  solicit_from(addr(10), kPeerMac, t0 + 3s);
  solicit_from(addr(11), kPeerMac, t0 + 1s);  // the oldest STALE
  solicit_from(addr(12), kPeerMac, t0 + 2s);
  ASSERT_EQ(send(addr(13), t0 + 4s), Verdict::queued_and_solicit);  // INCOMPLETE, with a packet
  ASSERT_EQ(cache_.size(), 4u);
  EXPECT_EQ(send(addr(14), t0 + 5s), Verdict::queued_and_solicit);
  EXPECT_EQ(state(addr(11)), State::empty);
  EXPECT_EQ(state(addr(10)), State::stale);
  EXPECT_EQ(state(addr(12)), State::stale);
  EXPECT_EQ(state(addr(13)), State::incomplete);
  EXPECT_TRUE(solicit_from(addr(15), kPeerMac, t0 + 6s));  // evicts addr(12)
  EXPECT_EQ(state(addr(12)), State::empty);
  EXPECT_EQ(cache_.size(), 4u);
}

TEST_F(NeighborCacheTest, FullTableWithoutStaleRefuses) {
  for (uint8_t i = 0; i < 3; ++i) ASSERT_EQ(send(addr(20 + i), t0), Verdict::queued_and_solicit);
  cache_.confirm_reachable(addr(20), t0);  // no-op on INCOMPLETE; still three in resolution
  ASSERT_TRUE(solicit_from(addr(30), kPeerMac, t0));
  cache_.confirm_reachable(addr(30), t0);  // REACHABLE: not evictable
  ASSERT_EQ(cache_.size(), 4u);
  EXPECT_EQ(send(addr(40), t0), Verdict::drop_pending_full) << "total pending limit comes first";
  // Free the pending budget, then the table limit shows.
  advertise(addr(20), kPeerMac, true, true, false, t0);
  EXPECT_EQ(send(addr(41), t0), Verdict::drop_full);
  EXPECT_FALSE(solicit_from(addr(42), kPeerMac, t0));
  EXPECT_EQ(state(addr(41)), State::empty);
  EXPECT_EQ(state(addr(42)), State::empty);
}

TEST_F(NeighborCacheTest, UnreachableRemovalAmidCollisionsKeepsOthersFindable) {
  // Many entries, several giving up in the same advance(): backward-shift deletion during the
  // scan must neither skip an entry nor lose one.
  NeighborConfig c = config();
  c.capacity = 64;
  c.max_pending_total = 64;
  NeighborCache big(c, 1);
  std::vector<rte_mbuf*> freed;
  for (uint8_t i = 0; i < 64; ++i) {
    wire::MacAddr mac{};
    rte_mbuf* m = to_mbuf(Bytes{std::byte{i}});
    if (i % 2 == 0) {
      ASSERT_EQ(big.lookup(addr(i), m, t0, mac), Verdict::queued_and_solicit);
    } else {
      rte_pktmbuf_free(m);
      big.on_solicitation(addr(i), kPeerMac, t0, [](rte_mbuf* p, wire::MacAddr) { rte_pktmbuf_free(p); });
    }
  }
  ASSERT_EQ(big.size(), 64u);
  int removed = 0, dropped = 0;
  for (auto at : {t0 + 1s, t0 + 2s, t0 + 3s}) {
    big.advance(
        at, [](const wire::Ipv6Addr&, const wire::MacAddr*) {},
        [&](rte_mbuf* m) {
          ++dropped;
          rte_pktmbuf_free(m);
        },
        [&] { ++removed; });
  }
  EXPECT_EQ(removed, 32);
  EXPECT_EQ(dropped, 32);
  EXPECT_EQ(big.size(), 32u);
  for (uint8_t i = 1; i < 64; i += 2) EXPECT_NE(big.find(addr(i)), nullptr) << int{i};
  big.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
}

}  // namespace
}  // namespace dtcp::stack::test
