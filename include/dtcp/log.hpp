// dtcp's log types, for applications that want their diagnostics beside the stack's.
//
// Every message goes through DPDK's rte_log under a type per subsystem: dtcp.port, dtcp.arp,
// dtcp.ip, dtcp.tcp, dtcp.runtime, dtcp.loadgen, dtcp.sockets. Each is at INFO unless EAL's
// --log-level says otherwise (--log-level=dtcp.tcp:debug, --log-level='dtcp.*:warning'; the
// tools pass EAL arguments after "--"). The text is written exactly as formatted: no prefix is
// added, so messages carry their own ("dtcp: ...").
#pragma once

#include <cstdint>

namespace dtcp {

enum class LogType : uint8_t { port, arp, ip, tcp, runtime, loadgen, sockets };

// rte_log's levels, with its numbers (RTE_LOG_ERR ... RTE_LOG_DEBUG).
enum class LogLevel : uint32_t { error = 4, warning = 5, notice = 6, info = 7, debug = 8 };

// Writes one message (printf format; end it with '\n') when `type` is at `level` or more
// verbose. Not rate limited: for setup and control paths, not per packet.
void write_log(LogType type, LogLevel level, const char* format, ...) __attribute__((format(printf, 3, 4)));

}  // namespace dtcp
