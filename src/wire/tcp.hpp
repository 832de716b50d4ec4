// TCP headers and options: RFC 9293 §3.1 (header, MSS), RFC 7323 (window scale, timestamps),
// RFC 2018 (SACK).
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "wire/addr.hpp"
#include "wire/bytes.hpp"
#include "wire/parse_error.hpp"

namespace dtcp::wire {

inline constexpr size_t kTcpMinHeaderLen = 20;
inline constexpr size_t kTcpMaxOptionsLen = 40;
// RFC 7323 §2.3: a shift count above 14 must be treated as 14.
inline constexpr uint8_t kTcpMaxWindowScale = 14;
// RFC 2018 §3: at most 4 blocks fit in 40 bytes of options (3 alongside timestamps).
inline constexpr size_t kTcpMaxSackBlocks = 4;

enum class TcpFlags : uint8_t {
  none = 0,
  fin = 0x01,
  syn = 0x02,
  rst = 0x04,
  psh = 0x08,
  ack = 0x10,
  urg = 0x20,
  ece = 0x40,
  cwr = 0x80,
};

constexpr TcpFlags operator|(TcpFlags a, TcpFlags b) {
  return static_cast<TcpFlags>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
constexpr TcpFlags operator&(TcpFlags a, TcpFlags b) {
  return static_cast<TcpFlags>(static_cast<uint8_t>(a) & static_cast<uint8_t>(b));
}
constexpr TcpFlags operator~(TcpFlags a) { return static_cast<TcpFlags>(static_cast<uint8_t>(~static_cast<uint8_t>(a))); }
constexpr TcpFlags& operator|=(TcpFlags& a, TcpFlags b) { return a = a | b; }
constexpr TcpFlags& operator&=(TcpFlags& a, TcpFlags b) { return a = a & b; }
// True when every flag in f is set in `set` (so has(x, syn | ack) needs both).
constexpr bool has(TcpFlags set, TcpFlags f) { return (set & f) == f; }
// "SYN|ACK", flags in bit order (FIN first); "none" when no flag is set.
std::string to_string(TcpFlags flags);

struct SackBlock {
  uint32_t left = 0, right = 0;
  bool operator==(const SackBlock&) const = default;
};

struct TcpTimestamps {
  uint32_t tsval = 0, tsecr = 0;
  bool operator==(const TcpTimestamps&) const = default;
};

// Options as values. Parsing keeps the last occurrence of a repeated option. The SYN-only
// options (MSS, window scale, SACK-permitted) are reported whatever the flags; RFC 9293
// §3.7.1 and RFC 7323 §2.2 leave ignoring them on other segments to the TCP layer.
struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;  // already clamped to kTcpMaxWindowScale when parsed
  bool sack_permitted = false;
  std::optional<TcpTimestamps> timestamps;
  uint8_t sack_block_count = 0;
  std::array<SackBlock, kTcpMaxSackBlocks> sack_blocks{};
  bool operator==(const TcpOptions&) const = default;
};

// TcpView::parse()'s checks, with the options parsed into `options` (default-constructed, the
// caller's own: the receive path's Segment) rather than into a view that is then copied twice.
// Returns the header length. The fields are then read from the bytes (TcpView's accessors are
// thin loads of the same offsets).
// Inline, as every received segment takes it; options other than the common layout go to
// parse_tcp_options().
inline Parsed<uint8_t> parse_tcp_header(std::span<const std::byte> segment, TcpOptions& options);
// The options field of any layout into `out` (RFC 9293 §3.1: options may begin on any octet; the
// list ends at EOL or at the end of the header). False on an impossible option.
bool parse_tcp_options(std::span<const std::byte> options, TcpOptions& out);

class TcpView {
 public:
  // Checks, in order: size >= 20 (truncated); data offset >= 5 and data offset*4 <= size
  // (bad_data_offset: the segment length comes from the IP layer, so a header longer than it
  // is a bad offset, not a short read); SYN together with FIN or RST (bad_flags); options
  // (bad_option). Options: kinds 0 EOL, 1 NOP, 2 MSS len 4, 3 WS len 3, 4 SACK-permitted
  // len 2, 5 SACK len 2+8n (n 1..4), 8 TS len 10; unknown kinds with length >= 2 are
  // skipped; a missing length byte, a length < 2, an option running past the header or a
  // known kind with the wrong length is bad_option (RFC 9293 §3.1 "Options" requires a
  // receiver to survive all of these, so we reject rather than guess).
  // Does not verify the checksum (hardware may have); see verify_checksum().
  // `segment` must be exactly the TCP segment, i.e. Ipv4View::payload().
  static Parsed<TcpView> parse(std::span<const std::byte> segment);

  uint16_t src_port() const { return load_be16(bytes_.data()); }
  uint16_t dst_port() const { return load_be16(bytes_.data() + 2); }
  uint32_t seq() const { return load_be32(bytes_.data() + 4); }
  uint32_t ack() const { return load_be32(bytes_.data() + 8); }
  size_t header_len() const { return header_len_; }
  TcpFlags flags() const { return static_cast<TcpFlags>(bytes_[13]); }
  uint16_t window() const { return load_be16(bytes_.data() + 14); }
  uint16_t checksum() const { return load_be16(bytes_.data() + 16); }
  uint16_t urgent() const { return load_be16(bytes_.data() + 18); }
  const TcpOptions& options() const { return options_; }
  std::span<const std::byte> payload() const { return bytes_.subspan(header_len_); }
  std::span<const std::byte> bytes() const { return bytes_; }

