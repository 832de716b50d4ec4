#include "dpdk/capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_pdump.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <ctime>

#include "dtcp/runtime.hpp"

namespace dtcp::dpdk {
namespace {

// Copies waiting for the main lcore, which drains them every millisecond while a capture runs:
// 2048 covers about 2 M frames/s; beyond that copies are dropped and counted.
constexpr unsigned kRingSize = 2048;
constexpr unsigned kPoolSize = 4095;  // ring + bursts being copied + a burst being written
constexpr unsigned kPoolCache = 32;
constexpr unsigned kCopyChunk = 32;
// Enough of a frame to find its TCP/UDP ports behind Ethernet, a VLAN tag and IPv6 extensions.
constexpr uint32_t kFilterHeaderBytes = 192;

std::atomic<Capture*> g_telemetry_capture{nullptr};
std::atomic<unsigned> g_ring_serial{0};

// Telemetry string values are copied into fixed buffers and written into JSON unescaped in
// DPDK 22.11: keep them short and free of the characters JSON would need escaped.
std::string telemetry_safe(std::string text) {
  for (char& c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
  }
  if (text.size() >= RTE_TEL_MAX_STRING_LEN) text.resize(RTE_TEL_MAX_STRING_LEN - 1);
  return text;
}

}  // namespace

bool start_pdump_server(const std::vector<std::string>& eal_args) {
  for (const auto& arg : eal_args) {
    if (arg == "--no-shconf" || arg == "--in-memory") {
      std::fprintf(stderr, "dtcp: dpdk-dumpcap cannot attach (EAL runs with %s); /dtcp/capture still works\n",
                   arg.c_str());
      return false;
    }
  }
  if (rte_pdump_init() != 0) {
    std::fprintf(stderr, "dtcp: rte_pdump_init failed (%s): dpdk-dumpcap cannot attach\n", rte_strerror(rte_errno));
    return false;
  }
  return true;
}

void stop_pdump_server() { rte_pdump_uninit(); }

struct Capture::Session {
  CaptureSpec spec;
  rte_mempool* pool = nullptr;
  rte_ring* ring = nullptr;
  rte_pcapng_t* pcapng = nullptr;
  struct Installed {
    uint16_t port_id;
    uint16_t queue;
    bool rx;
    const rte_eth_rxtx_callback* callback;
  };
  std::vector<Installed> callbacks;
  bool callbacks_removed = false;
  // The wall clock and the TSC read together at start: packet times are converted from these.
  uint64_t base_ns = 0;
  uint64_t base_cycles = 0;
  uint64_t tsc_hz = 1;

  // Written by the workers' callbacks.
  std::atomic<uint64_t> packets_reserved{0};
  std::atomic<uint64_t> bytes_reserved{0};
  std::atomic<uint64_t> captured{0};
  std::atomic<uint64_t> dropped_no_mbuf{0};
  std::atomic<uint64_t> dropped_ring_full{0};
  std::atomic<bool> limit_reached{false};
  std::atomic<unsigned> in_callback{0};

  // Main lcore / control path, under Capture::mutex_.
  uint64_t packets_written = 0;
  uint64_t bytes_written = 0;
  std::string ended;  // why it ended, once it has

  // Room under the limits for one more copy; false once a limit is hit.
  // The packet that reaches the limit is kept and ends the capture, without waiting for one more.
  bool reserve_packet() {
    if (spec.packet_limit == 0) return true;
    const uint64_t before = packets_reserved.fetch_add(1, std::memory_order_relaxed);
    if (before + 1 >= spec.packet_limit) limit_reached.store(true, std::memory_order_relaxed);
    return before < spec.packet_limit;
  }
  void unreserve_packet() {
    if (spec.packet_limit != 0) packets_reserved.fetch_sub(1, std::memory_order_relaxed);
  }
  bool reserve_bytes(uint32_t length) {
    if (spec.byte_limit == 0) return true;
    if (bytes_reserved.fetch_add(length, std::memory_order_relaxed) + length <= spec.byte_limit) return true;
    bytes_reserved.fetch_sub(length, std::memory_order_relaxed);
    limit_reached.store(true, std::memory_order_relaxed);
    return false;
  }

  void enqueue(rte_mbuf** copies, unsigned count) {
    if (count == 0) return;
    const unsigned queued = rte_ring_enqueue_burst(ring, reinterpret_cast<void**>(copies), count, nullptr);
    captured.fetch_add(queued, std::memory_order_relaxed);
    if (queued < count) {
      dropped_ring_full.fetch_add(count - queued, std::memory_order_relaxed);
      for (unsigned i = queued; i < count; i++) {
        unreserve_packet();
        rte_pktmbuf_free(copies[i]);
      }
    }
  }

