#include "base/timer_wheel.hpp"

#include <bit>

namespace dtcp {
namespace {

constexpr unsigned kWordBits = 64;

void set_bit(std::array<uint64_t, 4>& b, unsigned slot) {
  b[slot / kWordBits] |= uint64_t{1} << (slot % kWordBits);
}
void clear_bit(std::array<uint64_t, 4>& b, unsigned slot) {
  b[slot / kWordBits] &= ~(uint64_t{1} << (slot % kWordBits));
}

// The first set bit at or after `start`, wrapping round to the bits before it; -1 if none.
int find_circular(const std::array<uint64_t, 4>& b, unsigned start) {
  const unsigned first_word = start / kWordBits;
  const uint64_t at_or_above = ~uint64_t{0} << (start % kWordBits);
  if (uint64_t w = b[first_word] & at_or_above) {
    return static_cast<int>(first_word * kWordBits + static_cast<unsigned>(std::countr_zero(w)));
  }
  for (size_t i = 1; i <= b.size(); ++i) {
    const size_t word = (first_word + i) % b.size();
    uint64_t w = b[word];
    if (word == first_word) w &= ~at_or_above;  // wrapped round to the bits below start
    if (w) return static_cast<int>(word * kWordBits + static_cast<unsigned>(std::countr_zero(w)));
  }
  return -1;
}

}  // namespace

void TimerWheel::arm(TimerEntry& entry, Tick expiry) {
  entry.cancel();
  entry.expiry = expiry;
  file(entry);
}

void TimerWheel::file(TimerEntry& e) {
  if (e.expiry <= now_) {
    due_.push_back(e);
    return;
  }
  // The highest bit in which expiry and now differ picks the level: below it they share a frame.
  const unsigned differing_bits = static_cast<unsigned>(std::bit_width(e.expiry ^ now_));
  unsigned level = (differing_bits - 1) / kSlotBits;
  if (level >= kLevels) level = kLevels - 1;  // beyond range: parked, re-filed when its slot comes round
  const unsigned shift = level * kSlotBits;
  const unsigned slot = static_cast<unsigned>(e.expiry >> shift) & (kSlots - 1);
  slots_[level][slot].push_back(e);
  set_bit(occupied_[level], slot);
  // When that slot is reached, as next_slot_tick() reckons it: in now_'s frame at this level, or
  // the next frame for a slot at or before now_'s (a parked entry's slot can be).
  const unsigned frame_shift = shift + kSlotBits;
  const Tick frame = frame_shift >= 64 ? 0 : now_ >> frame_shift << frame_shift;
  Tick reached = frame | (Tick{slot} << shift);
  if (reached <= now_) {
    const Tick frame_len = Tick{1} << frame_shift;
    reached = reached > kNever - frame_len ? kNever : reached + frame_len;
  }
  if (reached < next_reach_) next_reach_ = reached;
}

Tick TimerWheel::next_slot_tick() const {
  // A lower level's slots are all reached before any higher level's, except for parked entries,
  // so take the minimum over all levels rather than stopping at the first occupied one.
  Tick best = kNever;
  for (unsigned level = 0; level < kLevels; ++level) {
    const unsigned shift = level * kSlotBits;
    const unsigned frame_shift = shift + kSlotBits;
    const unsigned current = static_cast<unsigned>(now_ >> shift) & (kSlots - 1);
    int slot;
    // Slots after `current` are reached in this frame, those up to it in the next; search in that
    // order so the first occupied slot found is the earliest.
    while ((slot = find_circular(occupied_[level], (current + 1) & (kSlots - 1))) >= 0) {
      if (!slots_[level][static_cast<unsigned>(slot)].empty()) break;
      clear_bit(occupied_[level], static_cast<unsigned>(slot));  // emptied by cancel()
    }
    if (slot < 0) continue;
    const Tick frame = now_ >> frame_shift << frame_shift;
    Tick reached = frame | (Tick(static_cast<unsigned>(slot)) << shift);
    if (reached <= now_) {
      const Tick frame_len = Tick{1} << frame_shift;
      reached = reached > kNever - frame_len ? kNever : reached + frame_len;
    }
    if (reached < best) best = reached;
  }
  return best;
}

void TimerWheel::collect_due() {
  // Top down: a cascade from level k may file entries into level k-1's slot reached now.
  for (unsigned level = kLevels - 1; level > 0; --level) {
    const unsigned shift = level * kSlotBits;
    if ((now_ & ((Tick{1} << shift) - 1)) != 0) continue;  // not the start of a slot at this level
    const unsigned slot = static_cast<unsigned>(now_ >> shift) & (kSlots - 1);
    List& list = slots_[level][slot];
    if (list.empty()) continue;
    // Take the slot's entries out first: a parked entry may be filed straight back into it.
    List cascading;
    cascading.splice(cascading.end(), list);
    clear_bit(occupied_[level], slot);
    while (!cascading.empty()) {
      TimerEntry& e = cascading.front();
      cascading.pop_front();
      file(e);
    }
  }
  const unsigned slot0 = static_cast<unsigned>(now_) & (kSlots - 1);
  due_.splice(due_.end(), slots_[0][slot0]);  // level 0 is exact: all of these expire at now_
  clear_bit(occupied_[0], slot0);
}

std::optional<Tick> TimerWheel::next_expiry_hint() const {
  if (!due_.empty()) return now_;
  const Tick next = next_slot_tick();
  if (next == kNever) {
    // kNever is also a saturated "reached" tick; only say empty when nothing is filed at all.
    for (const auto& level : occupied_)
      for (uint64_t w : level)
        if (w) return kNever;
    return std::nullopt;
  }
  return next;
}

}  // namespace dtcp
