#include "dpdk/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "base/log.hpp"
#include "wire/bytes.hpp"

namespace dtcp::dpdk {
namespace {

const uint64_t g_tsc_start = rte_rdtsc();

// The configured MSS, lowered to what the port's MTU carries (RFC 9293 3.7.1).
TcpConfig tcp_config_for(const Config& config, const PortConfig& port) {
  TcpConfig tcp = config.tcp;
  tcp.mss = static_cast<uint16_t>(std::min<unsigned>(tcp.mss, port.mtu - 40u));
  return tcp;
}

// A single-queue port still gets a map (one entry, queue 0) so owner_queue() always answers.
RssMap rss_map_for(const PortCapabilities& caps) {
  if (caps.rss.mode == PortRss::Mode::single_queue || caps.rss.reta.empty()) {
    return RssMap(symmetric_rss_key(), {0});
  }
  return RssMap(caps.rss.key, caps.rss.reta);
}

}  // namespace

const char* to_string(PortRss::Mode mode) {
  switch (mode) {
    case PortRss::Mode::single_queue: return "single queue";
    case PortRss::Mode::hardware: return "hardware RSS";
    case PortRss::Mode::software: return "software steering";
  }
  return "?";
}

namespace {

// µs = ticks * 10^6 / hz as a multiply and shift: a 128-bit division per loop iteration
// showed up at 3% of a bulk transfer's profile. 2^40 keeps the error below 10^-8.
TimePoint micros_of(unsigned __int128 elapsed) {
  static const uint64_t micros_per_tick_q40 =
      static_cast<uint64_t>((static_cast<unsigned __int128>(1'000'000) << 40) / rte_get_tsc_hz());
  return TimePoint(Duration(static_cast<int64_t>((elapsed * micros_per_tick_q40) >> 40)));
}

// The same for ns: 10^9 << 40 / hz stays below 2^64 for any TSC above 60 Hz.
int64_t nanos_of(unsigned __int128 elapsed) {
  static const uint64_t nanos_per_tick_q40 =
      static_cast<uint64_t>((static_cast<unsigned __int128>(1'000'000'000) << 40) / rte_get_tsc_hz());
  return static_cast<int64_t>((elapsed * nanos_per_tick_q40) >> 40);
}

}  // namespace

TimePoint tsc_now() { return micros_of(rte_rdtsc() - g_tsc_start); }

TscReading tsc_read() {
  const unsigned __int128 elapsed = rte_rdtsc() - g_tsc_start;
  return {micros_of(elapsed), nanos_of(elapsed)};
}

int64_t QueueStack::now_ns() const { return worker_.loop_ns_; }

QueueStack::QueueStack(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                       const PortCapabilities& caps, unsigned lcore, Worker& worker, std::atomic<bool>& stop,
                       TimePoint now)
    : port_(port),
      port_id_(port_id),
      queue_id_(queue_id),
      lcore_(lcore),
      worker_(worker),
      stop_(stop),
      now_(now),
      multi_queue_(port.rx_queues > 1),
      rss_(rss_map_for(caps)),
      own_{&rss_, queue_id},
      interface_(stack::InterfaceSetup{.mac = caps.mac,
                                       .address = port.address,
                                       .address_count = port.address_count,
                                       .prefix_len = port.prefix_len,
                                       .gateway = port.gateway,
                                       .mtu = port.mtu,
                                       .tx_ip_checksum_offload = caps.tx_ip_checksum,
                                       .tx_tcp_checksum_offload = caps.tx_tcp_checksum,
                                       .rx_trust_tx_checksum = caps.rx_trust_tx_checksum,
                                       .arp = config.arp,
                                       .pool = caps.pool,
                                       .addresses6 = port.addresses6,
                                       .gateway6 = port.gateway6,
                                       .accept_router_advertisements = port.accept_router_advertisements,
                                       .nd = config.nd,
                                       .dad_transmits = port.dad_transmits,
                                       // Only the first queue probes and announces: once per port.
                                       // The others keep the addresses tentative until it tells
                                       // them the outcome (share_address_state).
                                       .announce = queue_id == 0},
                 *this, counters_, now),
      rx_impairment_(port.rx_impairment, caps.pool, counters_),
      tx_impairment_(port.tx_impairment, caps.pool, counters_),
      rx_gro_software_(caps.rx_gro_software),
      coalescer_(caps.rx_trust_tx_checksum),
      shard_(tcp_config_for(config, port),
             tcp::ShardEnv{.pool = caps.pool,
                           .output = this,
                           .local_addr = port.primary(wire::IpFamily::v4),
                           .shard_id = (static_cast<uint32_t>(port_id) << 16) | queue_id,
                           .secret_seed = rte_rdtsc() ^ (uint64_t{lcore} << 48),
                           // Active open picks only source ports whose replies this queue owns.
                           .port_filter = port.rx_queues > 1 ? &port_lands_on_queue : nullptr,
                           .port_filter_ctx = &own_,
                           .pool_shards = caps.pool_shards,
                           .local_addr6 = port.primary(wire::IpFamily::v6),
                           .tso_max_payload_v4 = caps.tso_max_payload_v4,
                           .tso_max_payload_v6 = caps.tso_max_payload_v6,
                           .tso_ip_packet_max = caps.tso_ip_packet_max},
             now),
      steer_buffer_(port.rx_queues),
      steer_count_(port.rx_queues, 0) {
  interface_.attach_tcp(this);
  if (multi_queue_) {
    interface_.set_arp_learned_hook(&QueueStack::share_arp, this);
    interface_.set_neighbor_learned_hook(&QueueStack::share_neighbor, this);
    interface_.set_address_state_hook(&QueueStack::share_address_state, this);
    interface_.set_router_learned_hook(&QueueStack::share_router, this);
  }
}

QueueStack::~QueueStack() {
  app_.reset();
  interface_.attach_tcp(nullptr);
  rx_impairment_.discard();
  tx_impairment_.discard();
  for (uint16_t i = 0; i < tx_count_; i++) rte_pktmbuf_free(tx_buffer_[i]);
  for (size_t q = 0; q < steer_buffer_.size(); q++) {
    for (uint16_t i = 0; i < steer_count_[q]; i++) rte_pktmbuf_free(steer_buffer_[q][i]);
  }
}

void QueueStack::link(const PortLinks* links) { links_ = links; }

void QueueStack::start(const AppFactory* factory, TimePoint now) {
  now_ = now;
  // Only the first queue announces: one gratuitous ARP per port is enough.
  if (queue_id_ == 0 && port_.has_ipv4()) interface_.send_gratuitous_arp();
  if (port_.has_ipv6()) interface_.start_ipv6();
  if (factory != nullptr && *factory) app_ = (*factory)(*this);
  if (app_) app_->on_start(*this);
  flush_tx();
}

void QueueStack::stop() {
  if (app_) app_->on_stop(*this);
  flush_tx();
}

tcp::ShardResources QueueStack::teardown() {
  shard_.abort_all();
  flush_tx();
  shard_.release_time_wait();
  return shard_.resources();
}

void QueueStack::print_connections(FILE* final_out) const {
  // Built in memory and written with one fwrite: lcores dumping at the same time (SIGUSR1) must
  // not interleave their lines, or a connection would appear under another queue's header.
  char* text = nullptr;
  size_t text_len = 0;
  FILE* out = open_memstream(&text, &text_len);
  if (out == nullptr) out = final_out;
  std::fprintf(out, "# connections lcore %u port %s queue %u: %zu in use of %zu, %zu in TIME-WAIT\n", lcore_,
               port_.name.empty() ? "-" : port_.name.c_str(), queue_id_, shard_.connections_in_use(),
               shard_.connection_capacity(), shard_.time_wait_count());
  size_t printed = 0;
  shard_.for_each_connection([&](const tcp::ConnectionInfo& c) {
    if (printed++ >= 1000) return;  // a million idle connections must not flood the terminal
    const std::string local = c.local.to_string();  // [v6]:port or v4:port
    const std::string remote = c.remote.to_string();
    std::fprintf(out, "conn %-12s %-21s %-21s snd_una=%u snd_nxt=%u snd_max=%u rcv_nxt=%u snd_wnd=%u "
                 "rcv_wnd=%u cwnd=%u ssthresh=%u cc=%s recovery=%s sacked=%u lost=%u retrans=%u send_q=%u recv_q=%u\n",
                 c.state_name, local.c_str(), remote.c_str(), c.snd_una, c.snd_nxt, c.snd_max, c.rcv_nxt, c.snd_wnd,
                 c.rcv_wnd, c.cwnd, c.ssthresh, c.time_wait_record ? "-" : c.congestion,
                 c.time_wait_record ? "-" : c.recovery, c.sacked_bytes, c.lost_bytes, c.retransmitted_bytes,
                 c.send_queued, c.recv_queued);
  });
  if (printed > 1000) std::fprintf(out, "# ... %zu more not shown\n", printed - 1000);
  if (out != final_out) {
    std::fclose(out);
    std::fwrite(text, 1, text_len, final_out);
    std::free(text);
  }
}

void QueueStack::transmit(rte_mbuf* frame) {
  if (tx_impairment_.enabled()) {
    tx_impairment_.process(frame, now_, [this](rte_mbuf* m) { enqueue_tx(m); });
  } else {
    enqueue_tx(frame);
  }
}

void QueueStack::enqueue_tx(rte_mbuf* frame) {
  tx_buffer_[tx_count_++] = frame;
  if (tx_count_ == kBurstSize) flush_tx();
}

void QueueStack::flush_tx() {
  if (tx_count_ == 0) return;
  const uint16_t sent = rte_eth_tx_burst(port_id_, queue_id_, tx_buffer_.data(), tx_count_);
  // The device refused the rest: count and free them; TCP recovers by retransmission.
  for (uint16_t i = sent; i < tx_count_; i++) {
    counters_.drop_tx_full++;
    counters_.drop_tx_full_payload_bytes += tcp_payload_bytes(tx_buffer_[i]);
    rte_pktmbuf_free(tx_buffer_[i]);
  }
  tx_count_ = 0;
}

void QueueStack::tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn,
                           TimePoint now) {
  if (multi_queue_) {
    // The ownership invariant, checked on the fully validated segment (the classifier that
    // steered it read the raw frame): a non-zero count means RSS or steering is wrong. The
    // segment is still processed; there is nowhere better to send it.
    const auto* tcp = rte_pktmbuf_mtod(segment, const std::byte*);
    const TcpFlow flow{.src = src, .dst = dst, .src_port = wire::load_be16(tcp), .dst_port = wire::load_be16(tcp + 2)};
    if (rss_.queue_of(flow) != queue_id_) counters_.rx_tcp_foreign++;
  }
  shard_.input(segment, src, dst, ecn, now);
}

// An ICMP error arrives on whichever queue the router's frame hashed to (it is not a TCP frame,
// so neither RSS nor steering sends it to the connection's owner); it is passed to the owner as
// a message. The error (either family, 48 bytes) rides in an mbuf from the port's pool, since a
// message has room for 24: ICMP errors are rare, and none is lost silently (no mbuf is counted).
void QueueStack::icmp_error(const wire::IcmpTcpError& error, TimePoint now) {
  if (multi_queue_) {
    const uint16_t owner = rss_.queue_of(
        TcpFlow{.src = error.remote, .dst = error.local, .src_port = error.remote_port, .dst_port = error.local_port});
    if (owner != queue_id_) {
      counters_.rx_icmp_foreign++;
      rte_mbuf* carrier = rte_pktmbuf_alloc(interface_.setup().pool);
      if (carrier == nullptr || rte_pktmbuf_append(carrier, sizeof error) == nullptr) {
        if (carrier) rte_pktmbuf_free(carrier);
        counters_.drop_no_mbuf++;
        return;
      }
      std::memcpy(rte_pktmbuf_mtod(carrier, void*), &error, sizeof error);
      Message m;
      m.run = [](QueueStack& target, const Message& msg) {
        auto* carried = static_cast<rte_mbuf*>(msg.ctx);
        wire::IcmpTcpError e;
        std::memcpy(&e, rte_pktmbuf_mtod(carried, const void*), sizeof e);
        rte_pktmbuf_free(carried);
        target.shard_.icmp_error(e, target.now_);
      };
      m.ctx = carrier;  // a message discarded at shutdown leaves the carrier to the pool's teardown
      if (!post_message(owner, m)) rte_pktmbuf_free(carrier);
      return;
    }
  }
  shard_.icmp_error(error, now);
}

void QueueStack::receive(rte_mbuf* frame, TimePoint now) {
  if (multi_queue_) {
    const auto flow = tcp_flow({rte_pktmbuf_mtod(frame, const std::byte*), frame->data_len});
    // Segments for other addresses stay to be counted and dropped here; every configured
    // address of either family is steered (not only the primary one).
    if (flow && port_.is_local(flow->dst)) {
      const uint16_t owner = rss_.queue_of(*flow);
      if (owner != queue_id_) {
        steer_buffer_[owner][steer_count_[owner]++] = frame;
        if (steer_count_[owner] == kBurstSize) flush_steered(owner);
        return;
      }
    }
  }
  interface_.input(frame, now);
}

void QueueStack::flush_steered(uint16_t to) {
  const uint16_t count = steer_count_[to];
  if (count == 0) return;
  steer_count_[to] = 0;
  auto& frames = steer_buffer_[to];
  const unsigned passed = rte_ring_sp_enqueue_burst(links_->steer_ring(queue_id_, to),
                                                    reinterpret_cast<void* const*>(frames.data()), count, nullptr);
  counters_.steered_out += passed;
  // The owner is behind: drop like a full rx ring would; TCP retransmits.
  for (unsigned i = passed; i < count; i++) {
    counters_.drop_steer_ring_full++;
    rte_pktmbuf_free(frames[i]);
  }
}

unsigned QueueStack::drain_steered(TimePoint now) {
  unsigned taken = 0;
  std::array<rte_mbuf*, kBurstSize> frames;
  for (uint16_t from = 0; from < links_->queues; from++) {
    if (from == queue_id_) continue;
    const unsigned n = rte_ring_sc_dequeue_burst(links_->steer_ring(from, queue_id_),
                                                 reinterpret_cast<void**>(frames.data()), kBurstSize, nullptr);
    for (unsigned i = 0; i < n; i++) {
      if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void*));
      interface_.input(frames[i], now);
    }
    counters_.steered_in += n;
    taken += n;
  }
  return taken;
}

unsigned QueueStack::poll(TimePoint now) {
  now_ = now;
  std::array<rte_mbuf*, kBurstSize> frames;
  const uint16_t received = rte_eth_rx_burst(port_id_, queue_id_, frames.data(), kBurstSize);
  // [port] gro without LRO: the burst's in-order TCP/IPv4 segments of a flow become one frame.
  const uint16_t frame_count =
      rx_gro_software_ && received > 1 ? coalescer_.coalesce(frames.data(), received, counters_) : received;
  for (uint16_t i = 0; i < frame_count; i++) {
    if (i + 1 < frame_count) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void*));
    if (rx_impairment_.enabled()) {
      rx_impairment_.process(frames[i], now, [this, now](rte_mbuf* m) { receive(m, now); });
    } else {
      receive(frames[i], now);
    }
  }
  if (rx_impairment_.enabled()) rx_impairment_.release(now, [this, now](rte_mbuf* m) { receive(m, now); });
  unsigned work = received;
  if (multi_queue_) {
    for (uint16_t q = 0; q < links_->queues; q++) flush_steered(q);
    work += drain_steered(now);
  }
  if (tx_impairment_.enabled()) tx_impairment_.release(now, [this](rte_mbuf* m) { enqueue_tx(m); });
  // ARP retries need millisecond precision at most; scanning the cache every loop would not pay.
  shard_.advance(now);
  if (now >= next_housekeeping_) {
    interface_.advance(now);
    next_housekeeping_ = now + Duration(1000);
  }
  if (app_) app_->on_poll(*this);
  flush_tx();
  return work;
}

