// The engine driven through a scripted transport, with literal times: what it sends, when it
// opens and closes connections, what it counts.
#include "loadgen/engine.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace dtcp::loadgen {
namespace {

constexpr Nanos kMs = 1'000'000;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class FakeTransport final : public Transport {
 public:
  struct Conn {
    bool open = false;
    std::string sent;
  };
  OpenStatus open(uint32_t slot, Source source, ErrorKind& error) override {
    opens.push_back(source);
    if (busy.count(source.addr.v4().value)) return OpenStatus::tuple_busy;
    if (fail_open) {
      error = ErrorKind::local;
      return OpenStatus::failed;
    }
    conns.resize(std::max<size_t>(conns.size(), slot + 1));
    EXPECT_FALSE(conns[slot].open) << "slot " << slot << " opened twice";
    conns[slot] = Conn{true, ""};
    return OpenStatus::ok;
  }
  size_t send(uint32_t slot, std::span<const std::byte> data) override {
    EXPECT_TRUE(conns.at(slot).open);
    const size_t n = std::min(data.size(), send_budget);
    send_budget -= n;
    conns[slot].sent.append(reinterpret_cast<const char*>(data.data()), n);
    return n;
  }
  void close(uint32_t slot) override {
    EXPECT_TRUE(conns.at(slot).open);
    conns[slot].open = false;
    closes++;
  }
  void abort(uint32_t slot) override {
    EXPECT_TRUE(conns.at(slot).open);
    conns[slot].open = false;
    aborts++;
  }
  // Takes what the slot has sent so far.
  std::string take(uint32_t slot) { return std::exchange(conns.at(slot).sent, {}); }

  std::vector<Conn> conns;
  std::vector<Source> opens;
  std::set<uint32_t> busy;  // source addresses whose tuples are in use
  bool fail_open = false;
  size_t send_budget = SIZE_MAX;  // bytes the stack takes in all
  int closes = 0;
  int aborts = 0;
};

constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

LoadSpec http_spec(Mode mode, uint32_t connections, uint64_t requests) {
  LoadSpec spec;
  spec.mode = mode;
  spec.protocol = Protocol::http;
  spec.connections = connections;
  spec.requests = requests;
  spec.duration = 0;
  spec.http_request = std::string(kRequest);
  return spec;
}

TEST(Engine, ClosedLoopRr_ExactlyNRequestsOverKeptConnections) {
  const LoadSpec spec = http_spec(Mode::rr, 2, 7);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  ASSERT_EQ(t.opens.size(), 2u);  // one request per connection, each connecting
  e.on_connected(0, 1 * kMs);
  e.on_connected(1, 1 * kMs);
  int answered = 0;
  // Bounded, so that an engine that stops sending (a parser that rejects the response) fails the
  // checks below instead of spinning until the test's timeout.
  for (Nanos now = 2 * kMs; answered < 7 && now < 1000 * kMs; now += kMs) {
    for (uint32_t slot = 0; slot < 2 && answered < 7; slot++) {
      if (t.take(slot).empty()) continue;
      e.on_data(slot, bytes(kResponse), now);
      answered++;
    }
    e.poll(now);
  }
  e.poll(100 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.stats().requests, 7u);
  EXPECT_EQ(e.stats().errors_total(), 0u);
  EXPECT_EQ(e.stats().latency.count(), 7u);
  EXPECT_EQ(t.opens.size(), 2u);  // keep-alive: no reconnects
  EXPECT_EQ(t.closes, 2);         // both closed at the end
  EXPECT_EQ(e.stats().connections, 2u);
  EXPECT_EQ(t.take(0) + t.take(1), "");  // nothing beyond the 7th request
}

TEST(Engine, ClosedLoopRr_LatencyFromSend) {
  const LoadSpec spec = http_spec(Mode::rr, 1, 2);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 3 * kMs);
  EXPECT_EQ(t.take(0), kRequest);
  e.on_data(0, bytes(kResponse), 5 * kMs);  // request 0: issued at 0 -> 5 ms
  EXPECT_EQ(t.take(0), kRequest);           // request 1 at once on the same connection
  e.on_data(0, bytes(kResponse).first(10), 6 * kMs);
  e.on_data(0, bytes(kResponse).subspan(10), 7 * kMs);  // request 1: 5 ms -> 7 ms
  e.poll(7 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.stats().latency.max(), uint64_t(5 * kMs));
  EXPECT_EQ(e.stats().latency.min(), uint64_t(2 * kMs));
}

