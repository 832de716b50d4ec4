#include "tcp_driver.hpp"

#include <algorithm>
#include <cstring>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tcp/tcb.hpp"

namespace dtcp::fuzz {

using wire::TcpFlags;
constexpr TcpFlags SYN = TcpFlags::syn, ACK = TcpFlags::ack, FIN = TcpFlags::fin;

const char* to_string(Start s) {
  switch (s) {
    case Start::listen: return "LISTEN";
    case Start::syn_sent: return "SYN-SENT";
    case Start::syn_received: return "SYN-RECEIVED";
    case Start::established: return "ESTABLISHED";
    case Start::fin_wait_1: return "FIN-WAIT-1";
    case Start::fin_wait_2: return "FIN-WAIT-2";
    case Start::closing: return "CLOSING";
    case Start::time_wait: return "TIME-WAIT";
    case Start::close_wait: return "CLOSE-WAIT";
    case Start::last_ack: return "LAST-ACK";
    case Start::count: break;
  }
  return "?";
}

Driver::Driver(rte_mempool* pool, const DriverOptions& options) : pool_(pool), options_(options) {
  // Small tables so running out of them is reachable; buffers small enough that a few writes
  // fill them and large enough for several segments in flight.
  config_.max_connections = 8;
  config_.max_time_wait = 4;
  config_.syn_backlog = 4;
  config_.send_buffer = 32 * 1024;
  config_.recv_buffer = 16 * 1024;
  config_.recv_buffer_max = 64 * 1024;
  config_.max_ooo_segments = 32;
  config_.sent_records = 512;
  config_.sent_records_per_connection = 64;
  config_.window_scaling = config_.timestamps = config_.sack = options.tcp_options;
  config_.delayed_ack = options.delayed_ack ? std::chrono::milliseconds(40) : Duration::zero();
  config_.ecn = options.ecn;
  tcp::ShardEnv env;
  env.pool = pool_;
  env.output = this;
  env.local_addr = kLocalAddr;
  env.secret_seed = 42;
  // A stash would keep free mbufs out of the pool the scarce run holds away, where this shard
  // alone could use them: none, so the shard meets the scarcity.
  if (options.scarce_mbufs) env.mbuf_stash = 0;
  shard_ = std::make_unique<tcp::Shard>(config_, env, now_);
}

Driver::~Driver() {
  for (rte_mbuf* m : hoard_) rte_pktmbuf_free(m);
}

// ---- the wire and the application ----------------------------------------------------------

void Driver::send_segment(rte_mbuf* m, const wire::IpAddr& src, const wire::IpAddr& dst, wire::Ecn ecn) {
  Sent s;
  const std::string error = tcp::test::parse_sent(m, src, dst, ecn, s);
  if (!error.empty()) fail(error.c_str());
  DTCP_FUZZ_CHECK(s.src == kLocalAddr && s.dst == kRemoteAddr);
  if (s.options.timestamps) last_tsval_ = s.options.timestamps->tsval;
  if (!s.payload.empty()) {
    // Every payload byte is one the application wrote, at its place in the stream.
    const auto it = streams_.find(s.dst_port);
    DTCP_FUZZ_CHECK(it != streams_.end());
    const uint32_t data_seq = s.seq + (wire::has(s.flags, SYN) ? 1u : 0u);
    const uint64_t offset = static_cast<uint32_t>(data_seq - it->second.iss_plus_1);
    DTCP_FUZZ_CHECK(offset + s.payload.size() <= it->second.written);
    for (size_t i = 0; i < s.payload.size(); ++i) {
      DTCP_FUZZ_CHECK(std::to_integer<uint8_t>(s.payload[i]) == our_byte(offset + i));
    }
  }
  if (sent_.size() < 256) sent_.push_back(std::move(s));  // the setup reads them; runs only count
}

void Driver::start_stream(Connection& c) {
  const auto& t = static_cast<const tcp::Tcb&>(c);
  streams_[c.remote().port] = Stream{.iss_plus_1 = t.iss.value() + 1, .irs_plus_1 = t.irs.value() + 1};
  attached_.push_back(&c);
}

ConnectionHandler* Driver::on_accept(Connection& c) {
  start_stream(c);
  return this;
}

void Driver::on_connected(Connection& c) {
  // The active open's stream was started at connect(); the IRS is known only now.
  auto& st = streams_[c.remote().port];
  st.irs_plus_1 = static_cast<const tcp::Tcb&>(c).irs.value() + 1;
}

void Driver::on_readable(Connection& c) {
  if (auto_read_) app_read(c, SIZE_MAX);
}

void Driver::on_writable(Connection&) {}
void Driver::on_peer_closed(Connection&) {}

void Driver::on_closed(Connection& c, CloseReason) {
  attached_.erase(std::remove(attached_.begin(), attached_.end(), &c), attached_.end());
}

void Driver::app_read(Connection& c, size_t limit) {
  auto& st = streams_[c.remote().port];
  std::byte buf[2048];
  while (limit > 0) {
    const size_t n = c.read(std::span(buf, std::min(limit, sizeof buf)));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      DTCP_FUZZ_CHECK(std::to_integer<uint8_t>(buf[i]) == peer_byte(static_cast<uint32_t>(st.irs_plus_1 + st.read + i)));
    }
    st.read += n;
    limit -= n;
  }
}

