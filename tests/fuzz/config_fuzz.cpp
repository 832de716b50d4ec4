// The configuration file (src/dpdk/config*.cpp): parse_config() checks the text, stages it in a
// memfd and reads it back through rte_cfgfile, as load_config() reads a file. Any text either
// loads or throws ConfigError; any other exception, crash or leak is a failure. The same text
// also goes through the value parsers the command line uses (lcore lists, addresses), and what
// they accept is printed back and parsed again to the same value.
#include <string>

#include "dtcp/config.hpp"
#include "fuzz_env.hpp"
#include "wire/addr.hpp"

using namespace dtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Config config = parse_config(text, "fuzz.ini");
    DTCP_FUZZ_CHECK(!config.ports.empty());
    for (const PortConfig& port : config.ports) DTCP_FUZZ_CHECK(port.mtu >= 68);
  } catch (const ConfigError& e) {
    DTCP_FUZZ_CHECK(e.what()[0] != '\0');
  }
  try {
    const auto lcores = parse_lcore_list(text, "--lcores");
    DTCP_FUZZ_CHECK(!lcores.empty());
  } catch (const ConfigError&) {
  }
  if (const auto ip = wire::Ipv4Addr::parse(text)) {
    const auto again = wire::Ipv4Addr::parse(ip->to_string());
    DTCP_FUZZ_CHECK(again && *again == *ip);
  }
  if (const auto mac = wire::MacAddr::parse(text)) {
    const auto again = wire::MacAddr::parse(mac->to_string());
    DTCP_FUZZ_CHECK(again && *again == *mac);
  }
  return 0;
}
