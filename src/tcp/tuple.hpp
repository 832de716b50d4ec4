// A connection's 4-tuple, from our side.
#pragma once

#include <cstdint>

#include "dtcp/tcp.hpp"
#include "wire/addr.hpp"

namespace dtcp::tcp {

// Either family (wire::IpAddr); `local` and `remote` always have the same one.
struct FourTuple {
  wire::IpAddr local, remote;
  uint16_t local_port = 0, remote_port = 0;
  bool operator==(const FourTuple& o) const {
    return local_port == o.local_port && remote_port == o.remote_port && remote == o.remote && local == o.local;
  }
  Endpoint local_endpoint() const { return {local, local_port}; }
  Endpoint remote_endpoint() const { return {remote, remote_port}; }
  bool is_v4() const { return local.is_v4(); }
};

// The IP header under a segment, without options: 20 bytes for IPv4 (RFC 791 §3.1), 40 for
// IPv6 (RFC 8200 §3). TcpConfig::mss is the IPv4 figure (MTU - 40); an IPv6 connection announces
// and sends 20 bytes less (MTU - 60), the only place TCP's arithmetic depends on the family.
inline constexpr uint16_t kIpv6ExtraHeader = 20;
inline uint16_t ip_header_len(const FourTuple& t) { return t.is_v4() ? 20 : 40; }
inline uint16_t family_mss(uint16_t ipv4_mss, const FourTuple& t) {
  return t.is_v4() ? ipv4_mss : static_cast<uint16_t>(ipv4_mss - kIpv6ExtraHeader);
}

}  // namespace dtcp::tcp
