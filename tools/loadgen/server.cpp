#include "loadgen/server.hpp"

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

void ServerSession::reset() {
  const ServerContent* content = content_;
  *this = ServerSession(*content);
}

void ServerSession::on_data(std::span<const std::byte> data) {
  switch (content_->spec().mode) {
    case ServeMode::echo: {
      const uint64_t size = content_->spec().request_size;
      request_bytes_ += data.size();
      responses_owed_ += request_bytes_ / size;
      request_bytes_ %= size;
      return;
    }
    case ServeMode::http:
      for (std::byte b : data) {
        if (closing_) return;
        http_byte(static_cast<char>(b));
      }
      return;
    case ServeMode::sink:
    case ServeMode::source:
      return;
  }
}

void ServerSession::http_byte(char c) {
  if (++header_bytes_ > kMaxHeader) return queue(ServerContent::too_large);
  if (c == '\n') {
    if (line_len_ > 0 && line_len_ <= sizeof(line_) && line_[line_len_ - 1] == '\r') line_len_--;
    end_line();
    line_len_ = 0;
    return;
  }
  if (line_len_ < sizeof(line_)) line_[line_len_] = c;
  line_len_++;
  // A line longer than the buffer keeps its start; only the request line needs its end (the
  // version), and a request line that long is refused below.
}

void ServerSession::end_line() {
  const std::string_view line(line_, std::min(line_len_, sizeof(line_)));
  if (request_line_) {
    if (line.empty()) return;  // RFC 9112 §2.2: empty lines before a request are ignored
    request_line_ = false;
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (line_len_ > sizeof(line_) || sp1 == std::string_view::npos || sp2 == sp1) {
      bad_ = true;
      return;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    target_ok_ = content_->path().empty() || target == content_->path();
    if (version == "HTTP/1.0") http10_ = true;
    else if (version != "HTTP/1.1") bad_ = true;
    head_ = method == "HEAD";
    method_ok_ = head_ || method == "GET";
    return;
  }
  if (line.empty()) return end_request();
  const size_t colon = line.find(':');
  // RFC 9112 §5.1: no whitespace in or after the field name.
  if (colon == std::string_view::npos || colon == 0 || line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
    bad_ = true;
    return;
  }
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "connection")) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = trim(rest.substr(0, comma));
      if (iequals(token, "close")) conn_close_ = true;
      if (iequals(token, "keep-alive")) conn_keep_alive_ = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  } else if (iequals(name, "content-length")) {
    has_body_ |= value != "0";
  } else if (iequals(name, "transfer-encoding")) {
    has_body_ = true;
  } else if (iequals(name, "range")) {
    parse_range(value);
  } else if (iequals(name, "if-range")) {
    if_range_ = true;
  }
}

// RFC 9110 §14.1.1: ranges-specifier = "bytes=" int-range / suffix-range, of which we take one;
// several ranges (a comma), another unit or a malformed one leave range_ false and the whole
// body is sent, which §14.2 allows ("a server MAY ignore the Range header field").
void ServerSession::parse_range(std::string_view value) {
  range_ = false;
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
    range_suffix_ = true;
    range_ = number(last, range_last_);
    return;
  }
  range_suffix_ = false;
  if (!number(first, range_first_)) return;
  if (last.empty()) {
    range_last_ = UINT64_MAX;
  } else if (!number(last, range_last_) || range_last_ < range_first_) {
    return;  // §14.1.1: last-pos < first-pos is invalid
  }
  range_ = true;
}

void ServerSession::end_request() {
  requests_++;
  uint8_t kind;
  // FIXME: request bodies are refused rather than read; the load generator never sends one.
  if (bad_ || has_body_) {
    kind = ServerContent::bad_request;
  } else if (!method_ok_) {
    kind = ServerContent::not_allowed;
  } else if (!target_ok_) {
    kind = ServerContent::not_found;
  } else {
    const bool keep = http10_ ? (conn_keep_alive_ && !conn_close_) : !conn_close_;
    if (head_) kind = !keep ? ServerContent::head_close : http10_ ? ServerContent::head_keep_alive_10 : ServerContent::head_keep_alive;
    else kind = !keep ? ServerContent::get_close : http10_ ? ServerContent::get_keep_alive_10 : ServerContent::get_keep_alive;
    // RFC 9110 §14.2: only GET has range handling; HEAD ignores Range.
    if (!head_ && range_ && !if_range_ && !content_->partial_prefix().empty()) {
      const uint64_t size = content_->body().size();
      if (range_suffix_) {
        // §14.1.3: the last N bytes, the whole body when it is shorter; -0 selects nothing.
        if (range_last_ == 0 || size == 0) {
          kind = ServerContent::range_not_satisfiable;
        } else {
          kind = ServerContent::partial;
          range_first_ = size - std::min(range_last_, size);
          range_last_ = size - 1;
        }
      } else if (range_first_ >= size) {
        kind = ServerContent::range_not_satisfiable;  // §14.1.2: the first byte is past the end
      } else {
        kind = ServerContent::partial;
        range_last_ = std::min(range_last_, size - 1);
      }
      if (kind == ServerContent::partial) queue_partial(range_first_, range_last_, !keep, http10_);
    }
  }
  if (kind != ServerContent::partial) queue(kind);
  header_bytes_ = 0;
  request_line_ = true;
  bad_ = head_ = method_ok_ = target_ok_ = http10_ = conn_close_ = conn_keep_alive_ = has_body_ = false;
  range_ = range_suffix_ = if_range_ = false;
}

