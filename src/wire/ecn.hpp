// The ECN field (RFC 3168 §5): the two low bits of IPv4's TOS byte and of IPv6's Traffic Class,
// with the same four codepoints in both, so TCP names them without knowing the family.
#pragma once

#include <cstdint>

namespace dtcp::wire {

enum class Ecn : uint8_t {
  not_ect = 0b00,  // not ECN-capable transport
  ect1 = 0b01,     // ECN-capable, ECT(1)
  ect0 = 0b10,     // ECN-capable, ECT(0): what an RFC 3168 sender uses
  ce = 0b11,       // congestion experienced: set by a router instead of dropping
};

// The ECN field of a TOS / Traffic Class byte, and the byte with the field replaced.
constexpr Ecn ecn_of(uint8_t tos) { return static_cast<Ecn>(tos & 0x03u); }
constexpr uint8_t with_ecn(uint8_t tos, Ecn ecn) {
  return static_cast<uint8_t>((tos & 0xfcu) | static_cast<uint8_t>(ecn));
}
// ECT(0) or ECT(1): a router may mark the packet CE instead of dropping it.
constexpr bool is_ect(Ecn ecn) { return ecn == Ecn::ect0 || ecn == Ecn::ect1; }

constexpr const char* to_string(Ecn ecn) {
  switch (ecn) {
    case Ecn::not_ect: return "Not-ECT";
    case Ecn::ect1: return "ECT(1)";
    case Ecn::ect0: return "ECT(0)";
    case Ecn::ce: return "CE";
  }
  return "?";
}

}  // namespace dtcp::wire
