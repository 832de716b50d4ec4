// dtcp runtime configuration: what an INI file (read with DPDK's rte_cfgfile) describes.
//
// One file describes one process: its EAL arguments, one or more ports (each a stack instance with
// its own addresses) and the lcores that poll them. Every key is documented in README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dtcp/tcp.hpp"
#include "dtcp/address.hpp"

namespace dtcp {

// Thrown by load_config() and validate(): the message names the file, section, key and what was
// expected, e.g. "config/tap.ini: [port] mtu: expected an integer in 68..9600, got 'abc'".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Fraction-based frame impairment applied by the port layer, for testing where no netem exists.
// Every decision comes from a xorshift generator seeded with `seed`, so runs repeat exactly.
struct ImpairmentConfig {
  double loss = 0.0;       // drop this fraction of frames
  double duplicate = 0.0;  // send this fraction twice
  double reorder = 0.0;    // hold this fraction back until the next frame has passed
  double corrupt = 0.0;    // flip one random byte past the Ethernet header
  // Mark this fraction of ECN-capable (ECT) IPv4 frames CE, as a congested RFC 3168 router would
  // instead of dropping them; frames the loss drew are gone first.
  double ce = 0.0;
  std::chrono::microseconds delay{0};  // fixed one-way delay added to every frame
  uint64_t seed = 1;
  bool enabled() const {
    return loss > 0 || duplicate > 0 || reorder > 0 || corrupt > 0 || ce > 0 || delay.count() > 0;
  }
};

// IPv6 addresses of a port (RFC 4291): `count` consecutive addresses from `address`, all in
// the on-link prefix address/prefix_len (RFC 4861 §5.2 on-link determination).
struct Ipv6AddressRange {
  wire::Ipv6Addr address;
  uint32_t count = 1;
  uint8_t prefix_len = 64;
  bool contains(const wire::Ipv6Addr& a) const {
    return a.high_be() == address.high_be() && a.low_be() - address.low_be() < count;
  }
};

struct PortConfig {
  std::string name;  // section suffix: [port] -> "", [port.client] -> "client"
  // Exactly one of these names the device.
  std::string vdev;  // EAL virtual device args, e.g. "net_tap0,iface=dtcp0"
  std::string pci;   // a PCI address, passed to EAL as -a
  std::string ring;  // "PAIR:SIDE": one end (0 or 1) of an in-process net_ring pair
  std::optional<wire::MacAddr> mac;  // default: the port's own
  // IPv4: addresses address .. address+address_count-1 are all ours (`address = A-B/PREFIX`): a
  // load generator spreads connections over them for more 4-tuples. The first is the primary
  // one (ARP requests, ICMP errors, connect() without ConnectOptions::local_address). 0.0.0.0 =
  // no IPv4 on this port.
  wire::Ipv4Addr address;
  uint32_t address_count = 1;
  uint8_t prefix_len = 24;
  std::optional<wire::Ipv4Addr> gateway;
  // IPv6: the configured addresses (several allowed; the first is the primary one for
  // connect() and as the source of solicitations), besides the link-local address derived from
  // the MAC (RFC 4862 §5.3), which every IPv6 port has.
  std::vector<Ipv6AddressRange> addresses6;
  std::optional<wire::Ipv6Addr> gateway6;
  bool accept_router_advertisements = false;  // learn a default router and prefixes (RFC 4861 §6.3.4)
  // Duplicate address detection probes per address (RFC 4862 §5.4, DupAddrDetectTransmits);
  // 0 uses the addresses at once.
  uint8_t dad_transmits = 1;

