"""dtcp's SACK loss recovery against the Linux kernel over net_tap, read from tcpdump captures.

1. Linux sends into dtcp's sink while dtcp's port drops received frames: dtcp, the SACK receiver,
   reports the holes in SACK blocks that stay within what Linux sent, Linux resends the holes and
   never data dtcp SACKed, and the sink's sha256 matches.
2. dtcp's source sends to a kernel reader while dtcp's port drops transmitted frames: Linux's ACKs
   carry SACK blocks and every segment dtcp resends lies in a hole between a cumulative ACK and
   a SACK block Linux sent before it (RFC 6675 / RFC 8985), timeouts are rare, and no more than
   1.5 times the dropped payload is resent; the kernel's sha256 matches dtcp-echo's pattern.
3. A single tail loss: the last of ten segments (it carries the FIN) is dropped once; a tail loss
   probe (RFC 8985 §7) resends it, whole with its FIN, and no timeout fires. With the other nine
   acknowledged, one segment is in flight, so the probe waits 2 * SRTT + the peer's worst delayed
   ACK (200 ms in the Linux profile), clamped to the RTO it replaces (RFC 8985 §7.2, as Linux).

The capture runs on the kernel's side of the tap, so it holds everything Linux sent (dtcp's
receive impairment drops frames after the wire) but only what dtcp's transmit impairment let
through. Sequence numbers are printed absolute (tcpdump -S) and made relative to the ISN here.
"""
import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Capture, Namespace, TestFailure, check, main, start_on_tap  # noqa: E402

DTCP_IP = "198.18.8.1"
KERNEL_IP = "198.18.8.2"
KERNEL_MAC = "02:00:00:00:08:02"
PYTHON = "/usr/bin/python3"
SANITIZED = os.environ.get("DTCP_SANITIZED", "0") == "1"
BULK_BYTES = (2 if SANITIZED else 8) << 20
MSS = 1448  # 1460 less the timestamps option, on both sides

# The Linux profile: 200 ms minimum RTO, so a tail loss probe and a timeout are far apart.
TCP_KEYS = "[tcp]\nprofile = linux\n"

