// ICMP errors for TCP: destination unreachable and time exceeded, delivered to the connection
// whose segment they quote (RFC 1122 4.2.3.9) once RFC 5927's checks pass, and "fragmentation
// needed" lowering the path MSS (RFC 1191).
//
// What an attacker can do with a forged ICMP is bounded the way RFC 5927 recommends: the quoted
// 4-tuple must be a connection and the quoted sequence number must be in flight, errors about a
// synchronized connection never end it (RFC 5461 §4, RFC 5927 §4.2), and a path MTU is never
// raised by ICMP nor lowered below [tcp] min_pmtu (RFC 5927 §7.2, Linux's min_pmtu).
#include <algorithm>
#include <array>

#include "tcp/core.hpp"

namespace dtcp::tcp {

using Flag = SentSegment::Flag;

namespace {

constexpr uint32_t kTcpHeader = 20;        // without options (RFC 9293 §3.7.1)
constexpr uint32_t kIpv6MinimumMtu = 1280;  // RFC 8200 §5

// RFC 1191 §7: the MTU plateaus, for a router that reports no next-hop MTU (§5): the largest one
// below the size of the datagram it could not forward.
uint32_t plateau_below(uint32_t size) {
  constexpr std::array<uint32_t, 11> kPlateaus{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};
  for (uint32_t p : kPlateaus)
    if (p < size) return p;
  return kPlateaus.back();
}

}  // namespace

void ShardCore::icmp_error(const wire::IcmpTcpError& e, TimePoint now) {
  Entry entry(*this, now);
  const FourTuple tuple{e.local, e.remote, e.local_port, e.remote_port};
  Tcb* t = table_.find(tuple);
  if (t == nullptr) {
    // TIME-WAIT records and listeners included: nothing of ours is in flight there.
    ++counters.icmp_rejected_no_connection;
    return;
  }
  // RFC 5927 §4.1 (Linux's tcp_v4_err does the same): only a sequence number in flight can be
  // the first byte of a segment we sent and have not had acknowledged; anything else is stale or
  // forged. In SYN-SENT and SYN-RECEIVED that is the ISS alone.
  const SeqNum seq(e.seq);
  if (!(t->snd_una <= seq && seq < t->snd_max)) {
    ++counters.icmp_rejected_out_of_window;
    return;
  }
  // The network layer classified the message (wire::icmp_error_kind() for IPv4, the ICMPv6
  // input for IPv6). RFC 1122 4.2.3.9: net, host and source-route unreachable are soft; so are
  // the codes RFC 1812 §5.2.7.1 added (unknown net or host, administratively prohibited, ...),
  // as RFC 5461 §4 recommends for every code once a connection is established.
  switch (e.kind) {
    case wire::IcmpErrorKind::packet_too_big:
      return pmtu_reduce(*t, e);
    case wire::IcmpErrorKind::hard_port:
    case wire::IcmpErrorKind::hard_protocol:
      return icmp_hard_error(*t, e);
    case wire::IcmpErrorKind::soft:
      return icmp_soft_error(*t, e);
    case wire::IcmpErrorKind::other:
      break;
  }
  ++counters.icmp_rejected_other;
}

// RFC 1122 4.2.3.9: a soft error must not abort the connection; it is remembered and reported if
// the connection then gives up. dtcp reports it as the CloseReason of that timeout (unreachable
// instead of timed_out). Linux differs in SYN-SENT, where it aborts on any of these at once.
// FIXME: RFC 6069's revert of the RTO backoff on net/host unreachable is not done.
void ShardCore::icmp_soft_error(Tcb& t, const wire::IcmpTcpError& e) {
  t.soft_error_type = e.type;
  t.soft_error_code = e.code;
  ++counters.icmp_soft_errors;
}

// Protocol and port unreachable are hard errors (RFC 1122 4.2.3.9) but, following RFC 5461 §4 and
// Linux, they end a connection only during its handshake; in a synchronized state they are kept
// as a soft error, so a forged ICMP cannot reset an established connection (RFC 5927 §4.2).
void ShardCore::icmp_hard_error(Tcb& t, const wire::IcmpTcpError& e) {
  const bool handshake = t.state == TcpState::syn_sent || (t.state == TcpState::syn_received && t.syn_unacked());
  if (!handshake) return icmp_soft_error(t, e);
  ++counters.icmp_hard_errors;
  // A passive connection has no handler yet: its half-open slot goes back to the listener, as
  // Linux drops the request (tcp_req_err), which also helps a listener flooded with SYNs from
  // sources that do not exist. An active open fails with ECONNREFUSED's equivalent for port
  // unreachable, as Linux reports it.
  const bool port = e.kind == wire::IcmpErrorKind::hard_port;
  close_connection(t, port ? CloseReason::refused : CloseReason::unreachable);
}

// RFC 1191 §4-§6.2: "fragmentation needed and DF set" lowers the path MTU to the next-hop MTU the
// router reports, or (§5) to the plateau below the quoted datagram's size when it reports none;
// never below [tcp] min_pmtu and never upwards. The MSS follows at once and
// what is in flight is sent again in segments of the new size; the congestion window stays as it
// is (as Linux's tcp_simple_retransmit: the segments were lost to the MTU, not to congestion).
// FIXME: at the floor dtcp still sets DF (Linux clears it there), so a path narrower than
// min_pmtu stays a black hole.
// IPv6 (RFC 8201 §4): the same, with the IPv6 header's 40 bytes, and a Packet Too Big reporting
// less than the IPv6 minimum MTU of 1280 is taken as 1280 (RFC 8200 §5), not as min_pmtu.
void ShardCore::pmtu_reduce(Tcb& t, const wire::IcmpTcpError& e) {
  const uint32_t headers = ip_header_len(t.tuple) + kTcpHeader;
  const uint32_t floor = t.tuple.is_v4() ? config.min_pmtu : kIpv6MinimumMtu;
  const uint32_t current_mss =
      t.state == TcpState::syn_sent ? std::min<uint32_t>(t.path_mss, local_mss(t)) : t.snd_mss;
  uint32_t mtu = e.next_hop_mtu;
  if (mtu == 0) {
    // A router from before RFC 1191: guess from the size it refused (our own MTU when the quote's
    // length is nonsense). A reported MTU is taken as it is, as Linux does, and ignored below
    // when it does not lower ours.
    mtu = plateau_below(e.quoted_length >= 68 ? e.quoted_length : current_mss + headers);
  }
  if (mtu < floor) {
    ++counters.icmp_pmtu_floored;
    mtu = floor;
  }
  const uint32_t mss = mtu - headers;
  if (mss >= current_mss) {
    ++counters.icmp_rejected_pmtu_not_lower;
    return;
  }
  ++counters.icmp_pmtu_reductions;
  t.path_mss = static_cast<uint16_t>(mss);
  t.snd_mss = static_cast<uint16_t>(std::min<uint32_t>(t.snd_mss, mss));
  // The SYN and SYN-ACK carry no data and are resent whole by their timer.
  if (!t.syn_unacked()) pmtu_resend(t);
}

// Linux's tcp_simple_retransmit: what was sent larger than the new MSS did not get through and is
// sent again, re-segmented; nothing else changes. With SACK, records longer than the new MSS are
// marked lost and the loss state resends them (a record may be a burst of several smaller
// segments: those go again too, harmlessly); the loss state, as Linux's CA_Loss entered here,
// keeps cwnd and ssthresh and only stops a duplicate ACK from starting fast recovery. Without
// SACK, go-back-N from SND.UNA, with `recover` at SND.MAX so the duplicates that the segments
// which did arrive provoke do not start NewReno recovery either (RFC 6582 §3.2 step 1).
void ShardCore::pmtu_resend(Tcb& t) {
  if (t.snd_una == t.snd_max) return;
  t.rtt_timing = false;  // Karn: what is resent gives no sample
  if (t.sack_ok && !t.sent.empty()) {
    const uint32_t mss = t.eff_mss();
    bool marked = false;
    for (SentSegment& s : t.sent.by_seq()) {
      if (s.has(Flag::kSacked)) continue;
      const bool fin = t.fin_sent() && s.end == t.fin_seq + SeqLen(1);
      if (s.len() - (fin ? 1u : 0u) <= mss) continue;
      t.sent.mark_lost(s);
      marked = true;
    }
    if (!marked) return;
    t.retransmit_hint = t.snd_una;
    if (t.loss_state == Tcb::LossState::open) {
      t.loss_state = Tcb::LossState::loss;
      t.recover = t.snd_max;
    }
  } else {
    t.snd_nxt = t.snd_una;
    t.recover = t.snd_max;
    t.dupacks = 0;
  }
  schedule(t);  // drain()'s output() sends
}

}  // namespace dtcp::tcp
