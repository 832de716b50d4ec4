// The JSON report's per-second series: each second's counts and how long it lasted; latencies in
// ns below 10 µs, µs below 10 ms, ms above, and both µs and exact ns in JSON.
#include "loadgen/report.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dtcp::loadgen {
namespace {

TEST(Report, Json_PerSecondSeriesWithTheLastSecondPartial) {
  Stats s;
  s.requests = 12;
  s.connections = 2;
  s.elapsed = 2'250'000'000;  // 2.25 s: two whole seconds and a quarter
  s.per_second = {{.connections = 2, .requests = 5, .errors = 0},
                  {.connections = 0, .requests = 6, .errors = 1},
                  {.connections = 0, .requests = 1, .errors = 0}};
  RunInfo info{.backend = "dtcp", .target = "198.18.1.2:7"};
  const std::string json = format_json(info, s);
  EXPECT_NE(json.find("\"per_second\": ["
                      "{\"t\": 1, \"seconds\": 1.000000, \"connections\": 2, \"requests\": 5, \"errors\": 0}, "
                      "{\"t\": 2, \"seconds\": 1.000000, \"connections\": 0, \"requests\": 6, \"errors\": 1}, "
                      "{\"t\": 3, \"seconds\": 0.250000, \"connections\": 0, \"requests\": 1, \"errors\": 0}]"),
            std::string::npos)
      << json;
}

TEST(Report, Json_NoSecondsGiveAnEmptySeries) {
  const std::string json = format_json(RunInfo{.backend = "kernel"}, Stats{});
  EXPECT_NE(json.find("\"per_second\": []"), std::string::npos) << json;
}

TEST(Report, FormatLatency_NsBelow10us_UsBelow10ms_MsAbove) {
  EXPECT_EQ(format_latency(0), "0 ns");
  EXPECT_EQ(format_latency(640), "640 ns");
  EXPECT_EQ(format_latency(9'999), "9999 ns");
  EXPECT_EQ(format_latency(10'000), "10.0 µs");
  EXPECT_EQ(format_latency(123'456), "123.5 µs");
  EXPECT_EQ(format_latency(9'999'900), "9999.9 µs");
  EXPECT_EQ(format_latency(10'000'000), "10.0 ms");
  EXPECT_EQ(format_latency(2'500'000'000), "2500.0 ms");
}

// What `--rate 100000` over net_ring printed before: min 0.0, p50 0.0, p90 1.0 (µs).
Stats sub_microsecond_run() {
  Stats s;
  s.requests = 1000;
  s.elapsed = 1'000'000'000;
  for (int i = 0; i < 500; i++) s.latency.record(410);
  for (int i = 0; i < 400; i++) s.latency.record(640);
  for (int i = 0; i < 99; i++) s.latency.record(2'000);
  s.latency.record(15'000);
  return s;
}

TEST(Report, Text_SubMicrosecondLatenciesInNs) {
  const std::string text = format_text(RunInfo{.backend = "dtcp", .target = "198.18.1.2:7", .rate = 100000},
                                       sub_microsecond_run());
  EXPECT_NE(text.find("latency count 1000  min 410 ns  mean 674 ns  p50 411 ns  p90 643 ns  p99 2007 ns"
                      "  p99.9 2007 ns  max 15.0 µs\n"),
            std::string::npos)
      << text;
}

TEST(Report, Json_LatencyInUsAndNs) {
  const std::string json = format_json(RunInfo{.backend = "dtcp"}, sub_microsecond_run());
  EXPECT_NE(json.find("\"latency_us\": {\"count\": 1000, \"min\": 0.410, \"mean\": 0.674, \"p50\": 0.411, "
                      "\"p90\": 0.643, \"p99\": 2.007, \"p99_9\": 2.007, \"max\": 15.000}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"latency_ns\": {\"count\": 1000, \"min\": 410, \"mean\": 674, \"p50\": 411, "
                      "\"p90\": 643, \"p99\": 2007, \"p99_9\": 2007, \"max\": 15000}"),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace dtcp::loadgen
