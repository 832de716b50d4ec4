#include "tcp/sent_map.hpp"

#include <cassert>

namespace dtcp::tcp {

SentMap::SeqList::iterator SentMap::first_ending_after(SeqNum s) {
  if (!indexed_) {
    if (records_ <= kWalkedRecords) {
      auto it = seq_.begin();
      while (it != seq_.end() && it->end <= s) ++it;
      return it;
    }
    build_index();
  }
  auto above = index_.upper_bound(s);  // the first record starting after `s`
  if (above != index_.begin()) {
    auto holder = std::prev(above);
    if (s < holder->end) return seq_.iterator_to(*holder);
  }
  return above == index_.end() ? seq_.end() : seq_.iterator_to(*above);
}

// In sequence order, each record placed at the end: no key comparisons, only rebalancing.
void SentMap::build_index() {
  assert(!indexed_ && index_.empty());
  for (SentSegment& s : seq_) index_.insert_before(index_.end(), s);
  indexed_ = true;
}

SentSegment* SentMap::find(SeqNum s) {
  auto it = first_ending_after(s);
  return it != seq_.end() && it->start <= s ? &*it : nullptr;
}

bool SentMap::was_retransmitted(SeqNum left, SeqNum right) {
  for (const Range& r : acked_retransmissions_)
    if (r.left < r.right && r.left <= left && right <= r.right) return true;
  SentSegment* s = find(left);
  return s != nullptr && s->has(SentSegment::kEverRetransmitted);
}

SentSegment* SentMap::alloc(SentSegmentPool& pool, uint32_t max_records) {
  SentSegment* s = nullptr;
  if (!embedded_.seq_hook.is_linked()) {
    s = &embedded_;
    s->embedded = true;
  } else if (records_ < max_records) {
    s = pool.take();
    if (s) s->embedded = false;
  }
  if (s) ++records_;
  else pool.note_refusal();
  return s;
}

void SentMap::release(SentSegmentPool& pool, SentSegment* s) {
  --records_;
  s->flags = 0;
  if (!s->embedded) pool.give_back(s);
}

void SentMap::unlink_flags(SentSegment& s) {
  const uint32_t len = s.len();
  if (s.has(SentSegment::kSacked)) sacked_bytes_ -= len;
  if (s.has(SentSegment::kLost)) lost_bytes_ -= len;
  if (s.has(SentSegment::kRetransmitted)) retrans_bytes_ -= len;
}

void SentMap::on_send(SentSegmentPool& pool, uint32_t max_records, SeqNum start, SeqNum end, TimePoint now) {
  SentSegment* tail = last();
  assert(tail == nullptr || tail->end == start);
  if (tail && tail->flags == 0 && tail->xmit_time == now && tail->xmit_order == xmit_count_ && tail->in_time_order() &&
      &time_.back() == tail) {
    tail->end = end;  // the same burst: nothing else was sent in between
    return;
  }
  ++xmit_count_;
  SentSegment* s = alloc(pool, max_records);
  if (s == nullptr) {
    // No record to be had (there is always a tail then: the embedded record is free only when
    // the map is empty). The tail absorbs the new data and forgets its marks, which only makes
    // the scoreboard more pessimistic.
    unlink_flags(*tail);
    tail->flags &= SentSegment::kEverRetransmitted;
    if (tail->in_time_order()) time_.erase(time_.iterator_to(*tail));
    tail->end = end;
    tail->xmit_time = now;
    tail->xmit_order = xmit_count_;
    time_.push_back(*tail);
    return;
  }
  s->start = start;
  s->end = end;
  s->xmit_time = now;
  s->xmit_order = xmit_count_;
  s->flags = 0;
  seq_.push_back(*s);
  if (indexed_) index_.insert_before(index_.end(), *s);
  time_.push_back(*s);
}

SentSegment* SentMap::split(SentSegmentPool& pool, uint32_t max_records, SentSegment& s, SeqNum at) {
  assert(s.start < at && at < s.end);
  SentSegment* upper = alloc(pool, max_records);
  if (upper == nullptr) return nullptr;
  upper->start = at;
  upper->end = s.end;
  upper->xmit_time = s.xmit_time;
  upper->xmit_order = s.xmit_order;
  upper->flags = s.flags;
  s.end = at;
  seq_.insert(std::next(seq_.iterator_to(s)), *upper);
  if (indexed_) index_.insert_before(std::next(index_.iterator_to(s)), *upper);
  if (s.in_time_order()) time_.insert(std::next(time_.iterator_to(s)), *upper);
  return upper;
}

void SentMap::mark_lost(SentSegment& s) {
  if (s.has(SentSegment::kSacked)) return;
  if (s.has(SentSegment::kRetransmitted)) {
    retrans_bytes_ -= s.len();
    s.flags &= static_cast<uint8_t>(~SentSegment::kRetransmitted);
  }
  if (!s.has(SentSegment::kLost)) {
    s.flags |= SentSegment::kLost;
    lost_bytes_ += s.len();
  }
  if (s.in_time_order()) time_.erase(time_.iterator_to(s));
}

void SentMap::mark_all_lost(bool forget_sacks) {
  for (SentSegment& s : seq_) {
    if (forget_sacks && s.has(SentSegment::kSacked)) {
      sacked_bytes_ -= s.len();
      s.flags &= static_cast<uint8_t>(~SentSegment::kSacked);
    }
    mark_lost(s);
  }
}

void SentMap::unmark_lost_unretransmitted() {
  for (auto it = seq_.rbegin(); it != seq_.rend(); ++it) {
    SentSegment& s = *it;
    if (!s.has(SentSegment::kLost) || s.has(SentSegment::kRetransmitted)) continue;
    s.flags &= static_cast<uint8_t>(~SentSegment::kLost);
    lost_bytes_ -= s.len();
    time_.push_front(s);  // the oldest transmissions, in sequence order
  }
}

SentSegment& SentMap::on_retransmit(SentSegmentPool& pool, uint32_t max_records, SentSegment& s, uint32_t len,
                                    TimePoint now) {
  if (len < s.len()) split(pool, max_records, s, s.start + SeqLen(len));  // if not, all of s counts as resent
  if (!s.has(SentSegment::kRetransmitted)) retrans_bytes_ += s.len();
  s.flags |= SentSegment::kRetransmitted | SentSegment::kEverRetransmitted;
  s.xmit_time = now;
  s.xmit_order = ++xmit_count_;
  if (s.in_time_order()) time_.erase(time_.iterator_to(s));
  time_.push_back(s);
  return s;
}

void SentMap::clear(SentSegmentPool& pool) {
  time_.clear();
  index_.clear();
  indexed_ = false;
  while (!seq_.empty()) {
    SentSegment& s = seq_.front();
    seq_.pop_front();
    release(pool, &s);
  }
  sacked_bytes_ = lost_bytes_ = retrans_bytes_ = 0;
  // Back to a fresh map's state: the control block is reused without being rebuilt (alloc_tcb()),
  // and stale acked retransmissions would make a new connection's D-SACKs look like its own.
  xmit_count_ = 0;
  acked_retransmissions_ = {};
  acked_retransmissions_next_ = 0;
}

}  // namespace dtcp::tcp
