// The whole receive path from a raw frame, as the wire feeds it: stack::Interface (Ethernet, ARP,
// IPv4, ICMP; IPv6, ICMPv6, neighbour discovery) in front of a tcp::Shard with an echo listener on port 80. The input is a sequence
// of frames, each preceded by a control byte (fix the IPv4 header checksum, fix the TCP or ICMP
// checksum, so mutations get past the checksums; advance the clock) and a 16-bit length.
// Checked: every frame dtcp transmits parses at every layer with valid checksums, the TCP
// counter of segments received equals the interface's count of segments handed to TCP, and at
// teardown every TCB and mbuf is back.
#include <cstring>
#include <memory>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "fuzz_env.hpp"
#include "stack/counters.hpp"
#include "stack/interface.hpp"
#include "tcp/shard.hpp"
#include "wire/arp.hpp"
#include "wire/checksum.hpp"
#include "wire/ethernet.hpp"
#include "wire/icmp.hpp"
#include "wire/icmpv6.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"
#include "wire/tcp.hpp"

using namespace dtcp;

namespace {

rte_mempool* g_pool = nullptr;

constexpr wire::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr wire::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const wire::Ipv4Addr kOurIp = wire::Ipv4Addr::from_octets(198, 18, 0, 1);
const wire::Ipv4Addr kPeerIp = wire::Ipv4Addr::from_octets(198, 18, 0, 2);
// make_corpus.py's OUR_IP6 and PEER_IP6.
const wire::Ipv6Addr kOurIp6 = *wire::Ipv6Addr::parse("2001:db8::1");
const wire::Ipv6Addr kPeerIp6 = *wire::Ipv6Addr::parse("2001:db8::2");

// The lcore's stack in miniature: what dpdk/worker.cpp's QueueStack wires together, with the
// port's transmit replaced by a checking sink.
class MiniStack final : public stack::FrameSink,
                        public stack::TcpReceiver,
                        public tcp::SegmentOutput,
                        public ListenHandler,
                        public ConnectionHandler {
 public:
  MiniStack() {
    stack::InterfaceSetup setup;
    setup.mac = kOurMac;
    setup.address = kOurIp;
    setup.address_count = 2;
    setup.prefix_len = 24;
    setup.gateway = wire::Ipv4Addr::from_octets(198, 18, 0, 254);
    setup.pool = g_pool;
    setup.arp.max_pending_per_entry = 8;
    setup.arp.capacity = 16;
    // IPv6 usable at once (no DAD: a probe would make the address tentative for the first
    // second, and most inputs never advance the clock that far).
    setup.addresses6 = {Ipv6AddressRange{.address = kOurIp6, .count = 1, .prefix_len = 64}};
    setup.dad_transmits = 0;
    setup.nd.capacity = 16;
    setup.nd.max_pending_per_entry = 8;
    iface_ = std::make_unique<stack::Interface>(setup, *this, net_, now_);
    TcpConfig config;
    config.max_connections = 8;
    config.max_time_wait = 4;
    config.send_buffer = config.recv_buffer = 16 * 1024;
    config.sent_records = 256;
    config.sent_records_per_connection = 64;
    tcp::ShardEnv env;
    env.pool = g_pool;
    env.output = this;
    env.local_addr = kOurIp;
    env.local_addr6 = kOurIp6;
    env.secret_seed = 7;
    shard_ = std::make_unique<tcp::Shard>(config, env, now_);
    iface_->attach_tcp(this);
    if (!shard_->listen(80, *this).ok()) fuzz::fail("listen");
    iface_->learn(kPeerIp, kPeerMac, now_);
    iface_->start_ipv6();
    iface_->learn_neighbor(kPeerIp6, kPeerMac, now_);
  }

  void frame(std::span<const uint8_t> bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    if (m == nullptr) return;
    if (bytes.size() > rte_pktmbuf_tailroom(m)) bytes = bytes.first(rte_pktmbuf_tailroom(m));
    void* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    iface_->input(m, now_);
    check();
  }

  void advance(Duration d) {
    now_ += d;
    iface_->advance(now_);
    shard_->advance(now_);
    check();
  }

  void teardown() {
    shard_->abort_all();
    DTCP_FUZZ_CHECK(shard_->connections_in_use() == 0);
    shard_.reset();
    iface_.reset();  // frees what waits on ARP
    DTCP_FUZZ_CHECK(fuzz::mbufs_in_use(g_pool) == 0);
  }

  // FrameSink: what the port would transmit.
  void transmit(rte_mbuf* m) override {
    std::vector<std::byte> bytes(m->pkt_len);
    const void* data = rte_pktmbuf_read(m, 0, m->pkt_len, bytes.data());
    if (data != bytes.data() && !bytes.empty()) std::memcpy(bytes.data(), data, bytes.size());
    rte_pktmbuf_free(m);
    check_frame(bytes);
  }

  // TcpReceiver: the interface hands verified segments on.
  void tcp_input(rte_mbuf* segment, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, TimePoint now) override {
    shard_->input(segment, src, dst, ecn, now);
  }
  // ICMP errors quoting a TCP segment go to the shard as in production (worker.cpp).
  void icmp_error(const wire::IcmpTcpError& error, TimePoint now) override { shard_->icmp_error(error, now); }
  // SegmentOutput: TCP sends through the interface.
  void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) override {
    iface_->send_tcp(m, src, dst, ecn);
  }

