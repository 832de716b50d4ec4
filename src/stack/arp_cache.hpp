// Neighbour cache for one lcore (RFC 826, RFC 1122 2.3.2). Fixed capacity, open addressing with
// linear probing and backward-shift deletion: no allocation after construction.
//
// A resolved entry is used until `entry_timeout`; after that the next use sends a unicast refresh
// request while traffic keeps flowing to the old address, and the entry is removed only if
// `request_retries` refreshes go unanswered (like Linux's STALE -> PROBE -> FAILED).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/time.hpp"
#include "dtcp/config.hpp"
#include "wire/addr.hpp"

struct rte_mbuf;

namespace dtcp::stack {

class ArpCache {
 public:
  enum class State : uint8_t { empty, incomplete, reachable, probing };
  struct Entry {
    wire::Ipv4Addr ip;
    wire::MacAddr mac;
    State state = State::empty;
    uint8_t requests_sent = 0;
    uint16_t pending = 0;     // packets queued behind this entry
    TimePoint deadline{};     // reachable: refresh after; incomplete/probing: next retry
  };
  // What the caller must do after lookup().
  enum class Verdict : uint8_t { send, send_and_refresh, queued_and_request, queued, drop_full, drop_pending_full };

  explicit ArpCache(const ArpConfig& config);

  // For an outgoing packet to next hop `ip`. On send*, `mac_out` is the destination.
  // On queued*, the cache owns `m` until resolve() or expiry hands it back.
  Verdict lookup(wire::Ipv4Addr ip, rte_mbuf* m, TimePoint now, wire::MacAddr& mac_out);

  // Records ip->mac (RFC 826 merge). create: add when absent (the packet was addressed to us).
  // Returns the packets that were waiting, in arrival order, through `release`. Returns true when
  // it created the entry.
  template <class Release>
  bool update(wire::Ipv4Addr ip, wire::MacAddr mac, bool create, TimePoint now, Release&& release);

  // Retries and expiry. For each entry needing a request, calls request(ip, unicast_mac_or_null);
  // for each queued packet dropped because its entry failed, calls drop(m); for each entry
  // removed, calls removed().
  template <class Request, class Drop, class Removed>
  void advance(TimePoint now, Request&& request, Drop&& drop, Removed&& removed);

  const Entry* find(wire::Ipv4Addr ip) const;
  size_t size() const { return size_; }
  // Bumped whenever a mapping a sender may have cached changes: an entry's address or state
  // changes, it is removed or it is due for its RFC 1122 2.3.2.1 refresh. A transmit header
  // template (wire::TxHeaderTemplate) built under another generation is not used. Starts at 1.
  uint32_t generation() const { return generation_; }
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto& e : slots_) if (e.state != State::empty) visit(e);
  }
  // Frees every queued packet (shutdown).
  template <class Drop>
  void clear(Drop&& drop);

 private:
  struct Pending {
    wire::Ipv4Addr ip;
    rte_mbuf* m;
  };
  size_t slot_of(wire::Ipv4Addr ip) const;
  Entry* find_mutable(wire::Ipv4Addr ip);
  Entry* insert(wire::Ipv4Addr ip);
  void erase(Entry* e);

  ArpConfig config_;
  std::vector<Entry> slots_;  // power-of-two size, at most half full
  size_t mask_;
  size_t size_ = 0;
  std::vector<Pending> pending_;  // FIFO across entries; small, scanned only on resolution
  size_t pending_limit_;
  TimePoint next_due_ = TimePoint::max();  // earliest retry of an incomplete or probing entry
  uint32_t generation_ = 1;
};

template <class Release>
bool ArpCache::update(wire::Ipv4Addr ip, wire::MacAddr mac, bool create, TimePoint now, Release&& release) {
  Entry* e = find_mutable(ip);
  bool created = false;
  if (e == nullptr) {
    if (!create) return false;
    e = insert(ip);
    if (e == nullptr) return false;
    created = true;
  }
  // The same address confirmed on a reachable entry only moves its refresh later: a template
  // built from it stays right (and expires at the earlier deadline it recorded).
  if (created || e->mac != mac || e->state != State::reachable) ++generation_;
  e->mac = mac;
  e->state = State::reachable;
  e->requests_sent = 0;
  e->deadline = now + config_.entry_timeout;
  if (e->pending == 0) return created;
  e->pending = 0;
  size_t kept = 0;
  for (const auto& p : pending_) {
    if (p.ip == ip) {
      release(p.m, mac);
    } else {
      pending_[kept++] = p;
    }
  }
  pending_.resize(kept);
  return created;
}

template <class Request, class Drop, class Removed>
void ArpCache::advance(TimePoint now, Request&& request, Drop&& drop, Removed&& removed) {
  // Called every loop iteration: nothing to do until the earliest retry is due, so the table is
  // walked only then (once a request_interval at most while something is unresolved).
  if (now < next_due_) return;
  next_due_ = TimePoint::max();
  for (size_t i = 0; i < slots_.size(); i++) {
    Entry& e = slots_[i];
    if (e.state != State::incomplete && e.state != State::probing) continue;
    if (now < e.deadline) {
      next_due_ = std::min(next_due_, e.deadline);
      continue;
    }
    if (e.requests_sent >= config_.request_retries) {
      if (e.pending > 0) {
        size_t kept = 0;
        for (const auto& p : pending_) {
          if (p.ip == e.ip) {
            drop(p.m);
          } else {
            pending_[kept++] = p;
          }
        }
        pending_.resize(kept);
      }
      erase(&e);
      removed();
      i--;  // backward shift may have moved another entry into this slot
      continue;
    }
    e.requests_sent++;
    e.deadline = now + config_.request_interval;
    next_due_ = std::min(next_due_, e.deadline);
    request(e.ip, e.state == State::probing ? &e.mac : nullptr);
  }
}

template <class Drop>
void ArpCache::clear(Drop&& drop) {
  for (const auto& p : pending_) drop(p.m);
  pending_.clear();
  for (auto& e : slots_) e = Entry{};
  size_ = 0;
  ++generation_;
}

}  // namespace dtcp::stack
