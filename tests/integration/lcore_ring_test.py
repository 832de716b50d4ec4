"""Two dtcp stacks over a net_ring pair with 2 queues each, polled by 2 worker lcores (queue q of
both ports on lcore q+1): thousands of connections both ways, each echoing data verified byte for
byte, each client's connections opened on both lcores, which its coordinator asked by cross-lcore
message. Port b has a range of addresses and a's clients connect to the last of them.

net_ring has no RSS, so both ports steer in software. Two runs:
- the same RETA on both sides: a connection's frames are sent on the owner's queue and arrive on
  the peer's owner queue, so nothing may be steered at all; this proves active open picks source
  ports that land on the connecting queue;
- swapped RETAs (b: 1,0): every TCP frame arrives on the wrong queue and must be steered, so
  steered_in equals rx_tcp on each side.
In both, per-lcore counters show that no queue ever handed TCP a segment it does not own
(rx_tcp_foreign), and every connection in the listings sits on the queue an independent Toeplitz
model (rss_model.py) computes from the logged key and RETA."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, check, main  # noqa: E402
import rss_model  # noqa: E402

SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
# DTCP_TEST_FAMILY=ipv6 runs the same test over IPv6 (meson test lcore_ring_ipv6): the owner of
# every connection is then the Toeplitz hash of the 36-byte IPv6 tuple.
IPV6 = os.environ.get("DTCP_TEST_FAMILY") == "ipv6"
A_ADDR, B_ADDR = ("2001:db8:1::1", "2001:db8:1::2") if IPV6 else ("198.18.1.1", "198.18.1.2")
# Port b owns a range of addresses; a connects to the last one, not the primary: software
# steering must send those frames to their owner too (it once steered only the primary address).
B_LAST = "2001:db8:1::5" if IPV6 else "198.18.1.5"
A_EP, B_EP = (f"[{A_ADDR}]", f"[{B_LAST}]") if IPV6 else (A_ADDR, B_LAST)
PREFIX = 64 if IPV6 else 24
# The IPv6 run also goes through the impairment layer: loss, duplication and reordering on
# receive at both ports (seeded), so recovery and steering run over IPv6 with every byte checked.
IMPAIR_A = "rx_loss = 0.005\nrx_duplicate = 0.002\nrx_reorder = 0.005\nrx_seed = 61" if IPV6 else ""
IMPAIR_B = "rx_loss = 0.005\nrx_duplicate = 0.002\nrx_reorder = 0.005\nrx_seed = 62" if IPV6 else ""
CONNECTIONS = 300 if SANITIZED else 2000  # per direction
SIZE = 8 * 1024


def config(b_reta):
    pair = f"l{os.getpid() % 1000000}"
    return f"""
