// dtcp-http: a minimal HTTP/1.1 server on dtcp for curl, wrk, ab and load generators.
//
// GET or HEAD of any path returns --body-size bytes of 'x' (or the --file contents for its
// path); keep-alive is the HTTP/1.1 default, HTTP/1.0 closes unless it asks for keep-alive,
// pipelined requests are answered in order. Anything else gets 400/404/405/431 and a close.
#include <cctype>
#include <cstdio>
#include <optional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"

namespace {

using dtcp::Connection;

constexpr const char* kEmbeddedConfig = R"(
[port]
vdev = net_tap0,iface=dtcp0
address = 198.18.0.1/24
[runtime]
idle = auto
)";

constexpr const char* kUsage = R"(Usage: dtcp-http [--config FILE] [--port N] [--body-size N | --file PATH] [--duration S] [LCORE FLAGS] [-- EAL ARGS]
  --port N        listening port on every Stack (default 80), for IPv4 and IPv6 alike
  --body-size N   bytes in each response body (default 64)
  --file PATH     serve this file's contents at /NAME (its base name); other paths get 404
  --duration S    stop after S seconds (default: until interrupted)
  --config FILE   INI configuration (default: net_tap port dtcp0 with 198.18.0.1/24)
)";

constexpr size_t kMaxHeader = 8192;  // like nginx's large_client_header_buffers default

struct Content {
  std::string body;
  std::string path;  // empty: every path
};

class HttpConnection final : public dtcp::ConnectionHandler {
 public:
  explicit HttpConnection(const Content& content) : content_(content) {}

  void on_readable(Connection& c) override {
    std::array<std::span<const std::byte>, 16> iov;
    while (c.readable() > 0 && request_.size() < kMaxHeader * 4) {
      const size_t n = c.peek(iov);
      size_t total = 0;
      for (size_t i = 0; i < n; i++) {
        request_.append(reinterpret_cast<const char*>(iov[i].data()), iov[i].size());
        total += iov[i].size();
      }
      c.consume(total);
    }
    serve(c);
  }
  void on_writable(Connection& c) override { serve(c); }
  void on_peer_closed(Connection& c) override {
    peer_closed_ = true;
    serve(c);
  }
  void on_closed(Connection&, dtcp::CloseReason) override { delete this; }

 private:
  // Answers every complete request while the send buffer takes whole responses.
  void serve(Connection& c) {
    while (!closing_) {
      if (!pending_.empty()) {
        const size_t took = c.send(std::as_bytes(std::span(pending_.data(), pending_.size())));
        pending_.erase(0, took);
        if (!pending_.empty()) return;  // on_writable continues
        if (close_after_) return finish(c);
      }
      const size_t end = request_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (request_.size() > kMaxHeader) return respond_error(c, "431 Request Header Fields Too Large");
        if (peer_closed_) return finish(c);
        return;
      }
      handle(std::string_view(request_).substr(0, end));
      request_.erase(0, end + 4);
    }
  }

  void handle(std::string_view head) {
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return queue_error("400 Bad Request");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return queue_error("400 Bad Request");
    // FIXME: request bodies (Content-Length/chunked on GET) are not read; such requests are rare.
    bool keep_alive = version == "HTTP/1.1";
    std::string lower(head.substr(line_end == std::string_view::npos ? head.size() : line_end));
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.find("\r\nconnection: close") != std::string::npos) keep_alive = false;
    if (lower.find("\r\nconnection: keep-alive") != std::string::npos) keep_alive = true;
    if (method != "GET" && method != "HEAD") return queue_error("405 Method Not Allowed");
    if (!content_.path.empty() && target != content_.path) return queue_error("404 Not Found");
    // HTTP/1.0 clients keep the connection only when the response says so (RFC 9112 9.3).
    const char* connection = !keep_alive ? "\r\nConnection: close\r\n\r\n"
                             : version == "HTTP/1.0" ? "\r\nConnection: keep-alive\r\n\r\n"
                                                     : "\r\n\r\n";
    pending_ += "HTTP/1.1 200 OK\r\nServer: dtcp\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(content_.body.size()) + connection;
    if (method == "GET") pending_ += content_.body;
    close_after_ = !keep_alive;
  }

  void queue_error(const char* status) {
    pending_ += std::string("HTTP/1.1 ") + status + "\r\nServer: dtcp\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    close_after_ = true;
  }
  void respond_error(Connection& c, const char* status) {
    queue_error(status);
    request_.clear();
    serve(c);
  }
  void finish(Connection& c) {
    closing_ = true;
    // Unread bytes would make close() send RST; after an error we drop them on purpose.
    c.consume(c.readable());
    c.close();
    delete this;
  }

  const Content& content_;
  std::string request_;
  std::string pending_;
  bool close_after_ = false;
  bool peer_closed_ = false;
  bool closing_ = false;
};

