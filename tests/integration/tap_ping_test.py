"""dtcp-node on net_tap answers the Linux kernel: ARP, ping, malformed frames counted and survived."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, tap_ifname, wait_until  # noqa: E402

DTCP_IP = "198.18.0.1"
KERNEL_IP = "198.18.0.2"
MALFORMED_EACH = 10


def ping(ns, count):
    result = ns.exec(["ping", "-c", str(count), "-i", "0.05", "-W", "2", DTCP_IP], check_rc=False)
    m = re.search(r"(\d+) received", result.stdout)
    return int(m.group(1)) if m else 0


def test():
    ifname = tap_ifname("p")
    config = f"""
[port]
vdev = net_tap0,iface={ifname}
address = {DTCP_IP}/24
"""
    ns = Namespace("ping")
    node = DtcpProcess("dtcp-node", config, tag="ping")
    try:
        node.wait_running()
        dtcp_mac = node.port_mac()
        ns.adopt_tap(ifname, f"{KERNEL_IP}/24", "02:00:00:00:00:02")

        got = ping(ns, 20)
        check(got == 20, f"ping: {got} of 20 replies")
        # The same counters, read from outside the process through DPDK telemetry.
        def telemetry_echoes():
            return node.telemetry_counters()["rx_icmp_echo_request"] == 20
        wait_until(telemetry_echoes, 5, "telemetry to report 20 echo requests")
        neigh = ns.exec(["ip", "neigh", "show", DTCP_IP]).stdout
        check(dtcp_mac in neigh.lower(), f"kernel neighbour entry {neigh!r} lacks dtcp's MAC {dtcp_mac}")

        sender = os.path.join(os.path.dirname(__file__), "send_frames.py")
        out = ns.exec([sys.executable, sender, ifname, dtcp_mac, DTCP_IP, str(MALFORMED_EACH), KERNEL_IP],
                      timeout=120).stdout
        report = json.loads(out.strip().splitlines()[-1])
        check(report["protocol_unreachable"], "UDP to dtcp did not come back as ICMP protocol unreachable")

        got = ping(ns, 5)
        check(got == 5, f"ping after malformed frames: {got} of 5 replies")

        check(node.stop() == 0, f"dtcp-node exited non-zero:\n{node.stderr_text()}")
        counters = node.counters()
        for name, sent in report["sent"].items():
            check(counters.get(name, 0) == sent,
                  f"counter {name} is {counters.get(name, 0)}, expected {sent}\n{node.stdout_text()}")
        check(counters.get("tx_icmp_echo_reply", 0) == 25, f"echo replies: {counters.get('tx_icmp_echo_reply')}")
        check(counters.get("tx_icmp_unreachable", 0) == 1, "one protocol unreachable expected")
        check(counters.get("tx_arp_gratuitous", 0) == 1, "one gratuitous ARP expected at start")
    finally:
        node.cleanup()
        ns.delete()


if __name__ == "__main__":
    main(test)
