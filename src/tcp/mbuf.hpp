// The thin adapter between TCP and DPDK mbufs: the only place in src/tcp that touches rte_mbuf
// fields. Everything here is inline and allocation-free.
//
// Queues. TCP keeps mbufs in FIFO queues (receive, send, reassembly) linked through m->next. A
// queue is not a DPDK packet chain: every element is treated as one stand-alone segment (its own
// data_off/data_len), the head's pkt_len/nb_segs are not maintained, and elements are freed one at
// a time with rte_pktmbuf_free_seg() (which resets next/nb_segs itself). A caller's chain handed
// to send_mbuf() is flattened into the queue segment by segment.
//
// Scratch metadata. Mbufs held in the reassembly queue carry their starting sequence number and
// FIN flag in m->hash.fdir (lo = seq, hi = flags): the RSS hash in that union has been consumed by
// then and the mbuf is ours. (A registered dynfield would need EAL at runtime; FIXME if the stack
// ever keeps the RSS hash past TCP input.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "base/mbuf_trim.hpp"

namespace dtcp::tcp {

struct MbufDeleter {
  void operator()(rte_mbuf* m) const { rte_pktmbuf_free(m); }
};
// Owning pointer for an mbuf (chain) that is not in a queue.
using MbufPtr = std::unique_ptr<rte_mbuf, MbufDeleter>;

inline std::byte* mbuf_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, std::byte*); }
inline const std::byte* mbuf_data(const rte_mbuf* m) { return rte_pktmbuf_mtod(m, const std::byte*); }
inline std::span<const std::byte> mbuf_span(const rte_mbuf* m) { return {mbuf_data(m), m->data_len}; }
inline uint16_t mbuf_tailroom(const rte_mbuf* m) { return rte_pktmbuf_tailroom(m); }
// True if we may write into the mbuf's buffer (not shared, not attached to another's buffer).
inline bool mbuf_writable(const rte_mbuf* m) { return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1; }
// Asks the device to cut the segment in `m` (a TCP header and more payload than one segment)
// into segments of `segment_size` payload bytes each, the last one shorter (TCP segmentation
// offload); the IP layer adds the flags and pseudo-header checksum its family needs.
inline void mbuf_request_tso(rte_mbuf* m, uint32_t segment_size) {
  m->tso_segsz = static_cast<uint16_t>(segment_size);
  m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
}

inline uint32_t mbuf_scratch_seq(const rte_mbuf* m) { return m->hash.fdir.lo; }
inline uint32_t mbuf_scratch_flags(const rte_mbuf* m) { return m->hash.fdir.hi; }
inline void mbuf_set_scratch(rte_mbuf* m, uint32_t seq, uint32_t flags) {
  m->hash.fdir.lo = seq;
  m->hash.fdir.hi = flags;
}

// Removes `n` bytes from the front of a single segment (n <= data_len); keeps pkt_len in step.
inline void mbuf_trim_front(rte_mbuf* m, uint16_t n) {
  m->data_off = static_cast<uint16_t>(m->data_off + n);
  m->data_len = static_cast<uint16_t>(m->data_len - n);
  m->pkt_len = m->data_len;
}
// Removes `n` bytes from the back of a single segment (n <= data_len).
inline void mbuf_trim_back(rte_mbuf* m, uint16_t n) {
  m->data_len = static_cast<uint16_t>(m->data_len - n);
  m->pkt_len = m->data_len;
}