class HttpApp final : public dtcp::tools::StopAfter, public dtcp::ListenHandler {
 public:
  HttpApp(uint16_t port, const Content& content, dtcp::Duration limit)
      : StopAfter(limit), port_(port), content_(content) {}
  void on_start(dtcp::Stack& stack) override {
    const auto result = stack.listen(port_, *this, {.nodelay = true});
    if (!result.ok()) {
      std::fprintf(stderr, "dtcp-http: listen on port %u: %s\n", port_, to_string(result.error));
      stack.request_stop();
    }
  }
  dtcp::ConnectionHandler* on_accept(Connection&) override { return new HttpConnection(content_); }

 private:
  uint16_t port_;
  const Content& content_;
};

}  // namespace

static int run_main(int argc, char** argv) {
  const char* program = "dtcp-http";
  auto args = dtcp::tools::split_args(argc, argv);
  uint16_t port = 80;
  uint64_t body_size = 64;
  uint64_t duration_s = 0;
  std::optional<std::string> file;
  for (size_t i = 0; i < args.rest.size(); i++) {
    if (args.rest[i] == "--help" || args.rest[i] == "-h") {
      std::fputs(kUsage, stdout);
      std::fputs(dtcp::tools::kCommonUsage, stdout);
      return 0;
    }
    if (auto v = dtcp::tools::flag_value(program, args.rest, i, "--port")) {
      port = static_cast<uint16_t>(dtcp::tools::parse_number(program, "--port", *v, 1, 65535));
    } else if (auto v = dtcp::tools::flag_value(program, args.rest, i, "--body-size")) {
      body_size = dtcp::tools::parse_number(program, "--body-size", *v, 0, 1ull << 30);
    } else if (auto v = dtcp::tools::flag_value(program, args.rest, i, "--file")) {
      file = *v;
    } else if (auto v = dtcp::tools::flag_value(program, args.rest, i, "--duration")) {
      duration_s = dtcp::tools::parse_number(program, "--duration", *v, 1, 86400 * 365);
    } else {
      dtcp::tools::usage_error(program, "unknown option '" + args.rest[i] + "'");
    }
  }
  Content content;
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) dtcp::tools::usage_error(program, "--file: cannot read '" + *file + "'");
    std::ostringstream data;
    data << in.rdbuf();
    content.body = data.str();
    content.path = "/" + file->substr(file->find_last_of('/') + 1);
  } else {
    content.body.assign(body_size, 'x');
  }
  const dtcp::Config config = dtcp::tools::load_config_or_default(program, args, kEmbeddedConfig, "<embedded default>");
  std::fprintf(stderr, "%s: serving %zu-byte bodies on port %u\n", program, content.body.size(), port);
  const dtcp::Duration limit = std::chrono::seconds(duration_s);
  return dtcp::tools::run_stack(program, config, args,
                                [&](dtcp::Stack&) { return std::make_unique<HttpApp>(port, content, limit); });
}

// A leak found by the exit-time accounting fails the exit status (after the tool's own reports).
int main(int argc, char** argv) { return dtcp::tools::exit_status(run_main(argc, argv)); }
