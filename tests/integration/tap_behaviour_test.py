"""dtcp's TCP behaviour against the Linux kernel over net_tap: the options both sides negotiate
(read from a capture), a kernel reader that stops reading (dtcp probes the zero window, then
resumes when the reader drains; bytes checked by sha256), and keep-alive detecting a kernel peer
whose link went down."""
import hashlib
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Capture, Namespace, check, main, start_on_tap, wait_until  # noqa: E402

DTCP_IP = "198.18.2.1"
KERNEL_IP = "198.18.2.2"
PYTHON = "/usr/bin/python3"

# Short keep-alive timers so a dead peer is found in about two seconds.
TCP_KEYS = """
[tcp]
keepalive_idle = 1s
keepalive_interval = 200ms
keepalive_probes = 3
"""


def start(ns, tag, args):
    return start_on_tap(ns, tag, "dtcp-echo", args, DTCP_IP, KERNEL_IP, "02:00:00:00:00:02", extra_config=TCP_KEYS)


def tcp_counter(node, name):
    return node.telemetry_counters().get(name, 0)


SYN_OPTIONS = r"options \[mss 1460,sackOK,TS val (\d+) ecr (\d+),nop,wscale (\d+)\]"


def passive_options_and_keepalive(ns):
    node, ifname = start(ns, "kb", ["--serve", "7", "--keepalive"])
    idle = None
    try:
        capture = Capture(ns, ifname)
        out = ns.exec(["sh", "-c", f"echo hello | nc -N {DTCP_IP} 7"], timeout=30).stdout
        check(out.strip() == "hello", f"echo returned {out!r}")
        lines = capture.lines()
        syn = [line for line in lines if f"> {DTCP_IP}.7: Flags [S]," in line]
        synack = [line for line in lines if f"{DTCP_IP}.7 >" in line and "Flags [S.]" in line]
        check(len(syn) == 1 and len(synack) == 1, "one SYN and one SYN-ACK expected:\n" + "\n".join(lines))
        kernel = re.search(SYN_OPTIONS, syn[0])
        ours = re.search(SYN_OPTIONS, synack[0])
        check(kernel is not None, f"kernel SYN options: {syn[0]}")
        # Linux's order and dtcp's answer: MSS, SACK-permitted, timestamps (echoing the SYN's),
        # window scale 7 for the 4 MiB a receive buffer may auto-tune to (recv_buffer_max).
        check(ours is not None and ours.group(2) == kernel.group(1) and ours.group(3) == "7",
              f"dtcp SYN-ACK options: {synack[0]}")
        data = [line for line in lines if f"{DTCP_IP}.7 >" in line and "length 6" in line]
        check(data and "TS val" in data[0], f"dtcp data segment without timestamps: {data}")

        # Keep-alive: an idle kernel client answers the probes...
        # Connects and then blocks in recv() until the connection ends (or the test kills it).
        idle = ns.popen([PYTHON, "-c", f"import socket; s=socket.create_connection(('{DTCP_IP}',7)); s.recv(1)"])
        wait_until(lambda: tcp_counter(node, "tcp_tx_keepalive_probes") >= 2, 20, "two keep-alive probes")
        check(tcp_counter(node, "tcp_conn_keepalive_timeout") == 0, "a probed live peer was dropped")
        # ... until its link goes down: 1 s idle + 3 probes 200 ms apart, then "timed out".
        ns.exec(["ip", "link", "set", ifname, "down"])
        down_at = time.monotonic()
        wait_until(lambda: tcp_counter(node, "tcp_conn_keepalive_timeout") == 1, 15, "keep-alive to give up")
        took = time.monotonic() - down_at
        check(took < 4.0, f"keep-alive took {took:.1f} s to give up")
        wait_until(lambda: "server connection ended: timed_out" in node.stderr_text(), 5,
                   "the application to see timed_out")
        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in node.stdout_text(), "mbufs leaked")
    finally:
        if idle and idle.poll() is None:
            idle.kill()
        node.cleanup()


# A kernel reader with a small receive buffer that reads nothing until a line arrives on its
# stdin, then drains the connection and prints the byte count and sha256.
READER = """
import hashlib, socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
srv.bind(('0.0.0.0', 5003))
srv.listen(1)
print('listening', flush=True)
conn, _ = srv.accept()
sys.stdin.readline()
h = hashlib.sha256()
n = 0
while True:
    b = conn.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
"""


def zero_window(ns):
    reader = ns.popen([PYTHON, "-c", READER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    node = None
    try:
        check(reader.stdout.readline().strip() == "listening", "reader did not start")
        size = 4 << 20
        # --delay: the SYN waits until tcpdump listens (once the reply to ARP came at once, and
        # the SYN left before the capture started).
        node, ifname = start(ns, "zw", ["--connect", f"{KERNEL_IP}:5003", "--mode", "send", "--bytes", str(size),
                                        "--seed", "9", "--delay", "3000"])
        capture = Capture(ns, ifname)
        # The reader's buffer fills, its window closes, and dtcp probes with backoff.
        wait_until(lambda: tcp_counter(node, "tcp_tx_window_probes") >= 3, 30, "zero-window probes")
        queued = ns.exec(["ss", "-tnH", "sport = :5003"]).stdout
        check(node.proc.poll() is None, "the sender finished although the reader never read")
        reader.stdin.write("go\n")
        reader.stdin.flush()
        node.proc.wait(timeout=60)
        check(node.proc.returncode == 0, f"dtcp client failed:\n{node.stderr_text()[-2000:]}")
        got = reader.stdout.readline().split()
        sent = re.search(r"sent bytes=(\d+) sha256=([0-9a-f]{64})", node.stdout_text())
        check(sent is not None and int(sent.group(1)) == size, f"no digest from dtcp:\n{node.stdout_text()[-1500:]}")
        check(got == [str(size), sent.group(2)], f"reader got {got}, dtcp sent {sent.group(1)} {sent.group(2)}")
        lines = capture.lines()
        zero = [line for line in lines if f"{KERNEL_IP}.5003 >" in line and "win 0," in line]
        check(zero, f"the kernel never advertised a zero window (ss: {queued.strip()})")
        syn = [line for line in lines if f"> {KERNEL_IP}.5003: Flags [S]," in line]
        check(syn and re.search(SYN_OPTIONS, syn[0]) and re.search(SYN_OPTIONS, syn[0]).group(2) == "0",
              f"dtcp's SYN should offer MSS, SACK-permitted, timestamps and window scale in Linux's order: {syn}")
    finally:
        if reader.poll() is None:
            reader.kill()
        if node:
            node.cleanup()


def test():
    ns = Namespace("beh")
    try:
        passive_options_and_keepalive(ns)
        zero_window(ns)
    finally:
        ns.delete()


if __name__ == "__main__":
    main(test)
