// Opening: passive, active, simultaneous; the CLOSED, LISTEN, SYN-SENT and SYN-RECEIVED rules of
// RFC 9293 §3.10.7; pools, backlog and ephemeral ports.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <rte_log.h>
#include <rte_mbuf.h>

#include "base/log.hpp"
#include "harness.hpp"
#include "tcp/isn.hpp"

namespace dtcp::tcp::test {
namespace {

using Handshake = TcpTest;
using Strings = std::vector<std::string>;

TEST_F(Handshake, Listen_Syn_SendsSynAckAndAcceptsOnAck) {
  const uint32_t iss = listen_and_syn_received();
  EXPECT_TRUE(rec.events.empty());
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  expect_nothing();
  ASSERT_EQ(rec.events, Strings{"accept"});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(rec.conn->local().port, kLocalPort);
  EXPECT_EQ(rec.conn->remote().addr, remote_addr);
  EXPECT_EQ(shard->counters().conn_established, 1u);
}

TEST_F(Handshake, Listen_DataWithFinalAck_AcceptedThenReadable) {
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "hello"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1006, .window = 65535 - 5});
  EXPECT_EQ(rec.events, (Strings{"accept", "readable"}));
  EXPECT_EQ(rec.received, "hello");
}

TEST_F(Handshake, Listen_SynWithData_DataNotAcknowledged) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1460}, .data = "early"});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
}

TEST_F(Handshake, Listen_Rst_Ignored) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = RST, .seq = 1000});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_listen_rst, 1u);
}

TEST_F(Handshake, Listen_Ack_SendsRstWithSeqOfAck) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = ACK, .seq = 1000, .ack = 777});
  expect_reply({.flags = RST, .seq = 777, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Handshake, Listen_NeitherSynNorAck_Dropped) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = FIN, .seq = 1000});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_listen_no_syn, 1u);
}

TEST_F(Handshake, ClosedPort_Syn_SendsRstAckCoveringSyn) {
  inject({.flags = SYN, .seq = 1000});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 1001, .window = 0});
  EXPECT_EQ(shard->counters().drop_closed_port, 1u);
}

// RFC 9293 §3.10.7.1: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; one without gets
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SEG.LEN counting the data and one for SYN or FIN.
TEST_F(Handshake, ClosedPort_SynOrFinWithData_AckCoversEverything) {
  inject({.flags = SYN | ACK, .seq = 1000, .ack = 55, .data = "abc"});
  expect_reply({.flags = RST, .seq = 55, .ack = 0, .window = 0});
  inject({.flags = SYN, .seq = 1500, .data = "abc"});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 1504, .window = 0});
  inject({.flags = PSH, .seq = 2000, .data = "abcd"});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 2004, .window = 0});
  inject({.flags = FIN, .seq = 3000, .data = "ab"});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 3003, .window = 0});
  EXPECT_EQ(shard->counters().drop_closed_port, 4u);
}

// By the letter of §3.10.7.1 SYN and FIN together with data would get <ACK=SEG.SEQ+len+2> (and
// Linux, whose tcp_v4_send_reset answers any segment that finds no socket, sends that). dtcp's
// TcpView::parse rejects SYN with FIN as a scanner probe (src/wire/tcp.cpp), so the segment is
// counted as malformed before the port is looked up, and nothing is sent.
TEST_F(Handshake, ClosedPort_SynFinWithData_DroppedAsMalformed) {
  inject({.flags = SYN | FIN, .seq = 4000, .data = "abcde"});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_malformed, 1u);
  EXPECT_EQ(shard->counters().drop_closed_port, 0u);
}

TEST_F(Handshake, ClosedPort_Rst_NeverAnswered) {
  inject({.flags = RST, .seq = 1000});
  inject({.flags = RST | ACK, .seq = 1000, .ack = 5});
  expect_nothing();
}

TEST_F(Handshake, BroadcastSource_Dropped) {
  // Injected through the shard directly: a SYN "from" a multicast address gets no RST.
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  wire::TcpHeader h{.src_port = kRemotePort, .dst_port = kLocalPort, .seq = 1, .flags = SYN, .window = 100};
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, 20));
  wire::write_tcp_header(std::span<std::byte>(p, 20), h);
  shard->input(m, wire::Ipv4Addr::from_octets(224, 0, 0, 1), local_addr, wire::Ecn::not_ect, now_);
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_bad_address, 1u);
}

