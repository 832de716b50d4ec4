// EAL command line assembly: the project's defaults (see README "EAL arguments") plus the ports'
// devices, so a user never has to repeat what the config file already says.
#pragma once

#include <string>
#include <vector>

#include "dtcp/config.hpp"

namespace dtcp::dpdk {

// Returns argv (program name first). Adds, unless the user already chose:
//  --no-pci (unless -a/--allow/-b/--block/--no-pci is present or a port names a PCI device);
//  --vdev for each vdev port and -a for each PCI port;
//  --file-prefix=dtcp<pid> so parallel processes never share runtime files;
//  --lcores with one main lcore and the worker lcores the ports need, floating over all CPUs
//    (more lcores than cores works; pass -l or --lcores to pin);
//  -m sized from the mbuf pools when --no-huge is given without -m.
std::vector<std::string> build_eal_args(const Config& config, const std::vector<std::string>& eal_override,
                                        const char* program_name);

}  // namespace dtcp::dpdk