[port.a]
ring = {pair}:0
address = {A_ADDR}/{PREFIX}
mac = 02:00:00:00:01:01
dad_transmits = 0
{IMPAIR_A}
queues = 2
lcores = 1,2
[port.b]
ring = {pair}:1
address = {B_ADDR}-{B_LAST}/{PREFIX}
mac = 02:00:00:00:01:02
dad_transmits = 0
{IMPAIR_B}
queues = 2
lcores = 1,2
{"reta = " + b_reta if b_reta else ""}
[runtime]
; 2 workers + the main lcore may outnumber this machine's cores: back off when idle.
idle = auto
"""


def run(b_reta, tag):
    proc = DtcpProcess("dtcp-echo", config(b_reta),
                       ["--serve", "7", "--connect", f"a:{B_EP}:7", "--connect", f"b:{A_EP}:7",
                        "--connections", str(CONNECTIONS), "--concurrency", "64", "--bytes", str(SIZE),
                        "--duration", "100", "--per-lcore"], tag=tag)
    try:
        proc.proc.wait(timeout=150)
        out, err = proc.stdout_text(), proc.stderr_text()
        check(proc.proc.returncode == 0, f"dtcp-echo exited {proc.proc.returncode}\n{err[-3000:]}\n{out[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in out, f"mbufs leaked:\n{out[-1500:]}")

        # Both clients: every connection echoed every byte (dtcp-echo compares each byte).
        for side, target in (("a", B_EP), ("b", A_EP)):
            m = re.search(rf"client: connections=(\d+) ok=(\d+) failed=(\d+) bytes_sent=(\d+) bytes_received=(\d+) "
                          rf"{side}->{re.escape(target)}:7", out)
            check(m is not None, f"no summary for client {side}:\n{out[-2000:]}")
            check(int(m.group(2)) == CONNECTIONS and int(m.group(3)) == 0, f"client {side}: {m.group(0)}")
            check(int(m.group(4)) == CONNECTIONS * SIZE and int(m.group(5)) == CONNECTIONS * SIZE,
                  f"client {side} byte totals: {m.group(0)}")
            m = re.search(rf"per_queue=(\d+),(\d+) {side}->", out)
            check(m is not None and int(m.group(1)) == CONNECTIONS // 2 and int(m.group(2)) == CONNECTIONS // 2,
                  f"client {side} connections per queue: {m.group(0) if m else out[-1000:]}")

        # The idle policy matches the machine: 3 lcores (main + 2 workers) against its CPUs.
        cpus = len(os.sched_getaffinity(0))
        expected = "adaptive" if 3 > cpus else "busy"
        check(f"idle policy {expected} (auto)" in err, f"expected idle policy {expected} on {cpus} CPUs:\n{err[-1500:]}")

        # Per lcore: each owns half of every kind of connection and never saw a foreign segment.
        lcores = rss_model.per_lcore_counters(out)
        check(sorted(lcores) == [1, 2], f"per-lcore blocks: {sorted(lcores)}")
        for lcore, c in lcores.items():
            check(c.get("rx_tcp_foreign", 0) == 0, f"lcore {lcore} handled segments it does not own: {c}")
            check(c.get("tcp_conn_active_opens", 0) == CONNECTIONS, f"lcore {lcore} active opens: {c}")
            check(c.get("tcp_conn_passive_opens", 0) == CONNECTIONS, f"lcore {lcore} passive opens: {c}")
            check(c.get("drop_steer_ring_full", 0) == 0 and c.get("drop_msg_ring_full", 0) == 0,
                  f"lcore {lcore} ring drops: {c}")
            # Each lcore was asked by message to open its share of each client's connections.
            check(c.get("msg_run", 0) >= 2, f"lcore {lcore} messages: {c}")
        total = rss_model.total_counters(out)
        # Per client and queue: "start" to the queue's lcore, "finished" back to the coordinator.
        check(total.get("msg_run", 0) >= 8, f"messages run: {total.get('msg_run')}")
        if IPV6:
            check(total.get("nd_entries_from_peers", 0) >= 2 and total.get("drop_nd_unresolved", 0) == 0,
                  f"neighbour mappings were not shared between the queues: {total}")
            check(total.get("rx_ipv4", 0) == 0 and total.get("rx_tcp6", 0) == total.get("rx_tcp", 0),
                  f"IPv4 traffic in the IPv6 run: {total}")
        else:
            check(total.get("arp_entries_from_peers", 0) >= 2 and total.get("drop_arp_unresolved", 0) == 0,
                  f"ARP mappings were not shared between the queues: {total}")

        # Every connection left (TIME-WAIT records of the clients) sits on the queue the model
        # computes; none appears twice.
        rss = {p: rss_model.port_rss(err, f"[port.{p}]") for p in ("a", "b")}
        for p, r in rss.items():
            check(r is not None and r.mode == "software steering", f"port {p} rss line: {err[-1500:]}")
        headers = re.findall(r"# connections lcore (\d+) port (\S+) queue (\d+): (\d+) in use", out)
        check(len(headers) == 4 and all(h[3] == "0" for h in headers), f"connections left open: {headers}")
        listing = rss_model.connection_listing(out)
        seen = set()
        for c in listing:
            key = (c["port"], c["local_port"], c["remote_ip"], c["remote_port"])
            check(key not in seen, f"connection listed twice: {c}")
            seen.add(key)
            owner = rss[c["port"]].owner(c["remote_ip"], c["remote_port"], c["local_ip"], c["local_port"])
            check(owner == c["queue"] and c["lcore"] == c["queue"] + 1,
                  f"connection on lcore {c['lcore']} queue {c['queue']}, owner by the model: queue {owner}: {c}")
        expected_listed = 2 * min(CONNECTIONS // 2, 1000) * 2  # 1000 shown per queue
        check(len(listing) == expected_listed, f"{len(listing)} connections listed, expected {expected_listed}")
        return lcores, total
    finally:
        proc.cleanup()


def test():
    lcores, total = run(None, "lcring")
    # Same RETA both sides: active open chose ports that land on the connecting queue, so no
    # frame needed steering.
    for lcore, c in lcores.items():
        check(c.get("steered_in", 0) == 0 and c.get("steered_out", 0) == 0 and c.get("rx_tcp", 0) > 0,
              f"lcore {lcore} steered frames although both RETAs agree: {c}")

    lcores, total = run("1,0", "lcring-swap")
    # Opposite RETAs: every TCP frame arrived on the other queue and was steered to its owner.
    for lcore, c in lcores.items():
        check(c.get("steered_in", 0) > 0 and c.get("steered_out", 0) > 0, f"lcore {lcore} steered nothing: {c}")
    check(total.get("steered_in") == total.get("steered_out") == total.get("rx_tcp"),
          f"steered_in/out should equal rx_tcp: {total}")


if __name__ == "__main__":
    main(test)
