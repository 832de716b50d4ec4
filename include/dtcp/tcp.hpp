// dtcp TCP: what an application uses.
//
// Model. Every connection belongs to one shard (one lcore). All calls below are made on that lcore,
// run to completion and never block. The stack tells the application what happened through a
// ConnectionHandler (event callbacks); the application acts through Connection (the public face of
// the connection's control block). Errors are enums, never exceptions; nothing here allocates on
// the heap after the shard is built.
//
// Re-entrancy. Callbacks may call any function below on any connection of the same shard,
// including close()/abort() on the connection being notified or on another one, and send() from
// on_readable(). Memory of a connection is reclaimed only after the outermost call into the shard
// returns, so a Connection& stays addressable for the rest of the callback that closed it (every
// call on it is then a no-op, except that bytes received before a normal close stay readable
// until on_closed() returns).
//
// Time. The stack never reads a clock: API calls use the `now` of the latest Shard::input(),
// advance() or connect(), so the lcore loop should call advance() every iteration.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dtcp/time.hpp"
#include "dtcp/address.hpp"

struct rte_mbuf;

namespace dtcp {

// Per-shard TCP settings; the INI section [tcp] maps `name = value` one-to-one onto these fields.
// Durations are dtcp::Duration (microseconds). Defaults are chosen for a data-centre stack that
// must still interoperate with Linux over the Internet.
// Congestion control (RFC 9438 CUBIC with HyStart++ slow start, or RFC 5681 NewReno).
enum class CongestionAlgorithm : uint8_t { cubic, reno };
// SYN cookies (RFC 4987 §3.6): when a listener answers a SYN with a cookie SYN-ACK instead of
// keeping a half-open connection. automatic: only while its SYN backlog is full (Linux's
// tcp_syncookies = 1); always: every SYN (tcp_syncookies = 2); never: a full backlog drops SYNs.
enum class SynCookies : uint8_t { automatic, always, never };

struct TcpConfig {
  // TCBs preallocated per shard, with a table bucket and a free-list entry each: about 1.2 KiB
  // a slot (16384 -> 19 MiB; tcp_footprint() has the exact figure), plus buffers held in mbufs.
  uint32_t max_connections = 16384;
  // TIME-WAIT records per shard (64 bytes each, 80 with the free list and table bucket: 80 MiB
  // at the default). When full, a connection entering TIME-WAIT is closed at once (counted as
  // time_wait_overflow), as Linux does on tw bucket overflow. A shard closing R connections a
  // second first needs R x 2 x msl records: the default holds 17,476/s for the default 60 s
  // TIME-WAIT, or one lcore's ~350k/s with msl = 1.5s (16,384 overflowed in 1/20 s there).
  uint32_t max_time_wait = 1u << 20;
  // Default per-listener limit of connections in SYN-RECEIVED (ListenOptions may override).
  uint32_t syn_backlog = 1024;
  // Bare SYNs (no ACK, no RST) a shard takes per loop iteration (one receive burst) while it is
  // behind: 16 full receive bursts in a row, and more SYNs seen than handshakes completed by
  // over syn_backlog (an open-loop overload; a closed-loop client at capacity offers a SYN per
  // handshake done and is never shed). The rest are dropped before the connection lookup (by
  // the interface before the checksums, once the budget is used up), any state or a SYN-ACK
  // (cookie or not), counted as drop_syn_budget, and the peer retransmits its SYN. 0 = no
  // limit. Measured (issue 15, README "Admission past capacity"): dperf over net_memif at
  // 600k SYNs/s was served at 437k-469k/s with 2, 137k/s without; dtcp-loadgen's 64
  // connections over net_ring lose nothing to it (475k-573k/s with it, 470k-482k/s without).
  uint32_t syn_budget = 2;
  // Listening ports per shard.
  uint32_t max_listeners = 64;
  // MSS we announce (RFC 9293 §3.7.1) over IPv4: MTU - 40 without options, 1460 for Ethernet.
  // IPv6 connections use 20 less (MTU - 60, RFC 8200 §8.3).
  uint16_t mss = 1460;
  // Maximum segment lifetime; TIME-WAIT lasts 2*msl (RFC 9293 §3.4.2; Linux uses a fixed 60 s
  // TIME-WAIT, i.e. msl = 30 s).
  Duration msl = std::chrono::seconds(30);
  // How long FIN-WAIT-2 may last once the application has fully closed (Linux tcp_fin_timeout).
  Duration fin_wait_2_timeout = std::chrono::seconds(60);
  // RFC 6298 §2.4 recommends a 1 s floor for the Internet; dtcp targets data centres where RTTs
  // are tens of microseconds, so the default floor is 10 ms (still far above the TSC jitter and
  // the 1 ms timer tick). Use 200 ms for Linux-like behaviour on WAN paths.
  Duration min_rto = std::chrono::milliseconds(10);
  // RFC 6298 §2.5 allows an upper bound provided it is at least 60 s.
  Duration max_rto = std::chrono::seconds(60);
  // RFC 6298 §2.1: 1 s before the first RTT sample.
  Duration initial_rto = std::chrono::seconds(1);
  // Retransmissions of data/FIN before the connection is reset with timed_out (RFC 1122 4.2.3.5
  // R2; Linux tcp_retries2 = 15).
  uint32_t max_retries = 15;
  // Retransmissions of SYN and SYN-ACK before giving up (Linux tcp_syn_retries = 6).
  uint32_t max_syn_retries = 6;
  // Bytes the application may queue for sending (unacknowledged + unsent). 256 KiB covers the
  // bandwidth-delay product of 10 Gbit/s at 200 µs RTT, the data-centre case we aim at, and keeps
  // 10k connections within a few GiB of mbufs in the worst case.
  uint32_t send_buffer = 256 * 1024;
  // Bytes received but not yet read. Same reasoning. Without window scaling (a peer that does
  // not offer it) the advertised window is capped at 65535 by the header field.
  uint32_t recv_buffer = 256 * 1024;
  // Receive buffer auto-tuning (Linux's dynamic right-sizing): each round trip in which the
  // application read at least half the buffer doubles it, up to recv_buffer_max, so a fast reader
  // on a long path gets the window it needs. The window scale is chosen for the maximum
  // (RFC 7323 §2.3). recv_buffer_max = recv_buffer turns auto-tuning off.
  uint32_t recv_buffer_max = 4 * 1024 * 1024;
  // Out-of-order data held per connection: bytes are bounded by the receive window; this bounds
  // the mbufs (a peer sending tiny segments must not pin one mbuf per byte). When full, a segment
  // closer to RCV.NXT displaces the farthest one held (drop_ooo_pruned); others are dropped
  // (drop_ooo_full).
  uint32_t max_ooo_segments = 1024;
  // What a SYN gets when the TCB pool is full: true = RST (the client fails fast), false = a
  // counted silent drop (the client retries its SYN, riding out a burst). Existing connections
  // are never affected.
  bool rst_on_full = false;
  // RFC 5961 §7: challenge ACKs per second per shard (Linux tcp_challenge_ack_limit was 100,
  // now 1000 per socket).
  uint32_t challenge_ack_limit = 1000;
  // Ephemeral ports for connect() (RFC 6056; Linux ip_local_port_range default).
  uint16_t ephemeral_port_min = 32768;
  uint16_t ephemeral_port_max = 60999;

