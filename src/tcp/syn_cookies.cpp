// SYN cookies (RFC 4987 §3.6) and the SYN backlog under pressure.
//
// A cookie SYN-ACK keeps no state: its ISN is
//   H1(4-tuple) + peer ISN + (count << 24) + ((H2(4-tuple, count) + MSS index) mod 2^24)
// with count = now / 64 s and H1, H2 keyed hashes (SecretKeys). The ACK that completes the
// handshake acknowledges ISN + 1 and carries SEQ = peer ISN + 1, so subtracting H1 and the peer's
// ISN gives back the count (its top 8 bits) and, after H2 of that count, the MSS index (the low
// 24 bits less the hash must be a small index: a forged ACK passes with odds of about 2^-21).
// This is the layout of Linux's __cookie_v4_init_sequence(); the code is our own.
//
// The 32-bit ISN has no room for more, so when the peer offers timestamps the other SYN options
// travel in the low 6 bits of our TSval, which the peer echoes in TSecr (as Linux's
// cookie_init_timestamp() does): bits 0-3 the peer's window-scale shift (15 = none), bit 4
// SACK-permitted, bit 5 ECN. TSval is rounded down to those bits, never above our clock, so our
// timestamps stay monotonic. Without timestamps the cookie SYN-ACK offers only MSS (Linux does
// the same: it clears the other options when it cannot encode them).
//
// Where this differs from Linux: an 8-entry MSS table (3 bits) that reaches jumbo frames and never
// rounds a small MSS up (Linux's IPv4 table is 536, 1300, 1440, 1460, and an MSS below 536 becomes
// 536); the counter ticks every 64 s (Linux: 60 s) and a cookie is good for the current tick and
// the one before (Linux: MAX_SYNCOOKIE_AGE 2, the same rule).
#include <algorithm>
#include <array>

#include "tcp/core.hpp"

