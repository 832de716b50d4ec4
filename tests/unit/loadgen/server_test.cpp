#include "loadgen/server.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "loadgen/http_parser.hpp"

namespace dtcp::loadgen {
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Sends everything pending, `limit` bytes at a time, and returns it as text.
std::string drain(ServerSession& s, size_t limit = SIZE_MAX) {
  std::string out;
  for (auto p = s.pending(); !p.empty(); p = s.pending()) {
    const size_t n = std::min(limit, p.size());
    out.append(reinterpret_cast<const char*>(p.data()), n);
    s.sent(n);
  }
  return out;
}

TEST(ServerSession, Echo_AnswersEachFullRequestWithResponseSizeBytes) {
  const ServerContent content(ServeSpec{.mode = ServeMode::echo, .request_size = 4, .response_size = 10});
  ServerSession s(content);
  s.on_data(bytes("abcdabcdab"));  // two requests and half of a third
  EXPECT_EQ(drain(s, 3), "ABCDEFGHIJABCDEFGHIJ");
  s.on_data(bytes("cd"));
  EXPECT_EQ(drain(s).size(), 10u);
  EXPECT_TRUE(s.pending().empty());
  EXPECT_FALSE(s.done());
}

TEST(ServerSession, Http_PipelinedGetHeadClose_AnsweredInOrder) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 5});
  ServerSession s(content);
  s.on_data(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
                  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(s.done());
  const std::string out = drain(s, 7);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.requests(), 3u);
  // Parse the three responses back with the client's parser.
  std::string_view rest = out;
  const bool heads[] = {false, true, false};
  const bool keeps[] = {true, true, false};
  for (int i = 0; i < 3; i++) {
    HttpResponseParser p;
    p.reset(heads[i]);
    const auto r = p.feed(bytes(rest));
    ASSERT_EQ(r.status, HttpResponseParser::Status::complete) << i;
    EXPECT_EQ(p.status_code(), 200u);
    EXPECT_EQ(p.keep_alive(), keeps[i]) << i;
    EXPECT_EQ(p.body_bytes(), heads[i] ? 0u : 5u);
    rest.remove_prefix(r.consumed);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(ServerSession, Http10_KeepAliveOnlyWhenAsked) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 1});
  ServerSession a(content);
  a.on_data(bytes("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_NE(drain(a).find("Connection: close"), std::string::npos);
  EXPECT_TRUE(a.done());
  ServerSession b(content);
  b.on_data(bytes("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_NE(drain(b).find("Connection: keep-alive"), std::string::npos);
  EXPECT_FALSE(b.done());
}

TEST(ServerSession, Http_ByteAtATime) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 3});
  ServerSession s(content);
  const std::string_view request = "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (char c : request) s.on_data(bytes(std::string_view(&c, 1)));
  EXPECT_EQ(drain(s), "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 3\r\n\r\nxxx");
}

// Lines are read where they lie in each piece; a line cut by a piece's end is finished by the
// next one, whatever the cut: inside the method, the version, a field name or value, the CRLF.
TEST(ServerSession, Http_LinesCutAcrossPieces_ReadAsWhole) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 3});
  const std::string_view request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string whole = [&] {
    ServerSession s(content);
    s.on_data(bytes(request));
    return drain(s);
  }();
  EXPECT_EQ(whole, "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxxx");
  for (size_t cut = 1; cut < request.size(); cut++) {
    for (size_t second = cut + 1; second <= request.size(); second++) {
      ServerSession s(content);
      s.on_data(bytes(request.substr(0, cut)));
      s.on_data(bytes(request.substr(cut, second - cut)));
      s.on_data(bytes(request.substr(second)));
      EXPECT_EQ(drain(s), whole) << "cut at " << cut << " and " << second;
      EXPECT_TRUE(s.done());
    }
  }
}

