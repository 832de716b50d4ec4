#include "tcp_segments.hpp"

#include <cstring>
#include <sstream>

#include <rte_mbuf.h>

#include "wire/checksum.hpp"

namespace dtcp::tcp::test {

std::string describe(const Sent& s) {
  std::ostringstream os;
  os << dtcp::Endpoint{s.src, s.src_port}.to_string() << " > " << dtcp::Endpoint{s.dst, s.dst_port}.to_string() << " ["
     << wire::to_string(s.flags) << "] seq " << s.seq << " ack " << s.ack << " win " << s.window << " len "
     << s.payload.size();
  if (s.ecn != wire::Ecn::not_ect) os << " " << wire::to_string(s.ecn);
  if (s.options.mss) os << " mss " << *s.options.mss;
  if (s.options.window_scale) os << " wscale " << unsigned{*s.options.window_scale};
  if (s.options.sack_permitted) os << " sackOK";
  if (s.options.timestamps) os << " TS val " << s.options.timestamps->tsval << " ecr " << s.options.timestamps->tsecr;
  for (uint8_t i = 0; i < s.options.sack_block_count; ++i) {
    os << (i == 0 ? " sack " : ",") << s.options.sack_blocks[i].left << "-" << s.options.sack_blocks[i].right;
  }
  return os.str();
}

rte_mbuf* build_segment(rte_mempool* pool, const wire::TcpHeader& header, std::span<const std::byte> raw_options,
                        bool use_raw_options, std::span<const std::byte> payload, wire::IpAddr src,
                        wire::IpAddr dst) {
  wire::TcpHeader h = header;
  if (use_raw_options) h.options = {};
  const size_t written = wire::tcp_header_len(h);
  const size_t hlen = use_raw_options ? wire::kTcpMinHeaderLen + raw_options.size() : written;
  if (use_raw_options && (raw_options.size() % 4 != 0 || raw_options.size() > wire::kTcpMaxOptionsLen)) return nullptr;
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  if (hlen + payload.size() > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  auto* p = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(hlen + payload.size())));
  wire::write_tcp_header({p, written}, h);
  if (use_raw_options) {
    p[12] = std::byte{static_cast<uint8_t>((hlen / 4) << 4)};  // data offset covers the raw options
    if (!raw_options.empty()) std::memcpy(p + wire::kTcpMinHeaderLen, raw_options.data(), raw_options.size());
  }
  if (!payload.empty()) std::memcpy(p + hlen, payload.data(), payload.size());
  wire::fill_tcp_checksum({p, hlen + payload.size()}, src, dst);
  return m;
}

std::string parse_sent(rte_mbuf* m, wire::IpAddr src, wire::IpAddr dst, wire::Ecn ecn, Sent& out) {
  std::string error;
  if (rte_pktmbuf_headroom(m) < 64) error = "segments need headroom for IPv4 + Ethernet";
  std::vector<std::byte> bytes(m->pkt_len);
  // rte_pktmbuf_read() copies only when the data is not contiguous; it returns where it is.
  const void* data = rte_pktmbuf_read(m, 0, m->pkt_len, bytes.data());
  if (data != bytes.data() && !bytes.empty()) std::memcpy(bytes.data(), data, bytes.size());
  const uint16_t l4_len = static_cast<uint16_t>(m->l4_len);
  const uint16_t tso_segsz = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) ? m->tso_segsz : uint16_t{0};
  rte_pktmbuf_free(m);
  if (!error.empty()) return error;
  if (bytes.size() < wire::kTcpMinHeaderLen) return "segment shorter than a TCP header";
  if (bytes[16] != std::byte{0} || bytes[17] != std::byte{0}) return "checksum must be left 0 for the stack";
  wire::fill_tcp_checksum(bytes, src, dst);
  auto view = wire::TcpView::parse(bytes);
  if (!view.ok()) return std::string("shard sent an unparsable segment: ") + wire::to_string(view.error());
  if (!view->verify_checksum(src, dst)) return "checksum does not verify";
  if (l4_len != view->header_len()) return "m->l4_len is not the header length";
  out = Sent{};
  out.src = src;
  out.dst = dst;
  out.src_port = view->src_port();
  out.dst_port = view->dst_port();
  out.seq = view->seq();
  out.ack = view->ack();
  out.flags = view->flags();
  out.window = view->window();
  out.options = view->options();
  out.payload.assign(view->payload().begin(), view->payload().end());
  out.l4_len = l4_len;
  out.ecn = ecn;
  out.tso_segsz = tso_segsz;
  return {};
}

}  // namespace dtcp::tcp::test
