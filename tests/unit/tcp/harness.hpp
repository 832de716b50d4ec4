// Test harness for the TCP layer: an in-memory wire, a virtual clock and literal segments.
//
//   inject(0, {.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
//   auto synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
//
// Every segment the shard sends is checksummed (fill_tcp_checksum), parsed back with TcpView and
// verified, then queued; expect_reply() pops the oldest and compares flags, seq, ack, window,
// options (SACK blocks and TSecr included), payload length and the ECN codepoint handed to the
// IP layer (seq is not compared when it is kAnySeq, e.g. for an ISN; TSval only when the
// expectation gives one). In::ecn is the codepoint a segment arrives with (CE: marked on the way).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../common/tcp_segments.hpp"
#include "dtcp/tcp.hpp"
#include "tcp/shard.hpp"
#include "tcp/tuple.hpp"
#include "wire/tcp.hpp"

struct rte_mempool;

namespace dtcp::wire {
// gtest prints mismatched SACK block lists with this (found by ADL).
inline void PrintTo(const SackBlock& b, std::ostream* os) { *os << b.left << "-" << b.right; }
}  // namespace dtcp::wire

namespace dtcp::tcp::test {

inline constexpr unsigned kPoolSize = 16383;
extern rte_mempool* g_pool;

using wire::TcpFlags;
inline constexpr TcpFlags SYN = TcpFlags::syn;
inline constexpr TcpFlags ACK = TcpFlags::ack;
inline constexpr TcpFlags FIN = TcpFlags::fin;
inline constexpr TcpFlags RST = TcpFlags::rst;
inline constexpr TcpFlags PSH = TcpFlags::psh;
inline constexpr TcpFlags NONE = TcpFlags::none;

inline const wire::Ipv4Addr kLocalAddr = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
inline const wire::Ipv4Addr kRemoteAddr = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
// The same pair over IPv6 (TcpTest::use_ipv6()).
inline const wire::IpAddr kLocalAddr6 = *wire::IpAddr::parse("2001:db8::1");
inline const wire::IpAddr kRemoteAddr6 = *wire::IpAddr::parse("2001:db8::2");
inline constexpr uint16_t kLocalPort = 80;
inline constexpr uint16_t kRemotePort = 40000;
inline constexpr uint64_t kAnySeq = ~uint64_t{0};

// True when DTCP_TEST_FAMILY=ipv6: every TcpTest then runs over kLocalAddr6/kRemoteAddr6.
bool ipv6_run();

// A segment to inject (from the peer to us).
struct In {
  TcpFlags flags = NONE;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 65535;
  wire::TcpOptions options{};
  std::string data;
  uint16_t src_port = kRemotePort;
  uint16_t dst_port = kLocalPort;
  wire::Ecn ecn = wire::Ecn::not_ect;  // the IP header's ECN field it arrives with (CE: marked)
  // Offsets into `data` where a new mbuf of the chain begins (a frame from LRO, rte_gro or
  // scattered rx); empty: one mbuf.
  std::vector<size_t> chain_cuts;
  // Non-zero: the frame was coalesced from segments of this size (RTE_MBUF_F_RX_LRO, tso_segsz).
  uint16_t coalesced_from = 0;
};

// The timestamps option we expect (RFC 7323 §3). TSecr is always compared. TSval is our clock
// plus a per-connection random offset, so it is compared only when set; a test that knows the
// offset (from the SYN-ACK) states it.
struct OutTimestamps {
  std::optional<uint32_t> tsval;
  uint32_t tsecr = 0;
};

// The options we expect; every one is compared, the SACK blocks in order and by count.
struct OutOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;
  bool sack_permitted = false;
  std::optional<OutTimestamps> timestamps;
  std::vector<wire::SackBlock> sack_blocks;
};

// What we expect the shard to send.
struct Out {
  TcpFlags flags = NONE;
  uint64_t seq = kAnySeq;
  uint32_t ack = 0;
  std::optional<uint16_t> window;  // checked when set
  OutOptions options{};
  uint32_t len = 0;
  uint16_t src_port = kLocalPort;
  uint16_t dst_port = kRemotePort;
  wire::Ecn ecn = wire::Ecn::not_ect;  // the codepoint handed to the IP layer; always compared
};

// SegmentOutput that checksums, parses, verifies and records.
class RecordingWire : public SegmentOutput {
 public:
  void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) override;
  std::deque<Sent> sent;
  // When set, segments go here instead of the queue (two-shard tests).
  std::function<void(rte_mbuf*, wire::IpAddr, wire::IpAddr, wire::Ecn)> forward;
};

