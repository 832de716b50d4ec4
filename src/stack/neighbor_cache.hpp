// The IPv6 neighbour cache of one lcore (RFC 4861 §7.3), with the states of §7.3.2 and the
// transitions of Appendix C. Fixed capacity, open addressing with linear probing and
// backward-shift deletion, and a bounded FIFO of packets waiting for resolution, as the ARP
// cache has: no allocation after construction.
//
// INCOMPLETE  resolution in progress: packets queue, a multicast solicitation every RetransTimer,
//             up to MAX_MULTICAST_SOLICIT, then the entry and its packets go.
// REACHABLE   confirmed within ReachableTime (a solicited advertisement, or TCP's forward
//             progress, §7.3.1); then STALE.
// STALE       a link-layer address not confirmed lately: used as it is; the first packet sent
//             moves it to DELAY.
// DELAY       waits DELAY_FIRST_PROBE_TIME for a confirmation from above, then PROBE.
// PROBE       unicast solicitations every RetransTimer, up to MAX_UNICAST_SOLICIT, while
//             packets keep flowing to the cached address; then the entry goes.
// When the table is full the least recently updated STALE entry makes room (Linux's garbage
// collection keeps entries in use, too); INCOMPLETE, REACHABLE, DELAY and PROBE entries stay.
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

class NeighborCache {
 public:
  enum class State : uint8_t { empty, incomplete, reachable, stale, delay, probe };
  struct Entry {
    wire::Ipv6Addr ip;
    wire::MacAddr mac;
    State state = State::empty;
    bool is_router = false;
    uint8_t solicits_sent = 0;
    uint16_t pending = 0;  // packets queued behind this entry
    TimePoint deadline{};  // reachable: until; delay: probe at; incomplete/probe: next solicitation
    TimePoint updated{};   // last change of the link-layer address or state, for eviction
    bool has_mac() const { return state != State::incomplete && state != State::empty; }
  };
  // What the caller must do with a packet after lookup().
  enum class Verdict : uint8_t { send, queued_and_solicit, queued, drop_full, drop_pending_full };
  // What an advertisement did (§7.2.5).
  struct Advertised {
    bool updated = false;           // the entry changed (state or address)
    bool no_longer_router = false;  // IsRouter went from true to false: drop it as a default router
  };

  // `seed` randomises ReachableTime (RFC 4861 §6.3.2) deterministically.
  explicit NeighborCache(const NeighborConfig& config, uint64_t seed = 0x6e65696768626f72ull);

  // For an outgoing packet to next hop `ip`. send: `mac_out` is the destination (a STALE entry
  // moves to DELAY). queued*: the cache owns `m` until a resolution or the failure hands it back.
  Verdict lookup(const wire::Ipv6Addr& ip, rte_mbuf* m, TimePoint now, wire::MacAddr& mac_out);

  // A neighbour advertisement for `target` (RFC 4861 §7.2.5, Appendix C). Packets waiting for it
  // go out through release(m, mac). An advertisement for an unknown target is ignored (§7.2.5).
  template <class Release>
  Advertised on_advertisement(const wire::Ipv6Addr& target, std::optional<wire::MacAddr> tll, bool solicited,
                              bool override, bool router, TimePoint now, Release&& release);
  // A solicitation, router solicitation/advertisement or redirect from `ip` with a source
  // link-layer address (§7.2.3, §6.3.4, §8.3): creates or updates the entry as STALE (a
  // different address, or an INCOMPLETE entry resolved). Returns true when it created one.
  template <class Release>
  bool on_solicitation(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint now, Release&& release);
  // A router advertisement came from `ip` (RFC 4861 §6.3.4: "the IsRouter flag MUST be set to
  // TRUE"), so that a later advertisement with R clear reports no_longer_router (§7.2.5).
  // Creates nothing: without a source link-layer address there may be no entry.
  void mark_router(const wire::Ipv6Addr& ip) {
    if (Entry* e = find_mutable(ip); e != nullptr) e->is_router = true;
  }
  // Upper-layer confirmation of reachability (§7.3.1: e.g. TCP ACKs new data): REACHABLE again.
  void confirm_reachable(const wire::Ipv6Addr& ip, TimePoint now);

