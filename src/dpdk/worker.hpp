// A worker lcore's run-to-completion loop over the (port, queue) pairs it owns (DPDK l3fwd shape):
// messages -> rx burst -> steer or input, with the next frame prefetched -> frames steered here
// -> timers -> application -> tx flush -> idle policy.
//
// Sharding. A port with several queues has one QueueStack per queue, each with its own Interface,
// TCP shard, timers and counters. A connection belongs to the queue its 4-tuple selects through
// the port's RSS map (rss.hpp). A frame that arrives on another queue (a device without RSS, or
// with RSS that could not be configured) is passed to the owner through a bounded SPSC rte_ring
// per (receiving queue, owning queue) pair, a burst at a time. Other cross-lcore work (an
// application asking another lcore to connect, ARP mappings one queue learned) travels as small
// messages through each lcore's MPSC message ring. Nothing else is shared between lcores: the
// counters other threads read are published copies (every 10 ms, relaxed atomics).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/counter_block.hpp"
#include "dpdk/idle.hpp"
#include "dpdk/gro.hpp"
#include "dpdk/impairment.hpp"
#include "dpdk/rss.hpp"
#include "dtcp/runtime.hpp"
#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "tcp/shard.hpp"

// X(name, description): per worker lcore, not per queue.
#define DTCP_LCORE_COUNTERS(X)                                                           \
  X(idle_sleeps, "adaptive idle: sleeps taken after a run of empty polls")              \
  X(idle_slept_us, "adaptive idle: microseconds of sleep asked for")

// X(name, description): levels, not events; a worker publishes its queues' sum with its counters.
#define DTCP_GAUGES(X)                                                                    \
  X(conn_in_use, "control blocks in use (every state but TIME-WAIT records)")            \
  X(conn_capacity, "control blocks preallocated ([tcp] max_connections per queue)")      \
  X(time_wait_records, "compact TIME-WAIT records held")

