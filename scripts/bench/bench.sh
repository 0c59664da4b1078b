#!/usr/bin/env bash
# vigil benchmark: dpdk-testpmd --forward-mode=rxonly and vigil side by
# side, on the same source, the same cores and for the same time. Not a
# test: run it on a quiet machine, with hugepages.
#
#   scripts/bench/bench.sh [-d SECONDS] [-r ROUNDS] [-c MAIN,PKT] [--no-huge] [SOURCE...]
#
# SOURCE is one of:
#   null     net_null, 64-byte frames (all non-IP for vigil: RX, decode, drop)
#   small    net_pcap infinite_rx, 64-byte UDP frames over 10k flows
#   small1m  net_pcap infinite_rx, 64-byte UDP frames over 1M flows
#   imix     net_pcap infinite_rx, IMIX 64/570/1518 (7:4:1) over 10k flows
#   vxlan    the imix capture inside VXLAN (needs vigil-gencap --encap)
#   mix      net_pcap infinite_rx, the demo capture (DNS/HTTP/TLS, 3k flows)
#   FILE     net_pcap infinite_rx on any pcap
# Default: small1m imix vxlan mix.
#
# For each source it prints:
#   testpmd   rxonly Mpps, its forwarding core on PKT (main lcore on MAIN)
#   tp cpp    testpmd's TSC cycles per packet (TSC Hz / rate)
#   pipeline  vigil Mpps with RX on MAIN and one worker on PKT: the same
#             two cores testpmd is given (dispatch.decode_on auto: the
#             worker decodes, the RX lcore polls and hands packets on)
#   ratio     pipeline / testpmd, the median of ROUNDS paired runs
#             (testpmd and vigil alternate, so drift on a shared host hits
#             both alike)
#   rx cpp    the RX lcore's busy cycles per packet (the PMD's copy and
#             rte_eth_rx_burst included; compare with tp cpp)
#   w cpp     the pipeline worker's busy cycles per packet (decode and
#             flow tracking)
#   fl cpp    the worker's cycles per packet when the RX lcore decodes
#             (decode_on rx, as with several workers): flow tracking
#             alone; w1 cap is the Mpps that one worker could then take
#             (TSC Hz / fl cpp)
#   1-lcore   vigil Mpps with RX and the worker on PKT alone
#   w2 cap    worker capacity with two workers (on MAIN and PKT, RX on
#             MAIN): the scaling from one worker to two
# and under it the rounds, and what application inspection (l7.enabled)
# costs on that source: the pipeline's Mpps with it and without it (paired
# in each round, like testpmd and vigil) and the flow stage's cycles per
# packet with it and without it.
# Note on the looped captures: net_pcap's infinite_rx replays the same
# packets with the same timestamps, so packet time stops at the end of the
# first pass. A TCP connection opens again with its SYN and is inspected
# again on every pass; a UDP flow (DNS) stays open and is inspected once.
# Each rate is the median of per-second samples after warm-up.
set -euo pipefail
cd "$(dirname "$0")/../.."

dur=8
rounds=3
cores=0,1
huge=1
sources=()
while [ $# -gt 0 ]; do
	case $1 in
	-d) dur=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	-c) cores=$2; shift 2 ;;
	--no-huge) huge=0; shift ;;
	-h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) sources+=("$1"); shift ;;
	esac
done
[ ${#sources[@]} -gt 0 ] || sources=(small1m imix vxlan mix)
main_core=${cores%,*}
pkt_core=${cores#*,}

scripts/deps.sh
[ -n "${VIGIL_NO_BUILD:-}" ] || scripts/build.sh
command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd not found (package dpdk-dev)"; exit 1; }

mem=()
if [ $huge -eq 1 ]; then
	if ! scripts/hugepages/vigil-hugepages reserve 2560 >/dev/null; then
		echo "bench: could not reserve hugepages; rerun with --no-huge (figures then drop)"
		exit 1
	fi
else
	mem=(--no-huge -m 6144)
fi

work=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gen=build/tests/tools/vigil-gencap

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print a[int((NR + 1) / 2)] }'; }

# device_for SOURCE: prints the vdev and sets npkts (packets held by the PMD).
device_for() {
	npkts=0
	local f
	case $1 in
	null) echo "net_null0,size=64,copy=0"; return ;;
	small) f=$work/small.pcap; $gen -o "$f" --profile small --flows 10000 --packets 100000 2>/dev/null ;;
	small1m) f=$work/small1m.pcap; $gen -o "$f" --profile small --flows 1000000 --packets 1000000 2>/dev/null ;;
	imix) f=$work/imix.pcap; $gen -o "$f" --profile imix --flows 10000 --packets 100000 2>/dev/null ;;
	vxlan) f=$work/vxlan.pcap; $gen -o "$f" --profile imix --flows 10000 --packets 100000 --encap vxlan 2>/dev/null ;;
	mix) f=$work/mix.pcap; $gen -o "$f" 2>/dev/null ;;
	*) [ -f "$1" ] || { echo "bench: no such source or file: $1" >&2; exit 1; }
		f=$(realpath "$1") ;;
	esac
	echo "net_pcap0,rx_pcap=$f,infinite_rx=1"
}

npkts_of() { capinfos -M -c "$1" 2>/dev/null | awk -F: '/Number of packets/ { gsub(/ /, "", $2); print $2 }'; }

testpmd_mpps() { # testpmd_mpps DEVICE MBUFS
	timeout -s INT $((dur + 8)) dpdk-testpmd -l "$cores" --no-pci "${mem[@]}" \
		--file-prefix=vigil-bench-tp --vdev="$1" --log-level=3 -- \
		--forward-mode=rxonly --nb-cores=1 --total-num-mbufs="$2" \
		--stats-period 1 2>/dev/null </dev/null |
		awk '/Rx-pps:/ { if ($2 > 0) print $2 }' | tail -n +2 | head -n "$((dur - 1))" |
		median | awk '{ printf "%.2f", $1 / 1e6 }' || true
}