  // ---- options offered on our SYNs (a SYN-ACK answers only what the peer's SYN offered) ----
  // RFC 7323 §2: the shift is the smallest that lets the window cover recv_buffer (Linux also
  // derives it from the largest receive buffer).
  bool window_scaling = true;
  // RFC 7323 §3-5: timestamps on every segment once negotiated, for RTT samples and PAWS.
  bool timestamps = true;
  // RFC 2018: SACK-permitted. As a receiver dtcp then reports SACK blocks for out-of-order data
  // (and D-SACK blocks for duplicates, RFC 2883); as a sender it keeps an RFC 6675 scoreboard and
  // recovers every hole the blocks reveal, at the pace PRR sets (RFC 6937). Without SACK a
  // connection recovers with NewReno (RFC 6582).
  bool sack = true;
  // RFC 8985 RACK-TLP: losses are detected by time (a segment sent before one that was delivered,
  // and older than RTT + reordering window), and a tail loss probe repairs a lost last segment
  // in about two round trips. false: RFC 6675's IsLost() (DupThresh SACKed segments above).
  bool rack = true;
  // Records of the sent-segment map (scoreboard, RACK) the shard preallocates, shared by its
  // connections; each connection holds at most sent_records_per_connection of them. When none
  // can be had the map keeps coarser records (it never loses data, only detail).
  uint32_t sent_records = 65536;
  uint32_t sent_records_per_connection = 1024;

