// TimerWheel on a virtual clock: time moves only when a test calls advance().
#include "base/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace dtcp {
namespace {

constexpr Tick k2To8 = Tick{1} << 8;
constexpr Tick k2To16 = Tick{1} << 16;
constexpr Tick k2To24 = Tick{1} << 24;
constexpr Tick k2To32 = Tick{1} << 32;

// A stand-in for a TCP control block: the entry is embedded, the callback finds the owner.
struct Timer {
  explicit Timer(int id_ = 0) : id(id_) {}
  int id;
  TimerEntry entry;
};

struct Fired {
  int id;
  Tick at;
  bool operator==(const Fired&) const = default;
};

// Records (id, now) for every callback.
class Recorder {
 public:
  explicit Recorder(TimerWheel& wheel) : wheel_(wheel) {}
  auto callback() {
    return [this](TimerEntry& e) {
      EXPECT_FALSE(e.armed()) << "unlinked before the callback";
      fired.push_back({owner_of(e, &Timer::entry).id, wheel_.now()});
    };
  }
  size_t advance(Tick to) { return wheel_.advance(to, callback()); }
  std::vector<Fired> fired;

 private:
  TimerWheel& wheel_;
};

// Arms one timer `delay` ticks after `start` and checks it fires at that tick, neither a tick
// earlier nor later, whether time jumps there or steps there one tick at a time.
void expect_fires_exactly_at(Tick start, Tick delay) {
  SCOPED_TRACE(testing::Message() << "start " << start << " delay " << delay);
  const Tick expiry = start + delay;
  {
    TimerWheel wheel(start);
    Recorder rec(wheel);
    Timer t{1};
    wheel.arm(t.entry, expiry);
    EXPECT_EQ(rec.advance(expiry - 1), 0u);
    EXPECT_TRUE(t.entry.armed());
    EXPECT_EQ(rec.advance(expiry), 1u);
    EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, expiry}}));
    EXPECT_FALSE(t.entry.armed());
    EXPECT_EQ(rec.advance(expiry + 5 * k2To32), 0u);
    EXPECT_TRUE(wheel.empty());
  }
  {
    // Approach in halving jumps, then single steps: every intermediate frame boundary is crossed
    // by a separate advance() call.
    TimerWheel wheel(start);
    Recorder rec(wheel);
    Timer t{2};
    wheel.arm(t.entry, expiry);
    Tick now = start;
    while (expiry - now > 3) {
      now += (expiry - now) / 2;
      EXPECT_EQ(rec.advance(now), 0u) << "early at " << now;
    }
    while (now < expiry - 1) EXPECT_EQ(rec.advance(++now), 0u) << "early at " << now;
    EXPECT_EQ(rec.advance(expiry + 1), 1u);
    EXPECT_EQ(rec.fired, (std::vector<Fired>{{2, expiry}}));
  }
}

const Tick kBoundaryDelays[] = {1,          2,          255,         256,         257,
                                511,        512,        65535,       65536,       65537,
                                k2To24 - 1, k2To24,     k2To24 + 1,  k2To32 - 2,  k2To32 - 1,
                                k2To32,     k2To32 + 1, 3 * k2To32 + 77, (Tick{1} << 40) + 12345};

TEST(TimerWheel_FiresExactlyAtExpiry, EveryLevelBoundary_FromZero) {
  for (Tick d : kBoundaryDelays) expect_fires_exactly_at(0, d);
}

TEST(TimerWheel_FiresExactlyAtExpiry, EveryLevelBoundary_FromUnalignedStarts) {
  // Starts in the middle of slots and just before frame ends at every level, so expiries land in
  // other frames than the start's.
  const Tick starts[] = {1, 200, 255, 256 + 17, k2To16 - 1, k2To24 - 3, k2To32 - 1, 7 * k2To32 + 0x123456};
  for (Tick s : starts)
    for (Tick d : kBoundaryDelays) expect_fires_exactly_at(s, d);
}

