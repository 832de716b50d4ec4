#!/usr/bin/python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ and the dictionaries beside them.

Seeds are small and real: frames built field by field (the same shapes Linux sends: SYN with
MSS, SACK-permitted, timestamps and window scale; data with SACK blocks; ARP; ICMP echo and
errors quoting a TCP header), the example configuration files, HTTP responses of every framing,
and for tcp_state one short script per starting state in the driver's encoding
(tests/fuzz/tcp_driver.cpp). Run it again after changing an encoding; files it did not write
(crash reproducers kept as regression inputs, named crash-*) are left alone.

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import hashlib
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

OUR_MAC = bytes.fromhex("020000000001")
PEER_MAC = bytes.fromhex("020000000002")
OUR_IP = bytes([198, 18, 0, 1])
PEER_IP = bytes([198, 18, 0, 2])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_options(mss=None, ws=None, sackok=False, ts=None, sack=()):
    """Linux's layout (tcp_options_write)."""
    o = b""
    if mss is not None:
        o += struct.pack("!BBH", 2, 4, mss)
    if sackok and ts:
        o += bytes([4, 2, 8, 10]) + struct.pack("!II", *ts)
    elif ts:
        o += bytes([1, 1, 8, 10]) + struct.pack("!II", *ts)
    elif sackok:
        o += bytes([1, 1, 4, 2])
    if ws is not None:
        o += bytes([1, 3, 3, ws])
    if sack:
        o += bytes([1, 1, 5, 2 + 8 * len(sack)]) + b"".join(struct.pack("!II", l, r) for l, r in sack)
    return o


def tcp(src_ip, dst_ip, sport, dport, seq, ack, flags, window=65535, options=b"", payload=b""):
    assert len(options) % 4 == 0
    off = (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + options + payload
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, len(h))
    c = csum(pseudo + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def ipv4(src, dst, proto, payload, ttl=64, ident=0x1234, flags_frag=0x4000, options=b"", tos=0):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(payload), ident, flags_frag, ttl, proto, 0,
                    src, dst) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def icmp(type_, code, rest, payload):
    m = struct.pack("!BBHI", type_, code, 0, rest) + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128


def segments():
    """(name, TCP segment from the peer to us) pairs."""
    syn_opts = tcp_options(mss=1460, sackok=True, ts=(123456, 0), ws=7)
    return [
        ("syn_linux", tcp(PEER_IP, OUR_IP, 40000, 80, 1000, 0, SYN, 64240, syn_opts)),
        ("syn_plain", tcp(PEER_IP, OUR_IP, 40000, 80, 1000, 0, SYN, 65535, tcp_options(mss=536))),
        ("syn_ecn", tcp(PEER_IP, OUR_IP, 40000, 80, 1000, 0, SYN | ECE | CWR, 64240, syn_opts)),
        ("synack", tcp(PEER_IP, OUR_IP, 80, 40000, 5000, 1001, SYN | ACK, 65160, syn_opts)),
        ("ack_ts", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, ACK, 502, tcp_options(ts=(123457, 99)))),
        ("data_psh", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, PSH | ACK, 502, tcp_options(ts=(123458, 99)),
                         b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("ack_sack3", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, ACK, 502,
                          tcp_options(sack=((6461, 7921), (9381, 10841), (12301, 13761))))),
        ("ack_dsack_ts", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, ACK, 502,
                             tcp_options(ts=(1, 2), sack=((4001, 5001), (6461, 7921))))),
        ("fin", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, FIN | ACK, 502)),
        ("rst", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 0, RST, 0)),
        ("urg", tcp(PEER_IP, OUR_IP, 40000, 80, 1001, 5001, URG | ACK, 502, b"", b"x")),
        # Unknown kind 30 (MPTCP), 34 (TFO cookie), NOPs and an EOL before padding.
        ("unknown_options", tcp(PEER_IP, OUR_IP, 40000, 80, 1000, 0, SYN, 65535,
                                bytes([30, 4, 0, 0, 34, 10]) + bytes(8) + bytes([1, 0]))),
    ]