# Kernel side of test 1: sends seeded random bytes, half-closes, waits for dtcp's FIN. TCP_CORK
# holds the last partial segment until shutdown(), so the FIN rides on it (without, it may go
# alone, depending on timing).
SENDER = """
import hashlib, random, socket, sys
data = random.Random(int(sys.argv[3])).randbytes(int(sys.argv[4]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
while s.recv(1 << 16):
    pass
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""

# Kernel side of tests 2 and 3: reads until dtcp's FIN, prints the byte count and sha256.
READER = """
import hashlib, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
h = hashlib.sha256()
n = 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
"""

M64 = (1 << 64) - 1


def pattern_sha256(seed, size):
    """sha256 of what dtcp-echo's --source sends: tools/common/sha256.hpp fill_pattern(), whose
    byte at offset p is byte p % 8 (little-endian) of splitmix64(seed * golden + p / 8 + 1)."""
    h = hashlib.sha256()
    base = (seed * 0x9E3779B97F4A7C15) & M64
    words = (size + 7) // 8
    for start in range(0, words, 8192):
        chunk = bytearray()
        for k in range(start, min(words, start + 8192)):
            z = (base + k + 1) & M64
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            chunk += (z ^ (z >> 31)).to_bytes(8, "little")
        h.update(bytes(chunk[: max(0, size - start * 8)]))
    return h.hexdigest()


def impairment_drops(seed, loss, frames):
    """Which of the first `frames` frames src/dpdk/impairment.hpp drops: its xorshift64* generator
    seeded with seed | 1 draws one number per frame, and with loss the only fraction set, that draw
    is the only one (loss < u, u in [0, 1) from the top 53 bits, keeps the frame)."""
    state = (seed | 1) & M64
    drops = []
    for _ in range(frames):
        state ^= state >> 12
        state ^= (state << 25) & M64
        state ^= state >> 27
        u = (((state * 0x2545F4914F6CDD1D) & M64) >> 11) * 2.0 ** -53
        drops.append(u < loss)
    return drops


# Test 3's frames from dtcp's port, in order: 0 the gratuitous ARP at start, 1 the ARP reply to
# the kernel's request, 2 the SYN-ACK, 3..12 the ten data segments (12: the last, with FIN), then
# the probe and the ACK of the kernel's FIN. Seed 414 at 5 % loss drops frame 12 and no other of
# the first 40 (found by trying seeds from 1 up with impairment_drops(); the test checks it).
TAIL_SEGMENTS = 10
TAIL_FRAME = 12
TAIL_LOSS = 0.05
TAIL_SEED = 414


# ---- capture parsing ----

LINE = re.compile(r"^(\d+):(\d+):(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): "
                  r"Flags \[([^\]]*)\](.*)$")


class Segment:
    def __init__(self, line, m):
        h, mi, s, self.src, _, self.dst, _, self.flags, rest = m.groups()
        self.line = line
        self.time = int(h) * 3600 + int(mi) * 60 + float(s)
        seq = re.search(r", seq (\d+)", rest)
        ack = re.search(r", ack (\d+)", rest)
        length = re.search(r", length (\d+)", rest)
        sack = re.search(r"sack \d+ ((?:\{\d+:\d+\})+)", rest)
        self.seq = int(seq.group(1)) if seq else None
        self.ack = int(ack.group(1)) if ack else None
        self.len = int(length.group(1)) if length else 0
        self.sack = [(int(a), int(b)) for a, b in re.findall(r"\{(\d+):(\d+)\}", sack.group(1))] if sack else []
        self.syn = "S" in self.flags
        self.fin = "F" in self.flags

    def end(self):
        """SEG.SEQ + SEG.LEN, counting SYN and FIN."""
        return self.seq + self.len + (1 if self.syn else 0) + (1 if self.fin else 0)


def parse(lines):
    segs = []
    for line in lines:
        m = LINE.match(line)
        if m:
            segs.append(Segment(line, m))
    return segs


def discard(capture):
    """Stops a capture a failed check left unread (and removes its file)."""
    if capture is not None and not capture.out.closed:
        capture.lines()


def capture_lines(capture):
    """Stops the capture; returns its lines, failing if tcpdump lost packets (the checks below
    need every segment)."""
    lines = capture.lines()
    summary = capture.proc.stderr.read() if capture.proc.stderr else ""
    dropped = re.search(r"(\d+) packets? dropped by kernel", summary)
    check(dropped is None or int(dropped.group(1)) == 0, f"tcpdump lost packets, the capture is incomplete: {summary}")
    return lines


def is_dsack(blocks, ack):
    """RFC 2883 §4: a first block below the cumulative ACK or inside the second reports a duplicate."""
    first = blocks[0]
    return first[1] <= ack or (len(blocks) > 1 and blocks[1][0] <= first[0] and first[1] <= blocks[1][1])


def rel(a, base):
    """a - base modulo 2^32: sequence numbers relative to the ISN (transfers stay below 2^31)."""
    return (a - base) & 0xffffffff


class Scoreboard:
    """What the data receiver reported: the highest cumulative ACK and the union of its SACK blocks
    above it (D-SACK blocks, RFC 2883 §4, left out), relative to the sender's ISN."""

    def __init__(self, base):
        self.base = base
        self.cum = 0
        self.sacked = []  # sorted, disjoint [left, right) ranges above cum
        self.highest = 0  # highest right edge reported

    def ack(self, seg):
        a = rel(seg.ack, self.base)
        self.cum = max(self.cum, a)
        blocks = [(rel(l, self.base), rel(r, self.base)) for l, r in seg.sack]
        if blocks and is_dsack(blocks, a):
            blocks = blocks[1:]
        merged = []
        for l, r in sorted(self.sacked + blocks):
            if merged and l <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], r))
            else:
                merged.append((l, r))
        self.sacked = [(max(l, self.cum), r) for l, r in merged if r > self.cum]
        self.highest = max([self.highest] + [r for _, r in blocks])

    def overlaps(self, start, end):
        return [(l, r) for l, r in self.sacked if l < end and start < r]

    def classify(self, start, end):
        """Where a retransmission of [start, end) lies in what the receiver reported."""
        if start < self.cum:
            return "acknowledged"  # (partly) below the cumulative ACK
        if self.overlaps(start, end):
            return "sacked"
        if end <= self.highest:
            return "hole"  # between the cumulative ACK and a SACK block above it
        return "tail"  # nothing reported above it: a probe or a timeout


