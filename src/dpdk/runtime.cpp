#include "dtcp/runtime.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include <sched.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <ctime>
#include <map>
#include <thread>

#include <unistd.h>

#include "base/log.hpp"
#include "dpdk/capture.hpp"
#include "dpdk/eal_args.hpp"
#include "dpdk/inspect.hpp"
#include "dpdk/mib.hpp"
#include "dpdk/rss.hpp"
#include "dpdk/worker.hpp"
#include "stack/interface.hpp"

namespace dtcp {
namespace {

std::atomic<bool> g_stop_requested{false};
std::atomic<bool> g_print_requested{false};
std::atomic<unsigned> g_stop_signals{0};  // SIGINT/SIGTERM received: a second one ends the stop wait

extern "C" void handle_stop_signal(int) {
  g_stop_signals.fetch_add(1, std::memory_order_relaxed);
  g_stop_requested.store(true, std::memory_order_relaxed);
}
extern "C" void handle_print_signal(int) { g_print_requested.store(true, std::memory_order_relaxed); }

std::string port_label(const PortConfig& port) { return port.name.empty() ? "[port]" : "[port." + port.name + "]"; }

// Frames up to the MTU plus Ethernet header and VLAN/FCS slack must fit one mbuf: dtcp does not
// enable scattered receive.
uint16_t data_room_for(const Config& config) {
  if (config.mempool.data_room != 0) return config.mempool.data_room;
  uint16_t largest = 1500;
  for (const auto& port : config.ports) largest = std::max(largest, port.mtu);
  return static_cast<uint16_t>(std::max<unsigned>(RTE_MBUF_DEFAULT_BUF_SIZE, largest + 14u + 8u + RTE_PKTMBUF_HEADROOM));
}

class RuntimeImpl;
// The telemetry thread reads counters through this; set while a runtime exists.
std::atomic<RuntimeImpl*> g_telemetry_runtime{nullptr};

class RuntimeImpl final : public Runtime {
 public:
  dpdk::StackCounters counters_total() const {
    dpdk::StackCounters total;
    for (const auto& worker : workers_) total += worker->counters_snapshot();
    return total;
  }

  explicit RuntimeImpl(const Config& config) : config_(config) {}
  ~RuntimeImpl() override;

  void setup(const std::vector<std::string>& eal_override, const char* program_name);
  void run(const AppFactory& factory) override;
  // After a stop request: returns once every worker lcore has left its loop, or ends the process
  // (status 1, naming the lcores) when one is still running after [runtime] stop_grace_ms or a
  // further SIGINT/SIGTERM arrives, since rte_eal_mp_wait_lcore() would then wait forever.
  void wait_for_workers_or_exit(unsigned signals_before);
  void request_stop() override { g_stop_requested.store(true, std::memory_order_relaxed); }
  void print_counters(FILE* out, bool per_lcore) override;
  void print_connections(FILE* out) override;
  size_t shutdown() override;
  ResourceReport account() override;
  void install_signal_handlers() override;

 private:
  uint16_t create_ring_port(const PortConfig& port);
  uint16_t find_port(const PortConfig& port);
  rte_mempool* pool_for_socket(int socket);
  void configure_port(const PortConfig& port, uint16_t port_id, dpdk::PortCapabilities& caps);
  void read_back_rss(const PortConfig& port, uint16_t port_id, const rte_eth_dev_info& info, dpdk::PortRss& rss);
  void configure_gro(const PortConfig& port, const rte_eth_dev_info& info, rte_eth_conf& conf,
                     dpdk::PortCapabilities& caps);
  void configure_tso(const PortConfig& port, const rte_eth_dev_info& info, rte_eth_conf& conf,
                     dpdk::PortCapabilities& caps);
  void assign_lcores();
  void link_queues();
  IdlePolicy resolve_idle_policy() const;
  void remove_runtime_dir();
  std::string runtime_dir_;

