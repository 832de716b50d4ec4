#include "loadgen/http_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace dtcp::loadgen {
namespace {

using Status = HttpResponseParser::Status;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct Parsed {
  Status status;
  size_t consumed;
  std::string body;
};

// Feeds `text` in pieces of `piece` bytes (every split point is exercised by the callers).
Parsed parse(HttpResponseParser& p, std::string_view text, size_t piece = SIZE_MAX) {
  std::string body;
  p.set_body_sink([](void* ctx, std::span<const std::byte> b) {
    static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(b.data()), b.size());
  }, &body);
  size_t consumed = 0;
  Status status = Status::need_more;
  while (consumed < text.size() && status == Status::need_more) {
    const std::string_view chunk = text.substr(consumed, std::min(piece, text.size() - consumed));
    const auto r = p.feed(bytes(chunk));
    consumed += r.consumed;
    status = r.status;
    if (r.consumed < chunk.size()) break;
  }
  p.set_body_sink(nullptr, nullptr);  // `body` dies here
  return {status, consumed, body};
}

Parsed parse(std::string_view text, size_t piece = SIZE_MAX) {
  HttpResponseParser p;
  return parse(p, text, piece);
}

constexpr std::string_view kContentLength =
    "HTTP/1.1 200 OK\r\nServer: test\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
// As nginx sends a chunked body (chunk sizes in lowercase hex), with an extension and a trailer.
constexpr std::string_view kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";

TEST(HttpParser, ContentLength_CompleteInEverySplit) {
  for (size_t piece = 1; piece <= kContentLength.size(); piece++) {
    HttpResponseParser p;
    const auto r = parse(p, kContentLength, piece);
    ASSERT_EQ(r.status, Status::complete) << "piece " << piece;
    EXPECT_EQ(r.consumed, kContentLength.size());
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(p.status_code(), 200u);
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(p.body_bytes(), 5u);
  }
}

TEST(HttpParser, Chunked_CompleteInEverySplit) {
  for (size_t piece = 1; piece <= kChunked.size(); piece++) {
    HttpResponseParser p;
    const auto r = parse(p, kChunked, piece);
    ASSERT_EQ(r.status, Status::complete) << "piece " << piece;
    EXPECT_EQ(r.consumed, kChunked.size());
    EXPECT_EQ(r.body, "helloabcdefghijklmnopqrstuvwxyz");
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(HttpParser, Chunked_UppercaseHexAndBareLf) {
  const auto r = parse("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, Chunked\n\nA\n0123456789\n0\n\n");
  EXPECT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.body, "0123456789");
}

TEST(HttpParser, TwoResponses_StopsAtTheEndOfTheFirst) {
  const std::string two = std::string(kContentLength) + std::string(kContentLength);
  HttpResponseParser p;
  const auto r = p.feed(bytes(two));
  EXPECT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.consumed, kContentLength.size());
  EXPECT_EQ(p.feed(bytes(two).subspan(r.consumed)).consumed, 0u);  // nothing until reset
  p.reset();
  EXPECT_EQ(p.feed(bytes(two).subspan(r.consumed)).status, Status::complete);
}