  // ---- congestion control and acknowledgments ----
  // The default algorithm (ConnectOptions / ListenOptions can choose per connection).
  CongestionAlgorithm congestion = CongestionAlgorithm::cubic;
  // Initial congestion window in segments (RFC 6928; 10 as in Linux).
  uint32_t initial_window = 10;
  // RFC 3168 ECN: our SYNs are ECN-setup (ECE|CWR) and our SYN-ACKs accept an ECN-setup SYN. When
  // both ends agree, new data is sent ECT(0), CE marks are echoed with ECE until the peer's CWR,
  // and an ECE reduces cwnd as a loss would, at most once per window, without a retransmission.
  // Off by default, neither asking nor accepting (Linux's default, tcp_ecn = 2, accepts when
  // asked); ConnectOptions and ListenOptions choose per connection.
  bool ecn = false;
  // Longest an ACK for in-order data may wait (RFC 9293 §3.8.6.3, RFC 1122 4.2.3.2 require less
  // than 0.5 s and an ACK for at least every second full-sized segment). 0 = ACK every segment.
  // dtcp's 1 ms stays far below min_rto, so a delayed ACK never looks like a loss; Linux: 40 ms.
  Duration delayed_ack = std::chrono::milliseconds(1);

  // ---- keep-alive (off unless a listener, connect() or set_keepalive() turns it on) ----
  // RFC 1122 4.2.3.6 requires an idle time of at least two hours by default; these are Linux's
  // tcp_keepalive_time/intvl/probes.
  Duration keepalive_idle = std::chrono::seconds(7200);
  Duration keepalive_interval = std::chrono::seconds(75);
  uint32_t keepalive_probes = 9;

