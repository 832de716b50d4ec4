// The README's API example: a complete echo server on dtcp (built, so it stays true).

#include "dtcp/runtime.hpp"

struct Echo final : dtcp::ConnectionHandler {
  bool peer_done = false;

  void on_readable(dtcp::Connection& c) override {
    // Edge-triggered: hand every readable byte (zero-copy views of the received mbufs) to send(),
    // which copies them into the send buffer, until none is left or the buffer is full
    // (on_writable() follows); what send() took is consumed, freeing mbufs and opening the window.
    dtcp::forward_readable(c, [&c](std::span<const std::byte> bytes) { return c.send(bytes); });
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