TEST(HttpParser, ConnectionClose_NotKeepAlive) {
  HttpResponseParser p;
  EXPECT_EQ(parse(p, "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n").status,
            Status::complete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpParser, Http10_KeepAliveOnlyWhenSaid) {
  HttpResponseParser a;
  parse(a, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(a.keep_alive());
  HttpResponseParser b;
  parse(b, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(b.keep_alive());
}

TEST(HttpParser, NoLength_BodyRunsUntilClose) {
  HttpResponseParser p;
  const auto r = parse(p, "HTTP/1.1 200 OK\r\n\r\nsome body");
  EXPECT_EQ(r.status, Status::need_more);
  EXPECT_EQ(r.body, "some body");
  EXPECT_EQ(p.finish(), Status::complete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpParser, TransferEncodingWithoutChunked_UntilClose_AndOverridesContentLength) {
  HttpResponseParser p;
  const auto r = parse(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: gzip\r\n\r\nabcdef");
  EXPECT_EQ(r.status, Status::need_more);
  EXPECT_EQ(r.body, "abcdef");
  EXPECT_EQ(p.finish(), Status::complete);
}

TEST(HttpParser, NoBody_For204_304_AndHead) {
  EXPECT_EQ(parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n").status, Status::complete);
  EXPECT_EQ(parse("HTTP/1.1 304 Not Modified\r\n\r\n").status, Status::complete);
  HttpResponseParser p;
  p.reset(true);
  EXPECT_EQ(parse(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n").status, Status::complete);
}

TEST(HttpParser, Interim100_Skipped) {
  HttpResponseParser p;
  const auto r = parse(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 3);
  EXPECT_EQ(r.status, Status::complete);
  EXPECT_EQ(p.status_code(), 201u);
  EXPECT_EQ(r.body, "ok");
}

TEST(HttpParser, StatusWithoutReason_Accepted) {
  HttpResponseParser p;
  EXPECT_EQ(parse(p, "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n").status, Status::complete);
  EXPECT_EQ(p.status_code(), 404u);
  EXPECT_EQ(parse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n").status, Status::complete);
}

TEST(HttpParser, RepeatedEqualContentLength_Accepted) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx").status, Status::complete);
}

struct Malformed {
  const char* name;
  const char* text;
  HttpError error;
};

class HttpParserMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(HttpParserMalformed, Rejected) {
  for (size_t piece : {size_t{1}, size_t{7}, SIZE_MAX}) {
    HttpResponseParser p;
    const auto r = parse(p, GetParam().text, piece);
    EXPECT_EQ(r.status, Status::error) << GetParam().name << " piece " << piece;
    EXPECT_EQ(p.error(), GetParam().error) << GetParam().name << ": " << to_string(p.error());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpParserMalformed,
    ::testing::Values(
        Malformed{"not_http", "SSH-2.0-OpenSSH_9.2\r\n\r\n", HttpError::bad_status_line},
        Malformed{"http2", "HTTP/2 200\r\n\r\n", HttpError::bad_status_line},
        Malformed{"short_code", "HTTP/1.1 20 OK\r\n\r\n", HttpError::bad_status_line},
        Malformed{"letters_in_code", "HTTP/1.1 2x0 OK\r\n\r\n", HttpError::bad_status_line},
        Malformed{"code_too_long", "HTTP/1.1 2000 OK\r\n\r\n", HttpError::bad_status_line},
        Malformed{"code_below_100", "HTTP/1.1 099 OK\r\n\r\n", HttpError::bad_status_line},
        Malformed{"cr_without_lf", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", HttpError::bad_status_line},
        Malformed{"space_before_colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", HttpError::bad_header},
        Malformed{"no_colon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n", HttpError::bad_header},
        Malformed{"obs_fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n", HttpError::bad_header},
        Malformed{"ctl_in_value", "HTTP/1.1 200 OK\r\nX-A: a\x01z\r\n\r\n", HttpError::bad_header},
        Malformed{"cl_not_number", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", HttpError::bad_content_length},
        Malformed{"cl_negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HttpError::bad_content_length},
        Malformed{"cl_empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", HttpError::bad_content_length},
        Malformed{"cl_list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", HttpError::bad_content_length},
        Malformed{"cl_conflict", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", HttpError::bad_content_length},
        Malformed{"cl_huge", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", HttpError::bad_content_length},
        Malformed{"chunk_not_hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HttpError::bad_chunk},
        Malformed{"chunk_empty_size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", HttpError::bad_chunk},
        Malformed{"chunk_no_crlf_after_data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n", HttpError::bad_chunk},
        Malformed{"chunk_size_overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", HttpError::bad_chunk},
        Malformed{"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", HttpError::unsupported}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HttpParser, HeaderTooLarge_Rejected) {
  std::string text = "HTTP/1.1 200 OK\r\n";
  while (text.size() <= HttpResponseParser::kMaxHeaderBytes) text += "X-Filler: 0123456789012345678901234567890123456789\r\n";
  const auto r = parse(text);
  EXPECT_EQ(r.status, Status::error);
}

// Field names match in any case; other names of the same lengths (10, 14, 17) are not taken
// for them.
TEST(HttpParser, FieldNames_AnyCase_AndOnlyThoseNames) {
  HttpResponseParser p;
  const Parsed mixed = parse(p, "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 3\r\nCONNECTION: close\r\n\r\nabc");
  EXPECT_EQ(mixed.status, Status::complete);
  EXPECT_EQ(mixed.body, "abc");
  EXPECT_FALSE(p.keep_alive());
  HttpResponseParser q;
  const Parsed others = parse(q,
                              "HTTP/1.1 200 OK\r\nConnectiox: close\r\nContent-Lengtx: 99\r\n"
                              "Transfer-Encodinx: chunked\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(others.status, Status::complete);
  EXPECT_EQ(others.body, "abc");
  EXPECT_TRUE(q.keep_alive());
}

// The byte that passes kMaxHeaderBytes fails the response, wherever it falls: in the status
// line, a field name or a field value (read as runs of bytes), or on a line's CR or LF; and the
// same byte whether the head comes whole or in pieces of any size.
TEST(HttpParser, HeaderTooLarge_FailsAtTheByteThatPassesTheLimit) {
  const std::string status_line = "HTTP/1.1 200 OK";
  const std::string field = "X-Filler: 0123456789\r\n";
  for (size_t shift = 0; shift < field.size() + 2; shift++) {
    // A status line padded by `shift` bytes of reason, then fields up to well past the limit.
    std::string text = status_line + std::string(shift, 'k') + "\r\n";
    while (text.size() <= HttpResponseParser::kMaxHeaderBytes + field.size()) text += field;
    const Parsed whole = parse(text);
    EXPECT_EQ(whole.status, Status::error) << shift;
    EXPECT_EQ(whole.consumed, HttpResponseParser::kMaxHeaderBytes + 1) << shift;
    for (size_t piece : {1u, 7u, 64u, 1000u}) {
      HttpResponseParser p;
      const Parsed cut = parse(p, text, piece);
      EXPECT_EQ(cut.status, Status::error) << shift << " in pieces of " << piece;
      EXPECT_EQ(cut.consumed, HttpResponseParser::kMaxHeaderBytes + 1) << shift << " in pieces of " << piece;
      EXPECT_EQ(p.error(), HttpError::header_too_large);
    }
  }
  // A status line alone longer than the limit.
  const Parsed long_status = parse("HTTP/1.1 200 " + std::string(HttpResponseParser::kMaxHeaderBytes, 'r') + "\r\n\r\n");
  EXPECT_EQ(long_status.status, Status::error);
  EXPECT_EQ(long_status.consumed, HttpResponseParser::kMaxHeaderBytes + 1);
}

TEST(HttpParser, TruncatedBody_IsAnErrorAtClose) {
  HttpResponseParser p;
  EXPECT_EQ(parse(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").status, Status::need_more);
  EXPECT_TRUE(p.started());
  EXPECT_EQ(p.finish(), Status::error);
  EXPECT_EQ(p.error(), HttpError::truncated);
  HttpResponseParser q;
  EXPECT_FALSE(q.started());
  EXPECT_EQ(q.finish(), Status::error);
}

TEST(HttpParser, ErrorIsSticky) {
  HttpResponseParser p;
  EXPECT_EQ(parse(p, "HTTX/1.1 200 OK\r\n").status, Status::error);
  EXPECT_EQ(p.feed(bytes(kContentLength)).status, Status::error);
  p.reset();
  EXPECT_EQ(p.feed(bytes(kContentLength)).status, Status::complete);
}

}  // namespace
}  // namespace dtcp::loadgen

namespace dtcp::loadgen {
namespace {

// A whole line is taken at once (take_whole_line()); a line cut by the end of the data goes byte
// by byte. Fed whole and fed a byte at a time, every response must come out the same: the same
// status, error, bytes consumed, code, keep-alive and body. The responses are a few good ones
// with each byte replaced by, and each position given an extra, byte that matters to the
// grammar (CR, LF, SP, HTAB, colon, a CTL, DEL, a letter, a digit, a comma).
TEST(HttpParser, WholeLinesAndSingleBytes_SameOutcomeForEveryEdit) {
  const std::string_view bases[] = {
      kContentLength,
      kChunked,
      "HTTP/1.0 200 OK\r\nConnection: keep-alive, x\r\nContent-Length: 2\r\n\r\nab",
      "HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip, chunked\r\nX-Long-Field-Name-Beyond-Thirty-Two-Bytes: 1\r\n\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nContent-Length:3 \t\nConnection:\tclose\n\nxyz",
  };
  // Values past the 128 bytes kept of one: a "close" beyond them is not seen, a Content-Length
  // that long is refused.
  const std::string long_values[] = {
      "HTTP/1.1 200 OK\r\nConnection: " + std::string(120, 'a') + ", close\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(125, '0') + "1\r\n\r\nz",
  };
  const char edits[] = {'\r', '\n', ' ', '\t', ':', '\x01', '\x7f', 'A', '7', ','};
  size_t variants = 0;
  auto same = [&](const std::string& text) {
    HttpResponseParser whole_parser, bytes_parser;
    const Parsed whole = parse(whole_parser, text);
    const Parsed bytes = parse(bytes_parser, text, 1);
    ASSERT_EQ(whole.status, bytes.status) << testing::PrintToString(text);
    ASSERT_EQ(whole.consumed, bytes.consumed) << testing::PrintToString(text);
    ASSERT_EQ(whole_parser.error(), bytes_parser.error()) << testing::PrintToString(text);
    ASSERT_EQ(whole.body, bytes.body) << testing::PrintToString(text);
    if (whole.status == Status::complete) {
      ASSERT_EQ(whole_parser.status_code(), bytes_parser.status_code()) << testing::PrintToString(text);
      ASSERT_EQ(whole_parser.keep_alive(), bytes_parser.keep_alive()) << testing::PrintToString(text);
    }
    ++variants;
  };
  std::vector<std::string_view> all(std::begin(bases), std::end(bases));
  for (const std::string& v : long_values) all.push_back(v);
  for (const std::string_view base : all) {
    same(std::string(base));
    for (size_t at = 0; at < base.size(); at++) {
      for (const char c : edits) {
        std::string replaced(base);
        replaced[at] = c;
        same(replaced);
        std::string inserted(base);
        inserted.insert(at, 1, c);
        same(inserted);
      }
    }
  }
  EXPECT_GT(variants, 5000u);
}

}  // namespace
}  // namespace dtcp::loadgen
