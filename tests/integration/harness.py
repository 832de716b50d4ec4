"""Integration test harness: runs dtcp tools against the Linux kernel in network namespaces.

Every name (namespace, interface, EAL file prefix) carries the test's PID so meson can run tests
in parallel, and everything a test creates is removed in `finally`, even when it fails.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BUILD_DIR = os.environ.get("DTCP_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        pause.wait(interval)


def run(cmd, check_rc=True, timeout=60, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check_rc and result.returncode != 0:
        raise TestFailure(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def tool(name):
    """A built program: a tool's name (build/tools/NAME), or a path under the build directory."""
    path = os.path.join(BUILD_DIR, name if "/" in name else os.path.join("tools", name))
    check(os.access(path, os.X_OK), f"{path} is not built")
    return path


def ring_pair_config(pair, port_a="", port_b="", rest=""):
    """Two ports over one in-process net_ring pair named `pair` (at most 8 characters, unique per
    test run): a at 198.18.1.1, b at 198.18.1.2, with extra keys for each port and further
    sections after them."""
    return f"""
[port.a]
ring = {pair}:0
address = 198.18.1.1/24
mac = 02:00:00:00:01:01
{port_a}
[port.b]
ring = {pair}:1
address = 198.18.1.2/24
mac = 02:00:00:00:01:02
{port_b}
{rest}"""


class Namespace:
    """A network namespace holding the kernel side of a net_tap link."""

    def __init__(self, tag):
        self.name = f"dtcp-{tag}-{os.getpid()}"
        run(["ip", "netns", "add", self.name])

    def exec(self, cmd, **kwargs):
        return run(["ip", "netns", "exec", self.name] + cmd, **kwargs)

    def popen(self, cmd, **kwargs):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + cmd, **kwargs)

    def adopt_tap(self, ifname, address, mac):
        """Moves a dtcp net_tap interface in and gives it an address and its own MAC.

        net_tap gives the kernel side the DPDK port's MAC; ARP needs them to differ.
        """
        run(["ip", "link", "set", ifname, "netns", self.name])
        self.exec(["ip", "link", "set", ifname, "address", mac])
        self.exec(["ip", "addr", "add", address, "dev", ifname])
        self.exec(["ip", "link", "set", ifname, "up"])
        self.exec(["ip", "link", "set", "lo", "up"])

    def delete(self):
        # Processes left inside would keep the namespace alive.
        subprocess.run(["ip", "netns", "pids", self.name], capture_output=True)
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class DtcpProcess:
    """A dtcp tool running with a generated config file; stdout/stderr are captured to files."""

    def __init__(self, tool_name, config_text, args=(), tag="node"):
        self.config = tempfile.NamedTemporaryFile("w", suffix=".ini", prefix=f"dtcp-{tag}-", delete=False)
        self.config.write(config_text)
        self.config.close()
        self.stdout_path = self.config.name + ".out"
        self.stderr_path = self.config.name + ".err"
        self.stdout = open(self.stdout_path, "w")
        self.stderr = open(self.stderr_path, "w")
        cmd = [tool(tool_name), "--config", self.config.name] + list(args)
        self.tool_name = tool_name
        self.killed = False
        self.resources_checked = False
        self.proc = subprocess.Popen(cmd, stdout=self.stdout, stderr=self.stderr)

    def stderr_text(self):
        with open(self.stderr_path) as f:
            return f.read()

    def stdout_text(self):
        with open(self.stdout_path) as f:
            return f.read()

    def wait_running(self, timeout=20):
        def ready():
            check(self.proc.poll() is None, f"dtcp exited early ({self.proc.returncode}):\n{self.stderr_text()}")
            return "running" in self.stderr_text()
        wait_until(ready, timeout, "dtcp to start")

    def telemetry_counters(self):
        """Every counter from telemetry: /dtcp/counters (interface and lcore) and /dtcp/counters,tcp
        (tcp_*), two dicts because a DPDK telemetry dict holds at most 256 entries."""
        values = dict(self.telemetry("/dtcp/counters")["/dtcp/counters"])
        values.update(self.telemetry("/dtcp/counters,tcp")["/dtcp/counters"])
        return values

    def port_mac(self):
        m = re.search(r"mac ([0-9a-f:]{17})", self.stderr_text())
        check(m is not None, "dtcp did not report its MAC")
        return m.group(1)

    def telemetry(self, command):
        """Sends one command to the process's DPDK telemetry socket and returns the parsed reply."""
        import socket
        path = f"/var/run/dpdk/dtcp{self.proc.pid}/dpdk_telemetry.v2"
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
            sock.connect(path)
            json.loads(sock.recv(16384).decode())  # greeting with version and limits
            sock.send(command.encode())
            return json.loads(sock.recv(65536).decode())

    def stop(self, timeout=20):
        """SIGINT, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.killed = True
                raise TestFailure("dtcp did not stop within %ss of SIGINT" % timeout)
        self.check_resources()
        return self.proc.returncode

    def check_resources(self):
        """Once a tool's runtime has run, its exit prints `dtcp: resources: ok`: every control block,
        TIME-WAIT record, timer and mbuf came back (src/dpdk/runtime.cpp account()). Anything else,
        or no line, fails the test. Skipped for a process that never got running (a setup error a
        test may expect) or that was killed."""
        if self.resources_checked or self.killed or self.proc.poll() is None:
            return
        self.resources_checked = True
        if "running" not in self.stderr_text():
            return
        lines = re.findall(r"^dtcp: resources: (.*)$", self.stdout_text(), re.M)
        check(lines, f"{self.tool_name} (exit {self.proc.returncode}) printed no 'dtcp: resources:' line at exit")
        check(lines[-1] == "ok", f"{self.tool_name} did not return every resource: dtcp: resources: {lines[-1]}")

    def counters(self):
        """Parses the `name value  # description` lines printed at exit."""
        return DtcpProcess.parse_counters(self.stdout_text())

    @staticmethod
    def parse_counters(text):
        values = {}
        for line in text.splitlines():
            m = re.match(r"^([a-z_0-9]+)\s+(\d+)", line)
            if m:
                values.setdefault(m.group(1), int(m.group(2)))
        return values

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.killed = True
            # A killed process cannot remove its EAL runtime directory.
            shutil.rmtree(f"/var/run/dpdk/dtcp{self.proc.pid}", ignore_errors=True)
        self.stdout.close()
        self.stderr.close()
        # A process that exited on its own (a client run to completion) is checked here.
        try:
            self.check_resources()
        finally:
            for path in (self.config.name, self.stdout_path, self.stderr_path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass


class Capture:
    """tcpdump in a namespace, decoded (-n -l) into a file of our own.

    tcpdump -w drops privileges before writing and, inside `ip netns exec`, leaves the file
    empty; reading its text output avoids that. `expr` is a pcap filter.
    """

    def __init__(self, ns, ifname, expr=("tcp",)):
        self.path = tempfile.NamedTemporaryFile(suffix=".txt", prefix="dtcp-cap-", delete=False).name
        self.out = open(self.path, "w")
        self.dropped = 0  # packets the kernel dropped from tcpdump's ring, known after lines()
        # Not --immediate-mode: waking tcpdump per packet loses packets in bulk transfers; a ring
        # block reaches it when full or after its timeout, which lines() waits for.
        self.proc = ns.popen(["tcpdump", "-l", "-n", "-i", ifname] + list(expr), stdout=self.out,
                             stderr=subprocess.PIPE, text=True)
        line = ""
        while "listening on" not in line:
            line = self.proc.stderr.readline()
            check(line != "", "tcpdump exited before it started listening")

    def lines(self):
        """Stops the capture once tcpdump has written every packet the kernel passed to it."""
        self._wait_until_drained()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.out.close()
        with open(self.path) as f:
            text = f.read()
        os.unlink(self.path)
        # tcpdump may end its output with an empty line when terminated; it is not a packet.
        return [line for line in text.splitlines() if line.strip()]


    def _statistics(self):
        """(captured, received by filter, dropped by kernel) from tcpdump's SIGUSR1 report."""
        self.proc.send_signal(signal.SIGUSR1)
        while True:
            line = self.proc.stderr.readline()
            check(line != "", "tcpdump exited while reporting its statistics")
            m = re.search(r"(\d+) packets? captured, (\d+) packets? received by filter, "
                          r"(\d+) packets? dropped by kernel", line)
            if m:
                return tuple(int(g) for g in m.groups())

    def _wait_until_drained(self, timeout=10.0):
        # A packet counted "received by filter" is in the capture ring (or was dropped by the
        # kernel when the ring was full); once tcpdump has "captured" the rest, all of them are in
        # the file (-l flushes every line).
        def drained():
            if self.proc.poll() is not None:
                return True
            captured, received, self.dropped = self._statistics()
            return captured + self.dropped >= received
        wait_until(drained, timeout, "tcpdump to write every packet it was passed", interval=0.01)


