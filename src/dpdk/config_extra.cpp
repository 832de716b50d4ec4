// [tcp]: every TcpConfig field under its own name. Durations take a unit: 200ms, 30s, 500us.
#include <limits>

#include "dpdk/config_keys.hpp"

namespace dtcp::config_keys {
namespace {

std::optional<std::string> parse_duration(std::string_view text, Duration min, Duration max, Duration& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') digits++;
  const std::string_view unit = text.substr(digits);
  uint64_t value = 0;
  const auto expected = "expected a duration with unit (us, ms or s) in " + std::to_string(min.count()) + "us.." +
                        std::to_string(max.count() / 1'000'000) + "s, e.g. 200ms";
  if (digits == 0 || parse_u64(text.substr(0, digits), 0, std::numeric_limits<uint32_t>::max(), value)) return expected;
  Duration d;
  if (unit == "us") {
    d = Duration(value);
  } else if (unit == "ms") {
    d = std::chrono::milliseconds(value);
  } else if (unit == "s") {
    d = std::chrono::seconds(value);
  } else {
    return expected;
  }
  if (d < min || d > max) return expected;
  out = d;
  return std::nullopt;
}

// Shown with the largest unit that keeps it whole, as it would be written.
std::string show_duration(Duration d) {
  const int64_t us = d.count();
  if (us != 0 && us % 1'000'000 == 0) return std::to_string(us / 1'000'000) + "s";
  if (us != 0 && us % 1000 == 0) return std::to_string(us / 1000) + "ms";
  return std::to_string(us) + "us";
}

Key duration(Duration& field, Duration min, Duration max) {
  return Key([&field, min, max](std::string_view v) { return parse_duration(v, min, max, field); },
             [&field] { return show_duration(field); });
}

KeyTable tcp_keys(TcpConfig& tcp) {
  using namespace std::chrono_literals;
  KeyTable table;
  table["max_connections"] = integer(tcp.max_connections, 1, 1u << 24);
  table["max_time_wait"] = integer(tcp.max_time_wait, 0, 1u << 24);
  table["syn_backlog"] = integer(tcp.syn_backlog, 1, 1u << 24);
  table["syn_budget"] = integer(tcp.syn_budget, 0, 1u << 24);
  table["max_listeners"] = integer(tcp.max_listeners, 1, 65535);
  table["mss"] = integer(tcp.mss, 88, 9460);
  table["msl"] = duration(tcp.msl, 0s, 3600s);
  table["fin_wait_2_timeout"] = duration(tcp.fin_wait_2_timeout, 1s, 3600s);
  table["min_rto"] = duration(tcp.min_rto, 1ms, 60s);
  table["max_rto"] = duration(tcp.max_rto, 10ms, 3600s);
  table["initial_rto"] = duration(tcp.initial_rto, 1ms, 60s);
  table["max_retries"] = integer(tcp.max_retries, 1, 100);
  table["max_syn_retries"] = integer(tcp.max_syn_retries, 1, 100);
  table["send_buffer"] = integer(tcp.send_buffer, 1024, 1u << 30);
  table["recv_buffer"] = integer(tcp.recv_buffer, 1024, 1u << 30);
  table["recv_buffer_max"] = integer(tcp.recv_buffer_max, 1024, 1u << 30);
  table["max_ooo_segments"] = integer(tcp.max_ooo_segments, 0, 65535);
  table["rack"] = boolean(tcp.rack);
  table["sent_records"] = integer(tcp.sent_records, 1, 1u << 26);
  table["sent_records_per_connection"] = integer(tcp.sent_records_per_connection, 1, 1u << 20);
  table["congestion"] = [&tcp](std::string_view v) -> std::optional<std::string> {
    if (v == "cubic") tcp.congestion = CongestionAlgorithm::cubic;
    else if (v == "reno" || v == "newreno") tcp.congestion = CongestionAlgorithm::reno;
    else return "expected cubic or reno";
    return std::nullopt;
  };
  table["rst_on_full"] = boolean(tcp.rst_on_full);
  table["challenge_ack_limit"] = integer(tcp.challenge_ack_limit, 1, 1u << 20);
  table["ephemeral_port_min"] = integer(tcp.ephemeral_port_min, 1024, 65535);
  table["ephemeral_port_max"] = integer(tcp.ephemeral_port_max, 1024, 65535);
  table["window_scaling"] = boolean(tcp.window_scaling);
  table["timestamps"] = boolean(tcp.timestamps);
  table["sack"] = boolean(tcp.sack);
  table["ecn"] = boolean(tcp.ecn);
  table["initial_window"] = integer(tcp.initial_window, 1, 1000);
  // RFC 1122 4.2.3.2: the delay MUST be less than 0.5 s.
  table["delayed_ack"] = duration(tcp.delayed_ack, 0s, 499ms);
  table["keepalive_idle"] = duration(tcp.keepalive_idle, 1ms, 86400s);
  table["keepalive_interval"] = duration(tcp.keepalive_interval, 1ms, 86400s);
  table["keepalive_probes"] = integer(tcp.keepalive_probes, 1, 1000);
  table["mem_low"] = fraction(tcp.mem_low);
  table["mem_pressure"] = fraction(tcp.mem_pressure);
  table["mem_high"] = fraction(tcp.mem_high);
  table["syn_cookies"] = [&tcp](std::string_view v) -> std::optional<std::string> {
    if (v == "auto") tcp.syn_cookies = SynCookies::automatic;
    else if (v == "always") tcp.syn_cookies = SynCookies::always;
    else if (v == "never") tcp.syn_cookies = SynCookies::never;
    else return "expected auto, always or never";
    return std::nullopt;
  };
  table["min_pmtu"] = integer(tcp.min_pmtu, 104, 65535);
  table["orphan_retries"] = integer(tcp.orphan_retries, 0, 100);
  table["max_orphans"] = integer(tcp.max_orphans, 0, 1u << 24);
  table["profile"] = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };  // applied first
  table["profile"].show = [] { return std::string("(applied; the keys show its values)"); };
  table["congestion"].show = [&tcp] { return std::string(tcp.congestion == CongestionAlgorithm::cubic ? "cubic" : "reno"); };
  table["syn_cookies"].show = [&tcp] {
    return std::string(tcp.syn_cookies == SynCookies::always ? "always"
                       : tcp.syn_cookies == SynCookies::never ? "never"
                                                              : "auto");
  };
  return table;
}

}  // namespace