TEST(TimerWheel_FiresExactlyAtExpiry, AbsoluteBoundaryTicks) {
  // The boundary ticks named in the design, armed from 0 and from one tick before.
  for (Tick at : {Tick{255}, Tick{256}, Tick{257}, Tick{65535}, Tick{65536}, k2To24, k2To24 + 1, k2To32 - 1,
                  k2To32, k2To32 + 1}) {
    expect_fires_exactly_at(0, at);
    expect_fires_exactly_at(at - 1, 1);
  }
}

TEST(TimerWheel_BeyondRange, ParkedTimerNeverFiresEarly_WhenSteppedInQuarterRanges) {
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer t{1};
  const Tick expiry = 5 * k2To32 + 17;
  wheel.arm(t.entry, expiry);
  // Pass the parked slot's start several times (each re-files it) before reaching the expiry.
  for (Tick now = k2To32 / 4; now < expiry; now += k2To32 / 4) EXPECT_EQ(rec.advance(now), 0u);
  EXPECT_EQ(rec.advance(expiry - 1), 0u);
  EXPECT_EQ(rec.advance(expiry), 1u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, expiry}}));
}

TEST(TimerWheel_Cascade, OneHugeAdvance_FiresInExpiryOrderEachAtItsTick) {
  TimerWheel wheel;
  Recorder rec(wheel);
  const std::vector<Tick> expiries = {70000, 3, k2To24 + 5, 256, 255, k2To32 + 9, 65536, 1, 257, 9 * k2To32,
                                      k2To24, 65535, 300, 512 + 1, k2To16 * 3 + 2};
  std::vector<Timer> timers(expiries.size());
  for (size_t i = 0; i < expiries.size(); ++i) {
    timers[i].id = static_cast<int>(i);
    wheel.arm(timers[i].entry, expiries[i]);
  }
  EXPECT_EQ(rec.advance(10 * k2To32), expiries.size());
  std::vector<Fired> expected;
  for (size_t i = 0; i < expiries.size(); ++i) expected.push_back({static_cast<int>(i), expiries[i]});
  std::sort(expected.begin(), expected.end(), [](const Fired& a, const Fired& b) { return a.at < b.at; });
  EXPECT_EQ(rec.fired, expected);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.now(), 10 * k2To32);
}

TEST(TimerWheel_Cascade, SameTickFromDifferentLevels_AllFireAtThatTick) {
  // One entry armed far ahead (filed high, cascaded down) and one armed late (filed in level 0)
  // for the same tick.
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer far{1}, near{2};
  const Tick at = k2To24 + 300;
  wheel.arm(far.entry, at);
  EXPECT_EQ(rec.advance(at - 10), 0u);
  wheel.arm(near.entry, at);
  EXPECT_EQ(rec.advance(at), 2u);
  ASSERT_EQ(rec.fired.size(), 2u);
  EXPECT_EQ(rec.fired[0].at, at);
  EXPECT_EQ(rec.fired[1].at, at);
}

// Cancels a timer filed at `level` while others share its slot; only the others fire.
void expect_cancel_while_pending_never_fires(Tick delay) {
  SCOPED_TRACE(testing::Message() << "delay " << delay);
  TimerWheel wheel(1000);
  Recorder rec(wheel);
  Timer cancelled{1}, sibling{2}, later{3};
  wheel.arm(cancelled.entry, 1000 + delay);
  wheel.arm(sibling.entry, 1000 + delay);
  wheel.arm(later.entry, 1000 + delay + 1);
  EXPECT_EQ(rec.advance(1000 + delay / 2), 0u);
  TimerWheel::cancel(cancelled.entry);
  EXPECT_FALSE(cancelled.entry.armed());
  TimerWheel::cancel(cancelled.entry);  // cancelling twice is harmless
  EXPECT_EQ(rec.advance(1000 + delay + 5 * k2To32), 2u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{2, 1000 + delay}, {3, 1000 + delay + 1}}));
}