  // An echo server: what it reads it sends back (as much as fits).
  ConnectionHandler* on_accept(Connection&) override { return this; }
  void on_readable(Connection& c) override {
    std::byte buf[2048];
    while (c.send_space() > 0) {
      const size_t n = c.read(std::span(buf, std::min(sizeof buf, c.send_space())));
      if (n == 0) break;
      DTCP_FUZZ_CHECK(c.send(std::span(buf, n)) == n);
    }
  }
  void on_peer_closed(Connection& c) override { c.shutdown_write(); }

 private:
  void check() const {
    DTCP_FUZZ_CHECK(shard_->counters().rx_segments == net_.rx_tcp);
    DTCP_FUZZ_CHECK(shard_->connections_in_use() <= shard_->connection_capacity());
  }

  static void check_frame(std::span<const std::byte> frame) {
    const auto eth = wire::EthernetView::parse(frame);
    DTCP_FUZZ_CHECK(eth);
    DTCP_FUZZ_CHECK(eth->src() == kOurMac);
    if (eth->ether_type() == static_cast<uint16_t>(wire::EtherType::arp)) {
      const auto arp = wire::parse_arp(eth->payload());
      DTCP_FUZZ_CHECK(arp && arp->sender_mac == kOurMac);
      return;
    }
    if (eth->ether_type() == static_cast<uint16_t>(wire::EtherType::ipv6)) return check_ipv6(eth->payload());
    DTCP_FUZZ_CHECK(eth->ether_type() == static_cast<uint16_t>(wire::EtherType::ipv4));
    const auto ip = wire::Ipv4View::parse(eth->payload(), true);
    DTCP_FUZZ_CHECK(ip);
    DTCP_FUZZ_CHECK(ip->src() == kOurIp || ip->src() == wire::Ipv4Addr{kOurIp.value + 1});
    DTCP_FUZZ_CHECK(!ip->is_fragment());
    if (ip->protocol() == static_cast<uint8_t>(wire::IpProtocol::tcp)) {
      const auto tcp = wire::TcpView::parse(ip->payload());
      DTCP_FUZZ_CHECK(tcp && tcp->verify_checksum(ip->src(), ip->dst()));
    } else {
      DTCP_FUZZ_CHECK(ip->protocol() == static_cast<uint8_t>(wire::IpProtocol::icmp));
      DTCP_FUZZ_CHECK(wire::IcmpView::parse(ip->payload(), true));
    }
  }

  // What we send over IPv6: from one of our addresses (:: only for a DAD probe, which this
  // setup never sends), TCP or ICMPv6 with valid checksums, no extension headers.
  static void check_ipv6(std::span<const std::byte> packet) {
    const auto ip = wire::Ipv6View::parse(packet);
    DTCP_FUZZ_CHECK(ip);
    const wire::Ipv6Addr link_local = wire::Ipv6Addr::link_local_from_mac(kOurMac);
    DTCP_FUZZ_CHECK(ip->src() == kOurIp6 || ip->src() == link_local);
    if (ip->next_header() == static_cast<uint8_t>(wire::Ipv6NextHeader::tcp)) {
      const auto tcp = wire::TcpView::parse(ip->payload());
      DTCP_FUZZ_CHECK(tcp && tcp->verify_checksum(ip->src(), ip->dst()));
      return;
    }
    DTCP_FUZZ_CHECK(ip->next_header() == static_cast<uint8_t>(wire::Ipv6NextHeader::icmpv6));
    const auto icmp = wire::Icmpv6View::parse(ip->payload(), ip->src(), ip->dst(), true);
    DTCP_FUZZ_CHECK(icmp);
    // RFC 4443 §2.4 (c): an error fits in the minimum MTU.
    if (icmp->is_error()) DTCP_FUZZ_CHECK(ip->bytes().size() <= 1280);
  }

