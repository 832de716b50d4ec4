"""TCP segmentation offload over net_tap against the kernel: dtcp sends its pattern to nc in a
namespace with [port] tso = auto and then tso = off, and the kernel receives the bytes dtcp sent
(sha256) both times. With auto the port's startup line reports TSO and the counters show the
super-segments the device cut (tx_tso, tcp_tx_tso_super_segments, tcp_tx_tso_bytes); with off they
are zero and the startup line says why. The kernel's InSegs counts at least the segments dtcp
counted as sent on the wire (tcp_tx_segments counts each segment a super-segment becomes)."""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, sha256_file, tap_ifname, wait_until  # noqa: E402

DTCP_IP = "198.18.0.1"
KERNEL_IP = "198.18.0.2"
SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
BYTES = (8 if SANITIZED else 64) << 20
PORT = 5001



def kernel_in_segs(ns):
    lines = [line.split() for line in ns.exec(["cat", "/proc/net/snmp"]).stdout.splitlines() if line.startswith("Tcp:")]
    return int(dict(zip(lines[0][1:], lines[1][1:]))["InSegs"])


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
    finally:
        ns.delete()
        for path in work:
            if os.path.exists(path):
                os.unlink(path)


if __name__ == "__main__":
    main(test)
