// INI configuration through rte_cfgfile. Each section is a table of keys with a parser each, so
// unknown keys are caught and every message has the same "file: [section] key: expected X, got Y".
#include "dtcp/config.hpp"

#include <rte_cfgfile.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <variant>
#include <algorithm>

#include "dpdk/capture_spec.hpp"
#include "dpdk/config_keys.hpp"

namespace dtcp {
namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const auto end = s.find(sep, start);
    const auto piece = trim(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (!piece.empty()) out.push_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

namespace config_keys {

std::optional<std::string> parse_u64(std::string_view text, uint64_t min, uint64_t max, uint64_t& out) {
  uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    return "expected an integer in " + std::to_string(min) + ".." + std::to_string(max);
  }
  out = value;
  return std::nullopt;
}

std::optional<std::string> parse_fraction(std::string_view text, double& out) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || errno != 0 || *end != '\0' || !(value >= 0.0 && value <= 1.0)) {
    return "expected a fraction in 0..1 (e.g. 0.01)";
  }
  out = value;
  return std::nullopt;
}

std::optional<std::string> parse_bool(std::string_view text, bool& out) {
  if (text == "1" || text == "yes" || text == "true" || text == "on") {
    out = true;
  } else if (text == "0" || text == "no" || text == "false" || text == "off") {
    out = false;
  } else {
    return "expected yes or no";
  }
  return std::nullopt;
}

void apply_section(const std::string& origin, const std::string& section, const Entries& entries,
                   const KeyTable& table) {
  for (const auto& [key, value] : entries) {
    const auto it = table.find(key);
    if (it == table.end()) {
      std::string known;
      for (const auto& [name, parser] : table) known += (known.empty() ? "" : ", ") + name;
      throw ConfigError(origin + ": [" + section + "] " + key + ": unknown key (known: " + known + ")");
    }
    if (auto error = it->second.parse(value)) {
      throw ConfigError(origin + ": [" + section + "] " + key + ": " + *error + ", got '" + value + "'");
    }
  }
}

Key boolean(bool& field) {
  return Key([&field](std::string_view v) { return parse_bool(v, field); }, [&field] { return std::string(field ? "yes" : "no"); });
}

Key fraction(double& field) {
  return Key([&field](std::string_view v) { return parse_fraction(v, field); }, [&field] {
    char text[32];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, field);  // shortest that reads back
    return ec == std::errc{} ? std::string(text, end) : std::string("?");
  });
}

Entries show_section(const KeyTable& table) {
  Entries out;
  for (const auto& [name, key] : table) out.emplace_back(name, key.show ? key.show() : "");
  return out;
}

}  // namespace config_keys

