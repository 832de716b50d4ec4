// Receive-side scaling as dtcp uses it to give every connection one owning queue (and lcore):
// the Toeplitz hash a NIC computes over a packet's 4-tuple, the redirection table (RETA) that
// maps the hash to a queue, and the classifier that finds the 4-tuple in a received frame.
//
// A connection's owner is always computed from the tuple as a *received* segment carries it
// (source = the peer, destination = us), which is also what the NIC hashes; with the symmetric
// key below the other direction hashes the same, so middleboxes and loopback tests agree too.
// No DPDK headers: the unit tests compare ToeplitzHash with DPDK's rte_softrss.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "wire/addr.hpp"

namespace dtcp::dpdk {

// 0x6d5a repeated. A key with a period of 16 bits makes the hash depend only on the 16-bit XOR
// of the input words, so swapping source and destination (addresses and ports together) leaves
// it unchanged (Woo and Park, "Scalable TCP Session Monitoring with Symmetric Receive-side
// Scaling", 2012). `len` is the device's hash_key_size (40 for most NICs).
std::vector<uint8_t> symmetric_rss_key(size_t len = 40);

// The software RETA size for devices without RSS (and the usual NIC size).
inline constexpr size_t kSoftwareRetaSize = 128;

// Microsoft's Toeplitz hash over IPv4 or IPv6 (+ TCP ports), as NICs implement it, with one
// 256-entry table per input byte: twelve loads and XORs per IPv4 packet (36 for IPv6) instead of
// a loop over set bits (rte_softrss_be walks up to 96 or 288 bits). Tables are 36 KiB; each
// queue keeps its own copy. The IPv6 input is the one NICs use for TCP over IPv6 without
// extension headers (RTE_ETH_RSS_NONFRAG_IPV6_TCP): source, destination, source port,
// destination port, 36 bytes.
class ToeplitzHash {
 public:
  // `key` needs at least 16 bytes for IPv4 (12 input bytes plus the 32-bit window) and 40 for
  // IPv6; with a shorter key the IPv6 hash is 0 (every IPv6 flow on the first RETA entry).
  explicit ToeplitzHash(std::span<const uint8_t> key);

  // Source and destination as the packet carries them, values in host order.
  uint32_t ipv4_tcp(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port) const {
    return word(0, src) ^ word(4, dst) ^ word(8, (uint32_t{src_port} << 16) | dst_port);
  }
  // The L3-only hash NICs use for non-TCP IPv4 (and fragments).
  uint32_t ipv4(uint32_t src, uint32_t dst) const { return word(0, src) ^ word(4, dst); }
  uint32_t ipv6_tcp(const wire::Ipv6Addr& src, const wire::Ipv6Addr& dst, uint16_t src_port, uint16_t dst_port) const {
    if (!ipv6_) return 0;
    uint32_t h = 0;
    for (size_t i = 0; i < 16; ++i) h ^= table_[i][src.bytes[i]] ^ table_[16 + i][dst.bytes[i]];
    return h ^ word(32, (uint32_t{src_port} << 16) | dst_port);
  }

 private:
  uint32_t word(size_t byte, uint32_t v) const {
    return table_[byte][v >> 24] ^ table_[byte + 1][(v >> 16) & 0xff] ^ table_[byte + 2][(v >> 8) & 0xff] ^
           table_[byte + 3][v & 0xff];
  }
  std::array<std::array<uint32_t, 256>, 36> table_{};
  bool ipv6_ = false;  // the key was long enough for the 36-byte input
};

// The 4-tuple of a received IPv4/TCP frame, host order.
struct Ipv4TcpFlow {
  uint32_t src = 0;
  uint32_t dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

// The 4-tuple of a received TCP segment of either family (source = the peer, destination = us).
struct TcpFlow {
  wire::IpAddr src, dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

// Finds the flow of an Ethernet frame carrying an unfragmented IPv4 TCP segment whose headers
// lie within `frame`; nullopt for anything else (ARP, ICMP, UDP, fragments, VLAN tags,
// truncated or malformed headers), which is handled on the queue that received it. Checks no
// checksum: the owner validates the frame fully, and a corrupted frame merely lands on some
// queue that then drops it.
std::optional<Ipv4TcpFlow> ipv4_tcp_flow(std::span<const std::byte> frame);
// The same for IPv4 or IPv6; for IPv6 the TCP header may follow hop-by-hop, routing and
// destination-options headers (stepped over, at most kIpv6MaxExtensionHeaders, contents not
// checked); behind a fragment header or anything else there is no flow.
std::optional<TcpFlow> tcp_flow(std::span<const std::byte> frame);

// Hash -> RETA entry -> queue, for one port. Read-only once built.
class RssMap {
 public:
  // `reta` holds a queue number per entry; its size must be a power of two (NICs index it with
  // the low bits of the hash).
  RssMap(std::span<const uint8_t> key, std::vector<uint16_t> reta);

  uint16_t queue_of_hash(uint32_t hash) const { return reta_[hash & mask_]; }
  // The queue a segment (source = peer, destination = us) is received on.
  uint16_t queue_of(const Ipv4TcpFlow& f) const {
    return queue_of_hash(hash_.ipv4_tcp(f.src, f.dst, f.src_port, f.dst_port));
  }
  uint16_t queue_of(const TcpFlow& f) const {
    if (f.src.is_v4()) return queue_of_hash(hash_.ipv4_tcp(f.src.v4().value, f.dst.v4().value, f.src_port, f.dst_port));
    return queue_of_hash(hash_.ipv6_tcp(f.src.v6(), f.dst.v6(), f.src_port, f.dst_port));
  }
  const std::vector<uint16_t>& reta() const { return reta_; }
  const ToeplitzHash& hash() const { return hash_; }

 private:
  ToeplitzHash hash_;
  std::vector<uint16_t> reta_;
  uint32_t mask_;
};

// `pattern` repeated to fill `size` entries; an empty pattern means 0, 1, ..., queues-1 (round
// robin, the usual NIC default).
std::vector<uint16_t> build_reta(size_t size, uint16_t queues, std::span<const uint16_t> pattern);

// Vetoes ephemeral ports whose connection would be received on another queue (the
// tcp::ShardEnv::port_filter signature; ctx is a QueueOwnership). As Seastar's connect() does,
// the replies then come back to the lcore that opened the connection without any steering.
struct QueueOwnership {
  const RssMap* map = nullptr;
  uint16_t queue = 0;
};
bool port_lands_on_queue(void* ctx, wire::IpAddr local, uint16_t local_port, wire::IpAddr remote,
                         uint16_t remote_port);

}  // namespace dtcp::dpdk
