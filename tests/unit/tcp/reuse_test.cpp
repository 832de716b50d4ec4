// A control block handed out again (ShardCore::alloc_tcb() resets its plain fields by one copy of
// a fresh TcbFields, and release_tcb() empties the rest, instead of destroying and constructing the
// whole block) must be indistinguishable from a fresh one. Shown two ways, with a single-slot pool
// so the second connection is sure to get the first one's block:
//  - right after connect(), the reused block holds exactly what the same connect() gives a block of
//    a freshly built shard: the plain fields byte for byte, and the buffers, sent map, congestion
//    controller, timer and hooks by what the stack reads of them;
//  - the same literal segments at the same times through the reused block and a fresh one give the
//    same segments back, byte for byte (handshake with SACK, timestamps and window scale, a loss
//    repaired with SACK, a D-SACK, out-of-order data, close).
// The first connection, which dirties the block, runs SACK, timestamps, loss and retransmissions,
// D-SACK, out-of-order data, keep-alive and buffer settings, and ends by a RST with data still
// queued both ways.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "harness.hpp"
#include "tcp/tcb.hpp"

namespace dtcp::tcp::test {
namespace {

constexpr uint32_t kMss = 1448;  // 1460 less the timestamps option
constexpr uint16_t kClientPort = 50000;  // the second connection's (active) local port

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// What the stack reads of a block's members that are not plain fields.
struct Members {
  uint32_t snd_bytes, snd_count, rcv_bytes, rcv_count, ooo_bytes, ooo_count;
  uint32_t records, transmissions, sacked, lost, retransmitted;
  bool retransmitted_range;
  bool cubic;
  uint32_t cwnd, ssthresh, epochs, hystart_exits;
  bool timer_armed, in_table, pending, orphan_linked;
  bool operator==(const Members&) const = default;
};

Members members_of(Tcb& t, uint32_t iss) {
  return {t.snd_buf.bytes(), t.snd_buf.count(), t.rcv_buf.bytes(), t.rcv_buf.count(), t.ooo.bytes(), t.ooo.count(),
          t.sent.records(), t.sent.transmissions(), t.sent.sacked_bytes(), t.sent.lost_bytes(), t.sent.retransmitted_bytes(),
          // A stale record of acked retransmissions would make a D-SACK of this range look like ours.
          t.sent.was_retransmitted(SeqNum(iss + 1), SeqNum(iss + 1 + kMss)),
          t.cc.is_cubic(), t.cc->cwnd(), t.cc->ssthresh(), t.cc->epochs(), t.cc->hystart_exits(),
          t.timer.armed(), t.table_hook.is_linked(), t.pending_hook.is_linked(), t.orphan_hook.is_linked()};
}

// The bytes of TcbFields that belong to it: as a base class its tail padding may hold a derived
// member (Itanium C++ ABI), so the compiler's copy stops where such a member would start.
size_t fields_data_size() {
  struct Probe : TcbFields {
    char next;
  };
  static const Probe probe{};
  return static_cast<size_t>(reinterpret_cast<const char*>(&probe.next) -
                             reinterpret_cast<const char*>(static_cast<const TcbFields*>(&probe)));
}

class ControlBlockReuse : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.max_connections = 1;  // one block: the second connection reuses the first one's
    config.sack = config.timestamps = config.window_scaling = true;
    config.delayed_ack = std::chrono::milliseconds(40);
    make_shard();
  }

  Tcb& tcb() { return static_cast<Tcb&>(*rec.conn); }

  // Every segment sent since the last call, as text with its payload, for comparing two runs.
  void take_sent(std::vector<std::string>& log) {
    while (!wire.sent.empty()) {
      const Sent& s = wire.sent.front();
      if (s.options.timestamps) our_tsval = s.options.timestamps->tsval;
      std::string line = describe(s) + " |";
      line.append(reinterpret_cast<const char*>(s.payload.data()), s.payload.size());
      log.push_back(std::move(line));
      wire.sent.pop_front();
    }
  }

  // The peer's segments carry its TSval (one more each time) and echo our latest TSval.
  wire::TcpOptions peer_options(std::vector<wire::SackBlock> blocks = {}) {
    wire::TcpOptions o{.timestamps = wire::TcpTimestamps{++peer_ts, our_tsval}};
    o.sack_block_count = static_cast<uint8_t>(blocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) o.sack_blocks[i] = blocks[i];
    return o;
  }