  bool has_ipv4() const { return !address.is_unspecified(); }
  bool has_ipv6() const { return !addresses6.empty(); }
  // One of the configured addresses of either family (not the link-local one).
  bool is_local(const wire::IpAddr& a) const {
    if (a.is_v4()) return has_ipv4() && a.v4().value - address.value < address_count;
    for (const auto& r : addresses6)
      if (r.contains(a.v6())) return true;
    return false;
  }
  // The primary address of a family; unspecified when the port has none.
  wire::IpAddr primary(wire::IpFamily family) const {
    if (family == wire::IpFamily::v4) return address;
    return has_ipv6() ? wire::IpAddr(addresses6.front().address) : wire::IpAddr{};
  }
  uint16_t mtu = 1500;
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  std::vector<unsigned> lcores;  // worker lcores that poll this port, one queue pair each
  // Queue pattern repeated over the RSS redirection table (RETA); empty = 0, 1, ..., queues-1.
  // Programmed into the device where it has RSS, used by software steering otherwise.
  std::vector<uint16_t> reta;
  ImpairmentConfig rx_impairment;
  ImpairmentConfig tx_impairment;
  bool offloads = true;  // use checksum offloads the device reports; false forces software
  // TCP segmentation offload: auto uses it where the device reports it (with `offloads`); off
  // never hands the device a segment larger than the MSS.
  enum class Tso : uint8_t { automatic, off };
  Tso tso = Tso::automatic;
  // Receive coalescing: auto takes the device's LRO where it reports it, and otherwise merges
  // in-order TCP/IPv4 segments of a flow within each receive burst in software (DPDK's rte_gro);
  // off hands TCP every frame as it arrived. by_device (the default) is auto on a device with
  // LRO and on net_tap, where a kernel sender fills bursts with in-order segments and rte_gro
  // measured 18-32 % faster, and off elsewhere (net_ring, net_memif: a dtcp sender passes its
  // super-segments whole, and checking every frame cost what merging saved). README: Offloads.
  enum class Gro : uint8_t { by_device, automatic, off };
  Gro gro = Gro::by_device;
};

struct ArpConfig {
  std::chrono::seconds entry_timeout{300};          // a resolved entry is refreshed after this
  std::chrono::milliseconds request_interval{1000};  // retry period for an unresolved next hop
  unsigned request_retries = 3;                      // then its waiting packets are dropped
  unsigned max_pending_per_entry = 128;  // packets queued behind one resolution (Linux: ~100)
  unsigned capacity = 1024;                          // entries per lcore
};

// The IPv6 neighbour cache (RFC 4861 §10 for the protocol constants, which are its defaults).
struct NeighborConfig {
  unsigned capacity = 1024;              // entries per lcore
  unsigned max_pending_per_entry = 128;  // packets queued behind one resolution (as ARP)
  std::chrono::milliseconds retrans_timer{1000};          // RETRANS_TIMER: between solicitations
  std::chrono::milliseconds base_reachable_time{30000};   // REACHABLE_TIME, randomised 0.5x..1.5x
  std::chrono::milliseconds delay_first_probe_time{5000};  // DELAY_FIRST_PROBE_TIME
  unsigned max_multicast_solicit = 3;  // MAX_MULTICAST_SOLICIT: resolution attempts
  unsigned max_unicast_solicit = 3;    // MAX_UNICAST_SOLICIT: reachability probes
  unsigned max_pending_total = 128 * 64;  // packets queued behind all resolutions together
};

struct MempoolConfig {
  unsigned mbufs = 16383;      // per NUMA socket; a power of two minus one fits rte_mempool best
  unsigned cache = 256;        // per-lcore cache
  uint16_t data_room = 0;      // 0: derived from the largest MTU
};

// What a worker lcore does when its queues are idle.
enum class IdlePolicy : uint8_t {
  busy,       // poll without pause: lowest latency, one core burnt per worker (production)
  adaptive,   // after idle_polls empty polls, rte_pause(), then sleep up to idle_sleep_max
  automatic,  // adaptive when there are more lcores (main included) than CPUs to run them, else busy
};
const char* to_string(IdlePolicy);

struct RuntimeConfig {
  IdlePolicy idle = IdlePolicy::busy;
  unsigned idle_polls = 1000;                         // empty polls before pausing, as many again before sleeping
  std::chrono::microseconds idle_sleep_max{100};      // longest sleep; bounds the wake-up delay
  // How long Runtime::run() waits for the lcores after a stop request (SIGINT/SIGTERM, --duration,
  // request_stop()). An lcore still running then is stuck (a callback that never returns): the
  // process exits with status 1 naming it, rather than hang. A second signal ends the wait at
  // once. 0: wait however long it takes.
  std::chrono::milliseconds stop_grace{5000};
  unsigned message_ring = 1024;                       // cross-lcore messages queued per lcore
  unsigned steer_ring = 1024;                         // frames queued per (queue, owner queue) pair
  std::string capture;  // pcapng capture from start-up: file=PATH[,port=..,dir=..,filter=..,count=..,bytes=..,snaplen=..]
};

struct Config {
  std::string source;                  // where it came from, for messages
  std::vector<std::string> eal_args;   // default: --no-huge --no-shconf (plus --no-pci, see build_eal_args)
  std::vector<PortConfig> ports;
  ArpConfig arp;
  NeighborConfig nd;  // [nd]
  MempoolConfig mempool;
  TcpConfig tcp;  // [tcp]; mss is lowered to each port's MTU - 40 when larger
  RuntimeConfig runtime;  // [runtime]
};

// Parses an INI file. Unknown sections and keys are errors (a typo must not silently fall back
// to a default). Throws ConfigError.
Config load_config(const std::string& path);
// Parses INI text held in memory (the tools' embedded defaults). `origin` names it in errors.
Config parse_config(const std::string& text, const std::string& origin);
// Sets `key = value` in [section] as a file would (command-line overrides); section "port" sets
// the key on every port. Throws ConfigError naming `origin`, the section and the key.
void set_config_key(Config& config, const std::string& section, const std::string& key, const std::string& value,
                    const std::string& origin);
// An lcore list as [port] lcores takes it ("1,2", "1-4", "1-2,5"). Throws ConfigError naming `origin`.
std::vector<unsigned> parse_lcore_list(const std::string& text, const std::string& origin);

}  // namespace dtcp
