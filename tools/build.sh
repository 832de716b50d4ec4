#!/usr/bin/env bash
# Configures (once) and builds a build directory: build.sh DIR [meson setup options...]
#
# build-release is the tree users deploy and the benchmarks measure: -O3, link-time optimisation
# (the TCP layers are separate files and libraries, and LTO inlines across them: about a tenth
# fewer instructions a segment), no asserts, no tests. Its options are set here, before any the
# caller adds. `build` (debugoptimized, asserts on) is the tree the tests run in.
set -euo pipefail
dir=$1; shift
cd "$(dirname "$0")/.."
if [ "$dir" = build-release ]; then
  set -- -Dbuildtype=release -Db_lto=true -Dtests=false "$@"
fi
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
