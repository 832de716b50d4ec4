#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds the release tree, and runs dtcp's
# load generator against dtcp's HTTP server, both in one process over an in-memory net_ring pair
# (no NIC, no hugepages): 64 keep-alive connections for 5 s, then the connection rate for 3 s.
# tools/demo-tap.sh shows dtcp beside the Linux kernel over net_tap instead.
# Progress lines every second, then totals and latency percentiles. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (installs packages, pins memory)"; exit 2; }
tools/install-deps.sh
tools/build.sh build-release

# The counters and the connection listing printed at exit are left out; run the command yourself
# to see them.
summary() { sed -n '/^backend /,/^latency /p'; }

echo "== requests over 64 keep-alive connections (HTTP/1.1 GET, 64-byte bodies)"
build-release/tools/dtcp-loadgen --serve-http b:80 --target 198.18.1.2:80 --connections 64 \
  --warmup 1 --duration 5 | summary
echo
echo "== connection rate: open, one request and response, close (32 client addresses, config/loadgen-ring.ini)"
build-release/tools/dtcp-loadgen --config config/loadgen-ring.ini --serve-http b:80 --target 198.18.1.2:80 \
  --mode conn --source 198.18.1.10-198.18.1.41 --connections 64 --warmup 1 --duration 3 | summary
