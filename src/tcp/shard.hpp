// The TCP layer of one lcore: every connection, listener and TIME-WAIT record of a shard, and the
// entry points the lcore loop calls. Single-threaded: every call is made on the owning lcore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "base/time.hpp"
#include "dtcp/tcp.hpp"
#include "tcp/counters.hpp"
#include "wire/addr.hpp"
#include "wire/ecn.hpp"
#include "wire/icmp.hpp"
#include "wire/tx_header.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace dtcp::tcp {

// Where the shard sends segments. `m` starts at the TCP header, pkt_len is the whole segment
// (header + payload, possibly chained), the checksum field is 0, m->l4_len is the header length
// and the headroom is at least 64 bytes (the pool's RTE_PKTMBUF_HEADROOM, 128 by default). The
// implementation fills the checksum, prepends IPv4/Ethernet with `ecn` in the IP header's ECN
// field (RFC 3168 §5: ECT(0) on new data of an ECN connection, Not-ECT otherwise), resolves ARP
// and transmits or counts a drop. Ownership passes.
class SegmentOutput {
 public:
  virtual ~SegmentOutput() = default;
  virtual void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) = 0;
  // The same for a segment of a connection, with the connection's transmit header template
  // (kept in its control block, zeroed when the block is handed out): an IP layer that builds
  // templates (stack::Interface) uses and refreshes it; the default ignores it.
  virtual void send_connection_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn,
                                       wire::TxHeaderTemplate& header) {
    (void)header;
    send_segment(m, src, dst, ecn);
  }
};

// Optional veto on ephemeral ports, e.g. to pick a source port whose RSS hash lands on this
// shard's queue (as Seastar's connect() does). Return true if the port may be used.
using PortFilter = bool (*)(void* ctx, wire::IpAddr local, uint16_t local_port, wire::IpAddr remote,
                            uint16_t remote_port);

// Optional observer of every state change (RFC 9293 names via to_string(TcpState)).
using StateTracer = void (*)(void* ctx, const Endpoint& local, const Endpoint& remote, TcpState from, TcpState to);

struct ShardEnv {
  rte_mempool* pool = nullptr;        // segments are built from it (headroom >= 64)
  SegmentOutput* output = nullptr;
  // The addresses connect() uses when ConnectOptions::local_address is unspecified, one per
  // family (local_addr6 is at the end); unspecified = the port has no address of that family.
  wire::IpAddr local_addr = wire::Ipv4Addr{};
  uint32_t shard_id = 0;
  uint64_t secret_seed = 0;           // keys ISNs (RFC 6528) and port selection; random in production
  PortFilter port_filter = nullptr;   // nullptr = every port in the range is fine
  void* port_filter_ctx = nullptr;
  StateTracer state_tracer = nullptr;  // nullptr = no tracing (one predictable branch per change)
  void* state_tracer_ctx = nullptr;
  // Shards drawing on `pool` (every queue of every port sharing it): the fair share of the pool
  // under memory pressure is estimated as this many times this shard's connections.
  uint32_t pool_shards = 1;
  wire::IpAddr local_addr6{};
  // TCP segmentation offload, from the port: the largest payload of one super-segment per
  // family (0: never more than an MSS in one segment) and the largest IP packet the device cuts
  // it into. The device replicates the header (timestamps included) on every segment.
  uint32_t tso_max_payload_v4 = 0;
  uint32_t tso_max_payload_v6 = 0;
  uint16_t tso_ip_packet_max = 0;
  // Free mbufs of `pool` the shard keeps in front of it (MbufStash in src/tcp/mbuf.hpp): at most
  // 64, and a 64th of the pool among its pool_shards; 0 sends every allocation and free to the pool.
  uint32_t mbuf_stash = 64;
};