  // ---- memory pressure (as Linux's tcp_mem low / pressure / high), fractions of the mbuf pool ----
  // Every connection's queued data (send queue, receive queue, reassembly queue) lives in mbufs of
  // the port's pool, so a small pool or many busy connections can fill it with data alone. When
  // more than mem_pressure of the pool is in use the shard enters pressure and stays in it until
  // less than mem_low is: under pressure each connection holds at most a fair share of the pool
  // per direction (send() accepts less, the advertised window stops growing), receive queues are
  // collapsed into fewer mbufs and, as a last resort, out-of-order data is pruned. Beyond
  // mem_high only control segments (ACKs, RSTs, window updates, SYNs) may take mbufs: the rest of
  // the pool is their reserve, so data can never starve the segments that free it.
  double mem_low = 0.5;
  double mem_pressure = 0.75;
  double mem_high = 0.95;
  // ---- SYN flood defence ----
  // Default for listeners (ListenOptions::syn_cookies overrides). A cookie SYN-ACK keeps no state:
  // the returning ACK is checked (keyed hash, age, MSS index) and becomes an ESTABLISHED
  // connection with the MSS, window scale, SACK-permitted, timestamps and ECN it encoded (the
  // last four only when the peer offered timestamps, as in Linux).
  SynCookies syn_cookies = SynCookies::automatic;
  // ---- ICMP errors and orphaned connections ----
  // Floor of the path MTU that an ICMP "fragmentation needed" may set (RFC 1191 §4; Linux's
  // min_pmtu, 552): the path MSS never drops below min_pmtu - 40, so a forged ICMP cannot shrink
  // a connection to tiny segments. 104..65535 (an MSS of at least 64).
  uint16_t min_pmtu = 552;
  // Retransmissions of an orphan (a connection the application has closed, still in FIN-WAIT-1,
  // CLOSING or LAST-ACK) before it is reset, instead of max_retries: nobody waits for its data
  // any more (Linux tcp_orphan_retries; unlike Linux, 0 means none, not 8). 4 ends an orphan
  // whose RTO is the initial 1 s after 1+2+4+8+16 = 31 s, one with a 200 ms RTO after 6.2 s.
  // A shorter RTO retries more: as in Linux, the budget is also a time, what the retries would
  // take from a 200 ms RTO (6 s after the first timeout for 4), so a 10 ms RTO does not end an
  // orphan still delivering data after a stall of 0.3 s.
  uint32_t orphan_retries = 4;
  // Orphans (FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK after close()) a shard keeps; past it the
  // oldest is reset (Linux tcp_max_orphans). When a new SYN or connect() finds no free control
  // block, the oldest orphan is reset and its slot reused, whatever this limit.
  uint32_t max_orphans = 8192;

  // dtcp's own defaults (the values above).
  static TcpConfig dtcp_profile() { return TcpConfig{}; }
  // Defaults that peers and test suites written against Linux assume: minimum RTO 200 ms
  // (TCP_RTO_MIN), maximum 120 s (TCP_RTO_MAX), delayed ACK 40 ms (TCP_DELACK_MIN), initial window
  // 10, and every option on (SYN option order MSS, SACK-permitted, timestamps, window scale is the
  // same in both profiles).
  static TcpConfig linux_profile() {
    TcpConfig c;
    c.min_rto = std::chrono::milliseconds(200);
    c.max_rto = std::chrono::seconds(120);
    c.delayed_ack = std::chrono::milliseconds(40);
    return c;
  }
};

// What a shard preallocates for a TcpConfig (at construction, whether used or not), so tools
// can report what a connection costs. Buffered data lives in mbufs and is not included.
struct TcpFootprint {
  size_t control_block = 0;   // sizeof the TCB (the Connection behind every connection)
  // Bytes per connection slot: the control block, its free-list entry and its share of the
  // connection table's buckets (a power of two at least max_connections).
  size_t per_connection = 0;
  size_t connections = 0;     // max_connections slots: TCB array, free list, table buckets
  size_t time_wait = 0;       // max_time_wait 64-byte records, their free list and table
  size_t sent_records = 0;    // the sent-segment map's shared records (sent_records) and free list
  size_t total() const { return connections + time_wait + sent_records; }
};
// Pure arithmetic on `config`; the shard's constructor allocates exactly these arrays.
TcpFootprint tcp_footprint(const TcpConfig& config);

// The eleven states of RFC 9293 §3.3.2.
enum class TcpState : uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
// "ESTABLISHED", "SYN-SENT", ... as RFC 9293 spells them. Never null.
const char* to_string(TcpState);

// Why a connection ended (the argument of on_closed()).
enum class CloseReason : uint8_t {
  normal,         // both FINs exchanged and acknowledged (or TIME-WAIT entered)
  reset_by_peer,  // RST received in a synchronized state
  refused,        // RST in answer to our SYN (active open)
  timed_out,      // retransmission limit reached (data, FIN or SYN)
  aborted,        // abort() by the application, or the stack reset it (data after close, ...)
  no_memory,      // could not proceed for lack of mbufs for too long (reserved; not used yet)
  // The retransmission limit was reached after an ICMP error said the destination was
  // unreachable (a soft error, RFC 1122 4.2.3.9: net/host unreachable, time exceeded), or a
  // protocol unreachable ended an active open. (Port unreachable in SYN-SENT is `refused`.)
  unreachable,
};
const char* to_string(CloseReason);

class Connection;

// Receives the events of one connection. All callbacks run on the shard's lcore from inside
// Shard::input(), Shard::advance() or an API call; they may call back into the API (see top).
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Active open only: the handshake completed (ESTABLISHED). A passive connection is announced
  // by ListenHandler::on_accept() instead.
  virtual void on_connected(Connection&) {}
  // New in-order bytes were queued for reading. Edge-triggered: called once per arrival of new
  // data; bytes the application leaves unread do not cause further calls.
  virtual void on_readable(Connection&) {}
  // Send space became available after a send()/send_mbuf() that could not take everything.
  virtual void on_writable(Connection&) {}
  // The peer's FIN arrived: after the bytes already readable, nothing more will come.
  virtual void on_peer_closed(Connection&) {}
  // The last call for this connection; the Connection is invalid once it returns. Not made
  // after the application itself called close() or abort() (those end the relationship).
  virtual void on_closed(Connection&, CloseReason) {}
};

