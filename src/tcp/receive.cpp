// The receiver: segment text (seventh step), FIN (eighth step), reassembly, the zero-copy receive
// queue and the advertised window with receiver-side SWS avoidance.
#include <algorithm>
#include <cassert>

#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

namespace {

SeqNum ooo_seq(const rte_mbuf* m) { return SeqNum(mbuf_scratch_seq(m)); }
SeqNum ooo_end(const rte_mbuf* m) { return ooo_seq(m) + SeqLen(m->data_len); }

bool receiving_text(TcpState s) {
  return s == TcpState::established || s == TcpState::fin_wait_1 || s == TcpState::fin_wait_2;
}

}  // namespace

// Seventh: segment text (RFC 9293 §3.10.7.4). `seg` is trimmed to the window already.
Verdict ShardCore::process_text(Tcb& t, Segment& seg) {
  if (seg.len == 0) return Verdict::proceed;
  if (!receiving_text(t.state)) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN was received, nothing can follow it.
    ++counters.drop_data_after_fin;
    seg.payload.reset();
    seg.len = 0;
    return Verdict::proceed;
  }
  if (t.app_closed) {
    // Nobody will read it: RFC 9293 §3.10.4 / RFC 1122 4.2.2.13 reset (Linux does the same for
    // orphaned sockets in FIN-WAIT-1/2).
    ++counters.drop_data_after_close;
    reset_connection(t, CloseReason::aborted);
    return Verdict::done;
  }
  if (seg.seq != t.rcv_nxt) {
    t.sack_recent = seg.seq;
    queue_out_of_order(t, seg);
    mem_receive_queued(t);
    // RFC 5681 §4.2: an out-of-order segment gets an immediate (duplicate) ACK.
    t.ack_now = true;
    seg.flags = seg.flags & ~TcpFlags::fin;  // kept with the segment in the reassembly queue
    return Verdict::proceed;
  }
  const bool fin = seg.has(TcpFlags::fin);
  queue_text_at_rcv_nxt(t, seg);
  if (fin) {
    mem_receive_queued(t);
    return Verdict::proceed;  // the eighth step takes it (and ACKs at once)
  }
  if (!t.ooo.empty()) {
    // RFC 5681 §4.2: data that fills (part of) a hole is acknowledged at once.
    t.ack_now = true;
    const bool fin_reached = pull_reassembly(t);
    mem_receive_queued(t);
    if (fin_reached) {
      fin_arrived(t, now_);
      seg.flags = seg.flags & ~TcpFlags::fin;
      return t.zombie ? Verdict::done : Verdict::proceed;
    }
    return Verdict::proceed;
  }
  mem_receive_queued(t);
  delay_ack(t);
  return Verdict::proceed;
}

void ShardCore::queue_text_at_rcv_nxt(Tcb& t, Segment& seg) {
  tune_receive_buffer(t);
  t.rcv_nxt += SeqLen(seg.len);
  t.rcv_unacked += seg.len;
  // The peer's segment size, for the every-second-segment ACK (RFC 1122 4.2.3.2): a coalesced
  // frame's own length would make one "segment" of up to 64 KB and stretch the ACKs to match.
  const uint32_t wire_size = seg.wire_segment_size != 0 ? std::min<uint32_t>(seg.len, seg.wire_segment_size) : seg.len;
  t.rcv_mss = static_cast<uint16_t>(std::clamp<uint32_t>(wire_size, t.rcv_mss, 0xffff));
  counters.rx_payload_bytes += seg.len;
  t.bytes_received += seg.len;
  queue_in_order(t, std::move(seg.payload));
  raise(t, kEventReadable);
}

// RFC 9293 §3.8.6.3 (RFC 1122 4.2.3.2, RFC 5681 §4.2): ACK in-order data within delayed_ack,
// and at once when a second full-sized segment's worth is unacknowledged. Anything sent in the
// meantime carries the ACK (send_segment() clears the deadline).
void ShardCore::delay_ack(Tcb& t) {
  if (config.delayed_ack.count() == 0 || t.rcv_unacked >= 2u * t.rcv_mss) {
    t.ack_now = true;
    return;
  }
  if (t.delack_deadline == kNever) t.delack_deadline = now_ + config.delayed_ack;
}

