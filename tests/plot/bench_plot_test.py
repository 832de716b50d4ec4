#!/usr/bin/env python3
"""tools/bench-plot draws PNGs from a canned bench.json, without running the bench."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.join(HERE, "..", "..", "tools", "bench-plot")
EXPECTED = ("latency.png", "loss.png")

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
    for name in EXPECTED:
        path = os.path.join(out, name)
        with open(path, "rb") as f:
            head = f.read(8)
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(path) < 1000:
            sys.exit(f"{name}: not a non-empty PNG ({os.path.getsize(path)} bytes)")
print("ok:", ", ".join(EXPECTED))
