"""A worker lcore stuck in an application callback must not make the process hang at stop
(Runtime::run() used to wait in rte_eal_mp_wait_lcore() forever, so SIGTERM did nothing).
stuck-lcore (tests/integration/stuck_lcore.cpp) spins in on_poll with --stall:
- SIGTERM, stop_grace_ms = 1500: the process exits with status 1 about 1.5 s later, naming the lcore;
- SIGTERM, stop_grace_ms = 0 (wait forever): it says it waits and still runs; a second SIGTERM ends
  it at once;
- without --stall, SIGTERM stops it cleanly (status 0, every resource returned)."""
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, check, main, ring_pair_config, wait_until  # noqa: E402

PROGRAM = "tests/integration/stuck-lcore"
STUCK = re.compile(r"^dtcp: lcores? ([\d,]+) did not stop (within stop_grace_ms = 1500|before a second stop signal)", re.M)
WAITING = re.compile(r"^dtcp: waiting for lcores? [\d,]+ to stop \(stop_grace_ms = 0", re.M)


def start(tag, grace_ms, stall):
    pair = f"s{tag[0]}{os.getpid() % 100000}"  # unique per run; a pair name has at most 8 characters
    config = ring_pair_config(pair, rest=f"[runtime]\nidle = auto\nstop_grace_ms = {grace_ms}\n")
    proc = DtcpProcess(PROGRAM, config, ["--stall"] if stall else [], tag=f"stuck-{tag}")
    proc.wait_running()
    if stall:
        wait_until(lambda: "stalls in on_poll" in proc.stderr_text(), 20, "the lcore to stall")
    return proc


def terminate(proc, timeout):
    """SIGTERM; returns the seconds until the process exited (fails if not within `timeout`)."""
    began = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: proc.proc.poll() is not None, timeout, "the process to exit")
    return time.monotonic() - began


def expect_stuck_exit(proc, how, took):
    """The process ended with status 1 and named the stuck lcores, for the reason `how`."""
    err = proc.stderr_text()
    m = STUCK.search(err)
    check(proc.proc.returncode == 1 and m is not None and m.group(2).startswith(how),
          f"exit {proc.proc.returncode} after {took:.1f} s; expected 1 and the stuck lcores named ({how}):\n{err[-1500:]}")
    return m.group(1)


def forget(proc):
    """Cleans up after a process that ended without cleanup by design (no resources line, and its
    EAL runtime directory left behind)."""
    proc.killed = True
    pid = proc.proc.pid
    proc.cleanup()
    shutil.rmtree(f"/var/run/dpdk/dtcp{pid}", ignore_errors=True)


def test():
    proc = start("grace", 1500, stall=True)
    try:
        took = terminate(proc, 20)
        lcores = expect_stuck_exit(proc, "within", took)
        check(1.4 <= took <= 8, f"grace: exited {took:.1f} s after SIGTERM, expected about 1.5 s")
        print(f"stuck lcores {lcores}: exit 1 after {took:.2f} s (stop_grace_ms = 1500)")
    finally:
        forget(proc)

    proc = start("second", 0, stall=True)
    try:
        proc.proc.send_signal(signal.SIGTERM)
        # A grace of 0 means forever: the runtime says it waits (after 100 ms), and is still running.
        wait_until(lambda: WAITING.search(proc.stderr_text()), 20, "the runtime to say it waits")
        check(proc.proc.poll() is None, f"stop_grace_ms = 0: exited ({proc.proc.returncode}) without a second signal")
        took = terminate(proc, 10)
        lcores = expect_stuck_exit(proc, "before", took)
        check(took < 3, f"second signal: exited {took:.1f} s after it")
        print(f"stuck lcores {lcores}: exit 1 {took:.2f} s after the second SIGTERM")
    finally:
        forget(proc)

    proc = start("clean", 1500, stall=False)
    try:
        terminate(proc, 20)
        check(proc.proc.returncode == 0 and not STUCK.search(proc.stderr_text()),
              f"no stall: exit {proc.proc.returncode}:\n{proc.stderr_text()[-1500:]}")
        proc.check_resources()
        print("no stall: exit 0, resources ok")
    finally:
        proc.cleanup()


if __name__ == "__main__":
    main(test)
