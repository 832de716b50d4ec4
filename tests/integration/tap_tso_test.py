"""TCP segmentation offload over net_tap against the kernel: dtcp sends its pattern to nc in a
namespace with [port] tso = auto and then tso = off, and the kernel receives the bytes dtcp sent
(sha256) both times. With auto the port's startup line reports TSO and the counters show the
super-segments the device cut (tx_tso, tcp_tx_tso_super_segments, tcp_tx_tso_bytes); with off they
are zero and the startup line says why. The kernel's InSegs counts at least the segments dtcp
counted as sent on the wire (tcp_tx_segments counts each segment a super-segment becomes).

Then the other way, receive coalescing: the kernel sends a file with nc to dtcp-echo's sink with
[port] gro = auto and gro = off (the default, with no key, is auto on net_tap: the sending runs check
its startup line); dtcp receives the file's bytes (sha256) both times. net_tap
reports no LRO, so auto takes rte_gro (the startup line says which), whose merges the counters
show (rx_gro_coalesced, tcp_rx_coalesced_segments); and dtcp's InSegs (tcp_rx_segments) still
counts the wire segments the kernel sent (its OutSegs), as Linux counts a GRO packet's."""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, sha256_file, start_on_tap, tap_ifname, wait_until  # noqa: E402

DTCP_IP = "198.18.0.1"
KERNEL_IP = "198.18.0.2"
SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
BYTES = (8 if SANITIZED else 64) << 20
PORT = 5001



def kernel_tcp_mib(ns, name):
    lines = [line.split() for line in ns.exec(["cat", "/proc/net/snmp"]).stdout.splitlines() if line.startswith("Tcp:")]
    return int(dict(zip(lines[0][1:], lines[1][1:]))[name])


def kernel_in_segs(ns):
    return kernel_tcp_mib(ns, "InSegs")


