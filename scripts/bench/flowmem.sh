#!/usr/bin/env bash
# Flow-table memory per tracked flow, measured at 1 million concurrent flows.
#
#   scripts/bench/flowmem.sh [FLOWS]      (default 1000000)
#
# Generates a capture of FLOWS distinct UDP flows, one packet each, and
# loops it through vigil live (net_pcap infinite_rx) with a table of FLOWS
# entries, so that every flow is active at once. When vigil reports FLOWS
# active flows, it reads `flow.table_bytes` from vigil:stats: the bytes the
# flow table took from the DPDK heap (measured by vigil around the table's
# allocation, allocator overhead included) and divides by the flows tracked.
# Also prints the process's peak RSS for context (mbufs dominate it).
set -euo pipefail
cd "$(dirname "$0")/../.."
flows=${1:-1000000}

scripts/deps.sh
[ -n "${VIGIL_NO_BUILD:-}" ] || scripts/build.sh
work=$(mktemp -d /tmp/vigil-flowmem.XXXXXX)
port=$((20000 + RANDOM % 20000))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize no --loglevel warning >/dev/null 2>&1 &
rpid=$!
vpid=""
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
	kill "$rpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

build/tests/tools/vigil-gencap -o "$work/flows.pcap" --profile small \
	--flows "$flows" --packets "$flows" 2>/dev/null
mbufs=$(( (flows + 65536) | 1023 ))
cat >"$work/flowmem.conf" <<CONF
ports = ( { device = "net_pcap0,rx_pcap=$work/flows.pcap,infinite_rx=1"; } );
mempool = { mbufs = $mbufs; };
flow = { max_flows = $flows; };
stats = { interval_ms = 500; };
CONF
mem_mb=$(( flows * 4 / 1000 + 2048 ))
build/app/vigil/vigil -c "$work/flowmem.conf" --redis "127.0.0.1:$port" -- \
	--no-huge -m "$mem_mb" >"$work/vigil.out" 2>&1 &
vpid=$!
active=0
for _ in $(seq 600); do
	active=$(redis-cli -p "$port" hget vigil:stats flows_active 2>/dev/null || echo 0)
	[ "${active:-0}" -ge "$flows" ] && break
	kill -0 "$vpid" 2>/dev/null || { cat "$work/vigil.out"; exit 1; }
	sleep 0.5
done
sleep 1
bytes=$(redis-cli -p "$port" hget vigil:stats flow.table_bytes)
cap=$(redis-cli -p "$port" hget vigil:stats flow.table_capacity)
active=$(redis-cli -p "$port" hget vigil:stats flows_active)
redis-cli -p "$port" hmget vigil:stats flows_created flows_evicted drop_flow_table_full rx_packets drops drop_non_ip port.0.rx_nombuf | paste -sd" " | sed "s/^/(created evicted table_full rx drops non_ip nombuf) /"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$vpid/status")
kill -INT "$vpid"
wait "$vpid" || true
vpid=""
echo "flows tracked at once:     $active (table capacity $cap)"
echo "flow table heap bytes:     $bytes"
awk -v b="$bytes" -v a="$active" 'BEGIN { printf "bytes per tracked flow:    %.1f\n", b / a }'
echo "peak RSS of vigil:         $((rss / 1024)) MiB (mostly the $mbufs mbufs holding the looped capture)"