// A snapshot of one connection or TIME-WAIT record, for the counters printer.
struct ConnectionInfo {
  Endpoint local, remote;
  TcpState state = TcpState::closed;
  const char* state_name = "";
  bool time_wait_record = false;  // from the compact TIME-WAIT table (no buffers, no windows)
  uint32_t snd_una = 0, snd_nxt = 0, snd_max = 0, rcv_nxt = 0;
  uint32_t snd_wnd = 0, rcv_wnd = 0, cwnd = 0, ssthresh = 0;
  uint32_t send_queued = 0, recv_queued = 0, ooo_segments = 0;
  const char* congestion = "";  // "cubic" or "reno"
  const char* recovery = "";    // "open", "recovery" (fast, SACK), "loss" (after a timeout), "newreno"
  uint32_t sacked_bytes = 0, lost_bytes = 0, retransmitted_bytes = 0;  // the SACK scoreboard
  Duration srtt{0}, rto{0};
  // For operators (dtcp-ss -i, /dtcp/conns).
  uint32_t slot = 0;  // control block or TIME-WAIT record index: where a paged listing resumes
  Duration rttvar{0};
  uint32_t retries = 0;  // consecutive timeouts of the oldest unacknowledged segment
  uint16_t mss = 0;      // effective send MSS
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool timestamps = false, sack = false, ecn = false;
  uint64_t bytes_sent = 0, bytes_acked = 0, bytes_received = 0, delivery_rate = 0;  // rate in bytes/s
  Duration age{0};  // since the control block was taken, or TIME-WAIT's remaining time for a record
  // The timer that fires first ("rexmit", "persist", "keepalive", "delack", "rack", "tlp",
  // "fin_wait_2", "timewait"), and in how long; "" when none is pending.
  const char* timer = "";
  Duration timer_in{0};
};

// Which connections a listing wants; zero / empty fields match everything.
struct ConnectionFilter {
  uint32_t states = 0;  // bit (1 << TcpState) per state wanted; 0: all
  uint16_t local_port = 0, remote_port = 0;
  bool matches(const ConnectionInfo& info) const {
    return (states == 0 || (states & (1u << static_cast<unsigned>(info.state))) != 0) &&
           (local_port == 0 || info.local.port == local_port) && (remote_port == 0 || info.remote.port == remote_port);
  }
};

// One listener, for listings.
struct ListenerInfo {
  uint16_t port = 0;
  const char* family = "";  // "ipv4", "ipv6" or "both"
  uint32_t syn_received = 0, syn_backlog = 0;
  const char* syn_cookies = "";
};

// What a shard holds at one moment, for resource accounting at the end of a run (tools at exit,
// the simulator after every scenario): each count is 0 when everything came back.
struct ShardResources {
  size_t tcbs_in_use = 0;          // control blocks out of the free list
  size_t tcbs_in_table = 0;        // control blocks still in the connection table
  size_t time_wait_records = 0;    // TIME-WAIT records out of their free list
  size_t timers_armed = 0;         // control blocks with a wheel entry armed
  size_t sent_records_in_use = 0;  // sent-segment records out of the shared pool
  size_t events_pending = 0;       // control blocks queued for event delivery or reaping
  bool all_returned() const {
    return tcbs_in_use == 0 && tcbs_in_table == 0 && time_wait_records == 0 && timers_armed == 0 &&
           sent_records_in_use == 0 && events_pending == 0;
  }
};

class ShardCore;

