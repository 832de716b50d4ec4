// SYN cookies (RFC 4987 §3.6): the cookie SYN-ACK, the returning ACK's validation (hash, age,
// MSS index), the options it restores with and without timestamps, data on the third ACK, the
// automatic switch when the SYN backlog is full, always/never; and the SYN-ACK retry pruning
// of a backlog under pressure (Linux's young/old rule), on the virtual clock.
//
// The expected cookies are computed here from the layout syn_cookies.cpp documents, with the
// shard's keys (seed 42, as the harness builds it), so a change of layout fails these tests.
#include <string>

#include "harness.hpp"
#include "tcp/isn.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;
inline constexpr TcpFlags ECE = TcpFlags::ece;
inline constexpr TcpFlags CWR = TcpFlags::cwr;
constexpr uint8_t kOurShift = 7;  // for recv_buffer_max 4 MiB (see options_test.cpp)

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class SynCookie : public TcpTest {
 protected:
  FourTuple tuple(uint16_t remote_port = kRemotePort) const {
    return {local_addr, remote_addr, kLocalPort, remote_port};
  }
  // The cookie for a SYN with sequence number `peer_isn` at 64-s tick `count`, MSS index `index`.
  uint32_t cookie(uint32_t peer_isn, uint32_t count, uint32_t index, uint16_t remote_port = kRemotePort) const {
    return keys.cookie_hash_tuple(tuple(remote_port)) + peer_isn + (count << 24) +
           ((keys.cookie_hash_count(tuple(remote_port), count) + index) & 0xffffff);
  }
  void listen(SynCookies mode, uint32_t backlog = 0) {
    ListenOptions o;
    o.syn_cookies = mode;
    o.syn_backlog = backlog;
    o.ecn = true;
    ASSERT_TRUE(shard->listen(kLocalPort, rec, o).ok());
  }
  // Our TSval clock for the test tuple (RFC 7323 §7.1 offset, as the shard keys it).
  uint32_t our_clock() const { return static_cast<uint32_t>(now_ms()) + keys.ts_offset(tuple()); }

  SecretKeys keys{42};
};

TEST_F(SynCookie, Always_Syn_CookieSynAckAndNoState) {
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  // MSS 1460 is index 6 of the table; tick 0; no timestamps: only MSS is offered.
  expect_reply({.flags = SYN | ACK, .seq = cookie(1000, 0, 6), .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().syn_cookies_sent, 1u);
  EXPECT_EQ(shard->counters().conn_passive_opens, 0u);
  // A retransmitted SYN gets the same cookie (nothing remembered, nothing retransmitted by us).
  at(1000);
  expect_nothing();
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = cookie(1000, 0, 6), .ack = 1001, .window = 65535, .options = {.mss = 1460}});
}

TEST_F(SynCookie, Always_ValidAck_EstablishedWithEncodedMss) {
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1400}});  // encoded as 1300 (index 4)
  const uint32_t iss = cookie(1000, 0, 4);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  inject(5, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  expect_nothing();
  ASSERT_EQ(rec.events, Strings{"accept"});
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(shard->counters().syn_cookies_validated, 1u);
  EXPECT_EQ(shard->counters().conn_established, 1u);
  // The MSS the cookie carried sizes our segments.
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(2000))), 2000u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1300});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1 + 1300, .ack = 1001, .len = 700});
}

TEST_F(SynCookie, Always_DataOnThirdAck_Accepted) {
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = cookie(1000, 0, 6);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006, .window = 65535 - 5});
  EXPECT_EQ(rec.events, (Strings{"accept", "readable"}));
  EXPECT_EQ(rec.received, "hello");
}

TEST_F(SynCookie, Always_WrongHash_RstAndCounted) {
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = cookie(1000, 0, 6);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .options = {.mss = 1460}});
  // Off by 16 in the hashed bits; and a peer ISN that is not the SYN's (the hash covers it).
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1 + 16});
  expect_reply({.flags = RST, .seq = iss + 1 + 16, .ack = 0, .window = 0});
  inject({.flags = ACK, .seq = 1201, .ack = iss + 1});
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().syn_cookies_failed, 2u);
  EXPECT_EQ(shard->counters().syn_cookies_validated, 0u);
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(SynCookie, Always_BadMssIndex_Rejected) {
  listen(SynCookies::always);
  // A cookie with the right hash and tick but index 8 (the table has 8 entries, 0-7).
  inject({.flags = ACK, .seq = 1001, .ack = cookie(1000, 0, 8) + 1});
  expect_reply({.flags = RST, .seq = cookie(1000, 0, 8) + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().syn_cookies_failed, 1u);
  // Index 7 (8960) is a valid one: capped at our MSS (1460).
  inject({.flags = ACK, .seq = 1001, .ack = cookie(1000, 0, 7) + 1});
  expect_nothing();
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(1500))), 1500u);
  expect_reply({.flags = ACK, .seq = cookie(1000, 0, 7) + 1, .ack = 1001, .len = 1460});
  expect_reply({.flags = ACK | PSH, .seq = cookie(1000, 0, 7) + 1 + 1460, .ack = 1001, .len = 40});
}

