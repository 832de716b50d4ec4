#!/usr/bin/env bash
# Installs the Debian 12 packages dtcp needs to build, test and benchmark (root; apt-get).
# Quick when everything is present: apt runs only for what is missing.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config            # build
  libdpdk-dev libboost-dev libgtest-dev       # DPDK 22.11, Boost.Intrusive, GoogleTest
  iproute2 iputils-ping python3 python3-scapy # namespaces, ping, crafted frames in tests
  curl netcat-openbsd tcpdump wrk apache2-utils  # kernel-side peers, load and captures in tests
  nginx                                       # third-party HTTP server for dtcp-loadgen tests and bench
  hping3                                      # SYN flood in the syn_flood test
  clang-14 libclang-rt-14-dev                 # libFuzzer targets (tests/fuzz/, tools/fuzz.sh)
  dpdk-dev                                    # dpdk-telemetry.py and dpdk-dumpcap (operating tests)
  gnuplot-nox                                 # tools/bench --plot
  valgrind                                    # tools/bench --cost (callgrind counts instructions), callgrind.h
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "dtcp: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
