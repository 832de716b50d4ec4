// What an operator reads from a running dtcp through DPDK's telemetry socket (dpdk-telemetry.py,
// tools/dtcp-ss): the MIB, the connections, the listeners, the configuration and the ports.
//
// Counters come from the snapshots each worker publishes every 10 ms. Connections and
// listeners live in the lcores' shards, which only their lcore touches: a listing posts a
// message to the owning lcore (the application ring, as Stack::post from any thread), which
// copies one bounded page into the request and sets its flag; the telemetry thread waits for
// that. Nothing on the packet path is locked or made atomic for it.
#pragma once

#include <rte_telemetry.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dpdk/worker.hpp"
#include "dtcp/config.hpp"

namespace dtcp::dpdk {

// What /dtcp/conns takes after its comma: `key=value` pairs separated by commas, spaces or '&'.
struct ConnectionQuery {
  tcp::ConnectionFilter filter;
  int lcore = -1;        // -1: every lcore
  uint64_t cursor = 0;   // where the previous page ended ("next" of its reply)
  size_t limit = 256;    // entries at most (telemetry's dict bound); the 16 KiB reply may hold fewer
  bool summary = false;  // counts by state instead of entries
  bool brief = false;    // only what `ss` prints without -i: more entries per reply
};
// Parses the parameter string; returns an error message, or "" when it is good.
std::string parse_connection_query(std::string_view params, ConnectionQuery& query);
// `ss` names (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close-wait,
// last-ack, closing, closed) and the groups ss knows (connected, synchronized, bucket, big);
// a mask of (1 << TcpState) bits, or 0 for an unknown name.
uint32_t state_mask_for(std::string_view name);
// `ss`'s short state column: ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, ...
const char* ss_state_name(TcpState state);

class Inspector {
 public:
  // The stacks in port order, then queue order; `workers` for the published counters.
  Inspector(const Config& config, std::vector<QueueStack*> stacks, std::vector<const Worker*> workers,
            std::vector<uint16_t> port_ids, std::vector<rte_mempool*> pools);
  ~Inspector();
  // Registers the /dtcp/* commands and makes this the instance they read (one per process).
  void attach();
  // Later commands answer with an error; waits for a command in flight. Pages an lcore never
  // answered stay allocated until the Inspector is destroyed, after the lcores stopped.
  void detach();

  int stats(const char* params, rte_tel_data* d);
  int connections(const char* params, rte_tel_data* d);
  int listeners(const char* params, rte_tel_data* d);
  int config(const char* params, rte_tel_data* d);
  int ports(const char* params, rte_tel_data* d);

  // One page of one stack's connections, gathered on its lcore. Public for the message's handler.
  struct Page {
    enum class Kind : uint8_t { connections, summary, listeners };
    Kind kind = Kind::connections;
    tcp::ConnectionFilter filter;
    uint64_t cursor = 0;
    size_t max_entries = 0;
    size_t max_slots = 0;
    std::vector<tcp::ConnectionInfo> connections;  // reserved by the asker: the lcore only fills
    std::vector<tcp::ListenerInfo> listeners;
    uint64_t by_state[11] = {};  // summary: connections per TcpState
    uint64_t next = tcp::Shard::kListingDone;
    std::mutex mutex;
    std::condition_variable answered_cv;
    bool answered = false;
  };

 private:
  // Posts `page` to `stack`'s lcore and waits for its answer; false if it could not be posted
  // or no answer came within the bound (the page is then kept until detach()).
  bool gather(QueueStack& stack, const std::shared_ptr<Page>& page);

  Config config_;
  std::vector<QueueStack*> stacks_;
  std::vector<const Worker*> workers_;
  std::vector<uint16_t> port_ids_;
  std::vector<rte_mempool*> pools_;
  std::mutex abandoned_mutex_;
  std::vector<std::shared_ptr<Page>> abandoned_;  // asked, never answered in time
};

}  // namespace dtcp::dpdk
