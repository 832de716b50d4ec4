// The ServerSession protocols (loadgen/server.hpp) served on dtcp: dtcp-loadgen's --serve-*
// servers and dtcp-http both run this App, so the two answer alike and cost alike.
#pragma once

#include <memory>
#include <vector>

#include "dtcp/runtime.hpp"
#include "loadgen/server.hpp"

namespace dtcp::loadgen {

// Listens on the given ports of one Stack and serves each with its ServeSpec. Handlers are
// pooled, so no request allocates; a response is sent from the shared content as send space
// frees up (on_writable), with the session's offset into it.
class DtcpServerApp final : public App {
 public:
  struct Listen {
    ServeSpec spec;
    uint16_t port = 0;
  };
  // `program` prefixes the error logged when a port cannot be listened on.
  explicit DtcpServerApp(const std::vector<Listen>& listens, const char* program = "dtcp-loadgen");
  ~DtcpServerApp() override;
  void on_start(Stack& stack) override;

 private:
  struct Listener;
  struct Conn;
  const char* program_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Conn>> conns_;  // every handler ever made, for the destructor
  std::vector<Conn*> free_;                   // handlers ready for reuse
  friend struct Listener;
  friend struct Conn;
};

}  // namespace dtcp::loadgen
