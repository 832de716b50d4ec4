#include "dpdk/inspect.hpp"

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "dpdk/config_keys.hpp"
#include "dpdk/mib.hpp"

namespace dtcp::dpdk {

namespace {

// The instance the telemetry commands read; the mutex keeps it alive while a command runs.
std::mutex g_inspector_mutex;
Inspector* g_inspector = nullptr;

// DPDK 22.11 writes a reply into 16 KiB (telemetry.c MAX_OUTPUT_LEN) and drops what does not
// fit; a page is cut well before that, by an estimate of each entry's JSON.
constexpr size_t kReplyBudget = 15 * 1024;
// Entries per page asked of an lcore: what fits the budget at about this size each.
constexpr size_t kBriefEntryGuess = 200;
constexpr size_t kFullEntryGuess = 520;
// Slots one message may look at: a page never holds an lcore for more than about a millisecond,
// and one command looks at no more than kSlotsPerCommand before it returns a cursor.
constexpr size_t kSlotsPerPage = 16 * 1024;
constexpr size_t kSlotsPerCommand = 1024 * 1024;
constexpr auto kAnswerTimeout = std::chrono::seconds(2);

constexpr uint64_t kStackShift = 32;
// An upper bound of one MIB block's JSON: names, 20-digit values, punctuation.
constexpr size_t kMibBlockJson = 2048;  // cursor = stack index << 32 | slot

template <class Method>
int dispatch(Method method, const char* params, rte_tel_data* d) {
  std::lock_guard lock(g_inspector_mutex);
  if (g_inspector == nullptr) return -1;
  return (g_inspector->*method)(params, d);
}

int stats_cmd(const char*, const char* params, rte_tel_data* d) { return dispatch(&Inspector::stats, params, d); }
int conns_cmd(const char*, const char* params, rte_tel_data* d) {
  return dispatch(&Inspector::connections, params, d);
}
int listeners_cmd(const char*, const char* params, rte_tel_data* d) {
  return dispatch(&Inspector::listeners, params, d);
}
int config_cmd(const char*, const char* params, rte_tel_data* d) { return dispatch(&Inspector::config, params, d); }
int ports_cmd(const char*, const char* params, rte_tel_data* d) { return dispatch(&Inspector::ports, params, d); }

// rte_telemetry takes dict names of letters, digits and '_' only (others fail with EINVAL and
// the entry is lost): a port section "port.wan-0" is named "port_wan_0".
std::string telemetry_name(std::string name) {
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
  }
  return name;
}

void error_reply(rte_tel_data* d, const std::string& message) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "error", message.c_str());
}