// Records callbacks as text ("connected", "readable", "peer_closed", "writable", "closed:reset_by_peer")
// and hands out connections. Hooks let a test act from inside a callback.
class Recorder : public ConnectionHandler, public ListenHandler {
 public:
  ConnectionHandler* on_accept(Connection& c) override;
  void on_connected(Connection& c) override;
  void on_readable(Connection& c) override;
  void on_writable(Connection& c) override;
  void on_peer_closed(Connection& c) override;
  void on_closed(Connection& c, CloseReason reason) override;

  std::vector<std::string> events;
  Connection* conn = nullptr;  // the latest accepted/connected connection; cleared by on_closed
  bool refuse = false;         // on_accept returns nullptr
  std::function<void(Connection&)> on_readable_hook, on_writable_hook, on_peer_closed_hook, on_accept_hook;
  std::function<void(Connection&, CloseReason)> on_closed_hook;
  std::string received;  // on_readable reads everything into here unless a hook is set
  bool auto_read = true;
};

class TcpTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Builds the shard (call again after changing config; the default one is built by SetUp).
  void make_shard();
  // Moves the virtual clock to `ms` milliseconds and runs timers.
  void at(int64_t ms);
  void at_us(int64_t us);
  // Injects a segment from the peer at time `ms`.
  void inject(int64_t ms, const In& in);
  void inject(const In& in) { inject(now_ms(), in); }
  // Injects a segment in the same receive burst as the one before: the clock does not move and
  // the shard's advance() (once per lcore loop iteration) is not called in between.
  void inject_in_burst(const In& in);
  // Like inject(), but with `raw_options` (a multiple of 4 bytes) as the options field, for
  // unknown and malformed options the TcpOptions writer cannot produce.
  void inject_raw_options(int64_t ms, const In& in, const std::vector<uint8_t>& raw_options);
  void inject_segment(int64_t ms, const In& in, const std::vector<uint8_t>* raw_options);
  // Pops the oldest sent segment and checks it against `out`; returns it.
  Sent expect_reply(const Out& out);
  // Nothing was sent (up to now).
  void expect_nothing();
  int64_t now_ms() const { return now_.time_since_epoch().count() / 1000; }

  // Per-state setups (passive side, us = port 80, peer ISN 1000, peer window 65535).
  // Each returns our ISN; `rec.conn` is the connection.
  uint32_t listen_and_syn_received();
  uint32_t established();
  uint32_t close_wait();    // + peer FIN
  uint32_t fin_wait_1();    // + our close(): FIN sent, not acked (app keeps the handler: shutdown_write)
  uint32_t fin_wait_2();    // + ACK of our FIN
  uint32_t last_ack();      // close_wait + shutdown_write
  // Active open: connect() and take the SYN; returns our ISN.
  uint32_t syn_sent();

  // Runs the test over IPv6 (kLocalAddr6, kRemoteAddr6): rebuilds the shard.
  void use_ipv6() {
    local_addr = kLocalAddr6;
    remote_addr = kRemoteAddr6;
    make_shard();
  }
  // The MSS the shard announces: config.mss over IPv4, 20 less over IPv6.
  uint16_t default_mss() const {
    return local_addr.is_v4() ? config.mss : static_cast<uint16_t>(config.mss - kIpv6ExtraHeader);
  }

  wire::IpAddr local_addr = kLocalAddr, remote_addr = kRemoteAddr;
  TcpConfig config;
  RecordingWire wire;
  Recorder rec;
  std::unique_ptr<Shard> shard;
  TimePoint now_{};
  bool check_no_leaks = true;
  rte_mempool* pool = nullptr;  // ShardEnv::pool of the next make_shard() (nullptr: g_pool, which has no cache)
  uint32_t mbuf_stash = 64;   // ShardEnv::mbuf_stash of the next make_shard() (0: a dry pool is dry for TCP too)
  uint32_t pool_shards = 1;  // ShardEnv::pool_shards of the next make_shard() (memory pressure tests)
  // ShardEnv's TSO fields of the next make_shard(), the same for both families (0: no TSO).
  uint32_t tso_max_payload = 0;
  uint16_t tso_ip_packet_max = 0;
  std::vector<std::string> transitions;  // "ESTABLISHED>FIN-WAIT-1", from the shard's tracer
  bool record_transitions = true;         // the next make_shard() installs that tracer

 private:
  bool in_burst_ = false;
};

// rte_mbuf holding `bytes` (for send_mbuf tests).
rte_mbuf* make_mbuf(std::string_view bytes);
std::string pattern(size_t n, size_t offset = 0);

}  // namespace dtcp::tcp::test