TEST_F(Handshake, SynReceived_AckBelowIss_SendsRst) {
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = ACK, .seq = 1001, .ack = iss});
  expect_reply({.flags = RST, .seq = iss, .ack = 0, .window = 0});
  EXPECT_EQ(shard->counters().drop_syn_received_bad_ack, 1u);
  // The embryonic connection survives; the right ACK still completes it.
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  EXPECT_EQ(rec.events, Strings{"accept"});
}

TEST_F(Handshake, SynReceived_AckAboveSndNxt_SendsRst) {
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
}

TEST_F(Handshake, SynReceived_RetransmittedSyn_ResendsSynAck) {
  const uint32_t iss = listen_and_syn_received();
  inject(300, {.flags = SYN, .seq = 1000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
}

TEST_F(Handshake, SynReceived_RstExact_ReturnsToListen) {
  listen_and_syn_received();
  inject({.flags = RST, .seq = 1001});
  expect_nothing();
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(shard->connections_in_use(), 0u);
  // Still listening.
  inject({.flags = SYN, .seq = 7000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .ack = 7001, .window = 65535, .options = {.mss = 1460}});
}

TEST_F(Handshake, SynReceived_RstInWindow_ChallengeAck) {
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = RST, .seq = 1500});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001});
  EXPECT_EQ(shard->connections_in_use(), 1u);
}

TEST_F(Handshake, SynReceived_DifferentSyn_ReturnsToListen) {
  listen_and_syn_received();
  inject({.flags = SYN, .seq = 1500});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Handshake, SynReceived_SynAckLost_RetransmitsWithBackoffThenForgets) {
  config.max_syn_retries = 2;
  make_shard();
  const uint32_t iss = listen_and_syn_received();
  at(999);
  expect_nothing();
  at(1000);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  at(2999);
  expect_nothing();
  at(3000);
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  at(6999);
  EXPECT_EQ(shard->connections_in_use(), 1u);
  at(7000);
  expect_nothing();
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(Handshake, SynSent_SynAck_Established) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1000}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .window = 65535});
  EXPECT_EQ(rec.events, Strings{"connected"});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
}

TEST_F(Handshake, SynSent_SynAckWithData_DataDelivered) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN | ACK | PSH, .seq = 5000, .ack = iss + 1, .options = {.mss = 1000}, .data = "hi"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5003, .window = 65533});
  EXPECT_EQ(rec.events, (Strings{"connected", "readable"}));
  EXPECT_EQ(rec.received, "hi");
}

TEST_F(Handshake, SynSent_AckOfIss_SendsRst) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss});
  expect_reply({.flags = RST, .seq = iss, .ack = 0, .window = 0});
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);
  inject({.flags = ACK, .seq = 5000, .ack = iss + 7});
  expect_reply({.flags = RST, .seq = iss + 7, .ack = 0, .window = 0});
}

TEST_F(Handshake, SynSent_BadAckWithRst_Ignored) {
  const uint32_t iss = syn_sent();
  inject({.flags = RST | ACK, .seq = 5000, .ack = iss + 9});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);
}

TEST_F(Handshake, SynSent_RstAcknowledgingSyn_Refused) {
  const uint32_t iss = syn_sent();
  inject({.flags = RST | ACK, .seq = 0, .ack = iss + 1});
  expect_nothing();
  EXPECT_EQ(rec.events, Strings{"closed:refused"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Handshake, SynSent_RstWithoutAck_Ignored) {
  syn_sent();
  inject({.flags = RST, .seq = 5000});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);
}

TEST_F(Handshake, SynSent_NoSynNoRst_Dropped) {
  const uint32_t iss = syn_sent();
  inject({.flags = ACK, .seq = 5000, .ack = iss + 1});
  expect_nothing();
  EXPECT_EQ(rec.conn->state(), TcpState::syn_sent);
}

TEST_F(Handshake, SynSent_SynOnly_SimultaneousOpen) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN, .seq = 5000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 5001, .window = 65535, .options = {.mss = 1460}});
  EXPECT_EQ(rec.conn->state(), TcpState::syn_received);
  // The peer's SYN-ACK (its SYN again, acknowledging ours) completes it.
  inject({.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1460}});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(rec.events, Strings{"connected"});
  expect_nothing();
  EXPECT_EQ(transitions, (Strings{"CLOSED>SYN-SENT", "SYN-SENT>SYN-RECEIVED", "SYN-RECEIVED>ESTABLISHED"}));
}

