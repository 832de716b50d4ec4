// build_eal_args(): the project's EAL defaults plus what the ports imply, never overriding a
// choice the user made.
#include "dpdk/eal_args.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace dtcp::dpdk {
namespace {

using Args = std::vector<std::string>;

PortConfig vdev_port(std::string vdev) {
  PortConfig p;
  p.vdev = std::move(vdev);
  p.address = wire::Ipv4Addr::from_octets(198, 18, 0, 1);
  return p;
}

PortConfig pci_port(std::string pci) {
  PortConfig p;
  p.pci = std::move(pci);
  p.address = wire::Ipv4Addr::from_octets(198, 18, 0, 1);
  return p;
}

Config config_with(std::vector<PortConfig> ports, Args eal_args = {"--no-huge", "--no-shconf"}) {
  Config c;
  c.source = "test.ini";
  c.eal_args = std::move(eal_args);
  c.ports = std::move(ports);
  return c;
}

size_t count(const Args& args, const std::string& value) {
  return static_cast<size_t>(std::count(args.begin(), args.end(), value));
}

size_t count_prefix(const Args& args, const std::string& prefix) {
  return static_cast<size_t>(
      std::count_if(args.begin(), args.end(), [&](const std::string& a) { return a.rfind(prefix, 0) == 0; }));
}

// The value after `option` ("" if absent or last).
std::string value_after(const Args& args, const std::string& option) {
  const auto it = std::find(args.begin(), args.end(), option);
  return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

std::string all_cpus() { return "(0-" + std::to_string(std::max(1u, std::thread::hardware_concurrency()) - 1) + ")"; }

TEST(EalArgs, VdevPort_Defaults) {
  const Args args = build_eal_args(config_with({vdev_port("net_tap0,iface=dtcp0")}), {}, "dtcp-node");
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args.front(), "dtcp-node");
  EXPECT_EQ(count(args, "--no-pci"), 1u);
  EXPECT_EQ(count(args, "--vdev=net_tap0,iface=dtcp0"), 1u);
  EXPECT_EQ(count(args, "--file-prefix=dtcp" + std::to_string(getpid())), 1u);
  // One main lcore plus one worker for the port's single queue pair, floating over all CPUs.
  EXPECT_EQ(count(args, "--lcores=(0-1)@" + all_cpus()), 1u);
  // The user's (here the config's) arguments come last, unchanged.
  ASSERT_GE(args.size(), 3u);
  EXPECT_EQ(args[args.size() - 2], "--no-huge");
  EXPECT_EQ(args[args.size() - 1], "--no-shconf");
}

TEST(EalArgs, LogLevelsAloneAddToTheConfiguredArguments) {
  const Args added = build_eal_args(config_with({vdev_port("net_null0")}),
                                    {"--log-level=dtcp.tcp:debug", "--log-level", "dtcp.port:warning"}, "dtcp-node");
  EXPECT_EQ(count(added, "--no-huge"), 1u);
  EXPECT_EQ(count(added, "--no-shconf"), 1u);
  EXPECT_EQ(count(added, "--log-level=dtcp.tcp:debug"), 1u);
  EXPECT_EQ(value_after(added, "--log-level"), "dtcp.port:warning");
  // Anything else after "--" replaces them, as before.
  const Args replaced = build_eal_args(config_with({vdev_port("net_null0")}), {"--log-level=*:info", "--in-memory"},
                                       "dtcp-node");
  EXPECT_EQ(count(replaced, "--no-huge"), 0u);
  EXPECT_EQ(count(replaced, "--in-memory"), 1u);
}

TEST(EalArgs, OnePerVdevPort_InPortOrder) {
  const Args args =
      build_eal_args(config_with({vdev_port("net_ring0"), vdev_port("net_tap1,iface=x")}), {}, "p");
  const auto a = std::find(args.begin(), args.end(), "--vdev=net_ring0");
  const auto b = std::find(args.begin(), args.end(), "--vdev=net_tap1,iface=x");
  ASSERT_NE(a, args.end());
  ASSERT_NE(b, args.end());
  EXPECT_LT(a, b);
}

TEST(EalArgs, PciPort_AllowListedAndNoPciNotAdded) {
  const Args args = build_eal_args(config_with({pci_port("0000:01:00.0"), vdev_port("net_null0")}), {}, "p");
  EXPECT_EQ(count(args, "--no-pci"), 0u);
  EXPECT_EQ(value_after(args, "-a"), "0000:01:00.0");
  EXPECT_EQ(count(args, "--vdev=net_null0"), 1u);
}

TEST(EalArgs, RingPort_NoDeviceArgument) {
  PortConfig ring;
  ring.ring = "pair0:0";
  const Args args = build_eal_args(config_with({ring}), {}, "p");
  EXPECT_EQ(count_prefix(args, "--vdev"), 0u);
  EXPECT_EQ(count(args, "-a"), 0u);
  EXPECT_EQ(count(args, "--no-pci"), 1u);
}

TEST(EalArgs, UserDeviceSelection_NoPciNotAdded) {
  for (const Args& user : {Args{"-a", "0000:02:00.0"}, Args{"-a0000:02:00.0"}, Args{"--allow=0000:02:00.0"},
                           Args{"--allow", "0000:02:00.0"}, Args{"-b", "0000:03:00.0"},
                           Args{"--block=0000:03:00.0"}, Args{"--no-pci"}}) {
    SCOPED_TRACE(::testing::PrintToString(user));
    const Args args = build_eal_args(config_with({vdev_port("net_null0")}, user), {}, "p");
    EXPECT_EQ(count(args, "--no-pci"), user[0] == "--no-pci" ? 1u : 0u);
  }
}

TEST(EalArgs, UserFilePrefix_Respected) {
  for (const Args& user : {Args{"--file-prefix=mine"}, Args{"--file-prefix", "mine"}}) {
    const Args args = build_eal_args(config_with({vdev_port("net_null0")}, user), {}, "p");
    EXPECT_EQ(count_prefix(args, "--file-prefix"), 1u) << ::testing::PrintToString(args);
    EXPECT_EQ(count_prefix(args, "--file-prefix=dtcp"), 0u);
  }
}

TEST(EalArgs, UserLcores_Respected) {
  for (const Args& user : {Args{"-l", "0-3"}, Args{"-l0-3"}, Args{"--lcores=0-3"}, Args{"--lcores", "(0-3)@0"},
                           Args{"-c", "0xf"}}) {
    SCOPED_TRACE(::testing::PrintToString(user));
    const Args args = build_eal_args(config_with({vdev_port("net_null0")}, user), {}, "p");
    EXPECT_EQ(count_prefix(args, "--lcores=("), 0u);
  }
}

TEST(EalArgs, Lcores_CoverConfiguredAndImplicitWorkers) {
  PortConfig explicit_port = vdev_port("a");
  explicit_port.rx_queues = explicit_port.tx_queues = 2;
  explicit_port.lcores = {2, 5};
  Args args = build_eal_args(config_with({explicit_port}), {}, "p");
  EXPECT_EQ(count(args, "--lcores=(0-5)@" + all_cpus()), 1u) << ::testing::PrintToString(args);

  PortConfig implicit_port = vdev_port("b");
  implicit_port.rx_queues = implicit_port.tx_queues = 3;
  args = build_eal_args(config_with({implicit_port}), {}, "p");
  EXPECT_EQ(count(args, "--lcores=(0-3)@" + all_cpus()), 1u) << ::testing::PrintToString(args);
}

TEST(EalArgs, NoHugeWithoutMemorySize_MemoryAdded) {
  Config config = config_with({vdev_port("net_null0")});
  config.mempool.mbufs = 16383;
  const Args args = build_eal_args(config, {}, "p");
  ASSERT_EQ(count(args, "-m"), 1u);
  const unsigned long megabytes = std::stoul(value_after(args, "-m"));
  // At least the pool's data rooms (16383 x 2176 bytes is 34 MB), bounded.
  EXPECT_GE(megabytes, 16383ul * 2176 / (1 << 20));
  EXPECT_LT(megabytes, 4096ul);
}

TEST(EalArgs, MemoryOnlyAddedWhenAllowed) {
  struct Case {
    Args user;
    bool expect_m;
  };
  for (const Case& c : {Case{{"--no-shconf"}, false},                  // hugepages: EAL sizes itself
                        Case{{"--no-huge", "-m", "512"}, false},      // the user chose
                        Case{{"--no-huge", "-m512"}, false},
                        Case{{"--no-huge", "--socket-mem=512"}, false},
                        Case{{"--no-huge", "--in-memory"}, false},    // DPDK 22.11 refuses -m there
                        Case{{"--no-huge"}, true}}) {
    SCOPED_TRACE(::testing::PrintToString(c.user));
    const Args args = build_eal_args(config_with({vdev_port("net_null0")}, c.user), {}, "p");
    EXPECT_EQ(count(args, "-m") - count(c.user, "-m"), c.expect_m ? 1u : 0u) << ::testing::PrintToString(args);
  }
}

TEST(EalArgs, Override_ReplacesConfigArguments) {
  const Config config = config_with({vdev_port("net_null0")}, {"--no-huge", "--file-prefix=fromconfig"});
  const Args args = build_eal_args(config, {"--no-shconf", "-l", "0-1"}, "p");
  EXPECT_EQ(count(args, "--file-prefix=fromconfig"), 0u);
  EXPECT_EQ(count(args, "--no-huge"), 0u);
  EXPECT_EQ(count(args, "-m"), 0u) << "no --no-huge in the override";
  EXPECT_EQ(count_prefix(args, "--lcores"), 0u);
  EXPECT_EQ(count_prefix(args, "--file-prefix=dtcp"), 1u);
  EXPECT_EQ(args.back(), "0-1");
}

}  // namespace
}  // namespace dtcp::dpdk
