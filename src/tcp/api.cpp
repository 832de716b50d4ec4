// Connection's methods: static_casts to the Tcb, then the shard does the work inside an Entry so
// that output, events and reclamation happen once the outermost call returns.
#include <algorithm>
#include <cstring>

#include "tcp/core.hpp"

namespace dtcp {

using tcp::ShardCore;
using tcp::Tcb;

namespace {
Tcb& tcb(Connection& c) { return static_cast<Tcb&>(c); }
const Tcb& tcb(const Connection& c) { return static_cast<const Tcb&>(c); }
}  // namespace

size_t Connection::readable() const { return tcb(*this).rcv_buf.bytes(); }

size_t Connection::read(std::span<std::byte> out) { return tcb(*this).core->api_read(tcb(*this), out); }

size_t Connection::peek(std::span<std::span<const std::byte>> iov) const {
  size_t k = 0;
  for (const rte_mbuf* m = tcb(*this).rcv_buf.head(); m && k < iov.size(); m = m->next)
    iov[k++] = tcp::mbuf_span(m);
  return k;
}

void Connection::consume(size_t n) { tcb(*this).core->api_consume(tcb(*this), n); }
size_t Connection::send_space() const { return tcb(*this).core->api_send_space(tcb(*this)); }
size_t Connection::send(std::span<const std::byte> data) { return tcb(*this).core->api_send(tcb(*this), data); }
bool Connection::send_mbuf(rte_mbuf* m) { return tcb(*this).core->api_send_mbuf(tcb(*this), m); }
void Connection::set_send_buffer(size_t bytes) {
  Tcb& t = tcb(*this);
  t.send_buffer = static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX / 2));
  if (t.send_buffer != 0) t.send_buffer = std::max<uint32_t>(t.send_buffer, 2 * t.snd_mss);
}
size_t Connection::send_buffer() const { return tcb(*this).core->send_limit(tcb(*this)); }
void Connection::set_receive_buffer(size_t bytes) {
  Tcb& t = tcb(*this);
  const uint32_t floor = 2u * t.rcv_mss;
  t.rcv_space = static_cast<uint32_t>(std::clamp<size_t>(bytes, floor, std::max(floor, t.core->config.recv_buffer_max)));
  t.rcv_space_fixed = true;
}
size_t Connection::receive_buffer() const { return tcb(*this).rcv_space; }
void Connection::set_nodelay(bool on) { tcb(*this).core->api_set_nodelay(tcb(*this), on); }
void Connection::set_keepalive(bool on) {
  Tcb& t = tcb(*this);
  const TcpConfig& c = t.core->config;
  t.core->api_set_keepalive(t, on ? c.keepalive_idle : Duration::zero(), c.keepalive_interval, c.keepalive_probes);
}
void Connection::set_keepalive(Duration idle, Duration interval, uint32_t probes) {
  tcb(*this).core->api_set_keepalive(tcb(*this), idle, interval, probes);
}
void Connection::shutdown_write() { tcb(*this).core->api_shutdown_write(tcb(*this)); }
void Connection::close() { tcb(*this).core->api_close(tcb(*this)); }
void Connection::abort() { tcb(*this).core->api_abort(tcb(*this)); }
Endpoint Connection::local() const { return tcb(*this).tuple.local_endpoint(); }
Endpoint Connection::remote() const { return tcb(*this).tuple.remote_endpoint(); }
TcpState Connection::state() const { return tcb(*this).state; }
ConnectionId Connection::id() const { return {tcb(*this).slot, tcb(*this).generation}; }

// "addr:port" for IPv4, "[addr]:port" for IPv6 (RFC 3986 §3.2.2, as ss and curl write them).
std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    const auto v6 = wire::Ipv6Addr::parse(host);
    if (!v6) return std::nullopt;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (!wire::Ipv4Addr::parse(host)) return std::nullopt;  // bare IPv6 needs brackets
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 0xffff) return std::nullopt;
  const auto addr = wire::IpAddr::parse(host);
  if (!addr) return std::nullopt;
  return Endpoint{*addr, static_cast<uint16_t>(port)};
}

