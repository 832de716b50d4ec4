// What the sockets layer reads from, or sets on, the control block behind a Connection: TCP_INFO
// and the per-connection options. Runs on the owning lcore.
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>

#include "sockets/table.hpp"
#include "tcp/core.hpp"
#include "tcp/tcb.hpp"

namespace dtcp::sockets {

namespace {

// Linux's TCP_ESTABLISHED .. TCP_CLOSING numbering (include/net/tcp_states.h), which
// struct tcp_info's tcpi_state and `ss` use.
uint8_t linux_state(TcpState s) {
  switch (s) {
    case TcpState::established: return 1;
    case TcpState::syn_sent: return 2;
    case TcpState::syn_received: return 3;
    case TcpState::fin_wait_1: return 4;
    case TcpState::fin_wait_2: return 5;
    case TcpState::time_wait: return 6;
    case TcpState::closed: return 7;
    case TcpState::close_wait: return 8;
    case TcpState::last_ack: return 9;
    case TcpState::listen: return 10;
    case TcpState::closing: return 11;
  }
  return 7;
}

uint32_t usec(Duration d) { return static_cast<uint32_t>(std::clamp<int64_t>(d.count(), 0, UINT32_MAX)); }
uint32_t msec_since(TimePoint now, TimePoint then) {
  if (then == TimePoint{} || then > now) return 0;
  return static_cast<uint32_t>(std::min<int64_t>((now - then).count() / 1000, UINT32_MAX));
}

}  // namespace

void fill_tcp_info(Call& call, Socket& s, Connection* c) {
  auto& query = *static_cast<Query*>(call.out);
  tcp_info* info = &query.info;
  std::memset(info, 0, sizeof(*info));
  if (c == nullptr) {
    info->tcpi_state = s.phase.load() == Phase::listening ? 10 : 7;
    return;
  }
  const auto& t = static_cast<const tcp::Tcb&>(*c);
  const tcp::ShardCore& core = *t.core;
  const TimePoint now = core.now_for_api();
  info->tcpi_state = linux_state(t.state);
  // Linux's ca_state: Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4.
  switch (t.loss_state) {
    case tcp::Tcb::LossState::open: info->tcpi_ca_state = t.ecn_window_reduced() ? 2 : (t.dupacks > 0 ? 1 : 0); break;
    case tcp::Tcb::LossState::recovery: info->tcpi_ca_state = 3; break;
    case tcp::Tcb::LossState::loss: info->tcpi_ca_state = 4; break;
  }
  info->tcpi_retransmits = static_cast<uint8_t>(std::min<uint32_t>(t.retries, 255));
  info->tcpi_probes = static_cast<uint8_t>(std::min<uint32_t>(t.persist_unanswered + t.keepalive_sent, 255));
  info->tcpi_backoff = static_cast<uint8_t>(std::min<uint32_t>(std::max(t.retries, t.persist_backoff), 255));
  if (t.ts_ok) info->tcpi_options |= TCPI_OPT_TIMESTAMPS;
  if (t.sack_ok) info->tcpi_options |= TCPI_OPT_SACK;
  if (t.wscale_ok) info->tcpi_options |= TCPI_OPT_WSCALE;
  if (t.ecn_ok) info->tcpi_options |= TCPI_OPT_ECN;
  info->tcpi_snd_wscale = t.snd_wscale & 0xf;
  info->tcpi_rcv_wscale = t.rcv_wscale & 0xf;
  info->tcpi_rto = usec(t.rto);
  info->tcpi_ato = usec(core.config.delayed_ack);
  info->tcpi_snd_mss = t.eff_mss();
  info->tcpi_rcv_mss = t.rcv_mss;
  const uint32_t mss = std::max<uint32_t>(1, t.eff_mss());
  info->tcpi_unacked = (t.flight_size() + mss - 1) / mss;
  info->tcpi_sacked = (t.sent.sacked_bytes() + mss - 1) / mss;
  info->tcpi_lost = (t.sent.lost_bytes() + mss - 1) / mss;
  info->tcpi_retrans = (t.sent.retransmitted_bytes() + mss - 1) / mss;
  info->tcpi_last_data_sent = msec_since(now, t.last_data_sent);
  info->tcpi_last_ack_recv = msec_since(now, t.last_rx);
  info->tcpi_pmtu = t.path_mss != 0xffff ? t.path_mss + tcp::ip_header_len(t.tuple) + 20 : 0;
  info->tcpi_rcv_ssthresh = t.rcv_space;
  // Samples on a fast path can be 0 (the loop's `now` did not move, or a 0 ms timestamp
  // echo): once there is one, report at least 1 us, so 0 keeps meaning "no sample yet".
  info->tcpi_rtt = t.have_rtt ? std::max<uint32_t>(1, usec(t.srtt)) : 0;
  info->tcpi_rttvar = usec(t.rttvar);
  const uint32_t ssthresh = t.cc->ssthresh();
  info->tcpi_snd_ssthresh = ssthresh >= UINT32_MAX / 4 ? 0x7fffffff : ssthresh / mss;
  info->tcpi_snd_cwnd = t.cc->cwnd() / mss;
  info->tcpi_advmss = t.rcv_mss;
  info->tcpi_reordering = 3;
  info->tcpi_rcv_space = t.rcv_space;
  query.send_buffer = static_cast<uint32_t>(c->send_buffer());
  query.receive_buffer = static_cast<uint32_t>(c->receive_buffer());
  query.maxseg = t.eff_mss();
  query.connected = true;
  call.result = 0;
}

void apply_options(const Socket& s, Connection& c) {
  const auto& t = static_cast<const tcp::Tcb&>(c);
  const TcpConfig& config = t.core->config;
  c.set_nodelay(s.nodelay);
  if (s.keepalive) {
    const Duration idle = s.keepidle_s > 0 ? Duration(std::chrono::seconds(s.keepidle_s)) : config.keepalive_idle;
    const Duration interval = s.keepintvl_s > 0 ? Duration(std::chrono::seconds(s.keepintvl_s)) : config.keepalive_interval;
    c.set_keepalive(idle, interval, s.keepcnt > 0 ? static_cast<uint32_t>(s.keepcnt) : config.keepalive_probes);
  } else {
    c.set_keepalive(false);
  }
  if (s.sndbuf > 0) c.set_send_buffer(static_cast<size_t>(s.sndbuf));
  if (s.rcvbuf > 0) c.set_receive_buffer(static_cast<size_t>(s.rcvbuf));
}

}  // namespace dtcp::sockets
