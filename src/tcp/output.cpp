// The sender: what to send now (window, congestion window, Nagle and sender-side SWS avoidance),
// building segments into fresh mbufs, and the bare replies (RST, ACK) that need no TCB.
#include <algorithm>
#include <cassert>
#include <array>
#include <cstring>
#include <optional>

#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

namespace {

bool sends_data(TcpState s) {
  switch (s) {
    case TcpState::established:
    case TcpState::close_wait:
    case TcpState::fin_wait_1:
    case TcpState::closing:
    case TcpState::last_ack:
      return true;
    default:
      return false;
  }
}

// Writes `header` at the start of the fresh mbuf `m`: straight into its room, which always holds
// the largest header (60 bytes), then appended by the length the writer reports.
void write_segment_header(rte_mbuf* m, const wire::TcpHeader& header) {
  assert(rte_pktmbuf_tailroom(m) >= wire::kTcpMinHeaderLen + wire::kTcpMaxOptionsLen);
  const size_t hlen = wire::write_tcp_header({rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_tailroom(m)}, header);
  rte_pktmbuf_append(m, static_cast<uint16_t>(hlen));
  m->l4_len = hlen;
}

}  // namespace

// The one place options are assembled (the wire writer lays them out as Linux does: MSS,
// SACK-permitted, timestamps, window scale on a SYN). Our SYN offers what the configuration
// enables; a SYN-ACK answers only what the peer's SYN offered, which listen_segment_arrives()
// recorded in ts_ok / sack_ok / snd_wscale (RFC 7323 §2.2, §3.2; RFC 2018 §2).
wire::TcpOptions ShardCore::build_options(const Tcb& t, TcpFlags flags, uint32_t payload_len) const {
  wire::TcpOptions o;
  if (wire::has(flags, TcpFlags::syn)) {
    const bool offer = t.state == TcpState::syn_sent || !t.passive;  // not answering a SYN
    o.mss = local_mss(t);
    if (offer ? config.window_scaling : t.wscale_ok) o.window_scale = rcv_wscale_;
    o.sack_permitted = offer ? config.sack : t.sack_ok;
    if (offer ? config.timestamps : t.ts_ok) {
      o.timestamps = wire::TcpTimestamps{ts_clock(t), t.ts_ok ? t.ts_recent : 0};
    }
    return o;
  }
  if (wire::has(flags, TcpFlags::rst)) return o;  // like Linux: resets carry no options
  if (t.ts_ok) o.timestamps = wire::TcpTimestamps{ts_clock(t), t.ts_recent};
  if (reports_sack(t)) {
    // RFC 2018 §4: report the held out-of-order data, as many blocks as fit beside the payload
    // (a full-sized segment has no room; ACKs always do).
    const uint32_t room = t.snd_mss - std::min<uint32_t>(t.snd_mss, payload_len + (t.ts_ok ? 12 : 0));
    if (room >= 12) fill_sack_blocks(t, o, std::min<size_t>((room - 4) / 8, wire::kTcpMaxSackBlocks));
  }
  return o;
}

// The header of a segment build_options() would give the timestamps option at most (an ACK
// without SACK blocks, not a SYN or RST), written straight into the fresh mbuf `m`.
void ShardCore::write_plain_header(const Tcb& t, rte_mbuf* m, SeqNum seq, TcpFlags flags, uint16_t window) const {
  const wire::TcpTimestamps ts{ts_clock(t), t.ts_recent};
  const size_t hlen = wire::write_tcp_timestamps_header({rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_tailroom(m)},
                                                        t.tuple.local_port, t.tuple.remote_port, seq.value(),
                                                        t.rcv_nxt.value(), flags, window, t.ts_ok ? &ts : nullptr);
  m->data_len = static_cast<uint16_t>(hlen);
  m->pkt_len = static_cast<uint32_t>(hlen);
  m->l4_len = hlen;
}

