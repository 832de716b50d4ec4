// The server side of the load generator's protocols, shared by the dtcp and kernel-socket
// servers so both answer byte for byte alike:
//   echo    raw fixed-size request/response: every request_size bytes received are answered
//           with response_size bytes (equal sizes behave like an echo server);
//   http    minimal HTTP/1.1: GET or HEAD of any path gets 200 and body_size bytes of 'x' (or
//           the bytes of ServeSpec::body, and only at ServeSpec::path: other targets get 404);
//           keep-alive unless the request says close (HTTP/1.0: unless it says keep-alive);
//           pipelined requests are answered in order; a GET with one byte range (RFC 9110
//           §14.2, `Range: bytes=A-B`, `A-`, `-N`) gets 206 with that part, or 416 when it
//           starts past the end; other methods 405, malformed 400, oversized headers 431,
//           request bodies 400 (not supported), each with a close;
//   sink    reads and discards;
//   source  sends without end until the peer closes.
// A ServerSession is one connection's state: bytes go in through on_data(), and pending() says
// what to send next. It never allocates; the responses are formatted once in ServerContent, and
// a large body is kept once, shared by every session and sent from where the session is in it
// (no copy per request, nothing erased from the front of a buffer). dtcp-http and
// dtcp-loadgen's --serve-* servers are this one implementation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dtcp::loadgen {

enum class ServeMode : uint8_t { echo, http, sink, source };
const char* to_string(ServeMode);

struct ServeSpec {
  ServeMode mode = ServeMode::echo;
  uint32_t request_size = 64;   // echo
  uint32_t response_size = 64;  // echo
  uint64_t body_size = 64;      // http: bytes of 'x' per 200 response, unless `body` is set
  // http: the body of every 200 response instead of body_size bytes of 'x' (dtcp-http --file).
  // Shared, never copied per request.
  std::shared_ptr<const std::vector<std::byte>> body;
  // http: when not empty, the only request target served; any other gets 404 and a close.
  std::string path;
  std::string server = "dtcp-loadgen";  // http: the Server header's value
  std::string content_type;             // http: the Content-Type header's value; empty: none
};

// The responses every session of one server sends, formatted once.
class ServerContent {
 public:
  explicit ServerContent(const ServeSpec& spec);
  const ServeSpec& spec() const { return spec_; }

  // HTTP responses by kind.
  enum Kind : uint8_t {
    get_keep_alive,     // HTTP/1.1 default
    get_keep_alive_10,  // HTTP/1.0 that asked for keep-alive: says so
    get_close,
    head_keep_alive,
    head_keep_alive_10,
    head_close,
    partial,            // 206 of one byte range: its head is formatted per request (the session's)
    bad_request,        // 400, close
    not_allowed,        // 405, close
    too_large,          // 431, close
    not_found,          // 404, close (a target other than ServeSpec::path)
    range_not_satisfiable,  // 416, close (RFC 9110 §15.5.17: a range starting past the end)
    kind_count,
  };
  static bool closes(uint8_t kind) {
    return kind == get_close || kind == head_close || kind >= bad_request;
  }
  // A response is its head (status line and headers, and the body too when it is small) and
  // then `body`, a view of the one shared copy of a large body (empty otherwise). Small
  // responses stay contiguous so that one send() makes one segment of a 64-byte exchange.
  struct Response {
    std::span<const std::byte> head;
    std::span<const std::byte> body;
    size_t size() const { return head.size() + body.size(); }
    // The bytes from `offset` on, up to the end of the part (head or body) `offset` is in.
    std::span<const std::byte> from(size_t offset) const {
      return offset < head.size() ? head.subspan(offset) : body.subspan(offset - head.size());
    }
  };
  Response http(uint8_t kind) const { return {http_[kind], with_body(kind) ? body_ : std::span<const std::byte>()}; }
  const std::string& path() const { return spec_.path; }
  // The whole body of a 200 GET, for a 206's part of it.
  std::span<const std::byte> body() const { return body_owner_ ? std::span<const std::byte>(*body_owner_) : std::span<const std::byte>(); }
  // A 206's status line and the headers every 206 shares; empty when they would not fit in
  // ServerSession's buffer (a long Server or Content-Type), and then Range is ignored.
  std::span<const std::byte> partial_prefix() const { return partial_prefix_; }
  static constexpr size_t kMaxPartialPrefix = 128;
  // Bodies up to this size are copied into each response once; larger ones are shared.
  static constexpr size_t kInlineBody = 64 * 1024;
  std::span<const std::byte> raw_response() const { return raw_response_; }
  std::span<const std::byte> source_chunk() const { return source_chunk_; }

