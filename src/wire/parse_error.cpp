#include "wire/parse_error.hpp"

namespace dtcp::wire {

const char* to_string(ParseError error) {
  switch (error) {
    case ParseError::none: return "none";
    case ParseError::truncated: return "truncated";
    case ParseError::bad_version: return "bad_version";
    case ParseError::bad_header_length: return "bad_header_length";
    case ParseError::bad_total_length: return "bad_total_length";
    case ParseError::bad_checksum: return "bad_checksum";
    case ParseError::bad_hardware_type: return "bad_hardware_type";
    case ParseError::bad_protocol_type: return "bad_protocol_type";
    case ParseError::bad_address_length: return "bad_address_length";
    case ParseError::bad_opcode: return "bad_opcode";
    case ParseError::bad_data_offset: return "bad_data_offset";
    case ParseError::bad_option: return "bad_option";
    case ParseError::bad_flags: return "bad_flags";
    case ParseError::bad_type: return "bad_type";
    case ParseError::bad_extension_header: return "bad_extension_header";
    case ParseError::bad_next_header: return "bad_next_header";
    case ParseError::bad_nd_option: return "bad_nd_option";
  }
  return "unknown";
}

}  // namespace dtcp::wire
