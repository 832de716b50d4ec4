// Pieces the ARP and neighbour caches share: both are open-addressing tables with linear
// probing over a power-of-two slot array, and both keep one FIFO of packets waiting for
// resolution across their entries.
#pragma once

#include <cstddef>
#include <vector>

namespace dtcp::stack {

// Backward-shift deletion (Knuth 6.4 Algorithm R): empties slot `hole` and moves later entries of
// its probe run back, so every probe sequence stays unbroken without tombstones. `empty(e)` tells
// an empty slot, `home(e)` the slot an entry hashes to.
template <class Entry, class Empty, class Home>
void backward_shift_erase(std::vector<Entry>& slots, size_t mask, size_t hole, Empty&& empty, Home&& home) {
  slots[hole] = Entry{};
  for (size_t i = (hole + 1) & mask; !empty(slots[i]); i = (i + 1) & mask) {
    // Move entry i into the hole unless its home lies cyclically in (hole, i].
    const bool home_after_hole = ((i - home(slots[i])) & mask) < ((i - hole) & mask);
    if (home_after_hole) continue;
    slots[hole] = slots[i];
    slots[i] = Entry{};
    hole = i;
  }
}

// Takes the packets queued for `ip` out of `pending` (entries with .ip and .m), in arrival
// order, handing each to take(m); the others keep their order.
template <class Pending, class Ip, class Take>
void take_pending(std::vector<Pending>& pending, const Ip& ip, Take&& take) {
  size_t kept = 0;
  for (const auto& p : pending) {
    if (p.ip == ip) {
      take(p.m);
    } else {
      pending[kept++] = p;
    }
  }
  pending.resize(kept);
}

}  // namespace dtcp::stack
