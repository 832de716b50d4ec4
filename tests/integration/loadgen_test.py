"""dtcp-loadgen: exact request counts and zero errors against the in-process dtcp servers over
net_ring (and idle connections held and counted on both sides), against nginx in a namespace
(dtcp backend over net_tap, kernel backend from a second namespace over a veth pair, both
verifying the body), and from the kernel backend against dtcp-echo and dtcp-http; refusals, not
a hang, against a closed port; bad flags exit 2. The per-second series of both backends sums to
the run's totals."""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, run, tap_ifname, tool, wait_until  # noqa: E402

SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
SCALE = 4 if SANITIZED else 1
PID = os.getpid()


def ring_config(client_address="198.18.1.1/24", tcp=""):
    return f"""
[port.a]
ring = lg{PID % 1000000}:0
address = {client_address}
mac = 02:00:00:00:01:01
[port.b]
ring = lg{PID % 1000000}:1
address = 198.18.1.2/24
mac = 02:00:00:00:01:02
[tcp]
{tcp}
"""


def tap_config(ifname):
    return f"""
[port]
vdev = net_tap0,iface={ifname}
address = 198.18.0.1/24
[tcp]
msl = 1s
"""


def parse_json(text, what):
    start = text.find("{\"tool\"")
    check(start >= 0, f"{what}: no JSON in output:\n{text[-2000:]}")
    return json.loads(text[start:text.index("\n", start)])


def expect_clean(result, requests, what):
    check(result["errors"]["total"] == 0, f"{what}: errors {result['errors']}")
    check(result["totals"]["requests"] == requests, f"{what}: {result['totals']['requests']} requests, expected {requests}")
    check(result["latency_us"]["count"] == requests, f"{what}: latency count {result['latency_us']['count']}")
    check(result["latency_us"]["p50"] > 0 and result["latency_us"]["max"] >= result["latency_us"]["p99"],
          f"{what}: latency {result['latency_us']}")