bool parse_number(std::string_view text, uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// A dict container filled by `fill`, added under `name`.
template <class Fill>
void add_dict(rte_tel_data* d, const std::string& name, Fill&& fill) {
  rte_tel_data* inner = rte_tel_data_alloc();
  if (inner == nullptr) return;
  rte_tel_data_start_dict(inner);
  fill(inner);
  if (rte_tel_data_add_dict_container(d, name.c_str(), inner, 0) != 0) rte_tel_data_free(inner);
}

void add_mib(rte_tel_data* d, const StackCounters& c) {
  for_each_mib(c, [d](const char* name, uint64_t value, const char*) { rte_tel_data_add_dict_u64(d, name, value); });
}

// One connection entry as fields, so its JSON size is known before it goes into the reply.
struct Field {
  const char* key;
  std::string text;  // a string value, or
  uint64_t number = 0;
  bool is_number = false;
};

std::vector<Field> connection_fields(const QueueStack& stack, const tcp::ConnectionInfo& c, bool brief) {
  std::vector<Field> f;
  auto text = [&f](const char* k, std::string v) { f.push_back({k, std::move(v)}); };
  auto u64 = [&f](const char* k, uint64_t v) { f.push_back({k, {}, v, true}); };
  auto us = [](Duration x) { return static_cast<uint64_t>(std::max<int64_t>(0, x.count())); };
  text("state", ss_state_name(c.state));
  text("local", c.local.to_string());
  text("peer", c.remote.to_string());
  u64("lcore", stack.lcore_id());
  u64("queue", stack.queue_id());
  u64("recv_q", c.recv_queued);
  u64("send_q", c.send_queued);
  text("timer", c.timer);
  u64("timer_ms", us(c.timer_in) / 1000);
  if (c.time_wait_record || brief) return f;
  text("cc", c.congestion);
  text("ca_state", c.recovery);
  u64("cwnd", c.cwnd);
  u64("ssthresh", c.ssthresh);
  u64("mss", c.mss);
  u64("srtt_us", us(c.srtt));
  u64("rttvar_us", us(c.rttvar));
  u64("rto_us", us(c.rto));
  u64("retrans", c.retries);
  u64("retrans_bytes", c.retransmitted_bytes);
  u64("bytes_sent", c.bytes_sent);
  u64("bytes_acked", c.bytes_acked);
  u64("bytes_received", c.bytes_received);
  u64("delivery_rate", c.delivery_rate);
  u64("snd_wnd", c.snd_wnd);
  u64("rcv_wnd", c.rcv_wnd);
  u64("wscale_snd", c.snd_wscale);
  u64("wscale_rcv", c.rcv_wscale);
  u64("age_ms", us(c.age) / 1000);
  std::string options;
  if (c.timestamps) options += "ts ";
  if (c.sack) options += "sack ";
  if (c.ecn) options += "ecn ";
  if (!options.empty()) options.pop_back();
  text("options", options);
  return f;
}

// The JSON rte_telemetry writes for these fields under `name`: "name":{"k":v,"k":"s",...},
// with room to spare (its separators include a space).
size_t json_size(const std::string& name, const std::vector<Field>& fields) {
  size_t n = name.size() + 8;
  for (const Field& f : fields) {
    n += std::strlen(f.key) + 6;
    n += f.is_number ? std::to_string(f.number).size() : f.text.size() + 2;
  }
  return n;
}

void add_fields(rte_tel_data* d, const std::vector<Field>& fields) {
  for (const Field& f : fields) {
    if (f.is_number) {
      rte_tel_data_add_dict_u64(d, f.key, f.number);
    } else {
      rte_tel_data_add_dict_string(d, f.key, f.text.c_str());
    }
  }
}

// Runs on the stack's lcore: fills the page and wakes the asker.
void answer_page(QueueStack& stack, const Message& message) {
  auto& page = *static_cast<Inspector::Page*>(message.ctx);
  const tcp::Shard& shard = stack.shard();
  if (page.kind == Inspector::Page::Kind::connections) {
    page.next = shard.list_connections(page.cursor, page.filter, page.max_entries, page.max_slots,
                                       [&](const tcp::ConnectionInfo& info) { page.connections.push_back(info); });
  } else if (page.kind == Inspector::Page::Kind::summary) {
    page.next = shard.list_connections(page.cursor, page.filter, SIZE_MAX, page.max_slots,
                                       [&](const tcp::ConnectionInfo& info) { page.by_state[static_cast<unsigned>(info.state)]++; });
  } else {
    shard.for_each_listener([&](const tcp::ListenerInfo& info) { page.listeners.push_back(info); });
  }
  std::lock_guard lock(page.mutex);
  page.answered = true;
  page.answered_cv.notify_all();
}

}  // namespace

uint32_t state_mask_for(std::string_view name) {
  auto bit = [](TcpState s) { return 1u << static_cast<unsigned>(s); };
  using S = TcpState;
  if (name == "established") return bit(S::established);
  if (name == "syn-sent") return bit(S::syn_sent);
  if (name == "syn-recv") return bit(S::syn_received);
  if (name == "fin-wait-1") return bit(S::fin_wait_1);
  if (name == "fin-wait-2") return bit(S::fin_wait_2);
  if (name == "time-wait") return bit(S::time_wait);
  if (name == "close-wait") return bit(S::close_wait);
  if (name == "last-ack") return bit(S::last_ack);
  if (name == "closing") return bit(S::closing);
  if (name == "closed") return bit(S::closed);
  if (name == "listening") return bit(S::listen);
  // ss's groups as its source defines them (SS_CONN and friends in misc/ss.c): "connected" is
  // every state but listening, closed and the minisockets (time-wait, syn-recv), and is what
  // ss lists without -a; "synchronized" is connected but syn-sent; "bucket" the minisockets;
  // "big" everything else.
  const uint32_t all = (1u << 11) - 1;
  const uint32_t bucket = bit(S::time_wait) | bit(S::syn_received);
  const uint32_t connected = all & ~(bit(S::listen) | bit(S::closed) | bucket);
  if (name == "all") return all;
  if (name == "connected") return connected;
  if (name == "synchronized") return connected & ~bit(S::syn_sent);
  if (name == "bucket") return bucket;
  if (name == "big") return all & ~bucket;
  return 0;
}