// Decides about connections completing their handshake on a listening port.
class ListenHandler {
 public:
  virtual ~ListenHandler() = default;
  // The connection is ESTABLISHED (the peer's ACK of our SYN-ACK arrived). Return the handler for
  // its events, or nullptr to refuse it (the stack sends RST and forgets it). Bytes that arrived
  // with the ACK are reported by an on_readable() right after this returns.
  virtual ConnectionHandler* on_accept(Connection&) = 0;
};

struct ListenOptions {
  uint32_t syn_backlog = 0;  // connections in SYN-RECEIVED for this port; 0 = TcpConfig::syn_backlog
  bool nodelay = false;      // initial nodelay of accepted connections
  // Congestion control of accepted connections; empty = TcpConfig::congestion.
  std::optional<CongestionAlgorithm> congestion;
  // Whether an ECN-setup SYN is answered with ECN (RFC 3168 §6.1.1); empty = TcpConfig::ecn.
  std::optional<bool> ecn;
  // Keep-alive for accepted connections. Zero timings take TcpConfig's keepalive_idle,
  // keepalive_interval and keepalive_probes.
  bool keepalive = false;
  Duration keepalive_idle{0};
  Duration keepalive_interval{0};
  uint32_t keepalive_probes = 0;
  // Buffer sizes of accepted connections, as Connection::set_send_buffer() / set_receive_buffer()
  // would set them but from the SYN on, so the SYN-ACK's window already honours them (a later
  // call cannot shrink a window already offered); 0 = TcpConfig::send_buffer / recv_buffer.
  uint32_t send_buffer = 0;
  uint32_t recv_buffer = 0;
  // SYN cookies for this port; empty = TcpConfig::syn_cookies.
  std::optional<SynCookies> syn_cookies;
  // Which family this listener accepts: empty = both (dual-stack, as a Linux AF_INET6 socket with
  // IPV6_V6ONLY off). A port may have one listener per family instead of one for both.
  std::optional<wire::IpFamily> family;
};

struct ConnectOptions {
  uint16_t local_port = 0;  // 0 = choose an ephemeral port (RFC 6056 style, skips tuples in use)
  bool nodelay = false;
  std::optional<CongestionAlgorithm> congestion;  // empty = TcpConfig::congestion
  std::optional<bool> ecn;  // send an ECN-setup SYN (RFC 3168 §6.1.1); empty = TcpConfig::ecn
  // Keep-alive; zero timings take TcpConfig's keepalive_idle, keepalive_interval, keepalive_probes.
  bool keepalive = false;
  Duration keepalive_idle{0};
  Duration keepalive_interval{0};
  uint32_t keepalive_probes = 0;
  void* user_data = nullptr;  // initial Connection::user_data
  // Source address: unspecified (the default, or 0.0.0.0) = the port's first address of the
  // destination's family; otherwise one of the port's addresses of that family, else
  // invalid_address.
  wire::IpAddr local_address{};
};