  // Timers. solicit(ip, unicast_mac_or_null) sends a solicitation (multicast while resolving,
  // unicast while probing); drop(m) for each packet whose resolution failed; removed() for each
  // entry that goes.
  template <class Solicit, class Drop, class Removed>
  void advance(TimePoint now, Solicit&& solicit, Drop&& drop, Removed&& removed);

  const Entry* find(const wire::Ipv6Addr& ip) const;
  size_t size() const { return size_; }
  // Bumped whenever a REACHABLE mapping a sender may have cached stops being one: its address
  // changes, it goes STALE or it is removed. A transmit header template (wire::TxHeaderTemplate)
  // is built only from a REACHABLE entry and only used under the generation it was built in
  // and before that entry's ReachableTime ends. Starts at 1.
  uint32_t generation() const { return generation_; }
  size_t pending() const { return pending_.size(); }
  // The ReachableTime in use (BaseReachableTime x a random factor in [0.5, 1.5)).
  Duration reachable_time() const { return reachable_time_; }
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto& e : slots_)
      if (e.state != State::empty) visit(e);
  }
  // Frees every queued packet (shutdown).
  template <class Drop>
  void clear(Drop&& drop) {
    for (const auto& p : pending_) drop(p.m);
    pending_.clear();
    for (auto& e : slots_) e = Entry{};
    size_ = 0;
    ++generation_;
  }

 private:
  struct Pending {
    wire::Ipv6Addr ip;
    rte_mbuf* m;
  };
  size_t slot_of(const wire::Ipv6Addr& ip) const;
  Entry* find_mutable(const wire::Ipv6Addr& ip);
  Entry* insert(const wire::Ipv6Addr& ip, TimePoint now);
  void erase(Entry* e);
  template <class Release>
  void release_pending(Entry& e, TimePoint now, Release&& release);
  template <class Drop>
  void drop_pending(Entry& e, Drop&& drop);
  void set_reachable(Entry& e, TimePoint now) {
    e.state = State::reachable;
    e.solicits_sent = 0;
    e.deadline = now + reachable_time_;
    e.updated = now;
    due(e.deadline);
  }
  void due(TimePoint t) { next_due_ = std::min(next_due_, t); }
  void set_stale(Entry& e, TimePoint now) {
    ++generation_;
    e.state = State::stale;
    e.solicits_sent = 0;
    e.updated = now;
  }

  NeighborConfig config_;
  std::vector<Entry> slots_;  // power-of-two size, at most half full
  size_t mask_;
  size_t size_ = 0;
  std::vector<Pending> pending_;  // FIFO across entries; scanned only on resolution or failure
  size_t pending_limit_;
  Duration reachable_time_;
  // The earliest deadline of an entry in a timed state: advance() walks the table only then.
  TimePoint next_due_ = TimePoint::max();
  uint32_t generation_ = 1;
};

template <class Release>
void NeighborCache::release_pending(Entry& e, TimePoint now, Release&& release) {
  if (e.pending == 0) return;
  e.pending = 0;
  size_t kept = 0;
  for (const auto& p : pending_) {
    if (p.ip == e.ip) {
      release(p.m, e.mac);
    } else {
      pending_[kept++] = p;
    }
  }
  pending_.resize(kept);
  // Resolved to STALE (an unsolicited advertisement or a solicitation, Appendix C) and packets
  // just went to it: §7.3.3's "first time a node sends a packet to a neighbor whose entry is
  // STALE" starts DELAY, as lookup() does (and Linux, whose queued packets go out through
  // neigh_event_send()).
  if (e.state == State::stale) {
    e.state = State::delay;
    e.deadline = now + config_.delay_first_probe_time;
    due(e.deadline);
  }
}

