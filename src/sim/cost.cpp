#include "sim/cost.hpp"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DTCP_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define DTCP_TOGGLE_COLLECT() ((void)0)
#endif

#include "sim/stack_host.hpp"

namespace dtcp::sim {

const char* to_string(CostWorkload w) {
  switch (w) {
    case CostWorkload::connection: return "connection";
    case CostWorkload::request: return "request";
    case CostWorkload::bulk: return "bulk";
  }
  return "?";
}

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kMessage = 64;            // request and response size
constexpr size_t kConcurrentOpens = 32;    // connection workload: opens in flight at once
constexpr size_t kKeptConnections = 64;    // request workload
constexpr size_t kBulkBlock = 64 * 1024;   // bulk workload: bytes per count
constexpr Duration kOneWayDelay{10};       // µs each way: a LAN, so windows and ACK clocking matter

// What the applications send: fixed bytes compared with memcmp, so the application's own share of
// the count stays a few dozen instructions per message.
template <uint8_t kByte>
const std::array<std::byte, kMessage>& message() {
  static const std::array<std::byte, kMessage> m = [] {
    std::array<std::byte, kMessage> a;
    a.fill(std::byte{kByte});
    return a;
  }();
  return m;
}
const auto& request_bytes = message<0xa5>;

// The bulk stream: this pattern over and over, so a receiver checks it with memcmp.
constexpr size_t kPattern = 16384;
const std::array<std::byte, kPattern>& bulk_pattern() {
  static const std::array<std::byte, kPattern> a = [] {
    std::array<std::byte, kPattern> p;
    for (size_t i = 0; i < p.size(); i++) p[i] = std::byte(static_cast<uint8_t>(i * 7));
    return p;
  }();
  return a;
}
const auto& response_bytes = message<0x5a>;

// Counts only while the metered host runs. Nested entries (a host's transmit calls back into the
// link while the host is running) keep one toggle per outermost entry.
class Meter {
 public:
  explicit Meter(int side) : side_(side) {}
  void enter(int host) {
    if (host == side_ && depth_++ == 0) DTCP_TOGGLE_COLLECT();
  }
  void leave(int host) {
    if (host == side_ && --depth_ == 0) DTCP_TOGGLE_COLLECT();
  }
  // The link is not the stack: leave the metered host for the push, come back after.
  void pause(int host) {
    if (host == side_ && depth_ > 0) DTCP_TOGGLE_COLLECT();
  }
  void resume(int host) {
    if (host == side_ && depth_ > 0) DTCP_TOGGLE_COLLECT();
  }

 private:
  int side_;
  int depth_ = 0;
};

class Scope {
 public:
  Scope(Meter& m, int host) : m_(m), host_(host) { m_.enter(host_); }
  ~Scope() { m_.leave(host_); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Meter& m_;
  int host_;
};

class CostRun;

struct Frame {
  TimePoint due;
  rte_mbuf* m;
  int to;
};

class CostHost final : public StackHost {
 public:
  CostHost(CostRun& run, int id, const TcpConfig& config, rte_mempool* pool);
  void transmit(rte_mbuf* frame) override;
  static wire::Ipv4Addr address_of(int id) { return wire::Ipv4Addr::from_octets(198, 18, 0, static_cast<uint8_t>(1 + id)); }

  CostRun& run_;
  int id_;
};

// The client side of one connection (all workloads) and the server side (echo of one message
// per request; bulk: read and discard).
class ClientEnd;
class ServerEnd;

class CostRun {
 public:
  CostRun(const CostOptions& o, rte_mempool* pool) : options_(o), pool_(pool), meter_(o.metered_side) {}
  CostResult run();

  void push(int from, rte_mbuf* frame) {
    meter_.pause(from);
    if (from == 0 && carries_payload(frame)) data_segments_sent_++;
    link_.push_back(Frame{now_ + kOneWayDelay, frame, 1 - from});
    meter_.resume(from);
  }
  TimePoint now() const { return now_; }
  Meter& meter() { return meter_; }
  void fail(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
  }
  void client_finished() { finished_++; }
  void server_finished() { server_finished_++; }
  uint64_t requests_left() const { return requests_left_; }
  void take_request() { requests_left_--; }
  const CostOptions& options() const { return options_; }