TEST_F(SynCookie, Always_Age_OneTickAcceptedTwoRejected) {
  listen(SynCookies::always);
  inject(63'000, {.flags = SYN, .seq = 1000, .options = {.mss = 1460}});  // tick 0
  expect_reply({.flags = SYN | ACK, .seq = cookie(1000, 0, 6), .ack = 1001, .options = {.mss = 1460}});
  inject(65'000, {.flags = SYN, .seq = 5000, .options = {.mss = 1460}, .src_port = 40001});  // tick 1
  const uint32_t second = cookie(5000, 1, 6, 40001);
  expect_reply({.flags = SYN | ACK, .seq = second, .ack = 5001, .options = {.mss = 1460}, .dst_port = 40001});
  // At 128 s (tick 2) the first cookie is two ticks old: rejected; the second, one tick: taken.
  inject(128'000, {.flags = ACK, .seq = 1001, .ack = cookie(1000, 0, 6) + 1});
  expect_reply({.flags = RST, .seq = cookie(1000, 0, 6) + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().syn_cookies_failed, 1u);
  inject({.flags = ACK, .seq = 5001, .ack = second + 1, .src_port = 40001});
  expect_nothing();
  EXPECT_EQ(shard->counters().syn_cookies_validated, 1u);
  EXPECT_EQ(rec.events, Strings{"accept"});
}

// With timestamps, window scale, SACK-permitted and ECN ride in TSval's low 6 bits; the
// connection built from the ACK uses every one of them.
TEST_F(SynCookie, Always_Timestamps_OptionsEncodedAndRestored) {
  config.window_scaling = config.timestamps = config.sack = true;
  make_shard();
  listen(SynCookies::always);
  inject(1000, {.flags = SYN | ECE | CWR,
                .seq = 1000,
                .options = {.mss = 1460, .window_scale = 5, .sack_permitted = true,
                            .timestamps = wire::TcpTimestamps{100, 0}}});
  const Sent synack = expect_reply({.flags = SYN | ACK | ECE,
                                    .seq = cookie(1000, 0, 6),
                                    .ack = 1001,
                                    .window = 65535,
                                    .options = {.mss = 1460, .window_scale = kOurShift, .sack_permitted = true,
                                                .timestamps = OutTimestamps{.tsecr = 100}}});
  const uint32_t tsval = synack.options.timestamps->tsval;
  EXPECT_EQ(tsval & 63, 5u | 16u | 32u);  // shift 5, SACK, ECN
  EXPECT_LE(our_clock() - tsval, 63u);     // rounded down, never ahead of our clock
  EXPECT_EQ(shard->connections_in_use(), 0u);

  const uint32_t iss = synack.seq;
  // The peer's window 100 << 5 = 3200 bytes bounds what we send: two full segments, and the
  // 304 bytes left wait (sender SWS avoidance: less than half the largest window).
  inject(1010, {.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 100,
                .options = {.timestamps = wire::TcpTimestamps{101, tsval}}});
  expect_nothing();
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(shard->counters().conn_ecn, 1u);
  EXPECT_EQ(shard->counters().rtt_timestamp_samples, 0u);  // the rounded echo is not an RTT
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(5000))), 5000u);
  // Timestamps on every segment (12 bytes: 1448 of payload), ECT(0) on new data (ECN), the window
  // field scaled by our shift (256 KiB >> 7).
  const uint16_t window = (256 * 1024) >> kOurShift;
  for (uint32_t k = 0; k < 2; ++k) {
    expect_reply({.flags = ACK, .seq = iss + 1 + k * 1448, .ack = 1001, .window = window,
                  .options = {.timestamps = OutTimestamps{.tsval = our_clock(), .tsecr = 101}}, .len = 1448,
                  .ecn = wire::Ecn::ect0});
  }
  expect_nothing();
  // SACK: out-of-order data is reported in a SACK block (TSecr stays 101: RFC 7323 §4.3 takes
  // TS.Recent only from a segment at or below Last.ACK.sent).
  inject(1020, {.flags = ACK, .seq = 1101, .ack = iss + 1, .window = 100,
                .options = {.timestamps = wire::TcpTimestamps{102, tsval}}, .data = pattern(10)});
  expect_reply({.flags = ACK, .seq = iss + 1 + 2896, .ack = 1001, .window = window,
                .options = {.timestamps = OutTimestamps{.tsval = our_clock(), .tsecr = 101},
                            .sack_blocks = {{1101, 1111}}}});
  expect_nothing();
}

// Without timestamps there is nowhere to keep the other options: the SYN-ACK offers MSS only and
// the connection has no window scale, SACK or timestamps.
TEST_F(SynCookie, Always_NoTimestamps_MssOnly) {
  config.window_scaling = config.timestamps = config.sack = true;
  make_shard();
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460, .window_scale = 5, .sack_permitted = true}});
  const uint32_t iss = cookie(1000, 0, 6);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .window = 1000});
  expect_nothing();
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn->send(bytes_of(pattern(2000))), 2000u);
  // Unscaled: the peer's 1000 is 1000 bytes; our window field is the byte count (capped at 65535).
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .window = 65535, .len = 1000});
  expect_nothing();
  inject({.flags = ACK, .seq = 1101, .ack = iss + 1001, .window = 1000, .data = pattern(10)});
  expect_reply({.flags = ACK | PSH, .seq = iss + 1001, .ack = 1001, .len = 1000});  // no SACK block
}