TEST_F(Handshake, SimultaneousOpen_PlainAck_Established) {
  const uint32_t iss = syn_sent();
  inject({.flags = SYN, .seq = 5000, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .seq = iss, .ack = 5001, .window = 65535, .options = {.mss = 1460}});
  inject({.flags = ACK, .seq = 5001, .ack = iss + 1});
  EXPECT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(rec.events, Strings{"connected"});
}

TEST_F(Handshake, SynSent_NoAnswer_BacksOffThenTimedOut) {
  config.max_syn_retries = 2;
  make_shard();
  const uint32_t iss = syn_sent();
  at(999);
  expect_nothing();
  at(1000);
  expect_reply({.flags = SYN, .seq = iss, .ack = 0, .window = 65535, .options = {.mss = 1460}});
  at(3000);
  expect_reply({.flags = SYN, .seq = iss, .ack = 0, .window = 65535, .options = {.mss = 1460}});
  at(6999);
  EXPECT_TRUE(rec.events.empty());
  at(7000);
  expect_nothing();
  EXPECT_EQ(rec.events, Strings{"closed:timed_out"});
  EXPECT_EQ(shard->connections_in_use(), 0u);
}

TEST_F(Handshake, SynSent_RetransmittedSyn_RtoThreeSecondsAfterHandshake) {
  config.min_rto = std::chrono::milliseconds(10);
  make_shard();
  const uint32_t iss = syn_sent();
  at(1000);
  expect_reply({.flags = SYN, .seq = iss, .window = 65535, .options = {.mss = 1460}});
  inject(1050, {.flags = SYN | ACK, .seq = 5000, .ack = iss + 1, .options = {.mss = 1460}});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 5001, .window = 65535});
  // RFC 6298 §5.7: no RTT sample (Karn), so data starts with RTO = 3 s.
  rec.conn->send(std::as_bytes(std::span("x", 1)));
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 5001, .window = 65535, .len = 1});
  at(4049);
  expect_nothing();
  at(4050);
  expect_reply({.flags = ACK | PSH, .seq = iss + 1, .ack = 5001, .window = 65535, .len = 1});
}

TEST_F(Handshake, IsnFollowsFourMicrosecondClock) {
  const uint32_t first = syn_sent();
  rec.conn->abort();
  expect_nothing();  // no RST from SYN-SENT
  at_us(4000);
  const uint32_t second = syn_sent();
  EXPECT_EQ(second - first, 1000u);  // RFC 6528: same tuple, 4000 µs later
}

TEST_F(Handshake, PoolFull_SynDropped_ExistingConnectionUnaffected) {
  config.max_connections = 1;
  make_shard();
  const uint32_t iss = established();
  inject({.flags = SYN, .seq = 9000, .src_port = 40001});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_syn_pool_full, 1u);
  inject({.flags = ACK | PSH, .seq = 1001, .ack = iss + 1, .data = "still here"});
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1011, .window = 65525});
  EXPECT_EQ(rec.received, "still here");
}

TEST_F(Handshake, PoolFull_RstOnFull_SendsRst) {
  config.max_connections = 1;
  config.rst_on_full = true;
  make_shard();
  established();
  inject({.flags = SYN, .seq = 9000, .src_port = 40001});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 9001, .window = 0, .dst_port = 40001});
}

// Without SYN cookies (with them, see syn_cookie_test.cpp).
TEST_F(Handshake, SynBacklogFull_SynDropped) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.syn_backlog = 1, .syn_cookies = SynCookies::never}).ok());
  inject({.flags = SYN, .seq = 1000});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1460}});
  inject({.flags = SYN, .seq = 2000, .src_port = 40001});
  expect_nothing();
  EXPECT_EQ(shard->counters().drop_syn_backlog_full, 1u);
}

TEST_F(Handshake, Accept_Refused_SendsRst) {
  rec.refuse = true;
  const uint32_t iss = listen_and_syn_received();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  EXPECT_EQ(shard->counters().conn_accept_refused, 1u);
}

TEST_F(Handshake, Unlisten_ResetsSynReceived) {
  const uint32_t iss = listen_and_syn_received();
  shard->unlisten(kLocalPort);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0, .window = 0});
  EXPECT_EQ(shard->connections_in_use(), 0u);
  inject({.flags = SYN, .seq = 1});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 2, .window = 0});
}