def run_ring(args, tag, expect_rc=0, config=None):
    """One process, two dtcp stacks over net_ring: the loadgen on port a, servers on port b."""
    out_json = tempfile.NamedTemporaryFile(suffix=".json", prefix=f"dtcp-lg-{tag}-", delete=False).name
    proc = DtcpProcess("dtcp-loadgen", config or ring_config(), args + ["--json", out_json, "--quiet"], tag=tag)
    try:
        proc.proc.wait(timeout=120)
        out = proc.stdout_text()
        check(proc.proc.returncode == expect_rc,
              f"{tag}: exit {proc.proc.returncode}, expected {expect_rc}\n{proc.stderr_text()[-2000:]}\n{out[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in out, f"{tag}: mbufs leaked:\n{out[-1500:]}")
        with open(out_json) as f:
            return json.load(f)
    finally:
        proc.cleanup()
        os.unlink(out_json)


def ring_tests():
    n = 5000 // SCALE
    r = run_ring(["--serve-http", "b:80", "--target", "198.18.1.2:80", "--connections", "16", "--requests", str(n)],
                 "ring-http")
    expect_clean(r, n, "ring http rr")
    check(r["totals"]["connections"] == 16, f"ring http rr: {r['totals']['connections']} connections for 16 slots")
    check(r["totals"]["rx_bytes"] > n * 64, "ring http rr: bodies not received")

    n = 1500 // SCALE
    r = run_ring(["--serve-echo", "b:7", "--target", "198.18.1.2:7", "--protocol", "raw", "--mode", "conn",
                  "--request-size", "100", "--response-size", "300", "--connections", "8", "--requests", str(n)],
                 "ring-conn")
    expect_clean(r, n, "ring raw conn")
    check(r["totals"]["connections"] == n, f"ring raw conn: {r['totals']['connections']} connections for {n} requests")
    check(r["totals"]["tx_bytes"] == n * 100 and r["totals"]["rx_bytes"] == n * 300, f"ring raw conn bytes: {r['totals']}")

    n = 1000 // SCALE
    r = run_ring(["--serve-http", "b:80", "--target", "198.18.1.2:80", "--connections", "8", "--rate", "2000",
                  "--requests", str(n)], "ring-open")
    expect_clean(r, n, "ring open loop")
    check(r["rate"] == 2000 and r["totals"]["not_sent"] == 0, f"ring open loop: {r}")
    check(r["duration_s"] >= (n - 1) / 2000 * 0.99, f"ring open loop ran faster than its schedule: {r['duration_s']} s")

    r = run_ring(["--serve-source", "b:9", "--target", "198.18.1.2:9", "--mode", "bulk", "--connections", "2",
                  "--duration", "1"], "ring-bulk")
    check(r["errors"]["total"] == 0 and r["totals"]["rx_bytes"] > 1_000_000, f"ring bulk: {r}")

    # Source addresses: 4 addresses x 10 ports = 40 tuples. The client closes first, so each
    # tuple stays in TIME-WAIT (2 x 30 s) and serves once: 40 connections succeed, the 41st finds
    # no tuple and is counted as a local error.
    ranged = ring_config("198.18.1.10-198.18.1.13/24", "ephemeral_port_min = 50000\nephemeral_port_max = 50009")
    echo = ["--serve-echo", "b:7", "--target", "198.18.1.2:7", "--protocol", "raw", "--mode", "conn",
            "--source", "198.18.1.10-198.18.1.13", "--connections", "4"]
    r = run_ring(echo + ["--requests", "40"], "ring-src40", config=ranged)
    expect_clean(r, 40, "40 connections over 40 source tuples")
    r = run_ring(echo + ["--requests", "41"], "ring-src41", expect_rc=1, config=ranged)
    check(r["totals"]["requests"] == 40 and r["errors"]["local"] == 1 and r["errors"]["total"] == 1,
          f"41 connections over 40 source tuples: {r['totals']} {r['errors']}")
    # A source outside the port's addresses is refused locally, not sent.
    r = run_ring(["--serve-echo", "b:7", "--target", "198.18.1.2:7", "--protocol", "raw", "--source", "198.18.1.99",
                  "--requests", "3", "--connections", "1"], "ring-badsrc", expect_rc=1)
    check(r["errors"]["local"] == 3 and r["errors"]["total"] == 3, f"foreign source address: {r['errors']}")

    # Idle: 20k connections opened over 4 x 10000 source tuples, held for a second without a
    # byte, counted on both sides, closed; the memory figures are reported.
    n = 20000 // SCALE
    idle = ring_config("198.18.1.10-198.18.1.13/24", f"max_connections = {n}")
    r = run_ring(["--serve-hold", "b:7", "--target", "198.18.1.2:7", "--mode", "idle", "--connections", str(n),
                  "--hold", "1", "--source", "198.18.1.10-198.18.1.13", "--source-ports", "10000-19999"],
                 "ring-idle", config=idle)
    check(r["mode"] == "idle" and r["finished"] and r["errors"]["total"] == 0, f"idle: {r}")
    check(r["opened"] == n and r["established_hold_start"] == n and r["established_hold_end"] == n,
          f"idle: opened {r['opened']}, held {r['established_hold_start']} then {r['established_hold_end']} of {n}")
    check(r["server_established_hold_end"] == n, f"idle: the server held {r['server_established_hold_end']} of {n}")
    check(r["closed"] == n and r["held_s"] >= 1.0, f"idle: closed {r['closed']} of {n}, held {r['held_s']} s")
    memory = r["memory"]
    check(memory["rss_hold_start"] > memory["rss_before_runtime"] > 0 and memory["tcp_max_connections"] == n
          and memory["tcp_per_connection_slot"] >= memory["tcp_control_block"] > 0, f"idle memory: {memory}")

    # Nobody listens on port 9: every connection is refused, counted, and the run still ends.
    r = run_ring(["--target", "198.18.1.2:9", "--connections", "4", "--duration", "1"], "ring-refused", expect_rc=1)
    check(r["errors"]["refused"] > 0 and r["errors"]["total"] == r["errors"]["refused"], f"closed port: {r['errors']}")
    check(r["totals"]["requests"] == 0, "closed port: requests completed?")


def check_per_second(result, duration, rate, what):
    """The per-second series: about `duration` entries (the requests drained after the window add
    a short last one), summing exactly to the totals, the busiest whole second near the offered
    rate."""
    series = result["per_second"]
    check(len(series) in (duration, duration + 1), f"{what}: {len(series)} seconds for --duration {duration}: {series}")
    check([s["t"] for s in series] == list(range(1, len(series) + 1)), f"{what}: seconds out of order: {series}")
    for key, total in (("requests", result["totals"]["requests"]), ("connections", result["totals"]["connections"]),
                       ("errors", result["errors"]["total"])):
        summed = sum(s[key] for s in series)
        check(summed == total, f"{what}: per-second {key} sum to {summed}, the run's total is {total}: {series}")
    check(abs(sum(s["seconds"] for s in series) - result["duration_s"]) < 1e-3,
          f"{what}: the seconds' lengths do not add up to duration_s {result['duration_s']}: {series}")
    # Open loop: whole seconds hold about `rate` requests. On a busy machine one second's
    # schedule slips into the next (a second of 544 at 2000/s was seen on 2 shared CPUs), so only
    # the busiest whole second is held to a band; a time base off by 2 or more is outside it.
    check(all(s["seconds"] == 1 for s in series[:duration]), f"{what}: a second before the end is partial: {series}")
    busiest = max(s["requests"] for s in series[:duration])
    check(rate / 2 <= busiest <= rate * 2, f"{what}: the busiest second has {busiest} requests at {rate}/s: {series}")


def per_second_tests():
    """Requests/s second by second, on both backends."""
    rate = 2000 // SCALE
    r = run_ring(["--serve-echo", "b:7", "--target", "198.18.1.2:7", "--protocol", "raw", "--mode", "conn",
                  "--connections", "8", "--rate", str(rate), "--warmup", "1", "--duration", "3"],
                 "ring-persec", config=ring_config(tcp="msl = 1s"))
    check(r["errors"]["total"] == 0, f"ring per second: errors {r['errors']}")
    check_per_second(r, 3, rate, "dtcp ring conn per second")
    # The kernel backend serving itself in a namespace of its own, over its loopback.
    ns = Namespace("lgsec")
    try:
        ns.exec(["ip", "link", "set", "lo", "up"])
        ns.exec(["ip", "addr", "add", "198.18.9.1/32", "dev", "lo"])
        r = kernel_loadgen(ns, ["--serve-echo", "7", "--listen-addr", "198.18.9.1", "--target", "198.18.9.1:7",
                                "--protocol", "raw", "--connections", "4", "--rate", str(rate), "--warmup", "1",
                                "--duration", "2"], "kernel per second")
        check(r["errors"]["total"] == 0, f"kernel per second: errors {r['errors']}")
        check_per_second(r, 2, rate, "kernel rr per second")
    finally:
        ns.delete()


def bad_flags():
    for args in (["--bogus"], ["--target", "1.2.3.4"], ["--target", "1.2.3.4:80", "--mode", "fast"],
                 ["--target", "1.2.3.4:80", "--connections", "0"], ["--target", "1.2.3.4:80", "--rate", "x"],
                 ["--target", "1.2.3.4:80", "--requests", "5", "--warmup", "1"], [],
                 ["--backend", "kernel", "--serve-http", "a:80"], ["--target", "1.2.3.4:80", "--duration", "-1"],
                 ["--target", "1.2.3.4:80", "--mode", "idle", "--rate", "5"], ["--target", "1.2.3.4:80", "--hold", "1"],
                 ["--target", "1.2.3.4:80", "--mode", "idle", "--handshakes", "0"],
                 ["--backend", "kernel", "--target", "1.2.3.4:80", "--mode", "idle"],
                 ["--backend", "kernel", "--serve-hold", "7"], ["--target", "1.2.3.4:80", "--connections", "2000000"]):
        r = subprocess.run([tool("dtcp-loadgen")] + args, capture_output=True, text=True, timeout=20)
        check(r.returncode == 2 and "dtcp-loadgen: " in r.stderr, f"{args}: exit {r.returncode}, stderr {r.stderr!r}")


class Nginx:
    """nginx in a namespace, serving a file with Content-Length and an SSI page (chunked)."""

    def __init__(self, ns, address, port):
        self.dir = tempfile.mkdtemp(prefix="dtcp-nginx-")
        os.makedirs(os.path.join(self.dir, "www", "ssi"))
        data = os.urandom(20000)
        with open(os.path.join(self.dir, "www", "data.bin"), "wb") as f:
            f.write(data)
        page = ("<p>" + "dtcp " * 600 + "</p>\n").encode()
        with open(os.path.join(self.dir, "www", "ssi", "page.html"), "wb") as f:
            f.write(page)
        # nginx's workers run as nobody.
        for root, dirs, files in os.walk(self.dir):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        self.data_sha = hashlib.sha256(data).hexdigest()
        self.page_sha = hashlib.sha256(page).hexdigest()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  default_type text/html;
  keepalive_requests 100000;
  client_body_temp_path {self.dir}/tmp;
  server {{
    listen {address}:{port} reuseport;
    root {self.dir}/www;
    location /ssi/ {{ ssi on; }}
  }}
}}
""")
        self.proc = ns.popen(["nginx", "-c", conf, "-p", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["rm", "-rf", self.dir])


def kernel_loadgen(ns, args, what, expect_rc=0):
    r = ns.exec([tool("dtcp-loadgen"), "--backend", "kernel", "--quiet", "--json", "-"] + args, check_rc=False,
                timeout=120)
    check(r.returncode == expect_rc, f"{what}: exit {r.returncode}\n{r.stderr[-2000:]}\n{r.stdout[-2000:]}")
    return parse_json(r.stdout, what)


def dtcp_loadgen_on_tap(ns, args, what, ns_address):
    """The dtcp backend on a net_tap port whose kernel side is moved into `ns`."""
    ifname = tap_ifname("l")
    out_json = tempfile.NamedTemporaryFile(suffix=".json", prefix="dtcp-lg-tap-", delete=False).name
    # --delay: the load starts once the tap is in the namespace with its address.
    proc = DtcpProcess("dtcp-loadgen", tap_config(ifname), args + ["--delay", "2", "--json", out_json, "--quiet"],
                       tag="lgtap")
    try:
        proc.wait_running()
        ns.adopt_tap(ifname, ns_address, "02:00:00:00:00:02")
        proc.proc.wait(timeout=120)
        out = proc.stdout_text()
        check(proc.proc.returncode == 0, f"{what}: exit {proc.proc.returncode}\n{proc.stderr_text()[-2000:]}\n{out[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in out, f"{what}: mbufs leaked")
        with open(out_json) as f:
            return json.load(f)
    finally:
        proc.cleanup()
        os.unlink(out_json)
        # The tap went away with the process; the namespace stays for the next run.


def dtcp_server_on_tap(ns, tool_name, tool_args, ns_address):
    ifname = tap_ifname("s")
    proc = DtcpProcess(tool_name, tap_config(ifname), tool_args, tag="lgsrv")
    proc.wait_running()
    ns.adopt_tap(ifname, ns_address, "02:00:00:00:00:02")
    return proc


def nginx_tests():
    ngx = Namespace("lgngx")
    cli = Namespace("lgcli")
    veth_a, veth_b = f"lga{PID % 100000}", f"lgb{PID % 100000}"
    nginx = None
    try:
        # The kernel client reaches nginx from its own namespace over a veth pair.
        run(["ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b])
        run(["ip", "link", "set", veth_a, "netns", ngx.name])
        run(["ip", "link", "set", veth_b, "netns", cli.name])
        ngx.exec(["ip", "addr", "add", "198.18.3.2/24", "dev", veth_a])
        cli.exec(["ip", "addr", "add", "198.18.3.1/24", "dev", veth_b])
        for ns, dev in ((ngx, veth_a), (cli, veth_b)):
            ns.exec(["ip", "link", "set", dev, "up"])
            ns.exec(["ip", "link", "set", "lo", "up"])
        # nginx listens on every address of its namespace (the veth now, the tap later).
        nginx = Nginx(ngx, "0.0.0.0", 8080)

        def nginx_up():
            check(nginx.proc.poll() is None, f"nginx exited: {nginx.proc.stderr.read().decode()[-1000:]}")
            return cli.exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://198.18.3.2:8080/data.bin"],
                            check_rc=False).stdout == "200"
        wait_until(nginx_up, 20, "nginx to answer")
        headers = cli.exec(["curl", "-s", "-D", "-", "-o", "/dev/null", "http://198.18.3.2:8080/ssi/page.html"]).stdout
        check("transfer-encoding: chunked" in headers.lower(), f"the SSI page is not chunked:\n{headers}")

        n = 2000 // SCALE
        bodies = {}
        for path, sha in (("/data.bin", nginx.data_sha), ("/ssi/page.html", nginx.page_sha)):
            r = kernel_loadgen(cli, ["--target", "198.18.3.2:8080", "--path", path, "--verify-body",
                                     "--connections", "8", "--requests", str(n)], f"kernel -> nginx {path}")
            expect_clean(r, n, f"kernel -> nginx {path}")
            check(r["body_sha256"] == sha, f"kernel -> nginx {path}: body {r['body_sha256']} != {sha}")
            bodies[("kernel", path)] = r["body_sha256"]
        r = kernel_loadgen(cli, ["--target", "198.18.3.2:8080", "--path", "/data.bin", "--mode", "conn",
                                 "--connections", "4", "--requests", str(n // 4)], "kernel -> nginx conn")
        expect_clean(r, n // 4, "kernel -> nginx conn")
        check(r["totals"]["connections"] == n // 4, f"kernel -> nginx conn: {r['totals']}")
        # Source addresses on the kernel backend: whichever side closed first holds the
        # connection in TIME-WAIT, so the two namespaces' TIME-WAIT sockets show the addresses used.
        cli.exec(["ip", "addr", "add", "198.18.3.10/24", "dev", veth_b])
        for i in range(11, 14):
            cli.exec(["ip", "addr", "add", f"198.18.3.{i}/24", "dev", veth_b])
        r = kernel_loadgen(cli, ["--target", "198.18.3.2:8080", "--path", "/data.bin", "--mode", "conn",
                                 "--source", "198.18.3.10-198.18.3.13", "--connections", "4", "--requests", "40"],
                           "kernel -> nginx from 4 source addresses")
        expect_clean(r, 40, "kernel -> nginx from 4 source addresses")
        states = ngx.exec(["ss", "-tanH", "state", "time-wait"]).stdout + cli.exec(["ss", "-tanH", "state", "time-wait"]).stdout
        used = set(re.findall(r"(198\.18\.3\.1[0-3]):\d+", states))
        check(len(used) == 4, f"source addresses in TIME-WAIT: {sorted(used)}\n{states[-3000:]}")
        r = kernel_loadgen(cli, ["--target", "198.18.3.2:9", "--duration", "1", "--connections", "2"],
                           "kernel -> closed port", expect_rc=1)
        check(r["errors"]["refused"] > 0 and r["errors"]["total"] == r["errors"]["refused"], f"closed port: {r['errors']}")

        for path, sha in (("/data.bin", nginx.data_sha), ("/ssi/page.html", nginx.page_sha)):
            r = dtcp_loadgen_on_tap(ngx, ["--target", "198.18.0.2:8080", "--path", path, "--verify-body",
                                          "--connections", "8", "--requests", str(n)], f"dtcp -> nginx {path}",
                                    "198.18.0.2/24")
            expect_clean(r, n, f"dtcp -> nginx {path}")
            check(r["body_sha256"] == bodies[("kernel", path)] == sha, f"dtcp -> nginx {path}: body differs")
        r = dtcp_loadgen_on_tap(ngx, ["--target", "198.18.0.2:8080", "--path", "/data.bin", "--mode", "conn",
                                      "--connections", "4", "--requests", str(n // 4)], "dtcp -> nginx conn",
                                "198.18.0.2/24")
        expect_clean(r, n // 4, "dtcp -> nginx conn")

        # The kernel backend against dtcp's own servers, from the client namespace over the tap.
        echo = dtcp_server_on_tap(cli, "dtcp-echo", ["--serve", "7"], "198.18.0.2/24")
        try:
            r = kernel_loadgen(cli, ["--target", "198.18.0.1:7", "--protocol", "raw", "--request-size", "64",
                                     "--connections", "16", "--requests", str(3000 // SCALE)], "kernel -> dtcp-echo")
            expect_clean(r, 3000 // SCALE, "kernel -> dtcp-echo")
        finally:
            check(echo.stop() == 0, "dtcp-echo failed")
            echo.cleanup()
        http = dtcp_server_on_tap(cli, "dtcp-http", ["--port", "80", "--body-size", "1000"], "198.18.0.2/24")
        try:
            sha = hashlib.sha256(b"x" * 1000).hexdigest()
            r = kernel_loadgen(cli, ["--target", "198.18.0.1:80", "--verify-body", "--connections", "16",
                                     "--requests", str(3000 // SCALE)], "kernel -> dtcp-http keep-alive")
            expect_clean(r, 3000 // SCALE, "kernel -> dtcp-http keep-alive")
            check(r["body_sha256"] == sha and r["totals"]["connections"] == 16, f"kernel -> dtcp-http: {r}")
            r = kernel_loadgen(cli, ["--target", "198.18.0.1:80", "--mode", "conn", "--connections", "8",
                                     "--requests", str(500 // SCALE)], "kernel -> dtcp-http close")
            expect_clean(r, 500 // SCALE, "kernel -> dtcp-http close")
        finally:
            check(http.stop() == 0, "dtcp-http failed")
            http.cleanup()
    finally:
        if nginx:
            nginx.cleanup()
        ngx.delete()
        cli.delete()


def test():
    bad_flags()
    per_second_tests()
    ring_tests()
    nginx_tests()


if __name__ == "__main__":
    main(test)
