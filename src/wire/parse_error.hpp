// Why a parser rejected a buffer, and the small result type every parser returns.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <utility>

namespace dtcp::wire {

// One value per drop reason, so the stack can keep one counter per reason.
enum class ParseError : uint8_t {
  none,
  truncated,          // buffer shorter than the header (or the length it declares)
  bad_version,        // IP version field not 4 (IPv4) or 6 (IPv6)
  bad_header_length,  // IPv4 IHL < 5
  bad_total_length,   // IPv4 total length < header length
  bad_checksum,
  bad_hardware_type,   // ARP htype != 1 (Ethernet)
  bad_protocol_type,   // ARP ptype != 0x0800 (IPv4)
  bad_address_length,  // ARP hlen != 6 or plen != 4
  bad_opcode,          // ARP op not request/reply
  bad_data_offset,     // TCP data offset < 5 or beyond the segment
  bad_option,          // TCP option with an impossible length
  bad_flags,           // TCP flag combination no legitimate sender emits
  bad_type,            // ICMPv6 type not the one the parser reads (an ND parser given an echo)
  bad_extension_header,  // IPv6 extension-header chain that cannot be stepped over (quoted packets)
  bad_next_header,     // the upper-layer protocol is not the one the parser reads (a quote not of TCP)
  bad_nd_option,       // ND option of length 0 (RFC 4861 §4.6) or the wrong length for its type
  // (keep bad_nd_option last, or move the bound in ethernet_test.cpp ToString_NamesEveryValue)
};

// Static string naming the error ("truncated", ...); never null.
const char* to_string(ParseError);

// Either a parsed T or the reason parsing failed. Trivially copyable when T is (std::optional
// keeps that property), so it is returned in registers for small views.
template <class T>
class Parsed {
 public:
  Parsed(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Parsed(ParseError error) : error_(error) {     // NOLINT: implicit by design
    assert(error != ParseError::none && "a failed parse needs a reason");
  }

  bool ok() const { return error_ == ParseError::none; }
  explicit operator bool() const { return ok(); }
  ParseError error() const { return error_; }

  // Requires ok().
  const T& operator*() const {
    assert(ok());
    return *value_;
  }
  const T* operator->() const {
    assert(ok());
    return &*value_;
  }

 private:
  std::optional<T> value_;
  ParseError error_ = ParseError::none;
};

}  // namespace dtcp::wire
