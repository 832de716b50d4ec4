"""dtcp against the Linux kernel over net_tap with 2 queue pairs on 2 worker lcores.

net_tap in DPDK 22.11 has no readable RETA (its RSS exists only as an rte_flow eBPF program), so
dtcp steers in software; the kernel picks the tap queue for each flow by its own hash, so many
frames arrive on the wrong queue and must be passed to their owner.
- Kernel clients: many connections from kernel-chosen source ports, each echoing random bytes;
  while they are open, dtcp's listing (SIGUSR1) must show every one of them once, on the queue an
  independent Toeplitz model gives; then all close cleanly; both lcores accepted connections.
- dtcp clients: connections opened on both lcores to a kernel echo server, all verified.
- Ping and ARP keep working with 2 queues.
In both runs no lcore ever handed TCP a segment it does not own (rx_tcp_foreign)."""
import os
import re
import select
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, TestFailure, check, main, tap_ifname, wait_until  # noqa: E402
import rss_model  # noqa: E402

DTCP_IP = "198.18.0.1"
KERNEL_IP = "198.18.0.2"
SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
KERNEL_CONNECTIONS = 100 if SANITIZED else 400
DTCP_CONNECTIONS = 100 if SANITIZED else 400

# Runs in the namespace: opens the connections, echoes random bytes over each, reports its source
# ports, waits for a line on stdin, then half-closes each and expects the echo server's EOF.
KERNEL_CLIENTS = r"""
import os, socket, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection((sys.argv[3], 7), timeout=20) for _ in range(n)]
data = [os.urandom(size) for _ in socks]
for s, d in zip(socks, data):
    s.sendall(d)
echoed = 0
for s, d in zip(socks, data):
    got = b""
    while len(got) < len(d):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    echoed += got == d
print("READY", echoed, " ".join(str(s.getsockname()[1]) for s in socks), flush=True)
sys.stdin.readline()
closed = 0
for s in socks:
    s.shutdown(socket.SHUT_WR)
    closed += s.recv(65536) == b""
    s.close()
print("DONE", closed, flush=True)
"""

# Runs in the namespace: a threaded echo server on port 5007.
KERNEL_SERVER = r"""
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 5007))
srv.listen(1024)
print("LISTENING", flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def read_line(proc, timeout, what):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TestFailure(f"timed out after {timeout}s waiting for {what}")
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        raise TestFailure(f"{what}: the process ended ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
    return line


def start_node(ns, tag, args):
    ifname = tap_ifname(tag)
    config = f"""
