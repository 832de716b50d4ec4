// The idle engine driven through a scripted transport with literal times: how many handshakes
// it keeps in flight, when the hold starts and ends, how it closes, what it counts.
#include "loadgen/idle.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace dtcp::loadgen {
namespace {

constexpr Nanos kMs = 1'000'000;
using Phase = IdleEngine::Phase;

class FakeIdleTransport final : public IdleTransport {
 public:
  Transport::OpenStatus open(uint32_t slot, Source source, ErrorKind& error) override {
    tried.push_back(source);
    if (busy.count(source.port) || (source.port && ports_in_use.count(source.port))) {
      return Transport::OpenStatus::tuple_busy;
    }
    if (fail_open) {
      error = ErrorKind::local;
      return Transport::OpenStatus::failed;
    }
    EXPECT_FALSE(open_slots.count(slot)) << "slot " << slot << " opened twice";
    open_slots.insert(slot);
    opened.push_back(slot);
    if (source.port) ports_in_use.insert(source.port);
    return Transport::OpenStatus::ok;
  }
  void shutdown(uint32_t slot) override {
    EXPECT_TRUE(open_slots.count(slot));
    shut.push_back(slot);
  }
  void close(uint32_t slot) override {
    EXPECT_EQ(open_slots.erase(slot), 1u);
    closes++;
  }
  void abort(uint32_t slot) override {
    EXPECT_EQ(open_slots.erase(slot), 1u);
    aborts.push_back(slot);
  }

  std::vector<Source> tried;
  std::vector<uint32_t> opened;  // in order
  std::vector<uint32_t> shut;    // in order
  std::vector<uint32_t> aborts;
  std::set<uint32_t> open_slots;
  std::set<uint16_t> busy;  // source ports someone else uses
  std::set<uint16_t> ports_in_use;  // by connections opened here (never released: enough here)
  bool fail_open = false;
  int closes = 0;
};

IdleSpec spec(uint32_t connections, uint32_t handshakes, Nanos hold) {
  IdleSpec s;
  s.connections = connections;
  s.handshakes = handshakes;
  s.hold = hold;
  s.timeout = 100 * kMs;
  return s;
}

// Completes every handshake the transport has started and not yet completed.
void connect_all(IdleEngine& e, FakeIdleTransport& t, size_t& done, Nanos now) {
  for (; done < t.opened.size(); done++) e.on_connected(t.opened[done], now);
}

TEST(IdleEngine, Start_OneHandshake_ThenInFlightDoublesWithThoseCompleted) {
  const IdleSpec s = spec(100, 8, 0);
  FakeIdleTransport t;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  EXPECT_EQ(t.opened.size(), 1u);  // ARP is not resolved yet: one SYN first
  size_t done = 0;
  std::vector<size_t> in_flight;
  for (Nanos now = 1; now <= 5; now++) {
    connect_all(e, t, done, now);
    e.poll(now);
    in_flight.push_back(t.opened.size() - done);
  }
  EXPECT_EQ(in_flight, (std::vector<size_t>{1, 2, 4, 8, 8}));  // capped at --handshakes
}

TEST(IdleEngine, AllEstablished_HoldsForHoldThenClosesGracefully) {
  const IdleSpec s = spec(3, 4, 50 * kMs);
  FakeIdleTransport t;
  std::vector<Phase> phases;
  IdleEngine e(s, t, nullptr, [&](Phase p) { phases.push_back(p); });
  e.start(0);
  size_t done = 0;
  for (Nanos now = 1 * kMs; e.phase() == Phase::opening; now += kMs) {
    connect_all(e, t, done, now);
    e.poll(now);
  }
  // The third handshake completed at 3 ms; the hold starts on the poll that sees it.
  EXPECT_EQ(e.stats().open_time, 3 * kMs);
  EXPECT_EQ(e.stats().established_hold_start, 3u);
  EXPECT_EQ(phases, (std::vector<Phase>{Phase::holding}));

  e.poll(52 * kMs);
  EXPECT_EQ(e.phase(), Phase::holding);
  EXPECT_TRUE(t.shut.empty()) << "nothing is sent while holding";
  e.poll(53 * kMs);
  EXPECT_EQ(e.phase(), Phase::closing);
  EXPECT_EQ(e.stats().hold_time, 50 * kMs);
  EXPECT_EQ(e.stats().established_hold_end, 3u);
  EXPECT_EQ(t.shut, (std::vector<uint32_t>{0, 1, 2}));

  for (uint32_t slot : t.shut) e.on_peer_closed(slot, 54 * kMs);
  e.poll(55 * kMs);
  EXPECT_EQ(e.phase(), Phase::done);
  EXPECT_EQ(t.closes, 3);
  EXPECT_TRUE(t.aborts.empty());
  EXPECT_EQ(e.stats().closed, 3u);
  EXPECT_EQ(e.stats().close_time, 2 * kMs);
  EXPECT_EQ(e.stats().errors_total(), 0u);
  EXPECT_EQ(phases, (std::vector<Phase>{Phase::holding, Phase::closing, Phase::done}));
}

TEST(IdleEngine, HandshakeNeverCompletes_AbortedAtTimeout_OthersHeld) {
  const IdleSpec s = spec(3, 4, 0);
  FakeIdleTransport t;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  e.on_connected(0, 1 * kMs);
  e.poll(1 * kMs);   // opens 1
  e.on_connected(1, 2 * kMs);
  e.poll(2 * kMs);   // opens 2, which never completes
  ASSERT_EQ(t.opened, (std::vector<uint32_t>{0, 1, 2}));
  e.poll(101 * kMs);
  EXPECT_EQ(e.phase(), Phase::opening);
  e.poll(102 * kMs);  // 2 was opened at 2 ms with a 100 ms timeout
  EXPECT_EQ(t.aborts, (std::vector<uint32_t>{2}));
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::timeout)], 1u);
  EXPECT_EQ(e.stats().established_hold_start, 2u);
  EXPECT_NE(e.phase(), Phase::opening);
}

