#!/usr/bin/env bash
# vigil benchmark: dpdk-testpmd --forward-mode=rxonly and vigil side by
# side, on the same source, the same cores and for the same time, printing
# the Mpps of each and the ratio. Not a test: run it on a quiet machine,
# with hugepages (scripts/hugepages/vigil-hugepages reserve).
#
#   scripts/bench/bench.sh [-d SECONDS] [-c CORES] [--no-huge] [SOURCE...]
#
# SOURCE is one of:
#   null     net_null, 64-byte frames (all non-IP for vigil: RX, decode, drop)
#   small    net_pcap infinite_rx, 64-byte UDP frames over 10k flows
#   imix     net_pcap infinite_rx, IMIX 64/570/1518 (7:4:1) over 10k flows
#   mix      net_pcap infinite_rx, the demo capture (DNS/HTTP/TLS, 3k flows)
#   FILE     net_pcap infinite_rx on any Ethernet pcap
# Default: null small imix mix.
#
# CORES is "MAIN,PKT" (default 0,1): testpmd runs its forwarding core on
# PKT; vigil runs the one-lcore layout (RX and worker) on PKT. Each side's
# rate is the median of its per-second samples after a warm-up second.
set -euo pipefail
cd "$(dirname "$0")/../.."

dur=10
cores=0,1
huge=1
sources=()
while [ $# -gt 0 ]; do
	case $1 in
	-d) dur=$2; shift 2 ;;
	-c) cores=$2; shift 2 ;;
	--no-huge) huge=0; shift ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) sources+=("$1"); shift ;;
	esac
done
[ ${#sources[@]} -gt 0 ] || sources=(null small imix mix)
pkt_core=${cores#*,}

scripts/deps.sh
scripts/build.sh
command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd not found (package dpdk-dev)"; exit 1; }

mem=()
if [ $huge -eq 1 ]; then
	if ! scripts/hugepages/vigil-hugepages reserve 2048 >/dev/null; then
		echo "bench: could not reserve hugepages; rerun with --no-huge (figures then halve)"
		exit 1
	fi
else
	mem=(--no-huge -m 4096)
fi

work=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gen=build/tests/tools/vigil-gencap
mbufs=262143

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print a[int((NR + 1) / 2)] }'; }

device_for() {
	case $1 in
	null) echo "net_null0,size=64,copy=0" ;;
	small) $gen -o "$work/small.pcap" --profile small --flows 10000 --packets 100000 2>/dev/null
		echo "net_pcap0,rx_pcap=$work/small.pcap,infinite_rx=1" ;;
	imix) $gen -o "$work/imix.pcap" --profile imix --flows 10000 --packets 100000 2>/dev/null
		echo "net_pcap0,rx_pcap=$work/imix.pcap,infinite_rx=1" ;;
	mix) $gen -o "$work/mix.pcap" 2>/dev/null
		echo "net_pcap0,rx_pcap=$work/mix.pcap,infinite_rx=1" ;;
	*) [ -f "$1" ] || { echo "bench: no such source or file: $1" >&2; exit 1; }
		echo "net_pcap0,rx_pcap=$(realpath "$1"),infinite_rx=1" ;;
	esac
}

testpmd_mpps() {
	timeout -s INT $((dur + 3)) dpdk-testpmd -l "$cores" --no-pci "${mem[@]}" \
		--file-prefix=vigil-bench-tp --vdev="$1" --log-level=3 -- \
		--forward-mode=rxonly --nb-cores=1 --total-num-mbufs=$mbufs \
		--stats-period 1 2>/dev/null </dev/null |
		awk '/Rx-pps:/ { print $2 }' | tail -n +3 | head -n "$((dur - 1))" |
		median | awk '{ printf "%.2f", $1 / 1e6 }' || true
}

vigil_mpps() {
	cat >"$work/bench.conf" <<CONF
ports = ( { device = "$1"; } );
lcores = { rx = [ $pkt_core ]; workers = [ $pkt_core ]; };
mempool = { mbufs = $mbufs; };
CONF
	build/app/vigil/vigil -c "$work/bench.conf" --duration "$((dur + 2))" \
		--progress --redis 127.0.0.1:1 -- -l "$cores" --file-prefix=vigil-bench-v \
		"${mem[@]}" 2>/dev/null |
		awk '/^progress/ { for (i = 1; i <= NF; i++) if ($i ~ /^rx_mpps=/) { sub("rx_mpps=", "", $i); print $i } }' |
		tail -n +3 | head -n "$((dur - 1))" | median | awk '{ printf "%.2f", $1 }' || true
}

printf "%-10s %14s %12s %8s\n" source "testpmd Mpps" "vigil Mpps" ratio
for s in "${sources[@]}"; do
	dev=$(device_for "$s")
	t=$(testpmd_mpps "$dev")
	v=$(vigil_mpps "$dev")
	r=$(awk -v t="$t" -v v="$v" 'BEGIN { if (t > 0) printf "%.2f", v / t; else print "-" }')
	printf "%-10s %14s %12s %8s\n" "$s" "$t" "$v" "$r"
done
echo "(cores $cores, ${dur}s each, $([ $huge -eq 1 ] && echo hugepages || echo --no-huge);" \
	"vigil: RX + decode + flow table on core $pkt_core, Redis not written)"