TEST(Engine, ConnMode_OpensOneConnectionPerRequest) {
  const LoadSpec spec = http_spec(Mode::conn, 2, 5);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  Nanos now = 0;
  int answered = 0;
  while (answered < 5) {
    now += kMs;
    for (uint32_t slot = 0; slot < t.conns.size(); slot++) {
      if (!t.conns[slot].open) continue;
      e.on_connected(slot, now);
      ASSERT_EQ(t.take(slot), kRequest);
      e.on_data(slot, bytes(kResponse), now);
      answered++;
      EXPECT_FALSE(t.conns[slot].open);  // closed after its one response
    }
    e.poll(now);
  }
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(t.opens.size(), 5u);
  EXPECT_EQ(t.closes, 5);
  EXPECT_EQ(e.stats().requests, 5u);
  EXPECT_EQ(e.stats().connections, 5u);
}

TEST(Engine, OpenLoop_LatencyCountsFromScheduleAndLateRequestsAreCounted) {
  LoadSpec spec;
  spec.mode = Mode::rr;
  spec.protocol = Protocol::raw;
  spec.request_size = 4;
  spec.response_size = 3;
  spec.connections = 1;
  spec.rate = 1000;  // one per ms
  spec.requests = 4;
  spec.duration = 0;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);                         // request 0 due at 0: opens
  e.on_connected(0, kMs / 2);
  EXPECT_EQ(t.take(0), "abcd");
  e.poll(3 * kMs + 200'000);          // requests 1..3 due, the only connection busy
  e.on_data(0, bytes("xy"), 3 * kMs + 400'000);
  e.on_data(0, bytes("z"), 3 * kMs + 500'000);  // request 0 done; request 1 goes out at once
  EXPECT_EQ(t.take(0), "abcd");
  e.on_data(0, bytes("xyz"), 3 * kMs + 600'000);  // request 1 (scheduled at 1 ms)
  e.on_data(0, bytes("xyz"), 3 * kMs + 700'000);  // request 2 (2 ms)
  e.on_data(0, bytes("xyz"), 3 * kMs + 800'000);  // request 3 (3 ms)
  e.poll(4 * kMs);
  EXPECT_TRUE(e.finished());
  const Stats& s = e.stats();
  EXPECT_EQ(s.requests, 4u);
  EXPECT_EQ(s.late, 3u);
  EXPECT_EQ(s.latency.max(), uint64_t(3 * kMs + 500'000));  // request 0: from 0
  EXPECT_EQ(s.latency.min(), uint64_t(800'000));            // request 3: from 3 ms
  // Request 1 waited 2.6 ms behind request 0: that delay is in its latency.
  EXPECT_GE(s.latency.percentile(75), uint64_t(2 * kMs + 600'000));
}

TEST(Engine, OpenLoop_DurationEnd_CountsNotSent) {
  LoadSpec spec = http_spec(Mode::rr, 1, 0);
  spec.rate = 1000;
  spec.duration = 10 * kMs;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.poll(10 * kMs);  // time up with requests 1..10 due and never sent
  EXPECT_FALSE(e.finished());  // request 0 still in flight: drain
  e.on_data(0, bytes(kResponse), 11 * kMs);
  e.poll(11 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.stats().not_sent, 10u);
  EXPECT_EQ(e.stats().requests, 1u);
  EXPECT_EQ(e.stats().elapsed, 11 * kMs);
}

TEST(Engine, Refused_CountedOncePerRequest_NotRetried) {
  const LoadSpec spec = http_spec(Mode::rr, 2, 3);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  for (Nanos now = kMs; !e.finished() && now < 100 * kMs; now += kMs) {
    for (uint32_t slot = 0; slot < t.conns.size(); slot++) {
      if (t.conns[slot].open) {
        t.conns[slot].open = false;  // the stack reports the RST; no close() from the engine
        e.on_error(slot, ErrorKind::refused, now);
      }
    }
    e.poll(now);
  }
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::refused)], 3u);
  EXPECT_EQ(e.stats().requests, 0u);
}

TEST(Engine, Timeout_AbortsAndCounts) {
  LoadSpec spec = http_spec(Mode::rr, 1, 1);
  spec.timeout = 50 * kMs;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, kMs);
  e.poll(49 * kMs);
  EXPECT_EQ(t.aborts, 0);
  e.poll(60 * kMs);  // timeouts are checked every 10 ms
  EXPECT_EQ(t.aborts, 1);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::timeout)], 1u);
  EXPECT_TRUE(e.finished());
}

TEST(Engine, PeerClosesMidResponse_ShortRead) {
  const LoadSpec spec = http_spec(Mode::rr, 1, 1);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes(kResponse).first(20), kMs);
  e.on_peer_closed(0, kMs);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::short_read)], 1u);
  EXPECT_EQ(t.aborts, 1);
}