  // The packet block's timestamp (ns since 1970) for TSC `cycles`. rte_pcapng_copy computes one
  // itself, but the Debian DPDK 22.11.11 library writes values about 8e18 ns (250 years) off
  // (seen in the raw blocks: 9.8e18 for a 1.8e18 clock), so each copy gets this one instead.
  uint64_t timestamp_ns(uint64_t cycles) const {
    const auto delta = static_cast<unsigned __int128>(cycles - base_cycles) * 1'000'000'000u;
    return base_ns + static_cast<uint64_t>(delta / tsc_hz);
  }

  // Runs on the worker lcore inside rte_eth_rx_burst / rte_eth_tx_burst.
  void copy_burst(uint16_t port_id, uint16_t queue, rte_mbuf* const* frames, uint16_t count,
                  rte_pcapng_direction direction) {
    in_callback.fetch_add(1, std::memory_order_acquire);
    const uint64_t now = rte_get_tsc_cycles();
    const uint64_t now_ns = timestamp_ns(now);
    std::array<rte_mbuf*, kCopyChunk> copies;
    unsigned pending = 0;
    for (uint16_t i = 0; i < count && !limit_reached.load(std::memory_order_relaxed); i++) {
      const rte_mbuf* frame = frames[i];
      if (spec.l4_port) {
        std::array<std::byte, kFilterHeaderBytes> scratch;
        const uint32_t length = std::min<uint32_t>(rte_pktmbuf_pkt_len(frame), kFilterHeaderBytes);
        const void* headers = rte_pktmbuf_read(frame, 0, length, scratch.data());
        if (headers == nullptr ||
            !frame_matches_l4_port({static_cast<const std::byte*>(headers), length}, *spec.l4_port)) {
          continue;
        }
      }
      if (!reserve_packet()) break;
      rte_mbuf* copy = rte_pcapng_copy(port_id, queue, frame, pool, spec.snaplen, now, direction);
      if (copy == nullptr) {
        dropped_no_mbuf.fetch_add(1, std::memory_order_relaxed);
        unreserve_packet();
        continue;
      }
      if (!reserve_bytes(rte_pktmbuf_pkt_len(copy))) {
        rte_pktmbuf_free(copy);
        break;
      }
      // The copy starts with its enhanced packet block (pcapng spec §4.3: block type, length,
      // interface id, timestamp high and low 32 bits, in the writer's byte order).
      auto* block = rte_pktmbuf_mtod(copy, uint32_t*);
      block[3] = static_cast<uint32_t>(now_ns >> 32);
      block[4] = static_cast<uint32_t>(now_ns);
      copies[pending++] = copy;
      if (pending == copies.size()) {
        enqueue(copies.data(), pending);
        pending = 0;
      }
    }
    enqueue(copies.data(), pending);
    in_callback.fetch_sub(1, std::memory_order_release);
  }

  static uint16_t on_rx(uint16_t port_id, uint16_t queue, rte_mbuf** frames, uint16_t count, uint16_t, void* self) {
    static_cast<Session*>(self)->copy_burst(port_id, queue, frames, count, RTE_PCAPNG_DIRECTION_IN);
    return count;
  }
  static uint16_t on_tx(uint16_t port_id, uint16_t queue, rte_mbuf** frames, uint16_t count, void* self) {
    static_cast<Session*>(self)->copy_burst(port_id, queue, frames, count, RTE_PCAPNG_DIRECTION_OUT);
    return count;
  }