TEST_F(SynCookie, Automatic_BacklogFull_SwitchesToCookies) {
  listen(SynCookies::automatic, 2);
  // An ACK to the listener before any cookie went out is a plain ACK to a listener.
  inject({.flags = ACK, .seq = 1, .ack = 777, .src_port = 39999});
  expect_reply({.flags = RST, .seq = 777, .ack = 0, .window = 0, .dst_port = 39999});
  EXPECT_EQ(shard->counters().drop_listen_ack, 1u);
  EXPECT_EQ(shard->counters().syn_cookies_failed, 0u);

  for (uint16_t port = 40000; port < 40002; ++port) {
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = port});
    const Sent s = expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = port});
    EXPECT_NE(s.seq, cookie(1000, 0, 6, port));  // a stateful one: the RFC 6528 ISN
  }
  EXPECT_EQ(shard->connections_in_use(), 2u);
  EXPECT_EQ(shard->counters().syn_cookies_sent, 0u);
  // Backlog full: the third gets a cookie, and no state.
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = 40002});
  const uint32_t iss = cookie(1000, 0, 6, 40002);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .options = {.mss = 1460}, .dst_port = 40002});
  EXPECT_EQ(shard->connections_in_use(), 2u);
  EXPECT_EQ(shard->counters().syn_cookies_sent, 1u);
  EXPECT_EQ(shard->counters().drop_syn_backlog_full, 0u);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1, .src_port = 40002});
  expect_nothing();
  EXPECT_EQ(rec.events, Strings{"accept"});
  EXPECT_EQ(shard->connections_in_use(), 3u);
  // Established from a cookie, it takes no backlog room: the backlog is still full.
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = 40003});
  expect_reply({.flags = SYN | ACK, .seq = cookie(1000, 0, 6, 40003), .ack = 1001, .options = {.mss = 1460},
                .dst_port = 40003});
  // A bad cookie now is counted as such.
  inject({.flags = ACK, .seq = 1, .ack = 777, .src_port = 39999});
  expect_reply({.flags = RST, .seq = 777, .ack = 0, .window = 0, .dst_port = 39999});
  EXPECT_EQ(shard->counters().syn_cookies_failed, 1u);
}

TEST_F(SynCookie, Never_BacklogFull_SynDropped) {
  config.syn_cookies = SynCookies::never;  // the [tcp] default, no ListenOptions override
  make_shard();
  ListenOptions o;
  o.syn_backlog = 1;
  ASSERT_TRUE(shard->listen(kLocalPort, rec, o).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}});
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = 40001});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_syn_backlog_full, 1u);
  EXPECT_EQ(shard->counters().syn_cookies_sent, 0u);
  // And an ACK carrying what would be a valid cookie is only an ACK to a listener.
  inject({.flags = ACK, .seq = 1001, .ack = cookie(1000, 0, 6, 40001) + 1, .src_port = 40001});
  expect_reply({.flags = RST, .seq = cookie(1000, 0, 6, 40001) + 1, .ack = 0, .window = 0, .dst_port = 40001});
  EXPECT_EQ(shard->counters().syn_cookies_validated, 0u);
}

TEST_F(SynCookie, ConfigAlways_AppliesToListenersWithoutOverride) {
  config.syn_cookies = SynCookies::always;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = cookie(1000, 0, 6), .ack = 1001, .options = {.mss = 1460}});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

