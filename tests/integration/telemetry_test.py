"""Operating a running dtcp (issue #14): while traffic is in flight, /dtcp/stats, /dtcp/conns,
/dtcp/listeners, /dtcp/config and /dtcp/ports answer on DPDK's telemetry socket with what the
traffic implies, and tools/dtcp-ss lists exactly the connections a kernel peer holds.

1. net_ring, one process: dtcp-loadgen with 16 persistent HTTP connections to its own server.
   CurrEstab 32, ActiveOpens = PassiveOpens = 16, InSegs growing and matching the segments sent
   (both ends are in the process), per-lcore blocks summing to the total, the listing and its
   filters, the effective configuration, the port statistics, the MIB at exit.
2. net_tap, the kernel in a namespace as the peer: 3 connections held open to an echo port and
   2 that read a source port to its close (dtcp closed first: TIME-WAIT on dtcp's side).
   dtcp-ss lists those 5 by the kernel's own ports, its state and port filters select exactly
   what they should, -l the two listeners; dtcp's InSegs equals the namespace's Tcp OutSegs
   (/proc/net/snmp) once the link is quiet. Then the kernel backend of dtcp-loadgen runs 8 echo
   connections over the tap: while it runs, CurrEstab is 11, InSegs grows, the listing shows
   them, /dtcp/config answers."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, TestFailure, check, main, start_on_tap, tool, wait_until  # noqa: E402

PID = os.getpid()
SS = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "dtcp-ss")


def dtcp_ss(pid, *args):
    r = subprocess.run([sys.executable, SS, "--pid", str(pid)] + list(args), capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"dtcp-ss {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def ss_json(pid, *args):
    return json.loads(dtcp_ss(pid, "--json", *args))


def ring_config():
    return f"""
