#include "stack/neighbor_cache.hpp"

#include <bit>

namespace dtcp::stack {

NeighborCache::NeighborCache(const NeighborConfig& config, uint64_t seed)
    : config_(config),
      slots_(std::bit_ceil(static_cast<size_t>(config.capacity) * 2)),
      mask_(slots_.size() - 1),
      pending_limit_(config.max_pending_total) {
  pending_.reserve(pending_limit_);
  // RFC 4861 §6.3.2: ReachableTime is BaseReachableTime times a uniform random factor between
  // MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR (1.5), so that neighbours do not probe in step.
  uint64_t x = seed + 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  const double factor = 0.5 + static_cast<double>(x >> 11) / static_cast<double>(uint64_t{1} << 53);
  reachable_time_ = std::chrono::duration_cast<Duration>(config.base_reachable_time * factor);
}

size_t NeighborCache::slot_of(const wire::Ipv6Addr& ip) const {
  // The interface identifier varies most between neighbours; mix both halves anyway.
  const uint64_t h = (ip.low() ^ (ip.high() * 0xC2B2AE3D27D4EB4Full)) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> 32) & mask_;
}

const NeighborCache::Entry* NeighborCache::find(const wire::Ipv6Addr& ip) const {
  for (size_t i = slot_of(ip);; i = (i + 1) & mask_) {
    const Entry& e = slots_[i];
    if (e.state == State::empty) return nullptr;
    if (e.ip == ip) return &e;
  }
}

NeighborCache::Entry* NeighborCache::find_mutable(const wire::Ipv6Addr& ip) {
  return const_cast<Entry*>(static_cast<const NeighborCache*>(this)->find(ip));
}

NeighborCache::Entry* NeighborCache::insert(const wire::Ipv6Addr& ip, TimePoint now) {
  if (size_ >= config_.capacity) {
    // Full: make room by evicting the least recently updated STALE entry (it has no packets
    // queued and nobody is waiting on it).
    Entry* oldest = nullptr;
    for (Entry& e : slots_) {
      if (e.state == State::stale && (oldest == nullptr || e.updated < oldest->updated)) oldest = &e;
    }
    if (oldest == nullptr) return nullptr;
    erase(oldest);
  }
  size_t i = slot_of(ip);
  while (slots_[i].state != State::empty) i = (i + 1) & mask_;
  slots_[i] = Entry{.ip = ip};
  slots_[i].updated = now;
  size_++;
  return &slots_[i];
}

void NeighborCache::erase(Entry* e) {
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  size_t hole = static_cast<size_t>(e - slots_.data());
  slots_[hole] = Entry{};
  size_--;
  ++generation_;
  for (size_t i = (hole + 1) & mask_; slots_[i].state != State::empty; i = (i + 1) & mask_) {
    const size_t home = slot_of(slots_[i].ip);
    const bool home_after_hole = ((i - home) & mask_) < ((i - hole) & mask_);
    if (home_after_hole) continue;
    slots_[hole] = slots_[i];
    slots_[i] = Entry{};
    hole = i;
  }
}

NeighborCache::Verdict NeighborCache::lookup(const wire::Ipv6Addr& ip, rte_mbuf* m, TimePoint now,
                                             wire::MacAddr& mac_out) {
  Entry* e = find_mutable(ip);
  if (e != nullptr && e->has_mac()) {
    mac_out = e->mac;
    if (e->state == State::stale) {
      // §7.3.3: sending to a STALE neighbour starts the DELAY wait for a confirmation.
      e->state = State::delay;
      e->deadline = now + config_.delay_first_probe_time;
      due(e->deadline);
    }
    return Verdict::send;
  }
  // Limits first: an entry made for a packet that is then dropped would wait with nothing sent.
  if (pending_.size() >= pending_limit_ || (e != nullptr && e->pending >= config_.max_pending_per_entry)) {
    return Verdict::drop_pending_full;
  }
  bool created = false;
  if (e == nullptr) {
    e = insert(ip, now);
    if (e == nullptr) return Verdict::drop_full;
    e->state = State::incomplete;
    e->solicits_sent = 1;  // the caller sends the first solicitation now
    e->deadline = now + config_.retrans_timer;
    due(e->deadline);
    created = true;
  }
  e->pending++;
  pending_.push_back({ip, m});
  return created ? Verdict::queued_and_solicit : Verdict::queued;
}

void NeighborCache::confirm_reachable(const wire::Ipv6Addr& ip, TimePoint now) {
  Entry* e = find_mutable(ip);
  if (e != nullptr && e->has_mac()) set_reachable(*e, now);
}

}  // namespace dtcp::stack
