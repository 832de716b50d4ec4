// The load generator's HTTP/1.1 response parser (tools/loadgen/http_parser.*), fed a connection's
// bytes. The first input byte picks how the rest is cut into pieces and whether the request was
// HEAD. Pipelined responses are parsed one after another (reset after each complete one), then
// finish() as the peer closing. Invariants: `consumed` stays within what was fed; once complete
// or in error the parser takes nothing more; the body sink receives exactly body_bytes(); and the
// outcome (statuses, codes, body sizes, where each response ended) does not depend on how the
// bytes were cut, which is what an incremental parser promises.
#include <string>
#include <vector>

#include "fuzz_env.hpp"
#include "loadgen/http_parser.hpp"

using namespace dtcp;
using loadgen::HttpResponseParser;

namespace {

struct Outcome {
  std::vector<std::string> responses;  // "status code body_bytes end_offset keep_alive error"
  bool operator==(const Outcome&) const = default;
};

Outcome parse_all(std::span<const std::byte> bytes, size_t piece, bool head) {
  HttpResponseParser parser;
  uint64_t sunk = 0;
  parser.set_body_sink([](void* ctx, std::span<const std::byte> b) { *static_cast<uint64_t*>(ctx) += b.size(); }, &sunk);
  parser.reset(head);
  Outcome out;
  size_t offset = 0;     // bytes of the connection handed to the parser so far
  size_t piece_end = 0;  // the current piece is bytes[offset, piece_end)
  auto record = [&](HttpResponseParser::Status status) {
    DTCP_FUZZ_CHECK(sunk == parser.body_bytes());
    out.responses.push_back(std::to_string(static_cast<int>(status)) + " " + std::to_string(parser.status_code()) +
                            " " + std::to_string(parser.body_bytes()) + " " + std::to_string(offset) + " " +
                            std::to_string(parser.keep_alive()) + " " + std::to_string(static_cast<int>(parser.error())));
  };
  while (offset < bytes.size()) {
    if (offset >= piece_end) piece_end = std::min(bytes.size(), offset + piece);
    const auto chunk = bytes.subspan(offset, piece_end - offset);
    const auto r = parser.feed(chunk);
    DTCP_FUZZ_CHECK(r.consumed <= chunk.size());
    DTCP_FUZZ_CHECK(r.status == parser.status());
    offset += r.consumed;
    if (r.status == HttpResponseParser::Status::need_more) {
      DTCP_FUZZ_CHECK(r.consumed == chunk.size());
      continue;
    }
    record(r.status);
    // Nothing more is taken until reset().
    const auto again = parser.feed(bytes.subspan(offset));
    DTCP_FUZZ_CHECK(again.consumed == 0 && again.status == r.status);
    if (r.status == HttpResponseParser::Status::error) return out;
    if (out.responses.size() > 64) return out;  // enough pipelining for one input
    parser.reset(head);
    sunk = 0;
  }
  const auto status = parser.finish();
  DTCP_FUZZ_CHECK(status != HttpResponseParser::Status::need_more);
  if (parser.started() || status == HttpResponseParser::Status::complete) record(status);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool head = (data[0] & 0x80) != 0;
  const size_t piece = 1 + (data[0] & 0x3f);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  const Outcome whole = parse_all(bytes, bytes.size() + 1, head);
  const Outcome pieces = parse_all(bytes, piece, head);
  DTCP_FUZZ_CHECK(whole == pieces);
  return 0;
}