 private:
  static bool carries_payload(const rte_mbuf* m) {
    uint8_t b[64];
    if (m->pkt_len < 54) return false;
    const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, 54, b));
    if (p[12] != 0x08 || p[13] != 0x00 || p[23] != 6) return false;
    const uint32_t ihl = (p[14] & 0x0f) * 4u, total = uint32_t{p[16]} << 8 | p[17];
    if (m->pkt_len < 14 + ihl + 13) return false;
    uint8_t copy = 0;
    const auto* off = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 14 + ihl + 12, 1, &copy));
    const uint32_t doff = (*off >> 4) * 4u;
    return total > ihl + doff;
  }
  void deliver_due();
  void open_more();
  bool quiet() const;

  CostOptions options_;
  rte_mempool* pool_;
  Meter meter_;
  TimePoint now_{};
  std::deque<Frame> link_;  // one delay for every frame: FIFO is delivery order
  std::vector<std::unique_ptr<CostHost>> hosts_;
  std::vector<std::unique_ptr<ClientEnd>> clients_;
  std::unique_ptr<ListenHandler> listener_;
  std::vector<std::unique_ptr<ServerEnd>> servers_;  // one per connection, made before the run
  size_t servers_accepted_ = 0;
  std::string failure_;
  uint64_t opened_ = 0;
  uint64_t finished_ = 0;
  uint64_t server_finished_ = 0;
  uint64_t requests_left_ = 0;
  uint64_t data_segments_sent_ = 0;
  friend class CostListener;
};

CostHost::CostHost(CostRun& run, int id, const TcpConfig& config, rte_mempool* pool)
    : StackHost(stack::InterfaceSetup{.mac = wire::MacAddr{{0x02, 0, 0, 0, 1, static_cast<uint8_t>(1 + id)}},
                                      .address = address_of(id),
                                      .prefix_len = 24,
                                      .mtu = 1500,
                                      .arp = ArpConfig{},
                                      .pool = pool},
                config,
                tcp::ShardEnv{.pool = pool,
                              .local_addr = wire::IpAddr(address_of(id)),
                              .shard_id = static_cast<uint32_t>(id),
                              .secret_seed = 0x5eed0000u + static_cast<uint64_t>(id)}),
      run_(run),
      id_(id) {}

void CostHost::transmit(rte_mbuf* frame) { run_.push(id_, frame); }

class ClientEnd final : public ConnectionHandler {
 public:
  explicit ClientEnd(CostRun& run) : run_(run) {}
  void on_connected(Connection& c) override {
    conn_ = &c;
    if (run_.options().workload == CostWorkload::bulk) return pump();
    send_request();
  }
  void on_writable(Connection&) override {
    if (run_.options().workload == CostWorkload::bulk) pump();
  }
  void on_readable(Connection& c) override {
    std::array<std::byte, 2 * kMessage> buf;
    while (const size_t n = c.read(buf)) {
      if (got_ + n > kMessage || std::memcmp(buf.data(), response_bytes().data(), n) != 0)
        return run_.fail("client: the response differs");
      got_ += n;
    }
    if (got_ < kMessage) return;
    got_ = 0;
    if (run_.options().workload == CostWorkload::request && run_.requests_left() > 0) {
      run_.take_request();
      send_request();
      return;
    }
    // RFC 9293 §3.6: the client closes first and keeps TIME-WAIT, as a load generator does.
    conn_->close();
    conn_ = nullptr;
    run_.client_finished();
  }
  void on_closed(Connection&, CloseReason reason) override {
    if (reason != CloseReason::normal) run_.fail(std::string("client: closed ") + dtcp::to_string(reason));
    conn_ = nullptr;
  }