// A request line longer than the line buffer is refused whether it comes whole or in pieces,
// and a long header field (kept only in part) does not stop the request that follows.
TEST(ServerSession, Http_LongLines_SameWholeOrCut) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 1});
  const std::string long_target = "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n";
  const std::string long_field = "GET / HTTP/1.1\r\nX-Long: " + std::string(600, 'b') + "\r\nConnection: close\r\n\r\n";
  for (const auto& [request, status] : {std::pair{long_target, "400"}, std::pair{long_field, "200"}}) {
    ServerSession whole(content);
    whole.on_data(bytes(request));
    const std::string expected = drain(whole);
    EXPECT_EQ(expected.substr(9, 3), status);
    for (size_t piece : {1u, 7u, 255u, 256u, 257u, 300u}) {
      ServerSession s(content);
      for (size_t at = 0; at < request.size(); at += piece) s.on_data(bytes(std::string_view(request).substr(at, piece)));
      EXPECT_EQ(drain(s), expected) << "pieces of " << piece;
    }
  }
}

// kMaxHeader counts a request head's bytes up to and including each LF: a head of exactly 8192
// bytes is served, one of 8193 (its last LF the byte past the limit) gets a 431, whole or cut.
TEST(ServerSession, Http_HeadLimit_ExactlyAtTheByte) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 1});
  for (const auto& [filler, status] : {std::pair{size_t{8169}, "200"}, std::pair{size_t{8170}, "431"}}) {
    const std::string request = "GET / HTTP/1.1\r\nX: " + std::string(filler, 'f') + "\r\n\r\n";
    ASSERT_EQ(request.size(), filler + 23);
    for (size_t piece : {request.size(), size_t{1}, size_t{100}, size_t{4096}}) {
      ServerSession s(content);
      for (size_t at = 0; at < request.size(); at += piece) s.on_data(bytes(std::string_view(request).substr(at, piece)));
      EXPECT_EQ(drain(s).substr(9, 3), status) << request.size() << " bytes in pieces of " << piece;
    }
  }
}

// A request line is refused when longer than the 256 bytes kept of it: 255 bytes and a CR are
// 256 (the CR dropped, served), 256 and a CR are 257 (refused), also when the CR and the LF come
// in two pieces.
TEST(ServerSession, Http_RequestLineAtTheBufferSize) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 1});
  for (const auto& [length, status] : {std::pair{size_t{255}, "200"}, std::pair{size_t{256}, "400"}}) {
    const std::string line = "GET /" + std::string(length - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(line.size(), length);
    const std::string request = line + "\r\n\r\n";
    for (size_t cut : {request.size(), length + 1, length, size_t{1}}) {
      ServerSession s(content);
      s.on_data(bytes(std::string_view(request).substr(0, cut)));
      s.on_data(bytes(std::string_view(request).substr(cut)));
      EXPECT_EQ(drain(s).substr(9, 3), status) << length << " cut at " << cut;
    }
  }
}