const char* ss_state_name(TcpState state) {
  switch (state) {
    case TcpState::established: return "ESTAB";
    case TcpState::syn_sent: return "SYN-SENT";
    case TcpState::syn_received: return "SYN-RECV";
    case TcpState::fin_wait_1: return "FIN-WAIT-1";
    case TcpState::fin_wait_2: return "FIN-WAIT-2";
    case TcpState::time_wait: return "TIME-WAIT";
    case TcpState::close_wait: return "CLOSE-WAIT";
    case TcpState::last_ack: return "LAST-ACK";
    case TcpState::closing: return "CLOSING";
    case TcpState::listen: return "LISTEN";
    case TcpState::closed: return "UNCONN";
  }
  return "UNKNOWN";
}

std::string parse_connection_query(std::string_view params, ConnectionQuery& query) {
  size_t pos = 0;
  while (pos < params.size()) {
    const size_t end = params.find_first_of(", &", pos);
    const std::string_view item = params.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? params.size() : end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return "expected key=value, got '" + std::string(item) + "'";
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    uint64_t n = 0;
    if (key == "state") {
      // Several states: state=established|time-wait (or repeated state= keys).
      size_t from = 0;
      while (from <= value.size()) {
        const size_t bar = value.find('|', from);
        const std::string_view name = value.substr(from, bar == std::string_view::npos ? std::string_view::npos : bar - from);
        const uint32_t mask = state_mask_for(name);
        if (mask == 0) return "unknown state '" + std::string(name) + "' (ss names: established, syn-sent, ...)";
        query.filter.states |= mask;
        if (bar == std::string_view::npos) break;
        from = bar + 1;
      }
    } else if (key == "sport" || key == "dport") {
      if (!parse_number(value, n) || n == 0 || n > 65535) return std::string(key) + ": expected a port 1-65535";
      (key == "sport" ? query.filter.local_port : query.filter.remote_port) = static_cast<uint16_t>(n);
    } else if (key == "lcore") {
      if (!parse_number(value, n) || n >= RTE_MAX_LCORE) return "lcore: expected an lcore id";
      query.lcore = static_cast<int>(n);
    } else if (key == "cursor") {
      if (!parse_number(value, n)) return "cursor: expected the 'next' of the previous reply";
      query.cursor = n;
    } else if (key == "limit") {
      if (!parse_number(value, n) || n == 0 || n > RTE_TEL_MAX_DICT_ENTRIES) return "limit: expected 1-256";
      query.limit = n;
    } else if (key == "brief") {
      if (value != "0" && value != "1") return "brief: expected 0 or 1";
      query.brief = value == "1";
    } else if (key == "summary") {
      if (value != "0" && value != "1") return "summary: expected 0 or 1";
      query.summary = value == "1";
    } else {
      return "unknown key '" + std::string(key) + "' (state, sport, dport, lcore, cursor, limit, brief, summary)";
    }
  }
  return "";
}

Inspector::Inspector(const Config& config, std::vector<QueueStack*> stacks, std::vector<const Worker*> workers,
                     std::vector<uint16_t> port_ids, std::vector<rte_mempool*> pools)
    : config_(config),
      stacks_(std::move(stacks)),
      workers_(std::move(workers)),
      port_ids_(std::move(port_ids)),
      pools_(std::move(pools)) {}

Inspector::~Inspector() { detach(); }