template <class Drop>
void NeighborCache::drop_pending(Entry& e, Drop&& drop) {
  if (e.pending == 0) return;
  e.pending = 0;
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

template <class Release>
NeighborCache::Advertised NeighborCache::on_advertisement(const wire::Ipv6Addr& target,
                                                          std::optional<wire::MacAddr> tll, bool solicited,
                                                          bool override, bool router, TimePoint now,
                                                          Release&& release) {
  Advertised out;
  Entry* e = find_mutable(target);
  if (e == nullptr) return out;  // §7.2.5: no entry, no creation
  if (e->state == State::incomplete) {
    // §7.2.5: without a target link-layer address the advertisement cannot resolve anything.
    if (!tll) return out;
    e->mac = *tll;
    e->is_router = router;
    if (solicited) {
      set_reachable(*e, now);
    } else {
      set_stale(*e, now);
    }
    out.updated = true;
    release_pending(*e, now, release);
    return out;
  }
  const bool different = tll && *tll != e->mac;
  if (!override && different) {
    // Appendix C: O=0 with a different address. A REACHABLE entry becomes STALE (the address
    // is in doubt) without taking it; others are unchanged.
    if (e->state == State::reachable) {
      set_stale(*e, now);
      out.updated = true;
    }
    return out;
  }
  // O=1, or the same address (or none given).
  if (tll && different) {
    e->mac = *tll;
    ++generation_;  // may stay REACHABLE (solicited) under its new address
  }
  if (solicited) {
    set_reachable(*e, now);
  } else if (different) {
    set_stale(*e, now);
  }
  out.updated = solicited || different;
  if (e->is_router && !router) out.no_longer_router = true;
  e->is_router = router;
  return out;
}

template <class Release>
bool NeighborCache::on_solicitation(const wire::Ipv6Addr& ip, wire::MacAddr mac, TimePoint now, Release&& release) {
  Entry* e = find_mutable(ip);
  bool created = false;
  if (e == nullptr) {
    e = insert(ip, now);
    if (e == nullptr) return false;
    created = true;
  }
  // Appendix C: a new entry or an INCOMPLETE one, or a different address, becomes STALE with
  // the address given; the same address leaves the state as it is.
  if (created || e->state == State::incomplete || e->mac != mac) {
    e->mac = mac;
    set_stale(*e, now);
  }
  release_pending(*e, now, release);
  return created;
}

template <class Solicit, class Drop, class Removed>
void NeighborCache::advance(TimePoint now, Solicit&& solicit, Drop&& drop, Removed&& removed) {
  // Called every loop iteration; the table is walked only when some deadline has come.
  if (now < next_due_) return;
  next_due_ = TimePoint::max();
  for (size_t i = 0; i < slots_.size(); i++) {
    Entry& e = slots_[i];
    const bool timed = e.state == State::reachable || e.state == State::delay || e.state == State::incomplete ||
                       e.state == State::probe;
    if (timed && now < e.deadline) {
      due(e.deadline);
      continue;
    }
    switch (e.state) {
      case State::reachable:
        set_stale(e, now);  // §7.3.3: ReachableTime passed
        break;
      case State::delay:
        {
          // §7.3.3: no confirmation within DELAY_FIRST_PROBE_TIME: probe by unicast.
          e.state = State::probe;
          e.solicits_sent = 1;
          e.deadline = now + config_.retrans_timer;
          due(e.deadline);
          solicit(e.ip, &e.mac);
        }
        break;
      case State::incomplete:
      case State::probe: {
        const bool resolving = e.state == State::incomplete;
        const unsigned limit = resolving ? config_.max_multicast_solicit : config_.max_unicast_solicit;
        if (e.solicits_sent >= limit) {
          // §7.3.3: unreachable. Waiting packets are dropped (RFC 4861 §7.2.2 would send an
          // ICMPv6 address unreachable for them: they are our own, so the caller counts them).
          drop_pending(e, drop);
          erase(&e);
          removed();
          // Backward shift may have moved an unvisited entry into slot i: look at it again.
          if (slots_[i].state != State::empty) --i;
          break;
        }
        ++e.solicits_sent;
        e.deadline = now + config_.retrans_timer;
        due(e.deadline);
        solicit(e.ip, resolving ? nullptr : &e.mac);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace dtcp::stack
