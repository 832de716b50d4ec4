"""A TCP peer written with scapy that loses dtcp's last segments at close and resends its FIN.

Usage: close_peer.py IFACE DTCP_MAC DTCP_IP PEER_IP PORT

PEER_IP is an address the namespace's kernel does not hold, so the kernel neither answers dtcp's
segments with RSTs nor takes them; the peer announces it to dtcp with an ARP request first. The
peer opens a connection to dtcp's echo server, sends "hello" and reads the echo, then closes:
  1. FIN (its ACK covers the echo); dtcp answers with its own FIN (LAST-ACK), which the peer
     "loses" (ignores), as if the peer were still in FIN-WAIT-1;
  2. resends its FIN with the same ACK (RFC 9293: dtcp acknowledges it, SEQ = SND.NXT);
  3. resends its FIN once more, now acknowledging dtcp's FIN, as a peer in CLOSING does (dperf
     sends this segment at once when it enters CLOSING): dtcp acknowledges it and closes.
Prints one JSON object: the segments dtcp sent in answer to each step, as
{"flags": "FA", "seq": relative to dtcp's ISS, "ack": relative to the peer's ISS, "len": N}.
"""
import json
import random
import sys

from scapy.all import ARP, IP, TCP, Ether, Raw, conf, get_if_hwaddr, sendp, sniff, srp1

conf.verb = 0
iface, dtcp_mac, dtcp_ip, peer_ip, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
my_mac = get_if_hwaddr(iface)
sport = random.randint(20000, 60000)
PEER_ISS = 1000


def fail(message):
    print(json.dumps({"error": message}))
    sys.exit(1)


def from_dtcp(p):
    return TCP in p and p[IP].src == dtcp_ip and p[IP].dst == peer_ip and p[TCP].dport == sport


def exchange(segment, until, timeout=3.0):
    """Sends `segment` and returns dtcp's segments until one satisfies `until` (or the timeout)."""
    frame = Ether(src=my_mac, dst=dtcp_mac) / IP(src=peer_ip, dst=dtcp_ip) / segment
    got = sniff(iface=iface, lfilter=from_dtcp, stop_filter=until, timeout=timeout,
                started_callback=lambda: sendp(frame, iface=iface))
    return list(got)


def tcp(flags, seq, ack, data=b""):
    segment = TCP(sport=sport, dport=port, flags=flags, seq=seq, ack=ack, window=65535)
    return segment / Raw(data) if data else segment


# dtcp learns PEER_IP from an ARP request addressed to it (RFC 826 merge).
reply = srp1(Ether(src=my_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=my_mac, psrc=peer_ip, pdst=dtcp_ip),
             iface=iface, timeout=3)
if reply is None or ARP not in reply:
    fail("no ARP reply from dtcp")

synack = exchange(TCP(sport=sport, dport=port, flags="S", seq=PEER_ISS, window=65535,
                      options=[("MSS", 1460)]), lambda p: p[TCP].flags.S)
if not synack or not (synack[-1][TCP].flags.S and synack[-1][TCP].flags.A):
    fail(f"no SYN-ACK: {[p.summary() for p in synack]}")
iss = synack[-1][TCP].seq
snd = PEER_ISS + 1
rcv = iss + 1


def payload_len(p):
    # The IP total length, not the frame: Ethernet pads short frames to 60 bytes.
    return p[IP].len - 4 * p[IP].ihl - 4 * p[TCP].dataofs


def rel(p):
    t = p[TCP]
    return {"flags": str(t.flags), "seq": (t.seq - iss) % (1 << 32), "ack": (t.ack - PEER_ISS) % (1 << 32),
            "len": payload_len(p)}


# Handshake, then "hello" and its echo.
echo = exchange(tcp("PA", snd, rcv, b"hello"), lambda p: payload_len(p) > 0)
data = [p for p in echo if payload_len(p) > 0]
if not data or bytes(data[-1][TCP].payload)[:5] != b"hello":
    fail(f"no echo: {[p.summary() for p in echo]}")
snd += 5
rcv += 5

result = {}
# 1. Our FIN; dtcp's FIN comes back (alone or after an ACK) and is "lost".
answer = exchange(tcp("FA", snd, rcv), lambda p: p[TCP].flags.F)
result["fin"] = [rel(p) for p in answer]
if not answer or not answer[-1][TCP].flags.F:
    fail(f"dtcp did not send its FIN: {result}")
# 2. The FIN again, same ACK (the peer never saw dtcp's FIN).
result["resent_fin"] = [rel(p) for p in exchange(tcp("FA", snd, rcv), lambda p: True)]
# 3. The FIN again, acknowledging dtcp's FIN (a peer in CLOSING).
result["resent_fin_acking_ours"] = [rel(p) for p in exchange(tcp("FA", snd, rcv + 1), lambda p: True)]
print(json.dumps(result))
