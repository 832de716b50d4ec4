"""A worker lcore stuck in an application callback must not make the process hang at stop
(Runtime::run() used to wait in rte_eal_mp_wait_lcore() forever, so SIGTERM did nothing).
stuck-lcore (tests/integration/stuck_lcore.cpp) spins in on_poll with --stall:
- SIGTERM, stop_grace_ms = 1500: the process exits with status 1 about 1.5 s later, naming the lcore;
- SIGTERM, stop_grace_ms = 0 (wait forever), then a second SIGTERM: it exits at once after the second;
- without --stall, SIGTERM stops it cleanly (status 0, every resource returned)."""
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, check, main, wait_until  # noqa: E402

PROGRAM = "tests/integration/stuck-lcore"


def config(tag, grace_ms):
    pair = f"s{tag[0]}{os.getpid() % 100000}"  # unique per run; a pair name has at most 8 characters
    return f"""
[port.a]
ring = {pair}:0
address = 198.18.1.1/24
mac = 02:00:00:00:01:01
[port.b]
ring = {pair}:1
address = 198.18.1.2/24
mac = 02:00:00:00:01:02
[runtime]
idle = auto
stop_grace_ms = {grace_ms}
"""


def start(tag, grace_ms, stall):
    proc = DtcpProcess(PROGRAM, config(tag, grace_ms), ["--stall"] if stall else [], tag=f"stuck-{tag}")
    proc.wait_running()
    if stall:
        wait_until(lambda: "stalls in on_poll" in proc.stderr_text(), 20, "the lcore to stall")
    return proc


def wait_exit(proc, timeout):
    """Seconds until the process exits (fails if it has not within `timeout`)."""
    began = time.monotonic()
    wait_until(lambda: proc.proc.poll() is not None, timeout, "the process to exit")
    return time.monotonic() - began


def forget(proc):
    """Cleans up after a process that ended without cleanup by design (no resources line, and its
    EAL runtime directory left behind)."""
    proc.killed = True
    pid = proc.proc.pid
    proc.cleanup()
    shutil.rmtree(f"/var/run/dpdk/dtcp{pid}", ignore_errors=True)


STUCK = re.compile(r"^dtcp: lcores? ([\d,]+) did not stop (within stop_grace_ms = 1500|before a second stop signal)", re.M)


def test():
    proc = start("grace", 1500, stall=True)
    try:
        proc.proc.send_signal(signal.SIGTERM)
        took = wait_exit(proc, 20)
        err = proc.stderr_text()
        m = STUCK.search(err)
        check(proc.proc.returncode == 1 and m and m.group(2).startswith("within"),
              f"grace: exit {proc.proc.returncode} after {took:.1f} s; expected 1 and the stuck lcore named:\n{err[-1500:]}")
        check(1.4 <= took <= 8, f"grace: exited {took:.1f} s after SIGTERM, expected about 1.5 s")
        print(f"stuck lcores {m.group(1)}: exit 1 after {took:.2f} s (stop_grace_ms = 1500)")
    finally:
        forget(proc)

    proc = start("second", 0, stall=True)
    try:
        proc.proc.send_signal(signal.SIGTERM)
        time.sleep(2)  # a wait of 0 means forever: it must still be waiting
        check(proc.proc.poll() is None, f"stop_grace_ms = 0: exited ({proc.proc.returncode}) without a second signal")
        proc.proc.send_signal(signal.SIGTERM)
        took = wait_exit(proc, 10)
        err = proc.stderr_text()
        m = STUCK.search(err)
        check(proc.proc.returncode == 1 and m and m.group(2).startswith("before"),
              f"second signal: exit {proc.proc.returncode}; expected 1 and the stuck lcore named:\n{err[-1500:]}")
        check(took < 3, f"second signal: exited {took:.1f} s after it")
        print(f"stuck lcores {m.group(1)}: exit 1 {took:.2f} s after the second SIGTERM")
    finally:
        forget(proc)

    proc = start("clean", 1500, stall=False)
    try:
        proc.proc.send_signal(signal.SIGTERM)
        wait_exit(proc, 20)
        check(proc.proc.returncode == 0 and not STUCK.search(proc.stderr_text()),
              f"no stall: exit {proc.proc.returncode}:\n{proc.stderr_text()[-1500:]}")
        proc.check_resources()
        print("no stall: exit 0, resources ok")
    finally:
        proc.cleanup()


if __name__ == "__main__":
    main(test)
