// Seeded frame impairment between the device and the stack, for loss/reorder/duplication tests on
// machines without netem. Order per frame: loss, CE marking, corruption, duplication, reordering,
// delay.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include <cstdint>
#include <deque>

#include "base/time.hpp"
#include "dtcp/config.hpp"
#include "stack/counters.hpp"
#include "wire/ipv4.hpp"

namespace dtcp::dpdk {

// TCP payload bytes of an Ethernet/IPv4 frame (0 for anything else): what a loss costs TCP, so
// tests can compare retransmitted bytes with dropped ones.
inline uint32_t tcp_payload_bytes(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if (m->data_len < 14 + 20 || p[12] != 0x08 || p[13] != 0x00 || p[14 + 9] != 6) return 0;
  const uint32_t ihl = (p[14] & 0x0f) * 4u;
  const uint32_t total = (uint32_t{p[16]} << 8) | p[17];
  if (m->data_len < 14 + ihl + 13) return 0;
  const uint32_t doff = (p[14 + ihl + 12] >> 4) * 4u;
  return total > ihl + doff ? total - ihl - doff : 0;
}

// Writes in software the checksums `m` left to the device (checksum offload, or net_ring's
// pass-through) and clears their flags: a corrupted frame must reach the receiver with the
// checksums of the bytes before the flip, as a real link's corruption would, not checksums a
// device computes over the damage afterwards.
inline void finish_offloaded_checksums(rte_mbuf* m) {
  if ((m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) == 0 || m->l2_len == 0 || m->l3_len == 0 ||
      m->data_len < m->l2_len + m->l3_len + sizeof(rte_tcp_hdr)) {
    return;
  }
  auto* l3 = rte_pktmbuf_mtod_offset(m, char*, m->l2_len);
  const bool ipv4 = (m->ol_flags & RTE_MBUF_F_TX_IPV4) != 0;
  if (ipv4 && (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(l3 + m->l3_len);
    tcp->cksum = 0;
    tcp->cksum = ipv4 ? rte_ipv4_udptcp_cksum_mbuf(m, reinterpret_cast<rte_ipv4_hdr*>(l3), m->l2_len + m->l3_len)
                      : rte_ipv6_udptcp_cksum_mbuf(m, reinterpret_cast<rte_ipv6_hdr*>(l3), m->l2_len + m->l3_len);
  }
  m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
}

class Impairment {
 public:
  Impairment(const ImpairmentConfig& config, rte_mempool* pool, stack::NetCounters& counters)
      : config_(config), enabled_(config.enabled()), pool_(pool), counters_(counters), state_(config.seed | 1) {}
  ~Impairment() { discard(); }
  Impairment(const Impairment&) = delete;
  Impairment& operator=(const Impairment&) = delete;

  // Checked per frame: a stored flag rather than five comparisons.
  bool enabled() const { return enabled_; }

  // Passes `m` through; emit(rte_mbuf*) is called for each frame that goes on, now or in release().
  template <class Emit>
  void process(rte_mbuf* m, TimePoint now, Emit&& emit) {
    if (chance(config_.loss)) {
      counters_.impair_dropped++;
      counters_.impair_dropped_payload_bytes += tcp_payload_bytes(m);
      rte_pktmbuf_free(m);
      return;
    }
    if (config_.ce > 0) mark_ce(m);
    if (chance(config_.corrupt) && m->data_len > 14) {
      counters_.impair_corrupted++;
      counters_.impair_corrupted_payload_bytes += tcp_payload_bytes(m);  // before the flip
      finish_offloaded_checksums(m);
      auto* bytes = rte_pktmbuf_mtod(m, uint8_t*);
      bytes[14 + next() % (m->data_len - 14)] ^= static_cast<uint8_t>(1u << (next() % 8));
    }
    if (chance(config_.duplicate)) {
      // A copy, not a second reference: the receiver edits headers in place.
      if (rte_mbuf* copy = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX)) {
        counters_.impair_duplicated++;
        delay(copy, now, emit);
      }
    }
    if (held_ == nullptr && chance(config_.reorder)) {
      counters_.impair_reordered++;
      held_ = m;
      held_since_ = now;
      return;
    }
    delay(m, now, emit);
    if (held_ != nullptr) {
      delay(held_, now, emit);
      held_ = nullptr;
    }
  }

  // Releases delayed frames that are due, and a held frame nothing overtook within 1 ms.
  template <class Emit>
  void release(TimePoint now, Emit&& emit) {
    if (held_ != nullptr && now - held_since_ >= Duration(1000)) {
      delay(held_, now, emit);
      held_ = nullptr;
    }
    while (!delayed_.empty() && delayed_.front().due <= now) {
      emit(delayed_.front().m);
      delayed_.pop_front();
    }
  }

  // The earliest time release() has a frame to emit (TimePoint::max() when it holds none), so a
  // loop on a virtual clock (src/sim) can jump straight to it.
  TimePoint next_release() const {
    TimePoint next = TimePoint::max();
    if (held_ != nullptr) next = held_since_ + Duration(1000);
    if (!delayed_.empty() && delayed_.front().due < next) next = delayed_.front().due;
    return next;
  }
  // Frames held back (reordered or delayed) right now.
  size_t holding() const { return delayed_.size() + (held_ != nullptr ? 1 : 0); }

  void discard() {
    if (held_ != nullptr) rte_pktmbuf_free(held_);
    held_ = nullptr;
    for (auto& d : delayed_) rte_pktmbuf_free(d.m);
    delayed_.clear();
  }

 private:
  struct Delayed {
    TimePoint due;
    rte_mbuf* m;
  };

  // A fraction `ce` of the ECT IPv4 frames become CE (RFC 3168 §5), the header checksum updated
  // unless transmit offload will fill it. Other frames pass and draw nothing from the generator.
  void mark_ce(rte_mbuf* m) {
    auto* p = rte_pktmbuf_mtod(m, std::byte*);
    if (m->data_len < 14 + wire::kIpv4MinHeaderLen || p[12] != std::byte{0x08} || p[13] != std::byte{0x00} ||
        (std::to_integer<uint8_t>(p[14]) >> 4) != 4) {
      return;
    }
    if (!wire::is_ect(wire::ecn_of(std::to_integer<uint8_t>(p[15]))) || !chance(config_.ce)) return;
    const bool offload = (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0;
    wire::ipv4_mark_ce({p + 14, m->data_len - 14u}, !offload);
    counters_.impair_ce_marked++;
  }

  template <class Emit>
  void delay(rte_mbuf* m, TimePoint now, Emit& emit) {
    if (config_.delay.count() == 0) {
      emit(m);
      return;
    }
    counters_.impair_delayed++;
    // A constant delay keeps the queue sorted. The deque may allocate: delay is a test feature.
    delayed_.push_back({now + config_.delay, m});
  }

  // xorshift64*: cheap, seeded, identical sequence on every run.
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  bool chance(double p) { return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

  ImpairmentConfig config_;
  bool enabled_;
  rte_mempool* pool_;
  stack::NetCounters& counters_;
  uint64_t state_;
  rte_mbuf* held_ = nullptr;
  TimePoint held_since_{};
  std::deque<Delayed> delayed_;
};

}  // namespace dtcp::dpdk