// Eighth: FIN (RFC 9293 §3.10.7.4).
Verdict ShardCore::process_fin(Tcb& t, Segment& seg, TimePoint now) {
  if (!seg.has(TcpFlags::fin)) return Verdict::proceed;
  const SeqNum fin_at = seg.seq + SeqLen(seg.len);
  if (fin_at == t.rcv_nxt && !t.fin_received) {
    fin_arrived(t, now);
    return t.zombie ? Verdict::done : Verdict::proceed;
  }
  if (fin_at > t.rcv_nxt && seg.len == 0 && receiving_text(t.state)) {
    // A bare FIN beyond a hole: hold it in the reassembly queue as an empty segment.
    queue_out_of_order(t, seg);
    t.ack_now = true;
  }
  return Verdict::proceed;
}

void ShardCore::fin_arrived(Tcb& t, TimePoint now) {
  t.rcv_nxt += SeqLen(1);
  t.fin_received = true;
  t.ack_now = true;
  t.ooo.clear();  // nothing beyond the FIN can be real
  raise(t, kEventPeerClosed);
  switch (t.state) {
    case TcpState::syn_received:
    case TcpState::established:
      set_state(t, TcpState::close_wait);
      break;
    case TcpState::fin_wait_1:
      if (t.fin_acked()) enter_time_wait(t, now); else set_state(t, TcpState::closing);
      break;
    case TcpState::fin_wait_2:
      enter_time_wait(t, now);
      break;
    default:
      break;  // CLOSE-WAIT, CLOSING, LAST-ACK: remain
  }
}

// Appends in-order text to the receive queue. Payloads up to kCoalesceMax that fit in the tail
// mbuf are copied there: a peer trickling tiny segments then costs about one mbuf per mbuf-full
// of bytes, not one per segment, while full-size segments stay zero-copy. Bound: two consecutive
// queued mbufs hold more than min(kCoalesceMax, tail room) bytes, so the count stays within
// about 2 * recv_buffer / kCoalesceMax. Across connections the pool is shared under memory
// pressure (pressure.cpp: fair share, collapse, prune).
void ShardCore::queue_in_order(Tcb& t, MbufPtr m) {
  if (!m) return;
  if (m->next != nullptr) {
    // A coalesced frame: its mbufs are full-sized segments (only the head can be small, after
    // trimming), queued as they are, zero-copy.
    t.rcv_buf.push_chain(m.release());
    return;
  }
  if (m->data_len == 0) return;
  rte_mbuf* tail = t.rcv_buf.tail();
  if (tail && m->data_len <= kCoalesceMax && m->data_len <= mbuf_tailroom(tail) && mbuf_writable(tail)) {
    t.rcv_buf.append_to_tail(mbuf_span(m.get()));
    ++counters.rx_coalesced;
    return;
  }
  t.rcv_buf.push_back(m.release());
}

// Dynamic right-sizing, as Linux's tcp_rcv_space_adjust(): once per round trip, if the
// application read at least half the buffer in that time it is the bottleneck's window that
// limits, not the reader: double the buffer (at most recv_buffer_max) so the window can open.
void ShardCore::tune_receive_buffer(Tcb& t) {
  if (t.rcv_space_fixed || t.rcv_space >= config.recv_buffer_max) return;
  const Duration round = std::max<Duration>(t.have_rtt ? t.srtt : config.min_rto, kClockGranularity);
  if (now_ - t.rcv_space_stamp < round) return;
  if (2 * uint64_t{t.rcv_copied} >= t.rcv_space) {
    t.rcv_space = static_cast<uint32_t>(std::min<uint64_t>(2 * uint64_t{t.rcv_space}, config.recv_buffer_max));
    ++counters.rcv_buffer_grown;
  }
  t.rcv_copied = 0;
  t.rcv_space_stamp = now_;
}

// RFC 2883 §4: the next ACK reports [left, right) as a duplicate in its first SACK block.
void ShardCore::note_duplicate(Tcb& t, SeqNum left, SeqNum right) {
  if (!t.sack_ok || !(left < right)) return;
  t.dsack_pending = true;
  t.dsack_left = left;
  t.dsack_right = right;
}