void Driver::app_write(Connection& c, size_t n) {
  auto& st = streams_[c.remote().port];
  std::vector<std::byte> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = std::byte{our_byte(st.written + i)};
  const size_t space = c.send_space();
  // send() may transmit before it returns: count the bytes offered, then take back the rest.
  st.written += n;
  const size_t taken = c.send(data);
  DTCP_FUZZ_CHECK(taken <= n && taken <= space);
  st.written -= n - taken;
}

Connection* Driver::current() const {
  for (auto it = attached_.rbegin(); it != attached_.rend(); ++it) {
    if ((*it)->remote().port == port_) return *it;
  }
  return attached_.empty() ? nullptr : attached_.back();
}

// ---- the peer --------------------------------------------------------------------------------

void Driver::advance_to(TimePoint t) {
  if (t < now_) return;
  peer_tsval_ += static_cast<uint32_t>((t - now_).count() / 1000);  // the peer's 1 ms clock
  now_ = t;
  shard_->advance(now_);
}

void Driver::inject(const PeerSegment& s) {
  wire::TcpHeader h{.src_port = s.remote_port, .dst_port = kLocalPort, .seq = s.seq, .ack = s.ack,
                    .flags = s.flags, .window = s.window, .options = s.options};
  std::vector<std::byte> payload(s.payload_len);
  const uint32_t data_seq = s.seq + (wire::has(s.flags, SYN) ? 1u : 0u);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte{peer_byte(static_cast<uint32_t>(data_seq + i))};
  rte_mbuf* m = tcp::test::build_segment(pool_, h, s.raw, s.raw_options, payload, kRemoteAddr, kLocalAddr);
  if (m == nullptr) return;  // the pool is held away (scarce_mbufs): the NIC would have dropped it too
  ++injected_;
  shard_->input(m, kRemoteAddr, kLocalAddr, s.ecn, now_);
  check_tables();
}

Sent Driver::expect(TcpFlags flags, const char* step) {
  if (sent_.empty()) {
    std::fprintf(stderr, "setup %s, %s: expected [%s], got nothing\n", to_string(options_.start), step,
                 wire::to_string(flags).c_str());
    fail("setup did not reach its state");
  }
  Sent s = std::move(sent_.front());
  sent_.pop_front();
  // ECE/CWR ride on the handshake when ECN is on; the setup checks the rest.
  const auto mask = static_cast<TcpFlags>(~static_cast<uint8_t>(TcpFlags::ece | TcpFlags::cwr));
  if ((s.flags & mask) != flags) {
    std::fprintf(stderr, "setup %s, %s: expected [%s], got %s\n", to_string(options_.start), step,
                 wire::to_string(flags).c_str(), tcp::test::describe(s).c_str());
    fail("setup did not reach its state");
  }
  return s;
}

Driver::View Driver::view(uint16_t remote_port) const {
  View v;
  bool live = false;
  shard_->for_each_connection([&](const tcp::ConnectionInfo& info) {
    if (info.remote.port != remote_port || info.local.port != kLocalPort) return;
    if (live) return;  // a live connection wins over a TIME-WAIT record of the same tuple
    live = !info.time_wait_record;
    v = View{.found = true, .state = info.state, .snd_una = info.snd_una, .snd_nxt = info.snd_nxt,
             .snd_max = info.snd_max, .rcv_nxt = info.rcv_nxt, .rcv_wnd = info.rcv_wnd};
  });
  return v;
}

