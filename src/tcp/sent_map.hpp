// The sent-segment map of one connection: every byte in [SND.UNA, SND.MAX) belongs to exactly one
// record, a range sent together at one time, marked SACKed, lost and/or retransmitted. It is the
// one structure the RFC 6675 scoreboard (SACKed ranges, pipe, NextSeg), RACK (RFC 8985: transmit
// times, in transmit order) and the tail loss probe (the last segment sent) all read, as Linux's
// retransmission queue and FreeBSD's sackhole list are.
//
// Memory is bounded: records come from a pool the shard preallocates, each connection owns at
// most `max_records` of them, and one record lives inside the map itself so that a connection
// can always track its flight. When no record can be had, new data is merged into the tail
// record and a SACK block is rounded inward to record boundaries: the scoreboard then knows less
// (it never claims a byte was delivered that was not) and the retransmission timer repairs what
// it cannot see.
//
// The records are a list in sequence order: new data is appended at SND.MAX and the cumulative
// ACK frees from the front, which is all an in-order flight ever does (a request/response
// connection inserts and frees one record per exchange), and a list does both in a few
// instructions. Only a search needs more: a SACK block's first record, the record holding a
// sequence number (NextSeg's hint, a D-SACK). A map of a few records is searched by walking it;
// a larger one builds a red-black tree over the same records on its first search and keeps it,
// updated with every insertion and removal, until the map is small again. So work per ACK stays
// bounded (a search in the tree, marking only the records a block covers) and a connection that
// never sees a SACK block or a loss never pays for the tree's rebalancing.
//
// Plain C++: no DPDK, no clock; the caller passes `now`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include "base/seq.hpp"
#include "base/time.hpp"

namespace dtcp::tcp {

struct SentSegment {
  enum Flag : uint8_t {
    kSacked = 1 << 0,         // the peer holds it (RFC 2018); no longer in flight
    kLost = 1 << 1,           // deemed lost (RACK, RFC 8985 §6.2, or a timeout)
    kRetransmitted = 1 << 2,  // a retransmission of it is in flight
    kEverRetransmitted = 1 << 3,  // sent more than once (RACK's ambiguity rule, D-SACK undo)
  };
  SeqNum start;
  SeqNum end;  // one past the last sequence number (a FIN counts one)
  TimePoint xmit_time;  // the latest (re)transmission
  // Its place in the connection's order of transmissions. RACK asks which of two segments was
  // sent later (RFC 8985 §6.2); the clock cannot tell, since everything one poll iteration sends
  // shares one `now`, and a retransmission of a low sequence number sent after new data in the
  // same iteration would look sent before it.
  uint32_t xmit_order = 0;
  uint8_t flags = 0;
  bool embedded = false;  // the map's own record, not the pool's
  boost::intrusive::list_member_hook<> seq_hook;   // sequence order: every record, always
  boost::intrusive::set_member_hook<> index_hook;  // the search tree, while the map keeps one
  boost::intrusive::list_member_hook<> time_hook;  // linked while in flight (neither SACKed nor lost)

  uint32_t len() const { return (end - start).value(); }
  bool has(Flag f) const { return (flags & f) != 0; }
  bool in_time_order() const { return time_hook.is_linked(); }
};

// Shard-wide free list of records.
class SentSegmentPool {
 public:
  explicit SentSegmentPool(uint32_t capacity) : storage_(std::make_unique<SentSegment[]>(capacity)) {
    free_.reserve(capacity);
    for (uint32_t i = capacity; i > 0; --i) free_.push_back(&storage_[i - 1]);
  }
  SentSegment* take() {
    if (free_.empty()) return nullptr;
    SentSegment* s = free_.back();
    free_.pop_back();
    return s;
  }
  void give_back(SentSegment* s) { free_.push_back(s); }
  size_t available() const { return free_.size(); }
  // Where refused allocations (pool empty or a connection at its cap) are counted; the map then
  // keeps coarser records, which costs precision, not correctness.
  void count_refusals_in(uint64_t* counter) { refusals_ = counter; }
  void note_refusal() {
    if (refusals_) ++*refusals_;
  }

 private:
  std::unique_ptr<SentSegment[]> storage_;
  std::vector<SentSegment*> free_;
  uint64_t* refusals_ = nullptr;
};

class SentMap {
 public:
  struct SeqKey {
    using type = SeqNum;
    SeqNum operator()(const SentSegment& s) const { return s.start; }
  };
  // Sequence order, every record.
  using SeqList = boost::intrusive::list<
      SentSegment, boost::intrusive::member_hook<SentSegment, boost::intrusive::list_member_hook<>, &SentSegment::seq_hook>,
      boost::intrusive::constant_time_size<false>>;
  // The search tree over the same records, by start. Every record lies within 2^31 of SND.UNA, so
  // SeqNum's order is total here.
  using SeqIndex = boost::intrusive::set<
      SentSegment, boost::intrusive::member_hook<SentSegment, boost::intrusive::set_member_hook<>, &SentSegment::index_hook>,
      boost::intrusive::key_of_value<SeqKey>, boost::intrusive::constant_time_size<false>>;
  // Maps of up to this many records are searched by walking them; a search in a larger one
  // builds the tree, which goes again once the map is down to half as many (the gap keeps a map
  // near the bound from building and dropping it on alternate ACKs).
  static constexpr uint32_t kWalkedRecords = 8;
  // Transmit order of the records in flight (RFC 8985 §6.2 walks it from the oldest).
  using TimeList = boost::intrusive::list<
      SentSegment, boost::intrusive::member_hook<SentSegment, boost::intrusive::list_member_hook<>, &SentSegment::time_hook>>;