void Inspector::attach() {
  {
    std::lock_guard lock(g_inspector_mutex);
    g_inspector = this;
  }
  // Registering twice (a second Runtime in one process, as tests do) fails with EINVAL and
  // keeps the first callback, which reads g_inspector: still right.
  rte_telemetry_register_cmd("/dtcp/stats", stats_cmd,
                             "TCP MIB (RFC 4022 and Linux nstat names), summed and per lcore, and pool use. "
                             "Parameter: an lcore id for that lcore only");
  // Help texts must stay below RTE_TEL_MAX_STRING_LEN (128), or registration fails.
  rte_telemetry_register_cmd("/dtcp/conns", conns_cmd,
                             "Connections, paged. Params: state=S[|S],sport=N,dport=N,lcore=N,limit=N,cursor=NEXT,"
                             "brief=1,summary=1");
  rte_telemetry_register_cmd("/dtcp/listeners", listeners_cmd, "Listening ports per lcore. Takes no parameters");
  rte_telemetry_register_cmd("/dtcp/config", config_cmd,
                             "Effective configuration, by section. Parameter: a section name for that one");
  rte_telemetry_register_cmd("/dtcp/ports", ports_cmd, "Ports: device, addresses, queues, lcores, link, stats");
}

void Inspector::detach() {
  std::lock_guard lock(g_inspector_mutex);
  if (g_inspector == this) g_inspector = nullptr;
}

bool Inspector::gather(QueueStack& stack, const std::shared_ptr<Page>& page) {
  Message m;
  m.run = answer_page;
  m.ctx = page.get();
  if (!stack.post_message(stack.queue_id(), m)) return false;
  std::unique_lock lock(page->mutex);
  if (page->answered_cv.wait_for(lock, kAnswerTimeout, [&] { return page->answered; })) return true;
  // The lcore may still run the message: the page must outlive it (freed with the Inspector,
  // after the lcores stopped).
  std::lock_guard keep(abandoned_mutex_);
  abandoned_.push_back(page);
  return false;
}

int Inspector::stats(const char* params, rte_tel_data* d) {
  int only = -1;
  if (params != nullptr && *params != '\0') {
    uint64_t n = 0;
    if (!parse_number(params, n)) {
      error_reply(d, "expected an lcore id");
      return 0;
    }
    only = static_cast<int>(n);
  }
  rte_tel_data_start_dict(d);
  StackCounters total;
  std::vector<std::pair<unsigned, StackCounters>> each;
  for (const Worker* w : workers_) {
    const StackCounters c = w->counters_snapshot();
    total += c;
    each.emplace_back(w->lcore_id(), c);
  }
  if (only < 0) {
    add_dict(d, "total", [&](rte_tel_data* inner) { add_mib(inner, total); });
    uint64_t in_use = 0, capacity = 0;
    for (rte_mempool* pool : pools_) {
      in_use += rte_mempool_in_use_count(pool);
      capacity += pool->size;
    }
    rte_tel_data_add_dict_u64(d, "mbufs_in_use", in_use);
    rte_tel_data_add_dict_u64(d, "mbufs_capacity", capacity);
  }
  bool found = only < 0;
  // Each block is about 1.3 KiB: past a dozen lcores the rest would not fit the 16 KiB reply,
  // and are named for /dtcp/stats,N instead.
  size_t budget = kReplyBudget - 2 * kMibBlockJson, left_out = 0;
  for (const auto& entry : each) {  // not a structured binding: clang 14 cannot capture one
    const unsigned lcore = entry.first;
    const StackCounters& c = entry.second;
    if (only >= 0 && static_cast<unsigned>(only) != lcore) continue;
    found = true;
    if (only < 0 && budget < kMibBlockJson) {
      left_out++;
      continue;
    }
    budget -= std::min(budget, kMibBlockJson);
    add_dict(d, "lcore_" + std::to_string(lcore), [&](rte_tel_data* inner) { add_mib(inner, c); });
  }
  if (left_out != 0) rte_tel_data_add_dict_u64(d, "lcores_left_out", left_out);
  if (!found) error_reply(d, "no worker runs on lcore " + std::to_string(only));
  return 0;
}

