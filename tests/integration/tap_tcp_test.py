"""dtcp against the Linux kernel over net_tap: nc as client and as server moving a random file each
way with matching sha256, graceful close from either side ending in the states RFC 9293 names
(checked with `ss -tan` and dtcp's own listing), no RST in a capture, refused connections, and a
transfer that survives loss injected on both directions."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Capture, DtcpProcess, Namespace, check, main, sha256_file, tap_ifname, wait_until  # noqa: E402

DTCP_IP = "198.18.0.1"
KERNEL_IP = "198.18.0.2"
SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
FILE_MB = 10 if SANITIZED else 100



def kernel_states(ns, port):
    """`ss -tan` lines of the kernel's sockets towards dtcp's `port`."""
    out = ns.exec(["ss", "-tanH", f"dport = :{port} or sport = :{port}"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def make_random_file(megabytes):
    path = tempfile.NamedTemporaryFile(suffix=".bin", delete=False).name
    with open(path, "wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1 << 20))
    return path


def setup(ns, tag, args, extra_port_keys=""):
    ifname = tap_ifname(tag)
    config = f"""
[port]
vdev = net_tap0,iface={ifname}
address = {DTCP_IP}/24
{extra_port_keys}
"""
    # The default MSL (30 s) keeps dtcp's TIME-WAIT records until the listing at exit.
    node = DtcpProcess("dtcp-echo", config, args, tag=tag)
    node.wait_running()
    ns.adopt_tap(ifname, f"{KERNEL_IP}/24", "02:00:00:00:00:02")
    return node, ifname


def kernel_clients(ns, work):
    """Kernel nc as client against dtcp's echo, sink and source servers."""
    node, ifname = setup(ns, "k", ["--serve", "7", "--sink", "9", "--source", "10", "--bytes", str(FILE_MB << 20),
                                   "--seed", "3"])
    try:
        capture = Capture(ns, ifname, ["tcp[tcpflags] & tcp-rst != 0"])
        source = make_random_file(FILE_MB)
        work.append(source)
        echoed = source + ".echo"
        work.append(echoed)
        # Echo: the kernel sends the file, half-closes (-N), and reads the echo until dtcp's FIN.
        ns.exec(["sh", "-c", f"nc -N {DTCP_IP} 7 < {source} > {echoed}"], timeout=300)
        check(sha256_file(echoed) == sha256_file(source), "echoed file differs from the original")
        # The kernel closed first: it must sit in TIME-WAIT, dtcp's side gone (LAST-ACK -> CLOSED).
        states = kernel_states(ns, 7)
        check(states == ["TIME-WAIT"], f"kernel sockets to port 7 after close: {states}")

        # Sink: the kernel sends; dtcp reports the digest of what it received.
        ns.exec(["sh", "-c", f"nc -N {DTCP_IP} 9 < {source}"], timeout=300)
        digest = sha256_file(source)
        wait_until(lambda: f"bytes={FILE_MB << 20} sha256={digest}" in node.stdout_text(), 30, "the sink's digest")

        # Source: dtcp sends and closes first; the kernel reads to EOF, then closes.
        received = source + ".from-dtcp"
        work.append(received)
        ns.exec(["sh", "-c", f"nc -d {DTCP_IP} 10 > {received}"], timeout=300)
        check(os.path.getsize(received) == FILE_MB << 20, f"source delivered {os.path.getsize(received)} bytes")
        # dtcp closed first, so the kernel went CLOSE-WAIT -> LAST-ACK -> CLOSED: nothing remains.
        wait_until(lambda: kernel_states(ns, 10) == [], 5, "the kernel's socket to port 10 to close")

        # Connecting to a port nobody listens on is refused (RST), not left hanging.
        refused = ns.exec(["nc", "-v", "-z", "-w", "3", DTCP_IP, "81"], check_rc=False)
        check(refused.returncode != 0 and "refused" in refused.stderr, f"port 81: {refused.stderr!r}")

        resets = capture.lines()
        # Exactly one RST is expected: the refusal on port 81 (which also proves the capture works).
        check(any(".81:" in r or ".81 " in r for r in resets), f"capture missed the refusal: {resets}")
        unexpected = [r for r in resets if ".81:" not in r and ".81 " not in r]
        check(not unexpected, "RST during graceful transfers:\n" + "\n".join(unexpected))

        check(node.stop() == 0, f"dtcp-echo exited non-zero:\n{node.stderr_text()[-2000:]}")
        out = node.stdout_text()
        # dtcp closed first on port 10, so the kernel answered our FIN last: dtcp ends in TIME-WAIT.
        check(re.search(rf"conn TIME-WAIT +{DTCP_IP}:10 ", out), f"no TIME-WAIT record for port 10:\n{out[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in out, f"mbufs leaked:\n{out[-1500:]}")
        return source
    finally:
        node.cleanup()


def dtcp_clients(ns, work, source):
    """dtcp as client: sends to a kernel nc server, and receives from one."""
    listener = ns.popen(["sh", "-c", f"nc -l -p 5001 > {source}.at-kernel"])
    sender = ns.popen(["sh", "-c", f"nc -N -l -p 5002 < {source}"])
    work.append(source + ".at-kernel")
    try:
        wait_until(lambda: len(ns.exec(["ss", "-tlnH", "sport = :5001 or sport = :5002"]).stdout.splitlines()) == 2,
                   10, "nc servers to listen")
        results = []
        for mode, port in (("send", 5001), ("recv", 5002)):
            node, _ = setup_again(ns, mode, ["--connect", f"{KERNEL_IP}:{port}", "--mode", mode,
                                             "--bytes", str(FILE_MB << 20), "--seed", "5"])
            try:
                node.proc.wait(timeout=300)
                check(node.proc.returncode == 0, f"dtcp client ({mode}) failed:\n{node.stderr_text()[-2000:]}")
                results.append(node.stdout_text())
            finally:
                node.cleanup()
        listener.wait(timeout=30)
        sent = re.search(r"sent bytes=(\d+) sha256=([0-9a-f]{64})", results[0])
        check(sent is not None, "no digest from the sending client")
        check(sha256_file(source + ".at-kernel") == sent.group(2), "kernel received different bytes than dtcp sent")
        got = re.search(r"received bytes=(\d+) sha256=([0-9a-f]{64})", results[1])
        check(got is not None and got.group(2) == sha256_file(source), "dtcp received different bytes than nc sent")
    finally:
        for p in (listener, sender):
            if p.poll() is None:
                p.kill()


_attached = {}


def setup_again(ns, tag, args):
    """Each dtcp run creates a fresh tap; the namespace keeps the old one's address, so clear it."""
    for name in ns.exec(["ip", "-o", "link", "show"]).stdout.split("\n"):
        m = re.match(r"\d+: (dt[^:@]+)", name)
        if m:
            ns.exec(["ip", "link", "del", m.group(1)], check_rc=False)
    return setup(ns, tag, args)


def impaired_transfer(work, source):
    """Loss on both directions of dtcp's port: the transfer still completes intact."""
    ns = Namespace("tcploss")
    small = source + ".small"
    work.append(small)
    with open(source, "rb") as f, open(small, "wb") as g:
        g.write(f.read(8 << 20))
    keys = "rx_loss = 0.03\ntx_loss = 0.03\nrx_seed = 11\ntx_seed = 12"
    node = None
    try:
        node, _ = setup(ns, "l", ["--serve", "7"], keys)
        echoed = small + ".echo"
        work.append(echoed)
        ns.exec(["sh", "-c", f"nc -N {DTCP_IP} 7 < {small} > {echoed}"], timeout=300)
        check(sha256_file(echoed) == sha256_file(small), "echo under loss differs from the original")
        node.stop()
        counters = node.counters()
        check(counters.get("impair_dropped", 0) > 0, "no frames were dropped by the impairment")
        # Any retransmission: with SACK, RACK and the tail loss probe a run may need no timeout.
        check(counters.get("tcp_tx_retransmitted_bytes", 0) > 0, "dtcp never retransmitted under loss")
    finally:
        if node:
            node.cleanup()
        ns.delete()


def test():
    work = []
    ns = Namespace("tcp")
    try:
        source = kernel_clients(ns, work)
        dtcp_clients(ns, work, source)
        impaired_transfer(work, source)
    finally:
        ns.delete()
        for path in work:
            if os.path.exists(path):
                os.unlink(path)


if __name__ == "__main__":
    main(test)
