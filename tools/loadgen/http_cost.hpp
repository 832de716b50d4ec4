// The load generator's own HTTP work as a cost workload (issue 15 part 3: the tools' servers and
// clients cost what the stack costs), for `dtcp-sim --cost http` and `tools/bench --cost`:
// without a stack, the server side serves one request on a fresh session (ServerSession::reset(),
// a dperf-like GET of 87 bytes, the 200 response drained) and the client side parses one
// response (HttpResponseParser::reset(), a 115-byte response with an 11-byte body), `count`
// times. Under `valgrind --tool=callgrind --collect-atstart=no` only those calls are counted.
#pragma once

#include <cstdint>
#include <string>

namespace dtcp::loadgen {

struct HttpCostResult {
  bool ok = false;
  std::string failure;
  uint64_t ops = 0;
};

// `server`: meter the request side (true) or the response parser (false).
HttpCostResult run_http_cost(bool server, uint64_t count);

}  // namespace dtcp::loadgen