// RFC 2883 §4: a duplicate to report goes first (D-SACK). Then RFC 2018 §4: the block holding the
// segment that arrived last, then the blocks reported most recently before (so that each block is
// reported in several ACKs and a lost ACK does not hide it, as Linux keeps its selective_acks in
// that order), then any others in sequence order. Adjacent reassembly entries merge into one
// block. One pass over the queue, however long it is.
void ShardCore::fill_sack_blocks(const Tcb& t, wire::TcpOptions& o, size_t max_blocks) const {
  constexpr size_t kMax = wire::kTcpMaxSackBlocks;
  wire::SackBlock recent{};
  bool have_recent = false;
  std::array<wire::SackBlock, kMax> previous{};  // current extent of each block reported last time
  std::array<bool, kMax> have_previous{};
  std::array<wire::SackBlock, kMax> others{};
  size_t other_count = 0;
  const rte_mbuf* m = t.ooo.head();
  while (m) {
    const SeqNum left(mbuf_scratch_seq(m));
    // A held FIN is the last entry and occupies a sequence number after its data: the block
    // includes it (RFC 2018 §3: the right edge follows the last sequence number received), as
    // Linux's end_seq does; a block one short leaves the peer's FIN segment un-SACKed, and Linux
    // then resends it once RACK sees later segments delivered.
    SeqNum right = left + SeqLen(m->data_len + (ooo_fin(m) ? 1u : 0u));
    for (m = m->next; m && SeqNum(mbuf_scratch_seq(m)) == right; m = m->next) {
      right += SeqLen(m->data_len + (ooo_fin(m) ? 1u : 0u));
    }
    if (right == left) continue;
    const wire::SackBlock block{left.value(), right.value()};
    bool placed = false;
    if (!have_recent && seq_in_window(t.sack_recent, left, right - left)) {
      recent = block;
      have_recent = placed = true;
    }
    for (size_t i = 0; i < t.sack_history_count && !placed; ++i) {
      if (!have_previous[i] && seq_in_window(SeqNum(t.sack_history[i]), left, right - left)) {
        previous[i] = block;
        have_previous[i] = placed = true;
      }
    }
    if (!placed && other_count < kMax) others[other_count++] = block;
  }
  size_t out = 0;
  size_t first_sack = 0;  // a D-SACK block may equal the block after it (RFC 2883 §4.2.1): no dedup
  auto emit = [&](const wire::SackBlock& b) {
    if (out >= max_blocks) return;
    for (size_t i = first_sack; i < out; ++i)
      if (o.sack_blocks[i] == b) return;
    o.sack_blocks[out++] = b;
  };
  if (t.dsack_pending) {
    emit({t.dsack_left.value(), t.dsack_right.value()});
    first_sack = out;
  }
  if (have_recent) emit(recent);
  for (size_t i = 0; i < t.sack_history_count; ++i)
    if (have_previous[i]) emit(previous[i]);
  for (size_t i = 0; i < other_count; ++i) emit(others[i]);
  o.sack_block_count = static_cast<uint8_t>(out);
  o.sack_block_count = static_cast<uint8_t>(wire::tcp_sack_blocks_that_fit(o));  // beside the other options
}