namespace dtcp::tcp {

using wire::TcpFlags;

namespace {

constexpr uint32_t kCookieBits = 24;
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;
constexpr Duration kCookieTick = std::chrono::seconds(64);
constexpr uint32_t kCookieMaxAge = 2;  // ticks: the current one and the one before
// Largest entry not above the peer's MSS is encoded. 536: RFC 9293 §3.7.1's default; 1200-1460:
// common tunnel, PPPoE and Ethernet values; 8960: a 9000-byte MTU.
constexpr std::array<uint16_t, 8> kCookieMss = {64, 256, 536, 1200, 1300, 1440, 1460, 8960};

constexpr uint32_t kTsBits = 6;
constexpr uint32_t kTsMask = (1u << kTsBits) - 1;
constexpr uint32_t kTsNoWscale = 0xf;
constexpr uint32_t kTsSack = 1u << 4;
constexpr uint32_t kTsEcn = 1u << 5;

uint32_t cookie_count(TimePoint now) {
  return static_cast<uint32_t>(now.time_since_epoch().count() / kCookieTick.count());
}

uint32_t mss_index(uint16_t mss) {
  uint32_t i = kCookieMss.size() - 1;
  while (i > 0 && kCookieMss[i] > mss) --i;
  return i;
}

}  // namespace

bool ShardCore::cookie_ack_expected(const Listener& l, TimePoint now) const {
  switch (l.syn_cookies) {
    case SynCookies::always:
      return true;
    case SynCookies::never:
      return false;
    case SynCookies::automatic:
      // Only while cookies we sent may still come back: otherwise an ACK to a listener is not
      // worth two hashes (Linux: tcp_synq_no_recent_overflow()).
      return l.cookie_sent && now - l.last_cookie_sent < kCookieTick * kCookieMaxAge;
  }
  return false;
}

void ShardCore::send_syn_cookie(Listener& l, const FourTuple& tuple, const Segment& seg, TimePoint now) {
  const wire::TcpOptions& o = seg.options;
  const uint16_t peer_mss = o.mss ? std::max<uint16_t>(*o.mss, 64) : kDefaultMss;
  const uint32_t index = mss_index(std::min(peer_mss, local_mss(tuple)));
  const uint32_t count = cookie_count(now);
  const uint32_t peer_isn = seg.seq.value();
  const uint32_t isn = keys_.cookie_hash_tuple(tuple) + peer_isn + (count << kCookieBits) +
                       ((keys_.cookie_hash_count(tuple, count) + index) & kCookieMask);
  // RFC 3168 §6.1.1: an ECN-setup SYN (ECE and CWR) to a listener that accepts ECN.
  const bool ecn = l.ecn && seg.has(TcpFlags::ece) && seg.has(TcpFlags::cwr);

  wire::TcpHeader h;
  h.src_port = tuple.local_port;
  h.dst_port = tuple.remote_port;
  h.seq = isn;
  h.ack = peer_isn + 1;
  h.flags = TcpFlags::syn | TcpFlags::ack;
  // Never scaled in a SYN.
  h.window = static_cast<uint16_t>(std::min<uint32_t>(l.recv_buffer ? l.recv_buffer : config.recv_buffer, 0xffff));
  h.options.mss = local_mss(tuple);
  if (config.timestamps && o.timestamps) {
    uint32_t bits = config.window_scaling && o.window_scale ? *o.window_scale : kTsNoWscale;
    if (config.window_scaling && o.window_scale) h.options.window_scale = rcv_wscale_;
    if (config.sack && o.sack_permitted) {
      bits |= kTsSack;
      h.options.sack_permitted = true;
    }
    if (ecn) {
      bits |= kTsEcn;
      h.flags = h.flags | TcpFlags::ece;
    }
    const uint32_t clock = ts_clock(keys_.ts_offset(tuple));  // the offset the connection will use
    uint32_t tsval = (clock & ~kTsMask) | bits;
    if (static_cast<int32_t>(tsval - clock) > 0) tsval -= 1u << kTsBits;
    h.options.timestamps = wire::TcpTimestamps{tsval, o.timestamps->tsval};
  }
  if (!send_header(tuple, h)) return;
  ++counters.syn_cookies_sent;
  l.cookie_sent = true;
  l.last_cookie_sent = now;
}

bool ShardCore::syn_cookie_ack(Listener& l, const FourTuple& tuple, size_t hash, Segment& seg, TimePoint now) {
  const uint32_t isn = seg.ack.value() - 1;
  const uint32_t peer_isn = seg.seq.value() - 1;
  const uint32_t value = isn - keys_.cookie_hash_tuple(tuple) - peer_isn;
  const uint32_t count = cookie_count(now);
  const uint32_t age = (count - (value >> kCookieBits)) & (0xffffffffu >> kCookieBits);
  if (age >= kCookieMaxAge) {
    ++counters.syn_cookies_failed;
    return false;
  }
  const uint32_t index = (value - keys_.cookie_hash_count(tuple, count - age)) & kCookieMask;
  if (index >= kCookieMss.size()) {  // a wrong hash almost always lands here
    ++counters.syn_cookies_failed;
    return false;
  }
  ++counters.syn_cookies_validated;
  Tcb* t = alloc_tcb(tuple, now);
  if (!t) {
    // The peer believes it is connected; like Linux, drop. Its next segment tries again.
    ++counters.syn_cookies_no_connection;
    return true;
  }
  t->passive = true;
  t->accept_from = &l;  // never counted in the backlog: it is established at once
  t->nodelay = l.nodelay;
  t->cc.select(l.congestion);
  if (l.keepalive) {
    t->keepalive_idle = l.keepalive_idle;
    t->keepalive_interval = l.keepalive_interval;
    t->keepalive_probes = l.keepalive_probes;
  }
  apply_listener_buffers(*t, l);
  t->irs = SeqNum(peer_isn);
  t->rcv_nxt = t->irs + SeqLen(1);
  t->rcv_adv = t->rcv_nxt + SeqLen(std::min<uint32_t>(t->rcv_space, 0xffff));
  t->last_ack_sent = t->rcv_nxt;
  t->iss = SeqNum(isn);
  t->snd_una = t->snd_sml = t->recover = t->ecn_recover = t->iss;
  t->snd_nxt = t->snd_max = t->iss + SeqLen(1);  // the cookie SYN-ACK was sent
  t->snd_wl1 = t->irs;
  t->snd_wl2 = t->iss;
  // What the cookie encoded, as take_syn_options() would have taken it from the SYN.
  t->snd_mss = std::min(kCookieMss[index], local_mss(*t));
  t->rcv_mss = std::min<uint16_t>(t->snd_mss, kDefaultMss);
  const auto& ts = seg.options.timestamps;
  if (config.timestamps && ts && ts->tsecr != 0) {
    const uint32_t bits = ts->tsecr & kTsMask;
    t->ts_ok = true;
    t->ts_recent = ts->tsval;
    t->ts_recent_stamp = now;
    t->wscale_ok = config.window_scaling && (bits & 0xf) != kTsNoWscale;
    t->snd_wscale = t->wscale_ok ? static_cast<uint8_t>(std::min<uint32_t>(bits & 0xf, wire::kTcpMaxWindowScale)) : 0;
    t->rcv_wscale = t->wscale_ok ? rcv_wscale_ : 0;
    t->sack_ok = config.sack && (bits & kTsSack) != 0;
    t->ecn_ok = l.ecn && (bits & kTsEcn) != 0;
    t->cookie_untimed = true;
  }
  set_state(*t, TcpState::syn_received);
  table_.insert(*t, hash);
  ++counters.conn_passive_opens;
  // The usual SYN-RECEIVED processing: the ACK establishes, data and FIN on it are taken.
  segment_arrives(*t, seg, now);
  t->cookie_untimed = false;
  return true;
}

// Linux's reqsk_timer_handler(): normally a half-open connection becomes established at its
// first SYN-ACK, and the retransmitted ones (old) are the SYN-ACKs that were lost, whose ACK was
// lost, or that nobody will answer (a flood). When the backlog is more than half full, keep room
// for young entries: each halving of the young share below the queue takes one retry from the
// old ones, down to 2, so a flood's entries leave after about 7 s instead of about 127 s.
uint32_t ShardCore::syn_ack_retry_limit(const Listener& l) const {
  uint32_t limit = config.max_syn_retries;
  const uint64_t qlen = l.syn_received;
  if (qlen * 2 > std::max<uint64_t>(8, l.syn_backlog)) {
    uint64_t young = (qlen - std::min<uint64_t>(qlen, l.syn_old)) * 2;
    while (limit > 2) {
      if (qlen < young) break;
      --limit;
      young <<= 1;
    }
  }
  return limit;
}

void ShardCore::leave_syn_backlog(Tcb& t) {
  if (!t.listener) return;
  --t.listener->syn_received;
  if (t.syn_retransmitted) --t.listener->syn_old;
  t.listener = nullptr;
}

}  // namespace dtcp::tcp