  void remove_callbacks() {
    if (callbacks_removed) return;
    callbacks_removed = true;
    for (const auto& c : callbacks) {
      if (c.rx) {
        rte_eth_remove_rx_callback(c.port_id, c.queue, c.callback);
      } else {
        rte_eth_remove_tx_callback(c.port_id, c.queue, c.callback);
      }
    }
  }
};

Capture::Capture() = default;
Capture::~Capture() { shutdown(); }

void Capture::set_ports(std::vector<CapturePort> ports, uint32_t largest_frame) {
  std::lock_guard lock(mutex_);
  ports_ = std::move(ports);
  largest_frame_ = largest_frame;
}

void Capture::start_or_throw(const std::string& spec_text) {
  auto spec = parse_capture_spec(spec_text);
  if (auto* error = std::get_if<std::string>(&spec)) throw RuntimeError("[runtime] capture: " + *error);
  if (std::string error = start(std::get<CaptureSpec>(spec)); !error.empty()) {
    throw RuntimeError("[runtime] capture: " + error);
  }
}

std::string Capture::start(const CaptureSpec& spec) {
  std::lock_guard lock(mutex_);
  if (closed_) return "the runtime has stopped";
  if (running_) return "a capture is already running (to " + running_->spec.file + "); stop it first";
  std::vector<const CapturePort*> chosen;
  for (const std::string& wanted : spec.ports) {
    const auto found = std::find_if(ports_.begin(), ports_.end(), [&](const CapturePort& p) {
      return p.name == wanted || std::to_string(p.port_id) == wanted;
    });
    if (found == ports_.end()) {
      std::string known;
      for (const auto& p : ports_) known += (known.empty() ? "" : ", ") + (p.name.empty() ? std::to_string(p.port_id) : p.name);
      return "capture port: no port named '" + wanted + "' (known: " + known + ")";
    }
    if (std::find(chosen.begin(), chosen.end(), &*found) == chosen.end()) chosen.push_back(&*found);
  }
  if (spec.ports.empty()) {
    for (const auto& p : ports_) chosen.push_back(&p);
  }
  if (chosen.empty()) return "capture: the runtime has no ports";

  if (pool_ == nullptr) {
    // rte_pcapng_mbuf_size leaves room for the enhanced packet block around the largest frame.
    const uint32_t room = rte_pcapng_mbuf_size(largest_frame_);
    pool_ = rte_pktmbuf_pool_create("dtcp_capture", kPoolSize, kPoolCache, 0, static_cast<uint16_t>(room),
                                    SOCKET_ID_ANY);
    if (pool_ == nullptr) return std::string("capture pool: ") + rte_strerror(rte_errno);
  }
  auto session = std::make_unique<Session>();
  session->spec = spec;
  timespec wall{};
  const uint64_t before = rte_get_tsc_cycles();
  clock_gettime(CLOCK_REALTIME, &wall);
  session->base_cycles = before + (rte_get_tsc_cycles() - before) / 2;
  session->base_ns = static_cast<uint64_t>(wall.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(wall.tv_nsec);
  session->tsc_hz = std::max<uint64_t>(rte_get_tsc_hz(), 1);
  session->pool = pool_;
  const std::string ring_name = "dtcp_cap" + std::to_string(g_ring_serial.fetch_add(1));
  // Any worker enqueues; only the main lcore dequeues.
  session->ring = rte_ring_create(ring_name.c_str(), kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
  if (session->ring == nullptr) return "capture ring: " + std::string(rte_strerror(rte_errno));
  const int fd = open(spec.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rte_ring_free(session->ring);
    return "capture file " + spec.file + ": " + std::strerror(errno);
  }
  // rte_pcapng_fdopen writes the section header and one interface block per ethdev port (the
  // interface id of a packet is its port id); rte_pcapng_close closes fd.
  session->pcapng = rte_pcapng_fdopen(fd, nullptr, nullptr, "dtcp (" RTE_VER_PREFIX ")", nullptr);
  if (session->pcapng == nullptr) {
    close(fd);
    rte_ring_free(session->ring);
    return "capture file " + spec.file + ": rte_pcapng_fdopen: " + rte_strerror(rte_errno);
  }
  const bool rx = spec.direction != CaptureDirection::tx;
  const bool tx = spec.direction != CaptureDirection::rx;
  std::string error;
  for (const CapturePort* port : chosen) {
    // Receive: first in line, so the capture shows what the device delivered. Transmit: last
    // (rte_eth_add_tx_callback appends), so it shows what the device is handed.
    for (uint16_t q = 0; rx && q < port->rx_queues && error.empty(); q++) {
      const auto* cb = rte_eth_add_first_rx_callback(port->port_id, q, &Session::on_rx, session.get());
      if (cb == nullptr) error = "rx callback on port " + std::to_string(port->port_id) + ": " + rte_strerror(rte_errno);
      else session->callbacks.push_back({port->port_id, q, true, cb});
    }
    for (uint16_t q = 0; tx && q < port->tx_queues && error.empty(); q++) {
      const auto* cb = rte_eth_add_tx_callback(port->port_id, q, &Session::on_tx, session.get());
      if (cb == nullptr) error = "tx callback on port " + std::to_string(port->port_id) + ": " + rte_strerror(rte_errno);
      else session->callbacks.push_back({port->port_id, q, false, cb});
    }
  }
  running_ = std::move(session);
  if (!error.empty()) finish_locked("failed to start");
  return error;
}

void Capture::drain_locked(Session& session) {
  std::array<rte_mbuf*, 256> copies;
  while (true) {
    const unsigned n = rte_ring_dequeue_burst(session.ring, reinterpret_cast<void**>(copies.data()), copies.size(),
                                              nullptr);
    if (n == 0) return;
    if (session.pcapng == nullptr) {
      for (unsigned i = 0; i < n; i++) rte_pktmbuf_free(copies[i]);
      continue;
    }
    // rte_pcapng_write_packets leaves the copies to the caller (its header says it frees them;
    // DPDK 22.11's code does not, and dpdk-dumpcap frees them itself).
    const ssize_t written = rte_pcapng_write_packets(session.pcapng, copies.data(), static_cast<uint16_t>(n));
    rte_pktmbuf_free_bulk(copies.data(), n);
    if (written < 0) {
      session.ended = std::string("write failed: ") + std::strerror(errno);
      session.limit_reached.store(true);
      rte_pcapng_close(session.pcapng);
      session.pcapng = nullptr;
      continue;
    }
    session.packets_written += n;
    session.bytes_written += static_cast<uint64_t>(written);
  }
}

void Capture::finish_locked(const char* reason) {
  if (!running_) return;
  Session& session = *running_;
  session.remove_callbacks();
  // A worker may be inside a callback it entered just before the removal; its copies belong in
  // this file. Wait for it (bounded), then once more for one that had read the callback list
  // but not yet counted itself in.
  for (int pass = 0; pass < 2; pass++) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (session.in_callback.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (pass == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  drain_locked(session);
  if (session.ended.empty()) session.ended = reason;
  if (session.pcapng != nullptr) {
    rte_pcapng_close(session.pcapng);
    session.pcapng = nullptr;
  }
  finished_.push_back(std::move(running_));
}

void Capture::stop() {
  std::lock_guard lock(mutex_);
  finish_locked("stopped");
}

bool Capture::poll() {
  std::lock_guard lock(mutex_);
  if (!running_) return false;
  drain_locked(*running_);
  if (running_->limit_reached.load(std::memory_order_relaxed)) {
    const Session& s = *running_;
    finish_locked(s.spec.packet_limit != 0 && s.packets_reserved.load() >= s.spec.packet_limit ? "count reached"
                                                                                                : "bytes reached");
  }
  return running_ != nullptr;
}

size_t Capture::shutdown() {
  Capture* self = this;
  g_telemetry_capture.compare_exchange_strong(self, nullptr);
  std::lock_guard lock(mutex_);
  closed_ = true;
  finish_locked("runtime stopped");
  for (auto& session : finished_) {
    // The workers have stopped: no callback can be running, so what they left can go.
    drain_locked(*session);
    rte_ring_free(session->ring);
    for (const auto& c : session->callbacks) rte_free(const_cast<rte_eth_rxtx_callback*>(c.callback));
  }
  finished_.clear();
  size_t in_use = 0;
  if (pool_ != nullptr) {
    in_use = rte_mempool_in_use_count(pool_);
    rte_mempool_free(pool_);
    pool_ = nullptr;
  }
  return in_use;
}

void Capture::status_locked(rte_tel_data* data) const {
  const Session* session = running_ ? running_.get() : (finished_.empty() ? nullptr : finished_.back().get());
  rte_tel_data_add_dict_string(data, "state", running_ ? "running" : session ? "stopped" : "idle");
  if (session == nullptr) return;
  rte_tel_data_add_dict_string(data, "file", telemetry_safe(session->spec.file).c_str());
  if (!session->ended.empty()) rte_tel_data_add_dict_string(data, "ended", telemetry_safe(session->ended).c_str());
  rte_tel_data_add_dict_u64(data, "captured", session->captured.load());
  rte_tel_data_add_dict_u64(data, "dropped_no_mbuf", session->dropped_no_mbuf.load());
  rte_tel_data_add_dict_u64(data, "dropped_ring_full", session->dropped_ring_full.load());
  rte_tel_data_add_dict_u64(data, "packets_written", session->packets_written);
  rte_tel_data_add_dict_u64(data, "bytes_written", session->bytes_written);
}

int Capture::telemetry_command(const char*, const char* params, rte_tel_data* data) {
  Capture* self = g_telemetry_capture.load();
  if (self == nullptr) return -1;
  rte_tel_data_start_dict(data);
  auto command = parse_capture_command(params == nullptr ? "" : params);
  if (auto* error = std::get_if<std::string>(&command)) {
    rte_tel_data_add_dict_string(data, "error", telemetry_safe(*error).c_str());
    return 0;
  }
  const CaptureCommand& c = std::get<CaptureCommand>(command);
  if (c.action == CaptureCommand::Action::start) {
    if (std::string error = self->start(c.spec); !error.empty()) {
      rte_tel_data_add_dict_string(data, "error", telemetry_safe(error).c_str());
      return 0;
    }
  } else if (c.action == CaptureCommand::Action::stop) {
    self->stop();
  }
  std::lock_guard lock(self->mutex_);
  self->status_locked(data);
  return 0;
}

void Capture::register_telemetry() {
  g_telemetry_capture.store(this);
  // DPDK 22.11 refuses a help text of RTE_TEL_MAX_STRING_LEN (128) bytes or more.
  rte_telemetry_register_cmd("/dtcp/capture", &Capture::telemetry_command,
                             "pcapng capture: start,file=PATH[,port=P,dir=rx|tx|both,filter=L4PORT,count=N,bytes=N,"
                             "snaplen=N], stop, status");
}

}  // namespace dtcp::dpdk
