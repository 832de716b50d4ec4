// Sections owned by other layers. [tcp] joins here once the TCP layer's config exists.
#include "dpdk/config_keys.hpp"

namespace dtcp::config_keys {

bool apply_extra_section(const std::string&, const std::string&, const Entries&, Config&) { return false; }

}  // namespace dtcp::config_keys