void show_extra_sections(Config& config, std::vector<ShownSection>& out) {
  out.emplace_back("tcp", show_section(tcp_keys(config.tcp)));
}

bool apply_extra_section(const std::string& origin, const std::string& section, const Entries& entries,
                         Config& config) {
  if (section != "tcp") return false;
  // The profile sets every default, so it applies before the other keys wherever it appears.
  for (const auto& [key, value] : entries) {
    if (key != "profile") continue;
    if (value == "dtcp") {
      config.tcp = TcpConfig::dtcp_profile();
    } else if (value == "linux") {
      config.tcp = TcpConfig::linux_profile();
    } else {
      throw ConfigError(origin + ": [tcp] profile: expected dtcp or linux, got '" + value + "'");
    }
  }
  apply_section(origin, section, entries, tcp_keys(config.tcp));
  if (config.tcp.ephemeral_port_min > config.tcp.ephemeral_port_max) {
    throw ConfigError(origin + ": [tcp] ephemeral_port_min: must not exceed ephemeral_port_max");
  }
  if (config.tcp.min_rto > config.tcp.max_rto) {
    throw ConfigError(origin + ": [tcp] min_rto: must not exceed max_rto");
  }
  if (!(config.tcp.mem_low <= config.tcp.mem_pressure && config.tcp.mem_pressure <= config.tcp.mem_high)) {
    throw ConfigError(origin + ": [tcp] mem_low, mem_pressure, mem_high: expected mem_low <= mem_pressure <= mem_high");
  }
  return true;
}

}  // namespace dtcp::config_keys
