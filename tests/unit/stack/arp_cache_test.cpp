// ArpCache on its own: insertion, RFC 826 merge, the pending queue, capacity, and above all
// backward-shift deletion in clusters of colliding (and wrapping) probe sequences.
#include "stack/arp_cache.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

using State = ArpCache::State;
using Verdict = ArpCache::Verdict;

// Mirrors ArpCache::slot_of() (Fibonacci hashing, top 32 bits of the 64-bit product) so the
// tests can pick addresses that share a home slot. If the hash changes, the cluster tests fail
// loudly in home_slot_addresses() rather than silently testing nothing.
size_t home_slot(wire::Ipv4Addr ip, size_t slots) {
  return static_cast<size_t>((ip.value * 0x9E3779B97F4A7C15ull) >> 32) & (slots - 1);
}

// The first `n` addresses of 10.0.0.0/8 (from `start` on) whose home slot is `slot`.
std::vector<wire::Ipv4Addr> home_slot_addresses(size_t slot, size_t slots, size_t n, uint32_t start = 0x0a000001) {
  std::vector<wire::Ipv4Addr> out;
  for (uint32_t v = start; out.size() < n; ++v) {
    if (home_slot(wire::Ipv4Addr{v}, slots) == slot) out.push_back(wire::Ipv4Addr{v});
  }
  return out;
}

wire::MacAddr mac_for(wire::Ipv4Addr ip) {
  return wire::MacAddr{{0x02, 0x01, static_cast<uint8_t>(ip.value >> 24), static_cast<uint8_t>(ip.value >> 16),
                        static_cast<uint8_t>(ip.value >> 8), static_cast<uint8_t>(ip.value)}};
}

class ArpCacheTest : public ::testing::Test {
 protected:
  // capacity 16 -> 32 slots.
  static constexpr size_t kSlots = 32;
  static ArpConfig config() {
    return ArpConfig{.entry_timeout = 1s, .request_interval = 10ms, .request_retries = 1,
                     .max_pending_per_entry = 2, .capacity = 16};
  }

  void TearDown() override {
    cache_.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
    EXPECT_EQ(in_use(pool()), 0u) << "mbufs leaked";
  }

  rte_mbuf* packet(uint8_t tag) {
    rte_mbuf* m = to_mbuf(Bytes{std::byte{tag}});
    return m;
  }

  void learn(wire::Ipv4Addr ip, TimePoint at) {
    cache_.update(ip, mac_for(ip), true, at, [](rte_mbuf* m, wire::MacAddr) { rte_pktmbuf_free(m); });
  }

  // Creates an incomplete entry with one queued packet.
  Verdict ask(wire::Ipv4Addr ip, TimePoint at) {
    wire::MacAddr mac;
    rte_mbuf* m = packet(1);
    const Verdict v = cache_.lookup(ip, m, at, mac);
    if (v == Verdict::drop_full || v == Verdict::drop_pending_full || v == Verdict::send ||
        v == Verdict::send_and_refresh) {
      rte_pktmbuf_free(m);
    }
    return v;
  }

  struct AdvanceResult {
    std::vector<std::pair<wire::Ipv4Addr, bool>> requests;  // (ip, unicast)
    int dropped = 0;
    int removed = 0;
  };
  AdvanceResult advance(TimePoint at) {
    AdvanceResult r;
    cache_.advance(
        at, [&](wire::Ipv4Addr ip, const wire::MacAddr* unicast) { r.requests.emplace_back(ip, unicast != nullptr); },
        [&](rte_mbuf* m) {
          r.dropped++;
          rte_pktmbuf_free(m);
        },
        [&] { r.removed++; });
    return r;
  }

  void expect_reachable(wire::Ipv4Addr ip) {
    const ArpCache::Entry* e = cache_.find(ip);
    ASSERT_NE(e, nullptr) << ip.to_string() << " lost";
    EXPECT_EQ(e->ip, ip);
    EXPECT_EQ(e->mac, mac_for(ip));
    EXPECT_EQ(e->state, State::reachable);
  }

  const TimePoint t0_ = TimePoint{} + 100s;
  ArpCache cache_{config()};
};