// Inserts an out-of-order segment into the sorted, disjoint reassembly queue, trimming whatever
// overlaps data already held (old data wins, as in Linux). Its bytes are bounded by the window
// (check_sequence() trimmed the segment to it); its mbufs by max_ooo_segments, and when that is
// reached a segment nearer RCV.NXT displaces the farthest held (Linux's tcp_prune_ofo_queue()),
// since the nearer one is what lets the window advance.
//
// A chained payload (a coalesced frame) is held as one entry per mbuf, each with its own sequence
// number, so that the queue, SACK blocks, pruning and pull_reassembly() see single mbufs only; a
// duplicate part reports its last duplicate mbuf as the D-SACK block (RFC 2883 §4 allows any
// duplicate block received).
void ShardCore::queue_out_of_order(Tcb& t, Segment& seg) {
  const bool fin = seg.has(TcpFlags::fin);
  if (!seg.payload || seg.payload->next == nullptr) {
    queue_out_of_order_piece(t, seg.seq, seg.len, fin, std::move(seg.payload));
    return;
  }
  SeqNum s = seg.seq;
  while (seg.payload) {
    MbufPtr piece = mbuf_chain_pop_front(seg.payload);
    const uint32_t len = piece->data_len;
    queue_out_of_order_piece(t, s, len, fin && !seg.payload, std::move(piece));
    s += SeqLen(len);
  }
}

void ShardCore::queue_out_of_order_piece(Tcb& t, SeqNum seq, uint32_t seg_len, bool seg_fin, MbufPtr payload) {
  if (t.ooo.count() >= config.max_ooo_segments) {
    rte_mbuf* last = t.ooo.tail();
    if (last == nullptr || !(seq < ooo_seq(last))) {
      ++counters.drop_ooo_full;
      return;
    }
    rte_mbuf* prev = nullptr;
    for (rte_mbuf* m = t.ooo.head(); m != last; m = m->next) prev = m;
    t.ooo.erase_after(prev, last);
    rte_pktmbuf_free_seg(last);
    ++counters.drop_ooo_pruned;
  }
  rte_mbuf* m = payload.get();
  if (!m) return;
  SeqNum s = seq;
  uint32_t len = seg_len;
  bool fin = seg_fin;
  rte_mbuf* prev = nullptr;
  rte_mbuf* cur = t.ooo.head();
  while (cur && ooo_end(cur) <= s) {
    prev = cur;
    cur = cur->next;
  }
  if (cur && ooo_seq(cur) <= s) {
    const uint32_t overlap = (ooo_end(cur) - s).value();
    if (overlap >= len) {
      ++counters.drop_ooo_duplicate;
      note_duplicate(t, s, s + SeqLen(len));
      return;  // everything is held already (`payload` frees it)
    }
    mbuf_trim_front(m, static_cast<uint16_t>(overlap));
    s += SeqLen(overlap);
    len -= overlap;
    prev = cur;
    cur = cur->next;
  }
  const SeqNum e = s + SeqLen(len);
  while (cur && ooo_end(cur) <= e) {
    rte_mbuf* next = cur->next;
    t.ooo.erase_after(prev, cur);
    rte_pktmbuf_free_seg(cur);
    cur = next;
  }
  if (cur && ooo_seq(cur) < e) {
    mbuf_trim_back(m, static_cast<uint16_t>((e - ooo_seq(cur)).value()));
    len = m->data_len;
    fin = false;
  }
  if (len == 0 && !fin) return;
  mbuf_set_scratch(m, s.value(), fin ? kScratchFin : 0);
  t.ooo.insert_after(prev, payload.release());
  ++counters.rx_out_of_order;
}

bool ShardCore::pull_reassembly(Tcb& t) {
  while (!t.ooo.empty()) {
    rte_mbuf* head = t.ooo.head();
    if (ooo_seq(head) > t.rcv_nxt) break;
    MbufPtr m(t.ooo.pop_front());
    const bool fin = ooo_fin(m.get());
    const SeqNum end = ooo_end(m.get());
    if (end > t.rcv_nxt) {
      mbuf_trim_front(m.get(), static_cast<uint16_t>((t.rcv_nxt - ooo_seq(m.get())).value()));
      counters.rx_payload_bytes += m->data_len;
      t.bytes_received += m->data_len;
      t.rcv_nxt = end;
      queue_in_order(t, std::move(m));
      raise(t, kEventReadable);
    }
    if (fin && end == t.rcv_nxt) return true;
  }
  return false;
}

// After the application read: tell the peer when the window opened enough to matter (the window
// doubled or was below one MSS), as Linux's tcp_cleanup_rbuf() does.
void ShardCore::maybe_window_update(Tcb& t) {
  if (!receiving_text(t.state) || t.fin_received) return;
  const uint32_t opening = window_opening(t);
  if (opening == 0) return;
  const uint32_t current = t.rcv_wnd();
  if (current < config.mss || opening >= current) {
    ++counters.tx_window_updates;
    t.ack_now = true;
    schedule(t);
  }
}

}  // namespace dtcp::tcp