OUR_IP6 = bytes.fromhex("20010db8000000000000000000000001")
PEER_IP6 = bytes.fromhex("20010db8000000000000000000000002")
PEER_LL6 = bytes.fromhex("fe80000000000000000000fffe000002")  # modified EUI-64 of PEER_MAC


def ipv6(src, dst, next_header, payload, hop_limit=64, tc=0, flow=0):
    return struct.pack("!IHBB", (6 << 28) | (tc << 20) | flow, len(payload), next_header, hop_limit) + src + dst + payload


def icmpv6(src, dst, type_, code, rest, body):
    """RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header."""
    m = struct.pack("!BBHI", type_, code, 0, rest) + body
    pseudo = src + dst + struct.pack("!I", len(m)) + bytes([0, 0, 0, 58])
    return m[:2] + struct.pack("!H", csum(pseudo + m)) + m[4:]


def ext(next_header, body):
    """An options-format extension header (RFC 8200 4.2): padded with PadN to a multiple of 8."""
    h = bytes([next_header, 0]) + body
    pad = (-len(h)) % 8
    if pad == 1:
        h += b"\0"
    elif pad:
        h += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([next_header, len(h) // 8 - 1]) + h[2:]


def ipv6_corpus():
    """Seeds for the ipv6 target: whole IPv6 packets (extension chains, ICMPv6, ND)."""
    syn = tcp(b"", b"", 40000, 80, 0x01020304, 0, 0x02, options=tcp_options(mss=1440))  # checksum not checked
    group = bytes.fromhex("ff0200000000000000000001ff000001")
    lla = lambda t, m: bytes([t, 1]) + m
    seeds = [
        ("tcp_syn", ipv6(PEER_IP6, OUR_IP6, 6, syn)),
        ("hbh_dest_tcp", ipv6(PEER_IP6, OUR_IP6, 0, ext(60, bytes([5, 2, 0, 0])) + ext(6, b"") + syn)),
        ("routing_segments_left", ipv6(PEER_IP6, OUR_IP6, 43, bytes([6, 0, 4, 1]) + bytes(4) + syn)),
        ("routing_done", ipv6(PEER_IP6, OUR_IP6, 43, bytes([6, 0, 4, 0]) + bytes(4) + syn)),
        ("fragment", ipv6(PEER_IP6, OUR_IP6, 44, bytes([6, 0, 0, 1]) + bytes(4) + syn)),
        ("option_11", ipv6(PEER_IP6, OUR_IP6, 60, ext(6, bytes([0xc2, 4, 0, 1, 0, 0])) + syn)),
        ("nine_headers", ipv6(PEER_IP6, OUR_IP6, 60, ext(60, b"") * 8 + ext(6, b"") + syn)),
        ("esp", ipv6(PEER_IP6, OUR_IP6, 50, bytes(16))),
        ("padded", ipv6(PEER_IP6, OUR_IP6, 59, b"") + bytes(14)),
        ("echo_request", ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 128, 0, 0x12340001, b"abcd"))),
        ("packet_too_big", ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 2, 0, 1280,
                                                                ipv6(OUR_IP6, PEER_IP6, 6, syn)))),
        ("port_unreachable_ext", ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 1, 4, 0,
                                                                    ipv6(OUR_IP6, PEER_IP6, 60, ext(6, b"") + syn)))),
        ("ns", ipv6(PEER_LL6, group, 58, icmpv6(PEER_LL6, group, 135, 0, 0, OUR_IP6 + lla(1, PEER_MAC)), 255)),
        ("ns_dad", ipv6(bytes(16), group, 58, icmpv6(bytes(16), group, 135, 0, 0, OUR_IP6), 255)),
        ("na", ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 136, 0, 0x60000000, PEER_IP6 + lla(2, PEER_MAC)),
                    255)),
        ("rs", ipv6(PEER_LL6, bytes.fromhex("ff020000000000000000000000000002"), 58,
                    icmpv6(PEER_LL6, bytes.fromhex("ff020000000000000000000000000002"), 133, 0, 0, lla(1, PEER_MAC)),
                    255)),
        ("ra", ipv6(PEER_LL6, bytes.fromhex("ff020000000000000000000000000001"), 58,
                    icmpv6(PEER_LL6, bytes.fromhex("ff020000000000000000000000000001"), 134, 0, 0x40400708,
                           struct.pack("!II", 30000, 1000) + lla(1, PEER_MAC) + struct.pack("!BBHI", 5, 1, 0, 1500) +
                           struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 2592000, 604800, 0) + bytes.fromhex(
                               "20010db8000000000000000000000000")), 255)),
        ("nd_option_len0", ipv6(PEER_LL6, group, 58, icmpv6(PEER_LL6, group, 135, 0, 0, OUR_IP6 + bytes([1, 0]) +
                                                            bytes(6)), 255)),
    ]
    for name, packet in seeds:
        write("ipv6", name, packet)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clear_generated(target):
    d = os.path.join(CORPUS, target)
    if not os.path.isdir(d):
        return
    for n in os.listdir(d):
        if not n.startswith("crash-"):
            os.remove(os.path.join(d, n))


