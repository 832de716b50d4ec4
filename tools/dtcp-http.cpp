// dtcp-http: a minimal HTTP/1.1 server on dtcp for curl, wrk, ab and load generators.
//
// GET or HEAD of any path returns --body-size bytes of 'x' (or the --file contents for its
// path); keep-alive is the HTTP/1.1 default, HTTP/1.0 closes unless it asks for keep-alive,
// pipelined requests are answered in order. Anything else gets 400/404/405/431 and a close.
// A large body (a big --file) is sent from one shared copy as the send buffer frees up.
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "dtcp/runtime.hpp"
#include "loadgen/dtcp_server.hpp"

namespace {

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

// The server is dtcp-loadgen's (loadgen/server.*, loadgen/dtcp_server.*): one implementation
// answers both. Here it runs beside the --duration limit.
class HttpApp final : public dtcp::tools::StopAfter {
 public:
  HttpApp(const std::vector<dtcp::loadgen::DtcpServerApp::Listen>& listens, dtcp::Duration limit)
      : StopAfter(limit), server_(listens, "dtcp-http") {}
  void on_start(dtcp::Stack& stack) override { server_.on_start(stack); }

 private:
  dtcp::loadgen::DtcpServerApp server_;
};

// The file's bytes, read once at start and shared by every lcore and every request. A copy
// rather than an mmap: a file truncated while it is served would make a mapping fault
// (SIGBUS) where a copy keeps serving what was read.
std::shared_ptr<const std::vector<std::byte>> read_file(const char* program, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) dtcp::tools::usage_error(program, "--file: cannot read '" + path + "'");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) dtcp::tools::usage_error(program, "--file: cannot size '" + path + "'");
  in.seekg(0);
  auto data = std::make_shared<std::vector<std::byte>>(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(data->data()), size);
  if (in.gcount() != size) dtcp::tools::usage_error(program, "--file: short read of '" + path + "'");
  return data;
}

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
  dtcp::loadgen::ServeSpec spec{.mode = dtcp::loadgen::ServeMode::http, .body_size = body_size};
  spec.server = "dtcp";
  spec.content_type = "application/octet-stream";
  if (file) {
    spec.body = read_file(program, *file);
    spec.path = "/" + file->substr(file->find_last_of('/') + 1);
  }
  const size_t bytes = spec.body ? spec.body->size() : spec.body_size;
  const std::vector<dtcp::loadgen::DtcpServerApp::Listen> listens{{.spec = spec, .port = port}};
  const dtcp::Config config = dtcp::tools::load_config_or_default(program, args, kEmbeddedConfig, "<embedded default>");
  std::fprintf(stderr, "%s: serving %zu-byte bodies on port %u\n", program, bytes, port);
  const dtcp::Duration limit = std::chrono::seconds(duration_s);
  return dtcp::tools::run_stack(program, config, args,
                                [&](dtcp::Stack&) { return std::make_unique<HttpApp>(listens, limit); });
}

// A leak found by the exit-time accounting fails the exit status (after the tool's own reports).
int main(int argc, char** argv) { return dtcp::tools::exit_status(run_main(argc, argv)); }