  TimePoint now_{};
  stack::NetCounters net_{};
  std::unique_ptr<stack::Interface> iface_;
  std::unique_ptr<tcp::Shard> shard_;
};

// Makes the checksums right where the control byte asks, so the mutated fields behind them are
// reached; leaves them as they are otherwise (the drop counters' path).
// IPv6 has no header checksum: the upper layer's, past the extension headers.
void fix_checksums6(std::vector<uint8_t>& f) {
  auto* bytes = reinterpret_cast<std::byte*>(f.data() + 14);
  const auto ip = wire::Ipv6View::parse({bytes, f.size() - 14});
  if (!ip) return;
  const auto ext = wire::walk_ipv6_extensions(ip->next_header(), ip->payload());
  if (!ext.ok() || ext.offset > ip->bytes().size()) return;
  const std::span<std::byte> l4(bytes + ext.offset, ip->bytes().size() - ext.offset);
  if (ext.protocol == 6 && l4.size() >= wire::kTcpMinHeaderLen) {
    wire::fill_tcp_checksum(l4, ip->src(), ip->dst());
  } else if (ext.protocol == 58 && l4.size() >= wire::kIcmpv6HeaderLen) {
    wire::store_be16(l4.data() + 2, 0);
    const uint32_t sum = wire::pseudo_header_sum(ip->src(), ip->dst(), 58, static_cast<uint32_t>(l4.size()));
    wire::store_be16(l4.data() + 2, wire::checksum_fold(wire::checksum_accumulate(l4, sum)));
  }
}

void fix_checksums(std::vector<uint8_t>& f, bool fix_ip, bool fix_l4) {
  if (fix_l4 && f.size() >= 14 + 40 && f[12] == 0x86 && f[13] == 0xdd) return fix_checksums6(f);
  if (f.size() < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) return;
  uint8_t* ip = f.data() + 14;
  const size_t avail = f.size() - 14;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < 20 || ihl > avail) return;
  const size_t total = std::min<size_t>(avail, (size_t{ip[2]} << 8) | ip[3]);
  auto* bytes = reinterpret_cast<std::byte*>(ip);
  if (fix_ip) {
    wire::store_be16(bytes + 10, 0);
    wire::store_be16(bytes + 10, wire::internet_checksum({bytes, ihl}));
  }
  if (!fix_l4 || total <= ihl) return;
  const std::span<std::byte> l4(bytes + ihl, total - ihl);
  if (ip[9] == 6 && l4.size() >= wire::kTcpMinHeaderLen) {
    wire::fill_tcp_checksum(l4, wire::Ipv4Addr{wire::load_be32(bytes + 12)}, wire::Ipv4Addr{wire::load_be32(bytes + 16)});
  } else if (ip[9] == 1 && l4.size() >= wire::kIcmpHeaderLen) {
    wire::store_be16(l4.data() + 2, 0);
    wire::store_be16(l4.data() + 2, wire::internet_checksum(l4));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_pool = fuzz::init_eal_pool("frame", 1023);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader r({data, size});
  MiniStack stack;
  for (unsigned i = 0; i < 256 && !r.empty(); ++i) {
    const uint8_t control = r.u8();
    const size_t len = std::min<size_t>(r.u16(), 2048);
    const auto bytes = r.bytes(len);
    std::vector<uint8_t> frame(bytes.begin(), bytes.end());
    fix_checksums(frame, control & 1, control & 2);
    if (control >> 2) stack.advance(std::chrono::milliseconds(size_t{1} << (control >> 4)) * ((control >> 2) & 3));
    stack.frame(frame);
  }
  stack.teardown();
  return 0;
}