 private:
  void send_request() {
    if (conn_->send(request_bytes()) != kMessage) run_.fail("client: request did not fit the send buffer");
  }
  void pump() {
    const auto& chunk = bulk_pattern();
    const uint64_t total = run_.options().count * kBulkBlock;
    while (conn_ != nullptr && sent_ < total) {
      const size_t offset = static_cast<size_t>(sent_ % chunk.size());
      const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size() - offset, total - sent_));
      const size_t took = conn_->send(std::span<const std::byte>(chunk.data() + offset, want));
      sent_ += took;
      if (took < want) return;
    }
    if (conn_ != nullptr && sent_ == total) {
      conn_->close();
      conn_ = nullptr;
      run_.client_finished();
    }
  }

  CostRun& run_;
  Connection* conn_ = nullptr;
  size_t got_ = 0;
  uint64_t sent_ = 0;
};

class ServerEnd final : public ConnectionHandler {
 public:
  explicit ServerEnd(CostRun& run) : run_(run) {}
  void on_readable(Connection& c) override {
    std::array<std::byte, 16384> buf;
    while (const size_t n = c.read(buf)) {
      if (run_.options().workload == CostWorkload::bulk) {
        for (size_t done = 0; done < n;) {
          const size_t offset = static_cast<size_t>((received_ + done) % kPattern);
          const size_t k = std::min(n - done, kPattern - offset);
          if (std::memcmp(buf.data() + done, bulk_pattern().data() + offset, k) != 0)
            return run_.fail("server: a bulk byte differs");
          done += k;
        }
        received_ += n;
        continue;
      }
      // Requests arrive whole here (64 bytes in one segment, the next only after the response).
      if (n % kMessage != 0 || std::memcmp(buf.data(), request_bytes().data(), kMessage) != 0)
        return run_.fail("server: the request differs");
      for (size_t k = 0; k < n / kMessage; k++)
        if (c.send(response_bytes()) != kMessage) return run_.fail("server: response did not fit the send buffer");
    }
  }
  void on_peer_closed(Connection& c) override {
    on_readable(c);
    if (run_.options().workload == CostWorkload::bulk && received_ != run_.options().count * kBulkBlock)
      run_.fail("server: bulk stream short");
    c.close();
    run_.server_finished();
  }
  void on_closed(Connection&, CloseReason reason) override {
    if (reason != CloseReason::normal) run_.fail(std::string("server: closed ") + dtcp::to_string(reason));
  }

 private:
  CostRun& run_;
  uint64_t received_ = 0;
};

class CostListener final : public ListenHandler {
 public:
  explicit CostListener(CostRun& run) : run_(run) {}
  // The handlers are made before the run, as the client's are made outside the meter: the
  // allocator's work (about 220 instructions a connection) is the workload's, not the stack's.
  ConnectionHandler* on_accept(Connection&) override {
    if (run_.servers_accepted_ == run_.servers_.size()) {
      run_.fail("server: more connections accepted than the workload opens");
      return nullptr;
    }
    return run_.servers_[run_.servers_accepted_++].get();
  }

 private:
  CostRun& run_;
};

void CostRun::deliver_due() {
  while (!link_.empty() && link_.front().due <= now_) {
    const Frame f = link_.front();
    link_.pop_front();
    Scope s(meter_, f.to);
    hosts_[static_cast<size_t>(f.to)]->interface_.input(f.m, now_);
  }
}

// How many connections a workload opens in all.
uint64_t connections_of(const CostOptions& o) {
  switch (o.workload) {
    case CostWorkload::connection: return o.count;
    case CostWorkload::request: return kKeptConnections;
    case CostWorkload::bulk: return 1;
  }
  return 0;
}

