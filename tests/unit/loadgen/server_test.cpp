#include "loadgen/server.hpp"

#include <gtest/gtest.h>

#include <string>
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

TEST(ServerSession, Http_Errors_CloseTheConnection) {
  const ServerContent content(ServeSpec{.mode = ServeMode::http});
  struct Case {
    const char* request;
    const char* status;
  };
  for (const Case& c : {Case{"POST / HTTP/1.1\r\n\r\n", "405"}, Case{"GET / HTTP/9.9\r\n\r\n", "400"},
                        Case{"garbage\r\n\r\n", "400"}, Case{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "400"},
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