bool QueueStack::post_message(uint16_t queue, const Message& message) {
  if (links_ == nullptr || queue >= links_->queues) return false;
  Message m = message;
  m.target = links_->stacks[queue];
  // The ring is multi-producer, so any thread may enqueue; only the counters differ: an
  // application thread must not write this lcore's plain counters.
  const bool foreign = tl_current_worker != &worker_;
  const bool application = tl_current_worker == nullptr;  // not an lcore: the application ring
  if (!(application ? links_->workers[queue]->post_foreign(m) : links_->workers[queue]->post(m))) {
    if (foreign) {
      foreign_refused_.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.drop_msg_ring_full++;
    }
    return false;
  }
  if (foreign) {
    foreign_posted_.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.msg_posted++;
  }
  return true;
}

void QueueStack::run_message(const Message& message) {
  counters_.msg_run++;
  message.run(*this, message);
  flush_tx();
}

bool QueueStack::post(uint16_t queue, MessageFn fn, void* ctx, uint64_t arg) {
  Message m;
  m.run = [](QueueStack& target, const Message& msg) { msg.user_fn(target, msg.ctx, msg.arg0); };
  m.user_fn = fn;
  m.ctx = ctx;
  m.arg0 = arg;
  return post_message(queue, m);
}

void QueueStack::share_arp(void* ctx, wire::Ipv4Addr ip, wire::MacAddr mac) {
  auto* self = static_cast<QueueStack*>(ctx);
  // Each queue resolves through its own cache; a reply lands on one queue only (whichever the
  // peer's device or kernel picks), so what one queue learns is passed to the others. ARP is
  // rare (a packet per neighbour per few minutes), so a message per mapping costs nothing.
  Message m;
  m.run = [](QueueStack& target, const Message& msg) {
    wire::MacAddr learned;
    for (size_t i = 0; i < 6; i++) learned.bytes[i] = static_cast<uint8_t>(msg.arg1 >> (8 * (5 - i)));
    target.interface_.learn(wire::Ipv4Addr{static_cast<uint32_t>(msg.arg0)}, learned, target.now_);
  };
  m.arg0 = ip.value;
  for (uint8_t b : mac.bytes) m.arg1 = (m.arg1 << 8) | b;
  for (uint16_t q = 0; q < self->links_->queues; q++) {
    if (q == self->queue_id_) continue;
    if (self->post_message(q, m)) self->counters_.arp_entries_shared++;
  }
}