TEST(Engine, BodyUntilClose_CompletesAtPeerClose) {
  const LoadSpec spec = http_spec(Mode::rr, 1, 1);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes("HTTP/1.0 200 OK\r\n\r\nbody"), kMs);
  e.on_peer_closed(0, 2 * kMs);
  e.poll(2 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.stats().requests, 1u);
  EXPECT_EQ(t.closes, 1);
}

TEST(Engine, ExtraBytes_AndMalformed_AreProtocolErrors) {
  LoadSpec raw;
  raw.protocol = Protocol::raw;
  raw.connections = 1;
  raw.requests = 1;
  raw.duration = 0;
  raw.request_size = 2;
  raw.response_size = 2;
  FakeTransport t;
  Engine e(raw, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes("abc"), kMs);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::protocol)], 1u);
  EXPECT_EQ(t.aborts, 1);

  const LoadSpec spec = http_spec(Mode::rr, 1, 1);
  FakeTransport t2;
  Engine e2(spec, t2, nullptr);
  e2.start(0);
  e2.on_connected(0, 0);
  e2.on_data(0, bytes("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), kMs);
  EXPECT_EQ(e2.stats().errors[size_t(ErrorKind::protocol)], 1u);
}

TEST(Engine, Non2xx_CountedAsHttpStatus_ConnectionKept) {
  const LoadSpec spec = http_spec(Mode::rr, 1, 2);
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), kMs);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::http_status)], 1u);
  EXPECT_TRUE(t.conns[0].open);
  e.on_data(0, bytes(kResponse), 2 * kMs);
  e.poll(2 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.stats().requests, 1u);
}

TEST(Engine, VerifyBody_DifferentBodyIsAnError) {
  LoadSpec spec = http_spec(Mode::rr, 1, 3);
  spec.verify_body = true;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes(kResponse), kMs);
  e.on_data(0, bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), kMs);
  e.on_data(0, bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"), kMs);
  e.poll(kMs);
  EXPECT_EQ(e.stats().requests, 2u);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::body)], 1u);
  // sha256("ok")
  EXPECT_EQ(e.stats().body_sha256, "2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df");
}

TEST(Engine, SourceRange_RotatesAndSkipsBusyTuples) {
  LoadSpec spec = http_spec(Mode::conn, 4, 4);
  spec.source_addr = wire::Ipv4Addr{100};
  spec.source_addr_count = 3;
  FakeTransport t;
  t.busy.insert(101);
  Engine e(spec, t, nullptr);
  e.start(0);
  std::vector<uint32_t> tried;
  for (const Source& s : t.opens) tried.push_back(s.addr.v4().value);
  EXPECT_EQ(tried, (std::vector<uint32_t>{100, 101, 102, 100, 101, 102}));
  EXPECT_EQ(e.active(), 4u);
}