  // The first connection: passive, SACK and timestamps, a loss, out-of-order data, ended by a
  // RST while data is queued both ways. Leaves the block free again.
  void dirty_the_block() {
    std::vector<std::string> ignored;
    ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
    inject(0, {.flags = SYN, .seq = 1000, .window = 1000,
               .options = {.mss = 1460, .window_scale = 3, .sack_permitted = true,
                           .timestamps = wire::TcpTimestamps{peer_ts, 0}}});
    ASSERT_FALSE(wire.sent.empty());
    const uint32_t iss = wire.sent.front().seq;  // the SYN-ACK's
    take_sent(ignored);
    inject(8, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 8000, .options = peer_options()});
    ASSERT_EQ(rec.conn->state(), TcpState::established);
    rec.conn->set_nodelay(true);
    rec.conn->set_keepalive(true);
    rec.conn->set_send_buffer(100000);
    rec.conn->set_receive_buffer(30000);
    rec.auto_read = false;  // keep received data queued
    const std::string data = pattern(20 * kMss);
    ASSERT_GT(rec.conn->send(bytes_of(data)), 10 * kMss);
    take_sent(ignored);
    const auto seg = [&](uint32_t k) { return iss + 1 + k * kMss; };
    // Segment 0 lost, 1..4 SACKed; RACK and then the RTO resend it; a D-SACK for segment 1.
    inject(16, {.flags = ACK, .seq = 1001, .ack = seg(0), .window = 8000, .options = peer_options({{seg(1), seg(5)}})});
    at(40);
    at(400);
    take_sent(ignored);
    inject(410, {.flags = ACK, .seq = 1001, .ack = seg(5), .window = 8000, .options = peer_options({{seg(1), seg(2)}})});
    // Out-of-order data from the peer, then the start of the hole.
    inject(420, {.flags = ACK, .seq = 1501, .ack = seg(5), .window = 8000, .options = peer_options(), .data = pattern(300)});
    inject(421, {.flags = ACK, .seq = 1001, .ack = seg(5), .window = 8000, .options = peer_options(), .data = pattern(200)});
    take_sent(ignored);
    ASSERT_GT(tcb().sent.records(), 0u);
    ASSERT_GT(tcb().rcv_buf.bytes(), 0u);
    ASSERT_GT(tcb().ooo.count(), 0u);
    ASSERT_TRUE(tcb().have_rtt && tcb().sack_ok && tcb().ts_ok && tcb().wscale_ok);
    inject(430, {.flags = RST, .seq = 1201});
    take_sent(ignored);
    ASSERT_EQ(rec.conn, nullptr);
    ASSERT_EQ(shard->connections_in_use(), 0u);
    shard->unlisten(kLocalPort);
    rec.events.clear();
    rec.received.clear();
    rec.auto_read = true;
  }

  // The second connection, active, through whatever block the pool hands out. Returns what it
  // sent; `after_connect` is called on the block right after connect().
  std::vector<std::string> second_connection(int64_t t0, const std::function<void(Tcb&)>& after_connect) {
    std::vector<std::string> log;
    at(t0);
    wire.sent.clear();
    our_tsval = 0;
    peer_ts = 7000;
    const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec, ConnectOptions{.local_port = kClientPort}, now_);
    EXPECT_TRUE(r.ok()) << to_string(r.error);
    if (!r.ok()) return log;
    rec.conn = r.connection;
    after_connect(tcb());
    take_sent(log);
    const uint32_t iss = tcb().iss.value();
    const auto seg = [&](uint32_t k) { return iss + 1 + k * kMss; };
    const auto from_peer = [&](In in) {
      in.dst_port = kClientPort;
      return in;
    };
    inject(t0 + 8, from_peer({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .window = 20000,
                              .options = {.mss = 1460, .window_scale = 2, .sack_permitted = true,
                                          .timestamps = wire::TcpTimestamps{++peer_ts, our_tsval}}}));
    take_sent(log);
    EXPECT_EQ(rec.conn->state(), TcpState::established);
    const std::string data = pattern(10 * kMss, 7);
    EXPECT_EQ(rec.conn->send(bytes_of(data)), data.size());
    take_sent(log);
    // Segment 1 lost (0 acked, 2..5 SACKed): RACK resends it; then everything is acked with a
    // D-SACK for segment 1, the retransmission having been needless.
    inject(t0 + 16, from_peer({.flags = ACK, .seq = 5001, .ack = seg(1), .window = 20000,
                               .options = peer_options({{seg(2), seg(6)}})}));
    take_sent(log);
    at(t0 + 30);
    take_sent(log);
    inject(t0 + 40, from_peer({.flags = ACK, .seq = 5001, .ack = seg(10), .window = 20000,
                               .options = peer_options({{seg(1), seg(2)}})}));
    take_sent(log);
    // Out-of-order data, then the hole.
    inject(t0 + 50, from_peer({.flags = ACK, .seq = 5101, .ack = seg(10), .window = 20000, .options = peer_options(),
                               .data = pattern(100, 3)}));
    take_sent(log);
    inject(t0 + 51, from_peer({.flags = ACK, .seq = 5001, .ack = seg(10), .window = 20000, .options = peer_options(),
                               .data = pattern(100, 4)}));
    take_sent(log);
    at(t0 + 100);
    take_sent(log);
    // We close first: FIN, the peer's ACK and FIN, our ACK, TIME-WAIT.
    rec.conn->close();
    take_sent(log);
    inject(t0 + 110, from_peer({.flags = ACK | FIN, .seq = 5201, .ack = seg(10) + 1, .window = 20000,
                                .options = peer_options()}));
    take_sent(log);
    at(t0 + 2000);
    take_sent(log);
    return log;
  }

  uint32_t our_tsval = 0;
  uint32_t peer_ts = 100;
};

