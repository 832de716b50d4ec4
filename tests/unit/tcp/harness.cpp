#include "harness.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sstream>

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace dtcp::tcp::test {

void RecordingWire::send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) {
  EXPECT_EQ(m->pkt_len, rte_pktmbuf_pkt_len(m));
  if (forward) {
    EXPECT_GE(rte_pktmbuf_headroom(m), 64u) << "segments need headroom for IPv4 + Ethernet";
    forward(m, src, dst, ecn);
    return;
  }
  Sent s;
  const std::string error = parse_sent(m, src, dst, ecn, s);
  ASSERT_EQ(error, "");
  sent.push_back(std::move(s));
}

ConnectionHandler* Recorder::on_accept(Connection& c) {
  events.push_back("accept");
  if (on_accept_hook) on_accept_hook(c);
  if (refuse) return nullptr;
  conn = &c;
  return this;
}
void Recorder::on_connected(Connection& c) {
  events.push_back("connected");
  conn = &c;
}
void Recorder::on_readable(Connection& c) {
  events.push_back("readable");
  if (on_readable_hook) {
    on_readable_hook(c);
    return;
  }
  if (!auto_read) return;
  std::byte buf[4096];
  while (size_t n = c.read(buf)) received.append(reinterpret_cast<const char*>(buf), n);
}
void Recorder::on_writable(Connection& c) {
  events.push_back("writable");
  if (on_writable_hook) on_writable_hook(c);
}
void Recorder::on_peer_closed(Connection& c) {
  events.push_back("peer_closed");
  if (on_peer_closed_hook) on_peer_closed_hook(c);
}
void Recorder::on_closed(Connection& c, CloseReason reason) {
  events.push_back(std::string("closed:") + to_string(reason));
  if (on_closed_hook) on_closed_hook(c, reason);
  if (conn == &c) conn = nullptr;
}

// DTCP_TEST_FAMILY=ipv6 runs every test over IPv6 (the suite runs the binary once per family).
// The MSS is raised by IPv6's 20 extra header bytes so the segments the tests spell out, with
// their literal MSS values, stay the same; ipv6_test.cpp checks the IPv6 MSS itself.
bool ipv6_run() {
  const char* family = std::getenv("DTCP_TEST_FAMILY");
  return family != nullptr && std::string_view(family) == "ipv6";
}

void TcpTest::SetUp() {
  config = TcpConfig{};
  if (ipv6_run()) {
    local_addr = kLocalAddr6;
    remote_addr = kRemoteAddr6;
    config.mss = static_cast<uint16_t>(config.mss + kIpv6ExtraHeader);
  }
  // Small pools keep each test's shard cheap to build (pool-size tests lower them further).
  config.max_connections = 64;
  config.max_time_wait = 64;
  // The lifecycle tests read plain segments: no options offered on our SYNs and every segment
  // ACKed at once. Option, delayed-ACK and recovery tests turn these back on.
  config.window_scaling = config.timestamps = config.sack = false;
  config.delayed_ack = Duration::zero();
  make_shard();
}

void TcpTest::make_shard() {
  shard.reset();
  wire.sent.clear();
  ShardEnv env;
  env.pool = pool != nullptr ? pool : g_pool;
  env.output = &wire;
  if (local_addr.is_v4()) env.local_addr = local_addr;
  else env.local_addr6 = local_addr;
  env.secret_seed = 42;
  if (record_transitions) {
    env.state_tracer = [](void* ctx, const Endpoint&, const Endpoint&, TcpState from, TcpState to) {
      static_cast<TcpTest*>(ctx)->transitions.push_back(std::string(to_string(from)) + ">" + to_string(to));
    };
    env.state_tracer_ctx = this;
  }
  env.pool_shards = pool_shards;
  env.mbuf_stash = mbuf_stash;
  env.tso_max_payload_v4 = env.tso_max_payload_v6 = tso_max_payload;
  env.tso_ip_packet_max = tso_ip_packet_max;
  transitions.clear();
  shard = std::make_unique<Shard>(config, env, now_);
}

