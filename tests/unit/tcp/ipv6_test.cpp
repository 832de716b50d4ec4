// TCP over IPv6, where it differs from IPv4. The rest of TCP is family-blind and the whole TCP
// suite runs a second time over IPv6 (DTCP_TEST_FAMILY=ipv6, see harness.cpp); these tests pin
// what that run cannot: the MSS of MTU - 60 (RFC 8200 §8.3), Packet Too Big with IPv6's 1280-byte
// floor (RFC 8201 §4), one listener for both families and listeners of one family, connect()
// choosing the source of the destination's family, and IPv4 and IPv6 tuples that share ports.
#include "harness.hpp"
#include "tcp/time_wait.hpp"

namespace dtcp::tcp::test {
namespace {

using Strings = std::vector<std::string>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

class Ipv6 : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    config.mss = 1460;  // the default, whatever the family of this run
    local_addr = kLocalAddr6;
    remote_addr = kRemoteAddr6;
    make_shard();
  }
  // Switches the injected and expected addresses to the other family (the shard is kept).
  void speak_ipv4() {
    local_addr = kLocalAddr;
    remote_addr = kRemoteAddr;
  }
  void speak_ipv6() {
    local_addr = kLocalAddr6;
    remote_addr = kRemoteAddr6;
  }
  // A shard with an address of each family.
  void make_dual_stack_shard() {
    shard.reset();
    ShardEnv env;
    env.pool = g_pool;
    env.output = &wire;
    env.local_addr = kLocalAddr;
    env.local_addr6 = kLocalAddr6;
    env.secret_seed = 42;
    shard = std::make_unique<Shard>(config, env, now_);
  }
  void deliver_packet_too_big(uint32_t seq, uint32_t mtu) {
    shard->icmp_error(wire::IcmpTcpError{.kind = wire::IcmpErrorKind::packet_too_big,
                                         .type = 2,  // ICMPv6 Packet Too Big (RFC 4443 §3.2)
                                         .code = 0,
                                         .quoted_length = 1500,
                                         .next_hop_mtu = mtu,
                                         .local = local_addr,
                                         .remote = remote_addr,
                                         .local_port = kLocalPort,
                                         .remote_port = kRemotePort,
                                         .seq = seq},
                      now_);
  }
  uint32_t established_with_flight() {
    const uint32_t iss = established();
    EXPECT_EQ(rec.conn->send(bytes_of(pattern(3000))), 3000u);
    expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1440});
    expect_reply({.flags = ACK, .seq = iss + 1441, .ack = 1001, .len = 1440});
    expect_reply({.flags = ACK | PSH, .seq = iss + 2881, .ack = 1001, .len = 120});
    return iss;
  }
};

// ---- MSS (RFC 8200 §8.3: the IPv6 header is 40 bytes, so MTU 1500 gives 1440) ----

TEST_F(Ipv6, PassiveOpen_SynAckAnnouncesMtuMinus60) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
  expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1440}});
}

TEST_F(Ipv6, ActiveOpen_SynFromTheIpv6AddressWithMss1440) {
  const ConnectResult r = shard->connect(kRemoteAddr6, kRemotePort, rec, ConnectOptions{.local_port = kLocalPort}, now_);
  ASSERT_TRUE(r.ok());
  rec.conn = r.connection;
  expect_reply({.flags = SYN, .ack = 0, .window = 65535, .options = {.mss = 1440}});  // checks src and dst too
  EXPECT_EQ(r.connection->local().addr, kLocalAddr6);
  EXPECT_EQ(r.connection->remote().to_string(), "[2001:db8::2]:40000");
}

TEST_F(Ipv6, PeerMssAboveOurs_DataSegmentsOf1440) {
  const uint32_t iss = established_with_flight();
  inject({.flags = ACK, .seq = 1001, .ack = iss + 3001});
  expect_nothing();
}

// ---- Packet Too Big (RFC 8201 §4, validated as RFC 5927 §4.1 says) ----

TEST_F(Ipv6, PacketTooBig_LowersMssToMtuMinus60_FlightResent) {
  const uint32_t iss = established_with_flight();
  deliver_packet_too_big(iss + 1, 1400);
  EXPECT_EQ(shard->counters().icmp_pmtu_reductions, 1u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1340});
  expect_reply({.flags = ACK, .seq = iss + 1341, .ack = 1001, .len = 1340});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2681, .ack = 1001, .len = 320});
  expect_nothing();
}