# vigil_run DEVICE MBUFS RX WORKERS FIELD...: medians of --progress fields.
vigil_run() {
	local dev=$1 mbufs=$2 rx=$3 workers=$4
	shift 4
	cat >"$work/bench.conf" <<CONF
ports = ( { device = "$dev"; } );
lcores = { rx = [ $rx ]; workers = [ $workers ]; };
mempool = { mbufs = $mbufs; };
dispatch = { decode_on = "${decode_on:-auto}"; };
l7 = { enabled = ${l7:-1}; };
flow = { max_flows = 1048576; };
CONF
	timeout $((dur + 60)) build/app/vigil/vigil -c "$work/bench.conf" \
		--duration "$((dur + 2))" --progress --redis 127.0.0.1:1 -- \
		-l "$cores" --file-prefix=vigil-bench-v "${mem[@]}" \
		>"$work/progress" 2>/dev/null || true
	for k in "$@"; do
		awk -v k="$k" '/^progress/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$work/progress" |
			awk '$1 > 0' | tail -n +3 | head -n "$((dur - 1))" | median |
			awk '{ printf "%.2f ", $1 }'
	done
}

# TSC MHz, for testpmd's cycles per packet (vigil measures its own).
tsc_mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -1)
[ -n "$tsc_mhz" ] || tsc_mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -1)
[ -n "$tsc_mhz" ] || tsc_mhz=$(awk '/^bogomips/ { print $3 / 2; exit }' /proc/cpuinfo)

printf "%-8s %8s %7s %8s %6s %7s %7s %7s %7s %8s %7s\n" source testpmd "tp cpp" pipeline ratio "rx cpp" "w cpp" "fl cpp" "w1 cap" 1-lcore "w2 cap"
for s in "${sources[@]}"; do
	dev=$(device_for "$s")
	mbufs=262143
	case $dev in
	*rx_pcap=*) f=${dev#*rx_pcap=}; f=${f%%,*}
		n=$(npkts_of "$f"); mbufs=$(( (n + 65536) | 1023 )) ;;
	esac
	tps=() pls=() ratios=() rxc=() wc=() fc=() wcap=() offs=() foffs=()
	for ((r = 0; r < rounds; r++)); do
		t=$(testpmd_mpps "$dev" "$mbufs")
		read -r v rc cpp <<<"$(vigil_run "$dev" "$mbufs" "$main_core" "$pkt_core" rx_mpps rx_cpp worker_cpp)"
		read -r fcpp w1 <<<"$(decode_on=rx vigil_run "$dev" "$mbufs" "$main_core" "$pkt_core" worker_cpp worker_cap_mpps)"
		read -r off _ <<<"$(l7=0 vigil_run "$dev" "$mbufs" "$main_core" "$pkt_core" rx_mpps)"
		read -r foff _ <<<"$(decode_on=rx l7=0 vigil_run "$dev" "$mbufs" "$main_core" "$pkt_core" worker_cpp)"
		tps+=("$t") pls+=("$v") rxc+=("$rc") wc+=("$cpp") fc+=("$fcpp") wcap+=("$w1") offs+=("$off") foffs+=("$foff")
		ratios+=("$(awk -v t="$t" -v v="$v" 'BEGIN { if (t > 0) printf "%.2f", v / t; else print 0 }')")
	done
	med() { printf "%s\n" "$@" | median | awk '{ printf "%.2f", $1 }'; }
	t=$(med "${tps[@]}")
	read -r one _ <<<"$(vigil_run "$dev" "$mbufs" "$pkt_core" "$pkt_core" rx_mpps)"
	read -r w2 _ <<<"$(vigil_run "$dev" "$mbufs" "$main_core" "$main_core, $pkt_core" worker_cap_mpps)"
	tcpp=$(awk -v t="$t" -v hz="$tsc_mhz" 'BEGIN { if (t > 0) printf "%.0f", hz / t; else print "-" }')
	printf "%-8s %8s %7s %8s %6s %7s %7s %7s %7s %8s %7s\n" "$s" "$t" "$tcpp" "$(med "${pls[@]}")" \
		"$(med "${ratios[@]}")" "$(med "${rxc[@]}" | cut -d. -f1)" "$(med "${wc[@]}" | cut -d. -f1)" \
		"$(med "${fc[@]}" | cut -d. -f1)" "$(med "${wcap[@]}")" "$one" "$w2"
	echo "         rounds: testpmd ${tps[*]} | pipeline ${pls[*]} | ratio ${ratios[*]}"
	# What application inspection costs on this source.
	on=$(med "${pls[@]}") off=$(med "${offs[@]}")
	fon=$(med "${fc[@]}") foff=$(med "${foffs[@]}")
	awk -v on="$on" -v off="$off" -v fon="$fon" -v foff="$foff" 'BEGIN {
		if (off > 0) printf "         L7 inspection: pipeline %.2f Mpps with it, %.2f without (%+.0f%%)", on, off, (on / off - 1) * 100
		if (foff > 0) printf "; flow stage %.0f cycles/packet with it, %.0f without (%+.0f%%)", fon, foff, (fon / foff - 1) * 100
		printf "\n" }'
	echo "         L7 rounds: pipeline off ${offs[*]} | flow stage off ${foffs[*]}"
done
echo "(Mpps; cores $cores, ${dur}s per run, $rounds rounds, TSC $tsc_mhz MHz," \
	"$([ $huge -eq 1 ] && echo hugepages || echo --no-huge)," \
	"Redis not written: records counted as undelivered)"