namespace {

using namespace config_keys;

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

template <class Rep, class Period>
Key duration(std::chrono::duration<Rep, Period>& field, uint64_t min, uint64_t max) {
  return Key(
      [&field, min, max](std::string_view v) -> std::optional<std::string> {
        uint64_t value = 0;
        if (auto error = parse_u64(v, min, max, value)) return error;
        field = std::chrono::duration<Rep, Period>(static_cast<Rep>(value));
        return std::nullopt;
      },
      [&field] { return std::to_string(static_cast<uint64_t>(field.count())); });
}

Key text(std::string& field) {
  return Key(
      [&field](std::string_view v) -> std::optional<std::string> {
        if (v.empty()) return "expected a non-empty value";
        field = std::string(v);
        return std::nullopt;
      },
      [&field] { return field; });
}

// "1,2" or "1-4" or "1-2,5": lcore ids in order, ranges inclusive.
Key lcore_list(std::vector<unsigned>& field) {
  return Key([&field](std::string_view v) -> std::optional<std::string> {
    const std::string expected = "expected a comma-separated list of lcore ids or ranges (e.g. 1,2 or 1-4)";
    std::vector<unsigned> ids;
    for (const auto& item : split(v, ',')) {
      const auto dash = item.find('-');
      uint64_t first = 0;
      uint64_t last = 0;
      if (dash == std::string::npos) {
        if (parse_u64(item, 0, 1023, first)) return expected;
        last = first;
      } else if (parse_u64(trim(item.substr(0, dash)), 0, 1023, first) ||
                 parse_u64(trim(item.substr(dash + 1)), 0, 1023, last) || last < first) {
        return expected;
      }
      for (uint64_t id = first; id <= last; id++) ids.push_back(static_cast<unsigned>(id));
    }
    if (ids.empty()) return "expected at least one lcore id";
    field = std::move(ids);
    return std::nullopt;
  }, [&field] {
    std::vector<std::string> items;
    for (unsigned id : field) items.push_back(std::to_string(id));
    return join(items, ",");
  });
}

Key queue_pattern(std::vector<uint16_t>& field) {
  return Key([&field](std::string_view v) -> std::optional<std::string> {
    std::vector<uint16_t> queues;
    for (const auto& item : split(v, ',')) {
      uint64_t q = 0;
      if (parse_u64(item, 0, 127, q)) return "expected a comma-separated list of queue numbers (e.g. 0,1 or 1,0)";
      queues.push_back(static_cast<uint16_t>(q));
    }
    if (queues.empty() || queues.size() > 512) return "expected 1 to 512 queue numbers";
    field = std::move(queues);
    return std::nullopt;
  }, [&field] {
    std::vector<std::string> items;
    for (uint16_t q : field) items.push_back(std::to_string(q));
    return join(items, ",");
  });
}

void add_impairment_keys(KeyTable& table, const std::string& prefix, ImpairmentConfig& impairment) {
  table[prefix + "loss"] = fraction(impairment.loss);
  table[prefix + "duplicate"] = fraction(impairment.duplicate);
  table[prefix + "reorder"] = fraction(impairment.reorder);
  table[prefix + "corrupt"] = fraction(impairment.corrupt);
  table[prefix + "ce"] = fraction(impairment.ce);
  table[prefix + "delay_us"] = duration(impairment.delay, 0, 10'000'000);
  table[prefix + "seed"] = integer(impairment.seed, 0, UINT64_MAX);
}

constexpr const char* kAddressExpected =
    "expected addresses with prefix lengths, like 198.18.0.1/24 or 2001:db8::1/64, ranges like "
    "198.18.0.10-198.18.0.73/24 or 2001:db8::10-2001:db8::4f/64, separated by commas";

// IPv4: A/PREFIX or a range A-B/PREFIX (every address in it is ours: load generators use many
// source addresses).
std::optional<std::string> parse_ipv4_entry(const std::string& v, PortConfig& port) {
  const auto parts = split(v, '/');
  if (std::count(v.begin(), v.end(), '/') != static_cast<long>(parts.size()) - 1) return std::string(kAddressExpected);
  const auto range = parts.empty() ? std::vector<std::string>{} : split(parts[0], '-');
  if (range.empty() || range.size() > 2 ||
      std::count(parts[0].begin(), parts[0].end(), '-') != static_cast<long>(range.size()) - 1) {
    return std::string(kAddressExpected);
  }
  const auto address = wire::Ipv4Addr::parse(range[0]);
  const auto last = range.size() == 2 ? wire::Ipv4Addr::parse(range[1]) : address;
  uint64_t prefix = 24;
  if (parts.size() > 2 || !address || !last || address->is_unspecified() || address->is_multicast() ||
      (parts.size() == 2 && parse_u64(parts[1], 1, 32, prefix))) {
    return std::string(kAddressExpected);
  }
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  if (last->value < address->value || (last->value & mask) != (address->value & mask)) {
    return "the range's last address must follow its first, in the same /" + std::to_string(prefix) + " subnet";
  }
  port.address = *address;
  port.address_count = last->value - address->value + 1;
  port.prefix_len = static_cast<uint8_t>(prefix);
  return std::nullopt;
}

// IPv6: A/PREFIX or A-B/PREFIX, a unicast global or unique-local address (the link-local one
// is derived from the MAC, RFC 4862 §5.3). A range stays within its /64 and below 2^32 long.
std::optional<std::string> parse_ipv6_entry(const std::string& v, PortConfig& port) {
  const auto parts = split(v, '/');
  if (parts.size() > 2 || std::count(v.begin(), v.end(), '/') != static_cast<long>(parts.size()) - 1) {
    return std::string(kAddressExpected);
  }
  const auto range = split(parts[0], '-');
  // split() drops empty pieces: "A-" would read as the single address A.
  if (range.empty() || range.size() > 2 ||
      std::count(parts[0].begin(), parts[0].end(), '-') != static_cast<long>(range.size()) - 1) {
    return "'" + v + "': " + kAddressExpected;
  }
  const auto first = wire::Ipv6Addr::parse(trim(range[0]));
  const auto last = range.size() == 2 ? wire::Ipv6Addr::parse(trim(range[1])) : first;
  uint64_t prefix = 64;
  if (!first || !last || (parts.size() == 2 && parse_u64(parts[1], 1, 128, prefix))) {
    return "'" + v + "': " + kAddressExpected;
  }
  if (first->is_unspecified() || first->is_loopback() || first->is_multicast() || first->is_v4_mapped()) {
    return "'" + v + "': not a unicast address a port can have";
  }
  if (first->is_link_local()) {
    return "'" + v + "': link-local addresses are derived from the port's MAC (RFC 4862 §5.3), not configured";
  }
  if (last->high_be() != first->high_be() || last->low_be() < first->low_be() ||
      last->low_be() - first->low_be() >= 0xffffffffull || first->masked(static_cast<uint8_t>(prefix)) !=
      last->masked(static_cast<uint8_t>(prefix))) {
    return "'" + v + "': the range's last address must follow its first, within the prefix and the same /64, "
           "at most 2^32-1 addresses";
  }
  port.addresses6.push_back(Ipv6AddressRange{*first, static_cast<uint32_t>(last->low_be() - first->low_be() + 1),
                                             static_cast<uint8_t>(prefix)});
  return std::nullopt;
}

KeyTable port_keys(PortConfig& port) {
  KeyTable table;
  table["vdev"] = text(port.vdev);
  table["pci"] = text(port.pci);
  table["ring"] = text(port.ring);
  table["mac"] = [&](std::string_view v) -> std::optional<std::string> {
    auto mac = wire::MacAddr::parse(v);
    if (!mac || mac->is_multicast() || mac->is_zero()) return "expected a unicast MAC like 02:00:00:00:00:01";
    port.mac = *mac;
    return std::nullopt;
  };
  // A comma-separated list: at most one IPv4 entry and any number of IPv6 ones.
  table["address"] = [&](std::string_view v) -> std::optional<std::string> {
    port.address = wire::Ipv4Addr{};
    port.address_count = 1;
    port.addresses6.clear();
    bool have_ipv4 = false;
    for (const std::string& item : split(v, ',')) {
      const std::string entry = trim(item);
      if (entry.find(':') != std::string::npos) {
        if (auto error = parse_ipv6_entry(entry, port)) return error;
        continue;
      }
      if (have_ipv4) return std::string("one IPv4 entry per port (use a range A-B/PREFIX for several addresses)");
      have_ipv4 = true;
      if (auto error = parse_ipv4_entry(entry, port)) return error;
    }
    if (!have_ipv4 && port.addresses6.empty()) return std::string(kAddressExpected);
    return std::nullopt;
  };
  table["gateway"] = [&](std::string_view v) -> std::optional<std::string> {
    auto address = wire::Ipv4Addr::parse(v);
    if (!address || address->is_unspecified()) return "expected an IPv4 address like 198.18.0.254";
    port.gateway = *address;
    return std::nullopt;
  };
  table["gateway6"] = [&](std::string_view v) -> std::optional<std::string> {
    auto address = wire::Ipv6Addr::parse(trim(std::string(v)));
    if (!address || address->is_unspecified() || address->is_multicast() || address->is_v4_mapped()) {
      return "expected a unicast IPv6 address like 2001:db8::fe or fe80::1";
    }
    port.gateway6 = *address;
    return std::nullopt;
  };
  table["accept_ra"] = boolean(port.accept_router_advertisements);
  table["dad_transmits"] = integer(port.dad_transmits, 0, 10);
  table["mtu"] = integer(port.mtu, 68, 9600);
  table["rx_queues"] = integer(port.rx_queues, 1, 128);
  table["tx_queues"] = integer(port.tx_queues, 1, 128);
  table["rx_desc"] = integer(port.rx_desc, 32, 32768);
  table["tx_desc"] = integer(port.tx_desc, 32, 32768);
  table["queues"] = [&](std::string_view v) -> std::optional<std::string> {
    if (auto error = integer(port.rx_queues, 1, 128).parse(v)) return error;
    port.tx_queues = port.rx_queues;
    return std::nullopt;
  };
  table["lcores"] = lcore_list(port.lcores);
  table["reta"] = queue_pattern(port.reta);
  table["offloads"] = boolean(port.offloads);
  table["tso"] = [&port](std::string_view v) -> std::optional<std::string> {
    if (v == "auto") {
      port.tso = PortConfig::Tso::automatic;
    } else if (v == "off") {
      port.tso = PortConfig::Tso::off;
    } else {
      return "expected auto or off";
    }
    return std::nullopt;
  };
  table["tso"].show = [&port] { return std::string(port.tso == PortConfig::Tso::off ? "off" : "auto"); };
  table["gro"] = [&port](std::string_view v) -> std::optional<std::string> {
    if (v == "auto") {
      port.gro = PortConfig::Gro::automatic;
    } else if (v == "off") {
      port.gro = PortConfig::Gro::off;
    } else if (v == "default") {
      port.gro = PortConfig::Gro::by_device;
    } else {
      return "expected auto, off or default";
    }
    return std::nullopt;
  };
  table["gro"].show = [&port] {
    switch (port.gro) {
      case PortConfig::Gro::off: return std::string("off");
      case PortConfig::Gro::automatic: return std::string("auto");
      case PortConfig::Gro::by_device: break;
    }
    return std::string("default");  // read back as the same choice (auto on net_tap and LRO devices)
  };
  add_impairment_keys(table, "rx_", port.rx_impairment);
  add_impairment_keys(table, "tx_", port.tx_impairment);
  table["mac"].show = [&port] { return port.mac ? port.mac->to_string() : std::string("(the device's)"); };
  table["address"].show = [&port] {
    std::vector<std::string> items;
    if (port.has_ipv4()) {
      std::string v4 = port.address.to_string();
      if (port.address_count > 1) v4 += "-" + wire::Ipv4Addr{port.address.value + port.address_count - 1}.to_string();
      items.push_back(v4 + "/" + std::to_string(port.prefix_len));
    }
    for (const auto& r : port.addresses6) {
      std::string v6 = r.address.to_string();
      if (r.count > 1) {
        wire::Ipv6Addr last = r.address;
        const uint64_t low = r.address.low_be() + r.count - 1;
        for (int i = 0; i < 8; i++) last.bytes[8 + i] = static_cast<uint8_t>(low >> (8 * (7 - i)));
        v6 += "-" + last.to_string();
      }
      items.push_back(v6 + "/" + std::to_string(r.prefix_len));
    }
    return join(items, ",");
  };
  table["gateway"].show = [&port] { return port.gateway ? port.gateway->to_string() : std::string(); };
  table["gateway6"].show = [&port] { return port.gateway6 ? port.gateway6->to_string() : std::string(); };
  table["queues"].show = [&port] { return std::to_string(port.rx_queues); };
  return table;
}

KeyTable eal_keys(Config& config) {
  KeyTable table;
  table["args"] = [&](std::string_view v) -> std::optional<std::string> {
    config.eal_args = split(v, ' ');
    if (config.eal_args.empty()) return "expected EAL arguments, e.g. --no-huge --no-shconf";
    return std::nullopt;
  };
  table["args"].show = [&config] { return join(config.eal_args, " "); };
  return table;
}

KeyTable runtime_keys(RuntimeConfig& runtime) {
  KeyTable table;
  table["idle"] = [&](std::string_view v) -> std::optional<std::string> {
    if (v == "busy") {
      runtime.idle = IdlePolicy::busy;
    } else if (v == "adaptive") {
      runtime.idle = IdlePolicy::adaptive;
    } else if (v == "auto") {
      runtime.idle = IdlePolicy::automatic;
    } else {
      return "expected busy, adaptive or auto";
    }
    return std::nullopt;
  };
  table["idle"].show = [&runtime] { return std::string(to_string(runtime.idle)); };
  table["idle_polls"] = integer(runtime.idle_polls, 1, 1u << 24);
  table["idle_sleep_max_us"] = duration(runtime.idle_sleep_max, 1, 100'000);
  table["stop_grace_ms"] = duration(runtime.stop_grace, 0, 3'600'000);
  table["message_ring"] = integer(runtime.message_ring, 64, 1u << 20);
  table["steer_ring"] = integer(runtime.steer_ring, 8, 1u << 20);  // 8: tests that fill it
  // Checked here so a bad option fails at load, naming the key; the runtime starts it.
  table["capture"] = [&](std::string_view v) -> std::optional<std::string> {
    if (auto spec = dpdk::parse_capture_spec(v); std::holds_alternative<std::string>(spec)) {
      return std::get<std::string>(spec);
    }
    runtime.capture = v;
    return std::nullopt;
  };
  table["capture"].show = [&runtime] { return runtime.capture; };  // "" when none
  return table;
}

KeyTable arp_keys(ArpConfig& arp) {
  KeyTable table;
  table["entry_timeout_s"] = duration(arp.entry_timeout, 1, 86400);
  table["request_interval_ms"] = duration(arp.request_interval, 10, 60000);
  table["request_retries"] = integer(arp.request_retries, 1, 100);
  table["max_pending_per_entry"] = integer(arp.max_pending_per_entry, 1, 4096);
  table["capacity"] = integer(arp.capacity, 16, 1u << 20);
  return table;
}

KeyTable nd_keys(NeighborConfig& nd) {
  KeyTable table;
  table["capacity"] = integer(nd.capacity, 16, 1u << 20);
  table["max_pending_per_entry"] = integer(nd.max_pending_per_entry, 1, 4096);
  table["max_pending_total"] = integer(nd.max_pending_total, 1, 1u << 20);
  table["retrans_timer_ms"] = duration(nd.retrans_timer, 10, 60000);
  table["base_reachable_time_ms"] = duration(nd.base_reachable_time, 100, 3600000);
  table["delay_first_probe_time_ms"] = duration(nd.delay_first_probe_time, 10, 60000);
  table["max_multicast_solicit"] = integer(nd.max_multicast_solicit, 1, 100);
  table["max_unicast_solicit"] = integer(nd.max_unicast_solicit, 1, 100);
  return table;
}

KeyTable mempool_keys(MempoolConfig& pool) {
  KeyTable table;
  table["mbufs"] = integer(pool.mbufs, 1023, 1u << 26);
  table["cache"] = integer(pool.cache, 0, 512);  // RTE_MEMPOOL_CACHE_MAX_SIZE
  table["data_room"] = integer(pool.data_room, 1024, 65535);
  // 0: sized from the ports' MTUs at start (runtime.cpp data_room_for), shown as unset.
  table["data_room"].show = [&pool] { return pool.data_room == 0 ? std::string() : std::to_string(pool.data_room); };
  return table;
}

void validate_port(const std::string& origin, const std::string& section, const PortConfig& port) {
  const int devices = !port.vdev.empty() + !port.pci.empty() + !port.ring.empty();
  if (devices != 1) {
    throw ConfigError(origin + ": [" + section + "]: expected exactly one of vdev, pci or ring");
  }
  if (!port.has_ipv4() && !port.has_ipv6()) {
    throw ConfigError(origin + ": [" + section + "] address: missing; expected e.g. 198.18.0.1/24 or 2001:db8::1/64");
  }
  if (port.has_ipv6() && port.mtu < 1280) {
    throw ConfigError(origin + ": [" + section + "] mtu: IPv6 needs at least 1280 (RFC 8200 §5)");
  }
  if (!port.ring.empty()) {
    const auto parts = split(port.ring, ':');
    // rte_eth_from_rings() refuses longer device names with ENAMETOOLONG.
    if (parts.size() != 2 || parts[0].size() > 8 || (parts[1] != "0" && parts[1] != "1")) {
      throw ConfigError(origin + ": [" + section + "] ring: expected PAIR:SIDE, PAIR at most 8 characters and SIDE 0 or 1, got '" +
                        port.ring + "'");
    }
  }
  if (port.rx_queues != port.tx_queues) {
    throw ConfigError(origin + ": [" + section + "]: rx_queues and tx_queues must be equal (one pair per lcore)");
  }
  if (!port.lcores.empty() && port.lcores.size() != port.rx_queues) {
    throw ConfigError(origin + ": [" + section + "] lcores: expected " + std::to_string(port.rx_queues) +
                      " lcore ids, one per queue pair");
  }
  for (uint16_t q : port.reta) {
    if (q >= port.rx_queues) {
      throw ConfigError(origin + ": [" + section + "] reta: queue " + std::to_string(q) + " does not exist (" +
                        std::to_string(port.rx_queues) + " queue pairs)");
    }
  }
}

std::string section_name(const PortConfig& port) { return port.name.empty() ? "port" : "port." + port.name; }

Entries section_entries(rte_cfgfile* file, const char* section) {
  const int count = rte_cfgfile_section_num_entries(file, section);
  std::vector<rte_cfgfile_entry> raw(count > 0 ? count : 0);
  const int got = rte_cfgfile_section_entries(file, section, raw.data(), count);
  Entries entries;
  for (int i = 0; i < got; i++) entries.emplace_back(trim(raw[i].name), trim(raw[i].value));
  return entries;
}

// rte_cfgfile skips lines without '=' and truncates long values without a word, and looks up
// repeated sections by their first copy; so the text is checked here first, with line numbers.
void check_ini_text(const std::string& text, const std::string& origin) {
  std::set<std::string> sections;
  std::string section;
  size_t line_no = 0;
  std::istringstream lines(text);
  for (std::string raw; std::getline(lines, raw);) {
    line_no++;
    std::string line = raw.substr(0, raw.find(';'));  // ';' starts a comment, as in rte_cfgfile
    line = trim(line);
    if (!line.empty() && line.back() == '\r') line = trim(line.substr(0, line.size() - 1));
    if (line.empty()) continue;
    const std::string where = origin + ":" + std::to_string(line_no) + ": ";
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) throw ConfigError(where + "expected [section], got '" + line + "'");
      section = trim(line.substr(1, line.size() - 2));
      if (!sections.insert(section).second) {
        throw ConfigError(where + "[" + section + "]: section repeated; merge its keys into the first one");
      }
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
      throw ConfigError(where + "expected 'key = value' or '[section]', got '" + line + "' (comments start with ';')");
    }
    const std::string key = trim(line.substr(0, equals));
    const std::string value = trim(line.substr(equals + 1));
    if (section.empty()) throw ConfigError(where + key + ": key outside any [section]");
    if (key.empty()) throw ConfigError(where + "[" + section + "]: missing key before '='");
    if (key.size() >= CFG_NAME_LEN || value.size() >= CFG_VALUE_LEN) {
      throw ConfigError(where + "[" + section + "] " + key + ": longer than rte_cfgfile's limit (" +
                        std::to_string(CFG_NAME_LEN - 1) + " characters per key, " + std::to_string(CFG_VALUE_LEN - 1) +
                        " per value)");
    }
  }
}