def sha256_file(path):
    """The sha256 hex digest of a file, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tap_ifname(tag):
    # Interface names are at most 15 characters.
    return f"dt{tag}{os.getpid() % 100000}"[:15]


def start_on_tap(ns, tag, tool, args, dtcp_ip, kernel_ip, kernel_mac, port_keys="", extra_config="", prefix_len=24):
    """Starts `tool` on a new net_tap port at dtcp_ip, waits until it runs, and moves the tap into
    `ns` as kernel_ip with its own MAC. Returns (process, interface name).

    dtcp taps of earlier runs in `ns` hold the same address: they are removed first."""
    ifname = tap_ifname(tag)
    for line in ns.exec(["ip", "-o", "link", "show"]).stdout.splitlines():
        m = re.match(r"\d+: (dt[^:@]+)", line)
        if m:
            ns.exec(["ip", "link", "del", m.group(1)], check_rc=False)
    config = (f"[port]\nvdev = net_tap0,iface={ifname}\naddress = {dtcp_ip}/{prefix_len}\n{port_keys}\n"
              f"{extra_config}")
    node = DtcpProcess(tool, config, args, tag=tag)
    node.wait_running()
    ns.adopt_tap(ifname, f"{kernel_ip}/{prefix_len}", kernel_mac)
    return node, ifname


def main(test_function):
    """Runs one test function; prints its outcome and exits 0 on success, 1 on failure."""
    try:
        test_function()
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
    sys.exit(0)
