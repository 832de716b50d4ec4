"""Sends malformed and unusual frames from inside a namespace towards a dtcp port.

Usage: send_frames.py IFACE DTCP_MAC DTCP_IP COUNT
Prints a JSON object: how many frames of each kind were sent, and whether UDP to dtcp came back
as ICMP protocol unreachable (type 3, code 2).
"""
import json
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, Raw, conf, get_if_hwaddr, sendp, srp1

conf.verb = 0
iface, dtcp_mac, dtcp_ip, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
my_mac = get_if_hwaddr(iface)
my_ip = sys.argv[5] if len(sys.argv) > 5 else "198.18.0.2"
eth = Ether(src=my_mac, dst=dtcp_mac)
eth_ipv4 = Ether(src=my_mac, dst=dtcp_mac, type=0x0800)  # raw payloads need the type spelled out


def ip_bytes(**fields):
    return bytes(IP(src=my_ip, dst=dtcp_ip, **fields) / ICMP(id=7, seq=1) / Raw(b"x" * 16))


def patched(data, offset, value):
    data = bytearray(data)
    data[offset] = value
    return bytes(data)


good_ip = ip_bytes()
frames = {
    # counter name -> frame
    "drop_ip_bad_version": eth_ipv4 / Raw(patched(good_ip, 0, 0x65)),
    "drop_ip_bad_header_length": eth_ipv4 / Raw(patched(good_ip, 0, 0x44)),
    "drop_ip_bad_total_length": eth_ipv4 / Raw(bytes(IP(src=my_ip, dst=dtcp_ip, len=1400) / ICMP())),
    "drop_ip_bad_checksum": eth / IP(src=my_ip, dst=dtcp_ip, chksum=0x1234) / ICMP(),
    "drop_ip_fragment": eth / IP(src=my_ip, dst=dtcp_ip, flags="MF") / ICMP() / Raw(b"y" * 32),
    "drop_ip_not_for_us": eth / IP(src=my_ip, dst="198.18.0.77") / ICMP(),
    "drop_ip_bad_source": eth / IP(src=dtcp_ip, dst=dtcp_ip) / ICMP(),
    "drop_icmp_bad_checksum": eth / IP(src=my_ip, dst=dtcp_ip) / ICMP(chksum=0x1111),
    "drop_tcp_bad_checksum": eth / IP(src=my_ip, dst=dtcp_ip) / TCP(sport=40000, dport=80, chksum=0x2222),
    "drop_arp_malformed": eth / ARP(hwtype=6, psrc=my_ip, pdst=dtcp_ip),
    "drop_eth_vlan": eth / Dot1Q(vlan=5) / IP(src=my_ip, dst=dtcp_ip) / ICMP(),
    "drop_eth_unsupported_type": Ether(src=my_mac, dst=dtcp_mac, type=0x88B5) / Raw(b"z" * 46),
    "drop_eth_not_for_us": Ether(src=my_mac, dst="02:11:22:33:44:55") / IP(src=my_ip, dst=dtcp_ip) / ICMP(),
}
sent = {}
for name, frame in frames.items():
    sendp(frame, iface=iface, count=count)
    sent[name] = count

reply = srp1(eth / IP(src=my_ip, dst=dtcp_ip) / UDP(sport=5555, dport=9) / Raw(b"hello"), iface=iface, timeout=3)
unreachable = (reply is not None and reply.haslayer(ICMP) and reply[ICMP].type == 3 and reply[ICMP].code == 2
               and reply[IP].src == dtcp_ip)
print(json.dumps({"sent": sent, "protocol_unreachable": bool(unreachable)}))