  SentMap() = default;
  SentMap(const SentMap&) = delete;
  SentMap& operator=(const SentMap&) = delete;
  // Records go back to their pool through clear(); the destructor only unlinks (the shard frees
  // the pool after its control blocks).
  ~SentMap() {
    time_.clear();
    index_.clear();
    seq_.clear();
  }

  bool empty() const { return seq_.empty(); }
  // Whether the search tree is built (for tests and the consistency check).
  bool indexed() const { return indexed_; }
  const SeqIndex& index() const { return index_; }
  uint32_t records() const { return records_; }
  uint32_t transmissions() const { return xmit_count_; }  // the last one's xmit_order
  // Bytes of the map SACKed, marked lost, and retransmitted (a retransmission in flight).
  uint32_t sacked_bytes() const { return sacked_bytes_; }
  uint32_t lost_bytes() const { return lost_bytes_; }
  uint32_t retransmitted_bytes() const { return retrans_bytes_; }
  // Bytes in flight from `outstanding` = SND.MAX - SND.UNA: RFC 6675 §4 SetPipe() in the form
  // Linux uses (packets_out - sacked - lost + retrans): an octet counts once if it is neither
  // SACKed nor lost, and once more for a retransmission of it that is in flight.
  uint32_t pipe(uint32_t outstanding) const {
    const uint32_t gone = sacked_bytes_ + lost_bytes_;
    return (outstanding > gone ? outstanding - gone : 0) + retrans_bytes_;
  }
  SeqList& by_seq() { return seq_; }
  const SeqList& by_seq() const { return seq_; }
  TimeList& by_time() { return time_; }
  SentSegment* last() { return seq_.empty() ? nullptr : &seq_.back(); }
  SentSegment* first() { return seq_.empty() ? nullptr : &seq_.front(); }
  // Nothing SACKed, lost or being retransmitted: every record is in flight, in the transmit
  // order of its sequence (the scoreboard's fast path for an ACK without SACK blocks).
  bool unmarked() const { return (sacked_bytes_ | lost_bytes_ | retrans_bytes_) == 0; }
  // The record holding `s`, or nullptr.
  SentSegment* find(SeqNum s);
  // Whether [left, right) was sent more than once: a live record marked so, or one of the last
  // few retransmitted records acknowledged (a D-SACK for a retransmission usually arrives with
  // or after the ACK that freed it). A D-SACK of anything else reports a duplicate the network
  // made, which says nothing about our retransmissions (RFC 3708 §3).
  bool was_retransmitted(SeqNum left, SeqNum right);

  // New data [start, end) sent at `now` (start = the end of the last record, or the first byte
  // when empty). Merged into the tail record when that was sent at the same time (one burst), or
  // when no record can be had.
  void on_send(SentSegmentPool& pool, uint32_t max_records, SeqNum start, SeqNum end, TimePoint now);
  // SND.UNA advanced to `una`: records below it are freed. `delivered(seg)` is called, before the
  // record goes, for each one (or part) that had not been SACKed: newly delivered data.
  template <class F>
  void on_cumulative_ack(SentSegmentPool& pool, SeqNum una, F&& delivered);
  // Marks [left, right) SACKed. Records only partly covered are split when a record can be had;
  // otherwise the uncovered part stays unSACKed. `delivered(seg)` is called for each newly SACKed
  // record. Returns the bytes newly SACKed.
  template <class F>
  uint32_t on_sack(SentSegmentPool& pool, uint32_t max_records, SeqNum left, SeqNum right, F&& delivered);
  // Marks a record in flight lost (leaves the transmit order).
  void mark_lost(SentSegment& s);
  // A retransmission timeout: every record not SACKed is lost, and no retransmission is in flight
  // any more. With `forget_sacks` (the peer reneged, RFC 2018 §8: the head was SACKed yet never
  // acknowledged) the SACK marks go too.
  void mark_all_lost(bool forget_sacks);
  // The timeout proved spurious (RFC 3522): what was marked lost and not yet resent is in flight
  // after all.
  void unmark_lost_unretransmitted();
  // The first `len` bytes of `s` (all of it when len >= s.len()) were retransmitted at `now`; the
  // rest, if split off, keeps its marks. Returns the retransmitted record.
  SentSegment& on_retransmit(SentSegmentPool& pool, uint32_t max_records, SentSegment& s, uint32_t len, TimePoint now);
  // Splits `s` at `at` (s.start < at < s.end); the upper part is returned, with the same marks
  // and time. nullptr when no record can be had.
  SentSegment* split(SentSegmentPool& pool, uint32_t max_records, SentSegment& s, SeqNum at);
  void clear(SentSegmentPool& pool);