// A received segment's payload may be a DPDK chain (a frame coalesced by LRO or rte_gro, or
// scattered rx): head pkt_len/nb_segs describe the whole chain. These keep them in step while
// trimming, freeing the segments that empty.
//
// The chain's part, out of line: frees the leading segments the trim empties, lowers `n` by them.
[[gnu::noinline]] inline void mbuf_chain_free_trimmed_front(MbufPtr& m, uint32_t& n) {
  while (m->next != nullptr && n >= m->data_len) {
    rte_mbuf* head = m.release();
    rte_mbuf* next = head->next;
    next->pkt_len = head->pkt_len - head->data_len;
    next->nb_segs = static_cast<uint16_t>(head->nb_segs - 1);
    n -= head->data_len;
    head->next = nullptr;
    head->nb_segs = 1;
    rte_pktmbuf_free_seg(head);
    m.reset(next);
  }
}
// Removes `n` bytes (n <= pkt_len) from the front of the chain held by `m`; the head may change.
// Inline for the common case, a segment in one mbuf (every received segment's header comes off).
inline void mbuf_chain_trim_front(MbufPtr& m, uint32_t n) {
  if (m->next != nullptr && n >= m->data_len) [[unlikely]] mbuf_chain_free_trimmed_front(m, n);
  m->data_off = static_cast<uint16_t>(m->data_off + n);
  m->data_len = static_cast<uint16_t>(m->data_len - n);
  m->pkt_len -= n;
}
// Removes `n` bytes (n <= pkt_len) from the back of the chain headed by `m`.
inline void mbuf_chain_trim_back(rte_mbuf* m, uint32_t n) { mbuf_chain_trim_to(m, m->pkt_len - n); }
// Detaches the head segment of a chain as a stand-alone mbuf; `m` holds the rest (or nothing).
inline MbufPtr mbuf_chain_pop_front(MbufPtr& m) {
  rte_mbuf* head = m.release();
  rte_mbuf* next = head->next;
  if (next != nullptr) {
    next->pkt_len = head->pkt_len - head->data_len;
    next->nb_segs = static_cast<uint16_t>(head->nb_segs - 1);
    m.reset(next);
  }
  head->next = nullptr;
  head->nb_segs = 1;
  head->pkt_len = head->data_len;
  return MbufPtr(head);
}

// A shard's own store of free mbufs in front of its pool (issue 15: bulk allocation and free).
// DPDK's per-lcore mempool cache keeps the common store out of most allocations, but each
// rte_pktmbuf_alloc() and free still finds that cache through the lcore id and checks its
// thresholds: about 50 instructions a round trip, and a request/response on a kept connection
// makes two (the send queue's copy of the response, the segment that carries it) and frees two
// (the request once read, the response once acknowledged). Segments the shard frees come back
// here and its next segments are built from them; the pool sees bulk transfers of half the
// capacity, only when the stash runs empty or full. Only mbufs of the stash's own pool are kept
// (received frames may come from another); the others go straight back.
//
// The stashed mbufs are free but the pool counts them in use: the shard's memory-pressure
// estimate adds count(), and whoever checks a pool for leaks while shards live adds every
// shard's count (Shard::mbufs_stashed()). Like a mempool cache, a stash out of other lcores'
// reach is bounded: all the shards drawing on a pool keep at most a 64th of it between them
// (a pool too small for that keeps none), and a shard entering memory pressure empties its own.
class MbufStash {
 public:
  static constexpr uint32_t kMaxCapacity = 64;

  MbufStash() = default;
  MbufStash(const MbufStash&) = delete;
  MbufStash& operator=(const MbufStash&) = delete;
  ~MbufStash() { flush(); }

  // Keeps up to `capacity`, at most kMaxCapacity and this shard's part of a 64th of the pool
  // (`pool_shards` draw on it), rounded down to an even number; below 4 it keeps none and passes
  // every call through.
  void init(rte_mempool* pool, uint32_t capacity, uint32_t pool_shards = 1) {
    flush();
    pool_ = pool;
    const uint32_t share = pool != nullptr ? pool->size / (64 * std::max<uint32_t>(1, pool_shards)) : 0;
    capacity = std::min({capacity, kMaxCapacity, share}) & ~1u;
    capacity_ = configured_ = capacity >= 4 ? capacity : 0;
  }
  // Under memory pressure: everything back to the pool, and every call passed through until
  // resume(), so the pool's last mbufs are where every lcore and the NIC can take them.
  void suspend() {
    flush();
    capacity_ = 0;
  }
  void resume() { capacity_ = configured_; }
  uint32_t count() const { return count_; }
  uint32_t capacity() const { return capacity_; }