def wire_corpora():
    segs = segments()
    frames = []
    for name, s in segs:
        write("tcp_header", name, s)
        packet = ipv4(PEER_IP, OUR_IP, 6, s)
        write("ipv4", "tcp_" + name, packet)
        frames.append(("tcp_" + name, eth(OUR_MAC, PEER_MAC, 0x0800, packet)))
    # IPv4 with options (record route), a fragment, TTL 0, ECT(0), a UDP datagram.
    write("ipv4", "options_rr", ipv4(PEER_IP, OUR_IP, 6, segs[0][1], options=bytes([7, 7, 4]) + bytes(4) + bytes([0])))
    write("ipv4", "fragment", ipv4(PEER_IP, OUR_IP, 6, segs[5][1], flags_frag=0x2000))
    write("ipv4", "ttl0_ect0", ipv4(PEER_IP, OUR_IP, 6, segs[4][1], ttl=0, tos=0x02))
    write("ipv4", "udp", ipv4(PEER_IP, OUR_IP, 17, struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd"))

    quoted = ipv4(OUR_IP, PEER_IP, 6, tcp(OUR_IP, PEER_IP, 80, 40000, 5001, 1001, ACK, 502, b"", b"x" * 100))[:28]
    icmps = [
        ("echo_request", icmp(8, 0, 0x12340001, bytes(range(56)))),
        ("echo_reply", icmp(0, 0, 0x12340001, b"ping")),
        ("frag_needed_mtu1200", icmp(3, 4, 1200, quoted)),
        ("port_unreachable", icmp(3, 3, 0, quoted)),
        ("host_unreachable", icmp(3, 1, 0, quoted)),
        ("time_exceeded", icmp(11, 0, 0, quoted)),
        ("timestamp", icmp(13, 0, 0, bytes(12))),
    ]
    for name, m in icmps:
        write("icmp", name, m)
        packet = ipv4(PEER_IP, OUR_IP, 1, m)
        write("ipv4", "icmp_" + name, packet)
        frames.append(("icmp_" + name, eth(OUR_MAC, PEER_MAC, 0x0800, packet)))

    arps = [
        ("request", arp(1, PEER_MAC, PEER_IP, bytes(6), OUR_IP)),
        ("reply", arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP)),
        ("gratuitous", arp(1, PEER_MAC, PEER_IP, bytes(6), PEER_IP)),
        ("padded_request", arp(1, PEER_MAC, PEER_IP, bytes(6), OUR_IP) + bytes(18)),
    ]
    for name, a in arps:
        write("arp", name, a)
        dst = OUR_MAC if name == "reply" else b"\xff" * 6
        frames.append(("arp_" + name, eth(dst, PEER_MAC, 0x0806, a)))
    frames.append(("vlan", eth(OUR_MAC, PEER_MAC, 0x8100, struct.pack("!HH", 5, 0x0800) + ipv4(PEER_IP, OUR_IP, 6, segs[0][1]))))
    frames.append(("ipv6", eth(OUR_MAC, PEER_MAC, 0x86DD, bytes(40))))
    frames.append(("multicast", eth(bytes.fromhex("01005e000001"), PEER_MAC, 0x0800, ipv4(PEER_IP, bytes([224, 0, 0, 1]), 17, bytes(8)))))
    for name, f in frames:
        write("ethernet", name, f)

    # frame: sequences of [control][len16][frame]; control 3 = fix both checksums, no time step.
    def rec(f, control=3):
        return bytes([control]) + struct.pack("!H", len(f)) + f
    by_name = dict(frames)
    write("frame", "arp_then_syn", rec(by_name["arp_request"]) + rec(by_name["tcp_syn_linux"]))
    write("frame", "syn_data_fin", rec(by_name["tcp_syn_plain"]) + rec(by_name["tcp_ack_ts"], 3 | (1 << 2)) +
          rec(by_name["tcp_data_psh"]) + rec(by_name["tcp_fin"], 3 | (2 << 2) | (4 << 4)))
    write("frame", "ping_and_errors", rec(by_name["icmp_echo_request"]) + rec(by_name["icmp_frag_needed_mtu1200"]) +
          rec(by_name["icmp_port_unreachable"], 0))
    write("frame", "syn_to_closed_port", rec(eth(OUR_MAC, PEER_MAC, 0x0800, ipv4(PEER_IP, OUR_IP, 6,
                                                  tcp(PEER_IP, OUR_IP, 40000, 81, 1, 0, SYN)))))
    other = bytes([198, 18, 0, 7])  # unknown to ARP: the reply waits on resolution
    write("frame", "syn_from_unresolved", rec(eth(OUR_MAC, PEER_MAC, 0x0800, ipv4(other, OUR_IP, 6,
                                                   tcp(other, OUR_IP, 40001, 80, 77, 0, SYN, 65535, tcp_options(mss=1460))))) +
          rec(by_name["tcp_rst"], 3 | (3 << 2) | (10 << 4)))
    write("frame", "malformed", rec(by_name["vlan"]) + rec(by_name["ipv6"]) + rec(b"\x01\x02\x03") +
          rec(by_name["tcp_urg"], 0))

    # IPv6 through the interface (the target gives it 2001:db8::1, no DAD, the peer's neighbour
    # entry learned). TCP and ICMPv6 checksums are left zero: control bit 1 fixes them over the
    # IPv6 pseudo-header, past any extension headers.
    def eth6(packet, dst=OUR_MAC):
        return eth(dst, PEER_MAC, 0x86DD, packet)
    group = bytes.fromhex("ff0200000000000000000001ff000001")
    all_nodes = bytes.fromhex("ff020000000000000000000000000001")
    syn6 = tcp(b"", b"", 40002, 80, 0x0a0b0c0d, 0, SYN, 65535, tcp_options(mss=1440, ws=7, sackok=True))
    ack6 = tcp(b"", b"", 40002, 80, 0x0a0b0c0e, 1, ACK, 65535, b"", b"hello")
    write("frame", "ipv6_nd_ping_syn",
          rec(eth6(ipv6(PEER_IP6, group, 58, icmpv6(PEER_IP6, group, 135, 0, 0, OUR_IP6 + bytes([1, 1]) + PEER_MAC), 255),
                   bytes.fromhex("3333ff000001"))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 128, 0, 0x00010001, b"ping")))) +
          rec(eth6(ipv6(PEER_IP6, all_nodes, 58, icmpv6(PEER_IP6, all_nodes, 128, 0, 0x00010002, b"")),
                   bytes.fromhex("333300000001"))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 6, syn6))) + rec(eth6(ipv6(PEER_IP6, OUR_IP6, 6, ack6)), 3 | (1 << 2)))
    write("frame", "ipv6_extensions",
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 0, ext(6, b"") + syn6))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 0, ext(6, bytes([0x80, 2, 0, 0])) + syn6))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 43, bytes([6, 0, 4, 1]) + bytes(4) + syn6))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 44, bytes([6, 0, 0, 1]) + bytes(4) + syn6))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 17, bytes(8)))))
    write("frame", "ipv6_resolve_and_pmtu",
          rec(eth6(ipv6(PEER_LL6, OUR_IP6, 6, syn6))) +
          rec(eth6(ipv6(PEER_LL6, OUR_IP6, 58, icmpv6(PEER_LL6, OUR_IP6, 136, 0, 0x60000000,
                                                      PEER_LL6 + bytes([2, 1]) + PEER_MAC), 255)), 3 | (1 << 2)) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 6, syn6))) +
          rec(eth6(ipv6(PEER_IP6, OUR_IP6, 58, icmpv6(PEER_IP6, OUR_IP6, 2, 0, 1280,
                                                      ipv6(OUR_IP6, PEER_IP6, 6, tcp(b"", b"", 80, 40002, 1, 0x0a0b0c0e,
                                                                                     SYN | ACK)))))))


