// dtcp's diagnostics through DPDK's rte_log: one log type per subsystem (dtcp/log.hpp names
// them), each at INFO unless EAL's --log-level says otherwise (e.g. --log-level=dtcp.tcp:debug).
//
// The text goes out exactly as formatted (rte_log adds no prefix; the Linux EAL writes it to
// stderr and syslog once started, to stderr before), so messages keep their "dtcp: " prefix.
//
// Packet-path messages use DTCP_LOG_DP: the level check comes first and costs one call when the
// level is off; a message that would be written also passes the calling thread's token bucket
// for its type, so a flood of bad packets writes at most kLogBurst lines at once and
// kLogPerSecond a second per lcore and type. The next line admitted (or flush_suppressed())
// says how many were held back.
//
// This header includes rte_log.h, like tcp/mbuf.hpp includes rte_mbuf.h: the stack and TCP
// layers log through it without depending on EAL otherwise.
#pragma once

#include <rte_log.h>

#include <cstddef>
#include <cstdint>

#include "base/time.hpp"
#include "dtcp/log.hpp"

namespace dtcp::log {

// The public names (dtcp/log.hpp), shorter inside the stack.
using Subsystem = LogType;
using Level = LogLevel;
inline constexpr size_t kSubsystems = static_cast<size_t>(Subsystem::sockets) + 1;

// Packet-path limit per lcore and log type.
inline constexpr uint32_t kLogBurst = 20;
inline constexpr uint32_t kLogPerSecond = 10;

// "dtcp.tcp" and so on; short_name() is "tcp", for messages ("dtcp: tcp: ...").
const char* type_name(Subsystem subsystem);
const char* short_name(Subsystem subsystem);

namespace detail {
// Filled by a constructor in log.cpp at program start.
extern uint32_t g_type_ids[kSubsystems];
}  // namespace detail

// The rte_log type id registered for `subsystem`. Registered at program start, before EAL
// parses --log-level (rte_log_set_level_pattern then sets it); a type registered after EAL
// started would pick its level from the patterns EAL saved
// (rte_log_register_type_and_pick_level), so the order does not matter.
inline uint32_t type_id(Subsystem subsystem) { return detail::g_type_ids[static_cast<size_t>(subsystem)]; }

// Whether a message of `level` for `subsystem` would be written now.
inline bool enabled(Subsystem subsystem, Level level) {
  return rte_log_can_log(type_id(subsystem), static_cast<uint32_t>(level));
}

// Packet path: takes a token from the calling thread's bucket for `subsystem` at `now`; true
// when the caller may write its line. A message refused is counted; when a line is admitted
// after refusals, admit() first writes how many were held back. DTCP_LOG_DP calls it after
// enabled() and before formatting, so a refused line costs no formatting.
bool admit(Subsystem subsystem, Level level, TimePoint now);

// Reports the calling thread's held-back counts ("dtcp: tcp: 12 messages suppressed") for every
// type whose bucket has a token at `now`, or for every type when `force` (an lcore that stops).
void flush_suppressed(TimePoint now, bool force = false);

}  // namespace dtcp::log

// Setup and control path (dtcp::write_log): DTCP_LOG(runtime, info, "dtcp: ...\n", ...).
#define DTCP_LOG(subsystem, level, ...)                                                                   \
  ::dtcp::write_log(::dtcp::log::Subsystem::subsystem, ::dtcp::log::Level::level, __VA_ARGS__)

// Packet path: DTCP_LOG_DP(tcp, debug, now, "dtcp: tcp: ...\n", ...). Evaluates the arguments
// only when the level is on and the lcore's bucket for the type has a token.
#define DTCP_LOG_DP(subsystem, level, now, ...)                                                            \
  do {                                                                                                     \
    if (::dtcp::log::enabled(::dtcp::log::Subsystem::subsystem, ::dtcp::log::Level::level) &&            \
        ::dtcp::log::admit(::dtcp::log::Subsystem::subsystem, ::dtcp::log::Level::level, (now)))          \
        [[unlikely]] {                                                                                     \
      ::dtcp::write_log(::dtcp::log::Subsystem::subsystem, ::dtcp::log::Level::level, __VA_ARGS__);       \
    }                                                                                                      \
  } while (0)