  // rte_pktmbuf_alloc(), from the stash when it holds one.
  rte_mbuf* alloc() {
    if (count_ == 0) [[unlikely]] return refill_and_alloc();
    rte_mbuf* m = objs_[--count_];
    rte_pktmbuf_reset(m);
    return m;
  }
  // rte_pktmbuf_free_seg(): a segment whose last reference this was (direct again if it was
  // attached) is kept when it is of the stash's pool and there is room.
  void free_seg(rte_mbuf* m) {
    m = rte_pktmbuf_prefree_seg(m);
    if (m == nullptr) return;
    if (m->pool != pool_ || count_ == capacity_) [[unlikely]] return spill_and_free(m);
    objs_[count_++] = m;
  }
  // rte_pktmbuf_free() of a chain, each segment through free_seg().
  void free_chain(rte_mbuf* m) {
    while (m != nullptr) {
      rte_mbuf* next = m->next;
      free_seg(m);
      m = next;
    }
  }
  // Everything back to the pool.
  void flush() {
    if (count_ > 0) rte_mempool_put_bulk(pool_, reinterpret_cast<void**>(objs_), count_);
    count_ = 0;
  }

 private:
  [[gnu::noinline]] rte_mbuf* refill_and_alloc() {
    const uint32_t batch = capacity_ / 2;
    if (batch == 0 || rte_mempool_get_bulk(pool_, reinterpret_cast<void**>(objs_), batch) != 0)
      return rte_pktmbuf_alloc(pool_);  // fewer left than a batch: one at a time
    count_ = batch;
    return alloc();
  }
  // `m` has been through rte_pktmbuf_prefree_seg() (rte_mbuf_raw_free()'s precondition).
  [[gnu::noinline]] void spill_and_free(rte_mbuf* m) {
    if (m->pool != pool_ || capacity_ == 0) return rte_mbuf_raw_free(m);
    const uint32_t batch = capacity_ / 2;
    count_ -= batch;
    rte_mempool_put_bulk(pool_, reinterpret_cast<void**>(objs_ + count_), batch);
    objs_[count_++] = m;
  }

  rte_mempool* pool_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t configured_ = 0;  // the capacity suspend() leaves and resume() restores
  uint32_t count_ = 0;
  rte_mbuf* objs_[kMaxCapacity];
};

// FIFO of stand-alone mbuf segments linked through m->next (see top of file).
class MbufQueue {
 public:
  MbufQueue() = default;
  MbufQueue(const MbufQueue&) = delete;
  MbufQueue& operator=(const MbufQueue&) = delete;
  ~MbufQueue() { clear(); }

  bool empty() const { return head_ == nullptr; }
  rte_mbuf* head() const { return head_; }
  rte_mbuf* tail() const { return tail_; }
  uint32_t bytes() const { return bytes_; }
  uint32_t count() const { return count_; }

