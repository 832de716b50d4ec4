// A connection's 4-tuple, from our side.
#pragma once

#include <cstdint>

#include "dtcp/tcp.hpp"
#include "wire/addr.hpp"

namespace dtcp::tcp {

struct FourTuple {
  wire::Ipv4Addr local, remote;
  uint16_t local_port = 0, remote_port = 0;
  bool operator==(const FourTuple&) const = default;
  Endpoint local_endpoint() const { return {local, local_port}; }
  Endpoint remote_endpoint() const { return {remote, remote_port}; }
};

}  // namespace dtcp::tcp
