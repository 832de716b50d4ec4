// Compiled with include/ only on the path: dtcp/log.hpp must stand alone, reaching no header
// under src/ (and no DPDK header: applications log without including rte_log.h).
#include "dtcp/log.hpp"
