// Memory pressure: how the shard shares the mbuf pool its connections' data lives in, after
// Linux's tcp_mem (net/ipv4/tcp.c, net/core/sock.c __sk_mem_raise_allocated(), tcp_input.c
// tcp_prune_queue()/tcp_collapse()). Every queued byte (send queue, receive queue, reassembly
// queue) is held in the same pool the ACKs, RSTs and window updates must be built from, so
// without limits a pool that data fills stops every connection at once: nothing can be
// acknowledged, so nothing is freed.
//
//   in use < mem_low        no pressure (left only below it: hysteresis)
//   in use > mem_pressure   pressure: each connection holds at most a fair share per direction
//                           (send() accepts less, the window stops growing), held receive data
//                           is collapsed into fewer mbufs, reassembly data pruned as a last resort
//   in use > mem_high       data may take no mbuf; the rest is the control segments' reserve
//
// The free count is rte_mempool_avail_count(): the common store plus every lcore's cache. With
// caches it walks RTE_MAX_LCORE of them, so it is read at most every kMemRefreshInterval (each
// entry into the shard when the pool has no cache, as in the unit tests); in between, the
// shard's own allocations lower the estimate, so it errs on the safe side.
#include <algorithm>
#include <cstring>

#include <rte_mempool.h>

#include "tcp/core.hpp"

