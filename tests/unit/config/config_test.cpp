// The INI loader: the repository's own files load, every key reaches its field, defaults are
// the documented ones, and every error names the file, the section and the key and says what
// was expected. rte_cfgfile needs no EAL, so this binary never starts one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dtcp/config.hpp"

namespace dtcp {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kOrigin = "test.ini";
// The smallest valid file: one port with a device and an address.
constexpr std::string_view kMinimalPort = "[port]\nvdev = net_null0\naddress = 198.18.0.1/24\n";

Config parse(std::string_view text) { return parse_config(std::string(text), std::string(kOrigin)); }

// The message of the ConfigError that parsing `text` throws ("" and a failure if none).
std::string error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return {};
}

void expect_error(std::string_view text, std::initializer_list<std::string_view> parts) {
  const std::string message = error_of(text);
  for (std::string_view part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nlacks: " << part;
  }
}

// A file in the test's own temporary directory, removed with the object.
class TempFile {
 public:
  TempFile(std::string_view name, std::string_view text)
      : path_(fs::temp_directory_path() / ("config_test_" + std::to_string(getpid()) + "_" + std::string(name))) {
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// The key lists every section is expected to have; the unknown-key message lists the real
// ones, so KnownKeys_MatchTheKeysThisFileTests notices a key added without a test. kEveryKey
// sets each of them and EveryKey_ReachesItsField checks each.
const std::vector<std::string> kPortKeys = {
    "accept_ra",   "address",  "dad_transmits", "gateway", "gateway6", "gro", "lcores",       "mac",       "mtu",          "offloads", "pci", "queues", "reta",
    "ring",        "rx_ce",    "rx_corrupt", "rx_delay_us", "rx_desc",  "rx_duplicate", "rx_loss",  "rx_queues",
    "rx_reorder",  "rx_seed",  "tso",        "tx_ce",      "tx_corrupt",   "tx_delay_us", "tx_desc",    "tx_duplicate",
    "tx_loss",     "tx_queues",   "tx_reorder", "tx_seed",    "vdev"};
const std::vector<std::string> kArpKeys = {"capacity", "entry_timeout_s", "max_pending_per_entry",
                                           "request_interval_ms", "request_retries"};
const std::vector<std::string> kNdKeys = {"base_reachable_time_ms", "capacity", "delay_first_probe_time_ms",
                                          "max_multicast_solicit", "max_pending_per_entry", "max_pending_total", "max_unicast_solicit",
                                          "retrans_timer_ms"};
const std::vector<std::string> kMempoolKeys = {"cache", "data_room", "mbufs"};
const std::vector<std::string> kEalKeys = {"args"};
const std::vector<std::string> kRuntimeKeys = {"capture", "idle", "idle_polls", "idle_sleep_max_us", "message_ring",
                                               "steer_ring", "stop_grace_ms"};
const std::vector<std::string> kTcpKeys = {
    "challenge_ack_limit", "congestion", "delayed_ack", "ecn", "ephemeral_port_max", "ephemeral_port_min",
    "fin_wait_2_timeout", "initial_rto", "initial_window", "keepalive_idle", "keepalive_interval",
    "keepalive_probes", "max_connections", "max_listeners", "max_ooo_segments", "max_orphans", "max_retries",
    "max_rto", "max_syn_retries", "max_time_wait", "mem_high", "mem_low", "mem_pressure", "min_pmtu", "min_rto", "msl",
    "mss", "orphan_retries", "profile", "rack", "recv_buffer",
    "recv_buffer_max", "rst_on_full", "sack", "send_buffer", "sent_records", "sent_records_per_connection",
    "syn_backlog", "syn_budget", "syn_cookies", "timestamps", "window_scaling"};

std::string joined(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// --- the repository's files -----------------------------------------------------------------

TEST(ConfigFiles, RepositoryConfigs_AllLoad) {
  const char* root = std::getenv("DTCP_SOURCE_ROOT");
  if (root == nullptr) GTEST_SKIP() << "DTCP_SOURCE_ROOT not set (meson test sets it)";
  const fs::path dir = fs::path(root) / "config";
  std::vector<fs::path> files;
  if (fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".ini") files.push_back(entry.path());
    }
  }
  if (files.empty()) GTEST_SKIP() << "no config/*.ini in " << root;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    try {
      const Config config = load_config(file.string());
      EXPECT_EQ(config.source, file.string());
      ASSERT_FALSE(config.ports.empty());
      for (const auto& port : config.ports) EXPECT_FALSE(port.address.is_unspecified());
    } catch (const ConfigError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

// --- values ---------------------------------------------------------------------------------

TEST(ConfigParse, MinimalPort_DefaultsAsDocumented) {
  const Config c = parse(kMinimalPort);
  EXPECT_EQ(c.source, kOrigin);
  EXPECT_EQ(c.eal_args, (std::vector<std::string>{"--no-huge", "--no-shconf"}));
  ASSERT_EQ(c.ports.size(), 1u);
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.vdev, "net_null0");
  EXPECT_EQ(p.pci, "");
  EXPECT_EQ(p.ring, "");
  EXPECT_FALSE(p.mac);
  EXPECT_EQ(p.address, wire::Ipv4Addr::from_octets(198, 18, 0, 1));
  EXPECT_EQ(p.prefix_len, 24);
  EXPECT_FALSE(p.gateway);
  EXPECT_EQ(p.mtu, 1500);
  EXPECT_EQ(p.rx_queues, 1);
  EXPECT_EQ(p.tx_queues, 1);
  EXPECT_EQ(p.rx_desc, 1024);
  EXPECT_EQ(p.tx_desc, 1024);
  EXPECT_TRUE(p.lcores.empty());
  EXPECT_TRUE(p.reta.empty());
  EXPECT_TRUE(p.offloads);
  EXPECT_EQ(p.tso, PortConfig::Tso::automatic);
  EXPECT_EQ(p.gro, PortConfig::Gro::by_device);
  EXPECT_FALSE(p.rx_impairment.enabled());
  EXPECT_FALSE(p.tx_impairment.enabled());
  EXPECT_EQ(p.rx_impairment.seed, 1u);
  EXPECT_EQ(c.arp.entry_timeout, 300s);
  EXPECT_EQ(c.arp.request_interval, 1000ms);
  EXPECT_EQ(c.arp.request_retries, 3u);
  EXPECT_EQ(c.arp.max_pending_per_entry, 128u);
  EXPECT_EQ(c.arp.capacity, 1024u);
  EXPECT_EQ(c.mempool.mbufs, 16383u);
  EXPECT_EQ(c.mempool.cache, 256u);
  EXPECT_EQ(c.mempool.data_room, 0);
  EXPECT_EQ(c.runtime.idle, IdlePolicy::busy);
  EXPECT_EQ(c.runtime.idle_polls, 1000u);
  EXPECT_EQ(c.runtime.idle_sleep_max, 100us);
  EXPECT_EQ(c.runtime.stop_grace, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.runtime.message_ring, 1024u);
  EXPECT_EQ(c.runtime.steer_ring, 1024u);
  EXPECT_EQ(c.runtime.capture, "");
}

// Every key of every section set to a value other than its default.
constexpr std::string_view kEveryKey = R"(; every key, none at its default
[eal]
args = --no-huge  --no-shconf --log-level=*:debug

[port.client]
vdev = net_tap0,iface=dtcp0
mac = 02:AA:bb:cc:dd:ee
address = 10.1.2.3/16, 2001:db8:5::1/48, 2001:db8:6::10-2001:db8:6::1f
gateway = 10.1.0.254
gateway6 = 2001:db8:5::fe
accept_ra = yes
dad_transmits = 3
mtu = 9000
rx_queues = 2
tx_queues = 2
rx_desc = 512
tx_desc = 256
lcores = 3, 5
reta = 1, 0, 0
offloads = no
tso = off
gro = auto
rx_loss = 0.01
rx_duplicate = 0.02
rx_reorder = 0.03
rx_corrupt = 0.04
rx_ce = 0.05
rx_delay_us = 1500
rx_seed = 42
tx_loss = 0.5
tx_duplicate = 1
tx_reorder = 0
tx_corrupt = 1e-3
tx_ce = 0.25
tx_delay_us = 10000000
tx_seed = 18446744073709551615

[port.server]
ring = pair0:1
address = 10.1.2.4/32

[port.nic]
pci = 0000:01:00.0
address = 192.0.2.1
offloads = yes

[arp]
entry_timeout_s = 60
request_interval_ms = 250
request_retries = 5
max_pending_per_entry = 8
capacity = 4096

[nd]
capacity = 2048
max_pending_per_entry = 8
max_pending_total = 512
retrans_timer_ms = 500
base_reachable_time_ms = 20000
delay_first_probe_time_ms = 3000
max_multicast_solicit = 4
max_unicast_solicit = 2

[mempool]
mbufs = 8191
cache = 128
data_room = 4096

[runtime]
idle = adaptive
idle_polls = 50
idle_sleep_max_us = 250
stop_grace_ms = 750
message_ring = 64
steer_ring = 4096
capture = file=/tmp/every.pcapng,port=a,dir=rx,filter=80,count=10

; differs from both profiles' values; the profile applies first, so every key below overrides it
[tcp]
profile = linux
max_connections = 1000
max_time_wait = 500
syn_backlog = 100
syn_budget = 3
max_listeners = 8
mss = 1400
msl = 10s
fin_wait_2_timeout = 30s
min_rto = 5ms
max_rto = 90s
initial_rto = 500ms
max_retries = 7
max_syn_retries = 3
send_buffer = 131072
recv_buffer = 65536
recv_buffer_max = 1048576
max_ooo_segments = 16
min_pmtu = 1280
orphan_retries = 2
max_orphans = 100
congestion = reno
rack = no
sent_records = 4096
sent_records_per_connection = 99
rst_on_full = yes
challenge_ack_limit = 50
ephemeral_port_min = 40000
ephemeral_port_max = 50000
window_scaling = no
timestamps = no
sack = no
initial_window = 4
ecn = on
delayed_ack = 20ms
keepalive_idle = 600s
keepalive_interval = 10s
keepalive_probes = 5
mem_low = 0.25
mem_pressure = 0.5
mem_high = 0.9
)";

TEST(ConfigParse, EveryKey_ReachesItsField) {
  const Config c = parse(kEveryKey);
  EXPECT_EQ(c.eal_args, (std::vector<std::string>{"--no-huge", "--no-shconf", "--log-level=*:debug"}));
  ASSERT_EQ(c.ports.size(), 3u);

  const PortConfig& client = c.ports[0];
  EXPECT_EQ(client.name, "client");
  EXPECT_EQ(client.vdev, "net_tap0,iface=dtcp0");
  ASSERT_TRUE(client.mac);
  EXPECT_EQ(*client.mac, (wire::MacAddr{{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}}));
  EXPECT_EQ(client.address, wire::Ipv4Addr::from_octets(10, 1, 2, 3));
  EXPECT_EQ(client.prefix_len, 16);
  ASSERT_TRUE(client.gateway);
  EXPECT_EQ(*client.gateway, wire::Ipv4Addr::from_octets(10, 1, 0, 254));
  ASSERT_EQ(client.addresses6.size(), 2u);
  EXPECT_EQ(client.addresses6[0].address, *wire::Ipv6Addr::parse("2001:db8:5::1"));
  EXPECT_EQ(client.addresses6[0].count, 1u);
  EXPECT_EQ(client.addresses6[0].prefix_len, 48);
  EXPECT_EQ(client.addresses6[1].address, *wire::Ipv6Addr::parse("2001:db8:6::10"));
  EXPECT_EQ(client.addresses6[1].count, 16u);
  EXPECT_EQ(client.addresses6[1].prefix_len, 64) << "no prefix means /64";
  ASSERT_TRUE(client.gateway6);
  EXPECT_EQ(*client.gateway6, *wire::Ipv6Addr::parse("2001:db8:5::fe"));
  EXPECT_TRUE(client.accept_router_advertisements);
  EXPECT_EQ(client.dad_transmits, 3);
  EXPECT_EQ(client.mtu, 9000);
  EXPECT_EQ(client.rx_queues, 2);
  EXPECT_EQ(client.tx_queues, 2);
  EXPECT_EQ(client.rx_desc, 512);
  EXPECT_EQ(client.tx_desc, 256);
  EXPECT_EQ(client.lcores, (std::vector<unsigned>{3, 5}));
  EXPECT_EQ(client.reta, (std::vector<uint16_t>{1, 0, 0}));
  EXPECT_FALSE(client.offloads);
  EXPECT_EQ(client.tso, PortConfig::Tso::off);
  EXPECT_EQ(client.gro, PortConfig::Gro::automatic);
  EXPECT_DOUBLE_EQ(client.rx_impairment.loss, 0.01);
  EXPECT_DOUBLE_EQ(client.rx_impairment.duplicate, 0.02);
  EXPECT_DOUBLE_EQ(client.rx_impairment.reorder, 0.03);
  EXPECT_DOUBLE_EQ(client.rx_impairment.corrupt, 0.04);
  EXPECT_DOUBLE_EQ(client.rx_impairment.ce, 0.05);
  EXPECT_EQ(client.rx_impairment.delay, 1500us);
  EXPECT_EQ(client.rx_impairment.seed, 42u);
  EXPECT_DOUBLE_EQ(client.tx_impairment.loss, 0.5);
  EXPECT_DOUBLE_EQ(client.tx_impairment.duplicate, 1.0);
  EXPECT_DOUBLE_EQ(client.tx_impairment.reorder, 0.0);
  EXPECT_DOUBLE_EQ(client.tx_impairment.corrupt, 0.001);
  EXPECT_DOUBLE_EQ(client.tx_impairment.ce, 0.25);
  EXPECT_EQ(client.tx_impairment.delay, 10s);
  EXPECT_EQ(client.tx_impairment.seed, UINT64_MAX);
  EXPECT_TRUE(client.rx_impairment.enabled());

  const PortConfig& server = c.ports[1];
  EXPECT_EQ(server.name, "server");
  EXPECT_EQ(server.ring, "pair0:1");
  EXPECT_EQ(server.vdev, "");
  EXPECT_EQ(server.prefix_len, 32);
  EXPECT_EQ(server.mtu, 1500) << "ports do not share values";

  const PortConfig& nic = c.ports[2];
  EXPECT_EQ(nic.name, "nic");
  EXPECT_EQ(nic.pci, "0000:01:00.0");
  EXPECT_EQ(nic.address, wire::Ipv4Addr::from_octets(192, 0, 2, 1));
  EXPECT_EQ(nic.prefix_len, 24) << "no prefix means /24";
  EXPECT_TRUE(nic.offloads);

  EXPECT_EQ(c.arp.entry_timeout, 60s);
  EXPECT_EQ(c.arp.request_interval, 250ms);
  EXPECT_EQ(c.arp.request_retries, 5u);
  EXPECT_EQ(c.arp.max_pending_per_entry, 8u);
  EXPECT_EQ(c.arp.capacity, 4096u);
  EXPECT_EQ(c.nd.capacity, 2048u);
  EXPECT_EQ(c.nd.max_pending_per_entry, 8u);
  EXPECT_EQ(c.nd.max_pending_total, 512u);
  EXPECT_EQ(c.nd.retrans_timer, 500ms);
  EXPECT_EQ(c.nd.base_reachable_time, 20000ms);
  EXPECT_EQ(c.nd.delay_first_probe_time, 3000ms);
  EXPECT_EQ(c.nd.max_multicast_solicit, 4u);
  EXPECT_EQ(c.nd.max_unicast_solicit, 2u);
  EXPECT_EQ(c.mempool.mbufs, 8191u);
  EXPECT_EQ(c.mempool.cache, 128u);
  EXPECT_EQ(c.mempool.data_room, 4096);
  EXPECT_EQ(c.runtime.idle, IdlePolicy::adaptive);
  EXPECT_EQ(c.runtime.idle_polls, 50u);
  EXPECT_EQ(c.runtime.idle_sleep_max, 250us);
  EXPECT_EQ(c.runtime.stop_grace, std::chrono::milliseconds(750));
  EXPECT_EQ(c.runtime.message_ring, 64u);
  EXPECT_EQ(c.runtime.steer_ring, 4096u);
  EXPECT_EQ(c.runtime.capture, "file=/tmp/every.pcapng,port=a,dir=rx,filter=80,count=10");

  // profile = linux is overridden by every key below it; ConfigTcp tests what it sets.
  const TcpConfig& tcp = c.tcp;
  EXPECT_EQ(tcp.max_connections, 1000u);
  EXPECT_EQ(tcp.max_time_wait, 500u);
  EXPECT_EQ(tcp.syn_backlog, 100u);
  EXPECT_EQ(tcp.syn_budget, 3u);
  EXPECT_EQ(tcp.max_listeners, 8u);
  EXPECT_EQ(tcp.mss, 1400);
  EXPECT_EQ(tcp.msl, 10s);
  EXPECT_EQ(tcp.fin_wait_2_timeout, 30s);
  EXPECT_EQ(tcp.min_rto, 5ms);
  EXPECT_EQ(tcp.max_rto, 90s);
  EXPECT_EQ(tcp.initial_rto, 500ms);
  EXPECT_EQ(tcp.max_retries, 7u);
  EXPECT_EQ(tcp.max_syn_retries, 3u);
  EXPECT_EQ(tcp.send_buffer, 131072u);
  EXPECT_EQ(tcp.recv_buffer, 65536u);
  EXPECT_EQ(tcp.max_ooo_segments, 16u);
  EXPECT_EQ(tcp.min_pmtu, 1280);
  EXPECT_EQ(tcp.orphan_retries, 2u);
  EXPECT_EQ(tcp.max_orphans, 100u);
  EXPECT_EQ(tcp.recv_buffer_max, 1048576u);
  EXPECT_EQ(tcp.congestion, CongestionAlgorithm::reno);
  EXPECT_FALSE(tcp.rack);
  EXPECT_EQ(tcp.sent_records, 4096u);
  EXPECT_EQ(tcp.sent_records_per_connection, 99u);
  EXPECT_TRUE(tcp.rst_on_full);
  EXPECT_EQ(tcp.challenge_ack_limit, 50u);
  EXPECT_EQ(tcp.ephemeral_port_min, 40000);
  EXPECT_EQ(tcp.ephemeral_port_max, 50000);
  EXPECT_FALSE(tcp.window_scaling);
  EXPECT_FALSE(tcp.timestamps);
  EXPECT_FALSE(tcp.sack);
  EXPECT_EQ(tcp.initial_window, 4u);
  EXPECT_TRUE(tcp.ecn);
  EXPECT_EQ(tcp.delayed_ack, 20ms);
  EXPECT_EQ(tcp.keepalive_idle, 600s);
  EXPECT_EQ(tcp.keepalive_interval, 10s);
  EXPECT_EQ(tcp.keepalive_probes, 5u);
  EXPECT_EQ(tcp.mem_low, 0.25);
  EXPECT_EQ(tcp.mem_pressure, 0.5);
  EXPECT_EQ(tcp.mem_high, 0.9);
}

TEST(ConfigParse, MemoryPressureThresholdsOutOfOrder_Rejected) {
  EXPECT_EQ(error_of(std::string(kMinimalPort) + "[tcp]\nmem_pressure = 0.4\n"),
            "test.ini: [tcp] mem_low, mem_pressure, mem_high: expected mem_low <= mem_pressure <= mem_high");
  EXPECT_NE(error_of(std::string(kMinimalPort) + "[tcp]\nmem_high = 2\n").find("[tcp] mem_high: expected a fraction"),
            std::string::npos);
}

TEST(ConfigParse, Queues_SetsBothQueueCounts) {
  const Config c = parse(std::string(kMinimalPort) + "queues = 4\n");
  EXPECT_EQ(c.ports[0].rx_queues, 4);
  EXPECT_EQ(c.ports[0].tx_queues, 4);
}

TEST(ConfigParse, LcoreRanges_Expanded) {
  const Config c = parse(std::string(kMinimalPort) + "queues = 5\nlcores = 1-3, 7, 9-9\n");
  EXPECT_EQ(c.ports[0].lcores, (std::vector<unsigned>{1, 2, 3, 7, 9}));
  EXPECT_EQ(parse_lcore_list("2-4", "--lcores"), (std::vector<unsigned>{2, 3, 4}));
  try {
    parse_lcore_list("4-2", "--lcores");
    ADD_FAILURE() << "no error for 4-2";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--lcores: expected a comma-separated list of lcore ids or ranges"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConfigParse, IdleSpellings_Accepted) {
  EXPECT_EQ(parse(std::string(kMinimalPort) + "[runtime]\nidle = busy\n").runtime.idle, IdlePolicy::busy);
  EXPECT_EQ(parse(std::string(kMinimalPort) + "[runtime]\nidle = auto\n").runtime.idle, IdlePolicy::automatic);
  EXPECT_STREQ(to_string(IdlePolicy::automatic), "auto");
  EXPECT_STREQ(to_string(IdlePolicy::adaptive), "adaptive");
}

// --- command-line overrides -----------------------------------------------------------------

TEST(ConfigOverride, PortKey_SetOnEveryPort) {
  Config c = parse("[port.a]\nring = p:0\naddress = 198.18.1.1\n[port.b]\nring = p:1\naddress = 198.18.1.2\n");
  set_config_key(c, "port", "queues", "2", "--queues");
  set_config_key(c, "port", "lcores", "1-2", "--lcores");
  set_config_key(c, "runtime", "idle", "adaptive", "--idle");
  for (const auto& port : c.ports) {
    EXPECT_EQ(port.rx_queues, 2);
    EXPECT_EQ(port.tx_queues, 2);
    EXPECT_EQ(port.lcores, (std::vector<unsigned>{1, 2}));
  }
  EXPECT_EQ(c.runtime.idle, IdlePolicy::adaptive);
}

TEST(ConfigOverride, BadValue_NamesOriginSectionAndKey) {
  Config c = parse("[port.a]\nring = p:0\naddress = 198.18.1.1\n");
  auto message = [&](const char* section, const char* key, const char* value, const char* origin) -> std::string {
    try {
      set_config_key(c, section, key, value, origin);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message("runtime", "idle", "fast", "--idle"), "--idle: [runtime] idle: expected busy, adaptive or auto, got 'fast'");
  EXPECT_EQ(message("port", "lcores", "1,2", "--lcores"),
            "--lcores: [port.a] lcores: expected 1 lcore ids, one per queue pair");
  EXPECT_EQ(message("port", "queues", "0", "--queues"), "--queues: [port.a] queues: expected an integer in 1..128, got '0'");
  EXPECT_NE(message("nosuch", "x", "1", "--x").find("--x: [nosuch]: unknown section"), std::string::npos);
}

TEST(ConfigParse, KnownKeys_MatchTheKeysThisFileTests) {
  const std::pair<std::string, const std::vector<std::string>*> sections[] = {
      {"[port]\nvdev = x\naddress = 198.18.0.1\n", &kPortKeys},
      {"[arp]\n", &kArpKeys},
      {"[nd]\n", &kNdKeys},
      {"[mempool]\n", &kMempoolKeys},
      {"[eal]\n", &kEalKeys},
      {"[runtime]\n", &kRuntimeKeys},
      {"[tcp]\n", &kTcpKeys},
  };
  for (const auto& [head, keys] : sections) {
    SCOPED_TRACE(head);
    // The unknown key goes in the section under test; [port] itself is that section once.
    const std::string rest = head.rfind("[port]", 0) == 0 ? "" : std::string(kMinimalPort);
    const std::string message = error_of(head + "no_such_key = 1\n" + rest);
    EXPECT_NE(message.find("(known: " + joined(*keys) + ")"), std::string::npos) << message;
  }
}

TEST(ConfigParse, BoundaryValues_Accepted) {
  const Config c = parse(
      "[port]\nvdev = v\naddress = 198.18.0.1/1\nmtu = 68\nrx_desc = 32\ntx_desc = 32768\n"
      "rx_queues = 128\ntx_queues = 128\nrx_loss = 0\ntx_loss = 1\nrx_delay_us = 0\nrx_seed = 0\n"
      "[arp]\nentry_timeout_s = 86400\nrequest_interval_ms = 10\nrequest_retries = 100\n"
      "max_pending_per_entry = 4096\ncapacity = 16\n"
      "[mempool]\nmbufs = 1023\ncache = 0\ndata_room = 65535\n");
  EXPECT_EQ(c.ports[0].prefix_len, 1);
  EXPECT_EQ(c.ports[0].mtu, 68);
  EXPECT_EQ(c.ports[0].rx_queues, 128);
  EXPECT_EQ(c.arp.entry_timeout, 86400s);
  EXPECT_EQ(c.arp.capacity, 16u);
  EXPECT_EQ(c.mempool.cache, 0u);
  EXPECT_EQ(c.mempool.data_room, 65535);
}

TEST(ConfigParse, BooleanSpellings_Accepted) {
  for (const char* yes : {"1", "yes", "true", "on"}) {
    EXPECT_TRUE(parse(std::string(kMinimalPort) + "offloads = " + yes + "\n").ports[0].offloads) << yes;
  }
  for (const char* no : {"0", "no", "false", "off"}) {
    EXPECT_FALSE(parse(std::string(kMinimalPort) + "offloads = " + no + "\n").ports[0].offloads) << no;
  }
}

TEST(ConfigParse, WhitespaceAndComments_Ignored) {
  const Config c = parse("; leading comment\n\n[port]\n  vdev   =   net_null0   \n\taddress\t=\t198.18.0.9/25\n"
                         "mtu = 1400 ; trailing comment\n");
  EXPECT_EQ(c.ports[0].vdev, "net_null0");
  EXPECT_EQ(c.ports[0].address, wire::Ipv4Addr::from_octets(198, 18, 0, 9));
  EXPECT_EQ(c.ports[0].prefix_len, 25);
  EXPECT_EQ(c.ports[0].mtu, 1400);
}

TEST(ConfigParse, RepeatedKey_LastWins) {
  const Config c = parse(std::string(kMinimalPort) + "mtu = 1400\nmtu = 1300\n");
  EXPECT_EQ(c.ports[0].mtu, 1300);
}

TEST(ConfigLoad, File_SameResultAsTextAndNamedAfterPath) {
  const TempFile file("every.ini", kEveryKey);
  const Config from_file = load_config(file.path());
  const Config from_text = parse(kEveryKey);
  EXPECT_EQ(from_file.source, file.path());
  ASSERT_EQ(from_file.ports.size(), from_text.ports.size());
  EXPECT_EQ(from_file.eal_args, from_text.eal_args);
  for (size_t i = 0; i < from_file.ports.size(); ++i) {
    EXPECT_EQ(from_file.ports[i].name, from_text.ports[i].name);
    EXPECT_EQ(from_file.ports[i].address, from_text.ports[i].address);
    EXPECT_EQ(from_file.ports[i].lcores, from_text.ports[i].lcores);
  }
  EXPECT_EQ(from_file.arp.capacity, from_text.arp.capacity);
}

// --- errors: files and syntax ---------------------------------------------------------------

TEST(ConfigErrors, MissingFile_NamesPathAndReason) {
  const std::string path = (fs::temp_directory_path() / "config_test_no_such_file.ini").string();
  try {
    load_config(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": cannot open", 0), 0u) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST(ConfigErrors, MalformedLine_UnterminatedSection_NamesFile) {
  const TempFile file("malformed.ini", "[port\nvdev = x\n");
  try {
    load_config(file.path());
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    // The loader checks the text itself, so the message has the line number too.
    EXPECT_EQ(std::string(e.what()).rfind(file.path() + ":1: expected [section]", 0), 0u) << e.what();
  }
  expect_error("[port\nvdev = x\n", {"test.ini:1: expected [section], got '[port'"});
}

TEST(ConfigErrors, MalformedLine_KeyBeforeAnySection_NamesFile) {
  expect_error("vdev = x\n[port]\n", {"test.ini:1: vdev: key outside any [section]"});
}

TEST(ConfigErrors, UnknownSection_NamesSectionAndKnownOnes) {
  expect_error(std::string(kMinimalPort) + "[bogus]\nx = 1\n",
               {"test.ini: [bogus]: unknown section", "known: eal, port, port.NAME, arp, nd, mempool"});
  expect_error(std::string(kMinimalPort) + "[ports]\n", {"test.ini: [ports]: unknown section"});
}

TEST(ConfigErrors, UnknownKey_NamesSectionAndKey) {
  expect_error(std::string(kMinimalPort) + "speed = 10G\n", {"test.ini: [port] speed: unknown key", "address"});
  expect_error("[port.east]\nvdev = x\naddress = 198.18.0.1\nmut = 1500\n",
               {"test.ini: [port.east] mut: unknown key"});
  expect_error(std::string(kMinimalPort) + "[arp]\ntimeout = 5\n", {"test.ini: [arp] timeout: unknown key"});
  expect_error(std::string(kMinimalPort) + "[mempool]\nsize = 5\n", {"test.ini: [mempool] size: unknown key"});
  expect_error(std::string(kMinimalPort) + "[eal]\narg = -l 1\n", {"test.ini: [eal] arg: unknown key"});
}

// rte_cfgfile (loaded without CFG_FLAG_EMPTY_VALUES) refuses "key =" itself and reports the line
// number through rte_log; the exception names the file only.
TEST(ConfigErrors, EmptyValue_MalformedNamesFile) {
  expect_error(std::string(kMinimalPort) + "[eal]\nargs =\n", {"test.ini: malformed INI"});
  expect_error(std::string(kMinimalPort) + "mtu =\n", {"test.ini: malformed INI"});
  expect_error(std::string(kMinimalPort) + "vdev = ; only a comment\n", {"test.ini: malformed INI"});
}

// --- errors: values -------------------------------------------------------------------------

struct BadValue {
  std::string_view section;  // "port" uses kMinimalPort's [port]
  std::string_view key;
  std::string_view value;
  std::string_view expected;
};

const BadValue kBadValues[] = {
    {"port", "mtu", "abc", "expected an integer in 68..9600"},
    {"port", "mtu", "67", "expected an integer in 68..9600"},
    {"port", "mtu", "9601", "expected an integer in 68..9600"},
    {"port", "mtu", "-1", "expected an integer in 68..9600"},
    {"port", "mtu", "+1500", "expected an integer in 68..9600"},
    {"port", "mtu", "1500x", "expected an integer in 68..9600"},
    {"port", "mtu", "0x5dc", "expected an integer in 68..9600"},
    {"port", "mtu", "1 500", "expected an integer in 68..9600"},
    {"port", "mtu", "99999999999999999999999", "expected an integer in 68..9600"},
    {"port", "rx_queues", "0", "expected an integer in 1..128"},
    {"port", "tx_queues", "129", "expected an integer in 1..128"},
    {"port", "rx_desc", "31", "expected an integer in 32..32768"},
    {"port", "tx_desc", "32769", "expected an integer in 32..32768"},
    {"port", "rx_delay_us", "10000001", "expected an integer in 0..10000000"},
    {"port", "tx_seed", "18446744073709551616", "expected an integer in 0..18446744073709551615"},
    {"port", "rx_loss", "1.5", "expected a fraction in 0..1"},
    {"port", "rx_duplicate", "-0.1", "expected a fraction in 0..1"},
    {"port", "tx_reorder", "abc", "expected a fraction in 0..1"},
    {"port", "tx_corrupt", "nan", "expected a fraction in 0..1"},
    {"port", "rx_ce", "1.01", "expected a fraction in 0..1"},
    {"port", "tx_loss", "0.5%", "expected a fraction in 0..1"},
    {"port", "offloads", "maybe", "expected yes or no"},
    {"port", "offloads", "YES", "expected yes or no"},
    {"port", "tso", "on", "expected auto or off"},
    {"port", "gro", "on", "expected auto, off or default"},
    {"port", "lcores", "a", "expected a comma-separated list of lcore ids"},
    {"port", "lcores", "1 2", "expected a comma-separated list of lcore ids"},
    {"port", "lcores", "1024", "expected a comma-separated list of lcore ids"},
    {"port", "lcores", ",", "expected at least one lcore id"},
    {"port", "lcores", "3-1", "expected a comma-separated list of lcore ids or ranges"},
    {"port", "lcores", "1-", "expected a comma-separated list of lcore ids or ranges"},
    {"port", "queues", "129", "expected an integer in 1..128"},
    {"port", "reta", "a", "expected a comma-separated list of queue numbers"},
    {"port", "reta", "128", "expected a comma-separated list of queue numbers"},
    {"runtime", "idle", "fast", "expected busy, adaptive or auto"},
    {"runtime", "idle_polls", "0", "expected an integer in 1..16777216"},
    {"runtime", "idle_sleep_max_us", "0", "expected an integer in 1..100000"},
    {"runtime", "idle_sleep_max_us", "100001", "expected an integer in 1..100000"},
    {"runtime", "stop_grace_ms", "3600001", "expected an integer in 0..3600000"},
    {"runtime", "message_ring", "63", "expected an integer in 64..1048576"},
    {"runtime", "steer_ring", "1048577", "expected an integer in 8..1048576"},
    {"runtime", "capture", "file=x,dir=up", "capture dir: expected rx, tx or both, got 'up'"},
    {"runtime", "capture", "dir=rx", "capture: file=PATH is required"},
    {"port", "mac", "02:00:00:00:00", "expected a unicast MAC like 02:00:00:00:00:01"},
    {"port", "mac", "02:00:00:00:00:01:02", "expected a unicast MAC"},
    {"port", "mac", "02-00-00-00-00-01", "expected a unicast MAC"},
    {"port", "mac", "02:00:00:00:00:0g", "expected a unicast MAC"},
    {"port", "mac", "01:00:5e:00:00:01", "expected a unicast MAC"},
    {"port", "mac", "ff:ff:ff:ff:ff:ff", "expected a unicast MAC"},
    {"port", "mac", "00:00:00:00:00:00", "expected a unicast MAC"},
    {"port", "address", "198.18.0.1/33", "expected addresses with prefix lengths, like 198.18.0.1/24"},
    {"port", "address", "198.18.0.1/0", "expected addresses with prefix lengths"},
    {"port", "address", "198.18.0.1/x", "expected addresses with prefix lengths"},
    {"port", "address", "198.18.0.1/24/8", "expected addresses with prefix lengths"},
    {"port", "address", "198.18.0.256/24", "expected addresses with prefix lengths"},
    {"port", "address", "198.18.0/24", "expected addresses with prefix lengths"},
    {"port", "address", "198.018.0.1/24", "expected addresses with prefix lengths"},
    {"port", "address", "224.0.0.1/24", "expected addresses with prefix lengths"},
    {"port", "address", "0.0.0.0/24", "expected addresses with prefix lengths"},
    {"port", "address", "/24", "expected addresses with prefix lengths"},
    {"port", "address", "host.example", "expected addresses with prefix lengths"},
    {"port", "gateway", "0.0.0.0", "expected an IPv4 address like 198.18.0.254"},
    {"port", "gateway", "198.18.0.254/24", "expected an IPv4 address like 198.18.0.254"},
    {"port", "gateway", "gw", "expected an IPv4 address like 198.18.0.254"},
    {"arp", "entry_timeout_s", "0", "expected an integer in 1..86400"},
    {"arp", "entry_timeout_s", "86401", "expected an integer in 1..86400"},
    {"arp", "request_interval_ms", "9", "expected an integer in 10..60000"},
    {"arp", "request_interval_ms", "60001", "expected an integer in 10..60000"},
    {"arp", "request_retries", "0", "expected an integer in 1..100"},
    {"arp", "request_retries", "101", "expected an integer in 1..100"},
    {"arp", "max_pending_per_entry", "0", "expected an integer in 1..4096"},
    {"arp", "capacity", "15", "expected an integer in 16..1048576"},
    {"arp", "capacity", "1048577", "expected an integer in 16..1048576"},
    {"mempool", "mbufs", "1022", "expected an integer in 1023..67108864"},
    {"mempool", "cache", "513", "expected an integer in 0..512"},
    {"mempool", "data_room", "1023", "expected an integer in 1024..65535"},
    {"mempool", "data_room", "65536", "expected an integer in 1024..65535"},
};

TEST(ConfigErrors, BadValues_NameFileSectionKeyExpectationAndValue) {
  for (const BadValue& bad : kBadValues) {
    SCOPED_TRACE("[" + std::string(bad.section) + "] " + std::string(bad.key) + " = '" + std::string(bad.value) + "'");
    std::string text(kMinimalPort);
    if (bad.section != "port") text += "[" + std::string(bad.section) + "]\n";
    text += std::string(bad.key) + " = " + std::string(bad.value) + "\n";
    const std::string prefix = "test.ini: [" + std::string(bad.section) + "] " + std::string(bad.key) + ": ";
    expect_error(text, {prefix, bad.expected, ", got '" + std::string(bad.value) + "'"});
  }
}

// --- errors: whole-port checks --------------------------------------------------------------

TEST(ConfigErrors, TwoDevicesInOnePort_NamesSection) {
  expect_error("[port.a]\nvdev = net_null0\nring = pair0:0\naddress = 198.18.0.1\n",
               {"test.ini: [port.a]: expected exactly one of vdev, pci or ring"});
  expect_error("[port]\nvdev = net_null0\npci = 0000:01:00.0\naddress = 198.18.0.1\n",
               {"test.ini: [port]: expected exactly one of vdev, pci or ring"});
}

TEST(ConfigErrors, NoDevice_NamesSection) {
  expect_error("[port.b]\naddress = 198.18.0.1\n", {"test.ini: [port.b]: expected exactly one of vdev, pci or ring"});
}

TEST(ConfigErrors, NoAddress_NamesSectionAndKey) {
  expect_error("[port]\nvdev = net_null0\n", {"test.ini: [port] address: missing", "198.18.0.1/24"});
}

TEST(ConfigErrors, BadRingSide_NamesSectionKeyAndValue) {
  // A pair name over 8 characters is refused too: rte_eth_from_rings() cannot name the device.
  for (const char* ring : {"pair0:2", "pair0", "pair0:", "pair0:0:1", "pair0:-1", "pair12345:0"}) {
    SCOPED_TRACE(ring);
    expect_error(std::string("[port]\nring = ") + ring + "\naddress = 198.18.0.1\n",
                 {"test.ini: [port] ring: expected PAIR:SIDE, PAIR at most 8 characters and SIDE 0 or 1",
                  std::string("got '") + ring + "'"});
  }
}

TEST(ConfigErrors, RxQueuesNotEqualTxQueues_NamesSectionAndKeys) {
  expect_error(std::string(kMinimalPort) + "rx_queues = 2\n",
               {"test.ini: [port]: ", "rx_queues and tx_queues must be equal"});
}

TEST(ConfigErrors, LcoresCountMismatch_NamesSectionAndKey) {
  expect_error(std::string(kMinimalPort) + "rx_queues = 2\ntx_queues = 2\nlcores = 1\n",
               {"test.ini: [port] lcores: expected 2 lcore ids, one per queue pair"});
  expect_error(std::string(kMinimalPort) + "lcores = 1,2\n", {"test.ini: [port] lcores: expected 1 lcore ids"});
}

TEST(ConfigErrors, RetaNamesMissingQueue_NamesSectionAndKey) {
  expect_error(std::string(kMinimalPort) + "queues = 2\nreta = 0,1,2\n",
               {"test.ini: [port] reta: queue 2 does not exist (2 queue pairs)"});
}

TEST(ConfigErrors, NoPortSection_NamesFile) {
  expect_error("[eal]\nargs = --no-huge\n", {"test.ini: no [port] section"});
  expect_error("", {"test.ini: no [port] section"});
}

TEST(ConfigErrors, SecondPortBad_NamesThatPort) {
  expect_error("[port.a]\nvdev = x\naddress = 198.18.0.1\n[port.b]\nvdev = y\naddress = 198.18.0.2\nmtu = 1\n",
               {"test.ini: [port.b] mtu: "});
}

// BUG: rte_cfgfile keeps both copies of a repeated section, but rte_cfgfile_section_entries()
// looks a section up by name and always returns the first, so load_from_cfgfile() builds two
// ports from the first [port.a] and the second one's keys (here its address) vanish without an
// error. A repeated section name should be a ConfigError naming it.
TEST(ConfigErrors, DuplicateSection_Rejected) {
  expect_error("[port.a]\nvdev = x\naddress = 198.18.0.1\n[port.a]\nvdev = y\naddress = 198.18.0.2\n",
               {"test.ini:4: [port.a]: section repeated"});
}

// BUG: DPDK 22.11's rte_cfgfile silently skips a line that has no '=' (it is neither a
// section nor a key), so the typo "mtu 9000" leaves mtu at its default 1500 with no error,
// against config.hpp's "a typo must not silently fall back to a default". The loader would
// have to reject such lines itself.
TEST(ConfigErrors, LineWithoutEquals_Rejected) {
  expect_error(std::string(kMinimalPort) + "mtu 9000\n", {"test.ini", "mtu 9000"});
}

// BUG: rte_cfgfile stores values in CFG_VALUE_LEN (256) bytes and truncates longer ones
// silently; a 300-character [eal] args line reaches EAL cut at 255 characters. The loader
// should reject the value (or read it itself) instead.
TEST(ConfigErrors, ValueLongerThan255_RejectedNotTruncated) {
  const std::string vdev = "net_pcap0,rx_pcap=/" + std::string(280, 'p') + ".pcap";
  try {
    const Config c = parse("[port]\nvdev = " + vdev + "\naddress = 198.18.0.1\n");
    EXPECT_EQ(c.ports[0].vdev, vdev) << "truncated to " << c.ports[0].vdev.size() << " characters";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[port] vdev"), std::string::npos) << e.what();
  }
}

// BUG: the address parser splits on '/' and drops empty pieces, so "198.18.0.1/" (a prefix
// length forgotten after the slash) is accepted as /24 instead of being an error.
TEST(ConfigErrors, AddressWithEmptyPrefix_Rejected) {
  expect_error(std::string("[port]\nvdev = x\naddress = 198.18.0.1/\n"),
               {"test.ini: [port] address: expected addresses with prefix lengths"});
}

TEST(ConfigTcp, LinuxProfile_AppliesFirst_KeysOverride) {
  // The profile line comes after a key it would otherwise overwrite.
  const Config c = parse(std::string(kMinimalPort) + "[tcp]\ndelayed_ack = 10ms\nprofile = linux\n");
  EXPECT_EQ(c.tcp.min_rto, 200ms);
  EXPECT_EQ(c.tcp.max_rto, 120s);
  EXPECT_EQ(c.tcp.delayed_ack, 10ms);
  EXPECT_EQ(c.tcp.initial_window, 10u);
  EXPECT_TRUE(c.tcp.window_scaling && c.tcp.timestamps && c.tcp.sack);
}

TEST(ConfigTcp, DefaultProfile_IsDtcp) {
  const Config c = parse(std::string(kMinimalPort));
  EXPECT_EQ(c.tcp.min_rto, 10ms);
  EXPECT_EQ(c.tcp.delayed_ack, 1ms);
  EXPECT_EQ(c.tcp.keepalive_idle, 7200s);
  EXPECT_EQ(c.tcp.keepalive_interval, 75s);
  EXPECT_EQ(c.tcp.keepalive_probes, 9u);
  EXPECT_FALSE(c.tcp.ecn);
  EXPECT_FALSE(c.ports[0].rx_impairment.ce > 0 || c.ports[0].tx_impairment.ce > 0);
}

TEST(ConfigTcp, OptionSwitchesAndKeepalive) {
  const Config c = parse(std::string(kMinimalPort) +
                         "[tcp]\nwindow_scaling = no\ntimestamps = false\nsack = 0\ninitial_window = 4\n"
                         "delayed_ack = 0us\nkeepalive_idle = 2s\nkeepalive_interval = 500ms\nkeepalive_probes = 3\n");
  EXPECT_FALSE(c.tcp.window_scaling || c.tcp.timestamps || c.tcp.sack);
  EXPECT_EQ(c.tcp.initial_window, 4u);
  EXPECT_EQ(c.tcp.delayed_ack, Duration::zero());
  EXPECT_EQ(c.tcp.keepalive_idle, 2s);
  EXPECT_EQ(c.tcp.keepalive_interval, 500ms);
  EXPECT_EQ(c.tcp.keepalive_probes, 3u);
}

TEST(ConfigErrors, TcpProfileUnknown_Rejected) {
  expect_error(std::string(kMinimalPort) + "[tcp]\nprofile = bsd\n",
               {"test.ini: [tcp] profile: expected dtcp or linux, got 'bsd'"});
}

TEST(ConfigErrors, DelayedAckHalfSecond_Rejected) {
  // RFC 1122 4.2.3.2: the delay MUST be less than 0.5 s.
  expect_error(std::string(kMinimalPort) + "[tcp]\ndelayed_ack = 500ms\n", {"test.ini: [tcp] delayed_ack: "});
}

TEST(ConfigErrors, EcnNotABoolean_Rejected) {
  expect_error(std::string(kMinimalPort) + "[tcp]\necn = sometimes\n",
               {"test.ini: [tcp] ecn: expected yes or no"});
}

TEST(ConfigTcp, SynCookies_AutoByDefaultAndEachValue) {
  EXPECT_EQ(parse(std::string(kMinimalPort)).tcp.syn_cookies, SynCookies::automatic);
  EXPECT_EQ(parse(std::string(kMinimalPort) + "[tcp]\nsyn_cookies = always\n").tcp.syn_cookies, SynCookies::always);
  EXPECT_EQ(parse(std::string(kMinimalPort) + "[tcp]\nsyn_cookies = never\n").tcp.syn_cookies, SynCookies::never);
  EXPECT_EQ(parse(std::string(kMinimalPort) + "[tcp]\nsyn_cookies = auto\n").tcp.syn_cookies, SynCookies::automatic);
}

TEST(ConfigErrors, SynCookiesUnknown_Rejected) {
  expect_error(std::string(kMinimalPort) + "[tcp]\nsyn_cookies = yes\n",
               {"test.ini: [tcp] syn_cookies: expected auto, always or never"});
}

// ---- IPv6 (issue 12): [port] address lists, gateway6, accept_ra, dad_transmits, [nd] ----

TEST(ConfigIpv6, AddressList_OneIpv4AndSeveralIpv6) {
  const Config c = parse("[port]\nvdev = x\naddress = 198.18.0.1/24, 2001:db8::1/64, 2001:db8:1::10-2001:db8:1::4f/48\n"
                         "gateway6 = fe80::1\naccept_ra = yes\ndad_transmits = 0\n");
  const PortConfig& p = c.ports.at(0);
  EXPECT_EQ(p.address.to_string(), "198.18.0.1");
  ASSERT_EQ(p.addresses6.size(), 2u);
  EXPECT_EQ(p.addresses6[0].address.to_string(), "2001:db8::1");
  EXPECT_EQ(p.addresses6[0].count, 1u);
  EXPECT_EQ(p.addresses6[0].prefix_len, 64);
  EXPECT_EQ(p.addresses6[1].address.to_string(), "2001:db8:1::10");
  EXPECT_EQ(p.addresses6[1].count, 64u);
  EXPECT_EQ(p.addresses6[1].prefix_len, 48);
  EXPECT_EQ(p.gateway6->to_string(), "fe80::1");
  EXPECT_TRUE(p.accept_router_advertisements);
  EXPECT_EQ(p.dad_transmits, 0);
  EXPECT_TRUE(p.is_local(*wire::IpAddr::parse("2001:db8:1::4f")));
  EXPECT_FALSE(p.is_local(*wire::IpAddr::parse("2001:db8:1::50")));
  EXPECT_TRUE(p.is_local(*wire::IpAddr::parse("198.18.0.1")));
  EXPECT_EQ(p.primary(wire::IpFamily::v6).to_string(), "2001:db8::1");
}

TEST(ConfigIpv6, Ipv6Only_NoIpv4OnThePort) {
  const Config c = parse("[port]\nvdev = x\naddress = 2001:db8::1/64\n");
  EXPECT_FALSE(c.ports.at(0).has_ipv4());
  EXPECT_TRUE(c.ports.at(0).has_ipv6());
  EXPECT_TRUE(c.ports.at(0).primary(wire::IpFamily::v4).is_unspecified());
  EXPECT_FALSE(c.ports.at(0).is_local(*wire::IpAddr::parse("0.0.0.0")));
}

TEST(ConfigIpv6, BadAddresses_Rejected) {
  const std::pair<const char*, const char*> bad[] = {
      {"ff02::1/64", "not a unicast address"},
      {"::/64", "not a unicast address"},
      {"::1/128", "not a unicast address"},
      {"::ffff:198.18.0.1/96", "not a unicast address"},
      {"fe80::1/64", "link-local addresses are derived"},
      {"2001:db8::1/129", "expected addresses"},
      {"2001:db8::1/64/3", "expected addresses"},
      {"2001:db8:::1/64", "expected addresses"},
      {"2001:db8::9-2001:db8::1/64", "the range's last address must follow its first"},
      {"2001:db8::1-2001:db8:0:1::1/48", "the range's last address must follow its first"},
      {"198.18.0.1/24, 198.18.1.1/24", "one IPv4 entry per port"},
  };
  for (const auto& [value, expected] : bad) {
    SCOPED_TRACE(value);
    expect_error("[port]\nvdev = x\naddress = " + std::string(value) + "\n", {"[port] address: ", expected});
  }
  expect_error("[port]\nvdev = x\naddress = 2001:db8::1/64\ngateway6 = ff02::2\n", {"[port] gateway6: expected a unicast IPv6"});
  expect_error("[port]\nvdev = x\naddress = 2001:db8::1/64\nmtu = 1279\n", {"IPv6 needs at least 1280"});
  expect_error("[port]\nvdev = x\n", {"address: missing; expected e.g. 198.18.0.1/24 or 2001:db8::1/64"});
}

// The order of a list does not matter, and the IPv6 limits hold at their edges: a range of
// 2^32-1 addresses in the low 64 bits, ending at the last address of its /64.
TEST(ConfigIpv6, AddressList_Ipv6FirstAndRangeLimits) {
  Config c = parse("[port]\nvdev = x\naddress = 2001:db8::1/64 ,198.18.0.1/24\n");
  EXPECT_EQ(c.ports.at(0).address.to_string(), "198.18.0.1");
  ASSERT_EQ(c.ports.at(0).addresses6.size(), 1u);
  EXPECT_EQ(c.ports.at(0).primary(wire::IpFamily::v6).to_string(), "2001:db8::1");
  c = parse("[port]\nvdev = x\naddress = 2001:db8::1-2001:db8::ffff:ffff/64\n");
  EXPECT_EQ(c.ports.at(0).addresses6.at(0).count, 0xffffffffu);
  c = parse("[port]\nvdev = x\naddress = 2001:db8::ffff:ffff:ffff:fff0-2001:db8::ffff:ffff:ffff:ffff\n");
  EXPECT_EQ(c.ports.at(0).addresses6.at(0).count, 16u);
  EXPECT_TRUE(c.ports.at(0).is_local(*wire::IpAddr::parse("2001:db8::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.ports.at(0).is_local(*wire::IpAddr::parse("2001:db8:0:1::")));
  c = parse("[port]\nvdev = x\naddress = 2001:db8::1/128\n");
  EXPECT_EQ(c.ports.at(0).addresses6.at(0).prefix_len, 128);
  c = parse("[port]\nvdev = x\naddress = 2001:db8::1/64\naccept_ra = off\ndad_transmits = 10\n");
  EXPECT_FALSE(c.ports.at(0).accept_router_advertisements);
  EXPECT_EQ(c.ports.at(0).dad_transmits, 10);
  EXPECT_FALSE(c.ports.at(0).gateway6) << "no default router unless configured or learned";
  c = parse("[port]\nvdev = x\naddress = 2001:db8::1/64\ngateway6 = 2001:db8::fe\n");
  EXPECT_EQ(c.ports.at(0).gateway6->to_string(), "2001:db8::fe");
}

TEST(ConfigIpv6, RangeLimitsAndOtherKeys_Rejected) {
  const std::pair<const char*, const char*> bad[] = {
      // 2^32 addresses: one more than a count holds.
      {"2001:db8::-2001:db8::ffff:ffff", "at most 2^32-1 addresses"},
      // Within a /120 the range may not leave it.
      {"2001:db8::f0-2001:db8::1ff/120", "the range's last address must follow its first, within the prefix"},
      {"2001:db8::1-2001:db8::1:0:0:0/64", "the range's last address must follow its first"},
      {"2001:db8::1/0", "expected addresses"},
      {"2001:db8::1-2001:db8::2-2001:db8::3/64", "expected addresses"},
      {"fe80::1-fe80::9/64", "link-local addresses are derived"},
      {"2001:db8::1-/64", "expected addresses"},
      {"-2001:db8::1/64", "expected addresses"},
      {",", "expected addresses"},
  };
  for (const auto& [value, expected] : bad) {
    SCOPED_TRACE(value);
    expect_error("[port]\nvdev = x\naddress = " + std::string(value) + "\n", {"[port] address: ", expected});
  }
  for (const char* gateway : {"::", "::ffff:198.18.0.254", "198.18.0.254", "2001:db8::fe/64", "router"}) {
    SCOPED_TRACE(gateway);
    expect_error("[port]\nvdev = x\naddress = 2001:db8::1/64\ngateway6 = " + std::string(gateway) + "\n",
                 {"[port] gateway6: expected a unicast IPv6 address like 2001:db8::fe or fe80::1"});
  }
  expect_error("[port]\nvdev = x\naddress = 2001:db8::1/64\naccept_ra = maybe\n", {"[port] accept_ra: "});
  expect_error("[port]\nvdev = x\naddress = 2001:db8::1/64\ndad_transmits = 11\n",
               {"[port] dad_transmits: expected an integer in 0..10"});
}

TEST(ConfigIpv6, NeighbourDiscoverySection) {
  const Config c = parse(std::string(kMinimalPort) +
                         "[nd]\ncapacity = 64\nretrans_timer_ms = 250\nbase_reachable_time_ms = 10000\n"
                         "delay_first_probe_time_ms = 2000\nmax_multicast_solicit = 5\nmax_unicast_solicit = 4\n"
                         "max_pending_per_entry = 16\n");
  EXPECT_EQ(c.nd.capacity, 64u);
  EXPECT_EQ(c.nd.retrans_timer, std::chrono::milliseconds(250));
  EXPECT_EQ(c.nd.base_reachable_time, std::chrono::milliseconds(10000));
  EXPECT_EQ(c.nd.delay_first_probe_time, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.nd.max_multicast_solicit, 5u);
  EXPECT_EQ(c.nd.max_unicast_solicit, 4u);
  EXPECT_EQ(c.nd.max_pending_per_entry, 16u);
}

}  // namespace
}  // namespace dtcp