Config load_from_cfgfile(rte_cfgfile* file, const std::string& origin) {
  Config config;
  config.source = origin;
  // DPDK 22.11 rejects --no-huge with --in-memory ("--legacy-mem is not compatible"); --no-shconf
  // with the per-process --file-prefix that build_eal_args adds keeps no shared files either.
  config.eal_args = {"--no-huge", "--no-shconf"};

  const int count = rte_cfgfile_num_sections(file, nullptr, 0);
  std::vector<std::array<char, CFG_NAME_LEN>> storage(count > 0 ? count : 0);
  std::vector<char*> names;
  for (auto& s : storage) names.push_back(s.data());
  rte_cfgfile_sections(file, names.data(), count);

  for (char* raw_name : names) {
    const std::string section = trim(raw_name);
    const Entries entries = section_entries(file, raw_name);
    if (section == "eal") {
      apply_section(origin, section, entries, eal_keys(config));
    } else if (section == "arp") {
      apply_section(origin, section, entries, arp_keys(config.arp));
    } else if (section == "nd") {
      apply_section(origin, section, entries, nd_keys(config.nd));
    } else if (section == "mempool") {
      apply_section(origin, section, entries, mempool_keys(config.mempool));
    } else if (section == "runtime") {
      apply_section(origin, section, entries, runtime_keys(config.runtime));
    } else if (section == "port" || section.rfind("port.", 0) == 0) {
      PortConfig& port = config.ports.emplace_back();
      port.name = section == "port" ? "" : section.substr(5);
      apply_section(origin, section, entries, port_keys(port));
      validate_port(origin, section, port);
    } else if (apply_extra_section(origin, section, entries, config)) {
      // Handled by a section owned by another layer (e.g. [tcp]).
    } else {
      throw ConfigError(origin + ": [" + section +
                        "]: unknown section (known: eal, port, port.NAME, arp, nd, mempool, tcp, runtime)");
    }
  }
  if (config.ports.empty()) throw ConfigError(origin + ": no [port] section; at least one port is needed");
  return config;
}

}  // namespace