TEST(TimerWheel_Cancel, CancelWhilePendingInLevel0_NeverFires) { expect_cancel_while_pending_never_fires(100); }
TEST(TimerWheel_Cancel, CancelWhilePendingInLevel1_NeverFires) { expect_cancel_while_pending_never_fires(5000); }
TEST(TimerWheel_Cancel, CancelWhilePendingInLevel2_NeverFires) { expect_cancel_while_pending_never_fires(3 * k2To16); }
TEST(TimerWheel_Cancel, CancelWhilePendingInLevel3_NeverFires) { expect_cancel_while_pending_never_fires(5 * k2To24); }
TEST(TimerWheel_Cancel, CancelWhileParkedBeyondRange_NeverFires) { expect_cancel_while_pending_never_fires(3 * k2To32); }

TEST(TimerWheel_Cancel, CancelOfUnarmedEntry_IsHarmless) {
  Timer t;
  EXPECT_FALSE(t.entry.armed());
  t.entry.cancel();
  TimerWheel::cancel(t.entry);
  EXPECT_FALSE(t.entry.armed());
}

TEST(TimerWheel_Cancel, DestroyedEntry_DisarmsItself) {
  TimerWheel wheel;
  Recorder rec(wheel);
  {
    Timer t{1};
    wheel.arm(t.entry, 50);
  }
  EXPECT_EQ(rec.advance(100), 0u);
  EXPECT_TRUE(wheel.empty());
}

TEST(TimerWheel_Cancel, EntryOutlivingWheel_IsLeftDisarmed) {
  Timer t;
  {
    TimerWheel wheel;
    wheel.arm(t.entry, 50);
    EXPECT_TRUE(t.entry.armed());
  }
  EXPECT_FALSE(t.entry.armed());
}

TEST(TimerWheel_Rearm, ToEarlier_FiresOnceAtNewExpiry) {
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer t{1};
  wheel.arm(t.entry, 100000);
  wheel.arm(t.entry, 10);
  EXPECT_EQ(t.entry.expiry, 10u);
  EXPECT_EQ(rec.advance(200000), 1u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, 10}}));
}

TEST(TimerWheel_Rearm, ToLater_FiresOnceAtNewExpiry) {
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer t{1};
  wheel.arm(t.entry, 10);
  EXPECT_EQ(rec.advance(5), 0u);
  wheel.arm(t.entry, 70000);
  EXPECT_EQ(rec.advance(69999), 0u);
  EXPECT_EQ(rec.advance(200000), 1u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, 70000}}));
}

TEST(TimerWheel_Rearm, InAnotherWheel_MovesIt) {
  TimerWheel a, b;
  Recorder rec_a(a), rec_b(b);
  Timer t{1};
  a.arm(t.entry, 10);
  b.arm(t.entry, 20);
  EXPECT_EQ(rec_a.advance(100), 0u);
  EXPECT_EQ(rec_b.advance(100), 1u);
  EXPECT_EQ(rec_b.fired, (std::vector<Fired>{{1, 20}}));
}

TEST(TimerWheel_ArmInCallback, SameTick_FiresInSameAdvanceAtThatTick) {
  TimerWheel wheel;
  Timer first{1}, second{2};
  std::vector<Fired> fired;
  wheel.arm(first.entry, 300);
  const size_t n = wheel.advance(1000, [&](TimerEntry& e) {
    Timer& t = owner_of(e, &Timer::entry);
    fired.push_back({t.id, wheel.now()});
    if (t.id == 1) wheel.arm(second.entry, wheel.now());
  });
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(fired, (std::vector<Fired>{{1, 300}, {2, 300}}));
}

TEST(TimerWheel_ArmInCallback, SelfIntoSameTick_FiresOncePerArming) {
  // The entry re-arms itself for the tick being processed, twice; it fires three times in all and
  // then stops, so nothing is lost or repeated.
  TimerWheel wheel;
  Timer t{1};
  int calls = 0;
  wheel.arm(t.entry, 256);
  const size_t n = wheel.advance(256, [&](TimerEntry& e) {
    EXPECT_EQ(wheel.now(), 256u);
    if (++calls < 3) wheel.arm(e, 256);
  });
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(t.entry.armed());
}

TEST(TimerWheel_ArmInCallback, PastTick_FiresInSameAdvance) {
  TimerWheel wheel;
  Timer first{1}, second{2};
  std::vector<Fired> fired;
  wheel.arm(first.entry, 500);
  wheel.advance(600, [&](TimerEntry& e) {
    Timer& t = owner_of(e, &Timer::entry);
    fired.push_back({t.id, wheel.now()});
    if (t.id == 1) wheel.arm(second.entry, 3);
  });
  EXPECT_EQ(fired, (std::vector<Fired>{{1, 500}, {2, 500}}));
}

