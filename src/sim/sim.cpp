#include "sim/sim.hpp"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dpdk/impairment.hpp"
#include "sim/stack_host.hpp"
#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "tcp/shard.hpp"

namespace dtcp::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// splitmix64: the only source of randomness. Separate streams (scenario, link) so that changing
// how one is consumed does not reshuffle the other.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * (static_cast<double>(next() >> 11) * 0x1.0p-53); }
  template <class T, size_t N>
  T pick(const std::array<T, N>& values) {
    return values[below(N)];
  }

 private:
  uint64_t state_;
};

uint8_t pattern_byte(uint64_t seed, uint64_t offset) {
  uint64_t x = (offset + 1) * 0x9E3779B97F4A7C15ull ^ seed;
  x ^= x >> 29;
  return static_cast<uint8_t>(x * 0xBF58476D1CE4E5B9ull >> 56);
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
uint64_t fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

// ---------------------------------------------------------------------------------------------
// The scenario a seed selects.

// How one side of a connection ends it.
enum class Finish : uint8_t {
  shutdown_when_sent,      // FIN right after its last byte
  shutdown_after_peer_fin, // FIN only once the peer's FIN came (the peer closes first)
  close_after_peer_fin,    // close() once everything is read and the peer's FIN came (no on_closed)
  shutdown_at_time,        // FIN at a fixed virtual time, same for both sides: simultaneous close
  abort_midway,            // abort() after reading `abort_after` bytes (the peer sees a reset)
};
const char* to_string(Finish f) {
  switch (f) {
    case Finish::shutdown_when_sent: return "fin-when-sent";
    case Finish::shutdown_after_peer_fin: return "fin-after-peer";
    case Finish::close_after_peer_fin: return "close-after-peer";
    case Finish::shutdown_at_time: return "fin-at-time";
    case Finish::abort_midway: return "abort";
  }
  return "?";
}

struct SideSpec {
  uint64_t bytes = 0;  // what this side sends
  Finish finish = Finish::shutdown_when_sent;
  uint64_t abort_after = 0;       // abort_midway: bytes read first
  bool slow_reader = false;       // reads read_chunk bytes every read_interval
  uint32_t read_chunk = 0;
  Duration read_interval{0};
};

struct ConnSpec {
  int client_host = 0;       // the host that connects; the other listens on `port`
  uint16_t port = 0;
  bool closed_port = false;  // nobody listens: the connect is refused
  TimePoint start{};
  TimePoint shutdown_at{};   // Finish::shutdown_at_time
  SideSpec side[2];          // [0] client, [1] server
  uint64_t seed[2] = {0, 0}; // pattern seeds of what each sends
};

struct LinkSpec {
  ImpairmentConfig impairment;  // loss, duplication, reordering, CE (no delay: the link's)
  // Bit flips in IPv4 and IPv6 frames past the Ethernet header, which the IP, TCP and ICMPv6
  // checksums must catch (IPv6 has no header checksum: a flipped address misses us or fails
  // the TCP pseudo-header sum).
  // Not dpdk::Impairment's corruption, which also hits ARP: a real link's FCS drops corrupted
  // frames, and ARP has no checksum of its own, so a flipped sender MAC would poison the peer's
  // ARP cache for entry_timeout (300 s), a run that tests ARP ageing, not TCP.
  double corrupt = 0;
  Duration delay{0};
  Duration jitter{0};           // extra uniform delay per frame: reorders
  uint64_t rate_bps = 0;        // 0: unlimited
  uint32_t queue_frames = 0;    // tail-drop limit with a rate
};

struct Scenario {
  // Both hosts IPv6-only (RFC 4861 neighbour discovery instead of ARP, 40-byte headers), with
  // or without duplicate address detection at start.
  bool ipv6 = false;
  bool dad = false;
  TcpConfig tcp[2];
  uint16_t mtu[2] = {1500, 1500};
  LinkSpec link[2];  // [h]: frames host h sends
  std::vector<ConnSpec> conns;
  std::string text;
};

Scenario draw_scenario(uint64_t seed) {
  Rng rng(seed ^ 0x5ce7a210);
  Scenario s;
  char buf[512];
  std::string text;
  for (int h = 0; h < 2; h++) {
    TcpConfig& c = s.tcp[h];
    c = rng.chance(0.3) ? TcpConfig::linux_profile() : TcpConfig::dtcp_profile();
    c.max_connections = 32;
    c.max_time_wait = 32;
    c.max_listeners = 16;
    c.sent_records = rng.chance(0.15) ? 48 : 4096;
    c.sent_records_per_connection = rng.chance(0.15) ? 8 : 1024;
    s.mtu[h] = rng.pick(std::array<uint16_t, 4>{576, 1000, 1500, 1500});
    c.mss = rng.pick(std::array<uint16_t, 4>{536, 1000, 1460, 1460});
    c.mss = static_cast<uint16_t>(std::min<unsigned>(c.mss, s.mtu[h] - 40u));  // as the worker does
    c.recv_buffer = rng.pick(std::array<uint32_t, 5>{4096, 16384, 65536, 262144, 262144});
    c.recv_buffer_max = rng.chance(0.5) ? c.recv_buffer : c.recv_buffer * 4;
    c.send_buffer = rng.pick(std::array<uint32_t, 5>{4096, 16384, 65536, 262144, 262144});
    c.window_scaling = rng.chance(0.85);
    c.timestamps = rng.chance(0.85);
    c.sack = rng.chance(0.85);
    c.rack = rng.chance(0.8);
    c.ecn = rng.chance(0.25);
    c.congestion = rng.chance(0.3) ? CongestionAlgorithm::reno : CongestionAlgorithm::cubic;
    c.max_ooo_segments = rng.pick(std::array<uint32_t, 3>{8, 64, 1024});
    c.msl = rng.pick(std::array<Duration, 4>{milliseconds(100), milliseconds(500), seconds(1), seconds(4)});
    c.initial_rto = std::max(c.min_rto, Duration(milliseconds(rng.pick(std::array<int, 2>{200, 1000}))));
    // Backoff is exercised to 10 s; the profiles' 60 s and 120 s would let a few timeouts in a row
    // (Karn's rule keeps the backoff while every ACK covers a retransmission) outlast the run.
    c.max_rto = std::min(c.max_rto, Duration(seconds(rng.pick(std::array<int, 3>{1, 2, 10}))));
    c.keepalive_idle = seconds(2);
    c.keepalive_interval = milliseconds(500);
    c.keepalive_probes = 5;
  }
  const bool clean = rng.chance(0.2);
  for (int h = 0; h < 2; h++) {
    LinkSpec& l = s.link[h];
    ImpairmentConfig& i = l.impairment;
    if (!clean) {
      i.loss = rng.chance(0.7) ? rng.uniform(0, 0.05) : 0;
      i.duplicate = rng.chance(0.4) ? rng.uniform(0, 0.02) : 0;
      i.reorder = rng.chance(0.4) ? rng.uniform(0, 0.05) : 0;
      l.corrupt = rng.chance(0.3) ? rng.uniform(0, 0.01) : 0;
      i.ce = rng.chance(0.3) ? rng.uniform(0, 0.03) : 0;
    }
    i.seed = rng.next();
    l.delay = Duration(rng.pick(std::array<int64_t, 4>{10, 100, 1000, 5000}));
    l.jitter = rng.chance(0.4) ? Duration(static_cast<int64_t>(rng.below(static_cast<uint64_t>(l.delay.count()) + 1)))
                               : Duration(0);
    if (rng.chance(0.3)) {
      l.rate_bps = rng.pick(std::array<uint64_t, 3>{20'000'000, 200'000'000, 2'000'000'000});
      l.queue_frames = rng.pick(std::array<uint32_t, 3>{16, 64, 512});
    }
    std::snprintf(buf, sizeof buf, "link%d{loss=%.3f dup=%.3f reo=%.3f corrupt=%.3f ce=%.3f delay=%" PRId64
                  "us jitter=%" PRId64 "us rate=%" PRIu64 "M q=%u} ",
                  h, i.loss, i.duplicate, i.reorder, l.corrupt, i.ce, static_cast<int64_t>(l.delay.count()),
                  static_cast<int64_t>(l.jitter.count()), l.rate_bps / 1'000'000, l.queue_frames);
    text += buf;
  }
  // TIME-WAIT must outlast the peer's retransmission of its FIN (RFC 9293 §3.10.7.4: 2*MSL is
  // what lets the last ACK be repeated): a record that expires before the peer's RTO turns that
  // retransmission into a RST, correctly. Real MSLs (30 s and more) dwarf the usual RTOs; here
  // MSL is kept at least the peer's max_rto (a retransmitted FIN always lands inside 2*MSL, which
  // it restarts) and 5 x the minimum and initial RTOs and the worst round trip (delays, jitter,
  // full link queues).
  Duration worst_rtt{0};
  for (const LinkSpec& l : s.link) {
    worst_rtt += l.delay + l.jitter;
    if (l.rate_bps > 0) worst_rtt += Duration(static_cast<int64_t>(uint64_t{l.queue_frames} * 1538 * 8 * 1'000'000 / l.rate_bps));
  }
  const Duration msl_floor =
      5 * std::max({s.tcp[0].min_rto, s.tcp[1].min_rto, s.tcp[0].initial_rto, s.tcp[1].initial_rto, worst_rtt});
  for (int h = 0; h < 2; h++) s.tcp[h].msl = std::max({s.tcp[h].msl, msl_floor, s.tcp[1 - h].max_rto});
  std::string links = text;
  text.clear();
  for (int h = 0; h < 2; h++) {
    const TcpConfig& c = s.tcp[h];
    std::snprintf(buf, sizeof buf,
                  "host%d{%s mtu=%u mss=%u rbuf=%u/%u sbuf=%u ws=%d ts=%d sack=%d rack=%d ecn=%d cc=%s ooo=%u "
                  "sent=%u/%u msl=%" PRId64 "ms} ",
                  h, c.min_rto == milliseconds(200) ? "linux" : "dtcp", s.mtu[h], c.mss, c.recv_buffer,
                  c.recv_buffer_max, c.send_buffer, c.window_scaling, c.timestamps, c.sack, c.rack, c.ecn,
                  c.congestion == CongestionAlgorithm::reno ? "reno" : "cubic", c.max_ooo_segments, c.sent_records,
                  c.sent_records_per_connection, static_cast<int64_t>(c.msl.count() / 1000));
    text += buf;
  }
  text += links;
  const size_t n = 1 + rng.below(8);
  for (size_t k = 0; k < n; k++) {
    ConnSpec c;
    c.client_host = static_cast<int>(rng.below(2));
    c.port = static_cast<uint16_t>(1000 + k);
    c.closed_port = rng.chance(0.06);
    c.start = TimePoint(Duration(static_cast<int64_t>(rng.below(50'000))));
    c.shutdown_at = c.start + Duration(static_cast<int64_t>(rng.below(200'000)));
    c.seed[0] = rng.next();
    c.seed[1] = rng.next();
    // Log-uniform sizes up to 256 KiB, and sometimes nothing at all.
    auto size = [&]() -> uint64_t {
      if (rng.chance(0.15)) return 0;
      const uint64_t magnitude = uint64_t{1} << rng.below(19);  // one draw per statement: a fixed order
      return magnitude | rng.below(4096);
    };
    c.side[0].bytes = size();
    c.side[1].bytes = size();
    const unsigned mode = static_cast<unsigned>(rng.below(10));
    Finish f0 = Finish::shutdown_when_sent, f1 = Finish::shutdown_when_sent;
    switch (mode) {
      case 0: case 1: break;                                                     // both when sent
      case 2: f1 = Finish::shutdown_after_peer_fin; break;                       // client first
      case 3: f0 = Finish::shutdown_after_peer_fin; break;                       // server first
      case 4: f1 = Finish::close_after_peer_fin; break;
      case 5: f0 = Finish::close_after_peer_fin; break;
      case 6: f0 = f1 = Finish::shutdown_at_time; break;                         // simultaneous
      case 7: f0 = Finish::abort_midway; break;
      case 8: f1 = Finish::abort_midway; break;
      default: f0 = Finish::shutdown_at_time; f1 = Finish::shutdown_at_time; c.side[0].bytes = c.side[1].bytes = 0; break;
    }
    c.side[0].finish = f0;
    c.side[1].finish = f1;
    for (int side = 0; side < 2; side++) {
      SideSpec& sp = c.side[side];
      const uint64_t incoming = c.side[1 - side].bytes;
      if (sp.finish == Finish::abort_midway) sp.abort_after = incoming == 0 ? 0 : rng.below(incoming);
      sp.slow_reader = rng.chance(0.15);
      if (sp.slow_reader) {
        sp.read_chunk = static_cast<uint32_t>(rng.pick(std::array<uint64_t, 3>{100, 1000, 8000}));
        sp.read_interval = Duration(rng.pick(std::array<int64_t, 3>{100, 1000, 10'000}));
      }
    }
    std::snprintf(buf, sizeof buf, "conn%zu{h%d->h%d:%u%s up=%" PRIu64 " down=%" PRIu64 " %s/%s%s%s} ", k,
                  c.client_host, 1 - c.client_host, c.port, c.closed_port ? " closed-port" : "", c.side[0].bytes,
                  c.side[1].bytes, to_string(f0), to_string(f1), c.side[0].slow_reader ? " slow-client" : "",
                  c.side[1].slow_reader ? " slow-server" : "");
    text += buf;
    s.conns.push_back(c);
  }
  // Drawn last, so the rest of an IPv4 scenario is what the same seed gave before.
  s.ipv6 = rng.chance(0.3);
  s.dad = s.ipv6 && rng.chance(0.5);
  if (s.ipv6) {
    for (int h = 0; h < 2; h++) s.mtu[h] = std::max<uint16_t>(s.mtu[h], 1280);  // RFC 8200 §5
    text = std::string(s.dad ? "ipv6+dad " : "ipv6 ") + text;
  }
  s.text = text;
  return s;
}

// One line for a frame: Ethernet/IPv4/TCP decoded from raw offsets (trace output only).
std::string describe_frame(const rte_mbuf* m) {
  uint8_t b[80] = {};
  const uint32_t n = std::min<uint32_t>(m->pkt_len, sizeof b);
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, n, b));
  char buf[200];
  if (n < 14) return "runt";
  if (p[12] == 0x08 && p[13] == 0x06) return "arp";
  if (!(p[12] == 0x08 && p[13] == 0x00) || n < 34) return "non-ip";
  const uint32_t ihl = (p[14] & 0x0f) * 4u;
  const uint32_t total = (uint32_t{p[16]} << 8) | p[17];
  if (p[23] != 6 || n < 14 + ihl + 20) return "ip proto " + std::to_string(p[23]);
  const uint8_t* t = p + 14 + ihl;
  auto be16 = [](const uint8_t* q) { return static_cast<uint32_t>(q[0] << 8 | q[1]); };
  auto be32 = [](const uint8_t* q) { return uint32_t{q[0]} << 24 | uint32_t{q[1]} << 16 | uint32_t{q[2]} << 8 | q[3]; };
  const uint32_t doff = (t[12] >> 4) * 4u;
  const uint8_t f = t[13];
  std::string flags;
  if (f & 0x02) flags += 'S';
  if (f & 0x01) flags += 'F';
  if (f & 0x04) flags += 'R';
  if (f & 0x08) flags += 'P';
  if (f & 0x10) flags += '.';
  std::snprintf(buf, sizeof buf, "%u>%u %s seq %u ack %u win %u len %u", be16(t), be16(t + 2), flags.c_str(), be32(t + 4),
                be32(t + 8), be16(t + 14), total > ihl + doff ? total - ihl - doff : 0);
  std::string out = buf;
  // SACK blocks (RFC 2018 §3), the option the scoreboard lives by.
  for (uint32_t o = 20; o < doff && 14 + ihl + o < n;) {
    const uint8_t kind = t[o];
    if (kind == 0) break;
    if (kind == 1) { o++; continue; }
    if (14 + ihl + o + 1 >= n) break;
    const uint8_t len = t[o + 1];
    if (len < 2) break;
    if (kind == 5) {
      for (uint32_t b = o + 2; b + 8 <= o + len && 14 + ihl + b + 8 <= n; b += 8) {
        std::snprintf(buf, sizeof buf, " sack %u-%u", be32(t + b), be32(t + b + 4));
        out += buf;
      }
    }
    o += len;
  }
  return out;
}

void trace_state(void* ctx, const Endpoint& local, const Endpoint& remote, TcpState from, TcpState to);

// ---------------------------------------------------------------------------------------------
// The simulation.

class Sim;

// One side's application on one connection: sends its pattern, verifies the peer's, ends as its
// SideSpec says, and records how the stack ended it.
class AppEnd final : public ConnectionHandler {
 public:
  AppEnd(Sim& sim, const ConnSpec& spec, int side) : sim_(sim), spec_(spec), side_(side), my_(spec.side[side]) {}

  void attach(Connection& c) {
    conn_ = &c;
    pump();
    read_some();
  }
  void on_connected(Connection& c) override { attach(c); }
  void on_readable(Connection&) override { read_some(); }
  void on_writable(Connection&) override { pump(); }
  void on_peer_closed(Connection&) override {
    peer_closed_ = true;
    read_some();
    maybe_finish();
  }
  void on_closed(Connection&, CloseReason reason) override {
    // Bytes received before a normal close stay readable until this returns.
    drain_all();
    reason_ = reason;
    conn_ = nullptr;
  }

  // Called from the simulation loop: slow reads, timed shutdowns.
  void poll(TimePoint now);
  // The next time poll() has something to do.
  TimePoint next_wake() const;

  bool done() const { return reason_.has_value() || app_gone_; }
  // Empty when the outcome is what the scenario expects.
  std::string check(const AppEnd& peer) const;
  uint64_t received() const { return received_; }
  bool aborted() const { return aborted_; }
  std::optional<CloseReason> reason() const { return reason_; }
  const SideSpec& spec() const { return my_; }

 private:
  uint64_t incoming_total() const { return spec_.side[1 - side_].bytes; }
  uint64_t incoming_seed() const { return spec_.seed[1 - side_]; }
  void consume_bytes(const std::byte* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
      if (static_cast<uint8_t>(p[i]) != pattern_byte(incoming_seed(), received_ + i)) {
        if (mismatches_++ == 0) first_mismatch_ = received_ + i;
      }
    }
    received_ += n;
  }
  void read_some();
  // Finish::abort_midway: abort once abort_after bytes have arrived.
  bool abort_due() const { return my_.finish == Finish::abort_midway && conn_ != nullptr && received_ >= my_.abort_after; }
  void abort_now() {
    aborted_ = app_gone_ = true;
    Connection* c = conn_;
    conn_ = nullptr;
    c->abort();
  }
  void drain_all() {
    std::byte buf[4096];
    while (conn_ != nullptr) {
      const size_t n = conn_->read(buf);
      if (n == 0) break;
      consume_bytes(buf, n);
    }
  }
  void pump();
  void maybe_finish();
  void shut() {
    if (write_shut_ || conn_ == nullptr) return;
    write_shut_ = true;
    conn_->shutdown_write();
  }

  Sim& sim_;
  const ConnSpec& spec_;
  int side_;
  const SideSpec& my_;
  Connection* conn_ = nullptr;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  uint64_t mismatches_ = 0;
  uint64_t first_mismatch_ = 0;
  bool peer_closed_ = false;
  bool write_shut_ = false;
  bool app_gone_ = false;  // close() or abort() called: no callbacks follow
  bool aborted_ = false;
  TimePoint next_read_{};
  std::optional<CloseReason> reason_;
};

class Listener final : public ListenHandler {
 public:
  explicit Listener(AppEnd& endpoint) : endpoint_(endpoint) {}
  ConnectionHandler* on_accept(Connection& c) override {
    if (accepted_++ > 0) return nullptr;  // one connection per port in these scenarios
    endpoint_.attach(c);
    return &endpoint_;
  }
  int accepted_ = 0;

 private:
  AppEnd& endpoint_;
};

// One frame on the link.
struct InFlight {
  TimePoint due;
  uint64_t order;
  rte_mbuf* frame;
  int to;
};

// A whole stack as a production lcore wires it (src/dpdk/worker.cpp's QueueStack): the
// Interface's TCP goes to the shard, the shard's segments to the Interface, the Interface's
// frames through the transmit impairment to the link.
class Host final : public StackHost {
 public:
  Host(Sim& sim, int id, const Scenario& s, rte_mempool* pool, uint64_t seed);

  void transmit(rte_mbuf* frame) override;

  static wire::Ipv4Addr address4_of(int id) { return wire::Ipv4Addr::from_octets(198, 18, 0, static_cast<uint8_t>(1 + id)); }
  static wire::Ipv6Addr address6_of(int id) { return wire::Ipv6Addr::parse("2001:db8::1")->plus(static_cast<uint64_t>(id)); }
  static wire::IpAddr address_of(int id, bool ipv6) { return ipv6 ? wire::IpAddr(address6_of(id)) : address4_of(id); }

  int id_;
  Sim& sim_;
  dpdk::Impairment tx_impairment_;
};

class Sim {
 public:
  Sim(uint64_t seed, rte_mempool* pool, const Options& options)
      : seed_(seed), pool_(pool), options_(options), scenario_(draw_scenario(seed)), link_rng_(seed ^ 0x11f3) {}

  Result run();

  TimePoint now() const { return now_; }
  void on_transmit(int from, rte_mbuf* frame);  // after the transmit impairment

  uint64_t trace_hash_ = kFnvOffset;
  uint64_t frames_ = 0;
  uint64_t link_dropped_ = 0;
  uint64_t chained_ = 0;
  uint64_t corrupted_ = 0;

 private:
  void deliver_due();
  std::string check_resources() const;
  std::string dump() const;

  uint64_t seed_;
  rte_mempool* pool_;
  Options options_;
  Scenario scenario_;
  Rng link_rng_;
  TimePoint now_{};
  uint64_t order_ = 0;
  std::vector<InFlight> in_flight_;  // kept sorted by (due, order)
  TimePoint link_free_[2] = {};      // serialization with a rate
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<AppEnd>> endpoints_;  // [2k] client, [2k+1] server of conn k
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<bool> connect_failed_;
  std::vector<bool> started_;
  friend class Host;
  friend void trace_state(void*, const Endpoint&, const Endpoint&, TcpState, TcpState);
};

Host::Host(Sim& sim, int id, const Scenario& s, rte_mempool* pool, uint64_t seed)
    : StackHost(stack::InterfaceSetup{.mac = wire::MacAddr{{0x02, 0, 0, 0, 0, static_cast<uint8_t>(1 + id)}},
                                      .address = s.ipv6 ? wire::Ipv4Addr{} : address4_of(id),
                                      .prefix_len = 24,
                                      .mtu = s.mtu[id],
                                      .arp = ArpConfig{.request_interval = milliseconds(100)},
                                      .pool = pool,
                                      .addresses6 = s.ipv6 ? std::vector<Ipv6AddressRange>{{address6_of(id), 1, 64}}
                                                           : std::vector<Ipv6AddressRange>{},
                                      .nd = NeighborConfig{.retrans_timer = milliseconds(100)},
                                      .dad_transmits = static_cast<uint8_t>(s.dad ? 1 : 0)},
                s.tcp[id],
                tcp::ShardEnv{.pool = pool,
                              .local_addr = s.ipv6 ? wire::IpAddr(wire::Ipv4Addr{}) : wire::IpAddr(address4_of(id)),
                              .shard_id = static_cast<uint32_t>(id),
                              .secret_seed = seed * 2 + static_cast<uint64_t>(id),
                              .state_tracer = sim.options_.trace ? &trace_state : nullptr,
                              .state_tracer_ctx = this,
                              .local_addr6 = s.ipv6 ? wire::IpAddr(address6_of(id)) : wire::IpAddr{}}),
      id_(id),
      sim_(sim),
      tx_impairment_(s.link[id].impairment, pool, counters_) {}

void Host::transmit(rte_mbuf* frame) {
  // The trace: what each stack put on the wire, when, before any impairment.
  const int64_t t = sim_.now().time_since_epoch().count();
  uint64_t h = fnv(sim_.trace_hash_, &t, sizeof t);
  h = fnv(h, &id_, sizeof id_);
  for (const rte_mbuf* seg = frame; seg != nullptr; seg = seg->next) h = fnv(h, rte_pktmbuf_mtod(seg, const void*), seg->data_len);
  sim_.trace_hash_ = h;
  sim_.frames_++;
  if (sim_.options_.trace) {
    std::printf("%10.3f ms h%d sends     %s\n", static_cast<double>(t) / 1000, id_, describe_frame(frame).c_str());
  }
  if (tx_impairment_.enabled()) {
    tx_impairment_.process(frame, sim_.now(), [this](rte_mbuf* m) { sim_.on_transmit(id_, m); });
  } else {
    sim_.on_transmit(id_, frame);
  }
}

void Sim::on_transmit(int from, rte_mbuf* frame) {
  const LinkSpec& l = scenario_.link[from];
  // A device sends a chain as one frame and the receiver gets it in one buffer.
  if (frame->nb_segs > 1) {
    chained_++;
    if (rte_pktmbuf_linearize(frame) != 0) {
      link_dropped_++;
      rte_pktmbuf_free(frame);
      return;
    }
  }
  if (l.corrupt > 0 && link_rng_.chance(l.corrupt) && frame->data_len > 14) {
    auto* p = rte_pktmbuf_mtod(frame, uint8_t*);
    if ((p[12] == 0x08 && p[13] == 0x00) || (p[12] == 0x86 && p[13] == 0xdd)) {
      const uint64_t at = 14 + link_rng_.below(frame->data_len - 14u);
      p[at] ^= static_cast<uint8_t>(1u << link_rng_.below(8));
      corrupted_++;
    }
  }
  TimePoint leave = now_;
  if (l.rate_bps > 0) {
    size_t queued = 0;
    for (const InFlight& f : in_flight_) queued += f.to != from ? 1 : 0;
    if (queued >= l.queue_frames) {  // tail drop, as a full router queue
      link_dropped_++;
      rte_pktmbuf_free(frame);
      return;
    }
    const Duration serialization(static_cast<int64_t>((uint64_t{frame->pkt_len} + 24) * 8 * 1'000'000 / l.rate_bps));
    leave = std::max(leave, link_free_[from]) + serialization;
    link_free_[from] = leave;
  }
  const int64_t jitter = l.jitter.count() > 0 ? static_cast<int64_t>(link_rng_.below(static_cast<uint64_t>(l.jitter.count()) + 1)) : 0;
  InFlight f{leave + l.delay + Duration(jitter), order_++, frame, 1 - from};
  auto at = std::upper_bound(in_flight_.begin(), in_flight_.end(), f, [](const InFlight& a, const InFlight& b) {
    return a.due != b.due ? a.due < b.due : a.order < b.order;
  });
  in_flight_.insert(at, f);
}

void Sim::deliver_due() {
  while (!in_flight_.empty() && in_flight_.front().due <= now_) {
    const InFlight f = in_flight_.front();
    in_flight_.erase(in_flight_.begin());
    if (options_.trace) {
      std::printf("%10.3f ms h%d receives  %s\n", static_cast<double>(now_.time_since_epoch().count()) / 1000, f.to,
                  describe_frame(f.frame).c_str());
    }
    hosts_[static_cast<size_t>(f.to)]->interface_.input(f.frame, now_);
  }
}

// ---- Endpoint ----

void AppEnd::read_some() {
  if (conn_ == nullptr) return;
  if (my_.slow_reader) return;  // poll() reads on its schedule
  drain_all();
  if (!app_gone_ && abort_due()) return abort_now();
  maybe_finish();
}

void AppEnd::pump() {
  if (conn_ == nullptr || write_shut_) return;
  std::byte chunk[16384];
  while (sent_ < my_.bytes) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof chunk, my_.bytes - sent_));
    for (size_t i = 0; i < n; i++) chunk[i] = std::byte{pattern_byte(spec_.seed[side_], sent_ + i)};
    const size_t took = conn_->send(std::span<const std::byte>(chunk, n));
    sent_ += took;
    if (took < n) return;
  }
  maybe_finish();
}

void AppEnd::maybe_finish() {
  if (conn_ == nullptr || app_gone_ || sent_ < my_.bytes) return;
  switch (my_.finish) {
    case Finish::shutdown_when_sent: shut(); break;
    case Finish::shutdown_after_peer_fin:
      if (peer_closed_) shut();
      break;
    case Finish::close_after_peer_fin:
      if (peer_closed_ && conn_->readable() == 0) {
        app_gone_ = true;
        Connection* c = conn_;
        conn_ = nullptr;
        c->close();
      }
      break;
    case Finish::shutdown_at_time:
      if (sim_.now() >= spec_.shutdown_at) shut();
      break;
    case Finish::abort_midway:
      // After its bytes are sent it still waits to read abort_after bytes; if the peer sends
      // fewer (its FIN came first), it closes normally.
      if (peer_closed_) shut();
      break;
  }
}

void AppEnd::poll(TimePoint now) {
  if (conn_ == nullptr) return;
  if (my_.slow_reader && now >= next_read_) {
    next_read_ = now + my_.read_interval;
    std::byte buf[8192];
    size_t budget = my_.read_chunk;
    while (budget > 0 && conn_ != nullptr) {
      const size_t n = conn_->read(std::span<std::byte>(buf, std::min(budget, sizeof buf)));
      if (n == 0) break;
      consume_bytes(buf, n);
      budget -= n;
    }
    if (abort_due()) return abort_now();
  }
  maybe_finish();
}

TimePoint AppEnd::next_wake() const {
  if (conn_ == nullptr) return TimePoint::max();
  TimePoint t = TimePoint::max();
  if (my_.slow_reader) t = next_read_;
  if (my_.finish == Finish::shutdown_at_time && !write_shut_ && sent_ >= my_.bytes) t = std::min(t, spec_.shutdown_at);
  return t;
}

std::string AppEnd::check(const AppEnd& peer) const {
  const char* who = side_ == 0 ? "client" : "server";
  char buf[256];
  if (mismatches_ > 0) {
    std::snprintf(buf, sizeof buf, "%s: %" PRIu64 " bytes differ from the pattern, first at offset %" PRIu64, who,
                  mismatches_, first_mismatch_);
    return buf;
  }
  if (received_ > incoming_total()) {
    std::snprintf(buf, sizeof buf, "%s: received %" PRIu64 " bytes, more than the %" PRIu64 " sent", who, received_,
                  incoming_total());
    return buf;
  }
  if (aborted_) return "";
  // Which endings are right: the peer aborted -> reset (or normal, if everything was done before
  // the abort); otherwise every byte arrived and the close was normal.
  const bool peer_aborts = spec_.side[1 - side_].finish == Finish::abort_midway;
  if (peer_aborts) {
    if (reason_ && *reason_ != CloseReason::reset_by_peer && *reason_ != CloseReason::normal) {
      std::snprintf(buf, sizeof buf, "%s: peer aborted, but the connection ended %s", who, dtcp::to_string(*reason_));
      return buf;
    }
    if (reason_ && *reason_ == CloseReason::normal && !peer.aborted()) {
      // The peer never got to abort (it read fewer bytes than its threshold): a plain close.
      if (received_ != incoming_total()) {
        std::snprintf(buf, sizeof buf, "%s: closed normally after %" PRIu64 " of %" PRIu64 " bytes", who, received_,
                      incoming_total());
        return buf;
      }
    }
    return "";
  }
  if (received_ != incoming_total()) {
    std::snprintf(buf, sizeof buf, "%s: received %" PRIu64 " of %" PRIu64 " bytes (%s)", who, received_,
                  incoming_total(), reason_ ? dtcp::to_string(*reason_) : "still open");
    return buf;
  }
  if (reason_ && *reason_ != CloseReason::normal) {
    std::snprintf(buf, sizeof buf, "%s: ended %s, expected normal", who, dtcp::to_string(*reason_));
    return buf;
  }
  return "";
}

// ---- the loop ----

std::string Sim::check_resources() const {
  std::string out;
  char buf[256];
  for (const auto& h : hosts_) {
    const tcp::ShardResources r = h->shard_.resources();
    if (!r.all_returned()) {
      std::snprintf(buf, sizeof buf,
                    "host%d holds tcbs=%zu (in table %zu) time_wait=%zu timers=%zu sent_records=%zu events=%zu; ",
                    h->id_, r.tcbs_in_use, r.tcbs_in_table, r.time_wait_records, r.timers_armed,
                    r.sent_records_in_use, r.events_pending);
      out += buf;
    }
    if (h->tx_impairment_.holding() > 0) {
      std::snprintf(buf, sizeof buf, "host%d impairment holds %zu frames; ", h->id_, h->tx_impairment_.holding());
      out += buf;
    }
  }
  if (!in_flight_.empty()) {
    std::snprintf(buf, sizeof buf, "link holds %zu frames; ", in_flight_.size());
    out += buf;
  }
  unsigned avail = rte_mempool_avail_count(pool_);
  for (const auto& h : hosts_) avail += h->shard_.mbufs_stashed();  // free, kept by the shard
  if (avail != pool_->size) {
    std::snprintf(buf, sizeof buf, "%u mbufs not back in the pool (%u of %u); ", pool_->size - avail, avail,
                  pool_->size);
    out += buf;
  }
  return out;
}

std::string Sim::dump() const {
  std::string out;
  char buf[512];
  for (const auto& h : hosts_) {
    h->shard_.for_each_connection([&](const tcp::ConnectionInfo& c) {
      std::snprintf(buf, sizeof buf,
                    "\n  host%d %s %s:%u-%s:%u una=%u nxt=%u max=%u rcv_nxt=%u snd_wnd=%u rcv_wnd=%u cwnd=%u sq=%u "
                    "rq=%u ooo=%u rto=%" PRId64 "us",
                    h->id_, c.state_name, c.local.addr.to_string().c_str(), c.local.port,
                    c.remote.addr.to_string().c_str(), c.remote.port, c.snd_una, c.snd_nxt, c.snd_max, c.rcv_nxt,
                    c.snd_wnd, c.rcv_wnd, c.cwnd, c.send_queued, c.recv_queued, c.ooo_segments,
                    static_cast<int64_t>(c.rto.count()));
      out += buf;
    });
  }
  for (size_t k = 0; k < scenario_.conns.size(); k++) {
    std::snprintf(buf, sizeof buf, "\n  conn%zu: client read %" PRIu64 " done=%d, server read %" PRIu64 " done=%d", k,
                  endpoints_[2 * k]->received(), endpoints_[2 * k]->done(), endpoints_[2 * k + 1]->received(),
                  endpoints_[2 * k + 1]->done());
    out += buf;
  }
  return out;
}

Result Sim::run() {
  Result result;
  result.scenario = scenario_.text;
  if (options_.verbose) std::printf("seed %" PRIu64 ": %s\n", seed_, scenario_.text.c_str());
  for (int h = 0; h < 2; h++) hosts_.push_back(std::make_unique<Host>(*this, h, scenario_, pool_, seed_));
  const size_t n = scenario_.conns.size();
  for (size_t k = 0; k < n; k++) {
    const ConnSpec& c = scenario_.conns[k];
    endpoints_.push_back(std::make_unique<AppEnd>(*this, c, 0));
    endpoints_.push_back(std::make_unique<AppEnd>(*this, c, 1));
    listeners_.push_back(std::make_unique<Listener>(*endpoints_.back()));
    if (!c.closed_port) {
      ListenOptions lo;
      lo.keepalive = c.side[0].finish == Finish::abort_midway;  // the server must notice a lost RST
      if (!hosts_[static_cast<size_t>(1 - c.client_host)]->shard_.listen(c.port, *listeners_.back(), lo).ok()) {
        result.failure = "listen failed";
        return result;
      }
    }
  }
  connect_failed_.assign(n, false);
  started_.assign(n, false);
  for (auto& h : hosts_) {
    if (scenario_.ipv6) {
      h->interface_.start_ipv6();
    } else {
      h->interface_.send_gratuitous_arp();
    }
  }

  // Bounded virtual time: the longest legitimate run (a slow reader pacing 256 KiB at 100 bytes
  // per 10 ms) stays far below it; past it the run has hung.
  const TimePoint limit = TimePoint(seconds(900));
  std::optional<TimePoint> all_done_at;
  uint64_t iterations = 0;
  std::string failure;
  while (true) {
    if (++iterations > 20'000'000) {
      failure = "event loop spun 20M iterations";
      break;
    }
    deliver_due();
    for (auto& h : hosts_) {
      h->tx_impairment_.release(now_, [&](rte_mbuf* m) { on_transmit(h->id_, m); });
      h->shard_.advance(now_);
      h->interface_.advance(now_);
    }
    for (size_t k = 0; k < n; k++) {
      const ConnSpec& c = scenario_.conns[k];
      if (!started_[k] && now_ >= c.start) {
        started_[k] = true;
        ConnectOptions co;
        co.keepalive = c.side[1].finish == Finish::abort_midway;
        const ConnectResult r = hosts_[static_cast<size_t>(c.client_host)]->shard_.connect(
            Host::address_of(1 - c.client_host, scenario_.ipv6), c.port, *endpoints_[2 * k], co, now_);
        if (!r.ok()) {
          failure = std::string("connect failed: ") + dtcp::to_string(r.error);
          break;
        }
      }
      endpoints_[2 * k]->poll(now_);
      endpoints_[2 * k + 1]->poll(now_);
    }
    if (!failure.empty()) break;
    bool done = true;
    for (size_t k = 0; k < n && done; k++) {
      if (!started_[k] || !endpoints_[2 * k]->done()) done = false;
      // A refused connect has no server side.
      if (!scenario_.conns[k].closed_port && !endpoints_[2 * k + 1]->done() &&
          !(endpoints_[2 * k]->done() && listeners_[k]->accepted_ == 0 && endpoints_[2 * k]->aborted()))
        done = false;
    }
    if (done && !all_done_at) all_done_at = now_;
    if (all_done_at) {
      // Quiesce: orphans finish their close, TIME-WAIT expires (2*MSL), the link drains.
      bool idle = in_flight_.empty();
      for (auto& h : hosts_) idle = idle && h->shard_.resources().all_returned() && h->tx_impairment_.holding() == 0;
      if (idle) break;
    }
    if (now_ >= limit) {
      failure = all_done_at ? "resources still held at the virtual time limit" : "hang: not finished by the virtual time limit";
      break;
    }
    TimePoint next = now_ + milliseconds(10);  // ARP housekeeping granularity
    if (!in_flight_.empty()) next = std::min(next, in_flight_.front().due);
    for (auto& h : hosts_) {
      next = std::min(next, h->shard_.next_deadline());
      next = std::min(next, h->tx_impairment_.next_release());
    }
    for (size_t k = 0; k < n; k++) {
      if (!started_[k]) next = std::min(next, scenario_.conns[k].start);
      next = std::min(next, endpoints_[2 * k]->next_wake());
      next = std::min(next, endpoints_[2 * k + 1]->next_wake());
    }
    now_ = std::max(next, now_ + Duration(1));
  }

  // Outcomes.
  if (failure.empty()) {
    for (size_t k = 0; k < n && failure.empty(); k++) {
      const ConnSpec& c = scenario_.conns[k];
      const AppEnd& client = *endpoints_[2 * k];
      const AppEnd& server = *endpoints_[2 * k + 1];
      std::string e;
      if (c.closed_port) {
        // RFC 9293 §3.10.7.1: a SYN to a port nobody listens on is answered with RST.
        if (client.reason() != CloseReason::refused) {
          e = std::string("client: connect to a closed port ended ") +
              (client.reason() ? dtcp::to_string(*client.reason()) : "still open") + ", expected refused";
        } else if (client.received() != 0) {
          e = "client: data from a closed port";
        }
      } else {
        e = client.check(server);
        if (e.empty()) e = server.check(client);
      }
      if (!e.empty()) failure = "conn" + std::to_string(k) + " " + e;
    }
  }
  if (failure.empty()) {
    const std::string leaks = check_resources();
    if (!leaks.empty()) failure = "resources not returned: " + leaks;
  }
  if (!failure.empty()) failure += dump();
  if (options_.verbose) {
    for (const auto& h : hosts_) {
      std::printf("host%d:", h->id_);
#define DTCP_SIM_PRINT(name, description) \
  if (h->shard_.counters().name) std::printf(" tcp_" #name "=%" PRIu64, static_cast<uint64_t>(h->shard_.counters().name));
      DTCP_TCP_COUNTERS(DTCP_SIM_PRINT)
#undef DTCP_SIM_PRINT
#define DTCP_SIM_PRINT(name, description) \
  if (h->counters_.name) std::printf(" " #name "=%" PRIu64, static_cast<uint64_t>(h->counters_.name));
      DTCP_NET_COUNTERS(DTCP_SIM_PRINT)
#undef DTCP_SIM_PRINT
      std::printf("\n");
    }
    std::printf("link: dropped=%" PRIu64 " corrupted=%" PRIu64 " chained=%" PRIu64 " frames=%" PRIu64
                " virtual_ms=%" PRId64 "\n",
                link_dropped_, corrupted_, chained_, frames_, static_cast<int64_t>(now_.time_since_epoch().count() / 1000));
  }
  // Tear down: whatever is left goes back (a failed run must not poison the next seed's pool).
  for (InFlight& f : in_flight_) rte_pktmbuf_free(f.frame);
  in_flight_.clear();
  for (auto& h : hosts_) h->tx_impairment_.discard();
  hosts_.clear();
  result.ok = failure.empty();
  result.failure = failure;
  result.trace_hash = trace_hash_;
  result.frames = frames_;
  result.virtual_us = now_.time_since_epoch().count();
  return result;
}

void trace_state(void* ctx, const Endpoint& local, const Endpoint& remote, TcpState from, TcpState to) {
  const Host& h = *static_cast<const Host*>(ctx);
  std::printf("%10.3f ms h%d state     %u-%s:%u %s>%s\n",
              static_cast<double>(h.sim_.now().time_since_epoch().count()) / 1000, h.id_, local.port,
              remote.addr.to_string().c_str(), remote.port, dtcp::to_string(from), dtcp::to_string(to));
}

}  // namespace

Result run(uint64_t seed, rte_mempool* pool, const Options& options) {
  Sim sim(seed, pool, options);
  return sim.run();
}

}  // namespace dtcp::sim
