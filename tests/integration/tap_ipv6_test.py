"""IPv6 against Linux over net_tap (issue 12).

IPv6 only (no IPv4 address on the link): ping -6 answered, the kernel's neighbour entry for dtcp
REACHABLE with dtcp's MAC, nc both ways byte-exact (sha256) through dtcp-echo's echo and sink
servers, dtcp as the client of an IPv6 echo server in the namespace, curl and wrk against
dtcp-http on [addr]:80. Then dual-stack: one dtcp-echo listener takes IPv4 and IPv6 connections
at the same time, byte-exact both ways.
"""
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, tap_ifname, wait_until  # noqa: E402

DTCP6 = "2001:db8::1"
KERNEL6 = "2001:db8::2"
DTCP4 = "198.18.0.1"
KERNEL4 = "198.18.0.2"
KERNEL_MAC = "02:00:00:00:00:02"
SANITIZED = os.environ.get("DTCP_SANITIZED") == "1"
SIZE = 300_000 if SANITIZED else 2_000_000

# A kernel-side echo server for dtcp's client: one connection, everything back, then close.
ECHO_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4)
print("listening", flush=True)
for _ in range(int(sys.argv[3])):
    c, _ = s.accept()
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
    c.close()
"""


def adopt_tap6(ns, ifname, addresses):
    """Moves the tap into `ns` with its own MAC and the given addresses (no DAD on the kernel side:
    dtcp's own DAD is what this test watches)."""
    from harness import run
    run(["ip", "link", "set", ifname, "netns", ns.name])
    ns.exec(["ip", "link", "set", ifname, "address", KERNEL_MAC])
    for a in addresses:
        ns.exec(["ip", "addr", "add", a, "dev", ifname] + (["nodad"] if ":" in a else []))
    ns.exec(["ip", "link", "set", ifname, "up"])
    ns.exec(["ip", "link", "set", "lo", "up"])


def pattern(n, seed):
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n])


def nc_roundtrip(ns, host, port, data, tag):
    """Sends `data` to dtcp's echo server with nc and returns what came back."""
    src = f"/tmp/dtcp-v6-{tag}-{os.getpid()}.in"
    dst = f"/tmp/dtcp-v6-{tag}-{os.getpid()}.out"
    with open(src, "wb") as f:
        f.write(data)
    try:
        ns.exec(["sh", "-c", f"timeout 30 nc -N {host} {port} < {src} > {dst}"], timeout=40)
        with open(dst, "rb") as f:
            return f.read()
    finally:
        for p in (src, dst):
            if os.path.exists(p):
                os.unlink(p)


def ipv6_only():
    ifname = tap_ifname("6e")
    config = f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {DTCP6}/64\n[tcp]\nmsl = 1s\n"
    ns = Namespace("v6only")
    node = DtcpProcess("dtcp-echo", config, ["--serve", "7", "--sink", "9", "--duration", "600"], tag="v6e")
    try:
        node.wait_running()
        dtcp_mac = node.port_mac()
        adopt_tap6(ns, ifname, [f"{KERNEL6}/64"])
        # DAD (1 s) must pass before dtcp answers for its address.
        def pings():
            out = ns.exec(["ping", "-6", "-c", "1", "-W", "1", DTCP6], check_rc=False).stdout
            return " 1 received" in out
        wait_until(pings, 10, "dtcp to answer ping -6 after DAD")
        out = ns.exec(["ping", "-6", "-c", "10", "-i", "0.05", "-W", "2", DTCP6], check_rc=False).stdout
        check(re.search(r"10 received", out), f"ping -6: {out}")
        # The kernel learned dtcp's MAC from its unsolicited advertisement (STALE), sent to it
        # (DELAY) and, 5 s later (DELAY_FIRST_PROBE_TIME), probes with a unicast solicitation;
        # dtcp's solicited answer makes the entry REACHABLE.
        def reachable():
            ns.exec(["ping", "-6", "-c", "1", "-W", "1", DTCP6], check_rc=False)
            neigh = ns.exec(["ip", "-6", "neigh", "show", DTCP6]).stdout
            return dtcp_mac in neigh.lower() and "REACHABLE" in neigh
        wait_until(reachable, 15, f"the kernel's neighbour entry for {DTCP6} to be REACHABLE with dtcp's MAC {dtcp_mac}",
                   interval=0.5)
        check("inet " not in ns.exec(["ip", "addr", "show", ifname]).stdout, "the link must carry no IPv4 address")

        data = pattern(SIZE, 1)
        back = nc_roundtrip(ns, DTCP6, 7, data, "echo")
        check(hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest(),
              f"echo over IPv6: sent {len(data)} bytes, got {len(back)} back, not the same")
        # kernel -> dtcp sink: dtcp prints the sha256 of what it received.
        nc_roundtrip(ns, DTCP6, 9, data, "sink")
        digest = hashlib.sha256(data).hexdigest()
        wait_until(lambda: f"sha256={digest}" in node.stdout_text(), 10, "dtcp's sink to report the sha256")
        check(f"[{KERNEL6}]" in node.stdout_text(), f"sink report without the bracketed IPv6 peer:\n{node.stdout_text()[-800:]}")

        check(node.stop() == 0, f"dtcp-echo exited non-zero:\n{node.stderr_text()[-2000:]}")
        counters = node.counters()
        # 2001:db8::1 passed DAD (ping answered). The link-local may legitimately fail it: net_tap
        # gives the kernel side dtcp's MAC, and while that interface is still up in the root
        # namespace the kernel probes the very same EUI-64 link-local (RFC 4862 §5.4.3 race).
        dad = counters.get("nd_dad_succeeded", 0), counters.get("nd_dad_duplicates", 0)
        check(dad[0] >= 1 and sum(dad) == 2, f"DAD for the link-local and 2001:db8::1: succeeded {dad[0]}, duplicate {dad[1]}")
        check(counters.get("rx_tcp6", 0) > 0 and counters.get("tx_tcp6", 0) > 0, "no TCP over IPv6 counted")
        check(counters.get("rx_ipv4", 0) == 0, "IPv4 seen on an IPv6-only link")
        node.check_resources()
    finally:
        node.cleanup()
        ns.delete()