  // True if the checksum over pseudo-header, header and payload is correct (RFC 9293 §3.1).
  // Either family's pseudo-header (checksum.hpp).
  bool verify_checksum(const IpAddr& src, const IpAddr& dst) const;

 private:
  TcpView(std::span<const std::byte> bytes, uint8_t header_len, const TcpOptions& options)
      : bytes_(bytes), options_(options), header_len_(header_len) {}

  std::span<const std::byte> bytes_;
  TcpOptions options_;
  uint8_t header_len_;
};

struct TcpHeader {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  TcpFlags flags = TcpFlags::none;
  uint16_t window = 0;
  uint16_t urgent = 0;
  TcpOptions options;
};

// How many of options.sack_blocks the writer emits: sack_block_count, capped at 4 and cut to
// what fits in 40 bytes after the other options (Linux does the same in
// tcp_established_options()).
size_t tcp_sack_blocks_that_fit(const TcpOptions& options);
// Bytes of options write_tcp_header() emits: a multiple of 4, at most 40.
size_t tcp_options_len(const TcpOptions& options);
inline size_t tcp_header_len(const TcpHeader& header) { return kTcpMinHeaderLen + tcp_options_len(header.options); }

// Writes the header with the checksum field 0 and returns tcp_header_len(header). Options use
// Linux's layout (tcp_options_write()) so captures compare byte for byte:
//   MSS                      02 04 mss
//   SACK-permitted + TS      04 02 08 0a tsval tsecr
//   TS only                  01 01 08 0a tsval tsecr
//   SACK-permitted only      01 01 04 02
//   window scale             01 03 03 ws
//   SACK blocks              01 01 05 (2+8n) left right ...
// Requires out.size() >= tcp_header_len(header).
size_t write_tcp_header(std::span<std::byte> out, const TcpHeader& header);

// What write_tcp_header() writes for a header whose only option is the timestamps one, or
// none (`timestamps` null), without a TcpHeader built first: most segments of a connection, the
// ACKs with or without data (tcp/output.cpp). Urgent pointer and checksum zero. Requires
// out.size() >= 32; returns the length, 20 or 32.
inline size_t write_tcp_timestamps_header(std::span<std::byte> out, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                                          uint32_t ack, TcpFlags flags, uint16_t window, const TcpTimestamps* timestamps);

// Fills the checksum of a complete segment (header + payload) in place. Whatever is in the
// checksum field is ignored. Requires segment.size() >= 20 and <= 65535.
void fill_tcp_checksum(std::span<std::byte> segment, const IpAddr& src, const IpAddr& dst);

inline Parsed<uint8_t> parse_tcp_header(std::span<const std::byte> segment, TcpOptions& options) {
  if (segment.size() < kTcpMinHeaderLen) return ParseError::truncated;
  const size_t header_len = (std::to_integer<size_t>(segment[12]) >> 4) * 4;
  if (header_len < kTcpMinHeaderLen || header_len > segment.size()) return ParseError::bad_data_offset;
  // No stack sends SYN with FIN or RST; they are scanner probes. Linux discards SYN|FIN in
  // LISTEN (tcp_rcv_state_process) and FreeBSD has net.inet.tcp.drop_synfin. Rejecting them
  // here keeps the state machine from having to decide which flag wins.
  const auto flags = static_cast<TcpFlags>(segment[13]);
  if (has(flags, TcpFlags::syn) && (has(flags, TcpFlags::fin) || has(flags, TcpFlags::rst))) {
    return ParseError::bad_flags;
  }
  const std::span<const std::byte> opts = segment.subspan(kTcpMinHeaderLen, header_len - kTcpMinHeaderLen);
  // RFC 7323 Appendix A's layout, which Linux and dtcp put on every segment of a connection with
  // timestamps: NOP, NOP, Timestamps (kind 8, length 10). Taken whole (the header prediction of
  // RFC 1323 §4.2.2).
  if (opts.size() == 12 && load_be32(opts.data()) == 0x0101080au) {
    options.timestamps = TcpTimestamps{load_be32(opts.data() + 4), load_be32(opts.data() + 8)};
  } else if (!opts.empty() && !parse_tcp_options(opts, options)) {
    return ParseError::bad_option;
  }
  return static_cast<uint8_t>(header_len);
}

inline size_t write_tcp_timestamps_header(std::span<std::byte> out, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                                          uint32_t ack, TcpFlags flags, uint16_t window, const TcpTimestamps* timestamps) {
  const size_t len = kTcpMinHeaderLen + (timestamps ? 12 : 0);
  assert(out.size() >= len);
  std::byte* p = out.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  p[12] = static_cast<std::byte>((len / 4) << 4);
  p[13] = static_cast<std::byte>(flags);
  store_be16(p + 14, window);
  store_be32(p + 16, 0);  // checksum and urgent pointer
  if (timestamps) {
    store_be32(p + 20, 0x0101080au);  // NOP, NOP, Timestamps (kind 8, length 10): RFC 7323 Appendix A
    store_be32(p + 24, timestamps->tsval);
    store_be32(p + 28, timestamps->tsecr);
  }
  return len;
}

}  // namespace dtcp::wire
