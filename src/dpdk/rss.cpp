#include "dpdk/rss.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "wire/bytes.hpp"
#include "wire/ipv6.hpp"

namespace dtcp::dpdk {

std::vector<uint8_t> symmetric_rss_key(size_t len) {
  std::vector<uint8_t> key(len);
  for (size_t i = 0; i < len; i++) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
  return key;
}

ToeplitzHash::ToeplitzHash(std::span<const uint8_t> key) {
  if (key.size() < 16) throw std::invalid_argument("RSS key of " + std::to_string(key.size()) + " bytes; need 16");
  // Toeplitz: for every set input bit i (most significant first), XOR in the 32 key bits that
  // start at key bit i. window(i) is that 32-bit slice; a byte's contribution is the XOR of the
  // windows of its set bits, so it can be tabulated per input position.
  auto key_bit = [&](size_t bit) -> uint32_t { return (key[bit / 8] >> (7 - bit % 8)) & 1u; };
  auto window = [&](size_t start) {
    uint32_t w = 0;
    for (size_t b = 0; b < 32; b++) w = (w << 1) | key_bit(start + b);
    return w;
  };
  // Input byte `pos` needs key bits pos*8 .. pos*8+39.
  ipv6_ = key.size() >= table_.size() + 4;
  const size_t positions = ipv6_ ? table_.size() : std::min(table_.size(), key.size() - 4);
  for (size_t pos = 0; pos < positions; pos++) {
    std::array<uint32_t, 8> bit_window;
    for (size_t b = 0; b < 8; b++) bit_window[b] = window(pos * 8 + b);
    for (unsigned v = 0; v < 256; v++) {
      uint32_t h = 0;
      for (size_t b = 0; b < 8; b++) {
        if (v & (0x80u >> b)) h ^= bit_window[b];
      }
      table_[pos][v] = h;
    }
  }
}

std::optional<Ipv4TcpFlow> ipv4_tcp_flow(std::span<const std::byte> frame) {
  // Ethernet (14) + IPv4 (IHL*4) + the two TCP ports (4). Offsets per RFC 791 / RFC 9293.
  constexpr size_t kEth = 14;
  if (frame.size() < kEth + 20 + 4) return std::nullopt;
  const std::byte* p = frame.data();
  if (wire::load_be16(p + 12) != 0x0800) return std::nullopt;
  const std::byte* ip = p + kEth;
  const unsigned version_ihl = std::to_integer<unsigned>(ip[0]);
  const size_t ihl = (version_ihl & 0xf) * 4;
  if ((version_ihl >> 4) != 4 || ihl < 20 || frame.size() < kEth + ihl + 4) return std::nullopt;
  if (std::to_integer<uint8_t>(ip[9]) != 6) return std::nullopt;
  // More-fragments flag or a fragment offset: only the first fragment has ports, and dtcp does
  // not reassemble; leave fragments where they landed to be counted and dropped.
  if ((wire::load_be16(ip + 6) & 0x3fff) != 0) return std::nullopt;
  const std::byte* tcp = ip + ihl;
  return Ipv4TcpFlow{.src = wire::load_be32(ip + 12),
                     .dst = wire::load_be32(ip + 16),
                     .src_port = wire::load_be16(tcp),
                     .dst_port = wire::load_be16(tcp + 2)};
}

std::optional<TcpFlow> tcp_flow(std::span<const std::byte> frame) {
  constexpr size_t kEth = 14;
  if (frame.size() < kEth + 40 + 4) {
    const auto v4 = ipv4_tcp_flow(frame);
    if (!v4) return std::nullopt;
    return TcpFlow{wire::Ipv4Addr{v4->src}, wire::Ipv4Addr{v4->dst}, v4->src_port, v4->dst_port};
  }
  const std::byte* p = frame.data();
  if (wire::load_be16(p + 12) == 0x86dd) {
    const std::byte* ip = p + kEth;
    // RFC 8200 §3: version 6, next header at byte 6, addresses at 8 and 24.
    if ((std::to_integer<unsigned>(ip[0]) >> 4) != 6) return std::nullopt;
    size_t tcp_offset = 40;
    if (const uint8_t next = std::to_integer<uint8_t>(ip[6]); next != 6) {
      // TCP behind hop-by-hop, routing or destination-options headers (RFC 8200 §4) belongs to
      // the same connection as without them: step over them (bounded, contents not acted on;
      // ipv6_input checks them on the owner) so the segment reaches its owner rather than a
      // shard that would answer it with a RST. A fragment, or anything that is not TCP in the
      // end, stays where it landed.
      if (next != 0 && next != 43 && next != 60) return std::nullopt;
      const auto ext = wire::walk_quoted_ipv6_extensions(next, frame.subspan(kEth + 40));
      if (!ext.ok() || ext.protocol != 6 || frame.size() < kEth + ext.offset + 4) return std::nullopt;
      tcp_offset = ext.offset;
    }
    TcpFlow f;
    wire::Ipv6Addr src, dst;
    std::memcpy(src.bytes.data(), ip + 8, 16);
    std::memcpy(dst.bytes.data(), ip + 24, 16);
    f.src = src;
    f.dst = dst;
    f.src_port = wire::load_be16(ip + tcp_offset);
    f.dst_port = wire::load_be16(ip + tcp_offset + 2);
    return f;
  }
  const auto v4 = ipv4_tcp_flow(frame);
  if (!v4) return std::nullopt;
  return TcpFlow{wire::Ipv4Addr{v4->src}, wire::Ipv4Addr{v4->dst}, v4->src_port, v4->dst_port};
}

RssMap::RssMap(std::span<const uint8_t> key, std::vector<uint16_t> reta)
    : hash_(key), reta_(std::move(reta)), mask_(static_cast<uint32_t>(reta_.size() - 1)) {
  if (reta_.empty() || (reta_.size() & (reta_.size() - 1)) != 0) {
    throw std::invalid_argument("RETA of " + std::to_string(reta_.size()) + " entries; need a power of two");
  }
}

std::vector<uint16_t> build_reta(size_t size, uint16_t queues, std::span<const uint16_t> pattern) {
  std::vector<uint16_t> reta(size);
  for (size_t i = 0; i < size; i++) {
    reta[i] = pattern.empty() ? static_cast<uint16_t>(i % queues) : pattern[i % pattern.size()];
  }
  return reta;
}

bool port_lands_on_queue(void* ctx, wire::IpAddr local, uint16_t local_port, wire::IpAddr remote,
                         uint16_t remote_port) {
  const auto* own = static_cast<const QueueOwnership*>(ctx);
  // The replies are what must arrive here: hash them as they will be received.
  return own->map->queue_of(TcpFlow{.src = remote, .dst = local, .src_port = remote_port, .dst_port = local_port}) ==
         own->queue;
}

}  // namespace dtcp::dpdk