// IPv6 sources: consecutive addresses in the low 64 bits, the family kept.
TEST(Engine, SourceRange_Ipv6_Rotates) {
  LoadSpec spec = http_spec(Mode::conn, 3, 3);
  spec.source_addr = *wire::IpAddr::parse("2001:db8::fe");
  spec.source_addr_count = 3;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  std::vector<std::string> tried;
  for (const Source& s : t.opens) tried.push_back(s.addr.to_string());
  EXPECT_EQ(tried, (std::vector<std::string>{"2001:db8::fe", "2001:db8::ff", "2001:db8::100"}));
}

TEST(Engine, SourcePorts_EveryTupleBusy_IsALocalError) {
  LoadSpec spec = http_spec(Mode::conn, 1, 1);
  spec.source_addr = wire::Ipv4Addr{7};
  spec.port_min = 1000;
  spec.port_max = 1002;
  FakeTransport t;
  t.busy.insert(7);
  Engine e(spec, t, nullptr);
  e.start(0);
  ASSERT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(t.opens[2].port, 1002);
  EXPECT_EQ(e.stats().errors[size_t(ErrorKind::local)], 1u);
  e.poll(kMs);
  EXPECT_TRUE(e.finished());
}

TEST(Engine, Warmup_ResetsTheNumbers) {
  LoadSpec spec = http_spec(Mode::rr, 1, 0);
  spec.warmup = 10 * kMs;
  spec.duration = 10 * kMs;
  FakeTransport t;
  LiveCounters live;
  Engine e(spec, t, &live);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes(kResponse), kMs);  // during warm-up
  e.poll(10 * kMs);
  EXPECT_EQ(e.stats().requests, 0u);
  EXPECT_EQ(live.requests.load(), 1u);  // the progress line keeps counting
  e.on_data(0, bytes(kResponse), 12 * kMs);
  e.poll(20 * kMs);
  e.on_data(0, bytes(kResponse), 21 * kMs);  // in flight at the end: still counted
  e.poll(21 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_TRUE(live.finished.load());
  EXPECT_EQ(e.stats().requests, 2u);
  EXPECT_EQ(e.stats().elapsed, 11 * kMs);
}

