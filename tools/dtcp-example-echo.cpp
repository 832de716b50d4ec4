// The README's API example: a complete echo server on dtcp (built, so it stays true).
#include <array>

#include "dtcp/runtime.hpp"

struct Echo final : dtcp::ConnectionHandler {
  bool peer_done = false;

  void on_readable(dtcp::Connection& c) override {
    std::array<std::span<const std::byte>, 8> iov;
    // Edge-triggered: one arrival (a coalesced or passed-through super-segment) can fill more
    // mbufs than iov holds, so drain until nothing is left or the send buffer is full.
    bool full = false;
    while (!full && c.readable() > 0) {
      const size_t n = c.peek(iov);        // zero-copy views of the received mbufs
      size_t moved = 0;
      for (size_t i = 0; i < n && !full; i++) {
        const size_t took = c.send(iov[i]);  // copies into the send buffer
        moved += took;
        full = took < iov[i].size();       // full: on_writable() follows
      }
      c.consume(moved);                    // frees mbufs, opens the window
    }
    if (peer_done && c.readable() == 0) {
      c.close();                           // FIN after the queued bytes; no callbacks after this
      delete this;
    }
  }
  void on_writable(dtcp::Connection& c) override { on_readable(c); }
  void on_peer_closed(dtcp::Connection& c) override {
    peer_done = true;
    on_readable(c);
  }
  void on_closed(dtcp::Connection&, dtcp::CloseReason) override { delete this; }
};

struct Server final : dtcp::App, dtcp::ListenHandler {
  void on_start(dtcp::Stack& stack) override { stack.listen(7, *this, {}); }
  dtcp::ConnectionHandler* on_accept(dtcp::Connection&) override { return new Echo; }
};

int main(int argc, char** argv) {
  try {
    auto runtime = dtcp::Runtime::start(dtcp::load_config(argc > 1 ? argv[1] : "config/tap.ini"), {}, argv[0]);
    runtime->install_signal_handlers();
    runtime->run([](dtcp::Stack&) { return std::make_unique<Server>(); });
  } catch (const std::exception& e) {  // ConfigError, RuntimeError: the message says what and where
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