def config_corpus():
    for n in sorted(os.listdir(os.path.join(ROOT, "config"))):
        if n.endswith(".ini"):
            with open(os.path.join(ROOT, "config", n), "rb") as f:
                write("config", n, f.read())
    write("config", "tcp_all", b"""[port]
vdev = net_ring0
address = 198.18.1.10-198.18.1.41/24
gateway = 198.18.1.254
mtu = 9000
rx_loss = 0.01
tx_duplicate = 0.001
reta = 0,1
[tcp]
max_connections = 1024
msl = 1s
min_rto = 200ms
congestion = reno
sack = off
ecn = on
profile = linux
[runtime]
lcores = 1-2
idle = adaptive
[mempool]
mbufs = 1023
""")
    write("config", "errors", b"[port]\nmtu = 70000\n[port]\n; repeated\nkey without equals\n")
    write("config", "lcores", b"0,2-3,8")


def http_corpus():
    # First byte: bit 7 HEAD, low 6 bits the piece size - 1 (tests/fuzz/http_parser_fuzz.cpp).
    responses = [
        ("content_length", 0x00, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"),
        ("chunked_trailer", 0x02, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                  b"5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nExpires: never\r\n\r\n"),
        ("close_delimited", 0x07, b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nbody until the end"),
        ("no_body_codes", 0x01, b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
        ("interim_100", 0x03, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ("pipelined_keepalive", 0x3F, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                                      b"HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
        ("head", 0x80, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        ("bare_lf", 0x04, b"HTTP/1.1 500 Internal\nContent-Length: 3\n\nerr"),
        ("repeated_length", 0x05, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi"),
        ("obs_fold", 0x00, b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
        ("switching", 0x00, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
    ]
    for name, first, body in responses:
        write("http_parser", name, bytes([first]) + body)


def http_server_corpus():
    # First byte: bits 7-6 the content (0 small body, 1 small at /f, 2 large shared, 3 large at
    # /f), low 6 bits the piece size - 1; second: bytes per send / 8 - 1 (http_server_fuzz.cpp).
    requests = [
        ("pipelined", 0x05, 3, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x HTTP/1.1\r\n\r\n"
                              b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n"),
        ("http10_keep_alive", 0x00, 0, b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"),
        ("path_404", 0x41, 1, b"GET /f HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n"),
        ("ranges_large", 0x83, 200, b"GET / HTTP/1.1\r\nRange: bytes=0-99\r\n\r\nGET / HTTP/1.1\r\nRange: bytes=-10\r\n\r\n"
                                    b"GET / HTTP/1.1\r\nRange: bytes=65000-\r\n\r\nGET / HTTP/1.1\r\n\r\n"
                                    b"GET / HTTP/1.1\r\nRange: bytes=999999-\r\n\r\n"),
        ("ranges_ignored", 0xC7, 7, b"GET /f HTTP/1.1\r\nRange: bytes=0-1,4-5\r\n\r\nGET /f HTTP/1.1\r\nRange: bytes=9-2\r\n\r\n"
                                    b"GET /f HTTP/1.1\r\nRange: bytes=1-2\r\nIf-Range: x\r\n\r\nHEAD /f HTTP/1.1\r\nRange: bytes=1-2\r\n\r\n"),
        ("errors", 0x02, 0, b"\r\nPOST / HTTP/1.1\r\n\r\n"),
        ("body_refused", 0x10, 0, b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
        ("bad_header", 0x3F, 31, b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
    ]
    for name, first, second, body in requests:
        write("http_server", name, bytes([first, second]) + body)


# ---- tcp_state scripts, in tcp_driver.cpp's encoding ----

def seg(flags, mode=0, seq=(0,), ack=(0,), window=65535, length=0, mask=0, extra=b""):
    """Op 0: a segment. seq/ack: the bytes their mode reads (mode 0: one signed byte)."""
    return bytes([0, flags, mode]) + bytes(seq) + bytes(ack) + struct.pack("!H", window) + bytes([length, mask]) + extra


def raw_seg(flags, options, mode=0, length=0):
    assert len(options) % 4 == 0
    return bytes([3, flags, mode, 0, 0]) + struct.pack("!H", 65535) + bytes([length, len(options) // 4]) + options


def advance(b):
    return bytes([4, b])


def app(b, *args):
    return bytes([6, b] + list(args))


WELL_BEHAVED = 0x40  # mask bit: the options a well-behaved peer sends (timestamps when negotiated)


def tcp_state_corpus():
    states = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1", "fin_wait_2", "closing",
              "time_wait", "close_wait", "last_ack"]
    scripts = {
        "ack_data_fin": seg(ACK, length=100, mask=WELL_BEHAVED) + app(2, 10) + seg(ACK, mask=WELL_BEHAVED) +
                        seg(FIN | ACK, mask=WELL_BEHAVED) + advance(255) + advance(250),
        "timers": advance(255) + advance(255) + advance(200) + advance(255) + advance(252),
        "rst_in_window": seg(RST, mask=WELL_BEHAVED),
        "syn_in_window": seg(SYN, mask=WELL_BEHAVED) + seg(ACK, mask=WELL_BEHAVED),
        "burst_ooo_sack": seg(ACK, mode=0x80, seq=(100,), length=120, mask=WELL_BEHAVED, extra=bytes([7])) +
                          seg(ACK, length=100, mask=WELL_BEHAVED) +
                          seg(ACK, mask=0x18 | WELL_BEHAVED, extra=bytes([0, 0, 0, 0, 0, 200])),
        "zero_window_probe": seg(ACK, window=0, mask=WELL_BEHAVED) + app(3, 8) + advance(255) + advance(255) +
                             seg(ACK, window=65535, mask=WELL_BEHAVED),
        "app_close_abort": app(5) + seg(ACK, length=10, mask=WELL_BEHAVED) + app(6) + advance(255),
        "bad_options": raw_seg(ACK, bytes([2, 1, 0, 0])) + raw_seg(SYN, bytes([8, 10]) + bytes(10)) +
                       raw_seg(ACK, bytes([5, 10]) + bytes(10)),
        "new_connection": seg(SYN, mode=0x13, seq=(0, 0, 0x10, 0), ack=(0,), mask=WELL_BEHAVED | 1, extra=bytes([5, 0xb4])) +
                          app(11) + advance(255),
        "keepalive": app(9, 5, 5, 2) + advance(255) + advance(255) + advance(255) + advance(255),
    }
    for i, state in enumerate(states):
        for opts in (0, 1):
            flags = opts | (0x02 if state == "established" else 0) | (0x08 if state in ("fin_wait_1", "last_ack") else 0)
            for name, script in scripts.items():
                write("tcp_state", "%s_%s_%s" % (state, "opts" if opts else "plain", name), bytes([i, flags]) + script)
    write("tcp_state", "established_scarce_mbufs", bytes([3, 0x11]) + scripts["burst_ooo_sack"] + app(3, 40) +
          advance(255) + seg(ACK, mask=WELL_BEHAVED))


def dictionaries():
    with open(os.path.join(HERE, "http_parser.dict"), "w") as f:
        f.write("# HTTP/1.1 response tokens (RFC 9112)\n")
        for t in ["HTTP/1.1 ", "HTTP/1.0 ", " 200 OK", "\\x0d\\x0a", "\\x0d\\x0a\\x0d\\x0a", "Content-Length: ",
                  "Transfer-Encoding: ", "chunked", "gzip, chunked", "Connection: ", "close", "keep-alive",
                  "0\\x0d\\x0a\\x0d\\x0a", ";ext=", "100 Continue", "101", "204", "304", "\\x09", ":"]:
            f.write('"%s"\n' % t)
    with open(os.path.join(HERE, "http_server.dict"), "w") as f:
        f.write("# HTTP/1.1 request tokens (RFC 9112, RFC 9110 §14 ranges)\n")
        for t in ["GET ", "HEAD ", "POST ", " HTTP/1.1", " HTTP/1.0", "\\x0d\\x0a", "\\x0d\\x0a\\x0d\\x0a", "/f",
                  "Connection: ", "close", "keep-alive", "Content-Length: ", "Transfer-Encoding: chunked",
                  "Range: bytes=", "If-Range: ", "-", ",", "0-0", "-1", "65535-", ":"]:
            f.write('"%s"\n' % t)
    keys = set()
    for src in ["src/dpdk/config.cpp", "src/dpdk/config_extra.cpp"]:
        with open(os.path.join(ROOT, src)) as s:
            keys.update(re.findall(r'table\["([a-z_0-9]+)"\]', s.read()))
    for prefix in ("rx_", "tx_"):
        for k in ("loss", "duplicate", "reorder", "delay", "corrupt", "ce", "seed"):
            keys.add(prefix + k)
    with open(os.path.join(HERE, "config.dict"), "w") as f:
        f.write("# Sections and keys of the INI configuration (from src/dpdk/config*.cpp)\n")
        for s in ["[port]", "[port.a]", "[eal]", "[arp]", "[mempool]", "[tcp]", "[runtime]"]:
            f.write('"%s"\n' % s)
        for k in sorted(keys):
            f.write('"%s = "\n' % k)
        for v in ["on", "off", "true", "false", "ms", "us", "s", "198.18.0.1/24", "02:00:00:00:00:01", "net_ring0",
                  "net_tap0,iface=dtcp0", "0-3", "1,2", "\\x0a", ";"]:
            f.write('"%s"\n' % v)
    options = ["\\x02\\x04\\x05\\xb4", "\\x03\\x03\\x07", "\\x04\\x02", "\\x08\\x0a", "\\x05\\x0a", "\\x05\\x12",
               "\\x05\\x22", "\\x01", "\\x00", "\\x1e\\x04", "\\x22\\x0a"]
    for target in ("tcp_header", "frame", "ethernet"):
        with open(os.path.join(HERE, target + ".dict"), "w") as f:
            f.write("# TCP option kinds with their lengths (RFC 9293 3.1, RFC 7323, RFC 2018), unknown kinds 30, 34\n")
            for o in options:
                f.write('"%s"\n' % o)
            if target != "tcp_header":
                f.write('"\\x08\\x00\\x45\\x00"\n"\\x08\\x06\\x00\\x01\\x08\\x00\\x06\\x04"\n"\\xc6\\x12\\x00\\x01"\n')


def main():
    for t in ["ethernet", "arp", "ipv4", "ipv6", "icmp", "tcp_header", "config", "http_parser", "http_server",
              "tcp_state", "frame"]:
        clear_generated(t)
    wire_corpora()
    ipv6_corpus()
    config_corpus()
    http_corpus()
    http_server_corpus()
    tcp_state_corpus()
    dictionaries()
    total = 0
    for t in sorted(os.listdir(CORPUS)):
        n = len(os.listdir(os.path.join(CORPUS, t)))
        total += n
        print("%-12s %3d seeds" % (t, n))
    print("total %d" % total)


if __name__ == "__main__":
    main()
