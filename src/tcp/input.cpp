// Segment arrival, RFC 9293 §3.10.7: CLOSED, LISTEN and SYN-SENT have their own handlers; the
// synchronized states (and SYN-RECEIVED) run the numbered checks in order, each returning a
// verdict. RFC 5961 hardens the RST, SYN and ACK checks.
#include <algorithm>
#include <cassert>

#include "base/log.hpp"
#include "wire/bytes.hpp"
#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

namespace {

// RFC 1122 3.2.1.3 / 4.2.3.10: never answer segments from addresses that are not unicast.
bool bad_source(wire::IpAddr src) { return src.is_unusable_peer(); }

// A SYN that opens a connection: no ACK (a SYN-ACK answers ours), no RST.
bool is_bare_syn(TcpFlags flags) {
  return (flags & (TcpFlags::syn | TcpFlags::ack | TcpFlags::rst)) == TcpFlags::syn;
}

// The data offset (RFC 9293 §3.1) says how long the header is; a shorter first mbuf splits it.
bool header_in_first_mbuf(const rte_mbuf* m) {
  if (m->data_len < wire::kTcpMinHeaderLen) return false;
  const size_t header_len = (std::to_integer<size_t>(mbuf_data(m)[12]) >> 4) * 4;
  return header_len <= m->data_len;
}

}  // namespace