def retransmissions(segs, sender, receiver_scoreboard):
    """Walks the capture; returns (retransmissions as (segment, start, end, kind), SACK ACKs).

    A data segment starting below the highest sequence number seen from `sender` is a
    retransmission, whether or not the capture holds the original (dtcp's transmit impairment
    drops before the wire). kind is Scoreboard.classify() against the ACKs seen before it."""
    sent_max = 0
    found = []
    sack_acks = 0
    board = receiver_scoreboard
    for s in segs:
        if s.src != sender and s.ack is not None:
            board.ack(s)
            sack_acks += 1 if s.sack else 0
        if s.src == sender and s.seq is not None and not s.syn and (s.len > 0 or s.fin):
            start, end = rel(s.seq, board.base), rel(s.end(), board.base)
            if start < sent_max:
                found.append((s, start, end, board.classify(start, end)))
            sent_max = max(sent_max, end)
    return found, sack_acks


def isn_of(segs, sender):
    syn = [s for s in segs if s.src == sender and s.syn]
    check(syn, f"no SYN from {sender} in the capture")
    return syn[0].seq


# ---- running dtcp and the kernel side ----

def start(ns, tag, args, port_keys):
    return start_on_tap(ns, tag, "dtcp-echo", args, DTCP_IP, KERNEL_IP, KERNEL_MAC, port_keys, TCP_KEYS)