namespace dtcp::dpdk {

DTCP_COUNTER_BLOCK(LcoreCounters, DTCP_LCORE_COUNTERS);
DTCP_COUNTER_BLOCK(Gauges, DTCP_GAUGES);

// How a port spreads connections over its queues, decided when the port is configured.
struct PortRss {
  enum class Mode : uint8_t {
    single_queue,  // one queue: nothing to decide
    hardware,      // the device hashes with our key and RETA; frames arrive on their owner
    software,      // the device cannot: the receiving queue computes the owner and steers
  };
  Mode mode = Mode::single_queue;
  std::vector<uint8_t> key;    // the Toeplitz key in use (read back from the device in hardware mode)
  std::vector<uint16_t> reta;  // queue per entry (read back from the device in hardware mode)
  std::string reason;          // why this mode, for the startup log
};
const char* to_string(PortRss::Mode);

struct PortCapabilities {
  wire::MacAddr mac;
  bool tx_ip_checksum = false;
  bool tx_tcp_checksum = false;
  bool rx_checksum = false;
  bool rx_trust_tx_checksum = false;  // InterfaceSetup::rx_trust_tx_checksum (net_ring pairs)
  // TCP segmentation offload (RTE_ETH_TX_OFFLOAD_TCP_TSO enabled): the largest payload of one
  // super-segment per family, 0 where TCP must not hand over more than an MSS.
  uint32_t tso_max_payload_v4 = 0;
  uint32_t tso_max_payload_v6 = 0;
  // The largest IP packet the device cuts a super-segment into (PortConfig::mtu but for
  // net_tap; see configure_port()).
  uint16_t tso_ip_packet_max = 0;
  std::string tso_reason;  // why TSO is off, for the startup log
  // Receive coalescing ([port] gro): by the device (RTE_ETH_RX_OFFLOAD_TCP_LRO), or in software
  // with rte_gro on each receive burst; gro_reason says why neither, for the startup log.
  bool rx_lro = false;
  bool rx_gro_software = false;
  std::string gro_reason;
  std::string driver;
  rte_mempool* pool = nullptr;
  uint32_t pool_shards = 1;  // queues (shards) of every port drawing on `pool`
  PortRss rss;
};

inline constexpr uint16_t kBurstSize = 32;

// Everything a worker publishes for other threads to read.
struct StackCounters {
  stack::NetCounters net;
  tcp::TcpCounters tcp;
  LcoreCounters lcore;
  Gauges gauges;
  StackCounters& operator+=(const StackCounters& o) {
    net += o.net;
    tcp += o.tcp;
    lcore += o.lcore;
    gauges += o.gauges;
    return *this;
  }
};

class QueueStack;
class Worker;

// The Worker whose loop runs on this thread (set by Worker::bind_thread()); nullptr on any
// other thread. Tells Stack::post() from an application thread apart from a post by an lcore,
// whose counters only that lcore may write.
inline thread_local Worker* tl_current_worker = nullptr;

// A message for one QueueStack, run on its lcore at the start of a loop iteration. POD: it is
// copied into and out of an rte_ring; messages still queued at shutdown are dropped unrun.
struct Message {
  void (*run)(QueueStack& target, const Message& message) = nullptr;
  QueueStack* target = nullptr;
  Stack::MessageFn user_fn = nullptr;  // for Stack::post()
  void* ctx = nullptr;
  uint64_t arg0 = 0;
  uint64_t arg1 = 0;
};

// The queues of one port and the rings between them. Built by the runtime once every QueueStack
// exists, read-only afterwards.
struct PortLinks {
  uint16_t queues = 1;
  std::vector<QueueStack*> stacks;  // by queue
  std::vector<Worker*> workers;     // by queue: whose message ring reaches that queue
  std::vector<rte_ring*> steer;     // [from * queues + to]; SPSC; nullptr where from == to
  rte_ring* steer_ring(uint16_t from, uint16_t to) const { return steer[size_t{from} * queues + to]; }
};

// One (port, queue) on one lcore: the Stack an application sees. It joins the L2/L3 Interface
// and the TCP shard in both directions.
class QueueStack final : public Stack,
                         public stack::FrameSink,
                         public stack::TcpReceiver,
                         public tcp::SegmentOutput {
 public:
  QueueStack(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
             const PortCapabilities& caps, unsigned lcore, Worker& worker, std::atomic<bool>& stop, TimePoint now);
  ~QueueStack() override;

  // Joins the port's queues (steering rings, message targets); before the loops start. Every
  // queue is linked, a single-queue port's too (its messages go to itself).
  void link(const PortLinks* links);
  void start(const AppFactory* factory, TimePoint now);
  // Returns the frames received from the device or from other queues (0: an empty poll).
  unsigned poll(TimePoint now);
  void stop();
  // After stop(), by the thread that owns the queue: resets every connection still open (RST to
  // the peer, on_closed(aborted) to its handler), frees the TIME-WAIT records, sends what that
  // queued, and returns what the shard still holds (all zero unless something leaked).
  tcp::ShardResources teardown();
  // Earliest time this queue has timer work (TimePoint::max() if none); bounds idle sleeps.
  TimePoint next_deadline() const { return shard_.next_deadline(); }
  // Posts `message` to the lcore polling `queue` of this port; counts a full ring. From any
  // thread: a thread other than this queue's lcore is counted in the atomic counters below.
  bool post_message(uint16_t queue, const Message& message);
  // Posts made from threads other than this queue's lcore (accepted, refused by a full ring).
  struct ForeignPosts {
    uint64_t posted = 0;
    uint64_t refused = 0;
  };
  ForeignPosts foreign_posts() const {
    return {foreign_posted_.load(std::memory_order_relaxed), foreign_refused_.load(std::memory_order_relaxed)};
  }
  // Message-ring side: run on this queue's lcore.
  void run_message(const Message& message);

  // Stack
  unsigned lcore_id() const override { return lcore_; }
  uint16_t queue_id() const override { return queue_id_; }
  uint16_t queue_count() const override { return port_.rx_queues; }
  const PortConfig& port_config() const override { return port_; }
  TimePoint now() const override { return now_; }
  int64_t now_ns() const override;
  const TcpConfig& tcp_config() const override { return shard_.config(); }
  // The network layer and its counters, for the runtime and tests (not part of the public Stack).
  stack::Interface& interface() { return interface_; }
  const stack::NetCounters& net_counters() const { return counters_; }
  void request_stop() override { stop_.store(true, std::memory_order_relaxed); }
  wire::IpAddr address(wire::IpFamily family) const override { return port_.primary(family); }
  ListenResult listen(uint16_t port, ListenHandler& handler, const ListenOptions& options) override {
    return shard_.listen(port, handler, options);
  }
  void unlisten(uint16_t port) override { shard_.unlisten(port); }
  ConnectResult connect(wire::IpAddr dst, uint16_t dst_port, ConnectionHandler& handler,
                        const ConnectOptions& options) override {
    if (!options.local_address.is_unspecified() && !port_.is_local(options.local_address)) {
      return {ConnectError::invalid_address};
    }
    return shard_.connect(dst, dst_port, handler, options, now_);
  }
  Connection* find(ConnectionId id) override { return shard_.find(id); }
  uint16_t owner_queue(wire::IpAddr remote, uint16_t remote_port, uint16_t local_port) const override {
    return rss_.queue_of(TcpFlow{.src = remote, .dst = port_.primary(remote.family()), .src_port = remote_port,
                                 .dst_port = local_port});
  }
  bool post(uint16_t queue, MessageFn fn, void* ctx, uint64_t arg) override;
  void print_connections(FILE* out) const override;
  size_t connections_in_use() const override { return shard_.connections_in_use(); }

  const tcp::Shard& shard() const { return shard_; }

  // FrameSink
  void transmit(rte_mbuf* frame) override;
  // TcpReceiver
  void tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) override;
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now) override;
  const bool* syn_shedding_flag() const override { return shard_.syn_shedding_flag(); }
  void syn_shed() override { shard_.syn_shed(); }
  // SegmentOutput
  void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) override {
    interface_.send_tcp(m, src, dst, ecn);
  }
  void send_connection_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn,
                               wire::TxHeaderTemplate& header) override {
    interface_.send_tcp(m, src, dst, ecn, header);
  }

 private:
  // A frame from the device (after rx impairment): handled here or passed to its owner.
  void receive(rte_mbuf* frame, TimePoint now);
  void flush_steered(uint16_t to);
  unsigned drain_steered(TimePoint now);
  void enqueue_tx(rte_mbuf* frame);
  void flush_tx();
  static void share_arp(void* ctx, wire::Ipv4Addr ip, wire::MacAddr mac);
  static void share_neighbor(void* ctx, const wire::Ipv6Addr& ip, wire::MacAddr mac);
  static void share_address_state(void* ctx, const wire::Ipv6Addr& address, stack::Interface::AddressState state);
  static void share_router(void* ctx, const stack::Interface::RouterInfo& info);

  PortConfig port_;
  uint16_t port_id_;
  uint16_t queue_id_;
  unsigned lcore_;
  Worker& worker_;
  std::atomic<bool>& stop_;
  TimePoint now_;
  TimePoint next_housekeeping_{};
  bool multi_queue_;
  const PortLinks* links_ = nullptr;
  stack::NetCounters counters_;
  // This queue's own copy of the port's RSS map (12 KiB of hash tables), and the context of the
  // shard's ephemeral-port filter; both before shard_, which keeps a pointer to own_.
  RssMap rss_;
  QueueOwnership own_;
  stack::Interface interface_;
  Impairment rx_impairment_;
  Impairment tx_impairment_;
  bool rx_gro_software_;
  RxCoalescer coalescer_;
  tcp::Shard shard_;
  std::array<rte_mbuf*, kBurstSize> tx_buffer_{};
  uint16_t tx_count_ = 0;
  // Frames waiting to be passed to queue q: steer_buffer_[q][0..steer_count_[q]).
  std::vector<std::array<rte_mbuf*, kBurstSize>> steer_buffer_;
  std::vector<uint16_t> steer_count_;
  std::unique_ptr<App> app_;
  std::atomic<uint64_t> foreign_posted_{0};
  std::atomic<uint64_t> foreign_refused_{0};
};