[port]
vdev = net_tap0,iface={ifname}
address = {DTCP_IP}/24
queues = 2
lcores = 1,2
[runtime]
idle = auto
"""
    node = DtcpProcess("dtcp-echo", config, args + ["--per-lcore"], tag=tag)
    node.wait_running()
    ns.adopt_tap(ifname, f"{KERNEL_IP}/24", "02:00:00:00:00:02")
    rss = rss_model.port_rss(node.stderr_text(), "[port]")
    check(rss is not None, f"no rss line for the port:\n{node.stderr_text()[-1500:]}")
    check(rss.mode in ("software steering", "hardware RSS"), f"rss mode {rss.mode}")
    return node, rss


def check_lcores(out, what):
    lcores = rss_model.per_lcore_counters(out)
    check(sorted(lcores) == [1, 2], f"{what}: per-lcore blocks {sorted(lcores)}")
    for lcore, c in lcores.items():
        check(c.get("rx_tcp_foreign", 0) == 0, f"{what}: lcore {lcore} handled segments it does not own: {c}")
        check(c.get("drop_steer_ring_full", 0) == 0, f"{what}: lcore {lcore} steering drops: {c}")
    return lcores


def kernel_clients():
    ns = Namespace("lctap")
    node = None
    clients = None
    try:
        node, rss = start_node(ns, "lk", ["--serve", "7"])
        ping = ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", DTCP_IP], check_rc=False)
        check(ping.returncode == 0, f"ping over 2 queues failed:\n{ping.stdout}{ping.stderr}")

        clients = ns.popen(["/usr/bin/python3", "-c", KERNEL_CLIENTS, str(KERNEL_CONNECTIONS), "2000", DTCP_IP],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = read_line(clients, 60, "the kernel clients' echoes").split()
        check(ready[0] == "READY" and int(ready[1]) == KERNEL_CONNECTIONS,
              f"kernel clients: {ready[:2]} of {KERNEL_CONNECTIONS} echoed correctly")
        ports = {int(p) for p in ready[2:]}
        check(len(ports) == KERNEL_CONNECTIONS, f"{len(ports)} distinct kernel source ports")

        # Every open connection is listed once, on the queue the model computes for it.
        node.proc.send_signal(signal.SIGUSR1)

        def listed():
            conns = [c for c in rss_model.connection_listing(node.stdout_text())
                     if c["state"] == "ESTABLISHED" and c["remote_ip"] == KERNEL_IP]
            return conns if len(conns) >= KERNEL_CONNECTIONS else None
        conns = wait_until(listed, 20, "the connection listing of both lcores")
        check(sorted(c["remote_port"] for c in conns) == sorted(ports), "listed connections differ from the kernel's")
        by_queue = [0, 0]
        for c in conns:
            owner = rss.owner(c["remote_ip"], c["remote_port"], c["local_ip"], c["local_port"])
            check(c["queue"] == owner and c["lcore"] == owner + 1,
                  f"connection from port {c['remote_port']} on queue {c['queue']}, the model says {owner}")
            by_queue[c["queue"]] += 1
        check(min(by_queue) > KERNEL_CONNECTIONS // 4, f"connections per queue {by_queue}: not spread")

        clients.stdin.write("GO\n")
        clients.stdin.flush()
        done = read_line(clients, 60, "the kernel clients to close").split()
        check(done == ["DONE", str(KERNEL_CONNECTIONS)], f"kernel clients closing: {done}")

        check(node.stop() == 0, f"dtcp-echo exited non-zero:\n{node.stderr_text()[-2000:]}")
        out = node.stdout_text()
        check("mbufs_in_use_after_shutdown 0" in out, f"mbufs leaked:\n{out[-1500:]}")
        lcores = check_lcores(out, "kernel clients")
        accepted = {lcore: c.get("tcp_conn_passive_opens", 0) for lcore, c in lcores.items()}
        check(sum(accepted.values()) == KERNEL_CONNECTIONS and min(accepted.values()) > 0,
              f"accepted per lcore {accepted}")
        total = rss_model.total_counters(out)
        if rss.mode == "software steering":
            check(total.get("steered_in", 0) > 0, f"the kernel's queue choice never needed steering: {total}")
        check(total.get("rx_icmp_echo_request", 0) == 3 and total.get("tx_icmp_echo_reply", 0) == 3,
              f"ping: {total}")
    finally:
        if clients is not None and clients.poll() is None:
            clients.kill()
            clients.wait()
        if node:
            node.cleanup()
        ns.delete()


def dtcp_clients():
    ns = Namespace("lctap2")
    node = None
    server = None
    try:
        server = ns.popen(["/usr/bin/python3", "-c", KERNEL_SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
        check(read_line(server, 20, "the kernel echo server").strip() == "LISTENING", "kernel server did not start")
        # --delay: the clients start once the tap has moved into the namespace and has its address.
        node, rss = start_node(ns, "ld", ["--connect", f"{KERNEL_IP}:5007", "--connections", str(DTCP_CONNECTIONS),
                                          "--concurrency", "50", "--bytes", "8K", "--delay", "1500",
                                          "--duration", "60"])
        node.proc.wait(timeout=90)
        out = node.stdout_text()
        check(node.proc.returncode == 0, f"dtcp clients failed:\n{node.stderr_text()[-2000:]}\n{out[-1500:]}")
        m = re.search(r"client: connections=(\d+) ok=(\d+) failed=(\d+) bytes_sent=(\d+) bytes_received=(\d+)", out)
        check(m is not None and int(m.group(2)) == DTCP_CONNECTIONS and int(m.group(3)) == 0,
              f"client summary: {m.group(0) if m else out[-1500:]}")
        check(int(m.group(4)) == int(m.group(5)) == DTCP_CONNECTIONS * 8192, f"byte totals: {m.group(0)}")
        check("mbufs_in_use_after_shutdown 0" in out, f"mbufs leaked:\n{out[-1500:]}")
        lcores = check_lcores(out, "dtcp clients")
        opened = {lcore: c.get("tcp_conn_active_opens", 0) for lcore, c in lcores.items()}
        check(opened == {1: DTCP_CONNECTIONS // 2, 2: DTCP_CONNECTIONS // 2}, f"active opens per lcore {opened}")
        # dtcp half-closed first, so its TIME-WAIT records remain: each on its owner's queue.
        records = [c for c in rss_model.connection_listing(out) if c["state"] == "TIME-WAIT"]
        check(len(records) == DTCP_CONNECTIONS, f"{len(records)} TIME-WAIT records listed")
        for c in records:
            owner = rss.owner(c["remote_ip"], c["remote_port"], c["local_ip"], c["local_port"])
            check(c["queue"] == owner, f"connection from local port {c['local_port']} on queue {c['queue']}, "
                                       f"the model says {owner}")
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        if node:
            node.cleanup()
        ns.delete()


def test():
    kernel_clients()
    dtcp_clients()


if __name__ == "__main__":
    main(test)