TEST_F(Handshake, Listen_Errors) {
  EXPECT_EQ(shard->listen(0, rec).error, ListenError::invalid_port);
  EXPECT_TRUE(shard->listen(80, rec).ok());
  EXPECT_EQ(shard->listen(80, rec).error, ListenError::port_in_use);
}

TEST_F(Handshake, EphemeralPorts_SkipTuplesInUse_ThenExhausted) {
  config.ephemeral_port_min = 50000;
  config.ephemeral_port_max = 50001;
  make_shard();
  const ConnectResult a = shard->connect(remote_addr, kRemotePort, rec, {}, now_);
  const ConnectResult b = shard->connect(remote_addr, kRemotePort, rec, {}, now_);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a.connection->local().port, b.connection->local().port);
  const ConnectResult c = shard->connect(remote_addr, kRemotePort, rec, {}, now_);
  EXPECT_EQ(c.error, ConnectError::no_ephemeral_port);
  // Another destination port is another 4-tuple.
  EXPECT_TRUE(shard->connect(remote_addr, kRemotePort + 1, rec, {}, now_).ok());
  wire.sent.clear();
}

// RFC 6056 §3.3.3 (algorithm 3): port = min + (F(local, remote, remote port) + counter) % range,
// the counter moving on by the ports tried. F is kept for the last destination; connecting to
// another one and back must still start each at its own F.
TEST_F(Handshake, EphemeralPorts_EachDestinationStartsAtItsOwnOffset) {
  const SecretKeys keys(42);  // the harness's secret_seed, shard 0
  const uint32_t range = uint32_t{config.ephemeral_port_max} - config.ephemeral_port_min + 1;
  const auto expected = [&](uint16_t remote_port, uint32_t counter) {
    return static_cast<uint16_t>(config.ephemeral_port_min +
                                 (keys.port_offset(local_addr, remote_addr, remote_port) + counter) % range);
  };
  const ConnectResult a1 = shard->connect(remote_addr, kRemotePort, rec, {}, now_);
  const ConnectResult b = shard->connect(remote_addr, kRemotePort + 1, rec, {}, now_);
  const ConnectResult a2 = shard->connect(remote_addr, kRemotePort, rec, {}, now_);
  ASSERT_TRUE(a1.ok() && b.ok() && a2.ok());
  EXPECT_EQ(a1.connection->local().port, expected(kRemotePort, 0));
  EXPECT_EQ(b.connection->local().port, expected(kRemotePort + 1, 1));
  EXPECT_EQ(a2.connection->local().port, expected(kRemotePort, 2));
  wire.sent.clear();
}

TEST_F(Handshake, Connect_Errors) {
  EXPECT_EQ(shard->connect(wire::Ipv4Addr{}, 80, rec, {}, now_).error, ConnectError::invalid_address);
  EXPECT_EQ(shard->connect(remote_addr, 0, rec, {}, now_).error, ConnectError::invalid_address);
  syn_sent();
  EXPECT_EQ(shard->connect(remote_addr, kRemotePort, rec, ConnectOptions{.local_port = kLocalPort}, now_).error,
            ConnectError::address_in_use);
}

TEST_F(Handshake, ForEachConnection_ListsTcbsAndTimeWaitRecords) {
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  inject({.flags = SYN, .seq = 1, .src_port = 40001});
  wire.sent.clear();
  std::vector<std::string> seen;
  shard->for_each_connection([&](const ConnectionInfo& c) {
    seen.push_back(std::string(c.state_name) + " " + std::to_string(c.remote.port) + (c.time_wait_record ? " tw" : ""));
  });
  EXPECT_EQ(seen, (Strings{"SYN-RECEIVED 40001", "TIME-WAIT 40000 tw"}));
}

// Converts to anything, so T{AnyValue{}, ...} compiles for up to as many values as T has fields.
struct AnyValue {
  template <class T>
  operator T() const;
};
// The number of fields of the aggregate T.
template <class T, class... Values>
constexpr size_t field_count() {
  if constexpr (requires { T{Values{}..., AnyValue{}}; }) {
    return field_count<T, Values..., AnyValue>();
  } else {
    return sizeof...(Values);
  }
}