class Shard {
 public:
  // Preallocates every TCB, TIME-WAIT record, the tables and the timer wheel. May throw
  // std::invalid_argument naming a bad config field (setup path only).
  Shard(const TcpConfig& config, const ShardEnv& env, TimePoint now);
  // Frees every mbuf and connection it holds, without callbacks and without sending anything.
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // One received segment. `m`: single-segment mbuf whose data starts at the TCP header, pkt_len
  // trimmed to the segment, checksum already verified, dst is (one of) our address(es); `ecn` is
  // the ECN field of its IP header (CE is echoed to the sender, RFC 3168 §6.1.3). The shard
  // owns `m` afterwards (queues it zero-copy or frees it). Handler callbacks run inside.
  void input(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now);
  // An ICMP destination-unreachable or time-exceeded message quoting a TCP segment sent from our
  // address (the interface checked the quote). Acted on only when the quoted 4-tuple is a
  // connection and the quoted sequence number is in flight (RFC 5927 §4.1); see icmp.cpp.
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now);
  // Runs expired timers (retransmission, persist, FIN-WAIT-2, TIME-WAIT); call once per loop
  // iteration with a non-decreasing `now`.
  void advance(TimePoint now);
  // Admission past capacity ([tcp] syn_budget): the flag is true while the shard is behind and
  // this loop iteration's budget of bare SYNs is used up, until the next advance(). The receive
  // path may then drop a bare SYN (no ACK, no RST) before its checksums and parse and report it
  // with syn_shed() (counted as drop_syn_budget). The pointer stays valid as long as the shard.
  const bool* syn_shedding_flag() const;
  void syn_shed();

  ListenResult listen(uint16_t port, ListenHandler& handler, const ListenOptions& options = {});
  // Stops accepting on `port`; connections still in SYN-RECEIVED are reset. Established
  // connections are not affected.
  void unlisten(uint16_t port);
  // Active open: sends a SYN now. On success the connection is in SYN-SENT; on_connected() or
  // on_closed(refused / timed_out) follows.
  ConnectResult connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                        const ConnectOptions& options, TimePoint now);

  const TcpConfig& config() const;
  // The connection `id` names, if it is still open to the application (not ended, not closed).
  Connection* find(ConnectionId id);

  // Resets every connection (RST to the peer, on_closed(aborted) to attached handlers), e.g. when
  // the stack stops. TIME-WAIT records stay until they expire or the shard is destroyed.
  void abort_all();

  // Frees every TIME-WAIT record now (the stack is going away; 2*MSL will not be waited for).
  // Nothing is sent. Counted as time_wait_released.
  void release_time_wait();
  // Counts what the shard holds (O(max_connections): not for the packet path).
  ShardResources resources() const;

  const TcpCounters& counters() const;
  // Calls fn(const ConnectionInfo&) for every live connection, then every TIME-WAIT record.
  template <class Fn>
  void for_each_connection(Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    for_each_connection_impl([](void* ctx, const ConnectionInfo& info) { (*static_cast<F*>(ctx))(info); },
                             const_cast<void*>(static_cast<const void*>(&fn)));
  }
  // A page of the listing for operators: from `cursor` (0 first; control blocks, then TIME-WAIT
  // records, by slot), at most `max_entries` matching `filter` and at most `max_slots` slots
  // looked at, so one page never holds the lcore long however many connections there are.
  // Returns the cursor to resume from, or kListingDone.
  static constexpr uint64_t kListingDone = ~uint64_t{0};
  template <class Fn>
  uint64_t list_connections(uint64_t cursor, const ConnectionFilter& filter, size_t max_entries, size_t max_slots,
                            Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    return list_connections_impl(cursor, filter, max_entries, max_slots,
                                 [](void* ctx, const ConnectionInfo& info) { (*static_cast<F*>(ctx))(info); },
                                 const_cast<void*>(static_cast<const void*>(&fn)));
  }
  template <class Fn>
  void for_each_listener(Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    for_each_listener_impl([](void* ctx, const ListenerInfo& info) { (*static_cast<F*>(ctx))(info); },
                           const_cast<void*>(static_cast<const void*>(&fn)));
  }
  size_t connections_in_use() const;
  size_t connection_capacity() const;
  // Free mbufs of the pool the shard keeps for its next segments (ShardEnv::mbuf_stash): the
  // pool counts them in use, so a leak check while the shard lives adds them.
  unsigned mbufs_stashed() const;
  size_t time_wait_count() const;
  // Earliest time advance() has work to do, or TimePoint::max() when nothing is pending; lets
  // the lcore loop sleep when idle. A lower bound (1 ms tick).
  TimePoint next_deadline() const;

  ShardCore& core() { return *core_; }

 private:
  void for_each_connection_impl(void (*fn)(void*, const ConnectionInfo&), void* ctx) const;
  uint64_t list_connections_impl(uint64_t cursor, const ConnectionFilter& filter, size_t max_entries, size_t max_slots,
                                 void (*fn)(void*, const ConnectionInfo&), void* ctx) const;
  void for_each_listener_impl(void (*fn)(void*, const ListenerInfo&), void* ctx) const;

  std::unique_ptr<ShardCore> core_;
};

}  // namespace dtcp::tcp
