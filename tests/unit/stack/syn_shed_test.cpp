// Admission past capacity (issue 15 part 4): while TCP sheds bare SYNs (TcpReceiver's
// syn_shedding_flag() set: the shard is behind and this loop iteration's [tcp] syn_budget is
// used up), Interface::input drops a bare SYN (SYN without ACK or RST, RFC 9293 §3.1) after a
// peek at its IP and TCP headers, before either checksum is verified, and reports it with
// syn_shed(); every other segment takes the full path. Literal frames built here.
#include <gtest/gtest.h>

#include "stack_test_util.hpp"

namespace dtcp::stack::test {
namespace {

using wire::TcpFlags;

class InterfaceSynShed : public InterfaceTest {
 protected:
  void SetUp() override {
    InterfaceTest::SetUp();
    setup_ = default_setup6();  // IPv4 and IPv6
    rebuild();
    learn_peer();
    attach_tcp();
  }

  static wire::TcpHeader header(TcpFlags flags) {
    return wire::TcpHeader{.src_port = 40000, .dst_port = 80, .seq = 1000, .ack = flags == TcpFlags::syn ? 0u : 1u,
                           .flags = flags, .window = 65535};
  }
  // An IPv4 frame to us holding a segment with `flags`, its TCP checksum correct or not.
  static Bytes frame4(TcpFlags flags, bool bad_checksum = false, const Bytes& payload = {}) {
    Bytes segment = tcp_segment(kPeerIp, kOurIp, header(flags), payload);
    if (bad_checksum) segment[16] ^= std::byte{0x5a};
    return ipv4_frame({.protocol = static_cast<uint8_t>(wire::IpProtocol::tcp), .payload = segment});
  }
  static Bytes frame6(TcpFlags flags, bool bad_checksum = false) {
    Bytes segment = tcp_segment(kPeerIp6, kOurIp6, header(flags), {});
    if (bad_checksum) segment[16] ^= std::byte{0x5a};
    return ipv6_frame({.src = kPeerIp6, .dst = kOurIp6, .next_header = static_cast<uint8_t>(wire::Ipv6NextHeader::tcp),
                       .payload = segment});
  }

  // Feeds `frame` and checks it was shed: reported to TCP once, not handed to it, no interface
  // drop counter moved (the checksum was never looked at), the mbuf freed (checked in TearDown).
  void expect_shed(const Bytes& frame) {
    const NetCounters before = counters_;
    const uint64_t shed_before = tcp_.syns_shed;
    const size_t segments_before = tcp_.segments.size();
    receive(frame);
    EXPECT_EQ(tcp_.syns_shed, shed_before + 1);
    EXPECT_EQ(tcp_.segments.size(), segments_before);
    EXPECT_EQ(drops(changed(before, counters_)), CounterDeltas{});
    EXPECT_TRUE(sink_.empty());
  }
  // Feeds `frame` and checks it took the full path: handed to TCP, nothing shed.
  void expect_delivered(const Bytes& frame) {
    const uint64_t shed_before = tcp_.syns_shed;
    const size_t segments_before = tcp_.segments.size();
    receive(frame);
    EXPECT_EQ(tcp_.syns_shed, shed_before);
    EXPECT_EQ(tcp_.segments.size(), segments_before + 1);
  }
};

TEST_F(InterfaceSynShed, NotShedding_BadChecksumSyn_CountedAsChecksumDrop) {
  expect_dropped(frame4(TcpFlags::syn, true), "drop_tcp_bad_checksum");
  expect_delivered(frame4(TcpFlags::syn));
  EXPECT_EQ(tcp_.syns_shed, 0u);
}

// The shed comes before checksum verification: a SYN whose checksum is wrong is a budget drop,
// not a checksum drop (the point is that a shed SYN costs no checksum over the frame).
TEST_F(InterfaceSynShed, Shedding_BareSynWithBadChecksum_ShedBeforeChecksum) {
  tcp_.shedding = true;
  expect_shed(frame4(TcpFlags::syn, true));
  expect_shed(frame4(TcpFlags::syn));
  // RFC 3168 §6.1.1: an ECN-setup SYN (ECE and CWR) is still a bare SYN.
  expect_shed(frame4(TcpFlags::syn | TcpFlags::ece | TcpFlags::cwr, true));
  expect_shed(frame6(TcpFlags::syn, true));
  EXPECT_EQ(counters_.drop_tcp_bad_checksum, 0u);
  EXPECT_EQ(tcp_.syns_shed, 4u);
}

// SYN-ACKs (our active opens), RSTs (SYN|RST too), and ACKs with or without data or FIN finish
// work already paid for: never shed, whatever the budget. With a bad checksum they are checked
// and counted as checksum drops as always.
TEST_F(InterfaceSynShed, Shedding_SynAckRstAndData_NeverShed) {
  tcp_.shedding = true;
  expect_delivered(frame4(TcpFlags::syn | TcpFlags::ack));
  expect_delivered(frame4(TcpFlags::rst));
  expect_delivered(frame4(TcpFlags::syn | TcpFlags::rst));
  expect_delivered(frame4(TcpFlags::ack));
  expect_delivered(frame4(TcpFlags::ack | TcpFlags::psh, false, filled(64)));
  expect_delivered(frame4(TcpFlags::fin | TcpFlags::ack));
  expect_delivered(frame6(TcpFlags::syn | TcpFlags::ack));
  expect_dropped(frame4(TcpFlags::syn | TcpFlags::ack, true), "drop_tcp_bad_checksum");
  expect_dropped(frame4(TcpFlags::rst, true), "drop_tcp_bad_checksum");
  EXPECT_EQ(tcp_.syns_shed, 0u);
}

// The peek looks only where a TCP header must be: a later IPv4 fragment (no TCP header in it;
// here one whose bytes read as a SYN) and a non-TCP packet take the full path.
TEST_F(InterfaceSynShed, Shedding_FragmentOrNotTcp_NotShed) {
  tcp_.shedding = true;
  const Bytes syn = tcp_segment(kPeerIp, kOurIp, header(TcpFlags::syn), {});
  const NetCounters before = counters_;
  receive(ipv4_frame({.protocol = static_cast<uint8_t>(wire::IpProtocol::tcp), .flags_fragment = 0x0010, .payload = syn}));
  receive(ipv4_frame({.protocol = 17, .payload = syn}));  // UDP
  EXPECT_EQ(tcp_.syns_shed, 0u);
  EXPECT_NE(drops(changed(before, counters_)), CounterDeltas{});
}

}  // namespace
}  // namespace dtcp::stack::test