void Driver::check_tables() const {
  DTCP_FUZZ_CHECK(shard_->connections_in_use() <= shard_->connection_capacity());
  DTCP_FUZZ_CHECK(shard_->time_wait_count() <= config_.max_time_wait);
  DTCP_FUZZ_CHECK(shard_->counters().rx_segments == injected_);
}

wire::TcpOptions Driver::setup_options(bool syn) const {
  wire::TcpOptions o;
  if (syn) o.mss = 1460;
  if (!options_.tcp_options) return o;
  if (syn) {
    o.window_scale = 7;
    o.sack_permitted = true;
  }
  o.timestamps = wire::TcpTimestamps{.tsval = peer_tsval_, .tsecr = syn ? 0 : last_tsval_};
  return o;
}

void Driver::setup() {
  const Start start = options_.start;
  const TcpFlags ecn_syn = options_.ecn ? (TcpFlags::ece | TcpFlags::cwr) : TcpFlags::none;
  if (start == Start::syn_sent) {
    const ConnectResult r = shard_->connect(kRemoteAddr, kRemotePort, *this, ConnectOptions{.local_port = kLocalPort}, now_);
    if (!r.ok()) fail("connect failed");
    start_stream(*r.connection);
    expect(SYN, "SYN");
  } else {
    if (!shard_->listen(kLocalPort, *this).ok()) fail("listen failed");
  }
  if (start != Start::listen && start != Start::syn_sent) {
    inject({.flags = SYN | ecn_syn, .seq = kPeerIsn, .options = setup_options(true)});
    const Sent synack = expect(SYN | ACK, "SYN-ACK");
    if (start != Start::syn_received) {
      inject({.flags = ACK, .seq = kPeerIsn + 1, .ack = synack.seq + 1, .options = setup_options(false)});
      if (attached_.empty()) fail("handshake did not complete");
    }
  }
  Connection* c = current();
  const uint32_t ack_all = c ? static_cast<const tcp::Tcb&>(*c).snd_nxt.value() : 0;
  uint32_t peer_seq = kPeerIsn + 1;
  auto close_ours = [&] {
    if (options_.orphan) {
      attached_.clear();
      c->close();
    } else {
      c->shutdown_write();
    }
  };
  switch (start) {
    case Start::established: {
      // Data both ways: 3000 bytes from us (two segments of it in flight, the rest waiting on
      // the window or Nagle), 200 bytes from the peer in order and 100 beyond a 100-byte hole.
      app_write(*c, 3000);
      inject({.flags = ACK, .seq = peer_seq, .ack = ack_all, .options = setup_options(false), .payload_len = 200});
      inject({.flags = ACK, .seq = peer_seq + 300, .ack = ack_all, .options = setup_options(false), .payload_len = 100});
      break;
    }
    case Start::fin_wait_1:
      app_write(*c, 500);
      close_ours();
      break;
    case Start::fin_wait_2:
    case Start::time_wait:
      close_ours();
      expect(FIN | ACK, "our FIN");
      inject({.flags = ACK, .seq = peer_seq, .ack = ack_all + 1, .options = setup_options(false)});
      if (start == Start::time_wait) {
        inject({.flags = FIN | ACK, .seq = peer_seq, .ack = ack_all + 1, .options = setup_options(false)});
        expect(ACK, "ACK of the peer's FIN");
      }
      break;
    case Start::closing:
      close_ours();
      expect(FIN | ACK, "our FIN");
      inject({.flags = FIN | ACK, .seq = peer_seq, .ack = ack_all, .options = setup_options(false)});
      expect(ACK, "ACK of the crossing FIN");
      break;
    case Start::close_wait:
    case Start::last_ack:
      inject({.flags = FIN | ACK, .seq = peer_seq, .ack = ack_all, .options = setup_options(false)});
      expect(ACK, "ACK of the peer's FIN");
      if (start == Start::last_ack) {
        close_ours();
        expect(FIN | ACK, "our FIN");
      }
      break;
    default:
      break;
  }
  // Did we get there?
  static constexpr TcpState kStates[] = {TcpState::listen,     TcpState::syn_sent,   TcpState::syn_received,
                                         TcpState::established, TcpState::fin_wait_1, TcpState::fin_wait_2,
                                         TcpState::closing,    TcpState::time_wait,  TcpState::close_wait,
                                         TcpState::last_ack};
  if (start != Start::listen) {
    const View v = view(kRemotePort);
    if (!v.found || v.state != kStates[static_cast<size_t>(start)]) {
      std::fprintf(stderr, "setup %s: the connection is in %s\n", to_string(start), v.found ? to_string(v.state) : "no state");
      fail("setup did not reach its state");
    }
  }
  sent_.clear();
  if (options_.scarce_mbufs) {
    // Hold all but a few mbufs, as a pool drained by other connections would be.
    while (rte_mempool_avail_count(pool_) > 6) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) break;
      hoard_.push_back(m);
    }
  }
  in_setup_ = false;
}