void TcpTest::TearDown() {
  if (shard) {
    shard->abort_all();
    EXPECT_EQ(shard->connections_in_use(), 0u) << "TCBs not returned to the pool";
    shard.reset();
  }
  wire.sent.clear();
  if (check_no_leaks) {
    EXPECT_EQ(rte_mempool_avail_count(g_pool), g_pool->size)
        << "mbufs leaked";
  }
}

void TcpTest::at_us(int64_t us) {
  now_ = TimePoint(Duration(us));
  shard->advance(now_);
}

void TcpTest::at(int64_t ms) { at_us(ms * 1000); }

void TcpTest::inject(int64_t ms, const In& in) { inject_segment(ms, in, nullptr); }

void TcpTest::inject_in_burst(const In& in) {
  in_burst_ = true;
  inject_segment(now_ms(), in, nullptr);
  in_burst_ = false;
}

void TcpTest::inject_raw_options(int64_t ms, const In& in, const std::vector<uint8_t>& raw_options) {
  ASSERT_EQ(raw_options.size() % 4, 0u);
  inject_segment(ms, in, &raw_options);
}

// Builds the segment from `in` (its options, or `raw_options` verbatim when given), checksums it
// and hands it to the shard at `ms`.
void TcpTest::inject_segment(int64_t ms, const In& in, const std::vector<uint8_t>* raw_options) {
  if (!in_burst_) at(ms);
  wire::TcpHeader h;
  h.src_port = in.src_port;
  h.dst_port = in.dst_port;
  h.seq = in.seq;
  h.ack = in.ack;
  h.flags = in.flags;
  h.window = in.window;
  h.options = in.options;
  std::span<const std::byte> raw;
  if (raw_options) raw = std::as_bytes(std::span(*raw_options));
  // With chain_cuts the head holds the header and the payload up to the first cut, and each
  // further piece an mbuf of its own (TCP does not check the checksum: the IP layer did).
  const size_t head_payload = in.chain_cuts.empty() ? in.data.size() : in.chain_cuts.front();
  rte_mbuf* m = build_segment(g_pool, h, raw, raw_options != nullptr,
                              std::as_bytes(std::span(in.data.data(), head_payload)), remote_addr, local_addr);
  ASSERT_NE(m, nullptr);
  for (size_t i = 0; i < in.chain_cuts.size(); ++i) {
    const size_t end = i + 1 < in.chain_cuts.size() ? in.chain_cuts[i + 1] : in.data.size();
    ASSERT_LT(in.chain_cuts[i], end) << "chain_cuts must ascend and lie inside the payload";
    rte_mbuf* piece = rte_pktmbuf_alloc(g_pool);
    ASSERT_NE(piece, nullptr);
    const auto n = static_cast<uint16_t>(end - in.chain_cuts[i]);
    std::memcpy(rte_pktmbuf_append(piece, n), in.data.data() + in.chain_cuts[i], n);
    ASSERT_EQ(rte_pktmbuf_chain(m, piece), 0);
  }
  if (in.coalesced_from != 0) {
    m->ol_flags |= RTE_MBUF_F_RX_LRO;
    m->tso_segsz = in.coalesced_from;
  }
  shard->input(m, remote_addr, local_addr, in.ecn, now_);
}

