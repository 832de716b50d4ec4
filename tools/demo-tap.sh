#!/usr/bin/env bash
# dtcp next to Linux: builds dtcp, starts dtcp-node on a net_tap port, makes the
# Linux kernel in a fresh network namespace its peer, pings it, and prints dtcp's counters.
# No NIC and no hugepages are needed. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo-tap.sh: run as root (network namespaces, net_tap)"; exit 2; }
tools/install-deps.sh
tools/build.sh build

ns="dtcp-demo-$$"
ifname="dtdemo$$"
ifname=${ifname:0:15}
config=$(mktemp --suffix=.ini)
out=$(mktemp)
cleanup() {
  [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$config" "$out"
}
trap cleanup EXIT

cat > "$config" <<INI
[port]
vdev = net_tap0,iface=$ifname
address = 198.18.0.1/24
INI
build/tools/dtcp-node --config "$config" > "$out" &
node_pid=$!
for _ in $(seq 100); do ip link show "$ifname" >/dev/null 2>&1 && break; sleep 0.1; done
ip netns add "$ns"
ip link set "$ifname" netns "$ns"
ip -n "$ns" link set "$ifname" address 02:00:00:00:00:02   # net_tap copies dtcp's MAC; ARP needs two
ip -n "$ns" addr add 198.18.0.2/24 dev "$ifname"
ip -n "$ns" link set "$ifname" up

echo "== Linux (namespace $ns, 198.18.0.2) pings dtcp (198.18.0.1)"
ip netns exec "$ns" ping -c 5 -i 0.2 198.18.0.1
echo "== the kernel's neighbour entry for dtcp"
ip -n "$ns" neigh show 198.18.0.1
kill -INT "$node_pid"
wait "$node_pid" || true
node_pid=
echo "== dtcp counters"
cat "$out"