// The same for IPv6 neighbours: 16 address bytes in arg0/arg1, the MAC in ctx's low 48 bits.
void QueueStack::share_neighbor(void* ctx, const wire::Ipv6Addr& ip, wire::MacAddr mac) {
  auto* self = static_cast<QueueStack*>(ctx);
  Message m;
  m.run = [](QueueStack& target, const Message& msg) {
    wire::Ipv6Addr learned_ip;
    for (size_t i = 0; i < 8; i++) {
      learned_ip.bytes[i] = static_cast<uint8_t>(msg.arg0 >> (8 * (7 - i)));
      learned_ip.bytes[8 + i] = static_cast<uint8_t>(msg.arg1 >> (8 * (7 - i)));
    }
    const auto packed = reinterpret_cast<uintptr_t>(msg.ctx);
    wire::MacAddr learned;
    for (size_t i = 0; i < 6; i++) learned.bytes[i] = static_cast<uint8_t>(packed >> (8 * (5 - i)));
    target.interface_.learn_neighbor(learned_ip, learned, target.now_);
  };
  m.arg0 = ip.high_be();
  m.arg1 = ip.low_be();
  static_assert(sizeof(uintptr_t) >= 6, "a MAC address rides in Message::ctx");
  uintptr_t packed = 0;
  for (uint8_t b : mac.bytes) packed = (packed << 8) | b;
  m.ctx = reinterpret_cast<void*>(packed);
  for (uint16_t q = 0; q < self->links_->queues; q++) {
    if (q == self->queue_id_) continue;
    if (self->post_message(q, m)) self->counters_.nd_entries_shared++;
  }
}