TEST_F(ControlBlockReuse, ReusedBlock_MatchesAFreshOneAndSendsTheSameSegments) {
  dirty_the_block();
  if (HasFatalFailure()) return;

  const int64_t t0 = 10'000;
  std::array<std::byte, sizeof(TcbFields)> reused_fields{};
  Members reused_members{};
  uint32_t reused_generation = 0;
  const std::vector<std::string> reused_log = second_connection(t0, [&](Tcb& t) {
    std::memcpy(reused_fields.data(), static_cast<const TcbFields*>(&t), sizeof(TcbFields));
    reused_members = members_of(t, t.iss.value());
    reused_generation = t.generation;
    EXPECT_EQ(t.slot, 0u);
  });
  EXPECT_EQ(reused_generation, 2u) << "the second connection did not get the first one's block";
  ASSERT_FALSE(reused_log.empty());

  // A fresh shard, the same connect() at the same time.
  now_ = TimePoint(std::chrono::milliseconds(t0));
  make_shard();
  std::array<std::byte, sizeof(TcbFields)> fresh_fields{};
  Members fresh_members{};
  const std::vector<std::string> fresh_log = second_connection(t0, [&](Tcb& t) {
    std::memcpy(fresh_fields.data(), static_cast<const TcbFields*>(&t), sizeof(TcbFields));
    fresh_members = members_of(t, t.iss.value());
    EXPECT_EQ(t.generation, 1u);
  });

  const size_t compared = fields_data_size();
  ASSERT_GT(compared, sizeof(TcbFields) - alignof(TcbFields));
  size_t first_difference = compared;
  for (size_t i = 0; i < compared; ++i) {
    if (reused_fields[i] != fresh_fields[i]) {
      first_difference = i;
      break;
    }
  }
  EXPECT_EQ(first_difference, compared) << "the reused block's plain fields differ from a fresh block's "
                                                     "from byte " << first_difference << " of TcbFields";
  EXPECT_TRUE(reused_members == fresh_members) << "buffers, sent map, controller, timer or hooks differ";
  ASSERT_EQ(reused_log.size(), fresh_log.size());
  for (size_t i = 0; i < fresh_log.size(); ++i) EXPECT_EQ(reused_log[i], fresh_log[i]) << "segment " << i;
  // The script did what it says: a retransmission, SACK blocks in our ACKs, a D-SACK taken.
  EXPECT_GT(shard->counters().tx_retransmitted_segments, 0u);
  EXPECT_GT(shard->counters().rx_dsack, 0u);
  EXPECT_NE(std::find_if(fresh_log.begin(), fresh_log.end(),
                         [](const std::string& l) { return l.find(" sack ") != std::string::npos; }),
            fresh_log.end());
  EXPECT_GE(fresh_log.size(), 15u);
}

}  // namespace
}  // namespace dtcp::tcp::test