void CostRun::open_more() {
  const uint64_t total = connections_of(options_);
  const uint64_t at_once = options_.workload == CostWorkload::connection ? kConcurrentOpens : total;
  while (opened_ < total && opened_ - finished_ < at_once) {
    clients_.push_back(std::make_unique<ClientEnd>(*this));
    Scope s(meter_, 0);
    const ConnectResult r = hosts_[0]->shard_.connect(wire::IpAddr(CostHost::address_of(1)), 80, *clients_.back(), ConnectOptions{}, now_);
    if (!r.ok()) return fail(std::string("connect: ") + dtcp::to_string(r.error));
    opened_++;
  }
}

bool CostRun::quiet() const {
  if (!link_.empty()) return false;
  for (const auto& h : hosts_)
    if (!h->shard_.resources().all_returned()) return false;
  return true;
}

CostResult CostRun::run() {
  CostResult result;
  TcpConfig config = TcpConfig::dtcp_profile();
  const uint64_t conns = connections_of(options_);
  config.max_connections = static_cast<uint32_t>(std::min<uint64_t>(conns + 64, 1u << 20));
  config.max_time_wait = static_cast<uint32_t>(std::min<uint64_t>(conns + 64, 1u << 20));
  config.msl = seconds(1);
  for (int h = 0; h < 2; h++) hosts_.push_back(std::make_unique<CostHost>(*this, h, config, pool_));
  listener_ = std::make_unique<CostListener>(*this);
  for (uint64_t i = 0; i < conns; i++) servers_.push_back(std::make_unique<ServerEnd>(*this));
  if (!hosts_[1]->shard_.listen(80, *listener_).ok()) {
    result.failure = "listen failed";
    return result;
  }
  if (options_.workload == CostWorkload::request) {
    // count requests in all, the first of each connection sent when it opens.
    requests_left_ = options_.count > kKeptConnections ? options_.count - kKeptConnections : 0;
  }
  // ARP both ways before anything is metered: the first resolution is not a per-operation cost.
  for (auto& h : hosts_) h->interface_.send_gratuitous_arp();
  const TimePoint limit = TimePoint(seconds(3600));
  TimePoint next_housekeeping = now_;
  while (failure_.empty()) {
    deliver_due();
    open_more();
    for (auto& h : hosts_) {
      Scope s(meter_, h->id_);
      h->shard_.advance(now_);
      if (now_ >= next_housekeeping) h->interface_.advance(now_);
    }
    if (now_ >= next_housekeeping) next_housekeeping = now_ + milliseconds(1);
    if (finished_ == conns && server_finished_ == conns && quiet()) break;
    if (now_ >= limit) {
      fail("not finished by the virtual time limit");
      break;
    }
    TimePoint next = next_housekeeping;
    if (!link_.empty()) next = std::min(next, link_.front().due);
    for (auto& h : hosts_) next = std::min(next, h->shard_.next_deadline());
    now_ = std::max(next, now_ + Duration(1));
  }
  result.failure = failure_;
  if (result.failure.empty() && (opened_ != conns)) result.failure = "not every connection opened";
  for (int h = 0; h < 2; h++) {
    result.segments_sent[h] = hosts_[static_cast<size_t>(h)]->shard_.counters().tx_segments;
    result.segments_received[h] = hosts_[static_cast<size_t>(h)]->shard_.counters().rx_segments;
  }
  result.data_segments_sent = data_segments_sent_;
  result.ops = options_.workload == CostWorkload::connection ? options_.count
               : options_.workload == CostWorkload::request  ? std::max<uint64_t>(options_.count, kKeptConnections)
                                                             : data_segments_sent_;
  result.virtual_us = now_.time_since_epoch().count();
  for (Frame& f : link_) rte_pktmbuf_free(f.m);
  link_.clear();
  for (auto& h : hosts_) h->shard_.abort_all();
  hosts_.clear();
  if (result.failure.empty() && rte_mempool_avail_count(pool_) != pool_->size) result.failure = "mbufs not back in the pool";
  result.ok = result.failure.empty();
  return result;
}

}  // namespace

CostResult run_cost(const CostOptions& options, rte_mempool* pool) {
  CostRun run(options, pool);
  return run.run();
}

}  // namespace dtcp::sim