// TcpCounters, its operator+=, the dtcp-node printout and the telemetry dictionary are all
// generated from the one DTCP_TCP_COUNTERS list, so there is no second names table to fall out
// of step (and a name listed twice would not compile). What can go wrong is the block itself: a
// field outside the list (neither printed nor served), a field += leaves out, an entry without
// the description the printout shows. So: the struct has as many fields as the list has
// entries, and they are the list's, in order at 0, 8, 16, ..., padded to whole cache lines; +=
// sums every one; every one has a description.
// ListenOptions::recv_buffer applies from the SYN on: the SYN-ACK offers it (a Connection's
// set_receive_buffer() after accept could not shrink the 65535 already offered), and so does the
// window once data arrives. The sockets layer passes the listener's SO_RCVBUF this way.
TEST_F(Handshake, ListenRecvBuffer_SynAckAndLaterWindowsOfferIt) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.recv_buffer = 4000}).ok());
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 4000, .options = {.mss = 1460}});
  inject({.flags = ACK | PSH, .seq = 1001, .ack = synack.seq + 1, .data = std::string(1000, 'x')});
  expect_reply({.flags = ACK, .seq = synack.seq + 1, .ack = 2001, .window = 3000});
  ASSERT_NE(rec.conn, nullptr);
  EXPECT_EQ(rec.conn->receive_buffer(), 4000u);
}

TEST_F(Handshake, ListenRecvBuffer_CookieSynAckOffersIt) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.recv_buffer = 4000, .syn_cookies = SynCookies::always}).ok());
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 4000, .options = {.mss = 1460}});
}

TEST(TcpCounterList, EveryEntryIsAFieldSummedAndDescribed) {
  TcpCounters sum, other;
  size_t entries = 0;
#define DTCP_CHECK_ENTRY(name, description)                                        \
  EXPECT_EQ(offsetof(TcpCounters, name), entries * sizeof(uint64_t)) << #name;     \
  EXPECT_NE(std::string_view(description), "") << #name " has no description";      \
  ++entries;                                                                        \
  sum.name = entries;                                                               \
  other.name = 1000 * entries;
  DTCP_TCP_COUNTERS(DTCP_CHECK_ENTRY)
#undef DTCP_CHECK_ENTRY
  EXPECT_EQ(field_count<TcpCounters>(), entries) << "TcpCounters has fields its list does not name";
  EXPECT_EQ(sizeof(TcpCounters), (entries * sizeof(uint64_t) + 63) / 64 * 64);
  sum += other;
  size_t index = 0;
#define DTCP_CHECK_SUM(name, description) \
  ++index;                                \
  EXPECT_EQ(sum.name, 1001 * index) << #name " is not summed by +=";
  DTCP_TCP_COUNTERS(DTCP_CHECK_SUM)
#undef DTCP_CHECK_SUM

}

// The state-change trace reads a copy of dtcp.tcp's level that advance() refreshes once a timer
// tick (rte_log_can_log is a call into EAL): a level raised while the shard runs applies from the
// next tick on. (A level lowered applies at once: the log macro checks the level itself; the
// second half checks only that nothing is written then.)
TEST_F(Handshake, TcpDebugLevelSetAtRunTime_StateChangesTracedFromTheNextTick) {
  struct CapturedTcpLog {
    CapturedTcpLog() {
      saved_level = rte_log_get_level(log::type_id(log::Subsystem::tcp));
      stream = open_memstream(&buffer, &size);
      rte_openlog_stream(stream);
    }
    ~CapturedTcpLog() {
      rte_openlog_stream(nullptr);
      std::fclose(stream);
      std::free(buffer);
      rte_log_set_level(log::type_id(log::Subsystem::tcp), static_cast<uint32_t>(saved_level));
    }
    std::string text() {
      std::fflush(stream);
      return std::string(buffer, size);
    }
    int saved_level = 0;
    FILE* stream = nullptr;
    char* buffer = nullptr;
    size_t size = 0;
  } captured;
  // Without the harness's tracer, which makes every change take the trace path.
  record_transitions = false;
  make_shard();  // reads the level: error, as main.cpp set it
  rte_log_set_level(log::type_id(log::Subsystem::tcp), RTE_LOG_DEBUG);
  at(1);
  const uint32_t iss = listen_and_syn_received();
  EXPECT_NE(captured.text().find(" -> SYN-RECEIVED\n"), std::string::npos) << captured.text();
  rte_log_set_level(log::type_id(log::Subsystem::tcp), RTE_LOG_ERR);
  at(2);
  inject({.flags = ACK, .seq = 1001, .ack = iss + 1});
  ASSERT_EQ(rec.conn->state(), TcpState::established);
  EXPECT_EQ(captured.text().find("-> ESTABLISHED"), std::string::npos) << captured.text();
}

}  // namespace
}  // namespace dtcp::tcp::test