std::vector<config_keys::ShownSection> show_config(const Config& effective) {
  Config c = effective;  // the tables take references they may write through
  std::vector<ShownSection> out;
  out.emplace_back("eal", show_section(eal_keys(c)));
  for (auto& port : c.ports) out.emplace_back(section_name(port), show_section(port_keys(port)));
  out.emplace_back("arp", show_section(arp_keys(c.arp)));
  out.emplace_back("nd", show_section(nd_keys(c.nd)));
  out.emplace_back("mempool", show_section(mempool_keys(c.mempool)));
  out.emplace_back("runtime", show_section(runtime_keys(c.runtime)));
  show_extra_sections(c, out);
  return out;
}

const char* to_string(IdlePolicy policy) {
  switch (policy) {
    case IdlePolicy::busy: return "busy";
    case IdlePolicy::adaptive: return "adaptive";
    case IdlePolicy::automatic: return "auto";
  }
  return "?";
}

void set_config_key(Config& config, const std::string& section, const std::string& key, const std::string& value,
                    const std::string& origin) {
  const Entries entries{{key, value}};
  if (section == "port") {
    for (auto& port : config.ports) {
      apply_section(origin, section_name(port), entries, port_keys(port));
      validate_port(origin, section_name(port), port);
    }
  } else if (section == "runtime") {
    apply_section(origin, section, entries, runtime_keys(config.runtime));
  } else if (section == "eal") {
    apply_section(origin, section, entries, eal_keys(config));
  } else if (section == "arp") {
    apply_section(origin, section, entries, arp_keys(config.arp));
  } else if (section == "nd") {
    apply_section(origin, section, entries, nd_keys(config.nd));
  } else if (section == "mempool") {
    apply_section(origin, section, entries, mempool_keys(config.mempool));
  } else if (!apply_extra_section(origin, section, entries, config)) {
    throw ConfigError(origin + ": [" + section + "]: unknown section (known: eal, port, arp, nd, mempool, tcp, runtime)");
  }
}

