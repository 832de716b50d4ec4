#include "base/log.hpp"

#include <rte_common.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <utility>

#include "base/token_bucket.hpp"

namespace dtcp {
namespace log {
namespace {

static_assert(static_cast<uint32_t>(Level::error) == RTE_LOG_ERR && static_cast<uint32_t>(Level::warning) == RTE_LOG_WARNING &&
              static_cast<uint32_t>(Level::notice) == RTE_LOG_NOTICE && static_cast<uint32_t>(Level::info) == RTE_LOG_INFO &&
              static_cast<uint32_t>(Level::debug) == RTE_LOG_DEBUG,
              "dtcp::LogLevel carries rte_log's numbers");

constexpr std::array<const char*, kSubsystems> kTypeNames = {
    "dtcp.port", "dtcp.arp", "dtcp.ip", "dtcp.tcp", "dtcp.runtime", "dtcp.loadgen", "dtcp.sockets",
};
constexpr std::array<const char*, kSubsystems> kShortNames = {
    "port", "arp", "ip", "tcp", "runtime", "loadgen", "sockets",
};

template <size_t... I>
constexpr std::array<TokenBucket, sizeof...(I)> fresh_buckets(std::index_sequence<I...>) {
  return {((void)I, TokenBucket(kLogPerSecond, kLogBurst))...};
}

// One bucket per type on each thread (every lcore is a thread), so lcores never share or lock;
// constant-initialised, so a thread's first message pays no initialisation guard.
constinit thread_local std::array<TokenBucket, kSubsystems> t_buckets =
    fresh_buckets(std::make_index_sequence<kSubsystems>());

void report_suppressed(Subsystem subsystem, Level level, uint64_t count) {
  if (count == 0) return;
  rte_log(static_cast<uint32_t>(level), type_id(subsystem), "dtcp: %s: %llu messages suppressed (rate limit)\n",
          short_name(subsystem), static_cast<unsigned long long>(count));
}

}  // namespace

namespace detail {
// Until the constructor runs, type 0 (EAL) would catch a message; nothing logs that early.
uint32_t g_type_ids[kSubsystems] = {};
}  // namespace detail

// Like RTE_LOG_REGISTER, before main(): EAL's own log types are set up by a constructor of
// higher priority (RTE_PRIORITY_LOG), so they exist first. A failed registration (the type
// table full) falls back to the EAL type rather than losing messages.
RTE_INIT(dtcp_register_log_types) {
  for (size_t i = 0; i < kSubsystems; i++) {
    const int id = rte_log_register_type_and_pick_level(kTypeNames[i], RTE_LOG_INFO);
    detail::g_type_ids[i] = id < 0 ? RTE_LOGTYPE_EAL : static_cast<uint32_t>(id);
  }
}

const char* type_name(Subsystem subsystem) { return kTypeNames[static_cast<size_t>(subsystem)]; }
const char* short_name(Subsystem subsystem) { return kShortNames[static_cast<size_t>(subsystem)]; }

bool admit(Subsystem subsystem, Level level, TimePoint now) {
  TokenBucket& bucket = t_buckets[static_cast<size_t>(subsystem)];
  if (!bucket.admit(now)) return false;
  report_suppressed(subsystem, level, bucket.take_refused());
  return true;
}

void flush_suppressed(TimePoint now, bool force) {
  for (size_t i = 0; i < kSubsystems; i++) {
    TokenBucket& bucket = t_buckets[i];
    if (bucket.refused() == 0) continue;
    // The held-back count costs a line too, so it waits for a token unless the lcore stops.
    if (!force && !bucket.try_take(now)) continue;
    // NOTICE: the messages were of whatever level was enabled; the count is always worth seeing.
    report_suppressed(static_cast<Subsystem>(i), Level::notice, bucket.take_refused());
  }
}

}  // namespace log

void write_log(LogType type, LogLevel level, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  rte_vlog(static_cast<uint32_t>(level), log::type_id(type), format, ap);
  va_end(ap);
}

}  // namespace dtcp
