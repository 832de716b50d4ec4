// Keyed hashes for values an attacker must not predict: initial sequence numbers (RFC 6528) and
// ephemeral port offsets (RFC 6056 §3.3.3), plus the connection-table hash.
#pragma once

#include <cstdint>

#include "base/time.hpp"
#include "tcp/tuple.hpp"

namespace dtcp::tcp {

// SipHash-2-4 (Aumasson & Bernstein) of two 64-bit words under a 128-bit key.
uint64_t siphash_2_4(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1);

// The two addresses of a tuple as one 64-bit word for the keyed hashes: IPv4 as before
// (local << 32 | remote); IPv6 folded, each address's halves mixed so that every bit counts.
inline uint64_t address_word(const wire::IpAddr& local, const wire::IpAddr& remote) {
  if (local.is_v4()) return uint64_t{local.v4().value} << 32 | remote.v4().value;
  const wire::Ipv6Addr l = local.v6(), r = remote.v6();
  const uint64_t lf = l.high() * 0x9E3779B97F4A7C15ull ^ l.low();
  const uint64_t rf = r.high() * 0xC2B2AE3D27D4EB4Full ^ r.low();
  return lf ^ (rf << 32 | rf >> 32) ^ 0x6a09e667f3bcc908ull;  // never the IPv4 word of another tuple by design
}
inline uint64_t address_word(const FourTuple& t) { return address_word(t.local, t.remote); }

class SecretKeys {
 public:
  explicit SecretKeys(uint64_t seed);
  // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock.
  uint32_t isn(const FourTuple& t, TimePoint now) const;
  // RFC 7323 §7.1: a per-connection offset of the timestamp clock, so TSval reveals neither the
  // uptime nor a clock shared with other connections.
  uint32_t ts_offset(const FourTuple& t) const;
  // Both from one SipHash: isn() takes its low 32 bits, ts_offset() its high 32 (independent bits
  // of a keyed PRF, so the TSval a peer sees says nothing of the ISN's offset). A new control
  // block needs both; one hash instead of two saves about 260 instructions a connection a side.
  struct ConnectionSecrets {
    uint32_t isn;
    uint32_t ts_offset;
  };
  ConnectionSecrets connection_secrets(const FourTuple& t, TimePoint now) const;
  // RFC 6056 algorithm 3: the starting offset for ports towards (remote, remote_port).
  uint32_t port_offset(const wire::IpAddr& local, const wire::IpAddr& remote, uint16_t remote_port) const;
  // RFC 4987 §3.6: keyed hashes of a 4-tuple for SYN cookies. `count` is the cookie's time
  // counter; cookie_hash_tuple() has its own key and no counter.
  uint32_t cookie_hash_tuple(const FourTuple& t) const;
  uint32_t cookie_hash_count(const FourTuple& t, uint32_t count) const;
  // Keyed hash of a 4-tuple for the connection tables (cheap, not cryptographic; keyed so a peer
  // cannot aim many tuples at one bucket without knowing the seed).
  size_t table_hash(const FourTuple& t) const {
    const uint64_t a = address_word(t) ^ table_key_;
    const uint64_t b = (uint64_t{t.local_port} << 16 | t.remote_port);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    h *= 0x165667B19E3779F9ull;
    return static_cast<size_t>(h ^ (h >> 32));
  }

 private:
  uint64_t tuple_word(const wire::IpAddr& local, const wire::IpAddr& remote, uint64_t k0, uint64_t k1) const;
  uint64_t isn_k0_, isn_k1_, port_k0_, port_k1_, table_key_;
  uint64_t cookie_k0_, cookie_k1_, cookie_k2_, cookie_k3_;
};

}  // namespace dtcp::tcp