bool ShardCore::send_segment(Tcb& t, SeqNum seq, TcpFlags flags, uint32_t data_offset, uint32_t len) {
  const wire::Ecn ecn = ecn_mark(t, seq, flags, len);
  // Data waits (retried) beyond mem_high; control segments may use the reserve, and so may the
  // segment at SND.UNA: data already queued must be able to leave, or a pool held by queued data
  // frees nothing (Linux transmits from its queue without charging more memory). At most one
  // such segment per connection per round trip, as the next one starts beyond SND.UNA.
  if (len > 0 && seq != t.snd_una && !mem_data_allowed()) return false;
  // Most segments of a connection are ACKs, with or without data, with at most the timestamps
  // option: their header is written directly (write_plain_header), with no header and options
  // structure built first. A SYN, a RST and an ACK with SACK blocks take the general writer.
  const bool plain = wire::has(flags, TcpFlags::ack) && !wire::has(flags, TcpFlags::syn) &&
                     !wire::has(flags, TcpFlags::rst) && !reports_sack(t);
  if (len == 0 || seq == t.snd_una) mem_note_control(); else mem_note_alloc();
  rte_mbuf* m = mbufs_.alloc();
  if (!m) {
    ++counters.tx_no_mbuf;
    return false;
  }
  // The window is advertised only once the segment has its mbuf: advertise_window() moves
  // RCV.ADV, which must stay the edge the peer was actually told.
  if (wire::has(flags, TcpFlags::ack)) {
    // Whatever carries an ACK settles a delayed one (RFC 9293 §3.8.6.3: piggybacking).
    t.last_ack_sent = t.rcv_nxt;
    t.rcv_unacked = 0;
    t.delack_deadline = kNever;
  }
  if (plain) [[likely]] {
    write_plain_header(t, m, seq, flags, advertise_window(t));
    // No blocks reported (nothing held, or no SACK): what the next ACK reports starts afresh.
    if (t.ooo.empty()) t.sack_history_count = 0;
  } else {
    wire::TcpHeader h;
    h.src_port = t.tuple.local_port;
    h.dst_port = t.tuple.remote_port;
    h.seq = seq.value();
    h.flags = flags;
    if (wire::has(flags, TcpFlags::ack)) h.ack = t.rcv_nxt.value();
    // Windows in SYN segments are never scaled (RFC 7323 §2.2).
    h.window = wire::has(flags, TcpFlags::syn) ? static_cast<uint16_t>(std::min<uint32_t>(t.rcv_space, 0xffff))
                                               : advertise_window(t);
    h.options = build_options(t, flags, len);
    write_segment_header(m, h);
    if (wire::has(flags, TcpFlags::ack)) {
      counters.tx_sack_blocks += h.options.sack_block_count;
      size_t first = 0;
      if (t.dsack_pending && h.options.sack_block_count > 0) {
        ++counters.tx_dsack;
        t.dsack_pending = false;
        first = 1;
      }
      // Remember the order reported (by a left edge each) for the next ACK's blocks.
      if (h.options.sack_block_count > first || t.ooo.empty()) {
        t.sack_history_count = 0;
        for (size_t i = first; i < h.options.sack_block_count; ++i)
          t.sack_history[t.sack_history_count++] = h.options.sack_blocks[i].left;
      }
    }
  }
  // Copy the payload out of the send queue, chaining more mbufs when one is full.
  rte_mbuf* last = m;
  uint32_t copied = 0;
  while (copied < len) {
    if (rte_pktmbuf_tailroom(last) == 0) {
      rte_mbuf* next = mbufs_.alloc();
      mem_note_alloc();
      if (!next) {
        mbufs_.free_chain(m);
        ++counters.tx_no_mbuf;
        return false;
      }
      next->data_off = 0;  // a continuation needs no headroom
      last->next = next;
      ++m->nb_segs;
      last = next;
    }
    const uint32_t n = std::min<uint32_t>(rte_pktmbuf_tailroom(last), len - copied);
    std::byte* dst = mbuf_data(last) + last->data_len;
    t.snd_buf.copy_out(data_offset + copied, {dst, n}, t.snd_cursor);
    last->data_len = static_cast<uint16_t>(last->data_len + n);
    m->pkt_len += n;
    copied += n;
  }
  uint32_t wire_segments = 1;
  // output() builds segments above the MSS only with TSO; retransmissions are cut to the MSS
  // (retransmit_limit(), and a tail loss probe that cannot split its record sends its first MSS).
  assert(len <= t.eff_mss() || tso_segment_size(t) != 0);
  if (const uint32_t unit = len > t.eff_mss() ? tso_segment_size(t) : 0; unit != 0) {
    mbuf_request_tso(m, unit);
    wire_segments = (len + unit - 1) / unit;
    ++counters.tx_tso_super_segments;
    counters.tx_tso_bytes += len;
  }
  // The MIB counts segments on the wire (RFC 4022 tcpOutSegs), as Linux counts a TSO packet's.
  counters.tx_segments += wire_segments;
  counters.tx_payload_bytes += len;
  t.bytes_sent += len;
  if (seq < t.snd_max) {  // sent before: a retransmission
    if (len > 0) counters.tx_retransmitted_bytes += std::min(len, (t.snd_max - seq).value());
    // A FIN sent again starts below SND.MAX too (SND.MAX counts it); SYNs have their own counter.
    if ((len > 0 || wire::has(flags, TcpFlags::fin)) && !wire::has(flags, TcpFlags::syn)) ++counters.tx_retransmitted_segments;
  }
  if (wire::has(flags, TcpFlags::rst)) ++counters.tx_rst;
  if (wire::has(flags, TcpFlags::cwr) && !wire::has(flags, TcpFlags::syn)) {
    t.cwr_pending = false;
    ++counters.tx_cwr;
  }
  env.output->send_connection_segment(m, t.tuple.local, t.tuple.remote, ecn, t.tx_header);
  return true;
}

uint32_t ShardCore::tso_segment_size(const Tcb& t) const {
  const bool v4 = t.tuple.local.is_v4();
  if ((v4 ? env.tso_max_payload_v4 : env.tso_max_payload_v6) == 0) return 0;
  // The segments carry the headers of the super-segment: IP, TCP and the timestamps option (a
  // segment above the MSS has no room for SACK blocks, build_options()).
  const uint32_t headers = (v4 ? 20u : 40u) + wire::kTcpMinHeaderLen + (t.ts_ok ? 12u : 0u);
  if (env.tso_ip_packet_max <= headers) return 0;
  return std::min<uint32_t>(t.eff_mss(), env.tso_ip_packet_max - headers);
}

