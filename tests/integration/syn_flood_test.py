"""SYN cookies against a SYN flood from a namespace, over net_tap.

1. `hping3 -S --flood --rand-source` at dtcp-echo's echo port (syn_cookies = auto, a small SYN
   backlog that the flood fills at once) while a kernel transfer runs over a connection opened
   before the flood and 20 kernel clients connect one after another: at least 19 of 20 must
   connect (and echo) during the flood, all 20 within 1 s after it stops, the transfer must arrive
   intact (sha256), and the counters must show cookies sent and validated. The SYN rate dtcp saw
   is printed. SYN-ACKs to the random sources are off-link without a gateway: counted drops
   (drop_ip_no_route), never ARP work.
2. syn_cookies = always, a Linux client with timestamps, SACK and window scaling echoing 4 MiB
   under 1 % loss each way (dtcp's impairment): from a tcpdump capture, the SYN-ACK's TSval
   carries the client's window scale and SACK-permitted in its low 6 bits; dtcp's later segments
   carry timestamps echoing the client's, its window fields are scaled (the client keeps more in
   flight than the raw field), it sends SACK blocks, and it resends from the client's SACK
   blocks (counters); the echo is byte-exact.

Runs alone (is_parallel: false): the flood takes both CPUs.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Capture, Namespace, check, main, start_on_tap, wait_until  # noqa: E402

DTCP_IP = "198.18.6.1"
KERNEL_IP = "198.18.6.2"
PYTHON = "/usr/bin/python3"
SANITIZED = os.environ.get("DTCP_SANITIZED") == "1"
FLOOD_S = 6.0
# Sanitized: 16 s, the kernel's fifth SYN (0, 1, 3, 7, 15 s): on a slow day two clients lost all four
# SYNs of 8 s in the tap queue the flood overflows, before dtcp saw them (18 of 20).
CONNECT_S = 16.0 if SANITIZED else 4.0
# The 20 clients run one after another: the run may take each one's whole allowance (a sanitized
# dtcp on a slow day took more than 90 s in all), and a verdict beats a timeout.
CLIENTS_TIMEOUT_S = 20 * CONNECT_S + 30
# One hping3 reaches ~75k SYN/s here, two ~150k. A sanitized dtcp drains the tap far more slowly,
# so the kernel's tap queue, not dtcp, drops most SYNs: with two flooders a client's five SYNs were
# all lost there in 2 of 20 on a run that had passed an hour before. One flooder still overflows
# the backlog (cookies are checked) while the sanitizers watch; the optimised build keeps two.
FLOODERS = int(os.environ.get("DTCP_FLOODERS", "1" if SANITIZED else "2"))


def start(ns, tag, tcp_keys, port_keys="", args=()):
    return start_on_tap(ns, tag, "dtcp-echo", ["--serve", "7", "--sink", "9"] + list(args), DTCP_IP, KERNEL_IP,
                        "02:00:00:00:00:02", port_keys, f"[tcp]\n{tcp_keys}\n")


def counters(node):
    return node.telemetry_counters()


# 20 clients one after another, each: connect (CONNECT_S at most: the kernel resends its SYN at 1 s,
# 3 s and 7 s, and the flood overflows the tap's queue in front of dtcp, so a client's SYN may be
# lost before dtcp sees it; a sanitized dtcp drains that queue slower, so it gets the third resend),
# send a line, read the echo, close. Prints one JSON line: [[ok, seconds], ...] and the times.
CLIENTS = """
import json, socket, sys, time
addr, count, connect_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
out = []
start = time.monotonic()
for i in range(count):
    t0 = time.monotonic()
    ok = False
    try:
        s = socket.create_connection((addr, 7), timeout=connect_s)
        msg = b'client %d\\n' % i
        s.sendall(msg)
        got = b''
        while len(got) < len(msg):
            b = s.recv(100)
            if not b:
                break
            got += b
        ok = got == msg
        s.close()
    except OSError:
        pass
    out.append([ok, round(time.monotonic() - t0, 3)])
print(json.dumps({'results': out, 'elapsed': time.monotonic() - start}), flush=True)
"""

# A transfer into dtcp's sink, paced so it lasts through the flood: prints the bytes and sha256.
# The kernel paces it (SO_MAX_PACING_RATE, 47 on Linux, TCP's own pacing): no sleeps here.
TRANSFER = """
import hashlib, random, socket, sys
addr, total, seconds, stall_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection((addr, 9), timeout=30)
# The flood may outlast the pacing (sanitized clients take up to CLIENTS_TIMEOUT_S): a send may
# make no progress for as long as the flood fills the tap queue.
s.settimeout(stall_s)
s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_MAX_PACING_RATE', 47), int(total / seconds))
print('connected', flush=True)
rng = random.Random(7)
h = hashlib.sha256()
chunk = 64 << 10
sent = 0
while sent < total:
    block = rng.randbytes(min(chunk, total - sent))
    s.sendall(block)
    h.update(block)
    sent += len(block)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(sent, h.hexdigest(), flush=True)
