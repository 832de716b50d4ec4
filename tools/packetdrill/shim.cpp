// libdtcp_packetdrill.so, what packetdrill's --so_filename names: loads the adapter proper
// (libdtcp_packetdrill_core.so, beside this file) and hands over.
//
// Why two libraries: packetdrill dlopen()s its shared object with RTLD_DEEPBIND, so everything
// that object depends on resolves symbols in its own dependency scope first. packetdrill's
// executable has copy relocations of getopt's globals (optind, optarg), which libc's getopt
// then uses; DPDK's EAL, resolved inside that scope, would read libc's original, unused copies,
// so rte_eal_init() parsed its arguments from a stale optind and crashed on a null optarg. This
// shim links nothing of DPDK and opens the core without RTLD_DEEPBIND, where EAL and getopt see
// the same variables.
#include <dlfcn.h>
#include <libgen.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "packetdrill/interface.hpp"

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                                  packetdrill_interface* ifc) {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&packetdrill_interface_init), &self) == 0 || self.dli_fname == nullptr) {
    std::fprintf(stderr, "dtcp-packetdrill: cannot find where libdtcp_packetdrill.so was loaded from\n");
    std::exit(2);
  }
  std::string path = self.dli_fname;
  path = dirname(path.data());
  path += "/libdtcp_packetdrill_core.so";
  void* core = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (core == nullptr) {
    std::fprintf(stderr, "dtcp-packetdrill: %s\n", dlerror());
    std::exit(2);
  }
  using Init = void (*)(const char*, packetdrill_interface*);
  auto init = reinterpret_cast<Init>(dlsym(core, "dtcp_packetdrill_init"));
  if (init == nullptr) {
    std::fprintf(stderr, "dtcp-packetdrill: %s has no dtcp_packetdrill_init\n", path.c_str());
    std::exit(2);
  }
  init(flags, ifc);
}
