// An incremental HTTP/1.1 response parser (RFC 9112) for the load generator: fed the bytes of a
// connection as they arrive, in pieces of any size, it finds where one response ends. It keeps
// no copy of the response (a few fixed buffers for the headers it acts on), so it never
// allocates. What it checks:
//   - status line: HTTP/1.0 or HTTP/1.1, a three-digit code, a reason phrase (may be empty);
//   - header fields: a token name, a colon, no whitespace before the colon, no obsolete line
//     folding (RFC 9112 §5.1, §5.2); lines end in CRLF or a bare LF (RFC 9112 §2.2 allows it);
//   - body length (RFC 9112 §6.3): no body for 1xx/204/304 and HEAD; chunked when it is the final
//     transfer coding; otherwise Content-Length (identical repeats allowed, anything else
//     rejected); otherwise until the connection closes. Interim 1xx responses are skipped.
//   - chunked: hex sizes with optional extensions, CRLF after every chunk's data, trailers.
// Anything else makes the response malformed; the parser then stays in the error state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dtcp::loadgen {

enum class HttpError : uint8_t {
  none,
  bad_status_line,     // not "HTTP/1.x NNN reason"
  bad_header,          // malformed field line, obs-fold, whitespace before the colon
  header_too_large,    // status line and fields above kMaxHeaderBytes
  bad_content_length,  // not digits, conflicting repeats, or too large
  bad_chunk,           // bad chunk size line or missing CRLF after chunk data
  unsupported,         // 101 Switching Protocols
  truncated,           // the connection closed inside a response
};
const char* to_string(HttpError);

class HttpResponseParser {
 public:
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;
  enum class Status : uint8_t { need_more, complete, error };
  struct Result {
    size_t consumed;  // bytes of `data` that belong to this response (the rest follow it)
    Status status;
  };
  // Receives the body bytes (chunk framing removed) as they are parsed.
  using BodySink = void (*)(void* ctx, std::span<const std::byte> bytes);

  HttpResponseParser() { reset(); }
  // Ready for the next response on the connection. `head_request`: the request was HEAD, so the
  // response has no body whatever its headers say.
  void reset(bool head_request = false);
  void set_body_sink(BodySink sink, void* ctx) {
    sink_ = sink;
    sink_ctx_ = ctx;
  }

  // Parses as much of `data` as belongs to the current response. Once it returns complete or
  // error it consumes nothing more until reset().
  Result feed(std::span<const std::byte> data);
  // The peer closed the connection: completes a response whose body runs until the close;
  // anything else under way becomes an error (truncated). Returns the final status.
  Status finish();

  Status status() const { return status_; }
  HttpError error() const { return error_; }
  // True once any byte of the response has arrived.
  bool started() const { return header_bytes_ > 0; }
  // Valid from the end of the header section on.
  unsigned status_code() const { return code_; }
  // Whether the connection may carry another request after this response.
  bool keep_alive() const { return keep_alive_; }
  uint64_t body_bytes() const { return body_bytes_; }
  uint64_t header_bytes() const { return header_bytes_; }

 private:
  enum class State : uint8_t {
    status_line,
    field_start,   // start of a header field line (or the empty line ending the section)
    field_name,
    field_value,
    line_lf,       // saw CR, need LF
    body_length,
    body_close,
    chunk_size,
    chunk_ext,
    chunk_data,
    chunk_data_cr,
    chunk_data_lf,
    done,
  };
  enum class Line : uint8_t { status, field, field_end, chunk_size };

  Result fail(HttpError e, size_t consumed);
  bool end_status_line();
  bool end_field();
  // A field we act on (name in lower case, value trimmed): false on error (error_ says which).
  bool act_on_field(std::string_view name, std::string_view value, bool value_overflow);
  enum class Taken : uint8_t { no, yes, returns };
  // The head's common case: a whole, well-formed line at data[i] (status line or field line, or
  // the empty line), taken at once without copying it. `no` (nothing changed) leaves anything
  // else to the byte-by-byte steps; `returns`: feed() returns `result`.
  Taken take_whole_line(const unsigned char* bytes, size_t& i, size_t n, Result& result);
  // At the empty line: decides how the body is delimited. Returns false on error.
  bool end_headers();
  void deliver(std::span<const std::byte> bytes);
  void start_head();

  // Current line being assembled (status line or field), only as much as we act on.
  static constexpr size_t kNameMax = 32;
  static constexpr size_t kValueMax = 128;
  static constexpr size_t kStatusMax = 16;  // "HTTP/1.1 200 " is all we read of it

  State state_ = State::status_line;
  Line line_ = Line::status;  // which line a CR/LF ends
  Status status_ = Status::need_more;
  HttpError error_ = HttpError::none;
  bool head_request_ = false;
  bool in_trailers_ = false;
  bool http11_ = false;
  bool keep_alive_ = false;
  bool conn_close_ = false;
  bool conn_keep_alive_ = false;
  bool chunked_ = false;
  bool has_transfer_encoding_ = false;
  bool has_content_length_ = false;
  bool name_overflow_ = false;
  bool value_overflow_ = false;
  bool value_started_ = false;
  unsigned code_ = 0;
  uint64_t content_length_ = 0;
  uint64_t remaining_ = 0;  // body or chunk bytes still to come
  uint64_t chunk_size_ = 0;
  unsigned chunk_digits_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t header_bytes_ = 0;
  size_t line_len_ = 0;
  size_t name_len_ = 0;
  size_t value_len_ = 0;
  size_t value_trimmed_len_ = 0;  // value length without trailing whitespace
  char status_buf_[kStatusMax];
  char name_[kNameMax];
  char value_[kValueMax];
  BodySink sink_ = nullptr;
  void* sink_ctx_ = nullptr;
};

}  // namespace dtcp::loadgen
