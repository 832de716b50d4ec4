#!/usr/bin/env python3
"""Runs every tests/packetdrill/*.pkt through packetdrill against dtcp (libdtcp_packetdrill.so).

packetdrill is not part of dtcp: build it from https://github.com/google/packetdrill
(gtests/net/packetdrill: ./configure && make) and point DTCP_PACKETDRILL at the binary. Without
it the scripts are skipped, and this says so (exit 77, meson's "skipped").

A script may carry, in its first lines, `// so_flags: ...` (passed to the adapter as
--so_flags, e.g. `tcp.min_rto=200ms`) and `// packetdrill: ...` (more packetdrill arguments).
Each script runs in its own packetdrill process (its own dtcp stack), one after another: they
measure time, and a busy CPU would make them miss their tolerances.
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
BUILD = pathlib.Path(os.environ.get("DTCP_BUILD_DIR", HERE.parents[1] / "build"))
ADAPTER = BUILD / "tools" / "libdtcp_packetdrill.so"
PER_SCRIPT_TIMEOUT = 120


def header_value(text, key):
    for line in text.splitlines()[:15]:
        m = re.match(r"\s*//\s*" + re.escape(key) + r":\s*(.*)$", line)
        if m:
            return m.group(1).strip()
    return ""


def main():
    binary = os.environ.get("DTCP_PACKETDRILL", "")
    scripts = sorted(HERE.glob("*.pkt"))
    if len(sys.argv) > 1:
        scripts = [s for s in scripts if any(a in s.name for a in sys.argv[1:])]
    if not binary or not os.access(binary, os.X_OK):
        print(f"packetdrill: SKIPPED {len(scripts)} scripts: set DTCP_PACKETDRILL to a packetdrill binary "
              "(https://github.com/google/packetdrill) to run them" + (f" ({binary!r} is not executable)" if binary else ""))
        return 77
    if not ADAPTER.exists():
        print(f"packetdrill: {ADAPTER} is missing (configure with -Dpacketdrill=true)")
        return 1
    failed = []
    for script in scripts:
        text = script.read_text()
        so_flags = header_value(text, "so_flags")
        extra = shlex.split(header_value(text, "packetdrill"))
        cmd = [binary, f"--so_filename={ADAPTER}", "--ip_version=ipv4", "--local_ip=198.18.0.1",
               "--remote_ip=198.18.0.2", *extra]
        if so_flags:
            cmd.append(f"--so_flags={so_flags}")
        cmd.append(str(script))
        start = time.monotonic()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=PER_SCRIPT_TIMEOUT)
            ok, out = r.returncode == 0, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            ok, out = False, f"timed out after {PER_SCRIPT_TIMEOUT} s\n{e.stdout or ''}{e.stderr or ''}"
        took = time.monotonic() - start
        print(f"{'PASS' if ok else 'FAIL'} {script.name} ({took:.1f} s)", flush=True)
        if not ok:
            failed.append(script.name)
            lines = [l for l in out.splitlines() if not l.startswith(("dtcp: ", "EAL:", "TELEMETRY:"))]
            print("\n".join("    " + l for l in lines[-25:]))
    print(f"packetdrill: {len(scripts) - len(failed)} of {len(scripts)} scripts passed"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