enum class ListenError : uint8_t { ok, port_in_use, invalid_port, too_many_listeners };
const char* to_string(ListenError);

enum class ConnectError : uint8_t {
  ok,
  invalid_address,    // destination unspecified, broadcast, multicast or port 0; no local address of its family
  no_ephemeral_port,  // every port in the range is in use towards this destination
  address_in_use,     // the explicit local_port is in use towards this destination
  no_connection,      // the TCB pool is full
  no_mbuf,            // no mbuf for the SYN
};
const char* to_string(ConnectError);

struct ListenResult {
  ListenError error = ListenError::ok;
  bool ok() const { return error == ListenError::ok; }
};

struct ConnectResult {
  ConnectError error = ConnectError::ok;
  Connection* connection = nullptr;  // set iff ok(); state SYN-SENT; events go to the handler
  bool ok() const { return error == ConnectError::ok; }
};

// An address of either family and a port. Text form "198.18.0.1:80" or "[2001:db8::1]:80".
struct Endpoint {
  wire::IpAddr addr;
  uint16_t port = 0;
  static std::optional<Endpoint> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

// Names a connection across threads and messages: the slot of its control block in its shard
// and the slot's generation, which grows every time the slot is reused. Control blocks are
// recycled, so a pointer kept past on_closed() or close() may name another connection; an id
// then finds nothing (Stack::find returns nullptr).
struct ConnectionId {
  uint32_t slot = UINT32_MAX;
  uint32_t generation = 0;
  bool valid() const { return slot != UINT32_MAX; }
  bool operator==(const ConnectionId&) const = default;
};

// The public face of a TCP control block. Obtained from on_accept()/connect(); valid until
// on_closed() returns or until close()/abort() is called, whichever is first.
class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // ---- receiving (zero-copy: bytes stay in the received mbufs until consumed) ----

  // Bytes ready to read.
  size_t readable() const;
  // Copies up to out.size() readable bytes into `out` and consumes them. Returns the count.
  size_t read(std::span<std::byte> out);
  // Fills iov[0..k) with views of the first readable bytes, in order, without consuming them;
  // returns k (<= iov.size()). The views stay valid until the next consume()/read()/close() or
  // the return of the current callback, whichever comes first. One view per received mbuf: a
  // coalesced or TSO-passed-through burst can hold more mbufs than iov has entries, and
  // on_readable is edge-triggered, so a handler loops peek/consume until readable() is 0:
  // forward_readable() (below the class) is that loop.
  size_t peek(std::span<std::span<const std::byte>> iov) const;
  // Discards the first min(n, readable()) bytes, freeing their mbufs; may send a window update.
  void consume(size_t n);

  // ---- sending ----

  // Bytes send() would accept now (send buffer free space), 0 once the write side is shut.
  size_t send_space() const;
  // Copies up to send_space() bytes of `data` into the send buffer and starts transmission if the
  // window allows. Returns how many bytes were taken (possibly 0); if fewer than data.size(),
  // on_writable() follows once space frees up.
  size_t send(std::span<const std::byte> data);
  // Queues the bytes of `m` (may be a chain) without copying them into the buffer. On success the
  // connection owns `m` and returns true; returns false (caller keeps `m`) if m->pkt_len exceeds
  // send_space() or the write side is shut. Segments are built by copying out of `m`, so `m` may
  // come from any pool.
  bool send_mbuf(rte_mbuf* m);
  // The bytes the application may queue for sending (SO_SNDBUF): 0 = TcpConfig::send_buffer;
  // at least two segments. Shrinking it below what is queued only stops new sends.
  void set_send_buffer(size_t bytes);
  size_t send_buffer() const;
  // Fixes the receive buffer (SO_RCVBUF) at `bytes`, at least two segments and at most
  // TcpConfig::recv_buffer_max, and turns auto-tuning off for this connection, as Linux does.
  // The window already advertised is never taken back (RFC 9293 §3.8.6).
  void set_receive_buffer(size_t bytes);
  size_t receive_buffer() const;
  // Disables (true) or enables (false, the default) Nagle's algorithm (RFC 9293 §3.7.4).
  void set_nodelay(bool on);
  // Keep-alive (RFC 9293 §3.8.4, RFC 1122 4.2.3.6; off by default): after `idle` without
  // receiving anything, probe every `interval`; after `probes` unanswered probes the connection
  // is reset and on_closed(timed_out) follows. idle == 0 turns it off.
  void set_keepalive(Duration idle, Duration interval, uint32_t probes);
  // On with TcpConfig's keepalive_idle/interval/probes (Linux's 7200 s / 75 s / 9 by default), or off.
  void set_keepalive(bool on);

