"""Logging through rte_log (src/base/log.hpp): dtcp-echo's two stacks over a net_ring pair, one
echo connection to port 7 and one to port 9 where nobody listens. With EAL's
--log-level=dtcp.tcp:debug the TCP layer logs the state changes and the RST for port 9; without
it, no tcp debug line appears; --log-level=dtcp.port:warning hides the port's INFO line while
the runtime's (dtcp.runtime) stays. Then a flood of corrupted frames: the drop lines are rate
limited and what was held back is reported."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, check, main, ring_pair_config  # noqa: E402


def ring_config(tag, port_a_extra="", port_extra=""):
    pair = f"l{tag[0]}{os.getpid() % 100000}"  # unique per run; a pair name has at most 8 characters
    return ring_pair_config(pair, f"{port_a_extra}\n{port_extra}", port_extra, "[runtime]\nidle = auto\n")


def run_echo(tag, eal_args, closed_port=True, size="4K", port_a_extra="", port_extra=""):
    """Runs one echo client (plus one to the closed port 9); returns (exit code, stderr, stdout)."""
    clients = ["--connect", "b:198.18.1.1:7"] + (["--connect", "b:198.18.1.1:9"] if closed_port else [])
    # EAL arguments after "--" replace the default [eal] args, so they repeat --no-huge --no-shconf.
    eal = ["--", "--no-huge", "--no-shconf"] + eal_args if eal_args else []
    proc = DtcpProcess("dtcp-echo", ring_config(tag, port_a_extra, port_extra),
                       ["--serve", "a:7"] + clients + ["--bytes", size, "--duration", "60"] + eal,
                       tag=f"log-{tag}")
    try:
        proc.proc.wait(timeout=90)
        return proc.proc.returncode, proc.stderr_text(), proc.stdout_text()
    finally:
        proc.cleanup()


TCP_DEBUG = re.compile(r"^dtcp: tcp: ", re.M)
ECHO_OK = re.compile(r"^client: connections=1 ok=1 failed=0 bytes_sent=4096 bytes_received=4096 b->198\.18\.1\.1:7$", re.M)
REFUSED = re.compile(r"^client: connections=1 ok=0 failed=1 .* b->198\.18\.1\.1:9$", re.M)


def test():
    # The refused client fails the run (exit 1); the echo client succeeds.
    rc, err, out = run_echo("debug", ["--log-level=dtcp.tcp:debug"])
    check(rc == 1 and ECHO_OK.search(out) and REFUSED.search(out),
          f"debug run: exit {rc}, expected the echo ok and the port-9 client refused:\n{err[-2000:]}\n{out[-1500:]}")
    check(re.search(r"^dtcp: tcp: 198\.18\.1\.2:\d+ > 198\.18\.1\.1:7: SYN-SENT -> ESTABLISHED$", err, re.M),
          f"debug run: no SYN-SENT -> ESTABLISHED line for the port-7 client:\n{err[-3000:]}")
    check(re.search(r"^dtcp: tcp: 198\.18\.1\.1:7 > 198\.18\.1\.2:\d+: SYN-RECEIVED -> ESTABLISHED$", err, re.M),
          f"debug run: no SYN-RECEIVED -> ESTABLISHED line for the port-7 server:\n{err[-3000:]}")
    check(re.search(r"^dtcp: tcp: 198\.18\.1\.2:\d+ > port 9: no connection or listener; RST sent$", err, re.M),
          f"debug run: no line for the RST answering port 9:\n{err[-3000:]}")
    check("mac 02:00:00:00:01:01" in err, f"debug run: the port INFO line is missing:\n{err[-2000:]}")

    # Default levels: the same events, no tcp debug line; the INFO lines are there.
    rc, err, out = run_echo("default", [])
    check(rc == 1 and ECHO_OK.search(out) and REFUSED.search(out), f"default run: exit {rc}\n{err[-2000:]}\n{out[-1500:]}")
    check(not TCP_DEBUG.search(err), f"default run: tcp debug lines at the default level:\n{err[-3000:]}")
    check(re.search(r"^dtcp: \[port\.a\] port \d+ \(net_ring\) mac 02:00:00:00:01:01 ", err, re.M),
          f"default run: no port INFO line:\n{err[-2000:]}")
    check("idle policy" in err, f"default run: no runtime INFO line (idle policy):\n{err[-2000:]}")

    # dtcp.port at WARNING: its INFO line goes, the runtime's stays, the echo still works.
    rc, err, out = run_echo("port-warning", ["--log-level=dtcp.port:warning"], closed_port=False)
    check(rc == 0 and ECHO_OK.search(out), f"port:warning run: exit {rc}\n{err[-2000:]}\n{out[-1500:]}")
    check("mac 02:00:00:00:01:01" not in err and "[port.a] port" not in err,
          f"port:warning run: the port INFO line was written:\n{err[-2000:]}")
    check("idle policy" in err, f"port:warning run: the runtime INFO line went too:\n{err[-2000:]}")
    check("running" in err, f"port:warning run: the tool's own 'running' line is missing:\n{err[-2000:]}")

    # A flood of bad frames: a tenth of the frames port a receives get one bit flipped past the
    # Ethernet header, most of them in TCP, each drop a dtcp.tcp debug line. Port a's lcore
    # writes at most 20 at once and 10 a second; what it held back is reported, so the lines
    # and the suppressed counts add up to the drops (plus at most the few state changes that
    # share the bucket and were held back themselves).
    started = time.monotonic()
    rc, err, out = run_echo("corrupt", ["--log-level=dtcp.tcp:debug"], closed_port=False, size="1M",
                            port_a_extra="rx_corrupt = 0.1\nrx_seed = 11",
                            # MSS-sized frames: a TSO super-segment passed through the ring is one
                            # frame for the corruption to hit, and the test needs many drops.
                            port_extra="tso = off")
    elapsed = time.monotonic() - started
    check(rc == 0, f"corrupt run: exit {rc}\n{err[-2000:]}\n{out[-1500:]}")
    counters = DtcpProcess.parse_counters(out)
    drops = counters.get("drop_tcp_bad_checksum", 0) + counters.get("drop_tcp_malformed", 0)
    drop_lines = len(re.findall(r"^dtcp: tcp: dropped a \d+-byte frame from 02:00:00:00:01:02: TCP ", err, re.M))
    suppressed = sum(int(n) for n in re.findall(r"^dtcp: tcp: (\d+) messages suppressed \(rate limit\)$", err, re.M))
    print(f"corrupt run: {drops} TCP drops in {elapsed:.1f} s, {drop_lines} logged, {suppressed} suppressed")
    check(drops > 40, f"corrupt run: only {drops} TCP checksum drops; the flood test needs more than the burst")
    check(suppressed > 0, f"corrupt run: {drops} drops and no 'messages suppressed' line:\n{err[-3000:]}")
    check(drop_lines <= 20 + 10 * elapsed, f"corrupt run: {drop_lines} drop lines in {elapsed:.1f} s, "
          f"more than 20 + 10 a second")
    check(drops <= drop_lines + suppressed <= drops + 10,
          f"corrupt run: {drop_lines} lines + {suppressed} suppressed do not account for {drops} drops")


if __name__ == "__main__":
    main(test)
