#include "dpdk/eal_args.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

namespace dtcp::dpdk {
namespace {

bool has_option(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
  for (const auto& arg : args) {
    for (const char* name : names) {
      const std::string n(name);
      if (arg == n || arg.rfind(n + "=", 0) == 0 || (n.size() == 2 && arg.rfind(n, 0) == 0)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> build_eal_args(const Config& config, const std::vector<std::string>& eal_override,
                                        const char* program_name) {
  // Arguments after "--" replace [eal] args, except log levels alone (`-- --log-level=dtcp.tcp:debug`),
  // which add to them: turning a log type up must not drop --no-huge.
  const bool only_log_levels =
      !eal_override.empty() && std::all_of(eal_override.begin(), eal_override.end(), [&](const std::string& a) {
        const size_t i = static_cast<size_t>(&a - eal_override.data());
        return a.rfind("--log-level", 0) == 0 || (i > 0 && eal_override[i - 1] == "--log-level");
      });
  std::vector<std::string> user = eal_override.empty() ? config.eal_args : eal_override;
  if (only_log_levels) {
    user = config.eal_args;
    user.insert(user.end(), eal_override.begin(), eal_override.end());
  }
  std::vector<std::string> args{program_name};
  const bool any_pci_port = std::any_of(config.ports.begin(), config.ports.end(),
                                        [](const PortConfig& p) { return !p.pci.empty(); });
  if (!any_pci_port && !has_option(user, {"-a", "--allow", "-b", "--block", "--no-pci", "-w"})) {
    // Without it the virtio driver would take over this machine's own network card.
    args.push_back("--no-pci");
  }
  for (const auto& port : config.ports) {
    if (!port.vdev.empty()) args.push_back("--vdev=" + port.vdev);
    if (!port.pci.empty()) {
      args.push_back("-a");
      args.push_back(port.pci);
    }
  }
  if (!has_option(user, {"--file-prefix"})) args.push_back("--file-prefix=dtcp" + std::to_string(getpid()));
  if (!has_option(user, {"-l", "--lcores", "-c"})) {
    unsigned highest = 0;
    unsigned implicit = 0;
    for (const auto& port : config.ports) {
      if (port.lcores.empty()) implicit += port.rx_queues;
      for (unsigned id : port.lcores) highest = std::max(highest, id);
    }
    highest = std::max(highest, implicit);
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    args.push_back("--lcores=(0-" + std::to_string(highest) + ")@(0-" + std::to_string(cpus - 1) + ")");
  }
  // DPDK 22.11 treats --no-huge as legacy memory, which it refuses with --in-memory; there the
  // heap is fixed at 64 MB and -m cannot be added.
  if (has_option(user, {"--no-huge"}) && !has_option(user, {"-m", "--socket-mem", "--in-memory"})) {
    const size_t room = config.mempool.data_room ? config.mempool.data_room : 2048 + 128;
    size_t largest_mtu = 1500;
    for (const auto& port : config.ports) largest_mtu = std::max<size_t>(largest_mtu, port.mtu);
    const size_t per_mbuf = std::max(room, largest_mtu + 150) + 256;  // mbuf header and pool overhead
    const size_t megabytes = config.mempool.mbufs * per_mbuf / (1 << 20) + 256;
    args.push_back("-m");
    args.push_back(std::to_string(megabytes));
  }
  args.insert(args.end(), user.begin(), user.end());
  return args;
}

}  // namespace dtcp::dpdk