[port.a]
ring = tm{PID % 1000000}:0
address = 198.18.1.1/24
mac = 02:00:00:00:01:01
[port.b]
ring = tm{PID % 1000000}:1
address = 198.18.1.2/24
mac = 02:00:00:00:01:02
[tcp]
max_connections = 4096
"""


def test_ring():
    connections = 16
    proc = DtcpProcess("dtcp-loadgen", ring_config(),
                       ["--serve-http", "b:80", "--target", "198.18.1.2:80", "--connections", str(connections),
                        "--duration", "10", "--delay", "1", "--quiet"], tag="telring")
    try:
        proc.wait_running()
        pid = proc.proc.pid

        def opened():
            total = proc.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]
            return total["CurrEstab"] == 2 * connections
        wait_until(opened, 15, "the load generator's connections to open")
        first = proc.telemetry("/dtcp/stats")["/dtcp/stats"]
        later = {}

        def moved():  # a later snapshot, published after more segments arrived
            later["stats"] = proc.telemetry("/dtcp/stats")["/dtcp/stats"]
            return later["stats"]["total"]["InSegs"] > first["total"]["InSegs"]
        wait_until(moved, 10, "InSegs to grow under the load")
        stats = later["stats"]
        total = stats["total"]
        check(total["ActiveOpens"] == connections and total["PassiveOpens"] == connections,
              f"opens: {total['ActiveOpens']} active, {total['PassiveOpens']} passive, expected {connections} each")
        check(total["CurrEstab"] == 2 * connections, f"CurrEstab {total['CurrEstab']}, expected {2 * connections}")
        check(total["AttemptFails"] == 0 and total["EstabResets"] == 0 and total["InErrs"] == 0,
              f"failures in a clean run: {total}")
        check(total["InSegs"] > first["total"]["InSegs"] > 0, f"InSegs not growing: {first['total']['InSegs']} -> {total['InSegs']}")
        # Both ends run in this process: what was sent was received, but for what is in flight
        # and the 10 ms between two lcores' published snapshots.
        sent = total["OutSegs"] + total["RetransSegs"]
        check(abs(sent - total["InSegs"]) <= total["InSegs"] // 20 + 2000,
              f"segments sent {sent} vs received {total['InSegs']}")
        lcores = {k: v for k, v in stats.items() if k.startswith("lcore_")}
        check(len(lcores) == 2, f"per-lcore blocks: {sorted(stats)}")
        for name in ("InSegs", "OutSegs", "ActiveOpens", "CurrEstab"):
            check(sum(b[name] for b in lcores.values()) == total[name], f"{name}: lcores {lcores} do not sum to the total")
        check(stats["mbufs_capacity"] > 0 and 0 < stats["mbufs_in_use"] < stats["mbufs_capacity"], f"pool: {stats}")
        one = proc.telemetry("/dtcp/stats," + sorted(lcores)[0][len("lcore_"):])["/dtcp/stats"]
        check(list(one) == [sorted(lcores)[0]], f"/dtcp/stats,LCORE gave {sorted(one)}")

        # The listing: 16 client and 16 server connections; filters by port.
        conns = ss_json(pid)
        check(len(conns) == 2 * connections and all(c["state"] == "ESTAB" for c in conns),
              f"dtcp-ss listed {[(c['state'], c['local'], c['peer']) for c in conns]}")
        servers = ss_json(pid, "sport = :80")
        check(len(servers) == connections and all(c["local"] == "198.18.1.2:80" for c in servers),
              f"sport = :80 gave {[(c['local'], c['peer']) for c in servers]}")
        clients = ss_json(pid, "state", "established", "( dport = :80 )")
        check(len(clients) == connections and all(c["peer"] == "198.18.1.2:80" for c in clients),
              f"dport = :80 gave {[(c['local'], c['peer']) for c in clients]}")
        check({c["local"] for c in clients} == {c["peer"] for c in servers}, "clients and servers do not pair up")
        check(all(c["bytes_acked"] > 0 and c["bytes_received"] > 0 and c["srtt_us"] > 0 for c in clients),
              f"-i details: {clients[0]}")
        check(ss_json(pid, "state", "time-wait") == [], "TIME-WAIT entries in a run that closed nothing")
        listeners = ss_json(pid, "-l")
        check([(l["state"], l["local"]) for l in listeners] == [("LISTEN", "*:80")], f"-l gave {listeners}")
        summary = dtcp_ss(pid, "-s")
        check(f"estab {2 * connections}," in summary, f"dtcp-ss -s:\n{summary}")
        text = dtcp_ss(pid, "-tni")
        check(len(re.findall(r"^ESTAB ", text, re.M)) == 2 * connections and "bytes_acked:" in text,
              f"dtcp-ss -tni:\n{text[:1500]}")
        # Pages: one entry per reply, resumed by cursor, list the same connections.
        paged, cursor = [], 0
        for _ in range(200):
            page = proc.telemetry(f"/dtcp/conns,brief=1,limit=1,cursor={cursor}")["/dtcp/conns"]
            paged += [(c["local"], c["peer"]) for c in page["conns"].values()]
            if "next" not in page:
                break
            cursor = page["next"]
        check(sorted(paged) == sorted((c["local"], c["peer"]) for c in conns), f"paged listing: {paged}")
        bad = proc.telemetry("/dtcp/conns,state=nonsense")["/dtcp/conns"]
        check("unknown state" in bad.get("error", ""), f"a bad filter: {bad}")

        config = proc.telemetry("/dtcp/config")["/dtcp/config"]
        check(config["tcp"]["max_connections"] == "4096" and config["port_a"]["address"] == "198.18.1.1/24",
              f"/dtcp/config: tcp {config.get('tcp', {}).get('max_connections')}, port_a {config.get('port_a')}")
        ports = proc.telemetry("/dtcp/ports")["/dtcp/ports"]
        check(ports["port_a"]["driver"] == "net_ring" and ports["port_a"]["ipackets"] > 0 and
              ports["port_b"]["addresses"] == "198.18.1.2/24", f"/dtcp/ports: {ports}")

        proc.proc.wait(timeout=60)
        out = proc.stdout_text()
        m = re.search(r"^ActiveOpens\s+(\d+)", out, re.M)
        check(m is not None and int(m.group(1)) == connections, f"the MIB at exit:\n{out[:1200]}")
    finally:
        proc.cleanup()


# The kernel side: holds 3 echo connections, reads 2 source connections to their end, prints
# its local ports, then waits for stdin to close.
KERNEL_CLIENT = r"""
import json, socket, sys
held, drained = [], []
for _ in range(3):
    s = socket.create_connection(("198.18.7.1", 7), timeout=10)
    s.sendall(b"hello")
    got = b""
    while len(got) < 5:
        got += s.recv(5 - len(got))
    held.append(s)