  Config config_;
  bool eal_started_ = false;
  std::map<int, rte_mempool*> pools_;
  std::map<std::string, std::vector<rte_ring*>> ring_pairs_;  // pair -> [a->b rings..., b->a rings...]
  std::vector<uint16_t> port_ids_;
  std::vector<uint16_t> started_ports_;
  std::vector<dpdk::PortCapabilities> port_caps_;
  std::vector<std::unique_ptr<dpdk::Worker>> workers_;
  std::vector<std::unique_ptr<dpdk::PortLinks>> links_;  // per port
  std::vector<rte_ring*> message_rings_;                 // per worker
  std::unique_ptr<dpdk::Inspector> inspector_;           // the /dtcp/* telemetry commands
  dpdk::Capture capture_;
  bool pdump_started_ = false;
};

// `--telemetry` clients (dpdk-telemetry.py) read "/dtcp/counters": the published per-lcore
// snapshots summed, every counter including zeros, so monitoring sees a fixed schema. A DPDK
// 22.11 telemetry dict holds at most RTE_TEL_MAX_DICT_ENTRIES (256) entries and drops the rest
// without an error, so the counters come in groups that each fit: the interface and lcore
// counters by default (or ",net"), the TCP counters (tcp_*) with ",tcp".
#define DTCP_COUNT_ONE(name, description) +1
constexpr size_t kNetAndLcoreCounters = 0 DTCP_NET_COUNTERS(DTCP_COUNT_ONE) DTCP_LCORE_COUNTERS(DTCP_COUNT_ONE);
constexpr size_t kTcpCounters = 0 DTCP_TCP_COUNTERS(DTCP_COUNT_ONE);
#undef DTCP_COUNT_ONE
static_assert(kNetAndLcoreCounters <= RTE_TEL_MAX_DICT_ENTRIES, "/dtcp/counters: split the net group");
static_assert(kTcpCounters <= RTE_TEL_MAX_DICT_ENTRIES, "/dtcp/counters,tcp: split the tcp group");

int telemetry_counters(const char*, const char* params, rte_tel_data* data) {
  RuntimeImpl* runtime = g_telemetry_runtime.load();
  if (runtime == nullptr) return -1;
  const std::string_view group = params == nullptr ? "" : params;
  if (group != "" && group != "net" && group != "tcp") return -EINVAL;
  const dpdk::StackCounters total = runtime->counters_total();
  rte_tel_data_start_dict(data);
  if (group == "tcp") {
#define DTCP_TELEMETRY_TCP(name, description) rte_tel_data_add_dict_u64(data, "tcp_" #name, total.tcp.name);
    DTCP_TCP_COUNTERS(DTCP_TELEMETRY_TCP)
#undef DTCP_TELEMETRY_TCP
    return 0;
  }
#define DTCP_TELEMETRY_NET(name, description) rte_tel_data_add_dict_u64(data, #name, total.net.name);
  DTCP_NET_COUNTERS(DTCP_TELEMETRY_NET)
#undef DTCP_TELEMETRY_NET
#define DTCP_TELEMETRY_LCORE(name, description) rte_tel_data_add_dict_u64(data, #name, total.lcore.name);
  DTCP_LCORE_COUNTERS(DTCP_TELEMETRY_LCORE)
#undef DTCP_TELEMETRY_LCORE
  return 0;
}

size_t RuntimeImpl::shutdown() {
  g_telemetry_runtime.store(nullptr);
  if (inspector_) inspector_->detach();  // waits for a command in flight; the lcores have stopped
  workers_.clear();  // frees every mbuf the stacks hold before the pools go
  const size_t capture_mbufs = capture_.shutdown();  // before the ports close: it removes callbacks
  for (auto& links : links_) {
    for (rte_ring* r : links->steer) {
      if (r == nullptr) continue;
      // Frames steered to a queue that stopped before taking them.
      void* obj = nullptr;
      while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
      rte_ring_free(r);
    }
  }
  links_.clear();
  for (rte_ring* r : message_rings_) rte_ring_free(r);  // messages are plain data: nothing to free
  message_rings_.clear();
  for (uint16_t id : started_ports_) rte_eth_dev_stop(id);
  started_ports_.clear();
  for (uint16_t id : port_ids_) rte_eth_dev_close(id);  // releases the mbufs posted for receive
  port_ids_.clear();
  for (auto& [name, rings] : ring_pairs_) {
    for (rte_ring* r : rings) {
      // Frames still in flight between two ring ports.
      void* obj = nullptr;
      while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
      rte_ring_free(r);
    }
  }
  ring_pairs_.clear();
  size_t in_use = capture_mbufs;
  for (auto& [socket, pool] : pools_) in_use += rte_mempool_in_use_count(pool);
  return in_use;
}

ResourceReport RuntimeImpl::account() {
  ResourceReport r;
  for (const auto& worker : workers_) {
    if (!worker->exited()) continue;  // run() never started it: nothing to account for
    const tcp::ShardResources left = worker->teardown();
    r.connections += std::max(left.tcbs_in_use, left.tcbs_in_table);
    r.time_wait += left.time_wait_records;
    r.timers += left.timers_armed;
    r.sent_records += left.sent_records_in_use;
    r.events += left.events_pending;
  }
  r.mbufs = shutdown();
  return r;
}

RuntimeImpl::~RuntimeImpl() {
  shutdown();
  for (auto& [socket, pool] : pools_) rte_mempool_free(pool);
  if (pdump_started_) dpdk::stop_pdump_server();
  if (eal_started_) {
    rte_eal_cleanup();
    remove_runtime_dir();
  }
}

std::string g_runtime_dir;

extern "C" void remove_runtime_dir_at_exit() {
  if (!g_runtime_dir.empty()) rmdir(g_runtime_dir.c_str());
}

void RuntimeImpl::remove_runtime_dir() {
  // EAL leaves its (by now empty) runtime directory behind; a long CI run would collect thousands.
  // Telemetry removes its socket from an atexit handler registered during rte_eal_init, so ours,
  // registered before, runs after it.
  if (runtime_dir_.empty()) return;
  rmdir(runtime_dir_.c_str());
  if (g_runtime_dir.empty()) {
    g_runtime_dir = runtime_dir_;
    std::atexit(remove_runtime_dir_at_exit);
  }
}

rte_mempool* RuntimeImpl::pool_for_socket(int socket) {
  if (socket < 0) socket = 0;
  if (auto it = pools_.find(socket); it != pools_.end()) return it->second;
  const std::string name = "dtcp_mbufs_s" + std::to_string(socket);
  // Mbufs in one lcore's cache are free but out of every other lcore's reach: with a small pool,
  // caches of the configured size (up to 1.5 x that each) could hold most of it while another
  // lcore finds none. Each lcore (the workers and the main one) may cache at most an eighth of
  // its even share of the pool.
  unsigned lcores = 1;
  for (const auto& p : config_.ports) lcores += p.rx_queues;
  const unsigned cache = std::min<unsigned>(config_.mempool.cache, config_.mempool.mbufs / (8 * lcores));
  if (cache < config_.mempool.cache) {
    DTCP_LOG(runtime, notice, "dtcp: [mempool] cache %u lowered to %u for a pool of %u mbufs shared by %u lcores\n",
             config_.mempool.cache, cache, config_.mempool.mbufs, lcores);
  }
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), config_.mempool.mbufs, cache, 0,
                                              data_room_for(config_), socket);
  if (pool == nullptr) {
    throw RuntimeError("mbuf pool on socket " + std::to_string(socket) + " (" + std::to_string(config_.mempool.mbufs) +
                       " mbufs of " + std::to_string(data_room_for(config_)) +
                       " bytes): " + rte_strerror(rte_errno) +
                       "; lower [mempool] mbufs or give EAL more memory (with --no-huge, --in-memory caps it at 64 MB;"
                       " use --no-huge --no-shconf -m MB, or hugepages)");
  }
  pools_[socket] = pool;
  return pool;
}

