#include "loadgen/http_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace dtcp::loadgen {
namespace {

// RFC 9110 §5.6.2 tchar, as a table: it is asked of every byte of every field name.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; c++) table[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; c++) table[static_cast<size_t>(c)] = true;
  for (int c = '0'; c <= '9'; c++) table[static_cast<size_t>(c)] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();
bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
// A field name's byte as it is kept (lower case); 0 for a byte that is not a tchar.
constexpr std::array<char, 256> kNameByte = [] {
  std::array<char, 256> table{};
  for (size_t c = 0; c < 256; c++) {
    if (kTchar[c]) table[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return table;
}();

// A CTL other than HTAB (RFC 9110 §5.5: not in a field value), by byte.
constexpr std::array<bool, 256> kValueCtl = [] {
  std::array<bool, 256> table{};
  for (size_t c = 0; c < 0x20; c++) table[c] = c != '\t';
  table[0x7f] = true;
  return table;
}();

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr size_t kMaxChunkLine = 4096;
// Bodies beyond 2^53 bytes are not a real load-generator case; rejecting them keeps sums exact.
constexpr uint64_t kMaxContentLength = uint64_t{1} << 53;

}  // namespace

const char* to_string(HttpError e) {
  switch (e) {
    case HttpError::none: return "none";
    case HttpError::bad_status_line: return "bad_status_line";
    case HttpError::bad_header: return "bad_header";
    case HttpError::header_too_large: return "header_too_large";
    case HttpError::bad_content_length: return "bad_content_length";
    case HttpError::bad_chunk: return "bad_chunk";
    case HttpError::unsupported: return "unsupported";
    case HttpError::truncated: return "truncated";
  }
  return "?";
}

void HttpResponseParser::start_head() {
  state_ = State::status_line;
  line_ = Line::status;
  in_trailers_ = false;
  http11_ = false;
  keep_alive_ = false;
  conn_close_ = false;
  conn_keep_alive_ = false;
  chunked_ = false;
  has_transfer_encoding_ = false;
  has_content_length_ = false;
  code_ = 0;
  content_length_ = 0;
  remaining_ = 0;
  line_len_ = 0;
}

void HttpResponseParser::reset(bool head_request) {
  start_head();
  status_ = Status::need_more;
  error_ = HttpError::none;
  head_request_ = head_request;
  body_bytes_ = 0;
  header_bytes_ = 0;
}

HttpResponseParser::Result HttpResponseParser::fail(HttpError e, size_t consumed) {
  error_ = e;
  status_ = Status::error;
  state_ = State::done;
  return {consumed, status_};
}

void HttpResponseParser::deliver(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  body_bytes_ += bytes.size();
  if (sink_ != nullptr) sink_(sink_ctx_, bytes);
}

bool HttpResponseParser::end_status_line() {
  // "HTTP/1.x NNN" then SP and a reason phrase; tolerate a missing SP when the reason is empty.
  const std::string_view s(status_buf_, std::min(line_len_, kStatusMax));
  if (line_len_ < 12 || s.substr(0, 7) != "HTTP/1." || s[7] < '0' || s[7] > '9' || s[8] != ' ') return false;
  if (line_len_ > 12 && s[12] != ' ') return false;
  unsigned code = 0;
  for (size_t i = 9; i < 12; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    code = code * 10 + static_cast<unsigned>(s[i] - '0');
  }
  if (code < 100) return false;
  code_ = code;
  http11_ = s[7] != '0';
  return true;
}

bool HttpResponseParser::end_field() {
  if (in_trailers_ || name_overflow_) return true;  // trailers change nothing we act on
  return act_on_field(std::string_view(name_, name_len_), std::string_view(value_, value_trimmed_len_), value_overflow_);
}

bool HttpResponseParser::act_on_field(std::string_view name, std::string_view value, bool value_overflow) {
  if (name == "content-length") {
    if (value_overflow || value.empty()) return (error_ = HttpError::bad_content_length), false;
    uint64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return (error_ = HttpError::bad_content_length), false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
      if (n > kMaxContentLength) return (error_ = HttpError::bad_content_length), false;
    }
    // RFC 9110 §8.6: repeats must agree.
    if (has_content_length_ && n != content_length_) return (error_ = HttpError::bad_content_length), false;
    has_content_length_ = true;
    content_length_ = n;
  } else if (name == "transfer-encoding") {
    if (value_overflow) return (error_ = HttpError::bad_header), false;
    // The codings of repeated fields form one list; what matters is whether chunked is last.
    has_transfer_encoding_ = true;
    const size_t comma = value.rfind(',');
    chunked_ = iequals(trim(comma == std::string_view::npos ? value : value.substr(comma + 1)), "chunked");
  } else if (name == "connection") {
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = trim(rest.substr(0, comma));
      if (iequals(token, "close")) conn_close_ = true;
      if (iequals(token, "keep-alive")) conn_keep_alive_ = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return true;
}

bool HttpResponseParser::end_headers() {
  if (code_ >= 100 && code_ < 200) {
    if (code_ == 101) return (error_ = HttpError::unsupported), false;
    start_head();  // interim response (100 Continue, 103 Early Hints): the real one follows
    return true;
  }
  keep_alive_ = http11_ ? !conn_close_ : (conn_keep_alive_ && !conn_close_);
  if (head_request_ || code_ == 204 || code_ == 304) {
    state_ = State::done;
    status_ = Status::complete;
  } else if (has_transfer_encoding_) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; without chunked last, the
    // body runs until the close.
    if (chunked_) {
      state_ = State::chunk_size;
      chunk_size_ = 0;
      chunk_digits_ = 0;
      line_len_ = 0;
    } else {
      state_ = State::body_close;
      keep_alive_ = false;
    }
  } else if (has_content_length_) {
    remaining_ = content_length_;
    if (remaining_ == 0) {
      state_ = State::done;
      status_ = Status::complete;
    } else {
      state_ = State::body_length;
    }
  } else {
    state_ = State::body_close;
    keep_alive_ = false;
  }
  return true;
}

// What the byte-by-byte steps would do with the line, done at once: the line is found with
// memchr, its name checked against the tchar table, its value for CTLs, and only a name that may
// be one we act on is lowered (into name_); no value is copied. Anything those steps would judge
// otherwise (an error, with the byte it fails at; a name or value past the buffers; a bare CR;
// the header limit) is left to them, with nothing changed.
HttpResponseParser::Taken HttpResponseParser::take_whole_line(const unsigned char* bytes, size_t& i, size_t n,
                                                              Result& result) {
  const unsigned char* line = bytes + i;
  const auto* lf = static_cast<const unsigned char*>(std::memchr(line, '\n', n - i));
  if (lf == nullptr) return Taken::no;  // cut by the end of the data
  const size_t line_bytes = static_cast<size_t>(lf - line) + 1;
  if (header_bytes_ + line_bytes > kMaxHeaderBytes) return Taken::no;
  size_t len = line_bytes - 1;  // without the LF, then without a CR before it (RFC 9112 §2.2)
  if (len > 0 && line[len - 1] == '\r') len--;

  if (state_ == State::status_line) {
    // Only its first 13 bytes are checked (end_status_line()); the reason phrase may hold
    // anything but CR and LF.
    if (std::memchr(line, '\r', len) != nullptr) return Taken::no;
    std::memcpy(status_buf_, line, std::min(len, kStatusMax));
    line_len_ = len;
    if (!end_status_line()) {
      line_len_ = 0;
      return Taken::no;
    }
    header_bytes_ += line_bytes;
    i += line_bytes;
    line_ = Line::field;
    state_ = State::field_start;
    return Taken::yes;
  }

  if (len == 0) {  // the empty line that ends the head (or the trailers)
    header_bytes_ += line_bytes;
    i += line_bytes;
    line_ = Line::field_end;
    if (in_trailers_) {
      state_ = State::done;
      status_ = Status::complete;
      result = {i, status_};
      return Taken::returns;
    }
    if (!end_headers()) {
      result = fail(error_, i);
      return Taken::returns;
    }
    if (status_ == Status::complete) {
      result = {i, status_};
      return Taken::returns;
    }
    return Taken::yes;
  }

  // line[len] is the CR or LF, not a tchar: the scan needs no other bound.
  size_t name_len = 0;
  while (kTchar[line[name_len]]) name_len++;
  // Empty (obsolete folding starts with SP or HTAB), no colon, or a byte before it that is not a
  // tchar (whitespace before the colon, RFC 9112 §5.1).
  if (name_len == 0 || name_len == len || line[name_len] != ':') return Taken::no;
  size_t value = name_len + 1;
  while (value < len && (line[value] == ' ' || line[value] == '\t')) value++;
  if (len - value > kValueMax) return Taken::no;  // the steps below mark the overflow
  bool ctl = false;  // one test at the end, not a branch a byte
  for (size_t k = value; k < len; k++) ctl |= kValueCtl[line[k]];
  if (ctl) return Taken::no;
  header_bytes_ += line_bytes;
  i += line_bytes;
  line_ = Line::field;
  state_ = State::field_start;
  // Only content-length (14), transfer-encoding (17) and connection (10) are acted on.
  if (in_trailers_ || (name_len != 14 && name_len != 17 && name_len != 10)) return Taken::yes;
  for (size_t k = 0; k < name_len; k++) name_[k] = kNameByte[line[k]];
  size_t value_end = len;  // trailing whitespace is not the value's (RFC 9112 §5.1)
  while (value_end > value && (line[value_end - 1] == ' ' || line[value_end - 1] == '\t')) value_end--;
  const std::string_view field_value(reinterpret_cast<const char*>(line + value), value_end - value);
  if (!act_on_field(std::string_view(name_, name_len), field_value, false)) {
    result = fail(error_, i);
    return Taken::returns;
  }
  return Taken::yes;
}

HttpResponseParser::Result HttpResponseParser::feed(std::span<const std::byte> data) {
  if (status_ != Status::need_more) return {0, status_};
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    // A whole line at the start of one: at once (take_whole_line()).
    if (state_ == State::field_start || (state_ == State::status_line && line_len_ == 0)) {
      Result result{};
      const Taken taken = take_whole_line(reinterpret_cast<const unsigned char*>(data.data()), i, n, result);
      if (taken == Taken::returns) return result;
      if (taken == Taken::yes) continue;
    }
    // Body bytes in bulk.
    if (state_ == State::body_length || state_ == State::chunk_data) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, n - i));
      deliver(data.subspan(i, take));
      i += take;
      remaining_ -= take;
      if (remaining_ == 0) {
        if (state_ == State::chunk_data) {
          state_ = State::chunk_data_cr;
        } else {
          state_ = State::done;
          status_ = Status::complete;
          return {i, status_};
        }
      }
      continue;
    }
    if (state_ == State::body_close) {
      deliver(data.subspan(i));
      return {n, status_};
    }

    // Inside a status line, a field name or a field value, the bytes up to the next one that
    // ends or breaks the line are taken as a run, each as the byte-by-byte steps below would take
    // it; a run stops short of the byte that would pass kMaxHeaderBytes, which is then failed
    // below. A 115-byte response: 6,077 instructions a byte at a time, 2,927 with the runs
    // (callgrind; the tables and the lazy error choice below are part of it).
    if (state_ == State::status_line || state_ == State::field_name || state_ == State::field_value) {
      const size_t end = i + static_cast<size_t>(std::min<uint64_t>(n - i, kMaxHeaderBytes - header_bytes_));
      const size_t start = i;
      const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
      if (state_ == State::status_line) {
        while (i < end && bytes[i] != '\r' && bytes[i] != '\n') {
          if (line_len_ < kStatusMax) status_buf_[line_len_] = static_cast<char>(bytes[i]);
          line_len_++;
          i++;
        }
      } else if (state_ == State::field_name) {
        for (char kept; i < end && (kept = kNameByte[bytes[i]]) != 0; i++) {
          if (name_len_ < kNameMax) name_[name_len_++] = kept;
          else name_overflow_ = true;
        }
      } else {
        for (; i < end; i++) {
          const unsigned char c = bytes[i];
          if (c == ' ' || c == '\t') {
            if (!value_started_) continue;
          } else if (c < 0x20 || c == 0x7f) {
            break;  // CR, LF or a CTL: the steps below
          } else {
            value_started_ = true;
          }
          if (value_len_ < kValueMax) {
            value_[value_len_++] = static_cast<char>(c);
            if (c != ' ' && c != '\t') value_trimmed_len_ = value_len_;
          } else {
            value_overflow_ = true;
          }
        }
      }
      header_bytes_ += i - start;
      if (i == n) break;
    }
    const char c = static_cast<char>(data[i++]);
    const bool in_head = state_ == State::status_line || state_ == State::field_start ||
                         state_ == State::field_name || state_ == State::field_value ||
                         (state_ == State::line_lf && line_ != Line::chunk_size);
    if (in_head && ++header_bytes_ > kMaxHeaderBytes) return fail(HttpError::header_too_large, i);
    bool end_of_line = false;
    switch (state_) {
      case State::status_line:
        if (c == '\r') {
          state_ = State::line_lf;
        } else if (c == '\n') {
          end_of_line = true;
        } else {
          if (line_len_ < kStatusMax) status_buf_[line_len_] = c;
          line_len_++;
        }
        break;
      case State::field_start:
        name_len_ = 0;
        value_len_ = 0;
        value_trimmed_len_ = 0;
        name_overflow_ = false;
        value_overflow_ = false;
        value_started_ = false;
        if (c == '\r' || c == '\n') {
          line_ = Line::field_end;
          if (c == '\r') state_ = State::line_lf;
          else end_of_line = true;
        } else if (is_tchar(c)) {
          // Obsolete line folding (a line starting with SP/HTAB) is rejected by not being a tchar.
          line_ = Line::field;
          name_[name_len_++] = lower(c);
          state_ = State::field_name;
        } else {
          return fail(HttpError::bad_header, i);
        }
        break;
      case State::field_name:
        if (c == ':') {
          state_ = State::field_value;
        } else if (is_tchar(c)) {
          if (name_len_ < kNameMax) name_[name_len_++] = lower(c);
          else name_overflow_ = true;
        } else {
          return fail(HttpError::bad_header, i);  // whitespace before the colon, CR/LF, CTL
        }
        break;
      case State::field_value:
        if (c == '\r') {
          state_ = State::line_lf;
        } else if (c == '\n') {
          end_of_line = true;
        } else if (kValueCtl[static_cast<unsigned char>(c)]) {
          return fail(HttpError::bad_header, i);
        } else if (c == ' ' || c == '\t') {
          if (value_started_) {
            if (value_len_ < kValueMax) value_[value_len_++] = c;
            else value_overflow_ = true;
          }
        } else {
          value_started_ = true;
          if (value_len_ < kValueMax) {
            value_[value_len_++] = c;
            value_trimmed_len_ = value_len_;
          } else {
            value_overflow_ = true;
          }
        }
        break;
      case State::line_lf:
        if (c != '\n') {
          return fail(line_ == Line::status       ? HttpError::bad_status_line
                      : line_ == Line::chunk_size ? HttpError::bad_chunk
                                                  : HttpError::bad_header,
                      i);
        }
        end_of_line = true;
        break;
      case State::chunk_size: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++chunk_digits_ > 15) return fail(HttpError::bad_chunk, i);
          chunk_size_ = chunk_size_ * 16 + static_cast<uint64_t>(v);
        } else if (chunk_digits_ == 0) {
          return fail(HttpError::bad_chunk, i);
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::chunk_ext;
        } else if (c == '\r') {
          line_ = Line::chunk_size;
          state_ = State::line_lf;
        } else if (c == '\n') {
          line_ = Line::chunk_size;
          end_of_line = true;
        } else {
          return fail(HttpError::bad_chunk, i);
        }
        if (++line_len_ > kMaxChunkLine) return fail(HttpError::bad_chunk, i);
        break;
      }
      case State::chunk_ext:
        // Extensions are read past, not interpreted (RFC 9112 §7.1.1 lets us ignore them).
        if (c == '\r' || c == '\n') {
          line_ = Line::chunk_size;
          if (c == '\r') state_ = State::line_lf;
          else end_of_line = true;
        }
        if (++line_len_ > kMaxChunkLine) return fail(HttpError::bad_chunk, i);
        break;
      case State::chunk_data_cr:
        if (c == '\r') state_ = State::chunk_data_lf;
        else if (c == '\n') state_ = State::chunk_size, chunk_size_ = 0, chunk_digits_ = 0, line_len_ = 0;
        else return fail(HttpError::bad_chunk, i);
        break;
      case State::chunk_data_lf:
        if (c != '\n') return fail(HttpError::bad_chunk, i);
        state_ = State::chunk_size;
        chunk_size_ = 0;
        chunk_digits_ = 0;
        line_len_ = 0;
        break;
      default:
        return fail(HttpError::bad_header, i);  // unreachable: body states are handled above
    }
    if (!end_of_line) continue;

    switch (line_) {
      case Line::status:
        if (!end_status_line()) return fail(HttpError::bad_status_line, i);
        line_ = Line::field;
        state_ = State::field_start;
        break;
      case Line::field:
        if (!end_field()) return fail(error_, i);
        state_ = State::field_start;
        break;
      case Line::field_end:
        if (in_trailers_) {
          state_ = State::done;
          status_ = Status::complete;
          return {i, status_};
        }
        if (!end_headers()) return fail(error_, i);
        if (status_ == Status::complete) return {i, status_};
        break;
      case Line::chunk_size:
        if (chunk_size_ == 0) {
          in_trailers_ = true;
          line_ = Line::field;
          state_ = State::field_start;
        } else {
          remaining_ = chunk_size_;
          state_ = State::chunk_data;
        }
        break;
    }
  }
  return {n, status_};
}

HttpResponseParser::Status HttpResponseParser::finish() {
  if (status_ != Status::need_more) return status_;
  if (state_ == State::body_close) {
    state_ = State::done;
    status_ = Status::complete;
    return status_;
  }
  fail(HttpError::truncated, 0);
  return status_;
}

}  // namespace dtcp::loadgen
