#!/usr/bin/env python3
"""tools/bench-plot draws PNGs from a canned bench.json, without running the bench: the data
files gnuplot reads hold exactly the canned numbers, and each PNG is drawn."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.join(HERE, "..", "..", "tools", "bench-plot")
EXPECTED = ("latency.png", "loss.png", "rps.png")

# What each .dat must hold for canned_bench.json, row by row (header lines left out).
EXPECTED_DAT = {
    # percentile, then dtcp and kernel µs at half of dtcp's peak and at half of the kernel's:
    # p99.9 comes from the loadgen's key p99_9
    "latency.dat": [["p50", "21.0", "40000.0", "2.5", "110.0"], ["p90", "30.5", "61000.0", "3.0", "220.0"],
                    ["p99", "48.0", "110000.0", "700.0", "1300.0"], ["p99.9", "90.0", "240000.0", "5000.0", "NaN"]],
    # loss %, Mbit/s of each sender: a sender without a figure is NaN (a gap, not a zero)
    "loss.dat": [["0", "2100", "1900"], ["0.1", "1700", "1500"], ["1", "900", "700"], ["5", "200", "NaN"]],
    # second, requests/s of dtcp ring and kernel veth: whole seconds only (dtcp's 0.4 ms tail and
    # the kernel's half second are left out), NaN where one series has no whole second
    "rps.dat": [["1", "100000", "44000"], ["2", "102000", "46000"], ["3", "101000", "NaN"]],
}


def dat_rows(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip() and not line.startswith("#")]


if shutil.which("gnuplot") is None:
    print("gnuplot is missing: skipped")
    sys.exit(77)  # meson's skip code

with tempfile.TemporaryDirectory(prefix=f"bench-plot-{os.getpid()}-") as out:
    r = subprocess.run([sys.executable, PLOT, os.path.join(HERE, "canned_bench.json"), out],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"bench-plot failed ({r.returncode}): {r.stderr}")
    printed = [os.path.basename(p) for p in r.stdout.split()]
    if sorted(printed) != sorted(EXPECTED):
        sys.exit(f"bench-plot printed {printed}, expected {EXPECTED}")
    if not os.path.exists(os.path.join(out, "bench.gnuplot")):
        sys.exit("no gnuplot script written")
    for name, rows in EXPECTED_DAT.items():
        got = dat_rows(os.path.join(out, name))
        if got != rows:
            sys.exit(f"{name}: rows {got}, expected {rows}")
    # The kernel reached 15000 of 20000 req/s offered (under 95 %): its bars say they are a queue.
    with open(os.path.join(out, "bench.gnuplot")) as f:
        script = f.read()
    for title, marked in (("Linux (veth) at 20,000/s", True), ("Linux (veth) at 7,500/s", False)):
        if (f"{title}, not sustained" in script) != marked or title not in script:
            sys.exit(f"latency.png: the key for '{title}' should{'' if marked else ' not'} say 'not sustained'")
    for name in EXPECTED:
        path = os.path.join(out, name)
        with open(path, "rb") as f:
            head = f.read(8)
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(path) < 1000:
            sys.exit(f"{name}: not a non-empty PNG ({os.path.getsize(path)} bytes)")
print("ok:", ", ".join(EXPECTED), "and", ", ".join(EXPECTED_DAT))