"""


def flood(ns):
    node, ifname = start(ns, "sf", "syn_backlog = 64\nsyn_cookies = auto")
    hpings = []
    transfer = None
    try:
        total = (8 if SANITIZED else 48) << 20
        transfer = ns.popen([PYTHON, "-c", TRANSFER, DTCP_IP, str(total), str(FLOOD_S + 3), str(2 * CLIENTS_TIMEOUT_S)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(transfer.stdout.readline().strip() == "connected", "the transfer did not connect")

        hping_outs = [tempfile.TemporaryFile("w+") for _ in range(FLOODERS)]
        hping_start = time.monotonic()
        hpings = [ns.popen(["hping3", "-S", "--flood", "--rand-source", "-p", "7", DTCP_IP],
                           stdout=out, stderr=out, text=True) for out in hping_outs]
        def flooded():
            c = counters(node)
            return c.get("tcp_syn_cookies_sent", 0) + c.get("tcp_drop_syn_backlog_full", 0) > 1000
        wait_until(flooded, 10, "the flood to fill the backlog")
        before, t_before = counters(node), time.monotonic()
        during = ns.exec([PYTHON, "-c", CLIENTS, DTCP_IP, "20", str(CONNECT_S)], timeout=CLIENTS_TIMEOUT_S)
        after, t_after = counters(node), time.monotonic()
        during = json.loads(during.stdout)
        # The flood ends once the 20 clients have gone through it; the transfer, paced for longer,
        # runs on across its end.
        for hping in hpings:
            hping.send_signal(signal.SIGINT)
        for hping in hpings:
            hping.wait(timeout=10)
        stopped = time.monotonic()
        hping_sent = 0
        for out in hping_outs:
            out.seek(0)
            sent = re.search(r"(\d+) packets transmitted", out.read())
            hping_sent += int(sent.group(1)) if sent else 0
        hping_rate = hping_sent / (stopped - hping_start)
        # Right after the flood: 20 more, as fast as they go.
        post = json.loads(ns.exec([PYTHON, "-c", CLIENTS, DTCP_IP, "20", str(CONNECT_S)], timeout=CLIENTS_TIMEOUT_S).stdout)
        post_elapsed = time.monotonic() - stopped
        tap = ns.exec(["ip", "-s", "-j", "link", "show", "dev", ifname]).stdout
        tap_dropped = json.loads(tap)[0]["stats64"]["tx"]["dropped"]

        syns = (after.get("tcp_syn_cookies_sent", 0) - before.get("tcp_syn_cookies_sent", 0)
                + after.get("tcp_drop_syn_backlog_full", 0) - before.get("tcp_drop_syn_backlog_full", 0)
                + after.get("tcp_conn_passive_opens", 0) - before.get("tcp_conn_passive_opens", 0)
                - (after.get("tcp_syn_cookies_validated", 0) - before.get("tcp_syn_cookies_validated", 0)))
        rate = syns / (t_after - t_before)
        ok_during = sum(1 for ok, _ in during["results"] if ok)
        ok_post = sum(1 for ok, _ in post["results"] if ok)
        print(f"flood: {rate:,.0f} SYN/s seen by dtcp over {t_after - t_before:.1f} s "
              f"(hping3 sent {hping_rate:,.0f}/s, {tap_dropped:,} dropped by the kernel's tap queue); during: {ok_during}/20 connected, slowest "
              f"{max(t for _, t in during['results']):.3f} s; after: {ok_post}/20 within {post_elapsed:.2f} s "
              f"of the flood's end, slowest {max(t for _, t in post['results']):.3f} s")
        check(ok_during >= 19, f"only {ok_during} of 20 connected during the flood: {during}")
        check(ok_post == 20, f"only {ok_post} of 20 connected after the flood: {post}")
        check(post_elapsed <= 1.0 + 0.5 * SANITIZED, f"the 20 connections after the flood took {post_elapsed:.2f} s")

        # The flood is over: the rest of the transfer takes its paced time, after the kernel's
        # next retransmission, which a long flood may have backed off to its 120 s maximum.
        transfer_out, transfer_err = transfer.communicate(timeout=FLOOD_S + 180)
        line = transfer_out.split()
        check(len(line) == 2 and int(line[0]) == total, f"transfer: {line} (exit {transfer.returncode}) {transfer_err[-1500:]}")
        wait_until(lambda: f"bytes={total} sha256={line[1]}" in node.stdout_text(), 30, "the sink's digest")
        c = counters(node)
        print("counters: " + ", ".join(f"{k}={c.get(k, 0)}" for k in (
            "tcp_syn_cookies_sent", "tcp_syn_cookies_validated", "tcp_syn_cookies_failed", "tcp_syn_ack_pruned",
            "tcp_drop_syn_backlog_full", "drop_ip_no_route", "rx_dropped_full", "tcp_conn_established")))
        check(c.get("tcp_syn_cookies_sent", 0) > 1000, "no cookies sent")
        check(c.get("tcp_syn_cookies_validated", 0) >= 1, "no cookie validated")
        check(c.get("tcp_drop_syn_backlog_full", 0) == 0, "SYNs dropped for a full backlog in auto mode")
        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in node.stdout_text(), "mbufs leaked")
    finally:
        for p in hpings + [transfer]:
            if p and p.poll() is None:
                p.kill()
                p.wait()
        node.cleanup()


# Echo 4 MiB through dtcp (a thread sends, the main one reads): prints bytes and whether equal.
ECHO = """
import hashlib, random, socket, sys, threading
addr, total = sys.argv[1], int(sys.argv[2])
data = random.Random(3).randbytes(total)
s = socket.create_connection((addr, 7), timeout=30)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
got = bytearray()
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    got += b
print(len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest(), flush=True)
"""

TS = re.compile(r"TS val (\d+) ecr (\d+)")


def seq_diff(a, b):
    """a - b in sequence space (RFC 9293 §3.4: modulo 2^32, signed)."""
    d = (a - b) & 0xffffffff
    return d - (1 << 32) if d >= 1 << 31 else d


def cookies_always(ns):
    node, ifname = start(ns, "sa", "syn_cookies = always",
                         "rx_loss = 0.01\ntx_loss = 0.01\nrx_seed = 5\ntx_seed = 6")
    try:
        ns.exec(["sysctl", "-q", "-w", "net.ipv4.tcp_sack=1", "net.ipv4.tcp_timestamps=1",
                 "net.ipv4.tcp_window_scaling=1"])
        capture = Capture(ns, ifname, ["-S", "tcp", "port", "7"])
        total = 4 << 20
        out = ns.exec([PYTHON, "-c", ECHO, DTCP_IP, str(total)], timeout=120).stdout.split()
        lines = capture.lines()
        check(out == [str(total), "True"], f"echo: {out}")
        to_dtcp = [l for l in lines if f"> {DTCP_IP}.7:" in l]
        from_dtcp = [l for l in lines if f" {DTCP_IP}.7 >" in l]
        syn = [l for l in to_dtcp if "Flags [S]," in l]
        synack = [l for l in from_dtcp if "Flags [S.]" in l]
        check(len(syn) >= 1 and len(synack) >= 1, "no SYN / SYN-ACK in the capture:\n" + "\n".join(lines[:10]))
        kernel_ws = int(re.search(r"wscale (\d+)", syn[0]).group(1))
        check("sackOK" in syn[0], f"the kernel did not offer SACK: {syn[0]}")
        ts = TS.search(synack[-1])
        check(ts is not None and "sackOK" in synack[-1] and "wscale 7" in synack[-1],
              f"cookie SYN-ACK options: {synack[-1]}")
        tsval = int(ts.group(1))
        check(tsval & 63 == kernel_ws | 16, f"SYN-ACK TSval {tsval}: low bits {tsval & 63}, expected "
              f"wscale {kernel_ws} | SACK 16 (no ECN)")

        # Timestamps: every later dtcp segment carries them, echoing a TSval the kernel sent, and
        # never below the cookie's TSval.
        kernel_tsvals = set()
        for l in to_dtcp:
            m = TS.search(l)
            if m:
                kernel_tsvals.add(int(m.group(1)))
        later = [l for l in from_dtcp if "Flags [S.]" not in l]
        check(later, "no dtcp segments after the SYN-ACK")
        # When tcpdump lost packets (its ring overflowed on a slow machine), a TSval the kernel
        # sent may be missing from the capture: dtcp's echo must then still lie within the
        # kernel's sent range.
        lowest, highest = min(kernel_tsvals), max(kernel_tsvals)
        for l in later:
            m = TS.search(l)
            check(m is not None, f"dtcp segment without timestamps: {l}")
            ecr = int(m.group(2))
            if capture.dropped == 0:
                check(ecr in kernel_tsvals, f"dtcp echoes a TSval the kernel never sent: {l} (the kernel sent "
                      f"{sorted(v for v in kernel_tsvals if abs(v - ecr) < 50)} near it)")
            else:
                check(lowest <= ecr <= highest, f"dtcp echoes a TSval outside the kernel's {lowest}..{highest}: {l}")
        if capture.dropped:
            print(f"tcpdump lost {capture.dropped} packets: TSval echoes checked against the kernel's range only")
            check(((int(m.group(1)) - tsval) & 0xffffffff) < 1 << 31, f"dtcp TSval went back: {l}")

        # Window scale: dtcp's window fields are scaled by 7 (256 KiB >> 7 = 2048 at most the buffer
        # size, never the unscaled 65535), and the kernel keeps more in flight than a raw field.
        def fields(seq_lines):
            for l in seq_lines:
                m = re.search(r"ack (\d+), win (\d+)", l)
                if m:
                    yield int(m.group(1)), int(m.group(2))
        dtcp_wins = [w for _, w in fields(later)]
        check(dtcp_wins and max(dtcp_wins) <= (4 << 20) >> 7, f"dtcp window fields not scaled: max {max(dtcp_wins)}")
        def in_flight_beyond_window(sender_prefix, receiver_prefix):
            """The most `sender_prefix` had in flight past the last raw window field the other side sent."""
            last, most = None, 0
            for l in lines:
                if receiver_prefix in l:
                    f = list(fields([l]))
                    if f:
                        last = f[0]
                elif last and sender_prefix in l:
                    m = re.search(r"seq \d+:(\d+)", l)
                    if m:
                        most = max(most, seq_diff(int(m.group(1)), last[0]) - last[1])
            return most
        beyond = in_flight_beyond_window(f"> {DTCP_IP}.7:", f" {DTCP_IP}.7 >")
        check(beyond > 0, "the kernel never had more in flight than dtcp's raw window field: no scaling?")
        # dtcp applies the kernel's shift: it keeps more in flight than the kernel's raw field.
        dtcp_beyond = in_flight_beyond_window(f" {DTCP_IP}.7 >", f"> {DTCP_IP}.7:")
        check(dtcp_beyond > 0, "dtcp never had more in flight than the kernel's raw window: shift not applied")

        # SACK both ways: dtcp reports its holes, and repairs from the kernel's blocks.
        check(any("sack " in l for l in later), "dtcp sent no SACK blocks under 1 % receive loss")
        check(any("sack " in l for l in to_dtcp), "the kernel sent no SACK blocks under 1 % transmit loss")
        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
        c = node.counters()
        print("always: kernel wscale %d, SYN-ACK TSval low bits %d, dtcp in flight beyond the kernel's raw "
              "window %d, kernel beyond dtcp's %d; cookies sent %d validated %d, rx SACK blocks %d, "
              "SACK retransmits %d" % (kernel_ws, tsval & 63, dtcp_beyond, beyond, c.get("tcp_syn_cookies_sent", 0),
                                       c.get("tcp_syn_cookies_validated", 0), c.get("tcp_rx_sack_blocks", 0),
                                       c.get("tcp_tx_sack_retransmits", 0)))
        # Every connection came from a cookie (no SYN-RECEIVED state was ever kept). Not exactly
        # one: the echo moves both sequence spaces by the same amount, so a late duplicate of the
        # kernel's last ACK (dtcp's FIN resent under the 1 % loss, answered twice), arriving after
        # dtcp's passive close left no TIME-WAIT record, carries SEQ - IRS = ACK - ISS and passes
        # the cookie check again, as it would on Linux (syn_cookie_test.cpp,
        # Always_EchoedConnectionClosed_LateDuplicateAckValidatesAgain). Seen once under ASan.
        validated = c.get("tcp_syn_cookies_validated", 0)
        check(c.get("tcp_syn_cookies_sent", 0) >= 1 and validated >= 1 and
              c.get("tcp_conn_established", 0) == validated and c.get("tcp_conn_passive_opens", 0) == validated,
              "the connection did not come from a cookie")
        check(c.get("tcp_tx_sack_retransmits", 0) > 0, "dtcp did not resend from the kernel's SACK blocks")
        check("mbufs_in_use_after_shutdown 0" in node.stdout_text(), "mbufs leaked")
    finally:
        node.cleanup()


def test():
    check(os.geteuid() == 0, "needs root (namespaces, net_tap)")
    ns = Namespace("sf")
    try:
        flood(ns)
    finally:
        ns.delete()
    ns = Namespace("sa")
    try:
        cookies_always(ns)
    finally:
        ns.delete()


if __name__ == "__main__":
    main(test)