TEST_F(ArpCacheTest, HomeSlotHelper_FindsCollidingAddresses) {
  const auto ips = home_slot_addresses(30, kSlots, 8);
  ASSERT_EQ(ips.size(), 8u);
  for (const auto ip : ips) EXPECT_EQ(home_slot(ip, kSlots), 30u);
}

TEST_F(ArpCacheTest, Lookup_Unknown_CreatesIncompleteEntryAndAsksForRequest) {
  EXPECT_EQ(ask(kPeerIp, t0_), Verdict::queued_and_request);
  const ArpCache::Entry* e = cache_.find(kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, State::incomplete);
  EXPECT_EQ(e->requests_sent, 1);
  EXPECT_EQ(e->pending, 1);
  EXPECT_EQ(e->deadline, t0_ + 10ms);
  EXPECT_EQ(ask(kPeerIp, t0_), Verdict::queued);
  EXPECT_EQ(cache_.find(kPeerIp)->pending, 2);
  EXPECT_EQ(cache_.size(), 1u);
}

TEST_F(ArpCacheTest, Lookup_PendingLimitPerEntry_DropPendingFull) {
  EXPECT_EQ(ask(kPeerIp, t0_), Verdict::queued_and_request);
  EXPECT_EQ(ask(kPeerIp, t0_), Verdict::queued);
  EXPECT_EQ(ask(kPeerIp, t0_), Verdict::drop_pending_full);
  EXPECT_EQ(cache_.find(kPeerIp)->pending, 2);
}

TEST_F(ArpCacheTest, Update_ReleasesOnlyThatAddressesPacketsInArrivalOrder) {
  wire::MacAddr unused;
  std::vector<rte_mbuf*> sent;
  rte_mbuf* a1 = packet(1);
  rte_mbuf* b1 = packet(2);
  rte_mbuf* a2 = packet(3);
  ASSERT_EQ(cache_.lookup(kPeerIp, a1, t0_, unused), Verdict::queued_and_request);
  ASSERT_EQ(cache_.lookup(kOtherIp, b1, t0_, unused), Verdict::queued_and_request);
  ASSERT_EQ(cache_.lookup(kPeerIp, a2, t0_, unused), Verdict::queued);

  std::vector<rte_mbuf*> released;
  cache_.update(kPeerIp, kPeerMac, false, t0_ + 1ms, [&](rte_mbuf* m, wire::MacAddr mac) {
    EXPECT_EQ(mac, kPeerMac);
    released.push_back(m);
  });
  EXPECT_EQ(released, (std::vector<rte_mbuf*>{a1, a2}));
  for (rte_mbuf* m : released) rte_pktmbuf_free(m);

  const ArpCache::Entry* e = cache_.find(kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, State::reachable);
  EXPECT_EQ(e->pending, 0);
  EXPECT_EQ(e->deadline, t0_ + 1ms + 1s);
  EXPECT_EQ(cache_.find(kOtherIp)->pending, 1);  // b1 still waits; TearDown frees it
}

TEST_F(ArpCacheTest, Update_UnknownWithoutCreate_NotLearned) {
  learn(kPeerIp, t0_);
  cache_.update(kOtherIp, kOtherMac, false, t0_, [](rte_mbuf*, wire::MacAddr) { FAIL(); });
  EXPECT_EQ(cache_.find(kOtherIp), nullptr);
  EXPECT_EQ(cache_.size(), 1u);
}

TEST_F(ArpCacheTest, Lookup_ReachableAfterTimeout_SendAndRefreshThenUnicastRetries) {
  learn(kPeerIp, t0_);
  wire::MacAddr mac;
  EXPECT_EQ(cache_.lookup(kPeerIp, nullptr, t0_ + 999ms, mac), Verdict::send);
  EXPECT_EQ(mac, mac_for(kPeerIp));
  EXPECT_EQ(cache_.lookup(kPeerIp, nullptr, t0_ + 1s, mac), Verdict::send_and_refresh);
  EXPECT_EQ(cache_.find(kPeerIp)->state, State::probing);
  EXPECT_EQ(cache_.lookup(kPeerIp, nullptr, t0_ + 1s, mac), Verdict::send);  // one refresh at a time
  // request_retries is 1 and the refresh was that request: the next due advance removes it.
  const auto r = advance(t0_ + 1s + 10ms);
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(r.removed, 1);
  EXPECT_EQ(cache_.find(kPeerIp), nullptr);
}

