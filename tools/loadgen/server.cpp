#include "loadgen/server.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

namespace dtcp::loadgen {
namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* to_string(ServeMode m) {
  switch (m) {
    case ServeMode::echo: return "echo";
    case ServeMode::http: return "http";
    case ServeMode::sink: return "sink";
    case ServeMode::source: return "source";
  }
  return "?";
}

ServerContent::ServerContent(const ServeSpec& spec) : spec_(spec) {
  body_owner_ = spec.body;
  if (!body_owner_) body_owner_ = std::make_shared<const std::vector<std::byte>>(spec.body_size, std::byte{'x'});
  const std::vector<std::byte>& body = *body_owner_;
  const bool inline_body = body.size() <= kInlineBody;
  if (!inline_body) body_ = body;
  const std::string server = "Server: " + spec.server + "\r\n";
  const std::string type = spec.content_type.empty() ? "" : "Content-Type: " + spec.content_type + "\r\n";
  auto ok = [&](const char* connection, bool with_body) {
    std::vector<std::byte> r = bytes_of("HTTP/1.1 200 OK\r\n" + server + type + "Content-Length: " +
                                        std::to_string(body.size()) + "\r\n" + connection + "\r\n");
    if (with_body && inline_body) r.insert(r.end(), body.begin(), body.end());
    return r;
  };
  auto error = [&](const char* status) {
    return bytes_of(std::string("HTTP/1.1 ") + status + "\r\n" + server + "Content-Length: 0\r\nConnection: close\r\n\r\n");
  };
  http_[get_keep_alive] = ok("", true);
  http_[get_keep_alive_10] = ok("Connection: keep-alive\r\n", true);
  http_[get_close] = ok("Connection: close\r\n", true);
  http_[head_keep_alive] = ok("", false);
  http_[head_keep_alive_10] = ok("Connection: keep-alive\r\n", false);
  http_[head_close] = ok("Connection: close\r\n", false);
  http_[bad_request] = error("400 Bad Request");
  http_[not_allowed] = error("405 Method Not Allowed");
  http_[too_large] = error("431 Request Header Fields Too Large");
  http_[not_found] = error("404 Not Found");
  http_[range_not_satisfiable] = bytes_of("HTTP/1.1 416 Range Not Satisfiable\r\n" + server + "Content-Range: bytes */" +
                                          std::to_string(body.size()) +
                                          "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const std::string prefix = "HTTP/1.1 206 Partial Content\r\n" + server + type;
  if (prefix.size() <= kMaxPartialPrefix) partial_prefix_ = bytes_of(prefix);
  raw_response_.resize(spec.response_size);
  for (size_t i = 0; i < raw_response_.size(); i++) raw_response_[i] = std::byte{static_cast<uint8_t>('A' + i % 26)};
  source_chunk_.resize(64 * 1024);
  for (size_t i = 0; i < source_chunk_.size(); i++) source_chunk_[i] = std::byte{static_cast<uint8_t>('a' + i % 26)};
}

void ServerSession::reset(const ServerContent& content) {
  content_ = &content;
  s_ = State{};
}

void ServerSession::on_data(std::span<const std::byte> data) {
  switch (content_->spec().mode) {
    case ServeMode::echo: {
      const uint64_t size = content_->spec().request_size;
      s_.request_bytes += data.size();
      s_.responses_owed += s_.request_bytes / size;
      s_.request_bytes %= size;
      return;
    }
    case ServeMode::http:
      return http_data(data);
    case ServeMode::sink:
    case ServeMode::source:
      return;
  }
}

// Lines are found with memchr() and read where they lie in `data`; only a line cut by its end is
// copied, into line_, to be finished by the next call. A line longer than line_ keeps its start:
// only the request line needs its end (the version), and a request line that long is refused.
// The bytes of a request's head are counted up to and including each line's LF: the one that
// passes kMaxHeader gets a 431 before its line is read.
void ServerSession::http_data(std::span<const std::byte> data) {
  const char* at = reinterpret_cast<const char*>(data.data());
  size_t left = data.size();
  while (left > 0 && !s_.closing) {
    const auto* lf = static_cast<const char*>(std::memchr(at, '\n', left));
    const size_t taken = lf != nullptr ? static_cast<size_t>(lf - at) + 1 : left;
    if (s_.header_bytes + taken > kMaxHeader) return queue(ServerContent::too_large);
    s_.header_bytes += taken;
    if (lf == nullptr) return keep_line_part({at, taken});
    std::string_view line(at, taken - 1);
    if (s_.line_len > 0) {  // the line began in an earlier call
      keep_line_part(line);
      line = std::string_view(line_, std::min(s_.line_len, sizeof(line_)));
    }
    size_t length = s_.line_len > 0 ? s_.line_len : line.size();
    if (length > 0 && length <= sizeof(line_) && line.back() == '\r') {
      --length;
      line.remove_suffix(1);
    }
    end_line(line.substr(0, std::min(line.size(), sizeof(line_))), length);
    s_.line_len = 0;
    at += taken;
    left -= taken;
  }
}

void ServerSession::keep_line_part(std::string_view part) {
  if (s_.line_len < sizeof(line_)) std::memcpy(line_ + s_.line_len, part.data(), std::min(part.size(), sizeof(line_) - s_.line_len));
  s_.line_len += part.size();
}

// `line` is a whole line without its CRLF, or its first sizeof(line_) bytes when `length` is more.
void ServerSession::end_line(std::string_view line, size_t length) {
  if (s_.request_line) {
    if (line.empty()) return;  // RFC 9112 §2.2: empty lines before a request are ignored
    s_.request_line = false;
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (length > sizeof(line_) || sp1 == std::string_view::npos || sp2 == sp1) {
      s_.bad = true;
      return;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    s_.target_ok = content_->path().empty() || target == content_->path();
    if (version == "HTTP/1.0") s_.http10 = true;
    else if (version != "HTTP/1.1") s_.bad = true;
    s_.head = method == "HEAD";
    s_.method_ok = s_.head || method == "GET";
    return;
  }
  if (line.empty()) return end_request();
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    s_.bad = true;
    return;
  }
  const std::string_view name = line.substr(0, colon);
  // RFC 9112 §5.1: no whitespace in or after the field name, which is a token (RFC 9110 §5.6.2:
  // no CTL either). SP, HTAB and the CTLs are the bytes up to 0x20: one smallest byte, found
  // without a branch a byte (a loop testing SP and HTAB in turn took a third of a request).
  unsigned char smallest = 0xff;
  for (const char c : name) smallest = std::min(smallest, static_cast<unsigned char>(c));
  if (smallest <= 0x20) {
    s_.bad = true;
    return;
  }
  // Only five fields matter here (iequals() compares lengths first), and only their values are
  // trimmed: Host, User-Agent, Accept and the like cost five length compares.
  const auto value = [&] { return trim(line.substr(colon + 1)); };
  if (iequals(name, "connection")) {
    std::string_view rest = value();
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = trim(rest.substr(0, comma));
      if (iequals(token, "close")) s_.conn_close = true;
      if (iequals(token, "keep-alive")) s_.conn_keep_alive = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  } else if (iequals(name, "content-length")) {
    s_.has_body |= value() != "0";
  } else if (iequals(name, "transfer-encoding")) {
    s_.has_body = true;
  } else if (iequals(name, "range")) {
    parse_range(value());
  } else if (iequals(name, "if-range")) {
    s_.if_range = true;
  }
}

// RFC 9110 §14.1.1: ranges-specifier = "bytes=" int-range / suffix-range, of which we take one;
// several ranges (a comma), another unit or a malformed one leave s_.range false and the whole
// body is sent, which §14.2 allows ("a server MAY ignore the Range header field").
void ServerSession::parse_range(std::string_view value) {
  s_.range = false;
  constexpr std::string_view unit = "bytes=";
  if (value.size() < unit.size() || !iequals(value.substr(0, unit.size()), unit)) return;
  value.remove_prefix(unit.size());
  const size_t dash = value.find('-');
  if (dash == std::string_view::npos) return;
  auto number = [](std::string_view digits, uint64_t& out) {
    if (digits.empty() || digits.size() > 18) return false;  // 18 digits cannot overflow
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  const std::string_view first = trim(value.substr(0, dash));
  const std::string_view last = trim(value.substr(dash + 1));
  if (first.empty()) {
    s_.range_suffix = true;
    s_.range = number(last, s_.range_last);
    return;
  }
  s_.range_suffix = false;
  if (!number(first, s_.range_first)) return;
  if (last.empty()) {
    s_.range_last = UINT64_MAX;
  } else if (!number(last, s_.range_last) || s_.range_last < s_.range_first) {
    return;  // §14.1.1: last-pos < first-pos is invalid
  }
  s_.range = true;
}

void ServerSession::end_request() {
  s_.requests++;
  uint8_t kind;
  // FIXME: request bodies are refused rather than read; the load generator never sends one.
  if (s_.bad || s_.has_body) {
    kind = ServerContent::bad_request;
  } else if (!s_.method_ok) {
    kind = ServerContent::not_allowed;
  } else if (!s_.target_ok) {
    kind = ServerContent::not_found;
  } else {
    const bool keep = s_.http10 ? (s_.conn_keep_alive && !s_.conn_close) : !s_.conn_close;
    if (s_.head) kind = !keep ? ServerContent::head_close : s_.http10 ? ServerContent::head_keep_alive_10 : ServerContent::head_keep_alive;
    else kind = !keep ? ServerContent::get_close : s_.http10 ? ServerContent::get_keep_alive_10 : ServerContent::get_keep_alive;
    // RFC 9110 §14.2: only GET has range handling; HEAD ignores Range.
    if (!s_.head && s_.range && !s_.if_range && !content_->partial_prefix().empty()) {
      const uint64_t size = content_->body().size();
      if (s_.range_suffix) {
        // §14.1.3: the last N bytes, the whole body when it is shorter; -0 selects nothing.
        if (s_.range_last == 0 || size == 0) {
          kind = ServerContent::range_not_satisfiable;
        } else {
          kind = ServerContent::partial;
          s_.range_first = size - std::min(s_.range_last, size);
          s_.range_last = size - 1;
        }
      } else if (s_.range_first >= size) {
        kind = ServerContent::range_not_satisfiable;  // §14.1.2: the first byte is past the end
      } else {
        kind = ServerContent::partial;
        s_.range_last = std::min(s_.range_last, size - 1);
      }
      if (kind == ServerContent::partial) queue_partial(s_.range_first, s_.range_last, !keep, s_.http10);
    }
  }
  if (kind != ServerContent::partial) queue(kind);
  s_.header_bytes = 0;
  s_.request_line = true;
  s_.bad = s_.head = s_.method_ok = s_.target_ok = s_.http10 = s_.conn_close = s_.conn_keep_alive = s_.has_body = false;
  s_.range = s_.range_suffix = s_.if_range = false;
}

void ServerSession::queue_partial(uint64_t first, uint64_t last, bool close, bool http10) {
  if (s_.run_count == kMaxQueued || s_.part_count == kMaxRanges) {
    // As in queue(): what is queued is sent, then the connection closes.
    s_.closing = true;
    return;
  }
  parts_[(s_.part_head + s_.part_count) % kMaxRanges] = Part{first, last - first + 1, close, http10};
  s_.part_count++;
  runs_[(s_.run_head + s_.run_count) % kMaxQueued] = Run{ServerContent::partial, 1};
  s_.run_count++;
  s_.closing |= close;
  if (s_.run_count == 1) format_partial_head();
}

// The front 206's head: the shared prefix, then Content-Range (RFC 9110 §14.4), Content-Length
// and the Connection header as the 200 would have it.
void ServerSession::format_partial_head() {
  const Part& p = parts_[s_.part_head];
  const auto prefix = content_->partial_prefix();
  std::memcpy(partial_head_, prefix.data(), prefix.size());
  const int n = std::snprintf(partial_head_ + prefix.size(), sizeof(partial_head_) - prefix.size(),
                              "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%zu\r\nContent-Length: %" PRIu64 "\r\n%s\r\n",
                              p.first, p.first + p.length - 1, content_->body().size(), p.length,
                              p.close ? "Connection: close\r\n" : p.http10 ? "Connection: keep-alive\r\n" : "");
  s_.partial_head_len = prefix.size() + static_cast<size_t>(n);  // the buffer holds the longest
}

ServerContent::Response ServerSession::front() const {
  const uint8_t kind = runs_[s_.run_head].kind;
  if (kind != ServerContent::partial) return content_->http(kind);
  const Part& p = parts_[s_.part_head];
  return {std::as_bytes(std::span(partial_head_, s_.partial_head_len)), content_->body().subspan(p.first, p.length)};
}

void ServerSession::queue(uint8_t kind) {
  if (s_.run_count > 0 && kind != ServerContent::partial) {
    Run& last = runs_[(s_.run_head + s_.run_count - 1) % kMaxQueued];
    if (last.kind == kind) {
      last.count++;
      s_.closing |= ServerContent::closes(kind);
      return;
    }
  }
  if (s_.run_count == kMaxQueued) {
    // A client pipelining this many alternating kinds gets what is queued, then a close.
    s_.closing = true;
    return;
  }
  runs_[(s_.run_head + s_.run_count) % kMaxQueued] = Run{kind, 1};
  s_.run_count++;
  s_.closing |= ServerContent::closes(kind);
}

std::span<const std::byte> ServerSession::pending() const {
  switch (content_->spec().mode) {
    case ServeMode::echo:
      return s_.responses_owed ? content_->raw_response().subspan(s_.offset) : std::span<const std::byte>();
    case ServeMode::http:
      return s_.run_count ? front().from(s_.offset) : std::span<const std::byte>();
    case ServeMode::sink:
      return {};
    case ServeMode::source:
      return content_->source_chunk();
  }
  return {};
}

void ServerSession::sent(size_t n) {
  switch (content_->spec().mode) {
    case ServeMode::echo:
      s_.offset += n;
      if (s_.offset == content_->raw_response().size()) {
        s_.offset = 0;
        s_.responses_owed--;
      }
      return;
    case ServeMode::http:
      s_.offset += n;
      if (s_.offset == front().size()) {
        s_.offset = 0;
        if (runs_[s_.run_head].kind == ServerContent::partial) {
          s_.part_head = (s_.part_head + 1) % kMaxRanges;
          s_.part_count--;
        }
        if (--runs_[s_.run_head].count == 0) {
          s_.run_head = (s_.run_head + 1) % kMaxQueued;
          s_.run_count--;
          if (s_.run_count > 0 && runs_[s_.run_head].kind == ServerContent::partial) format_partial_head();
        }
      }
      return;
    case ServeMode::sink:
    case ServeMode::source:
      return;
  }
}

}  // namespace dtcp::loadgen
