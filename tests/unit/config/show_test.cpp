// /dtcp/config's source: show_config() gives every key of every section a value, and each value
// reads back (written as an INI file and loaded again) to the same configuration.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "dpdk/config_keys.hpp"
#include "dtcp/config.hpp"

namespace dtcp {
namespace {

constexpr const char* kText = R"([port.a]
vdev = net_null0
address = 198.18.0.10-198.18.0.20/24,2001:db8::1/64,2001:db8:1::5-2001:db8:1::9/64
mac = 02:00:00:00:00:05
gateway = 198.18.0.254
queues = 2
lcores = 1,3
rx_loss = 0.0123456789
[port.b]
vdev = net_null1
address = 2001:db8:2::1/64
gateway6 = fe80::1
[tcp]
profile = linux
congestion = reno
syn_cookies = always
delayed_ack = 40ms
msl = 2s
[runtime]
idle = adaptive
[eal]
args = --no-huge --no-shconf -l 0-3
)";

std::string ini_of(const std::vector<config_keys::ShownSection>& shown) {
  std::string text;
  for (const auto& [section, entries] : shown) {
    text += "[" + section + "]\n";
    for (const auto& [key, value] : entries) {
      // Keys with nothing set (no gateway) and the profile (already applied) are left out.
      if (value.empty() || key == "profile" || key == "queues" || value.front() == '(') continue;
      text += key + " = " + value + "\n";
    }
  }
  return text;
}

TEST(ShowConfig, EveryKeyHasAValue) {
  const Config config = parse_config(kText, "test.ini");
  size_t keys = 0;
  for (const auto& [section, entries] : show_config(config)) {
    for (const auto& [key, value] : entries) {
      keys++;
      // Keys that may be unset: the other device kinds, the optional ones, the sized-at-start pool.
      static const std::set<std::string> optional = {"gateway", "gateway6", "mac", "pci", "ring", "vdev", "reta",
                                                     "lcores", "data_room", "capture"};
      if (optional.count(key) != 0) continue;
      EXPECT_FALSE(value.empty()) << "[" << section << "] " << key << " shows nothing";
    }
  }
  EXPECT_GT(keys, 80u);
}

TEST(ShowConfig, ShownValuesReadBackTheSameConfiguration) {
  const Config config = parse_config(kText, "test.ini");
  const auto shown = show_config(config);
  const std::string again = ini_of(shown);
  const Config reloaded = parse_config(again, "shown.ini");
  EXPECT_EQ(show_config(reloaded), shown) << again;
}

TEST(ShowConfig, ValuesAreInTheKeysOwnSyntax) {
  const auto shown = show_config(parse_config(kText, "test.ini"));
  auto value = [&](const std::string& section, const std::string& key) {
    for (const auto& [s, entries] : shown) {
      if (s != section) continue;
      for (const auto& [k, v] : entries) {
        if (k == key) return v;
      }
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(value("port.a", "address"), "198.18.0.10-198.18.0.20/24,2001:db8::1/64,2001:db8:1::5-2001:db8:1::9/64");
  EXPECT_EQ(value("port.a", "lcores"), "1,3");
  EXPECT_EQ(value("port.a", "rx_loss"), "0.0123456789");
  EXPECT_EQ(value("port.b", "gateway6"), "fe80::1");
  EXPECT_EQ(value("tcp", "congestion"), "reno");
  EXPECT_EQ(value("tcp", "syn_cookies"), "always");
  EXPECT_EQ(value("tcp", "delayed_ack"), "40ms");
  EXPECT_EQ(value("tcp", "msl"), "2s");
  EXPECT_EQ(value("runtime", "idle"), "adaptive");
  EXPECT_EQ(value("eal", "args"), "--no-huge --no-shconf -l 0-3");
}

}  // namespace
}  // namespace dtcp