// A DAD outcome (RFC 4862 §5.4): the first queue's probes end in preferred, or any queue hears
// that the address is another node's. The address rides in arg0/arg1, the state in ctx.
void QueueStack::share_address_state(void* ctx, const wire::Ipv6Addr& address, stack::Interface::AddressState state) {
  auto* self = static_cast<QueueStack*>(ctx);
  Message m;
  m.run = [](QueueStack& target, const Message& msg) {
    wire::Ipv6Addr learned;
    for (size_t i = 0; i < 8; i++) {
      learned.bytes[i] = static_cast<uint8_t>(msg.arg0 >> (8 * (7 - i)));
      learned.bytes[8 + i] = static_cast<uint8_t>(msg.arg1 >> (8 * (7 - i)));
    }
    const auto learned_state = static_cast<stack::Interface::AddressState>(reinterpret_cast<uintptr_t>(msg.ctx));
    target.interface_.learn_address_state(learned, learned_state);
  };
  m.arg0 = address.high_be();
  m.arg1 = address.low_be();
  m.ctx = reinterpret_cast<void*>(static_cast<uintptr_t>(state));
  for (uint16_t q = 0; q < self->links_->queues; q++) {
    if (q == self->queue_id_) continue;
    if (self->post_message(q, m)) self->counters_.nd_dad_shared++;
  }
}