uint16_t RuntimeImpl::create_ring_port(const PortConfig& port) {
  const auto colon = port.ring.find(':');
  const std::string pair = port.ring.substr(0, colon);
  const int side = port.ring[colon + 1] - '0';
  const unsigned queues = port.rx_queues;
  auto& rings = ring_pairs_[pair];
  if (rings.empty()) {
    for (unsigned i = 0; i < 2 * queues; i++) {
      const std::string name = "dtcp_" + pair + "_" + std::to_string(i);
      rte_ring* r = rte_ring_create(name.c_str(), 4096, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (r == nullptr) throw RuntimeError(port_label(port) + " ring: cannot create ring " + name + ": " + rte_strerror(rte_errno));
      rings.push_back(r);
    }
  } else if (rings.size() != 2 * queues) {
    throw RuntimeError(port_label(port) + " ring: both sides of pair '" + pair + "' need the same queue count");
  }
  // Side 0 sends on the first half and receives on the second; side 1 the other way round.
  std::vector<rte_ring*> tx(rings.begin() + (side == 0 ? 0 : queues), rings.begin() + (side == 0 ? queues : 2 * queues));
  std::vector<rte_ring*> rx(rings.begin() + (side == 0 ? queues : 0), rings.begin() + (side == 0 ? 2 * queues : queues));
  const std::string name = "net_ring_" + pair + "_" + std::to_string(side);
  const int id = rte_eth_from_rings(name.c_str(), rx.data(), queues, tx.data(), queues, rte_socket_id());
  if (id < 0) throw RuntimeError(port_label(port) + " ring: rte_eth_from_rings failed: " + rte_strerror(rte_errno));
  return static_cast<uint16_t>(id);
}

uint16_t RuntimeImpl::find_port(const PortConfig& port) {
  if (!port.ring.empty()) return create_ring_port(port);
  const std::string name = !port.vdev.empty() ? port.vdev.substr(0, port.vdev.find(',')) : port.pci;
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    throw RuntimeError(port_label(port) + ": no DPDK port named '" + name +
                       "' after EAL start (is its driver available, and the device not excluded by -a/-b?)");
  }
  return id;
}