TEST_F(Ipv6, PacketTooBig_BelowThe1280Minimum_TakenAs1280NotMinPmtu) {
  const uint32_t iss = established_with_flight();
  deliver_packet_too_big(iss + 1, 600);  // RFC 8200 §5: no IPv6 link is narrower than 1280
  EXPECT_EQ(shard->counters().icmp_pmtu_floored, 1u);
  expect_reply({.flags = ACK, .seq = iss + 1, .ack = 1001, .len = 1220});
  expect_reply({.flags = ACK, .seq = iss + 1221, .ack = 1001, .len = 1220});
  expect_reply({.flags = ACK | PSH, .seq = iss + 2441, .ack = 1001, .len = 560});
}

TEST_F(Ipv6, PacketTooBig_QuotedSeqNotInFlight_Rejected) {
  const uint32_t iss = established_with_flight();
  deliver_packet_too_big(iss + 5000, 1280);
  EXPECT_EQ(shard->counters().icmp_rejected_out_of_window, 1u);
  expect_nothing();
}

TEST_F(Ipv6, PacketTooBig_ForTheSameTupleOverIpv4_NoConnection) {
  const uint32_t iss = established_with_flight();
  speak_ipv4();  // same ports, other family: not this connection
  deliver_packet_too_big(iss + 1, 1280);
  EXPECT_EQ(shard->counters().icmp_rejected_no_connection, 1u);
  speak_ipv6();
  expect_nothing();
}

// ---- listeners and families ----

TEST_F(Ipv6, OneListener_AcceptsBothFamiliesOnTheSamePort) {
  make_dual_stack_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1440}});
  const Sent synack6 = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1440}});
  speak_ipv4();
  inject({.flags = SYN, .seq = 7000, .options = {.mss = 1460}});  // same ports, IPv4
  const Sent synack4 = expect_reply({.flags = SYN | ACK, .ack = 7001, .window = 65535, .options = {.mss = 1460}});
  inject({.flags = ACK, .seq = 7001, .ack = synack4.seq + 1});
  speak_ipv6();
  inject({.flags = ACK, .seq = 1001, .ack = synack6.seq + 1});
  EXPECT_EQ(rec.events, (Strings{"accept", "accept"}));
  EXPECT_EQ(shard->connections_in_use(), 2u);
  EXPECT_NE(synack4.seq, synack6.seq);  // RFC 6528: the ISN is keyed on the whole tuple
}

TEST_F(Ipv6, Ipv6OnlyListener_Ipv4SynReset_ThenAnIpv4ListenerOnTheSamePort) {
  make_dual_stack_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec, {.family = wire::IpFamily::v6}).ok());
  speak_ipv4();
  inject({.flags = SYN, .seq = 7000});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 7001, .window = 0});
  EXPECT_EQ(shard->counters().drop_closed_port, 1u);
  // One listener per family may share the port; a second one of a family, or one for both, may not.
  Recorder other;
  EXPECT_EQ(shard->listen(kLocalPort, other, {.family = wire::IpFamily::v6}).error, ListenError::port_in_use);
  EXPECT_EQ(shard->listen(kLocalPort, other).error, ListenError::port_in_use);
  ASSERT_TRUE(shard->listen(kLocalPort, other, {.family = wire::IpFamily::v4}).ok());
  inject({.flags = SYN, .seq = 7000});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 7001, .window = 65535, .options = {.mss = 1460}});
  shard->unlisten(kLocalPort);  // both go, and the half-open IPv4 connection is reset
  expect_reply({.flags = RST, .seq = synack.seq + 1, .ack = 0, .window = 0});
  speak_ipv6();
  inject({.flags = SYN, .seq = 1000});
  expect_reply({.flags = RST | ACK, .seq = 0, .ack = 1001, .window = 0});
  wire.sent.clear();
}

TEST_F(Ipv6, DualStackListener_ConflictsWithASingleFamilyOne) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  Recorder other;
  EXPECT_EQ(shard->listen(kLocalPort, other, {.family = wire::IpFamily::v4}).error, ListenError::port_in_use);
  EXPECT_EQ(shard->listen(kLocalPort, other, {.family = wire::IpFamily::v6}).error, ListenError::port_in_use);
}

// ---- connect() and source addresses ----