Sent TcpTest::expect_reply(const Out& out) {
  if (wire.sent.empty()) {
    ADD_FAILURE() << "expected a segment [" << wire::to_string(out.flags) << "] at " << now_ms() << " ms, got none";
    return {};
  }
  Sent s = std::move(wire.sent.front());
  wire.sent.pop_front();
  const std::string got = describe(s);
  EXPECT_EQ(wire::to_string(s.flags), wire::to_string(out.flags)) << got;
  if (out.seq != kAnySeq) {
    EXPECT_EQ(s.seq, static_cast<uint32_t>(out.seq)) << got;
  }
  EXPECT_EQ(s.ack, out.ack) << got;
  if (out.window) {
    EXPECT_EQ(s.window, *out.window) << got;
  }
  EXPECT_EQ(s.options.mss, out.options.mss) << got;
  EXPECT_EQ(s.options.window_scale, out.options.window_scale) << got;
  EXPECT_EQ(s.options.sack_permitted, out.options.sack_permitted) << got;
  EXPECT_EQ(s.options.timestamps.has_value(), out.options.timestamps.has_value()) << got;
  if (s.options.timestamps && out.options.timestamps) {
    EXPECT_EQ(s.options.timestamps->tsecr, out.options.timestamps->tsecr) << "TSecr: " << got;
    if (out.options.timestamps->tsval) {
      EXPECT_EQ(s.options.timestamps->tsval, *out.options.timestamps->tsval) << "TSval: " << got;
    }
  }
  const std::vector<wire::SackBlock> sack_blocks(s.options.sack_blocks.begin(),
                                                 s.options.sack_blocks.begin() + s.options.sack_block_count);
  EXPECT_EQ(sack_blocks.size(), out.options.sack_blocks.size()) << "SACK block count: " << got;
  EXPECT_EQ(sack_blocks, out.options.sack_blocks) << "SACK blocks: " << got;
  EXPECT_EQ(s.payload.size(), out.len) << got;
  EXPECT_EQ(wire::to_string(s.ecn), wire::to_string(out.ecn)) << "ECN codepoint: " << got;
  EXPECT_EQ(s.src_port, out.src_port) << got;
  EXPECT_EQ(s.dst_port, out.dst_port) << got;
  EXPECT_EQ(s.src, local_addr);
  EXPECT_EQ(s.dst, remote_addr);
  return s;
}

void TcpTest::expect_nothing() {
  if (!wire.sent.empty()) ADD_FAILURE() << "expected nothing at " << now_ms() << " ms, got " << describe(wire.sent.front());
  wire.sent.clear();
}

uint32_t TcpTest::listen_and_syn_received() {
  EXPECT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = default_mss()}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = default_mss()}});
  return synack.seq;
}

uint32_t TcpTest::established() {
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  expect_nothing();
  EXPECT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn ? rec.conn->state() : TcpState::closed, TcpState::established);
  rec.events.clear();
  return iss;
}

uint32_t TcpTest::close_wait() {
  const uint32_t iss = established();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::close_wait);
  rec.events.clear();
  return iss;
}

uint32_t TcpTest::fin_wait_1() {
  const uint32_t iss = established();
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_1);
  return iss;
}

uint32_t TcpTest::fin_wait_2() {
  const uint32_t iss = fin_wait_1();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 2});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::fin_wait_2);
  return iss;
}

uint32_t TcpTest::last_ack() {
  const uint32_t iss = close_wait();
  rec.conn->shutdown_write();
  expect_reply({.flags = FIN | ACK, .seq = iss + 1, .ack = 1002});
  EXPECT_EQ(rec.conn->state(), TcpState::last_ack);
  return iss;
}

uint32_t TcpTest::syn_sent() {
  const ConnectResult r =
      shard->connect(remote_addr, kRemotePort, rec, ConnectOptions{.local_port = kLocalPort}, now_);
  EXPECT_TRUE(r.ok()) << to_string(r.error);
  rec.conn = r.connection;
  const Sent syn = expect_reply({.flags = SYN, .ack = 0, .window = 65535, .options = {.mss = default_mss()}});
  EXPECT_EQ(r.connection->state(), TcpState::syn_sent);
  return syn.seq;
}

rte_mbuf* make_mbuf(std::string_view bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

std::string pattern(size_t n, size_t offset) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i + offset) % 26);
  return s;
}

}  // namespace dtcp::tcp::test