  // ---- closing ----

  // Half-close: sends FIN after the queued bytes; receiving continues (CLOSE-WAIT/FIN-WAIT-*).
  // Callbacks continue, including on_closed().
  void shutdown_write();
  // Full close: like shutdown_write(), then the application is done with the connection: no
  // more callbacks, the Connection is invalid when close() returns, and the stack completes the
  // close on its own (retransmitting the FIN, TIME-WAIT). If unread bytes remain, or bytes arrive
  // later, the connection is reset instead (RFC 9293 §3.10.4, RFC 1122 4.2.2.13).
  void close();
  // Sends RST (when synchronized) and discards everything queued. No more callbacks; the
  // Connection is invalid when abort() returns.
  void abort();

  // ---- information ----
  Endpoint local() const;
  Endpoint remote() const;
  TcpState state() const;
  // This connection's id (valid while the Connection is; see ConnectionId).
  ConnectionId id() const;

  // Free for the application; the stack never reads it.
  void* user_data = nullptr;

 protected:
  Connection() = default;
  ~Connection() = default;
};

// A sink for forward_readable(): takes a prefix of the bytes offered and returns its length.
template <typename Sink>
concept ReadableSink = requires(Sink& sink, std::span<const std::byte> bytes) {
  { sink(bytes) } -> std::convertible_to<size_t>;
};

// Hands the readable bytes of `c`, in order, to `sink` and consumes what it took, until nothing
// is readable or the sink takes less than it was offered (e.g. Connection::send() with a full
// send buffer: on_writable() follows, and the rest stays readable for then). `sink` is called
// with one received mbuf's bytes at a time (zero-copy views, valid only during the call) and
// returns how many of their first bytes it took; more than offered counts as all of them.
// Returns the bytes forwarded, which are exactly the bytes consumed.
//
// Why it exists: peek() gives one view per received mbuf and on_readable() is edge-triggered. A
// handler that peeks once into a fixed array and consumes what those views covered leaves the
// rest of a burst of more mbufs than views (a coalesced or TSO-passed-through super-segment)
// unread, and no further on_readable() comes for it. This loop peeks again until it is drained.
template <ReadableSink Sink>
size_t forward_readable(Connection& c, Sink&& sink) {
  std::array<std::span<const std::byte>, 16> views;
  size_t forwarded = 0;
  while (c.readable() > 0) {
    const size_t n = c.peek(views);
    size_t taken = 0;
    bool sink_full = false;
    for (size_t i = 0; i < n && !sink_full; i++) {
      const size_t took = std::min<size_t>(sink(views[i]), views[i].size());
      taken += took;
      sink_full = took < views[i].size();
    }
    c.consume(taken);
    forwarded += taken;
    // taken == 0 also ends a sink that refuses everything (sink_full) or a peek that found no
    // view, so the loop never spins without progress.
    if (sink_full || taken == 0) break;
  }
  return forwarded;
}

}  // namespace dtcp