void ShardCore::input(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) {
  Entry entry(*this, now);
  MbufPtr owner(m);
  ++segments_this_iteration_;
  // A frame coalesced by LRO or rte_gro (RTE_MBUF_F_RX_LRO, tso_segsz = the size of the segments
  // it was made of) counts as the wire segments it holds, as Linux counts a GRO packet's
  // gso_segs in InSegs: the MIB and the delayed-ACK rule below see what the peer sent.
  const bool coalesced = (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0 && m->tso_segsz != 0;
  // The header is parsed from the first mbuf alone, so in a chain it must lie there whole.
  if (m->next != nullptr && !header_in_first_mbuf(m)) {
    ++counters.rx_segments;
    ++counters.drop_split_header;
    return;
  }
  Segment seg;
  const std::byte* header = mbuf_data(m);
  const wire::Parsed<uint8_t> header_len = wire::parse_tcp_header(mbuf_span(m), seg.options);
  if (!header_len) {
    ++counters.rx_segments;
    ++counters.drop_malformed;
    return;
  }
  const uint32_t payload_len = m->pkt_len - uint32_t{*header_len};
  uint32_t wire_segments = 1;
  if (coalesced && payload_len > m->tso_segsz) wire_segments = (payload_len + m->tso_segsz - 1u) / m->tso_segsz;
  counters.rx_segments += wire_segments;
  if (wire_segments > 1) counters.rx_coalesced_segments += wire_segments;
  const FourTuple tuple{dst, src, wire::load_be16(header + 2), wire::load_be16(header)};
  if (bad_source(src) || tuple.local_port == 0 || tuple.remote_port == 0) {
    ++counters.drop_bad_address;
    return;
  }
  // Admission past capacity (syn_admitted()) comes before the two table lookups, each a likely
  // cache miss in a table of a million slots: a shed SYN must cost less than the work it would
  // have made, or the excess alone fills the receive ring (dperf over net_memif at 600k/s
  // offered: 1.6M SYNs/s with its retransmissions). A SYN that would have found a connection or
  // a TIME-WAIT record loses nothing by it: ours (SYN-ACK or challenge ACK) is retransmitted or
  // rate-limited anyway, and the peer retransmits its SYN (RFC 9293 §3.8.1).
  seg.flags = static_cast<TcpFlags>(header[13]);
  if (is_bare_syn(seg.flags) && !syn_admitted()) return;
  seg.seq = SeqNum(wire::load_be32(header + 4));
  seg.ack = SeqNum(wire::load_be32(header + 8));
  seg.wnd = wire::load_be16(header + 14);
  seg.ecn = ecn;
  seg.len = payload_len;
  seg.wire_segment_size = wire_segments > 1 ? m->tso_segsz : static_cast<uint16_t>(std::min<uint32_t>(payload_len, 0xffff));
  mbuf_chain_trim_front(owner, uint32_t{*header_len});
  seg.payload = std::move(owner);

  const size_t hash = keys_.table_hash(tuple);
  if (Tcb* t = table_.find(tuple, hash)) {
    segment_arrives(*t, seg, now);
  } else if (TimeWaitRecord* tw = tw_table_.find(tuple, hash)) {
    time_wait_segment_arrives(*tw, seg, tuple, hash, now);
  } else if (Listener* l = find_listener(tuple.local_port, tuple.local.family())) {
    listen_segment_arrives(*l, tuple, hash, seg, now, nullptr);
  } else {
    closed_segment_arrives(tuple, seg);
  }
  // What was not queued (a bare ACK, a SYN, a duplicate) goes to the stash, not the pool.
  if (seg.payload) mbufs_.free_chain(seg.payload.release());
}

void ShardCore::advance(TimePoint now) {
  Entry entry(*this, now);
  admission_advance();  // admission.cpp: the lcore loop calls advance() once per receive burst
  const Tick tick = tick_floor(now);
  if (tick != trace_level_tick_) {
    trace_level_tick_ = tick;
    trace_state_changes_ = log::enabled(log::Subsystem::tcp, log::Level::debug);
  }
  wheel_.advance(tick, [&](TimerEntry& e) {
    ++counters.timers_fired;
    on_timer(owner_of(e, &Tcb::timer), now);
  });
  expire_time_wait(now);
}

// RFC 9293 §3.10.7.1: CLOSED (no TCB, no listener).
void ShardCore::closed_segment_arrives(const FourTuple& tuple, const Segment& seg) {
  ++counters.drop_closed_port;
  DTCP_LOG_DP(tcp, debug, now_, "dtcp: tcp: %s:%u > port %u: no connection or listener; %s\n",
              tuple.remote.to_string().c_str(), tuple.remote_port, tuple.local_port,
              seg.has(TcpFlags::rst) ? "RST ignored" : "RST sent");
  send_reset_for(tuple, seg);
}

// RFC 9293 §3.10.7.2: LISTEN.
void ShardCore::apply_listener_buffers(Tcb& t, const Listener& l) {
  if (l.send_buffer != 0) t.set_send_buffer(l.send_buffer);
  if (l.recv_buffer != 0) t.set_receive_buffer(l.recv_buffer);
}

void ShardCore::listen_segment_arrives(Listener& l, const FourTuple& tuple, size_t hash, Segment& seg, TimePoint now,
                                       const SeqNum* time_wait_snd_nxt) {
  if (seg.has(TcpFlags::rst)) {
    ++counters.drop_listen_rst;
    return;
  }
  if (seg.has(TcpFlags::ack)) {
    // RFC 4987 §3.6: the ACK answering a cookie SYN-ACK finds no TCB; its cookie rebuilds one.
    // Anything else, or a cookie that fails, is an ACK to a listener (RFC 9293 §3.10.7.2).
    if (!seg.has(TcpFlags::syn) && cookie_ack_expected(l, now)) {
      if (syn_cookie_ack(l, tuple, hash, seg, now)) return;
    } else {
      ++counters.drop_listen_ack;
    }
    send_bare(tuple, seg.ack.value(), 0, TcpFlags::rst, 0);  // <SEQ=SEG.ACK><CTL=RST>
    return;
  }
  if (!seg.has(TcpFlags::syn)) {
    ++counters.drop_listen_no_syn;
    return;
  }
  const bool backlog_full = l.syn_received >= l.syn_backlog;
  if (l.syn_cookies == SynCookies::always || (backlog_full && l.syn_cookies == SynCookies::automatic)) {
    send_syn_cookie(l, tuple, seg, now);
    return;
  }
  if (backlog_full) {
    // Like Linux without cookies: silently drop, the client retransmits its SYN.
    ++counters.drop_syn_backlog_full;
    return;
  }
  Tcb* t = alloc_tcb(tuple, now);
  if (!t && reclaim_oldest_orphan()) t = alloc_tcb(tuple, now);
  if (!t) {
    ++counters.drop_syn_pool_full;
    if (config.rst_on_full) send_reset_for(tuple, seg);
    return;
  }
  t->passive = true;
  t->listener = &l;
  t->accept_from = &l;
  ++l.syn_received;
  t->nodelay = l.nodelay;
  t->cc.select(l.congestion);
  ecn_syn_arrives(*t, seg, l.ecn);
  if (l.keepalive) {
    t->keepalive_idle = l.keepalive_idle;  // the timer starts in establish()
    t->keepalive_interval = l.keepalive_interval;
    t->keepalive_probes = l.keepalive_probes;
  }
  apply_listener_buffers(*t, l);
  // Text and FIN on a SYN are not taken (no TCP Fast Open): RCV.NXT covers only the SYN, so the
  // peer retransmits them after the handshake. RFC 9293 allows queueing them instead.
  t->irs = seg.seq;
  t->rcv_nxt = seg.seq + SeqLen(1);
  t->rcv_adv = t->rcv_nxt + SeqLen(std::min<uint32_t>(t->rcv_space, 0xffff));
  SeqNum iss = t->iss;  // alloc_tcb's, from the keyed hash
  // A reused TIME-WAIT tuple must not start below the old sequence space (Linux adds 64 KiB too).
  if (time_wait_snd_nxt && iss <= *time_wait_snd_nxt) iss = *time_wait_snd_nxt + SeqLen(65535 + 2);
  t->iss = iss;
  t->snd_una = t->snd_nxt = t->snd_max = t->snd_sml = t->recover = t->ecn_recover = iss;
  take_syn_options(*t, seg, now);
  t->snd_wnd = seg.wnd;  // windows in SYNs are never scaled (RFC 7323 §2.2)
  t->max_snd_wnd = t->snd_wnd;
  t->snd_wl1 = seg.seq;
  t->snd_wl2 = iss;
  set_state(*t, TcpState::syn_received);
  table_.insert(*t, hash);
  ++counters.conn_passive_opens;
  send_syn(*t, now);  // on mbuf exhaustion the retransmission timer sends it later
  restart_rexmit(*t, now);
  schedule(*t);
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void ShardCore::syn_sent_segment_arrives(Tcb& t, Segment& seg, TimePoint now) {
  bool ack_ok = false;
  if (seg.has(TcpFlags::ack)) {
    if (seg.ack <= t.iss || seg.ack > t.snd_max) {
      ++counters.drop_syn_sent_bad_ack;
      if (!seg.has(TcpFlags::rst)) send_bare(t.tuple, seg.ack.value(), 0, TcpFlags::rst, 0);
      return;
    }
    ack_ok = t.snd_una < seg.ack && seg.ack <= t.snd_max;
  }
  if (seg.has(TcpFlags::rst)) {
    // RFC 5961 §3.2 keeps RFC 793's rule here: the RST counts only if it acknowledges our SYN.
    if (!ack_ok) {
      ++counters.drop_syn_sent_other;
      return;
    }
    ++counters.conn_reset_by_peer;
    close_connection(t, CloseReason::refused);
    return;
  }
  if (!seg.has(TcpFlags::syn)) {
    ++counters.drop_syn_sent_other;
    return;
  }
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + SeqLen(1);
  t.rcv_adv = t.rcv_nxt + SeqLen(std::min<uint32_t>(t.rcv_space, 0xffff));
  take_syn_options(t, seg, now);
  ecn_syn_arrives(t, seg, t.ecn_offered);  // a SYN-ACK, or the peer's SYN (simultaneous open)
  t.snd_wnd = seg.wnd;
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  if (ack_ok) {
    ack_advances(t, seg.ack, now, &seg.options);
    establish(t, seg, now);
    t.ack_now = true;
    // Text or FIN carried by the SYN-ACK is processed as in the sixth step onwards.
    seg.flags = seg.flags & ~TcpFlags::syn;
    seg.seq = seg.seq + SeqLen(1);
    if (seg.len > t.rcv_wnd()) {
      mbuf_chain_trim_back(seg.payload.get(), seg.len - t.rcv_wnd());
      seg.len = t.rcv_wnd();
      seg.flags = seg.flags & ~TcpFlags::fin;
    }
    if (process_text(t, seg) == Verdict::proceed) process_fin(t, seg, now);
  } else {
    // Simultaneous open: SYN-RECEIVED, answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    set_state(t, TcpState::syn_received);
    send_syn(t, now);
  }
  schedule(t);
}

// The options of the peer's SYN (or SYN-ACK). Each is on only if we offer it too: our SYN
// offers what the configuration enables, and a SYN-ACK answers with the same rule (RFC 7323 §2.2,
// §3.2; RFC 2018 §2). MSS: RFC 9293 §3.7.1 (536 when absent), floored at 64 against tiny values.
void ShardCore::take_syn_options(Tcb& t, const Segment& seg, TimePoint now) {
  const wire::TcpOptions& o = seg.options;
  const uint16_t peer_mss = o.mss ? std::max<uint16_t>(*o.mss, 64) : kDefaultMss;
  t.snd_mss = std::min({peer_mss, local_mss(t), t.path_mss});  // an ICMP may have lowered the path (RFC 1191)
  t.rcv_mss = std::min<uint16_t>(t.snd_mss, kDefaultMss);
  t.wscale_ok = config.window_scaling && o.window_scale.has_value();
  t.snd_wscale = t.wscale_ok ? *o.window_scale : 0;
  t.rcv_wscale = t.wscale_ok ? rcv_wscale_ : 0;
  t.sack_ok = config.sack && o.sack_permitted;
  t.ts_ok = config.timestamps && o.timestamps.has_value();
  if (t.ts_ok) {
    t.ts_recent = o.timestamps->tsval;
    t.ts_recent_stamp = now;
  }
}

void ShardCore::establish(Tcb& t, const Segment& seg, TimePoint now) {
  (void)seg;
  leave_syn_backlog(t);
  set_state(t, TcpState::established);
  if (t.ecn_ok) ++counters.conn_ecn;
  t.cc->init(t.eff_mss(), config.initial_window, now);
  if (t.sack_ok) scoreboard_start(t);
  t.retries = 0;
  if (t.keepalive_idle.count() > 0) start_keepalive(t, now);
  // RFC 6298 §5.7: after a retransmitted SYN, start data transfer with RTO = 3 s unless an RTT
  // sample was taken (Karn's rule forbids one from a retransmitted SYN). Linux does not do this.
  if (t.syn_retransmitted && !t.have_rtt)
    t.rto = std::clamp<Duration>(std::chrono::seconds(3), config.min_rto, config.max_rto);
  // An application that shut the write side during the handshake gets its FIN now.
  if (t.fin_queued) set_state(t, TcpState::fin_wait_1);
  raise(t, t.passive ? kEventAccept : kEventConnected);
}

bool ShardCore::challenge_ack_allowed(TimePoint now) {
  // RFC 5961 §7: at most challenge_ack_limit per second (per shard; Linux keeps it global).
  if (now - challenge_window_start_ >= std::chrono::seconds(1)) {
    challenge_window_start_ = now;
    challenge_acks_in_window_ = 0;
  }
  if (challenge_acks_in_window_ >= config.challenge_ack_limit) {
    ++counters.drop_challenge_ack_limited;
    return false;
  }
  ++challenge_acks_in_window_;
  return true;
}

void ShardCore::challenge_ack(Tcb& t, TimePoint now) {
  if (!challenge_ack_allowed(now)) return;
  ++counters.tx_challenge_ack;
  DTCP_LOG_DP(tcp, debug, now, "dtcp: tcp: %s:%u > %s:%u: challenge ACK (RFC 5961) in %s\n",
              t.tuple.remote.to_string().c_str(), t.tuple.remote_port, t.tuple.local.to_string().c_str(),
              t.tuple.local_port, to_string(t.state));
  t.ack_now = true;
}

// Header prediction (Van Jacobson's, RFC 1323 §4.2.2 [historic]; FreeBSD's tcp_input() fast
// path): most segments of an established connection are the next one expected, carry an ACK
// and nothing else, and pass every check of segment_arrives() untouched. Checked here in one
// place, each condition names the step it stands for; a segment that fails any of them takes
// the full path, so the short one never decides anything the full one would decide otherwise.
// Unlike FreeBSD's, it takes a segment that both carries text and acknowledges new data (a
// request that acknowledges the last response), since the fifth and seventh steps below are
// the full path's own.
bool ShardCore::header_predicted(const Tcb& t, const Segment& seg) const {
  if (t.state != TcpState::established) return false;
  // No SYN, FIN, RST, URG, ECE or CWR: steps two, four, six and eight and RFC 3168 do nothing.
  if ((seg.flags & ~TcpFlags::psh) != TcpFlags::ack) return false;
  // First step: at RCV.NXT and within the window, so acceptable and nothing to trim. A zero
  // window with text takes the full path (its text is dropped there).
  if (seg.seq != t.rcv_nxt || seg.len > t.rcv_wnd()) return false;
  // RFC 7323 §5.3 R1: a timestamp not older than TS.Recent (PAWS passes).
  if (t.ts_ok && (!seg.options.timestamps || static_cast<int32_t>(seg.options.timestamps->tsval - t.ts_recent) < 0))
    return false;
  // Fifth step: SND.UNA <= SEG.ACK <= SND.MAX, acceptable; no SACK blocks, so no D-SACK and no
  // scoreboard marks (take_ack() does the rest, duplicate ACKs included).
  if (seg.ack < t.snd_una || seg.ack > t.snd_max || seg.options.sack_block_count != 0) return false;
  // Seventh step: text goes straight to the receive queue: no hole to fill, someone to read
  // it, and no CE mark to echo (RFC 3168 §6.1.3).
  if (seg.len > 0 && (!t.ooo.empty() || t.app_closed || (t.ecn_ok && seg.ecn == wire::Ecn::ce))) return false;
  return true;
}

// What segment_arrives() does with a predicted segment, in its order: TS.Recent (R3), the ACK,
// the text, the delayed ACK.
void ShardCore::predicted_segment_arrives(Tcb& t, Segment& seg, TimePoint now) {
  ++counters.rx_predicted;
  if (t.ts_ok && seg.seq <= t.last_ack_sent) {
    t.ts_recent = seg.options.timestamps->tsval;
    t.ts_recent_stamp = now;
  }
  t.last_rx = now;
  t.keepalive_sent = 0;
  t.persist_unanswered = 0;
  take_ack(t, seg, t.snd_una, now);
  if (seg.len > 0) {
    queue_text_at_rcv_nxt(t, seg);
    mem_receive_queued(t);
    delay_ack(t);
  }
  if (!t.zombie) schedule(t);
}

void ShardCore::segment_arrives(Tcb& t, Segment& seg, TimePoint now) {
  if (header_predicted(t, seg)) [[likely]] {
    predicted_segment_arrives(t, seg, now);
    return;
  }
  if (t.state == TcpState::syn_sent) {
    syn_sent_segment_arrives(t, seg, now);
    return;
  }
  // A retransmission of the SYN we answered: our SYN-ACK was probably lost, send it again now
  // (Linux does the same; RFC 9293 would just ACK, which a peer in SYN-SENT drops).
  if (t.state == TcpState::syn_received && seg.has(TcpFlags::syn) && !seg.has(TcpFlags::ack) &&
      !seg.has(TcpFlags::rst) && seg.seq == t.irs) {
    ++counters.tx_syn_ack_duplicate_syn;
    send_syn(t, now);
    return;
  }
  // Simultaneous open: the peer's SYN-ACK repeats its SYN (seq = IRS) and acknowledges ours.
  // RFC 9293 would call it unacceptable and ACK it; like Linux, take its ACK so both ends reach
  // ESTABLISHED without waiting for the ACK exchange.
  if (t.state == TcpState::syn_received && !t.passive && seg.has(TcpFlags::syn | TcpFlags::ack) &&
      !seg.has(TcpFlags::rst) && seg.seq == t.irs && seg.len == 0 && seg.ack == t.snd_max) {
    seg.flags = seg.flags & ~TcpFlags::syn;
    seg.seq = t.rcv_nxt;
  }
  const SeqNum seq = seg.seq;                                // before trimming
  Verdict v = check_timestamps(t, seg, now);                 // RFC 7323 §5.3 R1 (PAWS)
  if (v == Verdict::proceed) v = check_sequence(t, seg);     // first
  if (v == Verdict::proceed && t.ts_ok && seg.options.timestamps) {
    // RFC 7323 §4.3, §5.3 R3: remember the timestamp of the segment our next ACK answers.
    const uint32_t tsval = seg.options.timestamps->tsval;
    if (static_cast<int32_t>(tsval - t.ts_recent) >= 0 && seq <= t.last_ack_sent) {
      t.ts_recent = tsval;
      t.ts_recent_stamp = now;
    }
  }
  if (v == Verdict::proceed) v = check_rst(t, seg);          // second (third, security: none)
  if (v == Verdict::proceed) v = check_syn(t, seg);          // fourth
  if (v == Verdict::proceed) v = check_ack(t, seg, now);     // fifth
  if (v == Verdict::proceed) ecn_segment_arrives(t, seg);    // RFC 3168 §6.1.3: CWR and CE
  // Sixth, URG: ignored. The urgent pointer is not delivered out of band (RFC 6093 advises
  // against new uses); the bytes are delivered in line.
  if (v == Verdict::proceed) v = process_text(t, seg);       // seventh
  if (v == Verdict::proceed) v = process_fin(t, seg, now);   // eighth
  if (v == Verdict::drop_and_ack) t.ack_now = true;
  if (!t.zombie) schedule(t);
}

// RFC 7323 §5.3 R1, before the sequence check: a segment whose timestamp is older than
// TS.Recent is an old duplicate (PAWS) and is dropped with an ACK. RSTs are exempt (§5.3).
Verdict ShardCore::check_timestamps(Tcb& t, const Segment& seg, TimePoint now) {
  if (!t.ts_ok || seg.has(TcpFlags::rst)) return Verdict::proceed;
  if (!seg.options.timestamps) {
    // §3.2: "SHOULD silently drop" a non-RST segment without timestamps once they are
    // negotiated. Linux accepts such segments; a peer that sends them is broken either way.
    ++counters.drop_missing_timestamp;
    return Verdict::drop;
  }
  if (static_cast<int32_t>(seg.options.timestamps->tsval - t.ts_recent) >= 0) return Verdict::proceed;
  if (now - t.ts_recent_stamp > std::chrono::hours(24 * 24)) {
    // §5.5: after more than 24 days idle TS.Recent may have wrapped; it is invalid, take the new one.
    t.ts_recent = seg.options.timestamps->tsval;
    t.ts_recent_stamp = now;
    return Verdict::proceed;
  }
  ++counters.drop_paws;
  if (seg.len > 0 && seg.seq + SeqLen(seg.len) <= t.rcv_nxt) note_duplicate(t, seg.seq, seg.seq + SeqLen(seg.len));
  return Verdict::drop_and_ack;
}

// First: RFC 9293 §3.10.7.4 acceptability (the four-case table), then trimming to the window.
Verdict ShardCore::check_sequence(Tcb& t, Segment& seg) {
  const uint32_t wnd = t.rcv_wnd();
  const SeqLen len = seg.seg_len();
  bool ok;
  if (len.value() == 0) {
    ok = wnd == 0 ? seg.seq == t.rcv_nxt : seq_in_window(seg.seq, t.rcv_nxt, SeqLen(wnd));
  } else {
    ok = wnd != 0 && (seq_in_window(seg.seq, t.rcv_nxt, SeqLen(wnd)) ||
                      seq_in_window(seg.seq + len - SeqLen(1), t.rcv_nxt, SeqLen(wnd)));
  }
  if (!ok) {
    if (wnd == 0 && seg.seq == t.rcv_nxt && !seg.has(TcpFlags::rst) && !seg.has(TcpFlags::syn)) {
      // Zero window: RFC 9293 asks to still process the ACK (and RST/URG) of such a segment. The
      // text is dropped; a bare FIN is taken, as Linux does (it needs no buffer).
      if (seg.len > 0) {
        ++counters.drop_zero_window_data;
        seg.payload.reset();
        seg.len = 0;
        seg.flags = seg.flags & ~TcpFlags::fin;
      }
      t.ack_now = true;
      return Verdict::proceed;
    }
    if (seg.has(TcpFlags::rst)) {
      ++counters.drop_rst_out_of_window;
      return Verdict::drop;
    }
    // Data we hold already: report it (RFC 2883 §4, the sender learns its retransmission or the
    // network's duplicate was not needed).
    if (seg.len > 0 && seg.seq + SeqLen(seg.len) <= t.rcv_nxt) note_duplicate(t, seg.seq, seg.seq + SeqLen(seg.len));
    // A segment wholly below RCV.NXT is an old duplicate: a retransmission whose ACK was lost,
    // the peer's FIN sent again, a keep-alive probe (RFC 1122 4.2.3.6). §3.10.7.4 answers it with
    // an ACK like any unacceptable segment, but it is the peer's normal behaviour under loss, not
    // a segment outside the window: counted apart, so drop_unacceptable means what it says.
    if (seg.seq + len <= t.rcv_nxt) {
      ++counters.rx_old_duplicate;
      if (repeated_fin_acks_new_data(t, seg, len)) {
        // The peer's FIN again, ending at RCV.NXT, now with an ACK of ours: a peer in CLOSING
        // resends its FIN with the ACK our FIN earned (dperf does at once, tcp_process_fin()).
        // Take that ACK, as Linux does (tcp_sequence() accepts a segment ending at RCV.NXT), so
        // CLOSING reaches TIME-WAIT and LAST-ACK ends without resending our FIN at the RTO; the
        // FIN and any text before it are not taken again, and the ACK still goes out.
        seg.payload.reset();
        seg.len = 0;
        seg.flags = seg.flags & ~TcpFlags::fin;
        seg.seq = t.rcv_nxt;
        t.ack_now = true;
        return Verdict::proceed;
      }
      return Verdict::drop_and_ack;
    }
    ++counters.drop_unacceptable;
    return Verdict::drop_and_ack;
  }
  if (seg.has(TcpFlags::syn) || seg.has(TcpFlags::rst)) return Verdict::proceed;  // dropped below
  // Trim the front (already received) and the back (beyond the window).
  if (seg.seq < t.rcv_nxt) {
    const uint32_t cut = (t.rcv_nxt - seg.seq).value();
    if (seg.len > 0) note_duplicate(t, seg.seq, seg.seq + SeqLen(std::min(cut, seg.len)));
    if (cut >= seg.len) {
      // Only a FIN (at or past RCV.NXT, since the segment was acceptable) remains.
      seg.payload.reset();
      seg.len = 0;
    } else {
      mbuf_chain_trim_front(seg.payload, cut);
      seg.len -= cut;
    }
    seg.seq = t.rcv_nxt;
    t.ack_now = true;
  }
  const SeqNum window_end = t.rcv_nxt + SeqLen(wnd);
  if (seg.seq + SeqLen(seg.len) > window_end) {
    const uint32_t excess = (seg.seq + SeqLen(seg.len) - window_end).value();
    mbuf_chain_trim_back(seg.payload.get(), excess);
    seg.len -= excess;
    seg.flags = seg.flags & ~TcpFlags::fin;
    t.ack_now = true;
  }
  return Verdict::proceed;
}

// The repeated FIN check_sequence() lets through: it ends exactly at RCV.NXT (the FIN taken
// before), carries no SYN, and acknowledges something new (SND.UNA < SEG.ACK <= SND.MAX). One
// that acknowledges nothing new stays dropped with an ACK: its ACK field would only count as a
// duplicate ACK toward fast retransmit, which a FIN is not (Linux: FLAG_DATA).
bool ShardCore::repeated_fin_acks_new_data(const Tcb& t, const Segment& seg, SeqLen len) const {
  return seg.has(TcpFlags::fin) && t.fin_received && !seg.has(TcpFlags::syn) && seg.has(TcpFlags::ack) &&
         seg.seq + len == t.rcv_nxt && t.snd_una < seg.ack && seg.ack <= t.snd_max;
}

// Second: RST, RFC 5961 §3.2 (the segment passed the window test already).
Verdict ShardCore::check_rst(Tcb& t, const Segment& seg) {
  if (!seg.has(TcpFlags::rst)) return Verdict::proceed;
  if (seg.seq != t.rcv_nxt) {
    ++counters.drop_rst_in_window;
    challenge_ack(t, now_);
    return Verdict::drop;
  }
  if (t.state == TcpState::syn_received && t.passive) {
    // "Return this connection to LISTEN": the listener is still there; forget the TCB.
    close_connection(t, CloseReason::reset_by_peer);
    return Verdict::done;
  }
  ++counters.conn_reset_by_peer;
  close_connection(t, t.state == TcpState::syn_received ? CloseReason::refused : CloseReason::reset_by_peer);
  return Verdict::done;
}

// Fourth: SYN in a synchronized state, RFC 5961 §4.2 challenge ACK (RFC 9293 §3.10.7.4).
Verdict ShardCore::check_syn(Tcb& t, const Segment& seg) {
  if (!seg.has(TcpFlags::syn)) return Verdict::proceed;
  if (t.state == TcpState::syn_received && t.passive) {
    // A different SYN for a passive SYN-RECEIVED: "return this connection to the LISTEN state".
    ++counters.drop_syn_synchronized;
    close_connection(t, CloseReason::reset_by_peer);
    return Verdict::done;
  }
  ++counters.drop_syn_synchronized;
  challenge_ack(t, now_);
  return Verdict::drop;
}

// Fifth: ACK (RFC 9293 §3.10.7.4 with RFC 5961 §5.2).
Verdict ShardCore::check_ack(Tcb& t, const Segment& seg, TimePoint now) {
  if (!seg.has(TcpFlags::ack)) {
    ++counters.drop_no_ack_flag;
    return Verdict::drop;
  }
  const SeqNum una_before_segment = t.snd_una;  // still ISS if this ACK completes the handshake
  if (t.state == TcpState::syn_received) {
    if (!(t.snd_una < seg.ack && seg.ack <= t.snd_max)) {
      ++counters.drop_syn_received_bad_ack;
      send_bare(t.tuple, seg.ack.value(), 0, TcpFlags::rst, 0);  // <SEQ=SEG.ACK><CTL=RST>
      return Verdict::drop;
    }
    t.snd_wnd = static_cast<uint32_t>(seg.wnd) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    ack_advances(t, seg.ack, now, &seg.options);
    establish(t, seg, now);
    ++handshakes_this_iteration_;  // admission.cpp: a SYN served
    // Fall through: the ACK may also acknowledge a FIN sent from SYN-RECEIVED (close()).
  }
  // RFC 5961 §5.2: acceptable iff SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (SND.NXT here is
  // the highest sequence sent, snd_max, since go-back-N may have pulled snd_nxt back).
  t.last_rx = now;  // the peer is alive (keep-alive, persist)
  t.keepalive_sent = 0;
  t.persist_unanswered = 0;
  if (seg.ack > t.snd_max) {
    ++counters.drop_ack_unsent;
    return Verdict::drop_and_ack;
  }
  if (seg.ack < t.snd_una - SeqLen(t.max_snd_wnd)) {
    ++counters.drop_ack_too_old;
    challenge_ack(t, now);
    return Verdict::drop;
  }
  take_ack(t, seg, una_before_segment, now);

  switch (t.state) {
    case TcpState::fin_wait_1:
      if (t.fin_acked()) {
        set_state(t, TcpState::fin_wait_2);
        // Only an application that is gone bounds FIN-WAIT-2 (a half-closed one may still read).
        if (t.app_closed) t.fin_wait_2_deadline = now + config.fin_wait_2_timeout;
      }
      break;
    case TcpState::closing:
      if (t.fin_acked()) {
        enter_time_wait(t, now);
        return Verdict::done;
      }
      break;
    case TcpState::last_ack:
      if (t.fin_acked()) {
        // A repeated FIN that carried this ACK (check_sequence) is answered before the TCB goes:
        // the peer is in CLOSING and needs it to reach TIME-WAIT, or its next retransmission of
        // the FIN finds no connection and is reset.
        if (t.ack_now) send_ack(t);
        close_connection(t, CloseReason::normal);
        return Verdict::done;
      }
      break;
    default:
      break;
  }
  return Verdict::proceed;
}

inline void ShardCore::take_ack(Tcb& t, const Segment& seg, SeqNum prior_una, TimePoint now) {
  const bool ack_is_new = seg.ack > t.snd_una;
  // With SACK the scoreboard (recovery.cpp) detects and repairs losses; NewReno serves the rest.
  const bool scoreboard = t.sack_ok && !t.syn_unacked();
  if (scoreboard) {
    const SeqNum una = t.snd_una;
    if (ack_is_new) {
      if (t.rto_undo_armed) spurious_timeout_check(t, seg);
      ack_advances(t, seg.ack, now, &seg.options);
    }
    scoreboard_ack(t, seg, una, now);
  } else {
    newreno_ack(t, seg, ack_is_new, now);
  }
  if (!scoreboard) counters.rx_sack_blocks += seg.options.sack_block_count;
  if (seg.ack >= t.snd_una) update_send_window(t, seg, ack_is_new);
  ecn_ack_arrives(t, seg, prior_una, now);
}

// RFC 3522 Eifel detection with the RFC 4015 response: the first ACK of new data after a timeout
// echoes a TSval older than the retransmission's, so it acknowledges the original segment, which
// was only delayed. Restore the window the timeout took and resume with new data instead of
// resending the rest of the flight (go-back-N). Linux does the same (tcp_try_undo_loss()).
void ShardCore::spurious_timeout_check(Tcb& t, const Segment& seg) {
  t.rto_undo_armed = false;
  if (!seg.options.timestamps || seg.options.timestamps->tsecr == 0) return;
  if (static_cast<int32_t>(seg.options.timestamps->tsecr - t.rto_tsval) >= 0) return;
  ++counters.rto_spurious;
  t.cc.undo();
  t.snd_nxt = t.snd_max;
  t.recover = t.snd_una;  // a real loss later may start fast recovery again
  if (t.sack_ok && t.loss_state != Tcb::LossState::open) sack_spurious_timeout(t);
}

// SND.UNA moves to `ack` (snd_una < ack <= snd_max): free acknowledged data, sample the RTT,
// feed congestion control and manage the retransmission timer (RFC 6298 §5.2, §5.3).
void ShardCore::ack_advances(Tcb& t, SeqNum ack, TimePoint now, const wire::TcpOptions* options,
                             bool in_recovery_partial) {
  const uint32_t acked = (ack - t.snd_una).value();
  uint32_t data = acked;
  if (t.syn_unacked()) --data;
  if (t.fin_queued && t.snd_una <= t.fin_seq && ack > t.fin_seq) --data;
  assert(data <= t.snd_buf.bytes());
  t.snd_buf.drop_front(std::min(data, t.snd_buf.bytes()), t.snd_cursor, mbufs_);
  t.snd_una = ack;
  t.bytes_acked += data;
  if (const Duration span = now - t.rate_sample_start; span >= std::max(t.srtt, Duration(1000))) {
    t.delivery_rate = (t.bytes_acked - t.rate_acked_at_start) * 1'000'000 / static_cast<uint64_t>(span.count());
    t.rate_acked_at_start = t.bytes_acked;
    t.rate_sample_start = now;
  }
  if (t.snd_nxt < ack) t.snd_nxt = ack;
  t.soft_error_type = 0;  // the peer is reachable after all (Linux clears sk_err_soft on an ACK)
  if (t.rtt_timing && ack > t.rtt_seq) {
    t.rtt_timing = false;
    rtt_sample(t, now - t.rtt_sent);
  } else if (t.ts_ok && options && options->timestamps && options->timestamps->tsecr != 0 && !t.cookie_untimed) {
    // RFC 7323 §4.1 RTTM: every ACK of new data dates the segment it answers through the echoed
    // timestamp, retransmitted or not (Karn's rule does not apply), so the estimate follows a
    // growing queue within one window. The µs timed sample is used when this ACK ends one (the
    // TSval clock ticks in ms).
    const uint32_t elapsed_ms = ts_clock(t) - options->timestamps->tsecr;
    if (std::chrono::milliseconds(elapsed_ms) <= config.max_rto) {
      rtt_sample(t, std::chrono::milliseconds(elapsed_ms));
      ++counters.rtt_timestamp_samples;
    }
  }
  t.retries = 0;
  if (t.synchronized() && !t.in_recovery && !t.sack_ok) {
    AckSample sample;
    sample.now = now;
    sample.bytes_acked = acked;
    sample.in_flight = t.flight_size();
    sample.ack = ack;
    sample.snd_nxt = t.snd_nxt;
    sample.rtt = t.latest_rtt_at == now ? t.latest_rtt : Duration{0};
    sample.min_rtt = t.min_rtt;
    sample.cwnd_limited = t.cwnd_limited;
    cc_ack_received(t, sample);
  }
  if (t.snd_una == t.snd_max) {
    stop_rexmit(t);
  } else if (!in_recovery_partial || !t.partial_ack_seen) {
    restart_rexmit(t, now);
  }
  if (in_recovery_partial) t.partial_ack_seen = true;
  if (t.want_writable && api_send_space(t) > 0) {
    t.want_writable = false;
    raise(t, kEventWritable);
  }
}

// RFC 9293 §3.10.7.4: update the send window from segments not older than the last update,
// and, as Linux does (tcp_may_update_window()), from every ACK that advanced SND.UNA. The usable
// window is SND.UNA + SND.WND - SND.NXT: an ACK that moved SND.UNA but left a window measured
// from an older SEG.ACK would move the right edge past what the peer offered. That happens when
// the peer's go-back-N retransmissions carry SEG.SEQ below SND.WL1 (its earlier ACKs carried its
// SND.MAX); at a small MSS the overshoot filled the peer's window and deadlocked (issue #10 part 0).
void ShardCore::update_send_window(Tcb& t, const Segment& seg, bool ack_advanced) {
  if (ack_advanced || t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack)) {
    t.snd_wnd = static_cast<uint32_t>(seg.wnd) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    if (t.snd_wnd > 0 && t.persist_deadline != kNever) {
      t.persist_deadline = kNever;
      t.persist_backoff = 0;
    }
  }
}

}  // namespace dtcp::tcp
