// The JSON report's per-second series: each second's counts and how long it lasted.
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

}  // namespace
}  // namespace dtcp::loadgen
