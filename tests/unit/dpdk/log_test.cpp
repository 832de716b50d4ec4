// Logging through rte_log (src/base/log.hpp) under the EAL main.cpp starts: the dtcp.* types
// exist and took EAL's --log-level, a packet-path flood writes its burst and then says how many
// lines it held back, and a level that is off costs no argument evaluation. Output is captured
// with rte_openlog_stream() on a memory stream.
#include "base/log.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace dtcp::log {
namespace {

using namespace std::chrono_literals;

// Captures rte_log's output and sets one type's level for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog(Subsystem subsystem, Level level) : subsystem_(subsystem) {
    saved_level_ = rte_log_get_level(type_id(subsystem));
    rte_log_set_level(type_id(subsystem), static_cast<uint32_t>(level));
    stream_ = open_memstream(&buffer_, &size_);
    rte_openlog_stream(stream_);
  }
  ~CapturedLog() {
    rte_openlog_stream(nullptr);  // back to EAL's default stream
    std::fclose(stream_);
    std::free(buffer_);
    rte_log_set_level(type_id(subsystem_), static_cast<uint32_t>(saved_level_));
  }
  std::string text() {
    std::fflush(stream_);
    return std::string(buffer_, size_);
  }
  int lines() {
    int n = 0;
    for (char c : text()) n += c == '\n';
    return n;
  }

 private:
  Subsystem subsystem_;
  int saved_level_;
  FILE* stream_ = nullptr;
  char* buffer_ = nullptr;
  size_t size_ = 0;
};

TEST(Log, Types_RegisteredUnderTheirNamesAndSetByEalLogLevel) {
  for (Subsystem s : {Subsystem::port, Subsystem::arp, Subsystem::ip, Subsystem::tcp, Subsystem::runtime,
                      Subsystem::loadgen, Subsystem::sockets}) {
    // rte_log_register() of an existing name returns its id.
    EXPECT_EQ(rte_log_register(type_name(s)), static_cast<int>(type_id(s))) << type_name(s);
    EXPECT_NE(type_id(s), static_cast<uint32_t>(RTE_LOGTYPE_EAL)) << type_name(s);
    // main.cpp passes --log-level=*:error; the types registered before rte_eal_init took it.
    EXPECT_EQ(rte_log_get_level(type_id(s)), RTE_LOG_ERR) << type_name(s);
  }
  EXPECT_STREQ(type_name(Subsystem::tcp), "dtcp.tcp");
  EXPECT_STREQ(short_name(Subsystem::tcp), "tcp");
}

TEST(Log, PacketPathFlood_WritesTheBurstThenTheSuppressedCount) {
  CapturedLog log(Subsystem::arp, Level::debug);
  const TimePoint start = TimePoint{} + 100s;
  for (int i = 0; i < 1000; i++) DTCP_LOG_DP(arp, debug, start, "dtcp: arp: bad frame %d\n", i);
  EXPECT_EQ(log.lines(), static_cast<int>(kLogBurst));
  EXPECT_NE(log.text().find("dtcp: arp: bad frame 19\n"), std::string::npos);
  EXPECT_EQ(log.text().find("bad frame 20\n"), std::string::npos);
  // A tenth of a second later (10 a second) one token: the count of what was held back, then the line.
  DTCP_LOG_DP(arp, debug, start + 100ms, "dtcp: arp: bad frame %d\n", 1000);
  const std::string text = log.text();
  const std::string expected = "dtcp: arp: 980 messages suppressed (rate limit)\ndtcp: arp: bad frame 1000\n";
  EXPECT_EQ(text.substr(text.size() - expected.size()), expected) << text;
}

TEST(Log, FloodThatStops_FlushSaysTheCountOnceATokenIsBack) {
  CapturedLog log(Subsystem::ip, Level::debug);
  const TimePoint start = TimePoint{} + 200s;
  for (int i = 0; i < 25; i++) DTCP_LOG_DP(ip, debug, start, "dtcp: ip: frame %d\n", i);
  flush_suppressed(start);  // no token yet: nothing, and nothing counted for the flush itself
  EXPECT_EQ(log.lines(), static_cast<int>(kLogBurst));
  flush_suppressed(start + 100ms);
  EXPECT_EQ(log.lines(), static_cast<int>(kLogBurst) + 1);
  EXPECT_NE(log.text().find("dtcp: ip: 5 messages suppressed (rate limit)\n"), std::string::npos) << log.text();
  flush_suppressed(start + 10s);  // said once
  EXPECT_EQ(log.lines(), static_cast<int>(kLogBurst) + 1);
}

TEST(Log, LevelOff_WritesNothingAndEvaluatesNoArgument) {
  CapturedLog log(Subsystem::tcp, Level::info);
  int evaluated = 0;
  auto argument = [&] { return ++evaluated; };
  DTCP_LOG_DP(tcp, debug, TimePoint{} + 300s, "dtcp: tcp: %d\n", argument());
  EXPECT_EQ(evaluated, 0);
  EXPECT_EQ(log.text(), "");
  DTCP_LOG(tcp, info, "dtcp: tcp: shown %d\n", argument());
  DTCP_LOG(tcp, debug, "dtcp: tcp: hidden\n");
  EXPECT_EQ(log.text(), "dtcp: tcp: shown 1\n");
}

}  // namespace
}  // namespace dtcp::log
