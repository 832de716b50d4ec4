// In-process packet capture to pcapng (DPDK's rte_pcapng), for runs without shared files
// (--no-shconf), where dpdk-dumpcap cannot attach. Started and stopped at run time.
//
// Who does what: ethdev rx/tx callbacks, installed only while a capture runs, copy matching
// frames on the worker lcore (rte_pcapng_copy into a capture pool) and put the copies on a ring;
// the main lcore, which only controls, takes them off and writes the file. Writing a file on the
// packet path would stall the worker for a system call per burst; the ring keeps the workers'
// cost to a copy and an enqueue. When no capture runs no callback is installed: rx and tx bursts
// cost what they cost without this file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dpdk/capture_spec.hpp"

struct rte_mempool;
struct rte_tel_data;

namespace dtcp::dpdk {

struct CapturePort {
  std::string name;  // the config's [port.NAME] ("" for [port])
  uint16_t port_id = 0;
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
};

// DPDK's capture framework (rte_pdump), through which dpdk-dumpcap, a secondary process, copies
// frames. Needs the shared configuration files: with --no-shconf or --in-memory (dtcp's
// default is the former) there is no multi-process channel, so it is skipped with a one-line
// note. `eal_args` are the arguments EAL was started with. Returns whether it started.
bool start_pdump_server(const std::vector<std::string>& eal_args);
void stop_pdump_server();

class Capture {
 public:
  Capture();
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // The ports a capture may name; `largest_frame` sizes the copies (MTU plus L2 headers).
  void set_ports(std::vector<CapturePort> ports, uint32_t largest_frame);

  // Starts a capture; an empty string on success, else what was wrong. One capture at a time.
  std::string start(const CaptureSpec& spec);
  // Start-up (`--capture`, `[runtime] capture`): parses `spec_text` and starts; throws
  // RuntimeError naming what was wrong.
  void start_or_throw(const std::string& spec_text);
  // Stops the running capture (if any): callbacks removed, remaining copies written, file closed.
  void stop();
  // Main lcore: writes queued copies and ends a capture that reached its limit. Returns whether
  // a capture is running (the caller then polls more often).
  bool poll();
  // After the workers stopped: stops, then frees every callback, ring and the pool. Returns the
  // capture mbufs still out of the pool (0 unless something leaked).
  size_t shutdown();

  // Registers `/dtcp/capture` with DPDK telemetry, served by this object.
  void register_telemetry();

 private:
  struct Session;
  void finish_locked(const char* reason);
  void drain_locked(Session& session);
  void status_locked(rte_tel_data* data) const;
  static int telemetry_command(const char* cmd, const char* params, rte_tel_data* data);

  bool closed_ = false;        // shutdown() ran: no new capture
  mutable std::mutex mutex_;  // control path only: telemetry thread and main lcore
  std::vector<CapturePort> ports_;
  uint32_t largest_frame_ = 1522;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<Session> running_;
  // Finished sessions: a worker may still be inside a callback removed a moment ago (ethdev
  // leaves freeing to the caller, rte_ethdev.h rte_eth_remove_rx_callback), so sessions and their
  // callbacks are freed only in shutdown(), once the workers have stopped.
  std::vector<std::unique_ptr<Session>> finished_;
};

}  // namespace dtcp::dpdk