TEST(TimerWheel_ArmInCallback, FutureTicks_FireAtTheirTickInSameOrLaterAdvance) {
  // A periodic timer: each firing re-arms it 100 ticks on, across level boundaries.
  TimerWheel wheel;
  Timer t{1};
  std::vector<Tick> at;
  auto periodic = [&](TimerEntry& e) {
    at.push_back(wheel.now());
    wheel.arm(e, wheel.now() + 100);
  };
  wheel.arm(t.entry, 100);
  EXPECT_EQ(wheel.advance(1000, periodic), 10u);
  EXPECT_EQ(wheel.advance(1049, periodic), 0u);
  EXPECT_EQ(wheel.advance(1100, periodic), 1u);
  std::vector<Tick> expected;
  for (Tick x = 100; x <= 1100; x += 100) expected.push_back(x);
  EXPECT_EQ(at, expected);
  EXPECT_EQ(wheel.next_expiry_hint(), std::optional<Tick>(1200));
}

TEST(TimerWheel_ArmInCallback, CancelOfSameTickSibling_SiblingNeverFires) {
  TimerWheel wheel;
  Timer a{1}, b{2};
  wheel.arm(a.entry, 40);
  wheel.arm(b.entry, 40);
  std::vector<int> fired;
  const size_t n = wheel.advance(50, [&](TimerEntry& e) {
    Timer& t = owner_of(e, &Timer::entry);
    fired.push_back(t.id);
    (t.id == 1 ? b : a).entry.cancel();
  });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(fired.size(), 1u);
  EXPECT_FALSE(a.entry.armed());
  EXPECT_FALSE(b.entry.armed());
}

TEST(TimerWheel_ArmInCallback, ArmsIntoSlotsStillToBeCascaded_NoneLostOrDoubled) {
  // At tick 2^16 level 2 slot 1 cascades; the callback for a timer at 2^16 arms more for the rest
  // of that span and beyond.
  TimerWheel wheel;
  std::vector<Timer> timers(6);
  for (int i = 0; i < 6; ++i) timers[static_cast<size_t>(i)].id = i;
  wheel.arm(timers[0].entry, k2To16);
  wheel.arm(timers[1].entry, k2To16 + 1);
  std::vector<Fired> fired;
  const size_t n = wheel.advance(k2To24, [&](TimerEntry& e) {
    Timer& t = owner_of(e, &Timer::entry);
    fired.push_back({t.id, wheel.now()});
    if (t.id == 0) {
      wheel.arm(timers[2].entry, k2To16);          // same tick
      wheel.arm(timers[3].entry, k2To16 + 1);      // next tick, beside an entry cascaded there
      wheel.arm(timers[4].entry, k2To16 + 256);    // next level-1 slot
      wheel.arm(timers[5].entry, 2 * k2To16 + 7);  // next level-2 slot
    }
  });
  EXPECT_EQ(n, 6u);
  ASSERT_EQ(fired.size(), 6u);
  EXPECT_EQ(fired[0], (Fired{0, k2To16}));
  EXPECT_EQ(fired[1], (Fired{2, k2To16}));
  EXPECT_EQ(fired[2].at, k2To16 + 1);
  EXPECT_EQ(fired[3].at, k2To16 + 1);
  EXPECT_EQ(fired[4], (Fired{4, k2To16 + 256}));
  EXPECT_EQ(fired[5], (Fired{5, 2 * k2To16 + 7}));
}

TEST(TimerWheel_Advance, ArmedInPast_FiresOnNextAdvanceEvenWithoutTimeMoving) {
  TimerWheel wheel(1000);
  Recorder rec(wheel);
  Timer t{1}, u{2};
  wheel.arm(t.entry, 1000);
  wheel.arm(u.entry, 3);
  EXPECT_EQ(wheel.next_expiry_hint(), std::optional<Tick>(1000));
  EXPECT_EQ(rec.advance(1000), 2u);
  EXPECT_EQ(rec.advance(999), 0u);
  ASSERT_EQ(rec.fired.size(), 2u);
  EXPECT_EQ(rec.fired[0].at, 1000u);
  EXPECT_EQ(rec.fired[1].at, 1000u);
}

