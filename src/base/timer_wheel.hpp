// Hierarchical timing wheel (Varghese & Lauck 1987, scheme 7) over Boost.Intrusive lists, in the
// manner of Seastar's timer_set: the wheel never allocates; entries are embedded in their owners.
//
// Granularity. A Tick is whatever unit the owner chooses; the wheel only counts. TCP uses 1 ms
// ticks, which gives the 2^32-tick range below ~49.7 days. Deadlines further away still work: they
// are parked in the top level and re-filed each time their slot comes round (every 2^32 ticks), and
// never fire early. Ticks must stay below 2^64 - 2^32 (at 1 ms, half a billion years).
//
// Geometry. 4 levels x 256 slots, 8 bits of the absolute tick per level. An entry is filed at the
// lowest level k whose slot span contains it, i.e. where its expiry and now() agree on every bit
// above bit 8(k+1); its slot is bits [8k, 8k+8) of the expiry. Level 0 therefore holds the entries
// for the rest of the current 256-tick frame, one tick per slot, and is exact; level k > 0 slots
// are emptied ("cascaded") into lower levels when time reaches the start of their span.
//
// Cost. arm() and cancel() are O(1). Each entry is cascaded at most once per level (plus one
// re-filing per 2^32 ticks while parked). advance() costs O(expired entries + occupied slots
// reached): per-level 256-bit occupancy bitmaps let it jump straight to the next occupied slot, so
// advancing by 10^9 ticks with nothing pending is O(levels). The wheel is about 16 KiB.
//
// Not thread-safe; one wheel per lcore.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/parent_from_member.hpp>

namespace dtcp {

using Tick = uint64_t;

// One pending deadline. Embedded in its owner (e.g. a TCP control block); the wheel links it but
// never allocates or frees it. Destroying an armed entry disarms it (auto_unlink). Copying an entry
// copies the expiry but not the arming.
struct TimerEntry {
  boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> hook;
  Tick expiry = 0;
  bool armed() const { return hook.is_linked(); }
  void cancel() { hook.unlink(); }  // O(1), safe when not armed
};

// The object that embeds `entry` as `member`, for use in an on_expire callback:
//   Tcb& tcb = owner_of(entry, &Tcb::timer);
template <class Owner>
Owner& owner_of(TimerEntry& entry, TimerEntry Owner::*member) {
  return *boost::intrusive::get_parent_from_member(&entry, member);
}

class TimerWheel {
 public:
  static constexpr unsigned kLevels = 4;
  static constexpr unsigned kSlotBits = 8;
  static constexpr unsigned kSlots = 1u << kSlotBits;
  static constexpr unsigned kRangeBits = kLevels * kSlotBits;  // 32

  explicit TimerWheel(Tick now = 0) : now_(now) {}
  // Entries point into the slot lists, so the wheel stays where it was built.
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  // Entries still armed when the wheel is destroyed are left disarmed.
  ~TimerWheel() = default;

  // O(1). Sets entry.expiry. Re-arming an armed entry (in this wheel or another) moves it.
  // expiry <= now() fires on the next advance(), even one that does not move time.
  void arm(TimerEntry& entry, Tick expiry);
  static void cancel(TimerEntry& e) { e.cancel(); }

  // Moves time to `now` (monotonic; smaller values leave time where it is) and calls
  // on_expire(TimerEntry&) for every entry whose expiry <= now, each exactly once, after unlinking
  // it. Entries fire in order of expiry, and during the callback now() is the entry's expiry (or
  // the time of the call, for entries armed in the past); the order among entries due at the same
  // tick is unspecified. The callback may arm, re-arm or cancel any entry, including ones due at
  // the same tick: entries armed for a time <= now fire within this same call. It must not call
  // advance(). Returns the number of callbacks made.
  template <class OnExpire>
  size_t advance(Tick now, OnExpire&& on_expire);

  Tick now() const { return now_; }

  // The earliest tick at which advance() might fire something: exact when the next entry is in
  // level 0 (due within the current 256-tick frame), otherwise the start of the next occupied
  // higher-level slot, which is a lower bound. now() if something is already due; nullopt if
  // nothing is armed. The lcore idle policy uses it to bound its sleep.
  std::optional<Tick> next_expiry_hint() const;

  bool empty() const { return !next_expiry_hint(); }

 private:
  using List = boost::intrusive::list<
      TimerEntry,
      boost::intrusive::member_hook<TimerEntry, decltype(TimerEntry::hook), &TimerEntry::hook>,
      boost::intrusive::constant_time_size<false>>;
  using Bitmap = std::array<uint64_t, kSlots / 64>;
  static constexpr Tick kNever = ~Tick{0};

  // Links `e` into due_ (expiry <= now_) or into its level and slot relative to now_.
  void file(TimerEntry& e);
  // The first tick after now_ at which an occupied slot is reached, or kNever. Clears the bits of
  // slots emptied by cancel() on the way (hence the mutable bitmaps).
  Tick next_slot_tick() const;
  // At now_: empties the higher-level slots whose span starts at now_ into lower levels, and the
  // level-0 slot for now_ into due_.
  void collect_due();

  Tick now_;
  // No occupied slot is reached before this tick: a lower bound, lowered by every file() and set
  // exactly after each scan (cancel() leaves it low, which only costs one scan). advance() to a
  // time before it, with nothing due, only moves now_: the per-loop cost of a busy lcore whose
  // timers are far off is a compare, not a scan of the bitmaps.
  Tick next_reach_ = kNever;
  bool advancing_ = false;
  List due_;  // expiry <= now_, fired before time moves on
  std::array<std::array<List, kSlots>, kLevels> slots_;
  // Bit set => the slot may be non-empty; a clear bit => the slot is empty. cancel() does not see
  // the wheel, so bits go stale and are cleared lazily when found.
  mutable std::array<Bitmap, kLevels> occupied_{};
};

template <class OnExpire>
size_t TimerWheel::advance(Tick now, OnExpire&& on_expire) {
  assert(!advancing_ && "TimerWheel::advance called from its own callback");
  if (due_.empty() && now < next_reach_) {
    if (now > now_) now_ = now;
    return 0;
  }
  advancing_ = true;
  size_t fired = 0;
  for (;;) {
    // Pop one at a time rather than iterate: the callback may arm more entries into due_ (they fire
    // in this loop) or cancel ones still queued (they drop out), and nothing is seen twice.
    while (!due_.empty()) {
      TimerEntry& e = due_.front();
      due_.pop_front();  // unlinks: e.armed() is false inside the callback
      ++fired;
      on_expire(e);
    }
    const Tick next = next_slot_tick();
    if (now_ >= now) {
      next_reach_ = next;
      break;
    }
    if (next > now) {
      // Nothing occupied before `now`; every entry left is filed the same relative to `now`, and
      // the first slot reached is still `next`.
      now_ = now;
      next_reach_ = next;
      break;
    }
    now_ = next;
    collect_due();
  }
  advancing_ = false;
  return fired;
}

}  // namespace dtcp