class Worker {
 public:
  Worker(unsigned lcore, const RuntimeConfig& runtime, std::atomic<bool>& stop)
      : lcore_(lcore), stop_(stop), backoff_(runtime.idle_polls, runtime.idle_sleep_max) {}
  ~Worker();
  void add_queue(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                 const PortCapabilities& caps);
  // The MPSC ring other lcores post this lcore's messages to (owned by the worker).
  void set_message_ring(rte_ring* ring) { messages_ = ring; }
  // The ring application threads post to (single producer, taken under a mutex).
  void set_foreign_ring(rte_ring* ring) { foreign_messages_ = ring; }
  bool post(const Message& message) {
    return rte_ring_mp_enqueue_elem(messages_, const_cast<Message*>(&message), sizeof(Message)) == 0;
  }
  // From a thread that is not an lcore. DPDK's multi-producer enqueue makes each producer wait,
  // spinning, for the ones that reserved slots before it; an application thread preempted
  // inside it (more threads than CPUs) held every later producer and the lcore's view of the
  // ring for a scheduler slice: 16 threads on 2 CPUs ran 300 exchanges a second instead of
  // 50,000. Application threads therefore take a ring of their own one at a time, waiting on a
  // mutex (a sleep, not a spin), and the lcores' ring stays lock-free.
  bool post_foreign(const Message& message) {
    std::lock_guard lock(foreign_mutex_);
    if (foreign_messages_ == nullptr) return post(message);  // a test's Worker without one
    return rte_ring_sp_enqueue_elem(foreign_messages_, const_cast<Message*>(&message), sizeof(Message)) == 0;
  }
  // Resolved idle policy (busy or adaptive).
  void set_idle(IdlePolicy idle) { idle_ = idle; }
  void set_factory(const AppFactory* factory) { factory_ = factory; }
  unsigned lcore_id() const { return lcore_; }
  QueueStack& queue(size_t i) { return *queues_[i]; }
  size_t queue_count() const { return queues_.size(); }
  bool exited() const { return exited_.load(std::memory_order_acquire); }
  // Last published counters (published every 10 ms and at exit); safe from any thread.
  StackCounters counters_snapshot() const;
  // Asks the worker to print its connections from its own loop (any thread).
  void request_connection_dump() { dump_requested_.store(true, std::memory_order_relaxed); }
  // Only once the worker has exited, or from the worker itself.
  void print_connections(FILE* out) const;
  // Once the worker has exited (the caller's thread then owns its queues): resets every
  // connection still open (RST to the peer, on_closed(aborted) to the applications, which still
  // exist), frees the TIME-WAIT records, and returns what the shards still hold (a leak unless
  // all zero). After the counters and listings are printed, so they show the state at stop.
  tcp::ShardResources teardown();