for _ in range(2):
    s = socket.create_connection(("198.18.7.1", 10), timeout=10)
    n = 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        n += len(chunk)
    assert n == 1000, n
    drained.append(s.getsockname()[1])
    s.close()
print(json.dumps({"held": [s.getsockname()[1] for s in held], "drained": drained}), flush=True)
sys.stdin.read()
"""


def kernel_snmp(ns):
    lines = [l.split() for l in ns.exec(["cat", "/proc/net/snmp"]).stdout.splitlines() if l.startswith("Tcp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def test_tap():
    ns = Namespace("tel")
    node = client = None
    try:
        node, _ = start_on_tap(ns, "tel", "dtcp-echo", ["--serve", "7", "--source", "10", "--bytes", "1000"],
                               "198.18.7.1", "198.18.7.2", "02:00:00:00:07:02", extra_config="[tcp]\nmsl = 60s\n")
        pid = node.proc.pid
        client = ns.popen([sys.executable, "-c", KERNEL_CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
        line = client.stdout.readline()
        check(line, f"the kernel client printed nothing: {client.stderr.read() if client.poll() is not None else ''}")
        ports = json.loads(line)
        held = {f"198.18.7.2:{p}" for p in ports["held"]}
        drained = {f"198.18.7.2:{p}" for p in ports["drained"]}

        def settled():
            return {c["state"] for c in ss_json(pid, "-a") if c["peer"] in drained} == {"TIME-WAIT"}
        wait_until(settled, 10, "dtcp's source connections to reach TIME-WAIT")
        listed = {(c["state"], c["local"], c["peer"]) for c in ss_json(pid, "-a") if c["state"] != "LISTEN"}
        expected = {("ESTAB", "198.18.7.1:7", p) for p in held} | {("TIME-WAIT", "198.18.7.1:10", p) for p in drained}
        check(listed == expected, f"dtcp-ss -a listed {sorted(listed)}, expected {sorted(expected)}")
        # Without -a, as ss: connected sockets only, no TIME-WAIT, no listeners.
        default = {(c["state"], c["peer"]) for c in ss_json(pid)}
        check(default == {("ESTAB", p) for p in held}, f"dtcp-ss (no -a) listed {sorted(default)}")
        tw = {c["peer"] for c in ss_json(pid, "state", "time-wait")}
        check(tw == drained, f"state time-wait gave {tw}, expected {drained}")
        est = {c["peer"] for c in ss_json(pid, "state", "established", "( sport = :7 )")}
        check(est == held, f"state established ( sport = :7 ) gave {est}, expected {held}")
        check(ss_json(pid, "state", "established", "( sport = :10 )") == [], "established on :10")
        check({c["peer"] for c in ss_json(pid, "-a", "exclude", "time-wait", "exclude", "listening")} == held,
              "-a exclude time-wait exclude listening")
        check({c["peer"] for c in ss_json(pid, "state", "bucket")} == drained, "state bucket")
        one = sorted(held)[0]
        only = ss_json(pid, f"dport = :{one.split(':')[1]}")
        check([c["peer"] for c in only] == [one], f"dport = :{one.split(':')[1]} gave {only}")
        listeners = sorted(l["local"] for l in ss_json(pid, "-l"))
        check(listeners == ["*:10", "*:7"], f"-l gave {listeners}")
        check(len(ss_json(pid, "-a")) == 7, "-a: 5 connections and 2 listeners")
        estab_i = ss_json(pid, "sport = :7")
        check(all(c["bytes_received"] == 5 and c["bytes_acked"] == 5 for c in estab_i),
              f"bytes of the echo connections: {[(c['bytes_received'], c['bytes_acked']) for c in estab_i]}")
        # The kernel's view of the same 3 connections.
        kernel = ns.exec(["ss", "-Htn", "state", "established"]).stdout
        kernel_peers = {re.split(r"\s+", l.strip())[-2] for l in kernel.splitlines() if l.strip()}
        check(kernel_peers == held, f"the kernel holds {kernel_peers}, dtcp-ss listed {held}")
        # Counters against the kernel's: every segment the namespace sent, dtcp received. Read
        # until both sides agree (delayed ACKs out, dtcp's snapshot published), or the deadline.
        seen = {}

        def agreed():
            seen["snmp"] = kernel_snmp(ns)
            seen["total"] = node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]
            return (seen["total"]["InSegs"] == seen["snmp"]["OutSegs"] and
                    seen["total"]["OutSegs"] + seen["total"]["RetransSegs"] == seen["snmp"]["InSegs"])
        try:
            wait_until(agreed, 10, "dtcp's segment counts to match the namespace's", interval=0.1)
        except TestFailure:
            pass  # the checks below say by how much they differ
        snmp, total = seen["snmp"], seen["total"]
        check(abs(total["InSegs"] - snmp["OutSegs"]) <= 2,
              f"dtcp InSegs {total['InSegs']}, the namespace's Tcp OutSegs {snmp['OutSegs']}")
        check(abs(total["OutSegs"] + total["RetransSegs"] - snmp["InSegs"]) <= 2,
              f"dtcp sent {total['OutSegs']}+{total['RetransSegs']}, the namespace's Tcp InSegs {snmp['InSegs']}")
        check(total["PassiveOpens"] == 5 and total["CurrEstab"] == 3 and snmp["CurrEstab"] == 3,
              f"PassiveOpens {total['PassiveOpens']} CurrEstab {total['CurrEstab']} (kernel {snmp['CurrEstab']})")
        summary = dtcp_ss(pid, "-s")
        check("estab 3," in summary and "timewait 2," in summary, f"dtcp-ss -s:\n{summary}")

        # A load generator in flight over the tap: the kernel backend's 8 echo connections
        # appear in the counters and the listing while they run, beside the 3 held ones.
        before = node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]
        load = ns.popen([tool("dtcp-loadgen"), "--backend", "kernel", "--target", "198.18.7.1:7", "--protocol", "raw",
                         "--mode", "rr", "--connections", "8", "--duration", "4", "--quiet", "--json", "-"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]["CurrEstab"] == 11, 10,
                       "the load generator's 8 connections")
            first = node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]
            latest = {}

            def moved():
                latest["total"] = node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]
                return latest["total"]["InSegs"] > first["InSegs"] and latest["total"]["OutSegs"] > first["OutSegs"]
            wait_until(moved, 10, "the counters to move under the load")
            during = latest["total"]
            check(during["InSegs"] > first["InSegs"] > before["InSegs"] and during["OutSegs"] > first["OutSegs"],
                  f"InSegs {before['InSegs']} -> {first['InSegs']} -> {during['InSegs']} during the load")
            check(during["PassiveOpens"] == 13 and during["CurrEstab"] == 11,
                  f"during the load: PassiveOpens {during['PassiveOpens']}, CurrEstab {during['CurrEstab']}")
            on_echo = ss_json(pid, "state", "established", "sport = :7")
            check(len(on_echo) == 11 and held <= {c["peer"] for c in on_echo},
                  f"during the load, ESTAB on :7: {[c['peer'] for c in on_echo]}")
            config = node.telemetry("/dtcp/config")["/dtcp/config"]
            check(config["port"]["address"] == "198.18.7.1/24" and config["tcp"]["msl"] == "60s",
                  f"/dtcp/config during the load: port {config.get('port')}, msl {config.get('tcp', {}).get('msl')}")
            out, err = load.communicate(timeout=60)
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
        check(load.returncode == 0, f"the kernel load generator failed ({load.returncode}): {err[-1500:]}")
        result = json.loads(out[out.index('{"tool"'):].splitlines()[0])
        check(result["errors"]["total"] == 0 and result["totals"]["requests"] > 0, f"load: {result['errors']}")
        wait_until(lambda: node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]["CurrEstab"] == 3, 10,
                   "the load generator's connections to close")
        # The kernel closes its 3 connections; dtcp's echo closes its side and stops clean.
        client.stdin.close()
        client.wait(timeout=10)
        wait_until(lambda: node.telemetry("/dtcp/stats")["/dtcp/stats"]["total"]["CurrEstab"] == 0, 10,
                   "the echo connections to close")
        check(node.stop() == 0, "dtcp-echo did not exit 0")
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait()
        if node is not None:
            node.cleanup()
        ns.delete()


def test():
    test_ring()
    test_tap()


if __name__ == "__main__":
    main(test)
