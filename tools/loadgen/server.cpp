#include "loadgen/server.hpp"

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
  if (inline_body) body_owner_.reset();  // copied into the responses; nothing to hold
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
  }
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
  }
  queue(kind);
  header_bytes_ = 0;
  request_line_ = true;
  bad_ = head_ = method_ok_ = target_ok_ = http10_ = conn_close_ = conn_keep_alive_ = has_body_ = false;
}

void ServerSession::queue(uint8_t kind) {
  if (run_count_ > 0) {
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
      return run_count_ ? content_->http(runs_[run_head_].kind).from(offset_) : std::span<const std::byte>();
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
      if (offset_ == content_->http(runs_[run_head_].kind).size()) {
        offset_ = 0;
        if (--runs_[run_head_].count == 0) {
          run_head_ = (run_head_ + 1) % kMaxQueued;
          run_count_--;
        }
      }
      return;
    case ServeMode::sink:
    case ServeMode::source:
      return;
  }
}

}  // namespace dtcp::loadgen