  static int launch(void* self) { return static_cast<Worker*>(self)->loop(); }
  // Marks the calling thread as this worker's lcore (the loop does it; tests playing an lcore too).
  void bind_thread() { tl_current_worker = this; }
  // Runs up to a burst of the messages queued for this lcore, oldest first, each once; returns
  // how many. The loop calls it at the top of every iteration; only this lcore may (SC ring).
  unsigned run_messages();

 private:
  int loop();
  void idle(bool work, TimePoint now);
  void publish();

  static constexpr size_t kCounterWords = sizeof(StackCounters) / sizeof(uint64_t);
  unsigned lcore_;
  std::atomic<bool>& stop_;
  IdlePolicy idle_ = IdlePolicy::busy;
  const AppFactory* factory_ = nullptr;
  rte_ring* messages_ = nullptr;
  rte_ring* foreign_messages_ = nullptr;
  std::mutex foreign_mutex_;
  std::vector<std::unique_ptr<QueueStack>> queues_;
  LcoreCounters counters_;
  IdleBackoff backoff_;
  std::array<std::atomic<uint64_t>, kCounterWords> published_{};
  std::atomic<bool> exited_{false};
  std::atomic<bool> dump_requested_{false};
  int64_t loop_ns_ = 0;  // this iteration's TSC reading in ns (QueueStack::now_ns())

  friend class QueueStack;
};

// Microseconds since the runtime started, from the TSC (read once per loop iteration).
TimePoint tsc_now();

// One reading of the TSC as the stack's microseconds and as nanoseconds (Stack::now_ns()).
struct TscReading {
  TimePoint now;
  int64_t ns = 0;
};
TscReading tsc_read();

}  // namespace dtcp::dpdk