// reset() starts a connection afresh: a line half read, queued responses and a close are gone.
TEST(ServerSession, Reset_ForgetsTheLastConnection) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 2});
  const ServerContent other(ServeSpec{.mode = ServeMode::http, .body_size = 4});
  ServerSession s(content);
  s.on_data(bytes("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HT"));
  ASSERT_TRUE(s.done() || !s.pending().empty());
  s.reset(other);
  EXPECT_TRUE(s.pending().empty());
  EXPECT_FALSE(s.done());
  EXPECT_EQ(s.requests(), 0u);
  s.on_data(bytes("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(drain(s), "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 4\r\n\r\nxxxx");
  EXPECT_FALSE(s.done());
}

TEST(ServerSession, Http_Errors_CloseTheConnection) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http});
  struct Case {
    const char* request;
    const char* status;
  };
  for (const Case& c : {Case{"POST / HTTP/1.1\r\n\r\n", "405"}, Case{"GET / HTTP/9.9\r\n\r\n", "400"},
                        Case{"garbage\r\n\r\n", "400"}, Case{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "400"},
                        Case{"GET / HTTP/1.1\r\nName\t: x\r\n\r\n", "400"}, Case{"GET / HTTP/1.1\r\nNa\x01me: x\r\n\r\n", "400"},
                        Case{"GET / HTTP/1.1\r\nName : x\r\n\r\n", "400"},
                        Case{"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "400"}}) {
    ServerSession s(content);
    s.on_data(bytes(c.request));
    const std::string out = drain(s);
    EXPECT_EQ(out.substr(9, 3), c.status) << c.request;
    EXPECT_TRUE(s.done()) << c.request;
  }
  ServerSession big(content);
  big.on_data(bytes("GET / HTTP/1.1\r\n"));
  const std::string filler(ServerSession::kMaxHeader, 'a');
  big.on_data(bytes("X: " + filler + "\r\n\r\n"));
  EXPECT_EQ(drain(big).substr(9, 3), "431");
  EXPECT_TRUE(big.done());
}

TEST(ServerSession, Http_LargeBody_SentFromTheSharedCopyWithoutCopying) {
  // dtcp-http --file: a body above kInlineBody is one shared copy; every session sends from
  // its offset into it, head first, then views of the body itself.
  auto body = std::make_shared<std::vector<std::byte>>(ServerContent::kInlineBody * 3 + 7);
  for (size_t i = 0; i < body->size(); i++) (*body)[i] = std::byte{static_cast<uint8_t>(i * 7 + i / 251)};
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body = body, .path = "/f.bin", .server = "dtcp",
                                        .content_type = "application/octet-stream"});
  ServerSession s(content);
  s.on_data(bytes("GET /f.bin HTTP/1.1\r\n\r\nHEAD /f.bin HTTP/1.1\r\n\r\nGET /f.bin HTTP/1.1\r\n\r\n"));
  const std::string head = "HTTP/1.1 200 OK\r\nServer: dtcp\r\nContent-Type: application/octet-stream\r\n"
                           "Content-Length: " + std::to_string(body->size()) + "\r\n\r\n";
  EXPECT_EQ(s.pending().size(), head.size());  // the head alone: the body is not copied after it
  s.sent(head.size());
  const auto first = s.pending();
  EXPECT_EQ(first.data(), body->data());  // the shared bytes themselves
  EXPECT_EQ(first.size(), body->size());
  s.sent(1000);
  EXPECT_EQ(s.pending().data(), body->data() + 1000);
  s.sent(body->size() - 1000);
  const std::string body_text(reinterpret_cast<const char*>(body->data()), body->size());
  EXPECT_EQ(drain(s, 4096), head + head + body_text);  // HEAD's head, then the second GET whole
  EXPECT_FALSE(s.done());
  EXPECT_EQ(s.requests(), 3u);
}