def kernel_run(ns, script, args, what, node, timeout=90):
    """Runs a kernel-side script to completion; returns its stdout's words."""
    proc = ns.popen([PYTHON, "-c", script] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TestFailure(f"{what} did not finish within {timeout} s (a stalled transfer?); dtcp printed:\n"
                          f"{node.stdout_text()[-1500:]}")
    check(proc.returncode == 0, f"{what} failed ({proc.returncode}): {err[-1500:]}")
    return out.split()


def stop(node):
    check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
    out = node.stdout_text()
    check("mbufs_in_use_after_shutdown 0" in out, f"mbufs leaked:\n{out[-1500:]}")
    return node.counters()


def show(lines, limit=40):
    return "\n".join(lines[:limit]) + ("\n..." if len(lines) > limit else "")


# ---- 1: Linux sends, dtcp receives with loss ----

def sack_receiver(ns):
    node, ifname = start(ns, "rsk", ["--sink", "9"], "rx_loss = 0.02\nrx_seed = 7")
    capture = None
    try:
        capture = Capture(ns, ifname, ["-S", "-B", "8192", "tcp"])
        sent = kernel_run(ns, SENDER, [DTCP_IP, 9, 5, BULK_BYTES], "the kernel sender", node)
        lines = capture_lines(capture)
        c = stop(node)
        got = re.search(r"sink: \S+ bytes=(\d+) sha256=([0-9a-f]{64})", node.stdout_text())
        check(got is not None and [got.group(1), got.group(2)] == sent,
              f"dtcp's sink got {got.group(0) if got else 'nothing'}, the kernel sent {sent}")
        check(c.get("impair_dropped", 0) > 0, "the receive impairment dropped nothing")
        check(c.get("tcp_tx_sack_blocks", 0) > 0, f"dtcp sent no SACK blocks (tcp_tx_sack_blocks = 0)")

        segs = parse(lines)
        base = isn_of(segs, KERNEL_IP)
        # Each block dtcp reports lies above its cumulative ACK (a D-SACK first block aside) and
        # within what Linux had sent by then; one that holds the FIN covers it (RFC 2018 §3: the
        # right edge follows the last sequence number received). Every segment Linux sent with
        # the last data byte carries the FIN (TCP_CORK), so no block may end at the FIN itself.
        fins = [rel(s.seq, base) + s.len for s in segs if s.src == KERNEL_IP and s.fin]
        check(len(set(fins)) == 1, f"Linux's FIN segments disagree: {fins}")
        fin_rides = all(s.fin for s in segs if s.src == KERNEL_IP and s.len > 0 and rel(s.seq, base) + s.len == fins[0])
        check(fin_rides, "Linux sent its last data without the FIN despite TCP_CORK")
        kernel_max = 0
        bad_blocks = []
        fin_blocks = 0  # blocks holding the FIN: it arrived beyond a hole
        for s in segs:
            if s.src == KERNEL_IP and s.seq is not None:
                kernel_max = max(kernel_max, rel(s.end(), base))
            if s.src == DTCP_IP and s.sack:
                a = rel(s.ack, base)
                blocks = [(rel(l, base), rel(r, base)) for l, r in s.sack]
                if is_dsack(blocks, a):
                    blocks = blocks[1:]
                if any(not (a < l < r <= kernel_max) or r == fins[0] for l, r in blocks):
                    bad_blocks.append(f"ack {a} blocks {blocks} (Linux sent up to {kernel_max}): {s.line}")
                fin_blocks += sum(1 for _, r in blocks if r == fins[0] + 1)
        check(not bad_blocks, f"SACK blocks outside (RCV.NXT, what Linux sent] or ending at the FIN ({fins[0]}):\n"
              + show(bad_blocks))

        rexmits, sack_acks = retransmissions(segs, KERNEL_IP, Scoreboard(base))
        kinds = {k: sum(1 for r in rexmits if r[3] == k) for k in ("hole", "tail", "sacked", "acknowledged")}
        print(f"sack receiver: {BULK_BYTES} bytes, {c['impair_dropped']} frames dropped, dtcp sent "
              f"{sack_acks} ACKs with SACK ({c['tcp_tx_sack_blocks']} blocks, {fin_blocks} holding the FIN, "
              f"{c.get('tcp_tx_dsack', 0)} D-SACK); "
              f"Linux resent {len(rexmits)} segments: {kinds}")
        check(sack_acks > 0, "no ACK from dtcp with SACK blocks in the capture")
        check(kinds["hole"] > 0, "Linux resent nothing in a hole dtcp's SACK blocks named")
        # Linux resends what dtcp reported missing; a resend of SACKed data means a block was
        # wrong (e.g. one that leaves out a FIN it holds).
        wrong = [r[0].line for r in rexmits if r[3] == "sacked"]
        check(not wrong, "Linux resent data dtcp had SACKed:\n" + show(wrong))
        # What is not in a hole is a probe or a timeout: a few at most.
        check(kinds["hole"] >= 0.8 * len(rexmits), f"most of Linux's retransmissions were not SACK-driven: {kinds}")
    finally:
        discard(capture)
        node.cleanup()


# ---- 2: dtcp sends with loss, Linux receives ----

def sack_sender(ns):
    seed = 3
    node, ifname = start(ns, "rsd", ["--source", "10", "--bytes", str(BULK_BYTES), "--seed", str(seed)],
                         "tx_loss = 0.02\ntx_seed = 7")
    capture = None
    try:
        capture = Capture(ns, ifname, ["-S", "-B", "8192", "tcp"])
        got = kernel_run(ns, READER, [DTCP_IP, 10], "the kernel reader", node)
        lines = capture_lines(capture)
        c = stop(node)
        check(got == [str(BULK_BYTES), pattern_sha256(seed, BULK_BYTES)],
              f"the kernel received {got}, dtcp-echo's pattern is {BULK_BYTES} {pattern_sha256(seed, BULK_BYTES)}")

        segs = parse(lines)
        rexmits, sack_acks = retransmissions(segs, DTCP_IP, Scoreboard(isn_of(segs, DTCP_IP)))
        kinds = {k: sum(1 for r in rexmits if r[3] == k) for k in ("hole", "tail", "sacked", "acknowledged")}
        dropped = c.get("impair_dropped_payload_bytes", 0)
        resent = c.get("tcp_tx_retransmitted_bytes", 0)
        sack_rexmits = c.get("tcp_tx_sack_retransmits", 0)
        timeouts = c.get("tcp_tx_retransmits", 0)
        ratio = resent / dropped if dropped else float("inf")
        print(f"sack sender: {BULK_BYTES} bytes, {c.get('impair_dropped', 0)} frames ({dropped} payload bytes) "
              f"dropped; Linux sent {sack_acks} ACKs with SACK; on the wire dtcp resent {len(rexmits)} segments: "
              f"{kinds}; counters: sack_retransmits {sack_rexmits}, rack_lost {c.get('tcp_rack_lost_segments', 0)}, "
              f"recoveries {c.get('tcp_sack_recoveries', 0)}, tlp_probes {c.get('tcp_tlp_probes', 0)}, "
              f"timeouts {timeouts}; retransmitted/dropped bytes {resent}/{dropped} = {ratio:.3f}")
        check(dropped > 0, "the transmit impairment dropped no payload")
        check(sack_acks > 0, "no ACK from Linux with SACK blocks in the capture")
        check(kinds["hole"] > 0, "dtcp resent nothing into a hole Linux's SACK blocks named")
        # Every retransmission fills a hole Linux named before it: never SACKed or acknowledged
        # data. Above the highest SACK block only a probe or a timeout may resend.
        # A timer-driven resend (probe or timeout) may cross an ACK that was already on the wire
        # but not yet processed (the capture is on the kernel's side; the sanitized build is slow):
        # those may be below the cumulative ACK, as many as the timers fired. A resend over data
        # Linux had SACKed is always wrong.
        wrong = [f"{r[3]}: {r[0].line}" for r in rexmits if r[3] == "sacked"]
        check(not wrong, "dtcp resent data Linux had already reported received:\n" + show(wrong))
        crossed = [f"{r[3]}: {r[0].line}" for r in rexmits if r[3] == "acknowledged"]
        check(len(crossed) <= c.get("tcp_tlp_probes", 0) + timeouts,
              "dtcp resent acknowledged data more often than its timers fired:\n" + show(crossed))
        check(kinds["tail"] <= c.get("tcp_tlp_probes", 0) or timeouts > 0,
              f"{kinds['tail']} retransmissions above every SACK block, but only {c.get('tcp_tlp_probes', 0)} "
              "probes and no timeout")
        check(sack_rexmits > 0, "tcp_tx_sack_retransmits = 0")
        check(timeouts * 10 <= sack_rexmits, f"{timeouts} timeouts against {sack_rexmits} SACK retransmissions")
        check(ratio <= 1.5, f"retransmitted {resent} bytes for {dropped} dropped: ratio {ratio:.3f} > 1.5")
    finally:
        discard(capture)
        node.cleanup()


# ---- 3: one tail loss, repaired by a probe ----

def tail_loss_probe(ns):
    drops = impairment_drops(TAIL_SEED, TAIL_LOSS, 40)
    check([i for i, d in enumerate(drops) if d] == [TAIL_FRAME],
          f"seed {TAIL_SEED} no longer drops exactly frame {TAIL_FRAME}: the generator changed, search again")
    size = TAIL_SEGMENTS * MSS
    node, ifname = start(ns, "rtl", ["--source", "10", "--bytes", str(size)],
                         f"tx_loss = {TAIL_LOSS}\ntx_seed = {TAIL_SEED}")
    capture = None
    try:
        capture = Capture(ns, ifname, ["-S", "arp or tcp"])
        got = kernel_run(ns, READER, [DTCP_IP, 10], "the kernel reader", node)
        lines = capture_lines(capture)
        c = stop(node)
        check(got == [str(size), pattern_sha256(1, size)], f"the kernel received {got} of {size} pattern bytes")

        # The frames before the drop are the ones TAIL_FRAME counts on: the ARP reply, the SYN-ACK
        # and nine data segments (the gratuitous ARP went out before the link was up).
        ours = [line for line in lines if f" {DTCP_IP}.10 > " in line or f"Reply {DTCP_IP} is-at" in line]
        check(c.get("tx_arp_gratuitous", 0) == 1 and len(ours) >= 11 and "Reply" in ours[0] and "Flags [S.]" in ours[1]
              and all("length 1448" in line for line in ours[2:11]),
              "dtcp's frames are not the ones the seed was chosen for (gratuitous ARP, ARP reply, SYN-ACK, "
              f"data): the loss hit another frame; choose the seed again\n{show(ours, 15)}")
        segs = parse(lines)
        base = isn_of(segs, DTCP_IP)
        syn = [s for s in segs if s.src == KERNEL_IP and s.syn][0]
        synack = [s for s in segs if s.src == DTCP_IP and s.syn][0]
        data = [s for s in segs if s.src == DTCP_IP and s.len > 0]
        starts = [rel(s.seq, base) for s in data]
        last_start = 1 + (TAIL_SEGMENTS - 1) * MSS
        check(starts == [1 + k * MSS for k in range(TAIL_SEGMENTS)],
              "expected each of the ten segments once on the wire, the last only as the probe:\n"
              + show([s.line for s in data]))
        probe, ninth = data[-1], data[-2]
        check(probe.fin and rel(probe.end(), base) == size + 2 and probe.len == MSS,
              f"the probe should resend the whole last segment with its FIN ({last_start}:{size + 1}): {probe.line}")
        # The lost original left with the ninth segment. The ACK of the ninth re-arms the probe
        # with one segment in flight: PTO = 2 * SRTT + the peer's worst delayed ACK (RFC 8985
        # §7.2; dtcp uses min_rto, 200 ms in the Linux profile, as Linux uses TCP_RTO_MIN),
        # clamped to the RTO, which it then replaces: no timeout, no collapse of cwnd.
        rtt = synack.time - syn.time
        delay = probe.time - ninth.time
        bound = 2 * rtt + 0.200 + 0.050  # 50 ms for a busy-polling lcore the scheduler held back
        acks = [s for s in segs if s.src == KERNEL_IP and s.ack is not None and s.time > probe.time]
        print(f"tail loss: handshake RTT {rtt * 1e3:.3f} ms, probe {delay * 1e3:.3f} ms after the original "
              f"(bound {bound * 1e3:.1f} ms, RTO >= 200 ms); counters: tlp_probes {c.get('tcp_tlp_probes', 0)}, "
              f"tlp_repaired {c.get('tcp_tlp_repaired', 0)}, timeouts {c.get('tcp_tx_retransmits', 0)}, "
              f"dropped {c.get('impair_dropped', 0)} frames / {c.get('impair_dropped_payload_bytes', 0)} bytes")
        check(delay <= bound, f"the probe came {delay * 1e3:.1f} ms after the original, more than 2 * RTT + 250 ms")
        check(acks and rel(acks[0].ack, base) == size + 2 and not acks[0].sack,
              f"Linux's next ACK should cover everything and the FIN: {acks[0].line if acks else 'none'}")
        check(c.get("impair_dropped", 0) == 1 and c.get("impair_dropped_payload_bytes", 0) == MSS,
              "the impairment should have dropped one full segment")
        check(c.get("tcp_tlp_probes", 0) == 1, f"tcp_tlp_probes = {c.get('tcp_tlp_probes', 0)}, expected 1")
        check(c.get("tcp_tlp_repaired", 0) == 1, f"tcp_tlp_repaired = {c.get('tcp_tlp_repaired', 0)}, expected 1")
        check(c.get("tcp_tx_retransmits", 0) == 0, f"a retransmission timeout fired ({c.get('tcp_tx_retransmits')})")
        check(c.get("tcp_tx_retransmitted_bytes", 0) == MSS,
              f"resent {c.get('tcp_tx_retransmitted_bytes', 0)} bytes for one lost segment of {MSS}")
    finally:
        discard(capture)
        node.cleanup()


def test():
    ns = Namespace("rec")
    try:
        sack_receiver(ns)
        sack_sender(ns)
        tail_loss_probe(ns)
    finally:
        ns.delete()


if __name__ == "__main__":
    main(test)
