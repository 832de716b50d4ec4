#include "loadgen/http_cost.hpp"

#include <array>
#include <span>
#include <string>
#include <string_view>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DTCP_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define DTCP_TOGGLE_COLLECT() ((void)0)
#endif

#include "loadgen/http_parser.hpp"
#include "loadgen/server.hpp"

namespace dtcp::loadgen {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// What dperf's HTTP client sends, and what a small server answers (dperf's own server sends
// about this much).
constexpr std::string_view kRequest =
    "GET / HTTP/1.1\r\nUser-Agent: dperf\r\nHost: 198.18.6.1\r\nAccept: */*\r\nConnection: close\r\n\r\n";
// What ServerSession answers kRequest with (ServeSpec's default Server name, an 11-byte body).
constexpr std::string_view kServed =
    "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 11\r\nConnection: close\r\n\r\nxxxxxxxxxxx";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: dperf\r\nContent-Length: 11\r\nConnection: keep-alive\r\n"
    "Content-Type: text/plain\r\n\r\nhello world";

}  // namespace

HttpCostResult run_http_cost(bool server, uint64_t count) {
  HttpCostResult r;
  if (server) {
    const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 11});
    ServerSession session(content);
    std::string served;
    served.reserve(kServed.size());
    for (uint64_t i = 0; i < count; i++) {
      // The spans drained are kept (they point into the content's responses) and compared
      // after the metered part, so the check costs nothing counted.
      std::array<std::span<const std::byte>, 4> spans;
      size_t span_count = 0;
      DTCP_TOGGLE_COLLECT();
      session.reset(content);
      session.on_data(bytes_of(kRequest));
      for (auto p = session.pending(); !p.empty() && span_count < spans.size(); p = session.pending()) {
        spans[span_count++] = p;
        session.sent(p.size());
      }
      const bool done = session.done();
      DTCP_TOGGLE_COLLECT();
      served.clear();
      for (size_t s = 0; s < span_count; s++) served.append(reinterpret_cast<const char*>(spans[s].data()), spans[s].size());
      if (!done || session.requests() != 1 || served != kServed) {
        r.failure = "the request was not answered with the 200 and close expected";
        return r;
      }
      r.ops++;
    }
  } else {
    HttpResponseParser parser;
    for (uint64_t i = 0; i < count; i++) {
      DTCP_TOGGLE_COLLECT();
      parser.reset();
      const auto result = parser.feed(bytes_of(kResponse));
      DTCP_TOGGLE_COLLECT();
      if (result.status != HttpResponseParser::Status::complete || result.consumed != kResponse.size() ||
          parser.body_bytes() != 11 || !parser.keep_alive()) {
        r.failure = "the response was not parsed whole";
        return r;
      }
      r.ops++;
    }
  }
  r.ok = true;
  return r;
}

}  // namespace dtcp::loadgen
