#include "dpdk/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

namespace dtcp::dpdk {
namespace {

const uint64_t g_tsc_start = rte_rdtsc();

// The configured MSS, lowered to what the port's MTU carries (RFC 9293 3.7.1).
TcpConfig tcp_config_for(const Config& config, const PortConfig& port) {
  TcpConfig tcp = config.tcp;
  tcp.mss = static_cast<uint16_t>(std::min<unsigned>(tcp.mss, port.mtu - 40u));
  return tcp;
}

}  // namespace

TimePoint tsc_now() {
  static const uint64_t hz = rte_get_tsc_hz();
  const unsigned __int128 elapsed = rte_rdtsc() - g_tsc_start;
  return TimePoint(Duration(static_cast<int64_t>(elapsed * 1'000'000 / hz)));
}

QueueStack::QueueStack(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                       const PortCapabilities& caps, unsigned lcore, std::atomic<bool>& stop, TimePoint now)
    : port_(port),
      port_id_(port_id),
      queue_id_(queue_id),
      lcore_(lcore),
      stop_(stop),
      now_(now),
      interface_(stack::InterfaceSetup{.mac = caps.mac,
                                       .address = port.address,
                                       .address_count = port.address_count,
                                       .prefix_len = port.prefix_len,
                                       .gateway = port.gateway,
                                       .mtu = port.mtu,
                                       .tx_ip_checksum_offload = caps.tx_ip_checksum,
                                       .tx_tcp_checksum_offload = caps.tx_tcp_checksum,
                                       .arp = config.arp,
                                       .pool = caps.pool},
                 *this, counters_, now),
      rx_impairment_(port.rx_impairment, caps.pool, counters_),
      tx_impairment_(port.tx_impairment, caps.pool, counters_),
      shard_(tcp_config_for(config, port),
             tcp::ShardEnv{.pool = caps.pool,
                           .output = this,
                           .local_addr = port.address,
                           .shard_id = (static_cast<uint32_t>(port_id) << 16) | queue_id,
                           .secret_seed = rte_rdtsc() ^ (uint64_t{lcore} << 48)},
             now) {
  interface_.attach_tcp(this);
}

QueueStack::~QueueStack() {
  app_.reset();
  interface_.attach_tcp(nullptr);
  rx_impairment_.discard();
  tx_impairment_.discard();
  for (uint16_t i = 0; i < tx_count_; i++) rte_pktmbuf_free(tx_buffer_[i]);
}

void QueueStack::start(const AppFactory* factory, TimePoint now) {
  now_ = now;
  // Only the first queue announces: one gratuitous ARP per port is enough.
  if (queue_id_ == 0) interface_.send_gratuitous_arp();
  if (factory != nullptr && *factory) app_ = (*factory)(*this);
  if (app_) app_->on_start(*this);
  flush_tx();
}

void QueueStack::stop() {
  if (app_) app_->on_stop(*this);
  flush_tx();
}

void QueueStack::print_connections(FILE* out) const {
  std::fprintf(out, "# connections lcore %u port %s queue %u: %zu in use of %zu, %zu in TIME-WAIT\n", lcore_,
               port_.name.empty() ? "-" : port_.name.c_str(), queue_id_, shard_.connections_in_use(),
               shard_.connection_capacity(), shard_.time_wait_count());
  size_t printed = 0;
  shard_.for_each_connection([&](const tcp::ConnectionInfo& c) {
    if (printed++ >= 1000) return;  // a million idle connections must not flood the terminal
    const std::string local = c.local.addr.to_string() + ":" + std::to_string(c.local.port);
    const std::string remote = c.remote.addr.to_string() + ":" + std::to_string(c.remote.port);
    std::fprintf(out, "conn %-12s %-21s %-21s snd_una=%u snd_nxt=%u rcv_nxt=%u send_q=%u recv_q=%u\n",
                 c.state_name, local.c_str(), remote.c_str(), c.snd_una, c.snd_nxt, c.rcv_nxt, c.send_queued,
                 c.recv_queued);
  });
  if (printed > 1000) std::fprintf(out, "# ... %zu more not shown\n", printed - 1000);
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
    rte_pktmbuf_free(tx_buffer_[i]);
  }
  tx_count_ = 0;
}

unsigned QueueStack::poll(TimePoint now) {
  now_ = now;
  std::array<rte_mbuf*, kBurstSize> frames;
  const uint16_t received = rte_eth_rx_burst(port_id_, queue_id_, frames.data(), kBurstSize);
  for (uint16_t i = 0; i < received; i++) {
    if (i + 1 < received) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void*));
    if (rx_impairment_.enabled()) {
      rx_impairment_.process(frames[i], now, [this, now](rte_mbuf* m) { interface_.input(m, now); });
    } else {
      interface_.input(frames[i], now);
    }
  }
  if (rx_impairment_.enabled()) rx_impairment_.release(now, [this, now](rte_mbuf* m) { interface_.input(m, now); });
  if (tx_impairment_.enabled()) tx_impairment_.release(now, [this](rte_mbuf* m) { enqueue_tx(m); });
  // ARP retries need millisecond precision at most; scanning the cache every loop would not pay.
  shard_.advance(now);
  if (now >= next_housekeeping_) {
    interface_.advance(now);
    next_housekeeping_ = now + Duration(1000);
  }
  if (app_) app_->on_poll(*this);
  flush_tx();
  return received;
}

void Worker::add_queue(const Config& config, const PortConfig& port, uint16_t port_id, uint16_t queue_id,
                       const PortCapabilities& caps) {
  queues_.push_back(std::make_unique<QueueStack>(config, port, port_id, queue_id, caps, lcore_, stop_, tsc_now()));
}

void Worker::publish() {
  StackCounters total;
  for (const auto& q : queues_) {
    total.net += q->net_counters();
    total.tcp += q->shard().counters();
  }
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

void Worker::print_connections(FILE* out) const {
  for (const auto& q : queues_) q->print_connections(out);
  std::fflush(out);
}

int Worker::loop() {
  TimePoint now = tsc_now();
  for (auto& q : queues_) q->start(factory_, now);
  TimePoint next_publish = now;
  while (!stop_.load(std::memory_order_relaxed)) {
    now = tsc_now();
    for (auto& q : queues_) q->poll(now);
    if (dump_requested_.load(std::memory_order_relaxed)) {
      dump_requested_.store(false, std::memory_order_relaxed);
      print_connections(stdout);
    }
    if (now >= next_publish) {
      publish();
      next_publish = now + Duration(10'000);
    }
  }
  for (auto& q : queues_) q->stop();
  // FIXME: connections still open at stop are left as they are (no RST, no FIN); the peer
  // learns when it next sends. abort_all() would reset them but callbacks into apps being torn
  // down need care.
  publish();
  exited_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace dtcp::dpdk