TEST(ServerSession, Http_Path_OtherTargets404AndClose) {
  auto body = std::make_shared<std::vector<std::byte>>(3, std::byte{'z'});
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body = body, .path = "/a"});
  ServerSession ok(content);
  ok.on_data(bytes("GET /a HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(drain(ok), "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 3\r\n\r\nzzz");
  for (const char* request : {"GET /b HTTP/1.1\r\n\r\n", "HEAD /a/ HTTP/1.1\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"}) {
    ServerSession s(content);
    s.on_data(bytes(request));
    EXPECT_EQ(drain(s).substr(0, 12), "HTTP/1.1 404") << request;
    EXPECT_TRUE(s.done()) << request;
  }
  // Without a path every target is served.
  const ServerContent any(ServeSpec{.mode = ServeMode::http, .body_size = 2});
  ServerSession s(any);
  s.on_data(bytes("GET /anything/at/all?q=1 HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(drain(s).substr(0, 12), "HTTP/1.1 200");
}

TEST(ServerSession, Http_Range_OneRangeGets206_PastTheEnd416_OthersTheWholeBody) {
  auto body = std::make_shared<std::vector<std::byte>>(ServerContent::kInlineBody * 2);
  for (size_t i = 0; i < body->size(); i++) (*body)[i] = std::byte{static_cast<uint8_t>(i % 251)};
  const std::string text(reinterpret_cast<const char*>(body->data()), body->size());
  const std::string size = std::to_string(body->size());
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body = body, .server = "dtcp"});
  auto answer = [&](const std::string& headers) {
    ServerSession s(content);
    s.on_data(bytes("GET / HTTP/1.1\r\n" + headers + "\r\n"));
    return drain(s, 1000);
  };
  auto partial = [&](uint64_t first, uint64_t last) {
    return "HTTP/1.1 206 Partial Content\r\nServer: dtcp\r\nContent-Range: bytes " + std::to_string(first) + "-" +
           std::to_string(last) + "/" + size + "\r\nContent-Length: " + std::to_string(last - first + 1) + "\r\n\r\n" +
           text.substr(first, last - first + 1);
  };
  EXPECT_EQ(answer("Range: bytes=1000-1999\r\n"), partial(1000, 1999));
  EXPECT_EQ(answer("range: Bytes= 5 - 5 \r\n"), partial(5, 5));
  EXPECT_EQ(answer("Range: bytes=100000-\r\n"), partial(100000, body->size() - 1));
  EXPECT_EQ(answer("Range: bytes=0-999999999\r\n"), partial(0, body->size() - 1));  // last clipped
  EXPECT_EQ(answer("Range: bytes=-10\r\n"), partial(body->size() - 10, body->size() - 1));
  EXPECT_EQ(answer("Range: bytes=-999999999\r\n"), partial(0, body->size() - 1));
  for (const char* past : {"Range: bytes=" "131072-\r\n", "Range: bytes=999999-1000000\r\n", "Range: bytes=-0\r\n"}) {
    const std::string out = answer(past);
    EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 416") << past;
    EXPECT_NE(out.find("Content-Range: bytes */" + size + "\r\n"), std::string::npos) << past;
  }
  // Ignored: several ranges, another unit, nonsense, last before first, If-Range (nothing here
  // could match its validator), and HEAD.
  const std::string whole = "HTTP/1.1 200 OK\r\nServer: dtcp\r\nContent-Length: " + size + "\r\n\r\n" + text;
  for (const char* ignored : {"Range: bytes=0-1,5-6\r\n", "Range: items=0-1\r\n", "Range: bytes=a-b\r\n",
                              "Range: bytes=9-3\r\n", "Range: bytes=\r\n", "Range: bytes=0-1\r\nIf-Range: \"x\"\r\n"}) {
    EXPECT_EQ(answer(ignored), whole) << ignored;
  }
  ServerSession head(content);
  head.on_data(bytes("HEAD / HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n"));
  EXPECT_EQ(drain(head).substr(0, 15), "HTTP/1.1 200 OK");
}

TEST(ServerSession, Http_Range_PipelinedWithOthers_InOrderAndKeepAlive) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http, .body_size = 10});
  ServerSession s(content);
  s.on_data(bytes("GET / HTTP/1.1\r\nRange: bytes=0-1\r\n\r\nGET / HTTP/1.1\r\n\r\n"
                  "GET / HTTP/1.1\r\nRange: bytes=-3\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=9-\r\n\r\n"
                  "GET / HTTP/1.1\r\nConnection: close\r\nRange: bytes=4-4\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
  const std::string out = drain(s, 3);
  const std::string h = "HTTP/1.1 206 Partial Content\r\nServer: dtcp-loadgen\r\n";
  EXPECT_EQ(out, h + "Content-Range: bytes 0-1/10\r\nContent-Length: 2\r\n\r\nxx" +
                     "HTTP/1.1 200 OK\r\nServer: dtcp-loadgen\r\nContent-Length: 10\r\n\r\nxxxxxxxxxx" + h +
                     "Content-Range: bytes 7-9/10\r\nContent-Length: 3\r\n\r\nxxx" + h +
                     "Content-Range: bytes 9-9/10\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx" + h +
                     "Content-Range: bytes 4-4/10\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
  EXPECT_TRUE(s.done());  // the request after the close is not answered
  EXPECT_EQ(s.requests(), 5u);
  // More 206s pipelined than the session queues: those queued are sent, then a close.
  ServerSession many(content);
  std::string requests;
  for (size_t i = 0; i < ServerSession::kMaxRanges + 2; i++) requests += "GET / HTTP/1.1\r\nRange: bytes=0-0\r\n\r\n";
  many.on_data(bytes(requests));
  const std::string got = drain(many);
  size_t count = 0;
  for (size_t at = got.find("206"); at != std::string::npos; at = got.find("206", at + 1)) count++;
  EXPECT_EQ(count, ServerSession::kMaxRanges);
  EXPECT_TRUE(many.done());
}

TEST(ServerSession, SinkAndSource) {
  const ServerContent sink_content(ServeSpec{.mode = ServeMode::sink});
  ServerSession sink(sink_content);
  sink.on_data(bytes("anything"));
  EXPECT_TRUE(sink.pending().empty());
  const ServerContent source_content(ServeSpec{.mode = ServeMode::source});
  ServerSession source(source_content);
  EXPECT_EQ(source.pending().size(), 64u * 1024);
  source.sent(100);
  EXPECT_EQ(source.pending().size(), 64u * 1024);  // without end
}

}  // namespace
}  // namespace dtcp::loadgen