std::vector<unsigned> parse_lcore_list(const std::string& text, const std::string& origin) {
  std::vector<unsigned> ids;
  if (auto error = lcore_list(ids).parse(text)) throw ConfigError(origin + ": " + *error + ", got '" + text + "'");
  return ids;
}

Config load_config(const std::string& path) {
  std::ifstream probe(path);
  if (!probe) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << probe.rdbuf();
  check_ini_text(text.str(), path);
  // rte_cfgfile reports the offending line through rte_log (stderr before EAL starts).
  rte_cfgfile* file = rte_cfgfile_load(path.c_str(), 0);
  if (file == nullptr) {
    throw ConfigError(path + ": malformed INI (see the line reported above); expected [section] and key = value lines");
  }
  try {
    Config config = load_from_cfgfile(file, path);
    rte_cfgfile_close(file);
    return config;
  } catch (...) {
    rte_cfgfile_close(file);
    throw;
  }
}

Config parse_config(const std::string& text, const std::string& origin) {
  check_ini_text(text, origin);
  // rte_cfgfile reads only files; an anonymous memory file keeps embedded defaults off the disk.
  const int fd = memfd_create("dtcp-config", 0);
  if (fd < 0) throw ConfigError(origin + ": memfd_create failed: " + std::strerror(errno));
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (!written) {
    close(fd);
    throw ConfigError(origin + ": cannot stage the embedded configuration");
  }
  rte_cfgfile* file = rte_cfgfile_load(path.c_str(), 0);
  close(fd);
  if (file == nullptr) throw ConfigError(origin + ": malformed INI (see the line reported above)");
  try {
    Config config = load_from_cfgfile(file, origin);
    rte_cfgfile_close(file);
    return config;
  } catch (...) {
    rte_cfgfile_close(file);
    throw;
  }
}

}  // namespace dtcp
