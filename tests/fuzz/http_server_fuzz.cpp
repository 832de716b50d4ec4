// The HTTP server's request side (tools/loadgen/server.*, the one server of dtcp-http and
// dtcp-loadgen), fed a connection's bytes. The first input byte picks the piece size and the
// content (a small inlined body or a large shared one; every target or only /f), the second
// how many bytes each send takes. Invariants: every pending() span is non-empty when anything
// is owed and no larger than a head plus the body; sending always ends (no response is owed
// forever once the input stops); a body view lies inside the shared body; done() stays once
// reached; and what is sent does not depend on how the input was cut, which is what an
// incremental parser promises. A third pass drains between pieces and checks the same bounds, and
// a session reset after use (a new connection on a pooled session) answers as a fresh one.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_env.hpp"
#include "loadgen/server.hpp"

using namespace dtcp;
using loadgen::ServeMode;
using loadgen::ServerContent;
using loadgen::ServerSession;
using loadgen::ServeSpec;

namespace {

constexpr size_t kMaxHead = 512;  // a status line and our headers, with a 206's Content-Range

// Sends what is owed, `limit` bytes a send, appending it to `out`.
void drain(ServerSession& s, const ServerContent& content, size_t limit, std::string& out) {
  const auto body = content.body();
  for (size_t rounds = 0;; rounds++) {
    const auto p = s.pending();
    if (p.empty()) return;
    DTCP_FUZZ_CHECK(p.size() <= body.size() + kMaxHead);
    DTCP_FUZZ_CHECK(rounds < 64 * 1024 * 1024);  // a bound far above any input's output
    if (p.data() >= body.data() && p.data() < body.data() + body.size()) {
      DTCP_FUZZ_CHECK(p.data() + p.size() <= body.data() + body.size());
    }
    const size_t n = std::min(limit, p.size());
    out.append(reinterpret_cast<const char*>(p.data()), n);
    s.sent(n);
  }
}

std::string serve_on(ServerSession& s, const ServerContent& content, std::span<const std::byte> bytes, size_t piece,
                     size_t limit, bool drain_between) {
  std::string out;
  bool was_done = false;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    s.on_data(bytes.subspan(at, std::min(piece, bytes.size() - at)));
    if (drain_between) drain(s, content, limit, out);
    if (was_done) DTCP_FUZZ_CHECK(s.done());
    was_done = s.done();
  }
  drain(s, content, limit, out);
  DTCP_FUZZ_CHECK(s.pending().empty());
  return out;
}

std::string serve(const ServerContent& content, std::span<const std::byte> bytes, size_t piece, size_t limit,
                  bool drain_between) {
  ServerSession s(content);
  return serve_on(s, content, bytes, piece, limit, drain_between);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const auto large = [] {
    auto b = std::make_shared<std::vector<std::byte>>(ServerContent::kInlineBody + 1000);
    for (size_t i = 0; i < b->size(); i++) (*b)[i] = std::byte{static_cast<uint8_t>(i % 253)};
    return b;
  }();
  static const ServerContent contents[4] = {
      ServerContent(ServeSpec{.mode = ServeMode::http, .body_size = 10}),
      ServerContent(ServeSpec{.mode = ServeMode::http, .body_size = 10, .path = "/f"}),
      ServerContent(ServeSpec{.mode = ServeMode::http, .body = large, .server = "dtcp", .content_type = "a/b"}),
      ServerContent(ServeSpec{.mode = ServeMode::http, .body = large, .path = "/f"}),
  };
  const ServerContent& content = contents[data[0] >> 6];
  const size_t piece = 1 + (data[0] & 0x3f);
  const size_t limit = 1 + data[1] * 8;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 2, size - 2);
  const std::string whole = serve(content, bytes, bytes.size() + 1, content.body().size() + kMaxHead, false);
  const std::string pieces = serve(content, bytes, piece, limit, false);
  DTCP_FUZZ_CHECK(whole == pieces);
  serve(content, bytes, piece, limit, true);
  // A session reused for a new connection (reset() after whatever this input left in it: a line
  // half read, responses queued, a close) serves the input as a fresh one does.
  ServerSession reused(content);
  serve_on(reused, content, bytes, piece, limit, false);
  reused.on_data(bytes.subspan(0, bytes.size() / 2));
  reused.reset(content);
  DTCP_FUZZ_CHECK(serve_on(reused, content, bytes, bytes.size() + 1, content.body().size() + kMaxHead, false) == whole);
  return 0;
}