int Inspector::connections(const char* params, rte_tel_data* d) {
  ConnectionQuery query;
  if (std::string error = parse_connection_query(params ? params : "", query); !error.empty()) {
    error_reply(d, error);
    return 0;
  }
  size_t first_stack = query.cursor >> kStackShift;
  uint64_t slot = query.cursor & ((uint64_t{1} << kStackShift) - 1);
  rte_tel_data_start_dict(d);
  uint64_t by_state[11] = {};
  size_t entries = 0, budget = kReplyBudget, slots_left = kSlotsPerCommand;
  const size_t entry_guess = query.brief ? kBriefEntryGuess : kFullEntryGuess;
  rte_tel_data* list = nullptr;
  if (!query.summary) {
    list = rte_tel_data_alloc();
    if (list == nullptr) {
      error_reply(d, "out of memory for the reply");
      return 0;
    }
    rte_tel_data_start_dict(list);
  }
  uint64_t next = tcp::Shard::kListingDone;
  for (size_t s = first_stack; s < stacks_.size(); s++, slot = 0) {
    QueueStack& stack = *stacks_[s];
    if (query.lcore >= 0 && stack.lcore_id() != static_cast<unsigned>(query.lcore)) continue;
    while (slot != tcp::Shard::kListingDone) {
      if (!query.summary && (entries == query.limit || budget < entry_guess || slots_left == 0)) {
        next = (uint64_t{s} << kStackShift) | slot;
        break;
      }
      auto page = std::make_shared<Page>();
      page->kind = query.summary ? Page::Kind::summary : Page::Kind::connections;
      page->filter = query.filter;
      page->cursor = slot;
      page->max_entries = query.summary ? 0 : std::max<size_t>(1, std::min(query.limit - entries, budget / entry_guess));
      page->max_slots = std::min(kSlotsPerPage, query.summary ? kSlotsPerPage : slots_left);
      page->connections.reserve(page->max_entries);
      if (!gather(stack, page)) {
        if (list != nullptr) rte_tel_data_free(list);
        error_reply(d, "lcore " + std::to_string(stack.lcore_id()) + " did not answer (message ring full or stopped)");
        return 0;
      }
      if (!query.summary) slots_left -= std::min(slots_left, page->max_slots);
      for (unsigned i = 0; i < 11; i++) by_state[i] += page->by_state[i];
      bool full = false;
      for (const tcp::ConnectionInfo& info : page->connections) {
        const std::string name = std::to_string(entries);
        const std::vector<Field> fields = connection_fields(stack, info, query.brief);
        const size_t size = json_size(name, fields);
        if (size > budget) {  // the next page starts with this one
          next = (uint64_t{s} << kStackShift) | info.slot;
          full = true;
          break;
        }
        add_dict(list, name, [&](rte_tel_data* inner) { add_fields(inner, fields); });
        entries++;
        budget -= size;
      }
      if (full) break;
      slot = page->next;
    }
    if (next != tcp::Shard::kListingDone) break;
  }
  if (query.summary) {
    add_dict(d, "states", [&](rte_tel_data* inner) {
      for (unsigned i = 0; i < 11; i++) {
        rte_tel_data_add_dict_u64(inner, telemetry_name(ss_state_name(static_cast<TcpState>(i))).c_str(), by_state[i]);
      }
    });
    return 0;
  }
  rte_tel_data_add_dict_u64(d, "count", entries);
  if (next != tcp::Shard::kListingDone) rte_tel_data_add_dict_u64(d, "next", next);
  if (rte_tel_data_add_dict_container(d, "conns", list, 0) != 0) rte_tel_data_free(list);
  return 0;
}

int Inspector::listeners(const char*, rte_tel_data* d) {
  // Every lcore's answer first, so an lcore that does not answer leaves no half-built reply.
  std::vector<std::pair<QueueStack*, std::shared_ptr<Page>>> pages;
  for (QueueStack* stack : stacks_) {
    auto page = std::make_shared<Page>();
    page->kind = Page::Kind::listeners;
    page->listeners.reserve(config_.tcp.max_listeners);
    if (!gather(*stack, page)) {
      error_reply(d, "lcore " + std::to_string(stack->lcore_id()) + " did not answer");
      return 0;
    }
    pages.emplace_back(stack, std::move(page));
  }
  rte_tel_data_start_dict(d);
  size_t n = 0, budget = kReplyBudget;
  for (const auto& [stack, page] : pages) {
    for (const tcp::ListenerInfo& l : page->listeners) {
      const std::vector<Field> fields = {
          {"state", "LISTEN"},
          {"port", {}, l.port, true},
          {"family", l.family},
          {"lcore", {}, stack->lcore_id(), true},
          {"queue", {}, stack->queue_id(), true},
          {"local", stack->port_config().name},
          {"syn_recv", {}, l.syn_received, true},
          {"syn_backlog", {}, l.syn_backlog, true},
          {"syn_cookies", l.syn_cookies},
      };
      const std::string name = std::to_string(n);
      const size_t size = json_size(name, fields);
      if (size + 40 > budget || n + 1 >= RTE_TEL_MAX_DICT_ENTRIES) {
        // A reply holds what fits; say how many were left out rather than drop them unseen.
        size_t total = 0;
        for (const auto& entry : pages) total += entry.second->listeners.size();
        rte_tel_data_add_dict_u64(d, "truncated", total - n);
        return 0;
      }
      add_dict(d, name, [&](rte_tel_data* inner) { add_fields(inner, fields); });
      budget -= size;
      n++;
    }
  }
  return 0;
}