// What an accepted router advertisement taught. Larger than a message, so it rides in an mbuf
// from the port's pool, one per queue, as ICMP errors do; advertisements come minutes apart.
void QueueStack::share_router(void* ctx, const stack::Interface::RouterInfo& info) {
  using RouterInfo = stack::Interface::RouterInfo;
  static_assert(std::is_trivially_copyable_v<RouterInfo>, "a RouterInfo is copied through an mbuf");
  auto* self = static_cast<QueueStack*>(ctx);
  for (uint16_t q = 0; q < self->links_->queues; q++) {
    if (q == self->queue_id_) continue;
    rte_mbuf* carrier = rte_pktmbuf_alloc(self->interface_.setup().pool);
    if (carrier == nullptr || rte_pktmbuf_append(carrier, sizeof info) == nullptr) {
      if (carrier) rte_pktmbuf_free(carrier);
      self->counters_.drop_no_mbuf++;
      continue;
    }
    std::memcpy(rte_pktmbuf_mtod(carrier, void*), &info, sizeof info);
    Message m;
    m.run = [](QueueStack& target, const Message& msg) {
      auto* carried = static_cast<rte_mbuf*>(msg.ctx);
      RouterInfo learned;
      std::memcpy(static_cast<void*>(&learned), rte_pktmbuf_mtod(carried, const void*), sizeof learned);
      rte_pktmbuf_free(carried);
      target.interface_.learn_router(learned, target.now_);
    };
    m.ctx = carrier;  // a message discarded at shutdown leaves the carrier to the pool's teardown
    if (self->post_message(q, m)) {
      self->counters_.nd_routers_shared++;
    } else {
      rte_pktmbuf_free(carrier);
    }
  }
}