TEST(TimerWheel_Advance, SmallerNow_IsIgnored) {
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer t{1};
  wheel.arm(t.entry, 120);
  EXPECT_EQ(rec.advance(100), 0u);
  EXPECT_EQ(rec.advance(50), 0u);
  EXPECT_EQ(wheel.now(), 100u);
  EXPECT_EQ(rec.advance(120), 1u);
}

TEST(TimerWheel_Advance, HugeJumpsWhenEmpty_MoveTimeAndFireNothing) {
  TimerWheel wheel(17);
  Recorder rec(wheel);
  EXPECT_EQ(rec.advance(1'000'000'000), 0u);
  EXPECT_EQ(wheel.now(), 1'000'000'000u);
  EXPECT_EQ(rec.advance(Tick{1} << 50), 0u);
  EXPECT_EQ(wheel.now(), Tick{1} << 50);
  EXPECT_TRUE(wheel.empty());
  // And the wheel still works after the jump, across a frame boundary.
  Timer t{1};
  wheel.arm(t.entry, (Tick{1} << 50) + k2To32 + 3);
  EXPECT_EQ(rec.advance((Tick{1} << 50) + k2To32 + 2), 0u);
  EXPECT_EQ(rec.advance((Tick{1} << 51)), 1u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, (Tick{1} << 50) + k2To32 + 3}}));
}