bool ShardCore::send_bare(const FourTuple& tuple, uint32_t seq, uint32_t ack, TcpFlags flags, uint16_t window,
                          std::optional<wire::TcpTimestamps> timestamps) {
  wire::TcpHeader h;
  h.src_port = tuple.local_port;
  h.dst_port = tuple.remote_port;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window = window;
  h.options.timestamps = timestamps;
  return send_header(tuple, h);
}

// A segment without TCB (RST, cookie SYN-ACK): the header alone, Not-ECT; a control segment, so
// it may use the memory reserve.
bool ShardCore::send_header(const FourTuple& tuple, const wire::TcpHeader& h) {
  mem_note_control();
  rte_mbuf* m = mbufs_.alloc();
  if (!m) {
    ++counters.tx_no_mbuf;
    return false;
  }
  write_segment_header(m, h);
  ++counters.tx_segments;
  if (wire::has(h.flags, TcpFlags::rst)) ++counters.tx_rst;
  env.output->send_segment(m, tuple.local, tuple.remote, wire::Ecn::not_ect);
  return true;
}

// RFC 9293 §3.10.7.1: the reset for a segment that has no connection. Never a reset for a reset.
void ShardCore::send_reset_for(const FourTuple& tuple, const Segment& seg) {
  if (seg.has(TcpFlags::rst)) return;
  if (seg.has(TcpFlags::ack)) {
    send_bare(tuple, seg.ack.value(), 0, TcpFlags::rst, 0);  // <SEQ=SEG.ACK><CTL=RST>
  } else {
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    send_bare(tuple, 0, (seg.seq + seg.seg_len()).value(), TcpFlags::rst | TcpFlags::ack, 0);
  }
}

bool ShardCore::send_syn(Tcb& t, TimePoint now) {
  const bool active = t.state == TcpState::syn_sent;
  const TcpFlags flags = (active ? TcpFlags::syn : (TcpFlags::syn | TcpFlags::ack)) | ecn_syn_flags(t);
  if (!send_segment(t, t.iss, flags, 0, 0)) return false;
  if (t.snd_nxt == t.iss) t.snd_nxt = t.iss + SeqLen(1);
  t.snd_max = seq_max(t.snd_max, t.snd_nxt);
  if (!t.syn_retransmitted && !t.rtt_timing) {
    t.rtt_timing = true;
    t.rtt_seq = t.iss;
    t.rtt_sent = now;
  }
  t.ack_now = false;
  return true;
}

// A bare ACK carries SEQ = the highest sequence number sent (RFC 9293's SND.NXT; our snd_nxt may
// have been pulled back by go-back-N). A lower one could fall below the peer's RCV.NXT, making
// the ACK unacceptable there and its acknowledgment lost. But not beyond the right edge of the
// peer's window (SND.UNA + SND.WND): a peer whose window closed accepts a bare segment only at
// its RCV.NXT (RFC 9293 §3.10.7.4), and an ACK it finds unacceptable is dropped unread, so data
// we sent past a window that shrank to zero would make every later ACK of ours invisible to it.
// Linux: tcp_acceptable_seq().
SeqNum ShardCore::acceptable_ack_seq(const Tcb& t) const {
  const SeqNum window_end = t.snd_una + SeqLen(t.snd_wnd);
  return t.snd_max > window_end ? seq_max(window_end, t.snd_una) : t.snd_max;
}

bool ShardCore::send_ack(Tcb& t) {
  if (!send_segment(t, acceptable_ack_seq(t), TcpFlags::ack, 0, 0)) {
    t.tx_retry_deadline = now_ + kClockGranularity;
    return false;
  }
  t.ack_now = false;
  return true;
}

// Fast retransmit (RFC 5681 §3.2 step 3) and NewReno's partial-ACK retransmission (RFC 6582
// §3.2 step 5): the first unacknowledged segment, without moving SND.NXT.
void ShardCore::retransmit_head(Tcb& t) {
  if (t.snd_una == t.snd_max) return;
  const uint32_t sent_data = (t.snd_max - t.snd_una).value() - (t.fin_sent() ? 1u : 0u);
  const uint32_t len = std::min({sent_data, t.snd_buf.bytes(), t.eff_mss()});
  TcpFlags flags = TcpFlags::ack;
  if (t.fin_sent() && t.snd_una + SeqLen(len) == t.fin_seq) flags |= TcpFlags::fin;
  if (len == 0 && !wire::has(flags, TcpFlags::fin)) return;
  // Karn (RFC 6298 §3): a timed segment that is sent again gives no sample.
  if (t.rtt_timing && t.rtt_seq < t.snd_una + SeqLen(std::max(len, 1u))) t.rtt_timing = false;
  if (send_segment(t, t.snd_una, flags, 0, len)) ++counters.tx_fast_retransmits;
}