void RuntimeImpl::configure_port(const PortConfig& port, uint16_t port_id, dpdk::PortCapabilities& caps) {
  const std::string label = port_label(port);
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    throw RuntimeError(label + ": rte_eth_dev_info_get: " + rte_strerror(-rc));
  }
  if (port.rx_queues > info.max_rx_queues || port.tx_queues > info.max_tx_queues) {
    throw RuntimeError(label + ": " + std::to_string(port.rx_queues) + " queue pairs requested, the device has " +
                       std::to_string(info.max_rx_queues) + " rx and " + std::to_string(info.max_tx_queues) + " tx");
  }
  if (port.mtu > info.max_mtu || port.mtu < info.min_mtu) {
    throw RuntimeError(label + " mtu: " + std::to_string(port.mtu) + " is outside the device's range " +
                       std::to_string(info.min_mtu) + ".." + std::to_string(info.max_mtu));
  }
  rte_eth_conf conf{};
  conf.rxmode.mtu = port.mtu;
  if (port.offloads) {
    const uint64_t rx_wanted = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    const uint64_t tx_wanted = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    conf.rxmode.offloads = info.rx_offload_capa & rx_wanted;
    conf.txmode.offloads = info.tx_offload_capa & tx_wanted;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  // RSS with the symmetric key where the device can hash IPv4/TCP and has a RETA we can read;
  // otherwise every queue steers in software with the same key and a RETA of our own.
  dpdk::PortRss& rss = caps.rss;
  std::vector<uint8_t> key;
  bool try_rss = false;
  if (port.rx_queues == 1) {
    rss.mode = dpdk::PortRss::Mode::single_queue;
  } else if ((info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) == 0) {
    rss.reason = "the device has no RSS for IPv4/TCP";
  } else if (info.reta_size == 0 || info.hash_key_size < 16) {
    rss.reason = "the device reports no redirection table (reta_size " + std::to_string(info.reta_size) +
                 ") or hash key (" + std::to_string(info.hash_key_size) + " bytes)";
  } else {
    try_rss = true;
    key = dpdk::symmetric_rss_key(info.hash_key_size);
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 |
                                       RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6);
  }
  caps.tx_ip_checksum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  caps.tx_tcp_checksum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  caps.rx_checksum = conf.rxmode.offloads != 0;
  caps.driver = info.driver_name ? info.driver_name : "?";
  if (port.offloads && !port.ring.empty()) {
    // A net_ring pair is two ports of this process handing each other the same mbuf: nothing
    // between them can damage a frame. As Linux's veth does (CHECKSUM_PARTIAL passed through,
    // trusted on receive), the TCP checksum is left undone and the receiving port trusts a
    // segment marked so; the impairment stage writes it before it corrupts a frame. Most of a
    // bulk stream's cycles over net_ring went on these checksums (see Benchmarks).
    caps.tx_tcp_checksum = true;
    caps.rx_trust_tx_checksum = true;
  }
  configure_tso(port, info, conf, caps);
  configure_gro(port, info, conf, caps);

  int configured = rte_eth_dev_configure(port_id, port.rx_queues, port.tx_queues, &conf);
  if (configured != 0 && try_rss) {
    rss.reason = std::string("configuring RSS failed (") + rte_strerror(-configured) + ")";
    try_rss = false;
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
    conf.rx_adv_conf.rss_conf = {};
    configured = rte_eth_dev_configure(port_id, port.rx_queues, port.tx_queues, &conf);
  }
  if (configured != 0) throw RuntimeError(label + ": rte_eth_dev_configure: " + rte_strerror(-configured));
  uint16_t rx_desc = port.rx_desc;
  uint16_t tx_desc = port.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  const int socket = rte_eth_dev_socket_id(port_id);
  rte_mempool* pool = pool_for_socket(socket);
  for (uint16_t q = 0; q < port.rx_queues; q++) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, socket, &rxconf, pool); rc != 0) {
      throw RuntimeError(label + ": rx queue " + std::to_string(q) + ": " + rte_strerror(-rc));
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, socket, &txconf); rc != 0) {
      throw RuntimeError(label + ": tx queue " + std::to_string(q) + ": " + rte_strerror(-rc));
    }
  }
  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    throw RuntimeError(label + ": rte_eth_dev_start: " + rte_strerror(-rc));
  }
  started_ports_.push_back(port_id);
  if (try_rss) read_back_rss(port, port_id, info, rss);
  if (port.rx_queues > 1 && rss.mode != dpdk::PortRss::Mode::hardware) {
    rss.mode = dpdk::PortRss::Mode::software;
    rss.key = dpdk::symmetric_rss_key();
    rss.reta = dpdk::build_reta(dpdk::kSoftwareRetaSize, port.rx_queues, port.reta);
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port_id, &mac);
  std::memcpy(caps.mac.bytes.data(), mac.addr_bytes, 6);
  if (port.mac && *port.mac != caps.mac) {
    std::memcpy(mac.addr_bytes, port.mac->bytes.data(), 6);
    // Devices that cannot change their address (net_ring) either do not filter at all or can
    // take it as a secondary address; failing both, promiscuous mode lets the frames in.
    if (rte_eth_dev_default_mac_addr_set(port_id, &mac) != 0 && rte_eth_dev_mac_addr_add(port_id, &mac, 0) != 0 &&
        rte_eth_promiscuous_enable(port_id) != 0 && caps.driver != "net_ring") {
      DTCP_LOG(port, warning, "dtcp: %s mac: the device keeps its own address and cannot go promiscuous; frames to %s may "
               "be filtered\n", label.c_str(), port.mac->to_string().c_str());
    }
    caps.mac = *port.mac;
  }
  if (port.has_ipv6()) {
    // RFC 4861 §7.2.1: receive the all-nodes and solicited-node groups. A device without a
    // multicast filter (or one too small), or a list too long to program (a long range), takes
    // all multicast instead.
    const auto groups = stack::Interface::ipv6_multicast_macs(caps.mac, port.addresses6);
    std::vector<rte_ether_addr> list(groups ? groups->size() : 0);
    for (size_t i = 0; i < list.size(); ++i) std::memcpy(list[i].addr_bytes, (*groups)[i].bytes.data(), 6);
    const bool filtered =
        groups && rte_eth_dev_set_mc_addr_list(port_id, list.data(), static_cast<uint32_t>(list.size())) == 0;
    if (!filtered && rte_eth_allmulticast_enable(port_id) != 0 && rte_eth_promiscuous_get(port_id) != 1 &&
        caps.driver != "net_ring") {
      DTCP_LOG(port, warning, "dtcp: %s: the device takes neither a multicast filter nor all-multicast; IPv6 neighbour "
               "discovery may not reach it\n", label.c_str());
    }
  }
  caps.pool = pool;
  caps.pool_shards = 0;
  for (const auto& p : config_.ports) caps.pool_shards += p.rx_queues;  // one pool per socket: all of them

  // Wait for the link up to 3 s; virtual devices are up at once. A NIC whose link stays down is
  // reported and still used (the cable may come later).
  rte_eth_link link{};
  for (int i = 0; i < 30; i++) {
    rte_eth_link_get_nowait(port_id, &link);
    if (link.link_status == RTE_ETH_LINK_UP) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  char status[RTE_ETH_LINK_MAX_STR_LEN];
  rte_eth_link_to_str(status, sizeof(status), &link);
  const std::string tso = caps.tso_reason.empty()
                              ? std::string(caps.tso_max_payload_v6 != 0 ? "yes" : "ipv4") + " (up to " +
                                    std::to_string(caps.tso_max_payload_v4) + " bytes)"
                              : "no (" + caps.tso_reason + ")";
  const std::string gro = caps.rx_lro            ? std::string("lro")
                          : caps.rx_gro_software ? std::string("rte_gro (tcp/ipv4)")
                                                 : "no (" + caps.gro_reason + ")";
  DTCP_LOG(port, info, "dtcp: %s port %u (%s) mac %s mtu %u, %u queue pair(s), offloads rx-csum=%s tx-ip-csum=%s tx-tcp-csum=%s tso=%s gro=%s; %s\n",
           label.c_str(), port_id, caps.driver.c_str(), caps.mac.to_string().c_str(), port.mtu, port.rx_queues,
           caps.rx_trust_tx_checksum ? "pass-through" : caps.rx_checksum ? "yes" : "no",
           caps.tx_ip_checksum ? "yes" : "no",
           caps.rx_trust_tx_checksum ? "pass-through" : caps.tx_tcp_checksum ? "yes" : "no", tso.c_str(), gro.c_str(),
           status);
  if (rss.mode != dpdk::PortRss::Mode::single_queue) {
    // The table is usually a short pattern repeated: print one period.
    size_t period = 1;
    while (period < rss.reta.size()) {
      bool repeats = true;
      for (size_t i = period; i < rss.reta.size() && repeats; i++) repeats = rss.reta[i] == rss.reta[i % period];
      if (repeats) break;
      period *= 2;
    }
    std::string reta;
    for (size_t i = 0; i < period; i++) reta += (i ? "," : "") + std::to_string(rss.reta[i]);
    if (period < rss.reta.size()) reta += " repeated";
    std::string key_hex;
    for (uint8_t b : rss.key) {
      char hex[3];
      std::snprintf(hex, sizeof(hex), "%02x", b);
      key_hex += hex;
    }
    DTCP_LOG(port, info, "dtcp: %s rss: %s%s%s; key %s; reta %zu entries: %s\n", label.c_str(), to_string(rss.mode),
             rss.reason.empty() ? "" : " because ", rss.reason.c_str(), key_hex.c_str(), rss.reta.size(),
             reta.c_str());
  }
}