std::string Endpoint::to_string() const {
  const std::string a = addr.to_string();
  return (addr.is_v4() ? a : "[" + a + "]") + ":" + std::to_string(port);
}

}  // namespace dtcp

namespace dtcp::tcp {

size_t ShardCore::api_read(Tcb& t, std::span<std::byte> out) {
  Entry entry(*this);
  const auto n = static_cast<uint32_t>(std::min<size_t>(out.size(), t.rcv_buf.bytes()));
  if (n == 0) return 0;
  t.rcv_buf.copy_out(0, out.first(n));
  t.rcv_buf.drop_front(n, mbufs_);
  t.rcv_copied += n;
  if (!t.zombie) maybe_window_update(t);
  return n;
}

void ShardCore::api_consume(Tcb& t, size_t n) {
  Entry entry(*this);
  const auto k = static_cast<uint32_t>(std::min<size_t>(n, t.rcv_buf.bytes()));
  t.rcv_buf.drop_front(k, mbufs_);
  t.rcv_copied += k;
  if (t.zombie) return;
  if (k > 0) maybe_window_update(t);
  schedule(t);
}

size_t ShardCore::api_send_space(const Tcb& t) const {
  if (t.zombie || t.fin_queued) return 0;
  switch (t.state) {
    case TcpState::syn_sent:
    case TcpState::syn_received:
    case TcpState::established:
    case TcpState::close_wait:
      break;
    default:
      return 0;
  }
  const uint32_t used = t.snd_buf.bytes();
  const uint32_t limit = send_limit(t);
  const uint32_t space = limit > used ? limit - used : 0;
  return std::min(space, mem_send_room(t));  // the fair share under memory pressure
}

// Copies into the send queue: first into the tail mbuf's free room, then into fresh mbufs used
// from their first byte (no headroom: segments are built into separate mbufs anyway).
size_t ShardCore::api_send(Tcb& t, std::span<const std::byte> data) {
  Entry entry(*this);
  const size_t space = api_send_space(t);
  const size_t want = std::min(space, data.size());
  // The fair share under memory pressure, not the send buffer, cut this call short.
  bool share_limited = want < data.size() && space == mem_send_room(t) &&
                       space < send_limit(t) - std::min(send_limit(t), t.snd_buf.bytes());
  size_t done = 0;
  if (want > 0) {
    rte_mbuf* tail = t.snd_buf.tail();
    if (tail && mbuf_writable(tail) && mbuf_tailroom(tail) > 0) {
      const size_t n = std::min<size_t>(mbuf_tailroom(tail), want);
      t.snd_buf.append_to_tail(data.first(n));
      done = n;
    }
    while (done < want) {
      // The pool may cross mem_pressure during this very call (mem_note_alloc() enters it):
      // from then on the fair share holds here too, not only from the next call.
      if (mem_under_pressure_ && t.snd_buf.count() >= mem_share()) {
        share_limited = true;
        break;
      }
      // Beyond mem_high the rest of the pool is the control segments' reserve, except for a
      // connection whose send queue is empty: it may take one mbuf from it (Linux
      // tcp_stream_alloc_skb()'s force_schedule for the first skb). Without that an echo server
      // holding received data it cannot forward never frees it, and a pool filled by such
      // receive queues stays full (the ring_pressure stall).
      const bool first = t.snd_buf.empty();
      rte_mbuf* m = first || mem_data_allowed() ? mbufs_.alloc() : nullptr;
      if (m && first && !mem_data_would_be_allowed()) ++counters.mem_reserve_used;
      if (!m) {
        // Nothing may be in flight to bring an ACK (and with it on_writable()): retry on the
        // next tick, when on_timer() offers the space again.
        ++counters.tx_no_mbuf;
        if (t.tx_retry_deadline == kNever) t.tx_retry_deadline = now_ + kClockGranularity;
        break;
      }
      mem_note_alloc();
      m->data_off = 0;
      const size_t n = std::min<size_t>(mbuf_tailroom(m), want - done);
      t.snd_buf.push_back(m);
      t.snd_buf.append_to_tail(data.subspan(done, n));
      done += n;
    }
    schedule(t);
  }
  if (done < data.size()) {
    t.want_writable = true;
    if (share_limited) ++counters.mem_send_refused;
  }
  return done;
}

bool ShardCore::api_send_mbuf(Tcb& t, rte_mbuf* m) {
  Entry entry(*this);
  if (!m || m->pkt_len > api_send_space(t) || api_send_space(t) == 0) {
    t.want_writable = true;
    return false;
  }
  t.snd_buf.push_chain(m);
  schedule(t);
  return true;
}

void ShardCore::api_shutdown_write(Tcb& t) {
  Entry entry(*this);
  if (t.zombie || t.fin_queued) return;
  switch (t.state) {
    case TcpState::syn_sent:
      break;  // the FIN follows the handshake (establish() moves to FIN-WAIT-1)
    case TcpState::syn_received:
    case TcpState::established:
      set_state(t, TcpState::fin_wait_1);
      break;
    case TcpState::close_wait:
      set_state(t, TcpState::last_ack);
      break;
    default:
      return;
  }
  // RFC 9293 §3.10.4: the FIN is queued behind the data already sent or queued.
  t.fin_seq = t.data_end();
  t.fin_queued = true;
  schedule(t);
}

void ShardCore::api_close(Tcb& t) {
  Entry entry(*this);
  // No more callbacks, even when the connection already ended and on_closed() is still queued:
  // the application may free its handler as soon as close() returns.
  t.handler = nullptr;
  if (t.zombie || t.app_closed) return;
  t.app_closed = true;
  if (t.rcv_buf.bytes() > 0) {
    // Unread data: reset rather than pretend a graceful close (RFC 9293 §3.10.4, RFC 1122
    // 4.2.2.13; Linux does the same).
    reset_connection(t, CloseReason::aborted);
    return;
  }
  switch (t.state) {
    case TcpState::syn_sent:
      close_connection(t, CloseReason::aborted);  // "delete the TCB"
      return;
    case TcpState::fin_wait_2:
      t.fin_wait_2_deadline = now_ + config.fin_wait_2_timeout;
      make_orphan(t);
      schedule(t);
      return;
    default:
      break;
  }
  api_shutdown_write(t);
  // FIN-WAIT-1, CLOSING or LAST-ACK now (or still), with nobody to tell how it ends.
  if (t.state == TcpState::fin_wait_1 || t.state == TcpState::closing || t.state == TcpState::last_ack)
    make_orphan(t);
}

void ShardCore::api_set_nodelay(Tcb& t, bool on) {
  Entry entry(*this);
  t.nodelay = on;
  if (on && !t.zombie) schedule(t);  // sends what Nagle held back
}

void ShardCore::api_set_keepalive(Tcb& t, Duration idle, Duration interval, uint32_t probes) {
  Entry entry(*this);
  if (t.zombie) return;
  t.keepalive_idle = std::max(idle, Duration::zero());
  t.keepalive_interval = std::max(interval, Duration(std::chrono::milliseconds(1)));
  t.keepalive_probes = probes;
  start_keepalive(t, now_);
  schedule(t);
}

void ShardCore::start_keepalive(Tcb& t, TimePoint now) {
  t.keepalive_sent = 0;
  if (t.last_rx < now) t.last_rx = now;
  t.keepalive_deadline = t.keepalive_idle.count() > 0 ? t.last_rx + t.keepalive_idle : kNever;
}

void ShardCore::api_abort(Tcb& t) {
  Entry entry(*this);
  t.handler = nullptr;  // as in api_close: no callback may follow abort()
  if (t.zombie) return;
  t.app_closed = true;
  reset_connection(t, CloseReason::aborted);
}

}  // namespace dtcp::tcp