// ---- the fuzzer's operations ----------------------------------------------------------------

// A sequence or acknowledgment number: near the one the peer expects, far from it, or any.
static uint32_t relative(Reader& r, uint8_t mode, uint32_t base, uint32_t alt) {
  switch (mode & 3) {
    case 0: return base + static_cast<uint32_t>(static_cast<int8_t>(r.u8()));
    case 1: return alt + static_cast<uint32_t>(static_cast<int16_t>(r.u16()));
    case 2: return base + (uint32_t{r.u16()} << 8);  // across scaled windows and wrap-around
    default: return r.u32();
  }
}

void Driver::op_segment(Reader& r, bool raw_options) {
  PeerSegment s;
  s.flags = static_cast<TcpFlags>(r.u8());
  const uint8_t mode = r.u8();
  s.remote_port = static_cast<uint16_t>(kRemotePort + ((mode >> 4) & 1));
  s.ecn = static_cast<wire::Ecn>((mode >> 5) & 3);
  port_ = s.remote_port;
  const View v = view(port_);
  s.seq = relative(r, mode, v.rcv_nxt, v.rcv_nxt + v.rcv_wnd);
  s.ack = relative(r, static_cast<uint8_t>(mode >> 2), v.snd_nxt, v.snd_una);
  s.window = r.u16();
  const uint8_t len = r.u8();
  s.payload_len = len < 200 ? len : static_cast<uint16_t>(std::min(1460, (len - 199) * 26));
  if (raw_options) {
    s.raw_options = true;
    const size_t n = (r.u8() % 11) * 4;
    const auto bytes = r.bytes(n);
    s.raw.assign(reinterpret_cast<const std::byte*>(bytes.data()), reinterpret_cast<const std::byte*>(bytes.data()) + bytes.size());
    s.raw.resize(n);  // padded with EOL when the input ran out
  } else {
    const uint8_t mask = r.u8();
    if (mask & 1) s.options.mss = r.u16();
    if (mask & 2) s.options.window_scale = static_cast<uint8_t>(r.u8() % 16);
    if (mask & 4) s.options.sack_permitted = true;
    if (mask & 8) {
      const uint32_t tsval = peer_tsval_ + static_cast<uint32_t>(static_cast<int8_t>(r.u8()));
      const uint32_t tsecr = last_tsval_ + static_cast<uint32_t>(static_cast<int8_t>(r.u8()));
      s.options.timestamps = wire::TcpTimestamps{.tsval = tsval, .tsecr = tsecr};
    }
    s.options.sack_block_count = static_cast<uint8_t>((mask >> 4) & 3);
    for (uint8_t i = 0; i < s.options.sack_block_count; ++i) {
      const uint32_t left = v.snd_una + static_cast<uint32_t>(static_cast<int16_t>(r.u16()));
      s.options.sack_blocks[i] = {left, left + r.u16()};
    }
    if (mask & 0x40) {
      // What a well-behaved peer sends (the SYN options, timestamps once negotiated), beside
      // the SACK blocks just read.
      const auto count = s.options.sack_block_count;
      const auto blocks = s.options.sack_blocks;
      s.options = setup_options(wire::has(s.flags, SYN));
      s.options.sack_block_count = count;
      s.options.sack_blocks = blocks;
    }
  }
  const uint8_t repeat = (mode & 0x80) ? static_cast<uint8_t>(1 + r.u8() % 16) : 1;
  for (uint8_t i = 0; i < repeat; ++i) {
    inject(s);
    // A burst: the next segment follows this one in sequence, as a sender filling a window.
    s.seq += s.payload_len + (wire::has(s.flags, SYN) ? 1u : 0u);
    if (s.options.timestamps) s.options.timestamps->tsval = peer_tsval_;
  }
}