namespace dtcp::tcp {

namespace {
// A connection may always hold this many mbufs per direction, whatever the share: two segments
// keep a window open and an ACK clock running (Linux's minimum, tcp_rmem[0]/tcp_wmem[0], is one
// page, about two segments).
constexpr uint32_t kMemMinShare = 2;
constexpr Duration kMemRefreshInterval{20};

SeqNum ooo_seq(const rte_mbuf* m) { return SeqNum(mbuf_scratch_seq(m)); }
SeqNum ooo_end(const rte_mbuf* m) { return ooo_seq(m) + SeqLen(m->data_len); }
}  // namespace

void ShardCore::mem_refresh() {
  if (env.pool == nullptr) {
    mem_refresh_due_ = TimePoint::max();
    return;
  }
  if (env.pool->cache_size != 0 && now_ != TimePoint{}) mem_refresh_due_ = now_ + kMemRefreshInterval;
  // rte_mempool_avail_count(), over the caches that can be non-empty only (the common store's
  // count through the pool's ops, as rte_mempool_ops_get_count does; that one is not exported).
  unsigned available = rte_mempool_get_ops(env.pool->ops_index)->get_count(env.pool);
  for (const unsigned lcore : mem_cache_lcores_) available += env.pool->local_cache[lcore].len;
  available += mbufs_.count();  // free, though the pool counts them in use
  mem_free_ = std::min(available, env.pool->size);
  const uint32_t in_use = mem_in_use();
  if (!mem_under_pressure_ && in_use > mem_pressure_) {
    mem_enter_pressure();
  } else if (mem_under_pressure_ && in_use < mem_low_) {
    mem_under_pressure_ = false;
    mbufs_.resume();
  }
}

void ShardCore::mem_enter_pressure() {
  if (env.pool == nullptr) return;
  mem_under_pressure_ = true;
  mbufs_.suspend();  // its free mbufs back where every lcore and the NIC can take them
  ++counters.mem_pressure_entered;
}

bool ShardCore::mem_data_allowed() {
  if (env.pool == nullptr) return true;
  const uint32_t in_use = mem_in_use();
  if (in_use < mem_high_) return true;
  ++counters.mem_data_refused;
  return false;
}

void ShardCore::mem_note_control() {
  const uint32_t in_use = mem_in_use();
  if (env.pool != nullptr && in_use >= mem_high_) ++counters.mem_reserve_used;
  mem_note_alloc();
}

// Linux __sk_mem_raise_allocated(): under pressure a socket may grow while its usage times the
// number of sockets stays below tcp_mem[2]. Here the pool is shared by every shard of the
// process, whose connections this shard cannot see: it assumes each has as many as it does
// (FIXME: a shared per-pool connection count would be exact for uneven shards). Send and
// receive each get half, so a connection full in both directions still fits.
uint32_t ShardCore::mem_share() const {
  const uint64_t connections = std::max<uint64_t>(1, config.max_connections - free_tcbs_.size()) *
                               std::max<uint32_t>(1, env.pool_shards);
  return static_cast<uint32_t>(std::max<uint64_t>(kMemMinShare, mem_high_ / (2 * connections)));
}

uint32_t ShardCore::mem_send_share_room(const Tcb& t) const {
  const rte_mbuf* tail = t.snd_buf.tail();
  const uint32_t tail_room = tail && mbuf_writable(tail) ? mbuf_tailroom(tail) : 0;
  const uint32_t share = mem_share();
  const uint32_t held = t.snd_buf.count();
  return tail_room + (share > held ? (share - held) * mem_mbuf_bytes_ : 0);
}

// RFC 9293 §3.8.6.2.2 lets a receiver offer less than its buffer; the edge already offered is
// never taken back (RFC 7323 §2.4): this only stops the window from growing as it is consumed,
// as Linux's tcp_clamp_window()/tcp_adjust_rcv_ssthresh() do under pressure.
uint32_t ShardCore::mem_recv_share_room(const Tcb& t) const {
  const uint32_t share = mem_share();
  const uint32_t held = t.rcv_buf.count() + t.ooo.count();
  return share > held ? (share - held) * std::max<uint32_t>(t.rcv_mss, kDefaultMss) : 0;
}

// Linux tcp_collapse(): copies the payload of partly filled mbufs forward into their
// predecessors (each first moved to the start of its buffer, so headroom and tailroom both
// count), freeing the mbufs emptied. In place: it needs no mbuf from the pool it is relieving.
// In the reassembly queue only contiguous entries merge, and never across a held FIN. Returns
// the mbufs freed.
uint32_t ShardCore::collapse_queue(MbufQueue& q, bool reassembly) {
  uint32_t freed = 0;
  for (rte_mbuf* m = q.head(); m != nullptr; m = m->next) {
    rte_mbuf* next = m->next;
    if (next == nullptr) break;
    if (!mbuf_writable(m) || (reassembly && ooo_fin(m))) continue;
    if (mbuf_tailroom(m) < next->data_len && m->data_off > 0) {
      std::memmove(static_cast<std::byte*>(m->buf_addr), mbuf_data(m), m->data_len);
      m->data_off = 0;
    }
    while ((next = m->next) != nullptr && mbuf_tailroom(m) > 0) {
      if (reassembly && (ooo_end(m) != ooo_seq(next) || ooo_fin(next))) break;
      const uint16_t n = std::min<uint16_t>(mbuf_tailroom(m), next->data_len);
      std::memcpy(mbuf_data(m) + m->data_len, mbuf_data(next), n);
      m->data_len = static_cast<uint16_t>(m->data_len + n);
      m->pkt_len = m->data_len;
      q.adjust_bytes(n);
      if (n == next->data_len) {
        q.erase_after(m, next);
        rte_pktmbuf_free_seg(next);
        ++freed;
      } else {
        mbuf_trim_front(next, n);
        q.adjust_bytes(-static_cast<int32_t>(n));
        if (reassembly) mbuf_set_scratch(next, (ooo_seq(next) + SeqLen(n)).value(), mbuf_scratch_flags(next));
      }
    }
  }
  return freed;
}

// Linux tcp_prune_queue(): first collapse the receive queue and the reassembly queue; if the
// connection still holds more than its share while the pool is at its reserve, drop reassembly
// data from the far end (RFC 2018 §8 lets a receiver discard data it has SACKed; the sender
// keeps it until it is cumulatively acknowledged and resends it).
void ShardCore::mem_receive_queued(Tcb& t) {
  if (!mem_under_pressure_) return;
  const uint32_t share = mem_share();
  if (t.rcv_buf.count() + t.ooo.count() <= share) return;
  uint32_t freed = collapse_queue(t.rcv_buf, false);
  freed += collapse_queue(t.ooo, true);
  counters.mem_collapsed_mbufs += freed;
  mem_free_ += freed;
  const uint32_t in_use = mem_in_use();
  if (in_use < mem_high_) return;
  while (!t.ooo.empty() && t.rcv_buf.count() + t.ooo.count() > share) {
    rte_mbuf* last = t.ooo.tail();
    rte_mbuf* prev = nullptr;
    for (rte_mbuf* m = t.ooo.head(); m != last; m = m->next) prev = m;
    t.ooo.erase_after(prev, last);
    rte_pktmbuf_free_seg(last);
    ++mem_free_;
    ++counters.mem_ooo_pruned;
  }
}

}  // namespace dtcp::tcp
