"""An independent model of dtcp's connection ownership, for checking it from the outside.

The Toeplitz hash is written here bit by bit from Microsoft's RSS specification (not from dtcp's
table-driven C++), checked at import against one of Microsoft's published vectors. The key and
redirection table come from what the dtcp process logged at startup, and the connections from
its listings, so the tests compare dtcp's placement of every connection with this model.
"""

import ipaddress
import re

MICROSOFT_KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")


def toeplitz(key, data):
    """For every set input bit i (most significant first), XOR in the 32 key bits from bit i."""
    k = int.from_bytes(key, "big")
    width = len(key) * 8
    result = 0
    for i in range(len(data) * 8):
        if (data[i // 8] >> (7 - i % 8)) & 1:
            result ^= (k >> (width - 32 - i)) & 0xFFFFFFFF
    return result


def tuple_bytes(src, dst, sport, dport):
    """The Toeplitz input for TCP: 12 bytes over IPv4, 36 over IPv6 (RSS_NONFRAG_IPV6_TCP)."""
    return (ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
            + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))


# "Verifying the RSS Hash Calculation": 66.9.149.187:2794 -> 161.142.100.80:1766.
assert toeplitz(MICROSOFT_KEY, tuple_bytes("66.9.149.187", "161.142.100.80", 2794, 1766)) == 0x51CCC178


class PortRss:
    """Key and RETA of one port as dtcp logged them ("dtcp: [port.a] rss: MODE ...; key HEX; reta N entries: ...")."""

    def __init__(self, mode, key, reta):
        self.mode = mode
        self.key = key
        self.reta = reta

    def owner(self, remote_ip, remote_port, local_ip, local_port):
        """The queue that receives (and so owns) a connection: hash of the received tuple."""
        h = toeplitz(self.key, tuple_bytes(remote_ip, local_ip, remote_port, local_port))
        return self.reta[h & (len(self.reta) - 1)]


def port_rss(stderr_text, label):
    """Parses the startup line for `label` ("[port.a]" or "[port]")."""
    m = re.search(re.escape(f"dtcp: {label} rss: ") + r"(.*?)(?: because [^;]*)?; key ([0-9a-f]+); reta (\d+) entries: ([0-9,]+)( repeated)?\n",
                  stderr_text)
    if m is None:
        return None
    pattern = [int(q) for q in m.group(4).split(",")]
    size = int(m.group(3))
    reta = (pattern * (size // len(pattern) + 1))[:size] if m.group(5) else pattern
    assert len(reta) == size, f"{label}: RETA of {len(reta)} entries, logged {size}"
    return PortRss(m.group(1), bytes.fromhex(m.group(2)), reta)


def connection_listing(stdout_text):
    """Every `conn` line with the lcore, port and queue of the block it is in."""
    out = []
    where = None
    for line in stdout_text.splitlines():
        m = re.match(r"# connections lcore (\d+) port (\S+) queue (\d+):", line)
        if m:
            where = (int(m.group(1)), m.group(2), int(m.group(3)))
            continue
        m = re.match(r"conn (\S+)\s+\[?([\d.a-f:]+?)\]?:(\d+)\s+\[?([\d.a-f:]+?)\]?:(\d+)\s", line)
        if m and where is not None:
            out.append({"lcore": where[0], "port": where[1], "queue": where[2], "state": m.group(1),
                        "local_ip": m.group(2), "local_port": int(m.group(3)),
                        "remote_ip": m.group(4), "remote_port": int(m.group(5))})
    return out


def per_lcore_counters(stdout_text):
    """{lcore: {counter: value}} from the `# lcore N` blocks of the last --per-lcore print."""
    blocks = {}
    current = None
    for line in stdout_text.splitlines():
        if line.startswith("# dtcp counters (all lcores)"):
            blocks = {}  # a later print (SIGUSR1, then exit) supersedes an earlier one
            current = None
            continue
        m = re.match(r"# lcore (\d+)$", line)
        if m:
            current = blocks.setdefault(int(m.group(1)), {})
            continue
        if line.startswith("#") or line.startswith("conn "):
            current = None
            continue
        m = re.match(r"^([a-z_0-9]+)\s+(\d+)$", line)
        if m and current is not None:
            current[m.group(1)] = int(m.group(2))
    return blocks


def total_counters(stdout_text):
    """{counter: value} of the last "all lcores" block."""
    total = None
    for line in stdout_text.splitlines():
        if line.startswith("# dtcp counters (all lcores)"):
            total = {}
            continue
        m = re.match(r"^([a-z_0-9]+)\s+(\d+)\s+# ", line)  # the summed block describes each counter
        if m and total is not None:
            total[m.group(1)] = int(m.group(2))
    return total or {}
