// `address = A-B/PREFIX`: a port owning a range of addresses (load generators' source addresses).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "dtcp/config.hpp"

namespace dtcp {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "test.ini");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return {};
}

PortConfig port_with(const std::string& address) {
  return parse_config("[port]\nvdev = net_null0\naddress = " + address + "\n", "test.ini").ports.at(0);
}

TEST(ConfigAddressRange, SingleAddress_CountOne) {
  const PortConfig p = port_with("198.18.0.1/24");
  EXPECT_EQ(p.address, wire::Ipv4Addr::from_octets(198, 18, 0, 1));
  EXPECT_EQ(p.address_count, 1u);
}

TEST(ConfigAddressRange, Range_FirstAddressAndCount) {
  const PortConfig p = port_with("198.18.0.10-198.18.0.73/24");
  EXPECT_EQ(p.address, wire::Ipv4Addr::from_octets(198, 18, 0, 10));
  EXPECT_EQ(p.address_count, 64u);
  EXPECT_EQ(p.prefix_len, 24);
  EXPECT_EQ(port_with("10.0.0.0-10.0.255.255/16").address_count, 65536u);
  EXPECT_EQ(port_with("198.18.0.5-198.18.0.5/24").address_count, 1u);
}

TEST(ConfigAddressRange, BadRanges_NameKeyAndExpectation) {
  for (const char* bad : {"198.18.0.10-198.18.0.9/24", "198.18.0.10-198.18.1.1/24", "198.18.0.1-/24",
                          "198.18.0.1-198.18.0.2-198.18.0.3/24", "-198.18.0.2/24", "198.18.0.1-x/24"}) {
    const std::string message = error_of(std::string("[port]\nvdev = v\naddress = ") + bad + "\n");
    EXPECT_NE(message.find("test.ini: [port] address:"), std::string::npos) << bad << ": " << message;
    EXPECT_TRUE(message.find("range") != std::string::npos) << bad << ": " << message;
  }
}

}  // namespace
}  // namespace dtcp