// TCP segmentation offload: TCP hands the device one super-segment of up to 64 KB with
// tso_segsz = the MSS, and the device cuts it into segments with the headers replicated (RFC 9293
// is unaffected: the wire carries MSS-sized segments; the sender's bookkeeping per byte is the
// same). Only with the checksum offloads it implies, and not under tx impairment, whose loss and
// reordering act on frames as the wire would carry them.
void RuntimeImpl::configure_tso(const PortConfig& port, const rte_eth_dev_info& info, rte_eth_conf& conf,
                                dpdk::PortCapabilities& caps) {
  constexpr uint64_t kChecksums = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  if (!port.offloads) {
    caps.tso_reason = "offloads = no";
  } else if (port.tso == PortConfig::Tso::off) {
    caps.tso_reason = "tso = off";
  } else if (port.tx_impairment.enabled()) {
    caps.tso_reason = "tx impairment is configured (it would drop or reorder whole super-segments)";
  } else if (caps.rx_trust_tx_checksum) {
    // A net_ring pair (checksums passed through): the other end is this process's, which takes
    // a super-segment whole as LRO would have coalesced it (Interface: a passed-through
    // TX_TCP_SEG frame is marked RX_LRO, tso_segsz its segments' size), as Linux's veth passes
    // GSO packets through to GRO. Nothing cuts it, so no device offload is enabled.
    caps.tso_max_payload_v4 = 65535 - 20 - 60;
    caps.tso_max_payload_v6 = 65535 - 60;
    caps.tso_ip_packet_max = port.mtu;
    return;
  } else if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) == 0) {
    caps.tso_reason = "the device does not report it";
  } else if ((conf.txmode.offloads & kChecksums) != kChecksums) {
    caps.tso_reason = "the device lacks the IPv4 or TCP checksum offload it implies";
  } else if ((conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) == 0) {
    caps.tso_reason = "the device cannot send chained mbufs";
  }
  if (!caps.tso_reason.empty()) return;
  conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
  // The IP total length (IPv4) or payload length (IPv6) is 16 bits: 65535 less the largest
  // headers; and the chain must not have more mbufs than the device takes for one packet (the
  // first holds the headers, each further one a whole data room).
  uint32_t max_payload = 65535 - 20 - 60;
  const uint16_t room = static_cast<uint16_t>(data_room_for(config_) - RTE_PKTMBUF_HEADROOM);
  if (info.tx_desc_lim.nb_seg_max > 1) {
    max_payload = std::min<uint32_t>(max_payload, uint32_t{info.tx_desc_lim.nb_seg_max - 1u} * room);
  }
  caps.tso_max_payload_v4 = max_payload;
  caps.tso_max_payload_v6 = max_payload;
  caps.tso_ip_packet_max = port.mtu;
  if (caps.driver == "net_tap") {
    // net_tap in DPDK 22.11 segments in software with rte_gso, which cuts TCP over IPv4 only:
    // an IPv6 super-segment reaches the kernel whole, one frame far above the MTU (tried: Linux
    // took 172 such frames for 8 MiB; a real link would not). It also takes tso_segsz plus the
    // Ethernet, IP and TCP headers as the frame size and refuses (counts an error, sends
    // nothing) any frame above the MTU: with segments of a whole MSS every super-segment was
    // refused (tx_burst short, drop_tx_full) and only one-MSS retransmissions got through. Its
    // IP packets are therefore 14 bytes short of the MTU.
    caps.tso_max_payload_v6 = 0;
    caps.tso_ip_packet_max = static_cast<uint16_t>(port.mtu - 14);
  }
}

// Receive coalescing: the device's LRO where it reports it, else rte_gro in software on each
// receive burst (TCP/IPv4 only in DPDK 22.11), not under rx impairment, whose loss and
// reordering act on the frames as the wire carried them.
void RuntimeImpl::configure_gro(const PortConfig& port, const rte_eth_dev_info& info, rte_eth_conf& conf,
                                dpdk::PortCapabilities& caps) {
  const bool lro = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) != 0;
  if (port.gro == PortConfig::Gro::off) {
    caps.gro_reason = "gro = off";
  } else if (port.gro == PortConfig::Gro::by_device && !lro && caps.driver != "net_tap") {
    caps.gro_reason = "gro = default: only net_tap and LRO devices";
  } else if (port.rx_impairment.enabled()) {
    caps.gro_reason = "rx impairment is configured";
  } else if (lro) {
    // A coalesced frame can exceed one mbuf: LRO needs the scatter offload beside it.
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO | (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER);
    if (info.max_lro_pkt_size != 0) conf.rxmode.max_lro_pkt_size = std::min<uint32_t>(info.max_lro_pkt_size, 65535);
    caps.rx_lro = true;
  } else {
    caps.rx_gro_software = true;
  }
}