TEST_F(Ipv6, Connect_NoAddressOfTheDestinationsFamily_InvalidAddress) {
  // This shard has only an IPv6 address.
  EXPECT_EQ(shard->connect(kRemoteAddr, kRemotePort, rec, {}, now_).error, ConnectError::invalid_address);
  // An explicit source of the other family.
  EXPECT_EQ(shard->connect(kRemoteAddr6, kRemotePort, rec, {.local_address = kLocalAddr}, now_).error,
            ConnectError::invalid_address);
}

TEST_F(Ipv6, Connect_MulticastOrUnspecifiedDestination_InvalidAddress) {
  EXPECT_EQ(shard->connect(*wire::IpAddr::parse("ff02::1"), kRemotePort, rec, {}, now_).error,
            ConnectError::invalid_address);
  EXPECT_EQ(shard->connect(wire::IpAddr{}, kRemotePort, rec, {}, now_).error, ConnectError::invalid_address);
  expect_nothing();
}

TEST_F(Ipv6, Input_FromMulticastSource_DroppedUnanswered) {
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  remote_addr = *wire::IpAddr::parse("ff02::1");
  inject({.flags = SYN, .seq = 1000});
  EXPECT_EQ(shard->counters().drop_bad_address, 1u);
  remote_addr = kRemoteAddr6;
  expect_nothing();
}

TEST_F(Ipv6, DualStack_ConnectPicksTheSourceOfTheDestinationsFamily) {
  make_dual_stack_shard();
  const ConnectResult r6 = shard->connect(kRemoteAddr6, kRemotePort, rec, {}, now_);
  const ConnectResult r4 = shard->connect(kRemoteAddr, kRemotePort, rec, {}, now_);
  ASSERT_TRUE(r6.ok() && r4.ok());
  EXPECT_EQ(r6.connection->local().addr, kLocalAddr6);
  EXPECT_EQ(r4.connection->local().addr, kLocalAddr);
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent[0].options.mss, 1440);
  EXPECT_EQ(wire.sent[1].options.mss, 1460);
  wire.sent.clear();
}

// ---- TIME-WAIT records hold IPv6 tuples in the same fixed size ----

TEST_F(Ipv6, TimeWait_RecordKeepsTheIpv6Tuple_SameSizeAsIpv4) {
  static_assert(sizeof(TimeWaitRecord) == 88);
  const uint32_t iss = fin_wait_2();
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  ASSERT_EQ(shard->time_wait_count(), 1u);
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});  // retransmitted FIN: re-ACKed from the record
  expect_reply({.flags = ACK, .seq = iss + 2, .ack = 1002});
  speak_ipv4();  // the same ports over IPv4 are another tuple: no listener there (closed)
  inject({.flags = FIN | ACK, .seq = 1001, .ack = iss + 2});
  expect_reply({.flags = RST, .seq = iss + 2, .ack = 0, .window = 0});
  speak_ipv6();
  bool seen = false;
  shard->for_each_connection([&](const ConnectionInfo& i) {
    if (i.time_wait_record) seen = i.local.to_string() == "[2001:db8::1]:80" && i.remote.addr == kRemoteAddr6;
  });
  EXPECT_TRUE(seen);
}

// ---- SYN cookies carry over: the cookie hash is keyed on the full IPv6 tuple ----

TEST_F(Ipv6, SynCookie_Always_ConnectionFromTheCookieHasIpv6Mss) {
  config.syn_cookies = SynCookies::always;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec).ok());
  inject({.flags = SYN, .seq = 1000, .options = {.mss = 1440}});
  const Sent synack = expect_reply({.flags = SYN | ACK, .ack = 1001, .window = 65535, .options = {.mss = 1440}});
  EXPECT_EQ(shard->counters().syn_cookies_sent, 1u);
  inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1});
  ASSERT_EQ(rec.events, Strings{"accept"});
  ASSERT_EQ(rec.conn->send(bytes_of(pattern(2000))), 2000u);
  expect_reply({.flags = ACK, .seq = synack.seq + 1, .ack = 1001, .len = 1440});
  expect_reply({.flags = ACK | PSH, .seq = synack.seq + 1441, .ack = 1001, .len = 560});
  // A cookie is only good for its tuple: the same ACK from another IPv6 address fails.
  remote_addr = *wire::IpAddr::parse("2001:db8::3");
  inject({.flags = ACK, .seq = 1001, .ack = synack.seq + 1});
  expect_reply({.flags = RST, .seq = synack.seq + 1, .ack = 0, .window = 0});
  remote_addr = kRemoteAddr6;
  wire.sent.clear();
}

}  // namespace
}  // namespace dtcp::tcp::test