Worker::~Worker() {
  // Stacks first: they free the mbufs they hold; the runtime frees the rings afterwards.
  queues_.clear();
}

void Worker::add_queue(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                       const PortCapabilities& caps) {
  queues_.push_back(
      std::make_unique<QueueStack>(config, port, port_id, queue_id, caps, lcore_, *this, stop_, tsc_now()));
}

void Worker::publish() {
  StackCounters total;
  for (const auto& q : queues_) {
    total.net += q->net_counters();
    total.tcp += q->shard().counters();
    const QueueStack::ForeignPosts foreign = q->foreign_posts();
    total.net.msg_posted += foreign.posted;
    total.net.drop_msg_ring_full += foreign.refused;
    total.gauges.conn_in_use += q->shard().connections_in_use();
    total.gauges.conn_capacity += q->shard().connection_capacity();
    total.gauges.time_wait_records += q->shard().time_wait_count();
  }
  total.lcore = counters_;
  std::array<uint64_t, kCounterWords> words;
  std::memcpy(words.data(), &total, sizeof(total));
  for (size_t i = 0; i < kCounterWords; i++) published_[i].store(words[i], std::memory_order_relaxed);
}

StackCounters Worker::counters_snapshot() const {
  std::array<uint64_t, kCounterWords> words;
  for (size_t i = 0; i < kCounterWords; i++) words[i] = published_[i].load(std::memory_order_relaxed);
  StackCounters c;
  std::memcpy(static_cast<void*>(&c), words.data(), sizeof(c));
  return c;
}