TEST(Engine, Interrupt_KeepsTheNumbersOverTheTimeMeasured) {
  LoadSpec spec = http_spec(Mode::rr, 1, 0);
  spec.duration = 10 * kNanosPerSecond;
  FakeTransport t;
  LiveCounters live;
  Engine e(spec, t, &live);
  e.start(kMs);
  e.on_connected(0, kMs);
  e.on_data(0, bytes(kResponse), 2 * kMs);
  e.interrupt(8 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_TRUE(live.finished.load());
  EXPECT_EQ(e.stats().requests, 1u);
  EXPECT_EQ(e.stats().elapsed, 7 * kMs);
}

TEST(Engine, BulkSend_FillsTheWindowAndEndsWithTheDuration) {
  LoadSpec spec;
  spec.mode = Mode::bulk;
  spec.direction = Direction::send;
  spec.connections = 2;
  spec.duration = 5 * kMs;
  FakeTransport t;
  t.send_budget = 100'000;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, kMs);
  EXPECT_EQ(t.take(0).size(), 100'000u);  // sends until the stack takes less than offered
  t.send_budget = 1000;
  e.on_writable(0, 2 * kMs);
  EXPECT_EQ(t.take(0).size(), 1000u);
  e.on_data(1, bytes("ignored"), 2 * kMs);  // not connected yet in the engine's view
  e.poll(5 * kMs);
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(t.aborts, 2);
  EXPECT_EQ(e.stats().elapsed, 5 * kMs);
  EXPECT_EQ(e.stats().tx_bytes, 101'000u);
}

TEST(Engine, PerSecond_CountsEachSecondOfTheMeasurementAndTheDrainInTheLast) {
  LoadSpec spec;
  spec.mode = Mode::rr;
  spec.protocol = Protocol::raw;
  spec.request_size = 4;
  spec.response_size = 3;
  spec.connections = 1;
  spec.warmup = 1000 * kMs;
  spec.duration = 3000 * kMs;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 1 * kMs);          // warm-up: reset at 1 s, in no second
  e.on_data(0, bytes("xyz"), 500 * kMs);
  e.poll(1000 * kMs);                  // the measurement starts: second 0 is [1 s, 2 s)
  e.on_data(0, bytes("xyz"), 1200 * kMs);
  e.on_data(0, bytes("xyz"), 1400 * kMs);
  e.on_data(0, bytes("xyz"), 2500 * kMs);               // second 1
  t.conns[0].open = false;                              // the peer resets it:
  e.on_error(0, ErrorKind::reset, 2700 * kMs);          // second 1
  e.poll(2800 * kMs);                                   // reopens
  e.on_connected(0, 2800 * kMs);                        // second 1
  e.on_data(0, bytes("xyz"), 3900 * kMs);               // second 2
  e.poll(4000 * kMs);                                   // time up; one request in flight
  e.on_data(0, bytes("xyz"), 4100 * kMs);               // drained: second 3
  e.poll(4100 * kMs);
  ASSERT_TRUE(e.finished());
  const Stats& s = e.stats();
  const std::vector<SecondCounts> expected = {
      {.connections = 0, .requests = 2, .errors = 0},
      {.connections = 1, .requests = 1, .errors = 1},
      {.connections = 0, .requests = 1, .errors = 0},
      {.connections = 0, .requests = 1, .errors = 0},
  };
  EXPECT_EQ(s.per_second, expected);
  EXPECT_EQ(s.requests, 5u);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.errors_total(), 1u);
  EXPECT_EQ(s.elapsed, 3100 * kMs);
}

TEST(Engine, PerSecond_RunOfNRequestsGrowsPastTheReservedSeconds) {
  const LoadSpec spec = http_spec(Mode::rr, 1, 2);  // no duration: 64 seconds reserved
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, 0);
  e.on_data(0, bytes(kResponse), 100 * kNanosPerSecond + kMs);  // second 100
  e.on_data(0, bytes(kResponse), 100 * kNanosPerSecond + 2 * kMs);
  e.poll(100 * kNanosPerSecond + 2 * kMs);
  ASSERT_TRUE(e.finished());
  ASSERT_EQ(e.stats().per_second.size(), 101u);
  EXPECT_EQ(e.stats().per_second[0], (SecondCounts{.connections = 1, .requests = 0, .errors = 0}));
  EXPECT_EQ(e.stats().per_second[100], (SecondCounts{.connections = 0, .requests = 2, .errors = 0}));
}

TEST(Engine, PerSecond_QuietSecondsAtTheEndAreZeros) {
  LoadSpec spec;
  spec.mode = Mode::bulk;
  spec.direction = Direction::recv;
  spec.connections = 1;
  spec.duration = 3 * kNanosPerSecond;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  e.on_connected(0, kMs);
  e.poll(3 * kNanosPerSecond);
  ASSERT_TRUE(e.finished());
  const std::vector<SecondCounts> expected = {{.connections = 1, .requests = 0, .errors = 0}, {}, {}};
  EXPECT_EQ(e.stats().per_second, expected);
}

TEST(Engine, PerSecond_YearLongRun_ReservesAtMostKReservedSeconds) {
  LoadSpec spec = http_spec(Mode::rr, 1, 0);
  spec.duration = 365LL * 86400 * kNanosPerSecond;
  FakeTransport t;
  Engine e(spec, t, nullptr);
  e.start(0);
  EXPECT_GE(e.stats().per_second.capacity(), Engine::kReservedSeconds);
  EXPECT_LT(e.stats().per_second.capacity(), 2 * Engine::kReservedSeconds);
}

TEST(Stats, Merge_AddsSecondToSecond) {
  Stats a, b;
  a.per_second = {{.connections = 1, .requests = 2, .errors = 3}};
  b.per_second = {{.connections = 1, .requests = 1, .errors = 1}, {.connections = 0, .requests = 4, .errors = 0}};
  a.merge(b);
  const std::vector<SecondCounts> expected = {{.connections = 2, .requests = 3, .errors = 4},
                                              {.connections = 0, .requests = 4, .errors = 0}};
  EXPECT_EQ(a.per_second, expected);
}

}  // namespace
}  // namespace dtcp::loadgen