TEST_F(ArpCacheTest, Insert_CapacityFull_DropFull) {
  for (uint32_t i = 0; i < 16; ++i) learn(wire::Ipv4Addr{0x0a000001 + i}, t0_);
  EXPECT_EQ(cache_.size(), 16u);
  EXPECT_EQ(ask(wire::Ipv4Addr{0x0a000100}, t0_), Verdict::drop_full);
  EXPECT_EQ(cache_.find(wire::Ipv4Addr{0x0a000100}), nullptr);
  EXPECT_EQ(cache_.size(), 16u);
  for (uint32_t i = 0; i < 16; ++i) expect_reachable(wire::Ipv4Addr{0x0a000001 + i});
  // A known address still resolves when the table is full.
  wire::MacAddr mac;
  EXPECT_EQ(cache_.lookup(wire::Ipv4Addr{0x0a000001}, nullptr, t0_, mac), Verdict::send);
}

// A cluster that wraps from the last slots to the first: 6 addresses at home 30, 4 at home 31
// and 4 at home 0 occupy slots 30, 31, 0..11, so deletion must shift entries across the wrap
// and must not move an entry to before its home.
TEST_F(ArpCacheTest, Erase_WrappingCollisionCluster_EveryOtherEntryStaysFindable) {
  std::vector<wire::Ipv4Addr> all;
  for (const auto& [slot, n] : std::vector<std::pair<size_t, size_t>>{{30, 6}, {31, 4}, {0, 4}}) {
    const auto ips = home_slot_addresses(slot, kSlots, n);
    all.insert(all.end(), ips.begin(), ips.end());
  }
  // Interleave so the cluster's probe order mixes the three homes.
  std::vector<wire::Ipv4Addr> order{all[0], all[6], all[10], all[1], all[7], all[11], all[2],
                                    all[8], all[12], all[3], all[9], all[13], all[4], all[5]};
  for (const auto ip : order) learn(ip, t0_);
  ASSERT_EQ(cache_.size(), 14u);

  // Victims: every other entry, removed through a failed refresh (lookup after the timeout,
  // then one unanswered retry period).
  std::vector<wire::Ipv4Addr> keep, victims;
  for (size_t i = 0; i < order.size(); ++i) (i % 2 ? victims : keep).push_back(order[i]);
  wire::MacAddr mac;
  for (const auto ip : victims) ASSERT_EQ(cache_.lookup(ip, nullptr, t0_ + 1s, mac), Verdict::send_and_refresh);
  const auto r = advance(t0_ + 1s + 10ms);
  EXPECT_EQ(r.removed, static_cast<int>(victims.size()));
  EXPECT_EQ(cache_.size(), keep.size());
  for (const auto ip : keep) {
    SCOPED_TRACE(ip.to_string());
    expect_reachable(ip);
  }
  for (const auto ip : victims) EXPECT_EQ(cache_.find(ip), nullptr) << ip.to_string();

  // The holes are reusable and nothing was lost in the shuffle.
  for (const auto ip : victims) learn(ip, t0_ + 2s);
  for (const auto ip : order) expect_reachable(ip);
}

// Removing the entry at a cluster's head (the incomplete path) must pull every later entry of
// the same home back, one at a time.
TEST_F(ArpCacheTest, Erase_HeadOfSameHomeCluster_RestStayFindable) {
  const auto ips = home_slot_addresses(5, kSlots, 8);
  EXPECT_EQ(ask(ips[0], t0_), Verdict::queued_and_request);  // incomplete, at home
  for (size_t i = 1; i < ips.size(); ++i) learn(ips[i], t0_);
  const auto r = advance(t0_ + 10ms);
  EXPECT_EQ(r.removed, 1);
  EXPECT_EQ(r.dropped, 1);
  EXPECT_EQ(cache_.find(ips[0]), nullptr);
  for (size_t i = 1; i < ips.size(); ++i) expect_reachable(ips[i]);
}

