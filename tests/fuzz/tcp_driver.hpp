// A Shard driven by literal segments for the fuzz targets: the peer's side of one or more
// connections (10.0.0.2:40000 and :40001 to us at 10.0.0.1:80), an application that reads,
// writes and closes, and the checks that must hold whatever arrives:
//   - every segment the shard sends parses and checksums (tests/common/tcp_segments.hpp);
//   - every stream byte is the one sent: the peer's payload byte at sequence number s is
//     peer_byte(s), our application writes our_byte(offset), and both are checked where they
//     come out (the application's reads, the shard's segments), so a reassembly or
//     retransmission that loses, shifts or mixes bytes is caught, not only a crash;
//   - counters agree with what was injected, tables stay within their sizes;
//   - at teardown every connection and every mbuf is back in its pool.
// The per-state setups drive the handshake and close sequences of RFC 9293 §3.5-3.6 with
// literal segments, as tests/unit/tcp/harness.cpp does for the unit tests.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "../common/tcp_segments.hpp"
#include "dtcp/tcp.hpp"
#include "fuzz_env.hpp"
#include "tcp/shard.hpp"

namespace dtcp::fuzz {

using tcp::test::Sent;

inline const wire::Ipv4Addr kLocalAddr = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
inline const wire::Ipv4Addr kRemoteAddr = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
inline constexpr uint16_t kLocalPort = 80;
inline constexpr uint16_t kRemotePort = 40000;
inline constexpr uint32_t kPeerIsn = 1000;

// The state a run starts from (RFC 9293 §3.3.2 names).
enum class Start : uint8_t {
  listen,
  syn_sent,
  syn_received,
  established,  // with data queued both ways and out-of-order data held
  fin_wait_1,
  fin_wait_2,
  closing,
  time_wait,
  close_wait,
  last_ack,
  count,
};
const char* to_string(Start s);

struct DriverOptions {
  Start start = Start::established;
  bool tcp_options = false;  // both ends offer window scale, timestamps and SACK
  bool delayed_ack = false;
  bool ecn = false;
  bool orphan = false;       // the application closes with close() (an orphan) instead of shutdown_write()
  bool scarce_mbufs = false;  // after the setup, all but a few mbufs of the pool are held away
};

// The peer's payload byte at sequence number `seq` and our application's at stream offset `off`.
inline uint8_t peer_byte(uint32_t seq) { return static_cast<uint8_t>(((seq ^ (seq >> 9)) * 0x9e3779b1u) >> 24); }
inline uint8_t our_byte(uint64_t off) { return static_cast<uint8_t>((off * 7) ^ (off >> 8) ^ 0x5a); }

// One segment from the peer, in values.
struct PeerSegment {
  wire::TcpFlags flags = wire::TcpFlags::none;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 65535;
  wire::TcpOptions options{};
  bool raw_options = false;
  std::vector<std::byte> raw;  // the options field verbatim when raw_options
  uint16_t payload_len = 0;    // bytes peer_byte(seq + i) (after the SYN's own number)
  uint16_t remote_port = kRemotePort;
  wire::Ecn ecn = wire::Ecn::not_ect;
};

class Driver final : public tcp::SegmentOutput, public ConnectionHandler, public ListenHandler {
 public:
  Driver(rte_mempool* pool, const DriverOptions& options);
  ~Driver() override;

  // Drives the shard into options.start; aborts (a harness bug, not a finding) if it does not
  // get there.
  void setup();
  // Interprets the fuzzer's bytes as segments, timer advances and application calls.
  void run(Reader& r);
  // Resets everything, checks that every TCB and mbuf came back, destroys the shard.
  void teardown();

  // SegmentOutput
  void send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) override;
  // ListenHandler, ConnectionHandler
  ConnectionHandler* on_accept(Connection& c) override;
  void on_connected(Connection& c) override;
  void on_readable(Connection& c) override;
  void on_writable(Connection& c) override;
  void on_peer_closed(Connection& c) override;
  void on_closed(Connection& c, CloseReason reason) override;

 private:
  // What the peer knows of a connection, refreshed from the shard's listing.
  struct View {
    bool found = false;
    TcpState state = TcpState::closed;
    uint32_t snd_una = 0, snd_nxt = 0, snd_max = 0, rcv_nxt = kPeerIsn + 1, rcv_wnd = 0;
  };
  // Our side of a connection: where its stream starts and how far the application got.
  struct Stream {
    uint32_t iss_plus_1 = 0, irs_plus_1 = 0;
    uint64_t read = 0;     // bytes the application read (checked against peer_byte)
    uint64_t written = 0;  // bytes the application handed to send() (our_byte(0..written))
  };

  void inject(const PeerSegment& s);
  void advance_to(TimePoint t);
  // Pops the oldest segment the shard sent; aborts if there is none or its flags differ.
  Sent expect(wire::TcpFlags flags, const char* step);
  View view(uint16_t remote_port) const;
  Connection* current() const;
  void app_write(Connection& c, size_t n);
  void app_read(Connection& c, size_t limit);
  void check_tables() const;
  wire::TcpOptions setup_options(bool syn) const;
  void start_stream(Connection& c);

  void op_segment(Reader& r, bool raw_options);
  void op_advance(Reader& r);
  void op_app(Reader& r);

  rte_mempool* pool_;
  DriverOptions options_;
  TcpConfig config_;
  std::unique_ptr<tcp::Shard> shard_;
  TimePoint now_{};
  std::deque<Sent> sent_;
  std::map<uint16_t, Stream> streams_;  // by remote port; replaced when a new connection starts
  std::vector<Connection*> attached_;   // connections the application holds (not closed/aborted)
  bool auto_read_ = true;
  uint64_t injected_ = 0;
  uint32_t peer_tsval_ = 1;
  uint32_t last_tsval_ = 0;  // the last TSval the shard sent (what the peer echoes)
  uint16_t port_ = kRemotePort;  // the connection the peer's relative numbers refer to
  std::vector<rte_mbuf*> hoard_;
  bool in_setup_ = true;
};

}  // namespace dtcp::fuzz