  // Appends one segment (m->next must be null). Takes ownership.
  void push_back(rte_mbuf* m) {
    m->next = nullptr;
    if (tail_) tail_->next = m; else head_ = m;
    tail_ = m;
    bytes_ += m->data_len;
    ++count_;
  }
  // Appends every segment of a chain. Takes ownership.
  void push_chain(rte_mbuf* m) {
    while (m) {
      rte_mbuf* next = m->next;
      m->next = nullptr;
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
      if (m->data_len == 0) rte_pktmbuf_free_seg(m); else push_back(m);
      m = next;
    }
  }
  // Copies bytes to the end of the tail segment (requires len <= tailroom of tail).
  void append_to_tail(std::span<const std::byte> bytes) {
    std::byte* dst = reinterpret_cast<std::byte*>(rte_pktmbuf_append(tail_, static_cast<uint16_t>(bytes.size())));
    std::memcpy(dst, bytes.data(), bytes.size());
    bytes_ += static_cast<uint32_t>(bytes.size());
  }
  // Unlinks and returns the head segment (caller owns it).
  rte_mbuf* pop_front() {
    rte_mbuf* m = head_;
    head_ = m->next;
    if (!head_) tail_ = nullptr;
    m->next = nullptr;
    bytes_ -= m->data_len;
    --count_;
    return m;
  }
  // Drops the first n bytes (n <= bytes()), freeing emptied segments into `stash`.
  void drop_front(uint32_t n, MbufStash& stash) {
    while (n > 0) {
      rte_mbuf* m = head_;
      if (n >= m->data_len) {
        n -= m->data_len;
        stash.free_seg(pop_front());
      } else {
        mbuf_trim_front(m, static_cast<uint16_t>(n));
        bytes_ -= n;
        n = 0;
      }
    }
  }
  // Where a previous copy_out() ended: the segment and its distance from the head. Segmenting a
  // large send queue then walks each mbuf once instead of from the head for every segment.
  struct Cursor {
    const rte_mbuf* m = nullptr;
    uint32_t offset = 0;  // bytes before m
  };
  // Copies `out.size()` bytes starting `offset` bytes into the queue (requires offset + size <=
  // bytes()).
  void copy_out(uint32_t offset, std::span<std::byte> out) const {
    Cursor unused;
    copy_out(offset, out, unused);
  }
  // The same, starting the walk at `cursor` when it lies at or before `offset`, and leaving it at
  // the segment where the copy ended. drop_front(n, cursor) keeps it valid.
  void copy_out(uint32_t offset, std::span<std::byte> out, Cursor& cursor) const {
    const rte_mbuf* m = head_;
    if (cursor.m != nullptr && cursor.offset <= offset) {
      m = cursor.m;
      offset -= cursor.offset;
    } else {
      cursor = Cursor{head_, 0};
    }
    while (offset >= m->data_len) {
      offset -= m->data_len;
      cursor.offset += m->data_len;
      m = m->next;
    }
    cursor.m = m;
    size_t done = 0;
    while (done < out.size()) {
      const size_t n = std::min<size_t>(m->data_len - offset, out.size() - done);
      std::memcpy(out.data() + done, mbuf_data(m) + offset, n);
      done += n;
      if (done < out.size() || offset + n == m->data_len) {
        if (m->next == nullptr) break;
        cursor.offset += m->data_len;
        m = m->next;
        cursor.m = m;
      }
      offset = 0;
    }
  }
  void drop_front(uint32_t n, Cursor& cursor, MbufStash& stash) {
    if (cursor.m != nullptr && cursor.offset >= n) {
      cursor.offset -= n;  // only segments before the cursor are freed or trimmed
    } else {
      cursor = Cursor{};
    }
    drop_front(n, stash);
  }
  // Inlined test, out-of-line loop: a connection's close and release clear its three queues,
  // mostly empty, about ten times a connection.
  void clear(MbufStash& stash) {
    if (head_) free_all(stash);
  }
  // Straight back to the pool (the queue's destructor, and code outside a shard).
  void clear() {
    if (head_) free_all();
  }
  // For the reassembly queue: links m after `prev` (nullptr = at the head).
  void insert_after(rte_mbuf* prev, rte_mbuf* m) {
    if (!prev) {
      m->next = head_;
      head_ = m;
    } else {
      m->next = prev->next;
      prev->next = m;
    }
    if (!m->next) tail_ = m;
    bytes_ += m->data_len;
    ++count_;
  }
  // Unlinks m, whose predecessor is `prev` (nullptr when m is the head). Caller owns m.
  void erase_after(rte_mbuf* prev, rte_mbuf* m) {
    if (prev) prev->next = m->next; else head_ = m->next;
    if (tail_ == m) tail_ = prev;
    m->next = nullptr;
    bytes_ -= m->data_len;
    --count_;
  }
  // Call after changing data_len of a queued segment by `delta` bytes (negative = shrank).
  void adjust_bytes(int32_t delta) { bytes_ = static_cast<uint32_t>(static_cast<int64_t>(bytes_) + delta); }

 private:
  [[gnu::noinline]] void free_all() {
    while (head_) rte_pktmbuf_free_seg(pop_front());
  }
  [[gnu::noinline]] void free_all(MbufStash& stash) {
    while (head_) stash.free_seg(pop_front());
  }

  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  uint32_t bytes_ = 0;
  uint32_t count_ = 0;
};

}  // namespace dtcp::tcp