tcp::ShardResources Worker::teardown() {
  tcp::ShardResources total;
  for (auto& q : queues_) {
    const tcp::ShardResources r = q->teardown();
    total.tcbs_in_use += r.tcbs_in_use;
    total.tcbs_in_table += r.tcbs_in_table;
    total.time_wait_records += r.time_wait_records;
    total.timers_armed += r.timers_armed;
    total.sent_records_in_use += r.sent_records_in_use;
    total.events_pending += r.events_pending;
  }
  return total;
}

void Worker::print_connections(FILE* out) const {
  for (const auto& q : queues_) q->print_connections(out);
  std::fflush(out);
}

unsigned Worker::run_messages() {
  if (messages_ == nullptr) return 0;
  std::array<Message, kBurstSize> batch;
  unsigned n = rte_ring_sc_dequeue_burst_elem(messages_, batch.data(), sizeof(Message), kBurstSize, nullptr);
  for (unsigned i = 0; i < n; i++) batch[i].target->run_message(batch[i]);
  if (foreign_messages_ == nullptr) return n;
  const unsigned f = rte_ring_sc_dequeue_burst_elem(foreign_messages_, batch.data(), sizeof(Message), kBurstSize, nullptr);
  for (unsigned i = 0; i < f; i++) batch[i].target->run_message(batch[i]);
  return n + f;
}

// Adaptive idle (idle.hpp): poll, pause or sleep after each iteration.
void Worker::idle(bool work, TimePoint now) {
  const auto action = backoff_.after_poll(work, now, [this] {
    TimePoint earliest = TimePoint::max();
    for (const auto& q : queues_) earliest = std::min(earliest, q->next_deadline());
    return earliest;
  });
  if (action.kind == IdleBackoff::Action::Kind::pause) {
    rte_pause();
  } else if (action.kind == IdleBackoff::Action::Kind::sleep) {
    timespec ts{0, static_cast<long>(action.sleep.count()) * 1000};
    nanosleep(&ts, nullptr);
    counters_.idle_sleeps++;
    counters_.idle_slept_us += static_cast<uint64_t>(action.sleep.count());
  }
}

int Worker::loop() {
  // The default timer slack (50 us) would dominate the wake-up bound of short sleeps.
  if (idle_ == IdlePolicy::adaptive) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  bind_thread();
  TscReading tsc = tsc_read();
  TimePoint now = tsc.now;
  loop_ns_ = tsc.ns;
  for (auto& q : queues_) q->start(factory_, now);
  TimePoint next_publish = now;
  while (!stop_.load(std::memory_order_relaxed)) {
    tsc = tsc_read();
    now = tsc.now;
    loop_ns_ = tsc.ns;
    unsigned work = run_messages();
    for (auto& q : queues_) work += q->poll(now);
    if (dump_requested_.load(std::memory_order_relaxed)) {
      dump_requested_.store(false, std::memory_order_relaxed);
      print_connections(stdout);
    }
    if (now >= next_publish) {
      publish();
      log::flush_suppressed(now);  // a flood that stopped still gets its count said
      next_publish = now + Duration(10'000);
    }
    if (idle_ == IdlePolicy::adaptive) idle(work > 0, now);
  }
  for (auto& q : queues_) q->stop();
  log::flush_suppressed(now, true);
  publish();
  exited_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace dtcp::dpdk
