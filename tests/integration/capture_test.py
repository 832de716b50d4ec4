"""Packet capture: dtcp's in-process pcapng writer (`--capture`, `/dtcp/capture`) and
dpdk-dumpcap attached to dtcp as a DPDK secondary process, each checked by reading the file
back with `tcpdump -r` and comparing its TCP segments with what the kernel's tcpdump saw on
the other end of the net_tap link, and by recovering an nc echo from the file (scapy): the
handshake, the bytes each way (sha256) and the close."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import Capture, Namespace, check, main, run, start_on_tap, wait_until  # noqa: E402

DTCP_IP = "198.18.6.1"
KERNEL_IP = "198.18.6.2"
KERNEL_MAC = "02:00:00:00:00:02"
HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
# A payload below one MSS: the kernel's tcpdump sees frames before GSO would split a larger
# write, so only single-segment writes compare frame for frame.
PAYLOAD = "capture-me-" * 40

# "198.18.6.2.40000 > 198.18.6.1.7: Flags [P.], seq 1:441, ack 1, win 502, ..., length 440"
SEGMENT = re.compile(r"(\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): Flags \[([^\]]*)\]"
                     r"(?:, seq ([\d:]+))?(?:, ack (\d+))?.*?, length (\d+)")


def segments(lines):
    """(src, sport, dst, dport, flags, seq, ack, length) of each TCP line of tcpdump -nn -S."""
    out = []
    for line in lines:
        m = SEGMENT.search(line)
        if m:
            out.append(m.groups())
    return out


def by_direction(segs):
    """Each direction in its own order: the two ends may see a segment each way in either order
    (the kernel's FIN can leave before dtcp's echo arrives, and reach dtcp after it left)."""
    return {src: [s for s in segs if s[0] == src] for src in (KERNEL_IP, DTCP_IP)}


def read_back(path, expr=()):
    """The file as `tcpdump -r` decodes it: fails if tcpdump cannot open or parse it."""
    result = run(["tcpdump", "-r", path, "-nn", "-S"] + list(expr))
    return [line for line in result.stdout.splitlines() if line.strip()]


def echo_in_file(path):
    """The port-7 connection as a reader of the file recovers it: each direction's payload put
    back together by sequence number (retransmissions overlap), and the flags seen each way."""
    from scapy.all import IP, TCP, rdpcap  # noqa: E402 (only this check needs scapy)
    chunks = {KERNEL_IP: {}, DTCP_IP: {}}
    flags = {KERNEL_IP: set(), DTCP_IP: set()}
    isn = {}
    for packet in rdpcap(path):
        if IP not in packet or TCP not in packet or 7 not in (packet[TCP].sport, packet[TCP].dport):
            continue
        ip, tcp = packet[IP], packet[TCP]
        flags[ip.src] |= {f for f in "SFR" if f in str(tcp.flags)}
        if "S" in str(tcp.flags):
            isn[ip.src] = tcp.seq
        length = ip.len - 4 * ip.ihl - 4 * tcp.dataofs  # frames shorter than 60 bytes are padded
        if length > 0 and ip.src in isn:
            chunks[ip.src][(tcp.seq - isn[ip.src] - 1) % 2**32] = bytes(tcp.payload)[:length]
    data = {}
    for src, parts in chunks.items():
        out = b""
        for offset in sorted(parts):
            if offset <= len(out):
                out = out[:offset] + parts[offset] + out[offset + len(parts[offset]):]
        data[src] = out
    return data, flags


def check_echo_in_file(path, what):
    """The handshake, the data both ways (sha256 of the bytes recovered from the file) and the close."""
    data, flags = echo_in_file(path)
    want = hashlib.sha256(PAYLOAD.encode()).hexdigest()
    for src in (KERNEL_IP, DTCP_IP):
        got = hashlib.sha256(data[src]).hexdigest()
        check(got == want, f"{what}: the bytes {src} sent, from the file: {len(data[src])} bytes, sha256 {got}, "
                           f"expected {len(PAYLOAD)} bytes, {want}")
        check({"S", "F"} <= flags[src], f"{what}: {src} sent flags {sorted(flags[src])}: no handshake or no close")


def capture_command(node, params):
    reply = node.telemetry("/dtcp/capture," + params)
    check(len(reply) == 1, f"telemetry reply: {reply}")
    return next(iter(reply.values()))


def echo_once(ns, port=7):
    out = ns.exec(["sh", "-c", f"printf '%s' {PAYLOAD} | nc -N {DTCP_IP} {port}"], timeout=30).stdout
    if port == 7:
        check(out == PAYLOAD, f"echo returned {len(out)} bytes")


def in_process(ns, work):
    startup_file = os.path.join(work, "startup.pcapng")
    # The flag starts a capture with the runtime: every port, both directions.
    node, ifname = start_on_tap(ns, "cap", "dtcp-echo", ["--serve", "7", "--sink", "9",
                                                         "--capture", f"file={startup_file}"],
                                DTCP_IP, KERNEL_IP, KERNEL_MAC)
    try:
        status = capture_command(node, "status")
        check(status.get("state") == "running", f"--capture did not start a capture: {status}")
        kernel = Capture(ns, ifname, ["-S", "tcp"])
        echo_once(ns)
        expected = by_direction(segments(kernel.lines()))
        check(len(expected[KERNEL_IP]) >= 4 and len(expected[DTCP_IP]) >= 3, f"kernel capture: {expected}")
        # The kernel's last ACK may still be on its way into dtcp: wait until the file holds it.
        wait_until(lambda: by_direction(segments(read_back(startup_file, ["tcp"]))) == expected, 10,
                   "dtcp's capture to hold the kernel's segments")
        status = capture_command(node, "stop")
        check(status.get("state") == "stopped" and status.get("ended") == "stopped", f"stop: {status}")
        got = segments(read_back(startup_file, ["tcp"]))
        check(by_direction(got) == expected, f"segments differ:\nkernel {expected}\ndtcp {by_direction(got)}")
        check_echo_in_file(startup_file, "in-process capture")
        check(status["dropped_no_mbuf"] == 0 and status["dropped_ring_full"] == 0, f"drops: {status}")
        check(status["packets_written"] == status["captured"] >= len(got), f"counters: {status}")
        check(status["bytes_written"] > 0, f"bytes_written: {status}")

        # Bad requests get an error naming what was wrong, and start nothing.
        reply = capture_command(node, "start,file=/tmp/never.pcapng,dir=up")
        check(reply.get("error") == "capture dir: expected rx, tx or both, got 'up'", f"bad dir: {reply}")
        reply = capture_command(node, f"start,file={work}/never.pcapng,port=nosuch")
        check("no port named 'nosuch'" in reply.get("error", ""), f"bad port: {reply}")
        check(not os.path.exists(f"{work}/never.pcapng"), "a refused start created its file")

        # Received frames only, to port 9 only, 3 of them: the sink's SYN, ACK and data, none of
        # the echo connection made first.
        filtered_file = os.path.join(work, "filtered.pcapng")
        reply = capture_command(node, f"start,file={filtered_file},dir=rx,filter=9,count=3")
        check(reply.get("state") == "running", f"start: {reply}")
        echo_once(ns, 7)
        echo_once(ns, 9)
        wait_until(lambda: capture_command(node, "status").get("state") == "stopped", 10,
                   "the capture to stop at its packet limit")
        status = capture_command(node, "status")
        check(status.get("ended") == "count reached", f"limit: {status}")
        got = segments(read_back(filtered_file))
        check(len(got) == 3, "count=3 wrote:\n" + "\n".join(map(str, got)))
        check(all(s[0] == KERNEL_IP and s[3] == "9" for s in got), "dir=rx,filter=9 wrote:\n" +
              "\n".join(map(str, got)))
        check(got[0][4] == "S", f"first frame is not the SYN: {got[0]}")

        # Transmitted frames only, under a byte limit: the packet blocks stop short of it.
        bytes_file = os.path.join(work, "bytes.pcapng")
        reply = capture_command(node, f"start,file={bytes_file},dir=tx,bytes=600,port=0")
        check(reply.get("state") == "running", f"start: {reply}")
        echo_once(ns, 7)
        wait_until(lambda: capture_command(node, "status").get("state") == "stopped", 10,
                   "the capture to stop at its byte limit")
        status = capture_command(node, "status")
        check(status.get("ended") == "bytes reached" and 0 < status["bytes_written"] <= 600, f"bytes: {status}")
        got = segments(read_back(bytes_file))
        check(got and all(s[0] == DTCP_IP for s in got), "dir=tx wrote:\n" + "\n".join(map(str, got)))

        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in node.stdout_text(), "mbufs leaked")
    finally:
        node.cleanup()


def dumpcap(ns, work):
    """dpdk-dumpcap needs shared memory: dtcp runs on 2 MB hugepages in a private hugetlbfs."""
    binary = shutil.which("dpdk-dumpcap")
    if binary is None:
        print("SKIP dumpcap: dpdk-dumpcap is not installed (Debian package dpdk)")
        return
    with open(HUGEPAGES) as f:
        saved_pages = int(f.read())
    huge_dir = tempfile.mkdtemp(prefix="dtcp-huge-")
    mounted = False
    node = dumper = None
    try:
        with open(HUGEPAGES, "w") as f:
            f.write(str(saved_pages + 256))  # 512 MB: dtcp's pools and dumpcap's
        run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", huge_dir])
        mounted = True
        # After "--" these replace the default --no-huge --no-shconf.
        node, ifname = start_on_tap(ns, "dcp", "dtcp-echo", ["--serve", "7", "--", f"--huge-dir={huge_dir}"],
                                    DTCP_IP, KERNEL_IP, KERNEL_MAC, extra_config="[mempool]\nmbufs = 4095\n")
        check("dpdk-dumpcap cannot attach" not in node.stderr_text(), node.stderr_text()[-1000:])
        out_file = os.path.join(work, "dumpcap.pcapng")
        # stdbuf: dumpcap's "Capturing on" would otherwise wait in a full pipe buffer until exit.
        # -p: setting promiscuous mode fails on net_tap (-25) and is not needed: frames are to dtcp.
        dumper = subprocess.Popen(["stdbuf", "-oL", binary, f"--file-prefix=dtcp{node.proc.pid}", "-p",
                                   "-i", "net_tap0", "-w", out_file],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = []
        reader = threading.Thread(target=lambda: output.extend(dumper.stdout), daemon=True)
        reader.start()

        def capturing():
            check(dumper.poll() is None, "dpdk-dumpcap exited:\n" + "".join(output))
            return any("Capturing on" in line for line in output)
        wait_until(capturing, 30, "dpdk-dumpcap to attach")
        # dumpcap may say "Capturing on" before the primary has installed its callbacks: pings
        # until one shows in the file, so the connection below is captured from its SYN.
        def pinged_and_captured():
            ns.exec(["ping", "-c", "1", "-W", "1", DTCP_IP], check_rc=False)
            # Until dumpcap has written its headers tcpdump cannot open the file.
            seen = run(["tcpdump", "-r", out_file, "-nn", "icmp"], check_rc=False).stdout
            return "ICMP echo reply" in seen
        wait_until(pinged_and_captured, 20, "dpdk-dumpcap's file to show a ping", interval=0.2)
        kernel = Capture(ns, ifname, ["-S", "tcp"])
        echo_once(ns)
        expected = by_direction(segments(kernel.lines()))
        check(expected[DTCP_IP] and expected[KERNEL_IP], f"kernel capture: {expected}")
        # dumpcap writes what it takes off its ring at once, but drops what is still on it at exit.
        wait_until(lambda: by_direction(segments(read_back(out_file, ["tcp"]))) == expected, 10,
                   "dpdk-dumpcap's file to hold the kernel's segments")
        dumper.send_signal(signal.SIGINT)
        dumper.wait(timeout=20)
        got = by_direction(segments(read_back(out_file, ["tcp"])))
        check(got == expected, f"dumpcap's segments differ from the kernel's:\nkernel {expected}\ndumpcap {got}\n" +
              "".join(output))
        check(any("Packets received/dropped on interface 'net_tap0'" in line and "/0 " in line for line in output),
              "dumpcap reported drops:\n" + "".join(output))
        check_echo_in_file(out_file, "dpdk-dumpcap")
        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
    finally:
        if dumper is not None and dumper.poll() is None:
            dumper.kill()
            dumper.wait()
        if node is not None:
            node.cleanup()
        if mounted:
            subprocess.run(["umount", huge_dir], capture_output=True)
        os.rmdir(huge_dir)
        with open(HUGEPAGES, "w") as f:
            f.write(str(saved_pages))


def test():
    ns = Namespace("cap")
    work = tempfile.mkdtemp(prefix="dtcp-capture-")
    try:
        in_process(ns, work)
        dumpcap(ns, work)
    finally:
        ns.delete()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(test)