void Driver::op_advance(Reader& r) {
  const uint8_t b = r.u8();
  if (b == 255) {
    const TimePoint next = shard_->next_deadline();
    if (next != TimePoint::max()) advance_to(std::max(next, now_));
    return;
  }
  Duration d;
  if (b < 128) d = std::chrono::microseconds(b * 100);
  else if (b < 192) d = std::chrono::milliseconds((b - 127) * 10);
  else if (b < 248) d = std::chrono::seconds(b - 191);
  else d = std::chrono::seconds((b - 247) * 100);  // past TIME-WAIT, FIN-WAIT-2 and the retry budget
  advance_to(now_ + d);
}

void Driver::op_app(Reader& r) {
  const uint8_t b = r.u8();
  Connection* c = current();
  switch (b % 12) {
    case 0:
      if (c) app_read(*c, SIZE_MAX);
      break;
    case 1:
      auto_read_ = !auto_read_;
      break;
    case 2:
      if (c) app_write(*c, (size_t{r.u8()} + 1) * 32);
      break;
    case 3:
      if (c) app_write(*c, size_t{r.u8()} * 1024);
      break;
    case 4:
      if (c) c->shutdown_write();
      break;
    case 5:
      if (c) {
        attached_.erase(std::remove(attached_.begin(), attached_.end(), c), attached_.end());
        c->close();
      }
      break;
    case 6:
      if (c) {
        attached_.erase(std::remove(attached_.begin(), attached_.end(), c), attached_.end());
        c->abort();
      }
      break;
    case 7:
      if (c) c->set_nodelay(r.u8() & 1);
      break;
    case 8:
      if (c) app_read(*c, r.u8());
      break;
    case 9:
      if (c) {
        c->set_keepalive(std::chrono::milliseconds(1 + r.u8()), std::chrono::milliseconds(1 + r.u8()), r.u8() % 4);
      }
      break;
    case 10:
      if (b & 0x80) {
        shard_->unlisten(kLocalPort);
      } else {
        (void)shard_->listen(kLocalPort, *this);  // port_in_use when already listening
      }
      break;
    case 11: {
      // An active open to the other peer port, as the SYN-SENT setup does.
      const uint16_t port = static_cast<uint16_t>(kRemotePort + (b >> 7));
      const ConnectResult cr = shard_->connect(kRemoteAddr, port, *this, ConnectOptions{.local_port = kLocalPort}, now_);
      if (cr.ok()) start_stream(*cr.connection);
      break;
    }
  }
  check_tables();
}

void Driver::run(Reader& r) {
  for (unsigned step = 0; step < 1024 && !r.empty(); ++step) {
    const uint8_t op = r.u8();
    switch (op % 8) {
      case 0: case 1: case 2: op_segment(r, false); break;
      case 3: op_segment(r, true); break;
      case 4: case 5: op_advance(r); break;
      default: op_app(r); break;
    }
    sent_.clear();
  }
}

void Driver::teardown() {
  for (rte_mbuf* m : hoard_) rte_pktmbuf_free(m);
  hoard_.clear();
  check_tables();
  attached_.clear();
  shard_->abort_all();
  sent_.clear();
  DTCP_FUZZ_CHECK(shard_->connections_in_use() == 0);
  // Nothing left holds an mbuf: TIME-WAIT records keep none, and what was sent has been parsed
  // and freed (the shard's own free ones, MbufStash, are free).
  DTCP_FUZZ_CHECK(mbufs_in_use(pool_) == shard_->mbufs_stashed());
  shard_.reset();
  DTCP_FUZZ_CHECK(mbufs_in_use(pool_) == 0);
}

}  // namespace dtcp::fuzz