 private:
  static bool with_body(uint8_t kind) { return kind <= get_close; }

  ServeSpec spec_;
  std::array<std::vector<std::byte>, kind_count> http_;
  std::shared_ptr<const std::vector<std::byte>> body_owner_;  // holds body_'s bytes
  std::span<const std::byte> body_;                            // empty when inlined in http_
  std::vector<std::byte> partial_prefix_;
  std::vector<std::byte> raw_response_;
  std::vector<std::byte> source_chunk_;
};

class ServerSession {
 public:
  static constexpr size_t kMaxHeader = 8192;  // like nginx's large_client_header_buffers
  static constexpr size_t kMaxQueued = 64;    // pipelined responses of differing kinds queued
  static constexpr size_t kMaxRanges = 4;     // pipelined 206 responses queued

  explicit ServerSession(const ServerContent& content) : content_(&content) {}
  // A new connection's session, served `content`: costs a State's few fields, not the buffers.
  void reset(const ServerContent& content);
  void reset() { reset(*content_); }
  // Reads `data` (all of it: bytes after a request that ends the connection are discarded).
  void on_data(std::span<const std::byte> data);
  // Bytes to send next; empty when nothing is owed now.
  std::span<const std::byte> pending() const;
  // `n` bytes of pending() were sent.
  void sent(size_t n);
  // All that is owed has been sent and the protocol ends the connection (an HTTP close).
  bool done() const { return s_.closing && pending().empty(); }
  uint64_t requests() const { return s_.requests; }
  const ServerContent& content() const { return *content_; }

 private:
  void http_data(std::span<const std::byte> data);
  void keep_line_part(std::string_view part);
  void end_line(std::string_view line, size_t length);
  void end_request();
  void queue(uint8_t kind);
  void queue_partial(uint64_t first, uint64_t last, bool close, bool http10);
  void parse_range(std::string_view value);
  ServerContent::Response front() const;
  void format_partial_head();

  const ServerContent* content_;
  // Everything a new connection starts afresh (reset() assigns a default State); the buffers
  // below it are read only up to the counts State keeps, so they are never cleared.
  struct State {
    // echo
    uint64_t request_bytes = 0;   // of the current request
    uint64_t responses_owed = 0;  // whole responses not yet started
    // http: the queue of runs_, the first of which is being sent
    size_t run_head = 0;
    size_t run_count = 0;
    size_t offset = 0;      // into the response being sent
    bool closing = false;   // a response that closes is queued; input is ignored from then on
    size_t part_head = 0;   // parts_
    size_t part_count = 0;
    size_t partial_head_len = 0;
    // http request parsing
    size_t header_bytes = 0;
    size_t line_len = 0;  // of the line cut by the end of the last on_data(), in line_
    bool request_line = true;
    bool bad = false;
    bool head = false;
    bool method_ok = false;
    bool target_ok = false;
    bool http10 = false;
    bool conn_close = false;
    bool conn_keep_alive = false;
    bool has_body = false;
    // Range: bytes=range_first-range_last (range_last UINT64_MAX: to the end), or the last
    // range_last bytes when range_suffix. If-Range makes it ignored: there is no validator here
    // that could match (RFC 9110 §13.1.5).
    bool range = false;
    bool range_suffix = false;
    bool if_range = false;
    uint64_t range_first = 0;
    uint64_t range_last = 0;
    uint64_t requests = 0;
  };
  State s_;
  // http: queue of runs (kind, count), the first of which is being sent.
  struct Run {
    uint8_t kind;
    uint64_t count;
  };
  std::array<Run, kMaxQueued> runs_{};
  // http: the queued 206 responses, in the order of their `partial` runs (one each), and the
  // head of the first, formatted when it reaches the front of the queue.
  struct Part {
    uint64_t first;
    uint64_t length;
    bool close;
    bool http10;
  };
  std::array<Part, kMaxRanges> parts_{};
  char partial_head_[ServerContent::kMaxPartialPrefix + 192];
  char line_[256];  // the request line's target is compared with ServeSpec::path
};

}  // namespace dtcp::loadgen