TEST(IdleEngine, PeerClosesDuringHold_CountedAsShortRead_NotClosedAgain) {
  const IdleSpec s = spec(2, 4, 10 * kMs);
  FakeIdleTransport t;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  size_t done = 0;
  for (Nanos now = 1; e.phase() == Phase::opening; now++) {
    connect_all(e, t, done, now);
    e.poll(now);
  }
  e.on_peer_closed(1, 5 * kMs);
  EXPECT_EQ(t.closes, 1);
  EXPECT_EQ(e.established(), 1u);
  e.poll(20 * kMs);
  EXPECT_EQ(e.stats().established_hold_end, 1u);
  EXPECT_EQ(t.shut, (std::vector<uint32_t>{0}));
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::short_read)], 1u);
}

TEST(IdleEngine, BytesFromAnIdlePeer_ProtocolErrorAndReset) {
  const IdleSpec s = spec(1, 1, 10 * kMs);
  FakeIdleTransport t;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  e.on_connected(0, 1);
  e.on_data(0, 5, 2);
  EXPECT_EQ(t.aborts, (std::vector<uint32_t>{0}));
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::protocol)], 1u);
  EXPECT_EQ(e.established(), 0u);
}

TEST(IdleEngine, CloseNeverAnswered_AbortedAtTimeout) {
  const IdleSpec s = spec(1, 1, 0);
  FakeIdleTransport t;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  e.on_connected(0, 1);
  e.poll(2);  // hold 0: closing
  ASSERT_EQ(t.shut, (std::vector<uint32_t>{0}));
  e.poll(2 + 100 * kMs);
  EXPECT_EQ(e.phase(), Phase::done);
  EXPECT_EQ(t.aborts, (std::vector<uint32_t>{0}));
  EXPECT_EQ(e.stats().closed, 0u);
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::timeout)], 1u);
}

TEST(IdleEngine, SourceTuples_BusyOnesSkipped_NoneFreeIsALocalError) {
  IdleSpec s = spec(3, 4, 0);
  s.source_addr = wire::Ipv4Addr{0x0a000001};
  s.source_addr_count = 1;
  s.port_min = 1000;
  s.port_max = 1002;
  FakeIdleTransport t;
  t.busy = {1001};
  IdleEngine e(s, t, nullptr);
  e.start(0);
  e.on_connected(0, 1);
  e.poll(1);
  e.on_connected(1, 2);
  e.poll(2);
  // 1000, then 1001 (busy) and 1002; the third connection finds all three taken after three
  // tries and is a local error.
  ASSERT_EQ(t.tried.size(), 6u);
  const std::vector<uint16_t> ports{1000, 1001, 1002, 1000, 1001, 1002};
  for (size_t i = 0; i < ports.size(); i++) {
    EXPECT_EQ(t.tried[i].port, ports[i]) << i;
    EXPECT_EQ(t.tried[i].addr, wire::IpAddr(wire::Ipv4Addr{0x0a000001}));
  }
  EXPECT_EQ(e.stats().opened, 2u);
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::local)], 1u);
  EXPECT_EQ(e.stats().established_hold_start, 2u);
}

TEST(IdleEngine, EveryOpenFails_NoHold_Done) {
  const IdleSpec s = spec(5, 2, 3600 * kNanosPerSecond);
  FakeIdleTransport t;
  t.fail_open = true;
  IdleEngine e(s, t, nullptr);
  e.start(0);
  e.poll(1);
  EXPECT_EQ(e.phase(), Phase::done);
  EXPECT_EQ(e.stats().errors[static_cast<size_t>(ErrorKind::local)], 5u);
  EXPECT_EQ(e.stats().hold_time, 0);
}

TEST(IdleEngine, LiveCounters_OpenedActiveAndFinished) {
  const IdleSpec s = spec(2, 2, 0);
  FakeIdleTransport t;
  LiveCounters live;
  IdleEngine e(s, t, &live);
  e.start(0);
  EXPECT_TRUE(live.started.load());
  e.on_connected(0, 1);
  e.poll(1);
  EXPECT_EQ(live.connections.load(), 1u);
  EXPECT_EQ(live.active.load(), 1u);
  e.interrupt(2);
  EXPECT_TRUE(live.finished.load());
  EXPECT_TRUE(e.finished());
}

}  // namespace
}  // namespace dtcp::loadgen