// Linux's young/old rule: 8 half-open connections fill a backlog of 8 (more than half full).
// Once every one has been retransmitted (old), they get 2 retries instead of max_syn_retries
// (6): SYN-ACKs at 0, 1 s, 3 s, given up at 7 s instead of 127 s, until the backlog is no more
// than half full (the last four keep their retries).
TEST_F(SynCookie, BacklogUnderPressure_OldEntriesPrunedAfterTwoRetries) {
  listen(SynCookies::never, 8);
  for (uint16_t i = 0; i < 8; ++i) {
    const auto port = static_cast<uint16_t>(40000 + i);
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = port});
    expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = port});
  }
  for (int64_t t : {1000, 3000}) {
    at(t);
    for (uint16_t i = 0; i < 8; ++i)
      expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = static_cast<uint16_t>(40000 + i)});
    expect_nothing();
  }
  EXPECT_EQ(shard->connections_in_use(), 8u);
  at(7000);
  EXPECT_EQ(shard->counters().syn_ack_pruned, 4u);
  EXPECT_EQ(shard->connections_in_use(), 4u);
  for (uint16_t i = 4; i < 8; ++i)
    expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = static_cast<uint16_t>(40000 + i)});
  expect_nothing();
  // Room again: a new client's SYN is answered.
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = 41000});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = 41000});
}

// Half full or less: the normal retry count (here still retransmitting at 7 s and 15 s).
TEST_F(SynCookie, BacklogHalfFull_FullRetries) {
  listen(SynCookies::never, 8);
  for (uint16_t i = 0; i < 4; ++i) {
    inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .src_port = static_cast<uint16_t>(40000 + i)});
    expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = static_cast<uint16_t>(40000 + i)});
  }
  for (int64_t t : {1000, 3000, 7000, 15000}) {
    at(t);
    for (uint16_t i = 0; i < 4; ++i)
      expect_reply({.flags = SYN | ACK, .ack = 1001, .options = {.mss = 1460}, .dst_port = static_cast<uint16_t>(40000 + i)});
  }
  EXPECT_EQ(shard->connections_in_use(), 4u);
  EXPECT_EQ(shard->counters().syn_ack_pruned, 0u);
}


// The ASan flake of syn_flood_test's `always` case (cookies sent 1, validated 2): an echo moves
// both sequence spaces by the same amount, so after a passive close (LAST-ACK -> CLOSED keeps no
// TIME-WAIT record) a duplicate of the peer's last ACK carries SEQ - IRS = ACK - ISS and passes
// the cookie check exactly as the handshake's ACK did. A stateless cookie cannot tell the two
// apart (Linux's cookie_v4_check() takes the same segment); what the stack must do is look the
// duplicate up as the connection while the connection exists (second ACK, below), and count
// the late one as a validation, not as a crash or a hang.
TEST_F(SynCookie, Always_EchoedConnectionClosed_LateDuplicateAckValidatesAgain) {
  listen(SynCookies::always);
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  const uint32_t iss = cookie(1000, 0, 6);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  inject(1, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  ASSERT_NE(rec.conn, nullptr);
  // The same ACK again while the connection exists: the connection takes it, no cookie check.
  inject(2, {.flags = ACK, .seq = 1001, .ack = iss + 1});
  EXPECT_EQ(shard->counters().syn_cookies_validated, 1u);
  // Echo five bytes, then the peer closes first and we follow (LAST-ACK).
  inject(3, {.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  ASSERT_EQ(rec.conn->send(bytes_of("hello")), 5u);
  at(4);
  wire.sent.clear();
  inject(5, {.flags = FIN | ACK, .seq = 1006, .ack = iss + 6});
  rec.conn->close();
  at(6);
  wire.sent.clear();
  inject(7, {.flags = ACK, .seq = 1007, .ack = iss + 7});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->time_wait_count(), 0u);
  EXPECT_EQ(shard->counters().conn_established, 1u);
  // The peer's last ACK, duplicated: SEQ - 1 - (ACK - 1) is the cookie's IRS - ISS again.
  inject(8, {.flags = ACK, .seq = 1007, .ack = iss + 7});
  EXPECT_EQ(shard->counters().syn_cookies_validated, 2u);
  EXPECT_EQ(shard->counters().syn_cookies_failed, 0u);
  EXPECT_EQ(shard->counters().conn_established, 2u);
  expect_nothing();
  shard->abort_all();
  wire.sent.clear();
}

}  // namespace
}  // namespace dtcp::tcp::test