TEST(TimerWheel_Advance, HugeJumpsWhenPopulated_FireEachAtItsTick) {
  TimerWheel wheel;
  Recorder rec(wheel);
  Timer a{1}, b{2}, c{3}, d{4};
  wheel.arm(a.entry, 5);
  wheel.arm(b.entry, 300'000'000);
  wheel.arm(c.entry, 1'000'000'000);
  wheel.arm(d.entry, 1'000'000'000'000);
  EXPECT_EQ(rec.advance(1'000'000'000), 3u);
  EXPECT_EQ(rec.advance(1'000'000'000'000'000), 1u);
  EXPECT_EQ(rec.fired, (std::vector<Fired>{{1, 5}, {2, 300'000'000}, {3, 1'000'000'000}, {4, 1'000'000'000'000}}));
}

TEST(TimerWheel_Hint, EmptyWheel_HasNone) {
  TimerWheel wheel(42);
  EXPECT_EQ(wheel.next_expiry_hint(), std::nullopt);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.now(), 42u);
}

TEST(TimerWheel_Hint, Level0_IsExact) {
  TimerWheel wheel(10);
  Timer a, b;
  wheel.arm(a.entry, 200);
  wheel.arm(b.entry, 100);
  EXPECT_EQ(wheel.next_expiry_hint(), std::optional<Tick>(100));
  EXPECT_FALSE(wheel.empty());
  b.entry.cancel();
  EXPECT_EQ(wheel.next_expiry_hint(), std::optional<Tick>(200));
  a.entry.cancel();
  EXPECT_EQ(wheel.next_expiry_hint(), std::nullopt);
  EXPECT_TRUE(wheel.empty());
}

TEST(TimerWheel_Hint, HigherLevels_AreLowerBoundsAfterNow) {
  for (Tick expiry : {Tick{1000}, Tick{70000}, k2To24 + 99, k2To32 + 5, 9 * k2To32 + 5}) {
    SCOPED_TRACE(testing::Message() << "expiry " << expiry);
    TimerWheel wheel(10);
    Timer t;
    wheel.arm(t.entry, expiry);
    Tick hint = 0;
    // Following the hint reaches the expiry without ever passing it.
    int steps = 0;
    for (;;) {
      const auto h = wheel.next_expiry_hint();
      ASSERT_TRUE(h.has_value());
      hint = *h;
      EXPECT_GT(hint, wheel.now());
      EXPECT_LE(hint, expiry);
      ASSERT_LT(++steps, 20);
      const size_t n = wheel.advance(hint, [](TimerEntry&) {});
      if (n) break;
    }
    EXPECT_EQ(hint, expiry);
    EXPECT_TRUE(wheel.empty());
  }
}

TEST(TimerWheel_Hint, DueEntry_HintIsNow) {
  TimerWheel wheel(500);
  Timer t;
  wheel.arm(t.entry, 400);
  EXPECT_EQ(wheel.next_expiry_hint(), std::optional<Tick>(500));
}

TEST(TimerWheel_Hint, AfterCancelInHigherLevel_StaleSlotIsSkipped) {
  TimerWheel wheel;
  Timer far, farther;
  wheel.arm(far.entry, 3 * k2To16 + 1);
  wheel.arm(farther.entry, 5 * k2To24 + 1);
  far.entry.cancel();
  const auto h = wheel.next_expiry_hint();
  ASSERT_TRUE(h.has_value());
  EXPECT_GT(*h, 3 * k2To16 + 1);  // the cancelled slot is not reported
  EXPECT_LE(*h, 5 * k2To24 + 1);
  farther.entry.cancel();
  EXPECT_TRUE(wheel.empty());
}

// One million timers with random expiries spread over every level and past the range, starting
// just before a 2^32 frame boundary; time moves in random steps from 1 tick to 2^26. Each timer
// must fire exactly once, at its own tick, checked against a reference multimap.
TEST(TimerWheel_Stress, MillionRandomTimers_EachFiresOnceAtItsTick) {
  constexpr size_t kTimers = 1'000'000;
  const Tick start = k2To32 - k2To16;
  std::mt19937_64 rng(20240611);
  TimerWheel wheel(start);
  auto timers = std::make_unique<Timer[]>(kTimers);
  std::multimap<Tick, int> pending;
  // Each timer's node in `pending`, so checking a firing is O(1) even with thousands per tick.
  std::vector<std::multimap<Tick, int>::iterator> node(kTimers);
  std::vector<bool> done(kTimers);
  auto random_delay = [&] {
    switch (rng() % 8) {
      case 0: case 1: case 2: return 1 + rng() % k2To8;
      case 3: case 4: return 1 + rng() % k2To16;
      case 5: case 6: return 1 + rng() % k2To24;
      default: return 1 + rng() % (4 * k2To32);
    }
  };
  std::vector<std::pair<Tick, int>> armed(kTimers);
  for (size_t i = 0; i < kTimers; ++i) {
    timers[i].id = static_cast<int>(i);
    const Tick expiry = start + random_delay();
    wheel.arm(timers[i].entry, expiry);
    armed[i] = {expiry, timers[i].id};
  }
  // Filled in order with an end() hint: O(1) per insert, which keeps debug builds fast.
  std::sort(armed.begin(), armed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [expiry, id] : armed) node[static_cast<size_t>(id)] = pending.emplace_hint(pending.end(), expiry, id);
  size_t fired = 0, misfired = 0;
  auto on_expire = [&](TimerEntry& e) {
    const auto id = static_cast<size_t>(owner_of(e, &Timer::entry).id);
    if (done[id] || node[id]->first != wheel.now()) {
      ++misfired;  // fired twice, or at the wrong tick
    } else {
      pending.erase(node[id]);
      done[id] = true;
    }
    ++fired;
  };
  size_t advances = 0;
  while (!pending.empty()) {
    const Tick step = 1 + rng() % (Tick{1} << (rng() % 27));
    const Tick to = wheel.now() + step;
    wheel.advance(to, on_expire);
    ++advances;
    ASSERT_EQ(misfired, 0u) << "at " << wheel.now();
    ASSERT_TRUE(pending.empty() || pending.begin()->first > to) << "overdue timer at " << pending.begin()->first;
  }
  EXPECT_EQ(fired, kTimers);
  EXPECT_TRUE(wheel.empty());
  EXPECT_GT(advances, 100u);  // the steps really did split the run
}

TEST(TimerWheel_Stress, MillionArmCancelPairs_NothingFires) {
  constexpr size_t kPairs = 1'000'000;
  std::mt19937_64 rng(7);
  TimerWheel wheel(123);
  std::vector<Timer> timers(1024);
  for (size_t i = 0; i < kPairs; ++i) {
    Timer& t = timers[rng() % timers.size()];
    wheel.arm(t.entry, wheel.now() + rng() % (2 * k2To32));
    t.entry.cancel();
  }
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.advance(20 * k2To32, [](TimerEntry&) {}), 0u);
}

TEST(TimerWheel_Stress, HalfOfManyTimersCancelled_ExactlyTheOtherHalfFire) {
  constexpr size_t kTimers = 200'000;
  std::mt19937_64 rng(99);
  TimerWheel wheel;
  std::vector<Timer> timers(kTimers);
  std::vector<bool> keep(kTimers);
  for (size_t i = 0; i < kTimers; ++i) {
    timers[i].id = static_cast<int>(i);
    wheel.arm(timers[i].entry, 1 + rng() % (2 * k2To24));
  }
  size_t kept = 0;
  for (size_t i = 0; i < kTimers; ++i) {
    keep[i] = rng() % 2;
    if (keep[i]) {
      ++kept;
    } else {
      timers[i].entry.cancel();
    }
  }
  std::vector<int> fire_count(kTimers);
  const size_t n = wheel.advance(4 * k2To24, [&](TimerEntry& e) {
    Timer& t = owner_of(e, &Timer::entry);
    EXPECT_EQ(t.entry.expiry, wheel.now());
    ++fire_count[static_cast<size_t>(t.id)];
  });
  EXPECT_EQ(n, kept);
  for (size_t i = 0; i < kTimers; ++i) ASSERT_EQ(fire_count[i], keep[i] ? 1 : 0) << "timer " << i;
}

// advance() skips the bitmap scan while time stays before the first slot reached (next_reach_):
// a model of every armed expiry, random arms, re-arms and cancels at every level and beyond the
// range, and advances both small (the fast path) and large (cascades) must agree on what fires and
// when: each entry exactly at its expiry (or at the first advance, for one armed in the past).
TEST(TimerWheel_Model, RandomArmsCancelsAndAdvances_FireExactlyAtExpiry) {
  std::mt19937_64 rng(20261206);
  for (int round = 0; round < 20; ++round) {
    const Tick start = rng() % (k2To32 * 4);
    TimerWheel wheel(start);
    std::vector<std::unique_ptr<Timer>> timers;
    for (int i = 0; i < 64; ++i) timers.push_back(std::make_unique<Timer>(i));
    std::map<int, Tick> armed;  // the model
    Tick now = start;
    for (int step = 0; step < 3000; ++step) {
      const unsigned op = static_cast<unsigned>(rng() % 10);
      Timer& t = *timers[rng() % timers.size()];
      if (op < 4) {
        static constexpr Tick kSpans[] = {4, 300, 70'000, 20'000'000, 3 * k2To32};
        const Tick expiry = now + rng() % kSpans[rng() % 5];
        wheel.arm(t.entry, expiry);
        armed[t.id] = expiry;
      } else if (op < 5) {
        t.entry.cancel();
        armed.erase(t.id);
      } else {
        static constexpr Tick kSteps[] = {1, 3, 200, 5'000, 2'000'000};
        const Tick to = now + rng() % kSteps[rng() % 5];
        std::vector<Fired> fired;
        wheel.advance(to, [&](TimerEntry& e) { fired.push_back({owner_of(e, &Timer::entry).id, wheel.now()}); });
        std::vector<Fired> expected;
        for (auto it = armed.begin(); it != armed.end();) {
          if (it->second <= to) {
            expected.push_back({it->first, std::max(it->second, now)});
            it = armed.erase(it);
          } else {
            ++it;
          }
        }
        auto by_id = [](const Fired& a, const Fired& b) { return a.id < b.id; };
        std::sort(fired.begin(), fired.end(), by_id);
        std::sort(expected.begin(), expected.end(), by_id);
        ASSERT_EQ(fired, expected) << "round " << round << " step " << step << " advance " << now << " -> " << to;
        now = to;
        ASSERT_EQ(wheel.now(), now);
      }
    }
  }
}

}  // namespace
}  // namespace dtcp
