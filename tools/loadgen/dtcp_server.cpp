#include "loadgen/dtcp_server.hpp"

#include <array>

#include "dtcp/log.hpp"

namespace dtcp::loadgen {

struct DtcpServerApp::Conn final : ConnectionHandler {
  Conn(DtcpServerApp& app, const ServerContent& content) : app(&app), session(content) {}
  DtcpServerApp* app;
  ServerSession session;
  bool peer_closed = false;

  void start(Connection& c, const ServerContent& content) {
    session.reset(content);
    peer_closed = false;
    flush(c);
  }
  void on_readable(Connection& c) override {
    std::array<std::span<const std::byte>, 16> iov;
    while (c.readable() > 0) {
      const size_t n = c.peek(iov);
      size_t total = 0;
      for (size_t i = 0; i < n; i++) {
        session.on_data(iov[i]);
        total += iov[i].size();
      }
      c.consume(total);
    }
    flush(c);
  }
  void on_writable(Connection& c) override { flush(c); }
  void on_peer_closed(Connection& c) override {
    peer_closed = true;
    const ServeMode mode = session.content().spec().mode;
    if (mode == ServeMode::source || mode == ServeMode::sink) return finish(c);
    flush(c);
  }
  void on_closed(Connection&, CloseReason) override { recycle(); }

  // Sends what is owed while the send buffer takes it; closes once the protocol or the peer
  // is done and nothing is owed.
  void flush(Connection& c) {
    for (auto pending = session.pending(); !pending.empty(); pending = session.pending()) {
      const size_t took = c.send(pending);
      session.sent(took);
      if (took < pending.size()) return;  // on_writable() continues
    }
    if (session.done() || peer_closed) finish(c);
  }
  void finish(Connection& c) {
    c.consume(c.readable());
    c.close();
    recycle();
  }
  void recycle() { app->free_.push_back(this); }
};

struct DtcpServerApp::Listener final : ListenHandler {
  Listener(DtcpServerApp& app, const Listen& l) : app(&app), port(l.port), content(l.spec) {}
  DtcpServerApp* app;
  uint16_t port;
  ServerContent content;

  ConnectionHandler* on_accept(Connection& c) override {
    Conn* h;
    if (!app->free_.empty()) {
      h = app->free_.back();
      app->free_.pop_back();
    } else {
      app->conns_.push_back(std::make_unique<Conn>(*app, content));
      h = app->conns_.back().get();
    }
    h->start(c, content);
    return h;
  }
};

DtcpServerApp::DtcpServerApp(const std::vector<Listen>& listens, const char* program) : program_(program) {
  for (const auto& l : listens) listeners_.push_back(std::make_unique<Listener>(*this, l));
}

DtcpServerApp::~DtcpServerApp() = default;

void DtcpServerApp::on_start(Stack& stack) {
  for (auto& l : listeners_) {
    const ListenResult r = stack.listen(l->port, *l, {.nodelay = true});
    if (!r.ok()) {
      write_log(LogType::loadgen, LogLevel::error, "%s: listen on port %u: %s\n", program_, l->port,
                to_string(r.error));
      stack.request_stop();
    }
  }
}

}  // namespace dtcp::loadgen
