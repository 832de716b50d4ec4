// ConnectOptions::local_address: a connection from one of the port's further addresses (a load
// generator's source range). The 4-tuple carries it both ways, and ports are chosen per address.
// In the IPv6 run (DTCP_TEST_FAMILY=ipv6) the second address is an IPv6 one, to an IPv6 peer.
#include <cstring>

#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

const wire::IpAddr kSecondAddr4 = wire::Ipv4Addr::from_octets(10, 0, 0, 11);
const wire::IpAddr kSecondAddr6 = *wire::IpAddr::parse("2001:db8::11");

class LocalAddress : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    second = ipv6_run() ? kSecondAddr6 : kSecondAddr4;
  }
  // A segment from the peer to `dst` (inject() always targets local_addr).
  void inject_to(const wire::IpAddr& dst, const In& in) {
    wire::TcpHeader h;
    h.src_port = in.src_port;
    h.dst_port = in.dst_port;
    h.seq = in.seq;
    h.ack = in.ack;
    h.flags = in.flags;
    h.window = in.window;
    std::string bytes(wire::tcp_header_len(h), '\0');
    auto span = std::as_writable_bytes(std::span(bytes.data(), bytes.size()));
    wire::write_tcp_header(span, h);
    wire::fill_tcp_checksum(span, remote_addr, dst);
    shard->input(make_mbuf(bytes), remote_addr, dst, wire::Ecn::not_ect, now_);
  }
  // The oldest segment sent (expect_reply() insists on local_addr as the source).
  Sent take() {
    EXPECT_FALSE(wire.sent.empty());
    if (wire.sent.empty()) return {};
    Sent s = wire.sent.front();
    wire.sent.pop_front();
    return s;
  }

  wire::IpAddr second;  // the port's further address, of the run's family
};

TEST_F(LocalAddress, Connect_FromSecondAddress_SynCarriesItAndHandshakeCompletes) {
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec,
                                         ConnectOptions{.local_port = kLocalPort, .local_address = second}, now_);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  rec.conn = r.connection;
  ASSERT_EQ(wire.sent.size(), 1u);
  const Sent syn = take();
  EXPECT_EQ(syn.flags, SYN);
  EXPECT_EQ(syn.src, second);
  EXPECT_EQ(syn.dst, remote_addr);
  EXPECT_EQ(r.connection->local().addr, second);

  inject_to(second, {.flags = SYN | ACK, .seq = 1000, .ack = syn.seq + 1});
  EXPECT_EQ(r.connection->state(), TcpState::established);
  const Sent ack = take();
  EXPECT_EQ(ack.flags, ACK);
  EXPECT_EQ(ack.seq, syn.seq + 1);
  EXPECT_EQ(ack.ack, 1001u);
  EXPECT_EQ(ack.src, second);
  EXPECT_EQ(ack.dst, remote_addr);
}

TEST_F(LocalAddress, SynAckToThePrimaryAddress_DoesNotMatchAConnectionFromTheSecond) {
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec,
                                         ConnectOptions{.local_port = kLocalPort, .local_address = second}, now_);
  ASSERT_TRUE(r.ok());
  const uint32_t iss = take().seq;
  inject(0, {.flags = SYN | ACK, .seq = 1000, .ack = iss + 1});  // to local_addr: no such connection
  EXPECT_EQ(r.connection->state(), TcpState::syn_sent);
  expect_reply({.flags = RST, .seq = iss + 1, .ack = 0});  // RFC 9293 §3.10.7.1, from local_addr
}

TEST_F(LocalAddress, SameLocalPort_OnTwoAddresses) {
  const ConnectOptions primary{.local_port = 5000};
  const ConnectOptions from_second{.local_port = 5000, .local_address = second};
  EXPECT_TRUE(shard->connect(remote_addr, kRemotePort, rec, primary, now_).ok());
  EXPECT_TRUE(shard->connect(remote_addr, kRemotePort, rec, from_second, now_).ok());
  EXPECT_EQ(shard->connect(remote_addr, kRemotePort, rec, from_second, now_).error, ConnectError::address_in_use);
}

TEST_F(LocalAddress, EphemeralPorts_ChosenPerAddress) {
  config.ephemeral_port_min = config.ephemeral_port_max = 50000;  // one port per address
  make_shard();
  EXPECT_TRUE(shard->connect(remote_addr, kRemotePort, rec, {}, now_).ok());
  EXPECT_EQ(shard->connect(remote_addr, kRemotePort, rec, {}, now_).error, ConnectError::no_ephemeral_port);
  const ConnectResult r =
      shard->connect(remote_addr, kRemotePort, rec, ConnectOptions{.local_address = second}, now_);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.connection->local().port, 50000);
  EXPECT_EQ(r.connection->local().addr, second);
}

}  // namespace
}  // namespace dtcp::tcp::test
