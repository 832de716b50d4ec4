#include "tcp/isn.hpp"

namespace dtcp::tcp {

namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  void absorb(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t siphash_2_4(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1) {
  SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
             k1 ^ 0x7465646279746573ull};
  s.absorb(m0);
  s.absorb(m1);
  s.absorb(uint64_t{16} << 56);  // message length 16 bytes, no tail
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

SecretKeys::SecretKeys(uint64_t seed) {
  uint64_t state = seed;
  isn_k0_ = splitmix64(state);
  isn_k1_ = splitmix64(state);
  port_k0_ = splitmix64(state);
  port_k1_ = splitmix64(state);
  table_key_ = splitmix64(state);
  // Drawn after the others, so the ISNs and ports a seed gives stay what they were.
  cookie_k0_ = splitmix64(state);
  cookie_k1_ = splitmix64(state);
  cookie_k2_ = splitmix64(state);
  cookie_k3_ = splitmix64(state);
}

// IPv6 tuples first hash their 32 address bytes with SipHash (the key swapped), and that word
// takes the place of the IPv4 pair, so the ISN and cookie values stay keyed functions of the
// whole 4-tuple (RFC 6528 §3) while an IPv4 tuple costs one SipHash as before.
uint64_t SecretKeys::tuple_word(const wire::IpAddr& local, const wire::IpAddr& remote, uint64_t k0, uint64_t k1) const {
  if (local.is_v4()) return address_word(local, remote);
  // One SipHash over the four address words (32 bytes): five compressions, not four hashes.
  const wire::Ipv6Addr l = local.v6(), r = remote.v6();
  SipState s{k1 ^ 0x736f6d6570736575ull, k0 ^ 0x646f72616e646f6dull, k1 ^ 0x6c7967656e657261ull,
             k0 ^ 0x7465646279746573ull};
  s.absorb(l.high());
  s.absorb(l.low());
  s.absorb(r.high());
  s.absorb(r.low());
  s.absorb(uint64_t{32} << 56);  // message length 32 bytes, no tail
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

SecretKeys::ConnectionSecrets SecretKeys::connection_secrets(const FourTuple& t, TimePoint now) const {
  const uint64_t m0 = tuple_word(t.local, t.remote, isn_k0_, isn_k1_);
  const uint64_t m1 = uint64_t{t.local_port} << 16 | t.remote_port;
  const uint64_t f = siphash_2_4(isn_k0_, isn_k1_, m0, m1);
  const auto m = static_cast<uint32_t>(now.time_since_epoch().count() / 4);  // 4 µs ticks
  return {.isn = m + static_cast<uint32_t>(f), .ts_offset = static_cast<uint32_t>(f >> 32)};
}

uint32_t SecretKeys::isn(const FourTuple& t, TimePoint now) const { return connection_secrets(t, now).isn; }

uint32_t SecretKeys::ts_offset(const FourTuple& t) const { return connection_secrets(t, TimePoint{}).ts_offset; }

uint32_t SecretKeys::port_offset(const wire::IpAddr& local, const wire::IpAddr& remote, uint16_t remote_port) const {
  const uint64_t m0 = tuple_word(local, remote, port_k0_, port_k1_);
  return static_cast<uint32_t>(siphash_2_4(port_k0_, port_k1_, m0, remote_port));
}

uint32_t SecretKeys::cookie_hash_tuple(const FourTuple& t) const {
  const uint64_t m0 = tuple_word(t.local, t.remote, cookie_k0_, cookie_k1_);
  const uint64_t m1 = uint64_t{t.local_port} << 16 | t.remote_port;
  return static_cast<uint32_t>(siphash_2_4(cookie_k0_, cookie_k1_, m0, m1));
}

uint32_t SecretKeys::cookie_hash_count(const FourTuple& t, uint32_t count) const {
  const uint64_t m0 = tuple_word(t.local, t.remote, cookie_k2_, cookie_k3_);
  const uint64_t m1 = uint64_t{count} << 32 | uint64_t{t.local_port} << 16 | t.remote_port;
  return static_cast<uint32_t>(siphash_2_4(cookie_k2_, cookie_k3_, m0, m1));
}

}  // namespace dtcp::tcp
