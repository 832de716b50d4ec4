#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the optimised tree, the
# AddressSanitizer+UBSan tree and the release tree, runs every unit and integration test in the
# first two and the simulation's checks in the third, and ends with one
# "N passed, N failed" line counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (namespaces, net_tap)"; exit 2; }
tools/install-deps.sh || exit 1
tools/build.sh build || exit 1
tools/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug || exit 1
# The libFuzzer targets (clang, ASan+UBSan): only they and what they link are built.
tools/fuzz.sh --build || exit 1
# The release tree (-O3, LTO, no asserts) that tools/demo.sh runs and tools/bench measures,
# checked below when no arguments picked tests.
if [ $# -eq 0 ]; then
  tools/build.sh build-release || exit 1
fi

status=0
for dir in build build-asan; do
  echo "== meson test -C $dir"
  # UBSan findings fail the test instead of scrolling past.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C "$dir" --print-errorlogs "$@" || status=1
done
# Each fuzz target for a few seconds from its seed corpus (about a minute in all), unless the
# arguments picked other tests.
fuzz_log=build-fuzz/meson-logs/testlog.json
rm -f "$fuzz_log"
if [ $# -eq 0 ]; then
  echo "== meson test -C build-fuzz"
  meson test -C build-fuzz --no-rebuild --print-errorlogs || status=1
fi

# The release tree has no GoogleTest binaries (building them all with LTO would cost minutes);
# its checks are the simulation's (tests/sim): what differs from `build` there is the optimiser
# across the layers.
release_log=build-release/meson-logs/testlog.json
rm -f "$release_log"
if [ $# -eq 0 ]; then
  echo "== meson test -C build-release"
  meson test -C build-release --print-errorlogs || status=1
fi

# Count test cases: a GoogleTest binary counts its own cases, any other test counts once.
read -r passed failed < <(/usr/bin/python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json "$fuzz_log" "$release_log" <<'PY'
import json, os, re, sys
passed = failed = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    for line in open(path):
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = re.search(r"^\[  PASSED  \] (\d+) test", out, re.M)
        bad = re.search(r"^\[  FAILED  \] (\d+) test", out, re.M)
        if ok or bad:
            passed += int(ok.group(1)) if ok else 0
            failed += int(bad.group(1)) if bad else 0
            if t["result"] not in ("OK", "EXPECTEDFAIL") and not bad:
                failed += 1  # crashed or timed out after its cases ran
        elif t["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t["result"] != "SKIP":
            failed += 1
print(passed, failed)
PY
)
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi
if [ -z "${DTCP_PACKETDRILL:-}" ]; then
  echo "packetdrill scripts (tests/packetdrill): skipped, DTCP_PACKETDRILL names no packetdrill binary"
fi
echo "dtcp: ${passed:-0} passed, ${failed:-0} failed"
exit $status