def receive(ns, gro, work):
    """nc in `ns` sends a file to dtcp-echo's sink with `gro = <gro>`; returns (startup log,
    counters, kernel segments sent)."""
    sent = tempfile.NamedTemporaryFile(suffix=f".gro-{gro}", delete=False).name
    work.append(sent)
    with open(sent, "wb") as f:
        f.write(os.urandom(BYTES))
    node, _ = start_on_tap(ns, f"gr{gro[:2]}", "dtcp-echo", ["--sink", str(PORT)], DTCP_IP, KERNEL_IP,
                           "02:00:00:00:00:02", port_keys=f"gro = {gro}")
    try:
        out_segs_before = kernel_tcp_mib(ns, "OutSegs")
        ns.exec(["sh", "-c", f"nc -N {DTCP_IP} {PORT} < {sent}"], timeout=240)
        pattern = rf"sink: \S+ bytes=(\d+) sha256=([0-9a-f]{{64}})"
        wait_until(lambda: re.search(pattern, node.stdout_text()), 30, f"gro = {gro}: the sink's digest")
        out_segs = kernel_tcp_mib(ns, "OutSegs") - out_segs_before
        got = re.search(pattern, node.stdout_text())
        check(int(got.group(1)) == BYTES, f"gro = {gro}: dtcp received {got.group(1)} of {BYTES} bytes")
        check(got.group(2) == sha256_file(sent), f"gro = {gro}: dtcp received different bytes than the kernel sent")
        check(node.stop() == 0, f"gro = {gro}: dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
        return node.stderr_text(), node.counters(), out_segs
    finally:
        node.cleanup()


def transfer(ns, tso, work):
    """dtcp-echo as a sending client with `tso = <tso>` to nc in `ns`; returns (startup log, counters,
    seconds, kernel segments received)."""
    for line in ns.exec(["ip", "-o", "link", "show"]).stdout.splitlines():
        m = re.match(r"\d+: (dt[^:@]+)", line)
        if m:
            ns.exec(["ip", "link", "del", m.group(1)], check_rc=False)
    received = tempfile.NamedTemporaryFile(suffix=f".tso-{tso}", delete=False).name
    work.append(received)
    listener = ns.popen(["sh", "-c", f"nc -l -p {PORT} > {received}"])
    node = None
    try:
        wait_until(lambda: ns.exec(["ss", "-tlnH", f"sport = :{PORT}"]).stdout.strip(), 10, "nc to listen")
        in_segs_before = kernel_in_segs(ns)
        ifname = tap_ifname(f"so{tso[:2]}")
        config = f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {DTCP_IP}/24\ntso = {tso}\n"
        # --delay: the client connects once the tap is in the namespace (a SYN retry costs 1 s).
        node = DtcpProcess("dtcp-echo", config, ["--connect", f"{KERNEL_IP}:{PORT}", "--mode", "send",
                                                 "--bytes", str(BYTES), "--seed", "7", "--delay", "300"], tag=f"tso{tso}")
        node.wait_running()
        ns.adopt_tap(ifname, f"{KERNEL_IP}/24", "02:00:00:00:00:02")
        started = time.monotonic()
        node.proc.wait(timeout=240)
        elapsed = time.monotonic() - started
        check(node.proc.returncode == 0, f"dtcp client (tso = {tso}) failed:\n{node.stderr_text()[-2000:]}")
        listener.wait(timeout=30)
        sent = re.search(r"sent bytes=(\d+) sha256=([0-9a-f]{64})", node.stdout_text())
        check(sent is not None and int(sent.group(1)) == BYTES, f"tso = {tso}: no digest of {BYTES} bytes sent")
        check(os.path.getsize(received) == BYTES, f"tso = {tso}: the kernel received {os.path.getsize(received)} bytes")
        check(sha256_file(received) == sent.group(2), f"tso = {tso}: the kernel received different bytes than dtcp sent")
        return node.stderr_text(), node.counters(), elapsed, kernel_in_segs(ns) - in_segs_before
    finally:
        if listener.poll() is None:
            listener.kill()
        if node is not None:
            node.cleanup()


def test():
    work = []
    ns = Namespace("tso")
    try:
        log, counters, seconds, kernel_segs = transfer(ns, "auto", work)
        port_line = next((line for line in log.splitlines() if " tso=" in line), "")
        check("tso=ipv4 (up to" in port_line, f"tso = auto: the port does not report TSO: {port_line!r}")
        # No gro key: the default takes rte_gro on net_tap.
        gro_line = next((line for line in log.splitlines() if " gro=" in line), "")
        check("gro=rte_gro (tcp/ipv4)" in gro_line, f"gro = default on net_tap: the port's line: {gro_line!r}")
        check(counters.get("tx_tso", 0) > 0, f"tso = auto: no super-segment reached the device: {counters}")
        check(counters.get("tcp_tx_tso_super_segments", 0) == counters.get("tx_tso", 0),
              "tso = auto: TCP's and the interface's super-segment counts differ")
        check(counters.get("tcp_tx_tso_bytes", 0) >= BYTES // 2,
              f"tso = auto: only {counters.get('tcp_tx_tso_bytes', 0)} of {BYTES} bytes went in super-segments")
        check(counters.get("drop_tx_full", 0) == 0, f"tso = auto: the device refused frames: {counters}")
        # Every data segment the device cut reached the kernel (plus the handshake and the FIN).
        check(kernel_segs >= counters["tcp_tx_segments"] - counters.get("tcp_tx_retransmitted_segments", 0),
              f"tso = auto: the kernel counted {kernel_segs} segments in, dtcp {counters['tcp_tx_segments']} out")
        print(f"tso = auto: {BYTES} bytes in {seconds:.2f} s, {counters['tx_tso']} super-segments, "
              f"{counters['tcp_tx_segments']} segments on the wire (kernel InSegs {kernel_segs})")

        log, counters, seconds, _ = transfer(ns, "off", work)
        port_line = next((line for line in log.splitlines() if " tso=" in line), "")
        check("tso=no (tso = off)" in port_line, f"tso = off: the port's line: {port_line!r}")
        check(counters.get("tx_tso", 0) == 0 and counters.get("tcp_tx_tso_super_segments", 0) == 0,
              f"tso = off: super-segments were sent: {counters}")
        print(f"tso = off: {BYTES} bytes in {seconds:.2f} s, {counters['tcp_tx_segments']} segments")

        for gro in ("auto", "off"):
            log, counters, kernel_out = receive(ns, gro, work)
            port_line = next((line for line in log.splitlines() if " gro=" in line), "")
            merged = counters.get("rx_gro_merged", 0)
            if gro == "auto":
                check("gro=rte_gro (tcp/ipv4)" in port_line, f"gro = auto: the port's line: {port_line!r}")
                check(counters.get("rx_gro_coalesced", 0) > 0 and merged > 0,
                      f"gro = auto: rte_gro merged nothing: {counters}")
                check(counters.get("tcp_rx_coalesced_segments", 0) >= merged,
                      f"gro = auto: TCP saw fewer coalesced segments than rte_gro merged: {counters}")
            else:
                check("gro=no (gro = off)" in port_line, f"gro = off: the port's line: {port_line!r}")
                check(merged == 0 and counters.get("tcp_rx_coalesced_segments", 0) == 0,
                      f"gro = off: frames were merged: {counters}")
            # Wire segments, merged or not: what the kernel sent (a frame the tap dropped is sent
            # again and counted on both sides; the handshake's segments are in both counts).
            rx = counters["tcp_rx_segments"]
            check(0.98 * kernel_out <= rx <= kernel_out + 2,
                  f"gro = {gro}: dtcp counted {rx} segments in, the kernel {kernel_out} out")
            print(f"gro = {gro}: {BYTES} bytes received, {rx} segments (kernel OutSegs {kernel_out}), "
                  f"{merged} frames merged into {counters.get('rx_gro_coalesced', 0)}")
    finally:
        ns.delete()
        for path in work:
            if os.path.exists(path):
                os.unlink(path)


if __name__ == "__main__":
    main(test)