int Inspector::config(const char* params, rte_tel_data* d) {
  const std::string only = params ? params : "";
  rte_tel_data_start_dict(d);
  bool found = only.empty();
  for (const auto& shown : show_config(config_)) {  // not a structured binding: captured below
    const std::string& section = shown.first;
    const config_keys::Entries& entries = shown.second;
    if (!only.empty() && section != only) continue;
    found = true;
    add_dict(d, telemetry_name(section), [&](rte_tel_data* inner) {
      for (const auto& [key, value] : entries) rte_tel_data_add_dict_string(inner, key.c_str(), value.c_str());
    });
  }
  if (!found) error_reply(d, "no section [" + only + "]");
  return 0;
}

int Inspector::ports(const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  const auto shown = show_config(config_);
  for (size_t p = 0; p < config_.ports.size() && p < port_ids_.size(); p++) {
    const PortConfig& port = config_.ports[p];
    const uint16_t id = port_ids_[p];
    add_dict(d, telemetry_name(port.name.empty() ? "port" : "port_" + port.name), [&](rte_tel_data* inner) {
      rte_tel_data_add_dict_u64(inner, "port_id", id);
      rte_eth_dev_info info{};
      if (rte_eth_dev_info_get(id, &info) == 0 && info.driver_name != nullptr)
        rte_tel_data_add_dict_string(inner, "driver", info.driver_name);
      rte_ether_addr mac{};
      if (rte_eth_macaddr_get(id, &mac) == 0) {
        char text[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(text, sizeof text, &mac);
        rte_tel_data_add_dict_string(inner, "mac", text);
      }
      for (const auto& [section, entries] : shown) {
        if (section != (port.name.empty() ? "port" : "port." + port.name)) continue;
        for (const auto& [key, value] : entries) {
          if (key == "address") rte_tel_data_add_dict_string(inner, "addresses", value.c_str());
        }
      }
      rte_tel_data_add_dict_u64(inner, "mtu", port.mtu);
      rte_tel_data_add_dict_u64(inner, "queues", port.rx_queues);
      std::string lcores;
      for (QueueStack* s : stacks_) {
        if (&s->port_config() == &port || s->port_config().name == port.name)
          lcores += (lcores.empty() ? "" : " ") + std::to_string(s->lcore_id());
      }
      rte_tel_data_add_dict_string(inner, "lcores", lcores.c_str());
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(id, &link) == 0) {
        rte_tel_data_add_dict_string(inner, "link", link.link_status ? "up" : "down");
        rte_tel_data_add_dict_u64(inner, "speed_mbps", link.link_speed);
      }
      rte_eth_stats st{};
      if (rte_eth_stats_get(id, &st) == 0) {
        rte_tel_data_add_dict_u64(inner, "ipackets", st.ipackets);
        rte_tel_data_add_dict_u64(inner, "opackets", st.opackets);
        rte_tel_data_add_dict_u64(inner, "ibytes", st.ibytes);
        rte_tel_data_add_dict_u64(inner, "obytes", st.obytes);
        rte_tel_data_add_dict_u64(inner, "imissed", st.imissed);
        rte_tel_data_add_dict_u64(inner, "ierrors", st.ierrors);
        rte_tel_data_add_dict_u64(inner, "oerrors", st.oerrors);
        rte_tel_data_add_dict_u64(inner, "rx_nombuf", st.rx_nombuf);
      }
    });
  }
  return 0;
}

}  // namespace dtcp::dpdk
