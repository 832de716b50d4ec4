#include "stack/arp_cache.hpp"

#include <algorithm>
#include <bit>

namespace dtcp::stack {

ArpCache::ArpCache(const ArpConfig& config)
    : config_(config),
      slots_(std::bit_ceil(static_cast<size_t>(config.capacity) * 2)),
      mask_(slots_.size() - 1),
      pending_limit_(static_cast<size_t>(config.max_pending_per_entry) * 64) {
  pending_.reserve(pending_limit_);
}

size_t ArpCache::slot_of(wire::Ipv4Addr ip) const {
  // Fibonacci hashing spreads consecutive addresses (a /24 of clients) across the table.
  return static_cast<size_t>((ip.value * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
}

const ArpCache::Entry* ArpCache::find(wire::Ipv4Addr ip) const {
  for (size_t i = slot_of(ip);; i = (i + 1) & mask_) {
    const Entry& e = slots_[i];
    if (e.state == State::empty) return nullptr;
    if (e.ip == ip) return &e;
  }
}

ArpCache::Entry* ArpCache::find_mutable(wire::Ipv4Addr ip) {
  return const_cast<Entry*>(static_cast<const ArpCache*>(this)->find(ip));
}

ArpCache::Entry* ArpCache::insert(wire::Ipv4Addr ip) {
  if (size_ >= config_.capacity) return nullptr;
  size_t i = slot_of(ip);
  while (slots_[i].state != State::empty) i = (i + 1) & mask_;
  slots_[i] = Entry{.ip = ip};
  size_++;
  return &slots_[i];
}

void ArpCache::erase(Entry* e) {
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  size_t hole = static_cast<size_t>(e - slots_.data());
  slots_[hole] = Entry{};
  size_--;
  ++generation_;
  for (size_t i = (hole + 1) & mask_; slots_[i].state != State::empty; i = (i + 1) & mask_) {
    const size_t home = slot_of(slots_[i].ip);
    // Move entry i into the hole unless its home lies cyclically in (hole, i].
    const bool home_after_hole = ((i - home) & mask_) < ((i - hole) & mask_);
    if (home_after_hole) continue;
    slots_[hole] = slots_[i];
    slots_[i] = Entry{};
    hole = i;
  }
}

ArpCache::Verdict ArpCache::lookup(wire::Ipv4Addr ip, rte_mbuf* m, TimePoint now, wire::MacAddr& mac_out) {
  Entry* e = find_mutable(ip);
  if (e != nullptr && (e->state == State::reachable || e->state == State::probing)) {
    mac_out = e->mac;
    if (e->state == State::reachable && now >= e->deadline) {
      e->state = State::probing;
      ++generation_;
      e->requests_sent = 1;
      e->deadline = now + config_.request_interval;
      next_due_ = std::min(next_due_, e->deadline);
      return Verdict::send_and_refresh;
    }
    return Verdict::send;
  }
  // Check the queue limits before creating anything: an entry made for a packet that is then
  // dropped would sit unresolved with no request sent.
  if (pending_.size() >= pending_limit_ || (e != nullptr && e->pending >= config_.max_pending_per_entry)) {
    return Verdict::drop_pending_full;
  }
  bool created = false;
  if (e == nullptr) {
    e = insert(ip);
    if (e == nullptr) return Verdict::drop_full;
    e->state = State::incomplete;
    e->requests_sent = 1;
    e->deadline = now + config_.request_interval;
    next_due_ = std::min(next_due_, e->deadline);
    created = true;
  }
  e->pending++;
  pending_.push_back({ip, m});
  return created ? Verdict::queued_and_request : Verdict::queued;
}

}  // namespace dtcp::stack