 private:
  SentSegment* alloc(SentSegmentPool& pool, uint32_t max_records);
  void release(SentSegmentPool& pool, SentSegment* s);
  void unlink_flags(SentSegment& s);  // subtracts s's bytes from the counters of its marks
  // The first record ending after `s` (the one holding it, or the first above it), or end().
  SeqList::iterator first_ending_after(SeqNum s);
  void build_index();
  // `s` leaves the sequence order (and the tree); the tree goes when the map is small again.
  void unlink_seq(SentSegment& s) {
    seq_.erase(seq_.iterator_to(s));
    if (indexed_) index_.erase(index_.iterator_to(s));
  }
  void drop_index_if_small() {
    if (indexed_ && records_ <= kWalkedRecords / 2) {
      index_.clear();
      indexed_ = false;
    }
  }

  SeqList seq_;
  SeqIndex index_;
  bool indexed_ = false;
  TimeList time_;
  SentSegment embedded_;  // always available to the first record
  uint32_t records_ = 0;
  uint32_t xmit_count_ = 0;  // transmissions so far (the last one's xmit_order)
  struct Range {
    SeqNum left, right;
  };
  std::array<Range, 4> acked_retransmissions_{};
  uint8_t acked_retransmissions_next_ = 0;
  uint32_t sacked_bytes_ = 0;
  uint32_t lost_bytes_ = 0;
  uint32_t retrans_bytes_ = 0;
};

template <class F>
void SentMap::on_cumulative_ack(SentSegmentPool& pool, SeqNum una, F&& delivered) {
  while (!seq_.empty()) {
    SentSegment& s = seq_.front();
    if (s.start >= una) break;
    if (!s.has(SentSegment::kSacked)) delivered(s);
    if (s.has(SentSegment::kEverRetransmitted)) {
      acked_retransmissions_[acked_retransmissions_next_] = {s.start, seq_min(s.end, una)};
      acked_retransmissions_next_ = static_cast<uint8_t>((acked_retransmissions_next_ + 1) % acked_retransmissions_.size());
    }
    if (s.end <= una) {
      unlink_flags(s);
      seq_.pop_front();
      if (indexed_) index_.erase(index_.iterator_to(s));
      if (s.in_time_order()) time_.erase(time_.iterator_to(s));
      release(pool, &s);
      continue;
    }
    // Partly acknowledged: the record keeps its place (its start only grows towards the next).
    const uint32_t cut = (una - s.start).value();
    if (s.has(SentSegment::kSacked)) sacked_bytes_ -= cut;
    if (s.has(SentSegment::kLost)) lost_bytes_ -= cut;
    if (s.has(SentSegment::kRetransmitted)) retrans_bytes_ -= cut;
    s.start = una;
    break;
  }
  drop_index_if_small();
}

template <class F>
uint32_t SentMap::on_sack(SentSegmentPool& pool, uint32_t max_records, SeqNum left, SeqNum right, F&& delivered) {
  uint32_t newly = 0;
  auto it = first_ending_after(left);
  while (it != seq_.end() && it->start < right) {
    SentSegment* s = &*it;
    if (s->has(SentSegment::kSacked)) {
      ++it;
      continue;
    }
    if (s->start < left) {
      SentSegment* upper = split(pool, max_records, *s, left);
      if (upper == nullptr) {  // rounded inward: this record stays unSACKed
        ++it;
        continue;
      }
      s = upper;
    }
    if (s->end > right && split(pool, max_records, *s, right) == nullptr) break;
    delivered(*s);
    unlink_flags(*s);
    if (s->in_time_order()) time_.erase(time_.iterator_to(*s));
    s->flags = static_cast<uint8_t>((s->flags & SentSegment::kEverRetransmitted) | SentSegment::kSacked);
    sacked_bytes_ += s->len();
    newly += s->len();
    // Adjacent SACKed records merge: what the peer holds needs no detail, and a peer carving the
    // space into small blocks cannot make the map grow past the holes between them.
    it = seq_.iterator_to(*s);
    if (it != seq_.begin()) {
      SentSegment& prev = *std::prev(it);
      if (prev.has(SentSegment::kSacked) && prev.end == s->start) {
        prev.end = s->end;
        prev.flags |= s->flags;
        unlink_seq(*s);
        release(pool, s);
        s = &prev;
        it = seq_.iterator_to(prev);
      }
    }
    auto next = std::next(it);
    if (next != seq_.end() && next->has(SentSegment::kSacked) && next->start == s->end) {
      s->end = next->end;
      s->flags |= next->flags;
      SentSegment* gone = &*next;
      unlink_seq(*gone);
      release(pool, gone);
    }
    ++it;
  }
  return newly;
}

}  // namespace dtcp::tcp
