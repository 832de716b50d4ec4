#include "wire/tcp.hpp"

#include <algorithm>
#include <cassert>

#include "wire/checksum.hpp"
#include "wire/ipv4.hpp"

namespace dtcp::wire {
namespace {

// Option kinds (IANA "TCP Option Kind Numbers").
constexpr uint8_t kOptEol = 0;
constexpr uint8_t kOptNop = 1;
constexpr uint8_t kOptMss = 2;
constexpr uint8_t kOptWindowScale = 3;
constexpr uint8_t kOptSackPermitted = 4;
constexpr uint8_t kOptSack = 5;
constexpr uint8_t kOptTimestamps = 8;

constexpr size_t kOptMssLen = 4;
constexpr size_t kOptWindowScaleLen = 3;
constexpr size_t kOptSackPermittedLen = 2;
constexpr size_t kOptTimestampsLen = 10;
constexpr size_t kSackBlockLen = 8;

uint8_t u8(std::span<const std::byte> s, size_t i) { return std::to_integer<uint8_t>(s[i]); }

}  // namespace

std::string to_string(TcpFlags flags) {
  static constexpr const char* kNames[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
  std::string out;
  for (unsigned bit = 0; bit < 8; ++bit) {
    if ((static_cast<uint8_t>(flags) & (1u << bit)) == 0) continue;
    if (!out.empty()) out += '|';
    out += kNames[bit];
  }
  return out.empty() ? "none" : out;
}

Parsed<TcpView> TcpView::parse(std::span<const std::byte> segment) {
  TcpOptions options;
  const Parsed<uint8_t> header_len = parse_tcp_header(segment, options);
  if (!header_len) return header_len.error();
  return TcpView(segment, *header_len, options);
}

// Returns false on an impossible option. RFC 9293 §3.1: options may begin on any octet; the
// list ends at EOL or at the end of the header, whichever comes first.
bool parse_tcp_options(std::span<const std::byte> opts, TcpOptions& out) {
  size_t i = 0;
  while (i < opts.size()) {
    const uint8_t kind = u8(opts, i);
    if (kind == kOptEol) break;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    // Every other kind has a length octet that counts kind and length themselves.
    if (i + 1 >= opts.size()) return false;
    const size_t len = u8(opts, i + 1);
    if (len < 2 || len > opts.size() - i) return false;
    const std::byte* body = opts.data() + i + 2;
    switch (kind) {
      case kOptMss:
        if (len != kOptMssLen) return false;
        out.mss = load_be16(body);
        break;
      case kOptWindowScale:
        if (len != kOptWindowScaleLen) return false;
        // RFC 7323 §2.3: log and use 14 for anything larger. Clamping here means no consumer
        // can shift a window by 255.
        out.window_scale = std::min(std::to_integer<uint8_t>(body[0]), kTcpMaxWindowScale);
        break;
      case kOptSackPermitted:
        if (len != kOptSackPermittedLen) return false;
        out.sack_permitted = true;
        break;
      case kOptSack: {
        // RFC 2018 §3: 2 + 8n octets, n >= 1; 40 bytes of options leave room for at most 4.
        const size_t body_len = len - 2;
        if (body_len == 0 || body_len % kSackBlockLen != 0 || body_len / kSackBlockLen > kTcpMaxSackBlocks) {
          return false;
        }
        const size_t n = body_len / kSackBlockLen;
        for (size_t b = 0; b < n; ++b) {
          out.sack_blocks[b] = SackBlock{load_be32(body + b * kSackBlockLen), load_be32(body + b * kSackBlockLen + 4)};
        }
        for (size_t b = n; b < kTcpMaxSackBlocks; ++b) out.sack_blocks[b] = SackBlock{};
        out.sack_block_count = static_cast<uint8_t>(n);
        break;
      }
      case kOptTimestamps:
        if (len != kOptTimestampsLen) return false;
        out.timestamps = TcpTimestamps{load_be32(body), load_be32(body + 4)};
        break;
      default:
        break;  // RFC 9293 §3.1: unknown options with a sane length are ignored
    }
    i += len;
  }
  return true;
}

bool TcpView::verify_checksum(const IpAddr& src, const IpAddr& dst) const {
  if (bytes_.size() > 0xffff) return false;
  const uint32_t pseudo =
      pseudo_header_sum(src, dst, static_cast<uint8_t>(IpProtocol::tcp), static_cast<uint16_t>(bytes_.size()));
  return checksum_fold(checksum_accumulate(bytes_, pseudo)) == 0;
}

namespace {

// Length of the options before the SACK option (which is what gets cut when space runs out).
size_t options_len_before_sack(const TcpOptions& o) {
  size_t len = 0;
  if (o.mss) len += 4;
  if (o.timestamps) {
    len += 12;  // SACK-permitted rides in the timestamp option's NOP NOP
  } else if (o.sack_permitted) {
    len += 4;
  }
  if (o.window_scale) len += 4;
  return len;
}

}  // namespace

size_t tcp_sack_blocks_that_fit(const TcpOptions& options) {
  const size_t before = options_len_before_sack(options);
  const size_t wanted = std::min<size_t>(options.sack_block_count, kTcpMaxSackBlocks);
  if (wanted == 0 || before + 4 + kSackBlockLen > kTcpMaxOptionsLen) return 0;
  return std::min(wanted, (kTcpMaxOptionsLen - before - 4) / kSackBlockLen);
}

size_t tcp_options_len(const TcpOptions& options) {
  const size_t sacks = tcp_sack_blocks_that_fit(options);
  return options_len_before_sack(options) + (sacks == 0 ? 0 : 4 + sacks * kSackBlockLen);
}

size_t write_tcp_header(std::span<std::byte> out, const TcpHeader& header) {
  // The length falls out of the writing (the data offset is stored last): working it out first
  // costs the option sizing twice more a segment. Room for the largest header needs no sizing.
  assert(out.size() >= kTcpMinHeaderLen + kTcpMaxOptionsLen || out.size() >= tcp_header_len(header));
  std::byte* p = out.data();
  store_be16(p, header.src_port);
  store_be16(p + 2, header.dst_port);
  store_be32(p + 4, header.seq);
  store_be32(p + 8, header.ack);
  p[13] = static_cast<std::byte>(header.flags);
  store_be16(p + 14, header.window);
  store_be16(p + 16, 0);
  store_be16(p + 18, header.urgent);

  // Same order and padding as Linux's tcp_options_write(), so captures compare byte for byte.
  const TcpOptions& o = header.options;
  std::byte* q = p + kTcpMinHeaderLen;
  auto put4 = [&q](uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    q[0] = std::byte{a};
    q[1] = std::byte{b};
    q[2] = std::byte{c};
    q[3] = std::byte{d};
    q += 4;
  };
  if (o.mss) {
    put4(kOptMss, kOptMssLen, 0, 0);
    store_be16(q - 2, *o.mss);
  }
  if (o.timestamps) {
    if (o.sack_permitted) {
      put4(kOptSackPermitted, kOptSackPermittedLen, kOptTimestamps, kOptTimestampsLen);
    } else {
      put4(kOptNop, kOptNop, kOptTimestamps, kOptTimestampsLen);
    }
    store_be32(q, o.timestamps->tsval);
    store_be32(q + 4, o.timestamps->tsecr);
    q += 8;
  } else if (o.sack_permitted) {
    put4(kOptNop, kOptNop, kOptSackPermitted, kOptSackPermittedLen);
  }
  if (o.window_scale) put4(kOptNop, kOptWindowScale, kOptWindowScaleLen, *o.window_scale);
  if (const size_t n = tcp_sack_blocks_that_fit(o); n > 0) {
    put4(kOptNop, kOptNop, kOptSack, static_cast<uint8_t>(2 + n * kSackBlockLen));
    for (size_t b = 0; b < n; ++b) {
      store_be32(q, o.sack_blocks[b].left);
      store_be32(q + 4, o.sack_blocks[b].right);
      q += kSackBlockLen;
    }
  }
  const auto len = static_cast<size_t>(q - p);
  assert(len <= out.size());
  p[12] = static_cast<std::byte>((len / 4) << 4);
  return len;
}

void fill_tcp_checksum(std::span<std::byte> segment, const IpAddr& src, const IpAddr& dst) {
  assert(segment.size() >= kTcpMinHeaderLen && segment.size() <= 0xffff);
  store_be16(segment.data() + 16, 0);
  const uint32_t pseudo =
      pseudo_header_sum(src, dst, static_cast<uint8_t>(IpProtocol::tcp), static_cast<uint16_t>(segment.size()));
  store_be16(segment.data() + 16, checksum_fold(checksum_accumulate(segment, pseudo)));
}

}  // namespace dtcp::wire