TEST_F(ArpCacheTest, Advance_SeveralFailedEntriesInOneCluster_AllRemovedInOnePass) {
  // Every entry of the cluster fails at the same time: removal shifts the next failing entry
  // into the slot being scanned, which must be looked at again.
  const auto ips = home_slot_addresses(31, kSlots, 6);
  for (const auto ip : ips) EXPECT_NE(ask(ip, t0_), Verdict::drop_full);
  const auto r = advance(t0_ + 10ms);
  EXPECT_EQ(r.removed, 6);
  EXPECT_EQ(r.dropped, 6);
  EXPECT_EQ(cache_.size(), 0u);
  for (const auto ip : ips) EXPECT_EQ(cache_.find(ip), nullptr);
}

// A seeded random walk against a std::map model: learn, queue (incomplete), resolve and let
// incomplete entries fail, over a small universe of addresses that mostly share three homes
// around the wrap. After every step each model entry must be found with its state, absent
// ones must not be, and the sizes must agree.
TEST_F(ArpCacheTest, RandomOperations_MatchModel) {
  std::vector<wire::Ipv4Addr> universe;
  for (size_t slot : {29u, 31u, 0u}) {
    const auto ips = home_slot_addresses(slot, kSlots, 8);
    universe.insert(universe.end(), ips.begin(), ips.end());
  }
  for (uint32_t i = 0; i < 8; ++i) universe.push_back(wire::Ipv4Addr{0xc0a80001 + i * 77});

  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    cache_.clear([](rte_mbuf* m) { rte_pktmbuf_free(m); });
    std::mt19937 rng(seed);
    struct Model {
      State state;
      TimePoint created;
    };
    std::map<uint32_t, Model> model;
    TimePoint now = t0_;
    for (int step = 0; step < 150; ++step) {
      const wire::Ipv4Addr ip = universe[rng() % universe.size()];
      const auto it = model.find(ip.value);
      switch (rng() % 4) {
        case 0:  // learn (RFC 826 merge with create)
          if (it == model.end() && model.size() == 16) break;
          learn(ip, now);
          model[ip.value] = {State::reachable, now};
          break;
        case 1: {  // queue a packet (creates an incomplete entry)
          const Verdict v = ask(ip, now);
          if (it == model.end()) {
            if (model.size() == 16) {
              ASSERT_EQ(v, Verdict::drop_full);
            } else {
              ASSERT_EQ(v, Verdict::queued_and_request);
              model[ip.value] = {State::incomplete, now};
            }
          }
          break;
        }
        case 2:  // an answer for an incomplete entry
          if (it != model.end() && it->second.state == State::incomplete) {
            cache_.update(ip, mac_for(ip), false, now, [](rte_mbuf* m, wire::MacAddr) { rte_pktmbuf_free(m); });
            it->second.state = State::reachable;
          }
          break;
        case 3: {  // time passes; incomplete entries older than one interval fail
          now += 5ms;
          advance(now);
          std::erase_if(model, [&](const auto& kv) {
            return kv.second.state == State::incomplete && now >= kv.second.created + 10ms;
          });
          break;
        }
      }
      ASSERT_EQ(cache_.size(), model.size()) << "step " << step;
      for (const auto candidate : universe) {
        const ArpCache::Entry* e = cache_.find(candidate);
        const auto m = model.find(candidate.value);
        if (m == model.end()) {
          ASSERT_EQ(e, nullptr) << candidate.to_string() << " step " << step;
        } else {
          ASSERT_NE(e, nullptr) << candidate.to_string() << " lost at step " << step;
          ASSERT_EQ(e->state, m->second.state) << candidate.to_string() << " step " << step;
        }
      }
    }
  }
}

TEST_F(ArpCacheTest, Clear_HandsBackEveryQueuedPacket) {
  ask(kPeerIp, t0_);
  ask(kPeerIp, t0_);
  ask(kOtherIp, t0_);
  int dropped = 0;
  cache_.clear([&](rte_mbuf* m) {
    dropped++;
    rte_pktmbuf_free(m);
  });
  EXPECT_EQ(dropped, 3);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_EQ(cache_.find(kPeerIp), nullptr);
}

}  // namespace
}  // namespace dtcp::stack::test