void ServerSession::queue_partial(uint64_t first, uint64_t last, bool close, bool http10) {
  if (run_count_ == kMaxQueued || part_count_ == kMaxRanges) {
    // As in queue(): what is queued is sent, then the connection closes.
    closing_ = true;
    return;
  }
  parts_[(part_head_ + part_count_) % kMaxRanges] = Part{first, last - first + 1, close, http10};
  part_count_++;
  runs_[(run_head_ + run_count_) % kMaxQueued] = Run{ServerContent::partial, 1};
  run_count_++;
  closing_ |= close;
  if (run_count_ == 1) format_partial_head();
}

// The front 206's head: the shared prefix, then Content-Range (RFC 9110 §14.4), Content-Length
// and the Connection header as the 200 would have it.
void ServerSession::format_partial_head() {
  const Part& p = parts_[part_head_];
  const auto prefix = content_->partial_prefix();
  std::memcpy(partial_head_, prefix.data(), prefix.size());
  const int n = std::snprintf(partial_head_ + prefix.size(), sizeof(partial_head_) - prefix.size(),
                              "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%zu\r\nContent-Length: %" PRIu64 "\r\n%s\r\n",
                              p.first, p.first + p.length - 1, content_->body().size(), p.length,
                              p.close ? "Connection: close\r\n" : p.http10 ? "Connection: keep-alive\r\n" : "");
  partial_head_len_ = prefix.size() + static_cast<size_t>(n);  // the buffer holds the longest
}

ServerContent::Response ServerSession::front() const {
  const uint8_t kind = runs_[run_head_].kind;
  if (kind != ServerContent::partial) return content_->http(kind);
  const Part& p = parts_[part_head_];
  return {std::as_bytes(std::span(partial_head_, partial_head_len_)), content_->body().subspan(p.first, p.length)};
}

void ServerSession::queue(uint8_t kind) {
  if (run_count_ > 0 && kind != ServerContent::partial) {
    Run& last = runs_[(run_head_ + run_count_ - 1) % kMaxQueued];
    if (last.kind == kind) {
      last.count++;
      closing_ |= ServerContent::closes(kind);
      return;
    }
  }
  if (run_count_ == kMaxQueued) {
    // A client pipelining this many alternating kinds gets what is queued, then a close.
    closing_ = true;
    return;
  }
  runs_[(run_head_ + run_count_) % kMaxQueued] = Run{kind, 1};
  run_count_++;
  closing_ |= ServerContent::closes(kind);
}

std::span<const std::byte> ServerSession::pending() const {
  switch (content_->spec().mode) {
    case ServeMode::echo:
      return responses_owed_ ? content_->raw_response().subspan(offset_) : std::span<const std::byte>();
    case ServeMode::http:
      return run_count_ ? front().from(offset_) : std::span<const std::byte>();
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
      offset_ += n;
      if (offset_ == content_->raw_response().size()) {
        offset_ = 0;
        responses_owed_--;
      }
      return;
    case ServeMode::http:
      offset_ += n;
      if (offset_ == front().size()) {
        offset_ = 0;
        if (runs_[run_head_].kind == ServerContent::partial) {
          part_head_ = (part_head_ + 1) % kMaxRanges;
          part_count_--;
        }
        if (--runs_[run_head_].count == 0) {
          run_head_ = (run_head_ + 1) % kMaxQueued;
          run_count_--;
          if (run_count_ > 0 && runs_[run_head_].kind == ServerContent::partial) format_partial_head();
        }
      }
      return;
    case ServeMode::sink:
    case ServeMode::source:
      return;
  }
}

}  // namespace dtcp::loadgen