def dtcp_client():
    """dtcp opens the connection: the kernel runs an IPv6 echo server, dtcp-echo verifies the echo."""
    ifname = tap_ifname("6c")
    config = f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {DTCP6}/64\n[tcp]\nmsl = 1s\n"
    ns = Namespace("v6client")
    server = None
    node = DtcpProcess("dtcp-echo", config,
                       ["--connect", f"[{KERNEL6}]:9000", "--mode", "echo", "--connections", "4", "--bytes",
                        str(SIZE // 4), "--delay", "4000", "--duration", "120"], tag="v6c")
    try:
        node.wait_running()
        adopt_tap6(ns, ifname, [f"{KERNEL6}/64"])
        server = ns.popen([sys.executable, "-c", ECHO_SERVER, KERNEL6, "9000", "4"])
        rc = node.proc.wait(timeout=120)
        out = node.stdout_text()
        check(re.search(r"client: connections=4 ok=4 failed=0", out), f"dtcp as IPv6 client:\n{out[-1500:]}\n{node.stderr_text()[-1500:]}")
        check(rc == 0, f"dtcp-echo client exited {rc}")
    finally:
        if server:
            server.kill()
        node.cleanup()
        ns.delete()


def http():
    ifname = tap_ifname("6h")
    config = f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {DTCP6}/64\n[tcp]\nmsl = 1s\n"
    ns = Namespace("v6http")
    node = DtcpProcess("dtcp-http", config, ["--port", "80", "--body-size", "1000"], tag="v6h")
    try:
        node.wait_running()
        adopt_tap6(ns, ifname, [f"{KERNEL6}/64"])
        url = f"http://[{DTCP6}]:80/"
        def curl_ok():
            r = ns.exec(["curl", "-g", "-sS", "--max-time", "2", url], check_rc=False)
            return r.stdout == "x" * 1000
        wait_until(curl_ok, 10, "curl over IPv6 to get the body")
        wrk = ns.exec(["wrk", "-t1", "-c16", "-d2s", url], timeout=60).stdout
        requests = re.search(r"(\d+) requests in", wrk)
        check(requests and int(requests.group(1)) > 100, f"wrk over IPv6:\n{wrk}")
        check("Socket errors" not in wrk and "Non-2xx" not in wrk, f"wrk reported errors:\n{wrk}")
        check(node.stop() == 0, f"dtcp-http exited non-zero:\n{node.stderr_text()[-2000:]}")
        node.check_resources()
    finally:
        node.cleanup()
        ns.delete()


def dual_stack():
    ifname = tap_ifname("6d")
    config = (f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {DTCP4}/24, {DTCP6}/64\n[tcp]\nmsl = 1s\n")
    ns = Namespace("v6dual")
    node = DtcpProcess("dtcp-echo", config, ["--serve", "7", "--duration", "600"], tag="v6d")
    try:
        node.wait_running()
        adopt_tap6(ns, ifname, [f"{KERNEL4}/24", f"{KERNEL6}/64"])
        wait_until(lambda: " 1 received" in ns.exec(["ping", "-6", "-c", "1", "-W", "1", DTCP6],
                                                    check_rc=False).stdout, 10, "ping -6 after DAD")
        # Both families at once on the same listener.
        data4, data6 = pattern(SIZE // 2, 4), pattern(SIZE // 2, 6)
        paths = {}
        for fam, host, data in (("4", DTCP4, data4), ("6", DTCP6, data6)):
            src = f"/tmp/dtcp-dual{fam}-{os.getpid()}.in"
            with open(src, "wb") as f:
                f.write(data)
            paths[fam] = (src, src + ".out", data)
        procs = [ns.popen(["sh", "-c", f"timeout 30 nc -N {h} 7 < {paths[f][0]} > {paths[f][1]}"])
                 for f, h in (("4", DTCP4), ("6", DTCP6))]
        for p in procs:
            p.wait(timeout=40)
        for fam, (src, dst, data) in paths.items():
            with open(dst, "rb") as f:
                back = f.read()
            os.unlink(src)
            os.unlink(dst)
            check(back == data, f"dual-stack echo over IPv{fam}: sent {len(data)}, got {len(back)}")
        check(node.stop() == 0, f"dtcp-echo exited non-zero:\n{node.stderr_text()[-2000:]}")
        counters = node.counters()
        check(counters.get("rx_tcp6", 0) > 0 and counters.get("rx_tcp", 0) > counters.get("rx_tcp6", 0),
              f"both families should have carried TCP: rx_tcp {counters.get('rx_tcp')} rx_tcp6 {counters.get('rx_tcp6')}")
        node.check_resources()
    finally:
        node.cleanup()
        ns.delete()


def test():
    ipv6_only()
    dtcp_client()
    http()
    dual_stack()


if __name__ == "__main__":
    main(test)