void RuntimeImpl::read_back_rss(const PortConfig& port, uint16_t port_id, const rte_eth_dev_info& info,
                                dpdk::PortRss& rss) {
  // The map dtcp computes must be the one the device applies: program the pattern, then trust
  // only what reads back.
  const size_t size = info.reta_size;
  std::vector<rte_eth_rss_reta_entry64> table((size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  const std::vector<uint16_t> wanted = dpdk::build_reta(size, port.rx_queues, port.reta);
  for (size_t i = 0; i < size; i++) {
    table[i / RTE_ETH_RETA_GROUP_SIZE].mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
    table[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = wanted[i];
  }
  // A device that cannot update its RETA keeps its default (usually the same round robin).
  const int updated = rte_eth_dev_rss_reta_update(port_id, table.data(), static_cast<uint16_t>(size));
  if (updated != 0 && !port.reta.empty()) {
    rss.reason = std::string("the device refused the configured reta (") + rte_strerror(-updated) + ")";
    return;
  }
  for (auto& group : table) {
    group.mask = ~uint64_t{0};
    std::fill(std::begin(group.reta), std::end(group.reta), uint16_t{0});
  }
  if (int rc = rte_eth_dev_rss_reta_query(port_id, table.data(), static_cast<uint16_t>(size)); rc != 0) {
    rss.reason = std::string("reading the RETA back failed (") + rte_strerror(-rc) + ")";
    return;
  }
  std::vector<uint16_t> reta(size);
  for (size_t i = 0; i < size; i++) {
    reta[i] = table[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    if (reta[i] >= port.rx_queues) {
      rss.reason = "the RETA read back names queue " + std::to_string(reta[i]);
      return;
    }
  }
  if ((size & (size - 1)) != 0) {
    rss.reason = "the RETA has " + std::to_string(size) + " entries, not a power of two";
    return;
  }
  std::vector<uint8_t> key(info.hash_key_size);
  rte_eth_rss_conf conf{};
  conf.rss_key = key.data();
  conf.rss_key_len = static_cast<uint8_t>(key.size());
  if (int rc = rte_eth_dev_rss_hash_conf_get(port_id, &conf); rc != 0 || (conf.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) == 0) {
    rss.reason = rc != 0 ? std::string("reading the hash key back failed (") + rte_strerror(-rc) + ")"
                         : std::string("the device does not hash IPv4/TCP after all");
    return;
  }
  // A device that kept its own key still places every flow consistently; dtcp hashes with it.
  if (key != dpdk::symmetric_rss_key(key.size())) rss.reason = "the device kept its own (asymmetric) key";
  rss.mode = dpdk::PortRss::Mode::hardware;
  rss.key = std::move(key);
  rss.reta = std::move(reta);
}

void RuntimeImpl::assign_lcores() {
  // Ports without explicit lcores take worker lcores in order, one per queue pair.
  unsigned next = rte_get_next_lcore(-1, 1, 0);
  for (auto& port : config_.ports) {
    if (!port.lcores.empty()) continue;
    for (unsigned q = 0; q < port.rx_queues; q++) {
      if (next >= RTE_MAX_LCORE) {
        throw RuntimeError(port_label(port) + ": not enough worker lcores; enable more with EAL -l/--lcores or set lcores");
      }
      port.lcores.push_back(next);
      next = rte_get_next_lcore(next, 1, 0);
    }
  }
  for (const auto& port : config_.ports) {
    for (unsigned id : port.lcores) {
      if (!rte_lcore_is_enabled(id) || id == rte_get_main_lcore()) {
        throw RuntimeError(port_label(port) + " lcores: lcore " + std::to_string(id) +
                           " is not an enabled worker lcore (the main lcore " + std::to_string(rte_get_main_lcore()) +
                           " only controls; enable workers with EAL -l/--lcores)");
      }
    }
  }
}

void RuntimeImpl::setup(const std::vector<std::string>& eal_override, const char* program_name) {
  std::vector<std::string> args = dpdk::build_eal_args(config_, eal_override, program_name);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (const auto& a : args) {
    if (a.rfind("--file-prefix=", 0) == 0) runtime_dir_ = "/var/run/dpdk/" + a.substr(14);
  }
  remove_runtime_dir();  // registers the exit-time removal before EAL registers its own handlers
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    throw RuntimeError("EAL initialisation failed (" + std::string(rte_strerror(rte_errno)) + ") with arguments:" + joined);
  }
  eal_started_ = true;
  pdump_started_ = dpdk::start_pdump_server(args);
  g_telemetry_runtime.store(this);
  rte_telemetry_register_cmd("/dtcp/counters", telemetry_counters,
                             "dtcp counters summed over lcores: L2/L3 and lcore ones, or with ,tcp the TCP (tcp_*) ones");
  assign_lcores();
  for (const auto& port : config_.ports) {
    const uint16_t id = find_port(port);
    port_ids_.push_back(id);
    configure_port(port, id, port_caps_.emplace_back());
  }
  // One Worker per lcore, polling every (port, queue) assigned to it.
  std::map<unsigned, dpdk::Worker*> by_lcore;
  for (size_t p = 0; p < config_.ports.size(); p++) {
    const auto& port = config_.ports[p];
    auto& links = *links_.emplace_back(std::make_unique<dpdk::PortLinks>());
    links.queues = port.rx_queues;
    for (uint16_t q = 0; q < port.rx_queues; q++) {
      const unsigned lcore = port.lcores[q];
      auto& worker = by_lcore[lcore];
      if (worker == nullptr) {
        workers_.push_back(std::make_unique<dpdk::Worker>(lcore, config_.runtime, g_stop_requested));
        worker = workers_.back().get();
      }
      worker->add_queue(config_, port, port_ids_[p], q, port_caps_[p]);
      links.stacks.push_back(&worker->queue(worker->queue_count() - 1));
      links.workers.push_back(worker);
    }
  }
  link_queues();
  std::vector<dpdk::CapturePort> capture_ports;
  for (size_t p = 0; p < config_.ports.size(); p++) {
    const auto& port = config_.ports[p];
    capture_ports.push_back({port.name, port_ids_[p], port.rx_queues, port.tx_queues});
  }
  capture_.set_ports(std::move(capture_ports), data_room_for(config_) - RTE_PKTMBUF_HEADROOM);
  capture_.register_telemetry();
  if (!config_.runtime.capture.empty()) capture_.start_or_throw(config_.runtime.capture);
  const IdlePolicy idle = resolve_idle_policy();
  for (auto& worker : workers_) worker->set_idle(idle);
  std::vector<dpdk::QueueStack*> stacks;
  for (const auto& links : links_) stacks.insert(stacks.end(), links->stacks.begin(), links->stacks.end());
  std::vector<const dpdk::Worker*> workers;
  for (const auto& worker : workers_) workers.push_back(worker.get());
  std::vector<rte_mempool*> pools;
  for (const auto& [socket, pool] : pools_) pools.push_back(pool);
  inspector_ = std::make_unique<dpdk::Inspector>(config_, std::move(stacks), std::move(workers), port_ids_, std::move(pools));
  inspector_->attach();
}

void RuntimeImpl::link_queues() {
  for (size_t p = 0; p < links_.size(); p++) {
    auto& links = *links_[p];
    const uint16_t queues = links.queues;
    links.steer.assign(size_t{queues} * queues, nullptr);
    for (uint16_t from = 0; from < queues && queues > 1; from++) {
      for (uint16_t to = 0; to < queues; to++) {
        if (from == to) continue;
        // One producer (the receiving queue's lcore), one consumer (the owner's): SPSC.
        const std::string name = "dtcp_st" + std::to_string(port_ids_[p]) + "_" + std::to_string(from) + "_" +
                                 std::to_string(to);
        rte_ring* ring = rte_ring_create(name.c_str(), config_.runtime.steer_ring, rte_eth_dev_socket_id(port_ids_[p]),
                                         RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (ring == nullptr) {
          throw RuntimeError(port_label(config_.ports[p]) + ": steering ring " + name + ": " + rte_strerror(rte_errno) +
                             " (lower [runtime] steer_ring or give EAL more memory)");
        }
        links.steer[size_t{from} * queues + to] = ring;
      }
    }
    for (dpdk::QueueStack* stack : links.stacks) stack->link(&links);
  }
  for (auto& worker : workers_) {
    // Any lcore may post (multi-producer); only the owner takes (single consumer).
    const std::string name = "dtcp_msg" + std::to_string(worker->lcore_id());
    rte_ring* ring = rte_ring_create_elem(name.c_str(), sizeof(dpdk::Message), config_.runtime.message_ring,
                                          static_cast<int>(rte_lcore_to_socket_id(worker->lcore_id())),
                                          RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (ring == nullptr) {
      throw RuntimeError("lcore " + std::to_string(worker->lcore_id()) + " message ring: " + rte_strerror(rte_errno) +
                         " (lower [runtime] message_ring or give EAL more memory)");
    }
    message_rings_.push_back(ring);
    worker->set_message_ring(ring);
    // Application threads' posts (Worker::post_foreign says why they have their own ring).
    const std::string foreign_name = "dtcp_app" + std::to_string(worker->lcore_id());
    rte_ring* foreign = rte_ring_create_elem(foreign_name.c_str(), sizeof(dpdk::Message), config_.runtime.message_ring,
                                             static_cast<int>(rte_lcore_to_socket_id(worker->lcore_id())),
                                             RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (foreign == nullptr) {
      throw RuntimeError("lcore " + std::to_string(worker->lcore_id()) + " application message ring: " +
                         rte_strerror(rte_errno) + " (lower [runtime] message_ring or give EAL more memory)");
    }
    message_rings_.push_back(foreign);
    worker->set_foreign_ring(foreign);
  }
}

IdlePolicy RuntimeImpl::resolve_idle_policy() const {
  // The lcores that run (main and workers; enabled lcores without work sleep in EAL) and the
  // CPUs they may run on: the union of their affinity sets.
  rte_cpuset_t cpus;
  CPU_ZERO(&cpus);
  std::vector<unsigned> running{rte_get_main_lcore()};
  for (const auto& worker : workers_) running.push_back(worker->lcore_id());
  for (unsigned id : running) {
    const rte_cpuset_t set = rte_lcore_cpuset(id);
    CPU_OR(&cpus, &cpus, &set);
  }
  const auto lcores = static_cast<unsigned>(running.size());
  const unsigned cpu_count = static_cast<unsigned>(CPU_COUNT(&cpus));
  IdlePolicy idle = config_.runtime.idle;
  if (idle == IdlePolicy::automatic) idle = lcores > cpu_count ? IdlePolicy::adaptive : IdlePolicy::busy;
  if (idle == IdlePolicy::adaptive) {
    DTCP_LOG(runtime, info, "dtcp: %u lcores (main + %zu workers) on %u CPUs: idle policy adaptive%s (after %u empty polls "
             "pause, after %u sleep up to %lld us)\n", lcores, workers_.size(), cpu_count,
             config_.runtime.idle == IdlePolicy::automatic ? " (auto)" : "", config_.runtime.idle_polls,
             2 * config_.runtime.idle_polls, static_cast<long long>(config_.runtime.idle_sleep_max.count()));
  } else {
    DTCP_LOG(runtime, info, "dtcp: %u lcores (main + %zu workers) on %u CPUs: idle policy busy%s\n", lcores,
             workers_.size(), cpu_count, config_.runtime.idle == IdlePolicy::automatic ? " (auto)" : "");
  }
  return idle;
}

void RuntimeImpl::install_signal_handlers() {
  struct sigaction action{};
  action.sa_handler = handle_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  action.sa_handler = handle_print_signal;
  sigaction(SIGUSR1, &action, nullptr);
}

void RuntimeImpl::run(const AppFactory& factory) {
  for (auto& worker : workers_) worker->set_factory(&factory);
  for (auto& worker : workers_) {
    if (int rc = rte_eal_remote_launch(&dpdk::Worker::launch, worker.get(), worker->lcore_id()); rc != 0) {
      request_stop();
      rte_eal_mp_wait_lcore();
      throw RuntimeError("cannot launch lcore " + std::to_string(worker->lcore_id()) + ": " + rte_strerror(-rc));
    }
  }
  // The main lcore only controls: it waits for stop and serves on-demand counter printing.
  while (!g_stop_requested.load(std::memory_order_relaxed)) {
    if (g_print_requested.exchange(false)) {
      print_counters(stdout, true);
      for (auto& worker : workers_) worker->request_connection_dump();  // each lcore prints its own
    }
    bool all_exited = true;
    for (auto& worker : workers_) all_exited &= worker->exited();
    if (all_exited) break;
    // A running capture's copies are written from here: wake more often while one runs.
    timespec pause{0, capture_.poll() ? 1'000'000 : 20'000'000};
    nanosleep(&pause, nullptr);
  }
  const unsigned signals = g_stop_signals.load(std::memory_order_relaxed);
  request_stop();
  wait_for_workers_or_exit(signals);
  rte_eal_mp_wait_lcore();
}

void RuntimeImpl::wait_for_workers_or_exit(unsigned signals_before) {
  const auto grace = config_.runtime.stop_grace;
  const auto start = std::chrono::steady_clock::now();
  auto still_running = [this](unsigned& count) {
    std::string ids;
    count = 0;
    for (auto& worker : workers_)
      if (!worker->exited()) ids += (count++ == 0 ? "" : ",") + std::to_string(worker->lcore_id());
    return ids;
  };
  bool announced = false;
  unsigned stuck_count = 0;
  for (;;) {
    const std::string running = still_running(stuck_count);
    if (stuck_count == 0) return;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (!announced && waited >= std::chrono::milliseconds(100)) {
      // A loop stops within one iteration; one that has not after 100 ms may be stuck.
      announced = true;
      DTCP_LOG(runtime, notice, "dtcp: waiting for %s %s to stop (%s; a second SIGINT/SIGTERM ends the wait)\n",
               stuck_count == 1 ? "lcore" : "lcores", running.c_str(),
               grace.count() > 0 ? ("at most stop_grace_ms = " + std::to_string(grace.count())).c_str()
                                 : "stop_grace_ms = 0: however long it takes");
    }
    const bool signalled_again = g_stop_signals.load(std::memory_order_relaxed) > signals_before;
    if (signalled_again || (grace.count() > 0 && waited >= grace)) break;
    timespec pause{0, 1'000'000};
    nanosleep(&pause, nullptr);
  }
  const std::string stuck = still_running(stuck_count);
  const bool signalled_again = g_stop_signals.load(std::memory_order_relaxed) > signals_before;
  const std::string why = signalled_again ? "before a second stop signal"
                                          : "within stop_grace_ms = " + std::to_string(grace.count());
  // Nothing after this can run safely: the lcore's stack, pools and port are still in use, and
  // EAL cleanup would wait for it as rte_eal_mp_wait_lcore() does.
  DTCP_LOG(runtime, error, "dtcp: %s %s did not stop %s (a callback that does not return, or a loop "
           "that cannot end); exiting without cleanup\n", stuck_count == 1 ? "lcore" : "lcores", stuck.c_str(),
           why.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(EXIT_FAILURE);
}

void RuntimeImpl::print_counters(FILE* out, bool per_lcore) {
  dpdk::StackCounters total;
  std::vector<std::pair<unsigned, dpdk::StackCounters>> each;
  for (auto& worker : workers_) {
    const dpdk::StackCounters c = worker->counters_snapshot();
    total += c;
    each.emplace_back(worker->lcore_id(), c);
  }
  // `name value  # meaning`, zeros left out; TCP counters carry a tcp_ prefix.
  auto print = [out](const dpdk::StackCounters& c, bool describe) {
#define DTCP_PRINT_NET(name, description)                                                              \
  if (c.net.name != 0)                                                                                 \
    std::fprintf(out, "%-32s %20llu%s%s\n", #name, static_cast<unsigned long long>(c.net.name),         \
                 describe ? "  # " : "", describe ? description : "");
    DTCP_NET_COUNTERS(DTCP_PRINT_NET)
#undef DTCP_PRINT_NET
#define DTCP_PRINT_TCP(name, description)                                                              \
  if (c.tcp.name != 0)                                                                                 \
    std::fprintf(out, "%-32s %20llu%s%s\n", "tcp_" #name, static_cast<unsigned long long>(c.tcp.name), \
                 describe ? "  # " : "", describe ? description : "");
    DTCP_TCP_COUNTERS(DTCP_PRINT_TCP)
#undef DTCP_PRINT_TCP
#define DTCP_PRINT_LCORE(name, description)                                                            \
  if (c.lcore.name != 0)                                                                               \
    std::fprintf(out, "%-32s %20llu%s%s\n", #name, static_cast<unsigned long long>(c.lcore.name),      \
                 describe ? "  # " : "", describe ? description : "");
    DTCP_LCORE_COUNTERS(DTCP_PRINT_LCORE)
#undef DTCP_PRINT_LCORE
  };
  // The MIB first, under the names netstat/nstat use (src/dpdk/mib.hpp), then dtcp's own.
  auto print_mib = [out](const dpdk::StackCounters& c, bool describe) {
    dpdk::for_each_mib(c, [&](const char* name, uint64_t value, const char* description) {
      std::fprintf(out, "%-32s %20llu%s%s\n", name, static_cast<unsigned long long>(value), describe ? "  # " : "",
                   describe ? description : "");
    });
  };
  std::fprintf(out, "# TCP MIB (RFC 4022 and Linux nstat names; all lcores)\n");
  print_mib(total, true);
  std::fprintf(out, "# dtcp counters (all lcores)\n");
  print(total, true);
  if (per_lcore && each.size() > 1) {
    for (const auto& [lcore, c] : each) {
      std::fprintf(out, "# lcore %u MIB\n", lcore);
      print_mib(c, false);
      std::fprintf(out, "# lcore %u\n", lcore);
      print(c, false);
    }
  }
  std::fflush(out);
}

void RuntimeImpl::print_connections(FILE* out) {
  for (auto& worker : workers_) {
    if (worker->exited()) worker->print_connections(out);
  }
}

}  // namespace

std::string ResourceReport::to_string() const {
  if (ok()) return "ok";
  std::string out = "LEAK";
  auto add = [&](const char* name, size_t n) {
    if (n != 0) out += std::string(" ") + name + "=" + std::to_string(n);
  };
  add("connections", connections);
  add("time_wait", time_wait);
  add("timers", timers);
  add("sent_records", sent_records);
  add("events", events);
  add("mbufs", mbufs);
  return out;
}

std::unique_ptr<Runtime> Runtime::start(const Config& config, const std::vector<std::string>& eal_override,
                                        const char* program_name) {
  g_stop_requested.store(false);
  auto runtime = std::make_unique<RuntimeImpl>(config);
  runtime->setup(eal_override, program_name);
  return runtime;
}

}  // namespace dtcp
