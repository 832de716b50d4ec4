#!/usr/bin/env bash
# Runs one libFuzzer target (tests/fuzz/) for a while, under ASan+UBSan:
#   tools/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER FLAGS...]
#   tools/fuzz.sh --list
#   tools/fuzz.sh --build      configure and build every target, run nothing (tools/test.sh)
# Configures build-fuzz/ with clang on first use (-Dfuzz=true -Dtests=false, ASan+UBSan) and
# builds only that target. Inputs found to add coverage go to build-fuzz/fuzz-corpus/TARGET
# (the seed corpus tests/fuzz/corpus/TARGET is only read); a crash is written to
# build-fuzz/fuzz-artifacts/TARGET/ and makes the exit status non-zero. Rerun one input with
#   build-fuzz/tests/fuzz/fuzz_TARGET FILE
# --build-dir DIR uses another tree; --no-build skips building (the meson tests use both).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz
do_build=1
configure() {
  if [ ! -f "$build/build.ninja" ]; then
    CC=${CC:-clang-14} CXX=${CXX:-clang++-14} meson setup "$build" -Dfuzz=true -Dtests=false \
      -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
  fi
}
while (($#)); do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --list) ls tests/fuzz/corpus; exit 0 ;;
    --build) configure; ninja -C "$build" fuzz; exit ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: tools/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER FLAGS]; targets: $(ls tests/fuzz/corpus | tr '\n' ' ')" >&2; exit 2; }
target=$1; shift
seconds=60
if (($#)) && [ "$1" != -- ]; then seconds=$1; shift; fi
[ "${1:-}" = -- ] && shift
[ -d "tests/fuzz/corpus/$target" ] || { echo "fuzz.sh: unknown target '$target' (tests/fuzz/corpus/$target missing)" >&2; exit 2; }

if ((do_build)); then
  configure
  ninja -C "$build" "tests/fuzz/fuzz_$target" >/dev/null
fi
exe=$build/tests/fuzz/fuzz_$target
work=$build/fuzz-corpus/$target
artifacts=$build/fuzz-artifacts/$target
mkdir -p "$work" "$artifacts"
flags=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="$artifacts/")
[ -f "tests/fuzz/$target.dict" ] && flags+=(-dict="tests/fuzz/$target.dict")
# UBSan findings stop the run like ASan's; LeakSanitizer runs after every input.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}
export ASAN_OPTIONS=detect_leaks=1:${ASAN_OPTIONS:-}
echo "fuzz.sh: $target for ${seconds}s: $exe ${flags[*]} $* $work tests/fuzz/corpus/$target"
exec "$exe" "${flags[@]}" "$@" "$work" "tests/fuzz/corpus/$target"