// Zero-window probe, Linux style: an ACK with SEG.SEQ = SND.UNA - 1, which the receiver finds
// unacceptable and answers with an ACK carrying its current window (RFC 9293 §3.8.6.1 requires
// probing; it does not prescribe the probe's content). Consumes no sequence space.
void ShardCore::send_window_probe(Tcb& t) {
  ++counters.tx_window_probes;
  send_segment(t, t.snd_una - SeqLen(1), TcpFlags::ack, 0, 0);
}

// Sends what the windows allow: new data, retransmissions after a go-back-N timeout, the FIN,
// and a bare ACK if one is owed and nothing else carried it. `force` overrides SWS avoidance
// (persist timer fired with a small non-zero window).
void ShardCore::output(Tcb& t, TimePoint now, bool force) {
  if (sends_data(t.state)) {
    // With SACK, lost segments go first (RFC 6675 NextSeg rule 1) and cwnd is measured against
    // pipe; sequence numbers never go back (no go-back-N), so SND.NXT stays SND.MAX.
    const bool scoreboard = t.sack_ok && !t.syn_unacked();
    if (scoreboard && !retransmit_lost(t, now)) {
      t.tx_retry_deadline = now + kClockGranularity;
      if (t.ack_now) send_ack(t);  // an ACK owed must not wait for data that could not go
      return;
    }
    if (t.snd_una == t.snd_max && t.snd_nxt < t.data_end() && t.last_data_sent != TimePoint{} && !t.syn_unacked()) {
      // RFC 5681 §4.1 / RFC 9438 §5.8: sending again after an idle period.
      t.cc->idle_restart(now, now - t.last_data_sent, t.rto, config.initial_window);
    }
    bool sent_new = false;
    for (;;) {
      const SeqNum end = t.data_end();
      const uint32_t unsent = t.snd_nxt < end ? (end - t.snd_nxt).value() : 0;
      // Nothing queued and no FIN due: what follows would compute a length of 0 and stop.
      if (unsent == 0 && !(t.fin_queued && !t.fin_acked() && t.snd_nxt == t.fin_seq)) break;
      uint32_t cwnd = t.cc->cwnd() + tlp_probe_allowance_;
      // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out
      // beyond cwnd (cwnd itself is unchanged). With SACK, pipe does that.
      if (!scoreboard && !t.in_recovery && t.dupacks > 0 && t.dupacks < 3 && t.snd_nxt == t.snd_max)
        cwnd += t.dupacks * t.eff_mss();
      const uint32_t in_flight = (t.snd_nxt - t.snd_una).value();
      const uint32_t pipe = scoreboard ? t.sent.pipe(t.flight_size()) : in_flight;
      // The peer's window is measured from SND.UNA, cwnd against what is in flight.
      const uint32_t window_room = t.snd_wnd > in_flight ? t.snd_wnd - in_flight : 0;
      const uint32_t cwnd_room = cwnd > pipe ? cwnd - pipe : 0;
      const uint32_t usable = std::min(window_room, cwnd_room);
      // No data before our SYN is acknowledged (close() in SYN-RECEIVED may still send a FIN).
      const uint32_t mss = t.eff_mss();
      const bool retransmission = t.snd_nxt < t.snd_max;
      // TCP segmentation offload: new data leaves as one super-segment of as many segments as
      // the windows allow (up to the device's limit), which the device cuts into `tso_unit`
      // payloads. Not for retransmissions (they stay one MSS, as RFC 6675 and RFC 5681 count
      // them) nor while a CWR is to be sent: the device would copy the flag onto every segment.
      const uint32_t tso_unit = retransmission || t.cwr_pending ? 0 : tso_segment_size(t);
      const uint32_t tso_max = t.tuple.local.is_v4() ? env.tso_max_payload_v4 : env.tso_max_payload_v6;
      const uint32_t segment_max = tso_unit != 0 ? std::max(mss, tso_max - tso_max % tso_unit) : mss;
      uint32_t len = t.syn_unacked() ? 0 : std::min({unsent, usable, segment_max});
      // Whole segments only, unless this empties the queue (the last one is then short): a short
      // segment in the middle of a flight is what sender SWS avoidance exists to prevent.
      if (len > mss && len < unsent) len = std::max(len - len % tso_unit, mss);
      const bool fin = t.fin_queued && !t.fin_acked() && t.snd_nxt + SeqLen(len) == t.fin_seq &&
                       (len == unsent);
      if (len == 0 && !fin) break;
      if (len > 0 && len < mss && !force && !retransmission) {
        // RFC 9293 §3.8.6.2.1 (sender SWS) with Nagle (§3.7.4): a short segment goes only if it
        // empties the queue and Nagle allows it, or if it is at least half the largest window
        // the peer offered. Nagle is Minshall's variant, as in Linux (tcp_minshall_check()):
        // hold a short segment only while an earlier *short* segment is unacknowledged, so the
        // tail of a bulk write is not delayed by a full RTT.
        const bool empties_queue = len == unsent;
        const bool nagle_ok = t.nodelay || t.fin_queued || t.snd_sml <= t.snd_una;
        const bool half_window = t.max_snd_wnd > 0 && len >= t.max_snd_wnd / 2;
        if (!((empties_queue && nagle_ok) || half_window)) break;
      }
      const uint32_t offset = (t.snd_nxt - t.snd_una).value() - (t.syn_unacked() ? 1u : 0u);
      TcpFlags flags = TcpFlags::ack;
      if (len > 0 && len == unsent) flags |= TcpFlags::psh;
      if (fin) flags |= TcpFlags::fin;
      if (!send_segment(t, t.snd_nxt, flags, offset, len)) {
        t.tx_retry_deadline = now + kClockGranularity;  // survive mbuf exhaustion: retry soon
        if (t.ack_now) send_ack(t);  // an ACK owed must not wait for data that could not go
        return;
      }
      if (!retransmission && !t.rtt_timing && len > 0) {
        t.rtt_timing = true;  // one timed segment at a time (RFC 6298 §3, Karn)
        t.rtt_seq = t.snd_nxt;
        t.rtt_sent = now;
      }
      // Minshall's Nagle remembers a short segment; a super-segment ends in one unless whole.
      if (len > 0 && (len < mss || (len > mss && len % tso_unit != 0))) t.snd_sml = t.snd_nxt + SeqLen(len);
      if (!scoreboard && in_flight + len > t.cc->cwnd() && !t.in_recovery && !retransmission)
        ++counters.tx_limited_transmits;
      if (scoreboard) {
        t.sent.on_send(sent_pool_, config.sent_records_per_connection, t.snd_nxt, t.snd_nxt + SeqLen(len + (fin ? 1 : 0)),
                       now);
        if (t.loss_state == Tcb::LossState::recovery) {
          t.prr_out += len + (fin ? 1 : 0);
          counters.prr_sent_bytes += len;
        }
      }
      if (len > 0) t.last_data_sent = now;
      sent_new = sent_new || !retransmission;
      t.snd_nxt += SeqLen(len + (fin ? 1 : 0));
      t.snd_max = seq_max(t.snd_max, t.snd_nxt);
      t.ack_now = false;
      if (t.rexmit_deadline == kNever) restart_rexmit(t, now);  // RFC 6298 §5.1
      if (fin) break;
    }
    // cwnd grows only while the flight uses it (RFC 7661 §4.3): here, at least half of it.
    const uint32_t pipe_now = scoreboard ? t.sent.pipe(t.flight_size()) : (t.snd_nxt - t.snd_una).value();
    t.cwnd_limited = 2 * uint64_t{pipe_now} >= t.cc->cwnd();
    if (scoreboard && sent_new && tlp_probe_allowance_ == 0) arm_tlp(t, now);
    // Data waits but nothing is in flight to bring an ACK: the persist timer probes the window
    // (zero window) or overrides SWS avoidance (small window) so the connection cannot stall.
    const bool waiting = t.snd_nxt < t.data_end() || (t.fin_queued && !t.fin_sent());
    if (waiting && t.snd_una == t.snd_max && t.rexmit_deadline == kNever && t.persist_deadline == kNever) {
      const Duration backoff = std::min<Duration>(t.rto * (1 << std::min<uint32_t>(t.persist_backoff, 16)), config.max_rto);
      t.persist_deadline = now + backoff;
    }
  }
  if (t.ack_now && t.state != TcpState::syn_sent) send_ack(t);
}

}  // namespace dtcp::tcp
