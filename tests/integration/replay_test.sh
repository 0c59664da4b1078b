#!/usr/bin/env bash
# Replay a generated capture through the real vigil binary into a private
# redis-server and check the flow records against tshark: exact flow count,
# packets and frame bytes each way for every flow. Then check that the
# replay is deterministic (same records twice, and the same with two
# workers), that stats and the sensor reach Redis, and that the summary
# accounts for every packet.
. "$(dirname "$0")/lib.sh"
need redis-server redis-cli tshark python3 jq

start_redis
cap=$tmp/mix.pcap
"$GENCAP" -o "$cap" --seed 7 2>"$tmp/gencap.log"
npkts=$(capinfos -M -c "$cap" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')

run() { # run NAME EXTRA_VIGIL_ARGS... -- EXTRA_EAL_ARGS...
	local name=$1
	shift
	rcli del vigil:flows vigil:stats >/dev/null
	"$VIGIL" -r "$cap" --redis "127.0.0.1:$REDIS_PORT" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	echo $? >"$tmp/$name.rc"
	"$VIGILCTL" --redis "127.0.0.1:$REDIS_PORT" flows --json --limit 0 \
		>"$tmp/$name.jsonl"
}

run first -- "${EAL_ARGS[@]}"
check "replay exits 0" 0 "$(cat "$tmp/first.rc")"
if python3 "$here/compare_tshark.py" "$cap" "$tmp/first.jsonl" >"$tmp/cmp.txt"; then
	ok "records agree with tshark: $(head -1 "$tmp/cmp.txt")"
else
	fail "records disagree with tshark:"
	cat "$tmp/cmp.txt"
fi
nflows=$(tshark -n -r "$cap" -q -z conv,tcp -z conv,udp | grep -c '<->')
nicmp=$(tshark -n -r "$cap" -Y 'icmp || icmpv6' -T fields -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst |
	awk '{ if ($1 < $2) print $1, $2; else print $2, $1 }' | sort -u | wc -l)
check "flow count = tshark TCP+UDP conversations + ICMP pairs" \
	$((nflows + nicmp)) "$(wc -l <"$tmp/first.jsonl")"
nvlan=$(jq -r 'select(.vlan != null) | .uid' "$tmp/first.jsonl" | wc -l)
if [ "$nvlan" -gt 0 ]; then
	ok "$nvlan VLAN-tagged flows (their VLAN ids were compared with tshark's above)"
else
	fail "no VLAN-tagged flow in the records"
fi
check "every packet of the capture counted in a flow" \
	"packets  $npkts received, $npkts counted in flows, 0 dropped" \
	"$(grep -o 'packets .*' "$tmp/first.out")"
check "stats: rx_packets" "$npkts" "$(rcli hget vigil:stats rx_packets)"
check "stats: records_published = flows" "$(wc -l <"$tmp/first.jsonl")" \
	"$(rcli hget vigil:stats records_published)"
check "stats: drops" 0 "$(rcli hget vigil:stats drops)"
sensor=$(jq -r .sensor "$tmp/first.jsonl" | sort -u)
check "sensor registered" "$sensor" \
	"$(rcli hget vigil:sensors "$sensor" | jq -r .id)"
check "per-sensor stats" "$npkts" \
	"$(rcli hget "vigil:stats:$sensor" rx_packets)"
check "timestamps are the capture's" \
	"$(capinfos -a -S "$cap" | awk -F: '/First packet time/ {gsub(/ /,"",$2); print $2}' | cut -d. -f1)" \
	"$(jq -r .ts "$tmp/first.jsonl" | sort -n | head -1 | cut -d. -f1)"

# Determinism: the same capture gives the same records (uid, times,
# counters), in any order, whatever the number of workers.
strip() { jq -c 'del(.id)' "$1" | sort; }
# Across worker layouts, resp_name may differ: a DNS answer seen by another
# worker reaches this one through the control thread a little late, and a
# replay runs far faster than the capture was taken (README).
strip_names() { jq -c 'del(.id, .resp_name)' "$1" | sort; }
run second -- "${EAL_ARGS[@]}"
if cmp -s <(strip "$tmp/first.jsonl") <(strip "$tmp/second.jsonl"); then
	ok "second replay gives identical records"
else
	fail "second replay differs: $(diff <(strip "$tmp/first.jsonl") <(strip "$tmp/second.jsonl") | head -3)"
fi
cat >"$tmp/two.conf" <<CONF
lcores = { rx = [ 0 ]; workers = [ 0, 1 ]; };
CONF
if [ "$(nproc)" -ge 2 ]; then
	run two -c "$tmp/two.conf" -- "${EAL_ARGS[@]}"
	check "two-worker replay exits 0" 0 "$(cat "$tmp/two.rc")"
	if cmp -s <(strip_names "$tmp/first.jsonl") <(strip_names "$tmp/two.jsonl"); then
		ok "two workers give identical records (resp_name aside)"
	else
		fail "two workers differ: $(diff <(strip_names "$tmp/first.jsonl") <(strip_names "$tmp/two.jsonl") | head -3)"
	fi
	check "both workers had flows" 2 \
		"$(rcli hgetall vigil:stats | paste - - | awk '$1 ~ /^lcore\.[0-9]+\.flows_created$/ && $2 > 0' | wc -l)"
	# RX and one worker on two lcores: the worker decodes (decode_on
	# auto), and must key, time and count exactly as the RX lcore does.
	for where in worker rx; do
		cat >"$tmp/split-$where.conf" <<CONF
lcores = { rx = [ 0 ]; workers = [ 1 ]; };
dispatch = { decode_on = "$where"; };
CONF
		run "split-$where" -c "$tmp/split-$where.conf" -- "${EAL_ARGS[@]}"
		check "decode on the $where: replay exits 0" 0 "$(cat "$tmp/split-$where.rc")"
		if cmp -s <(strip "$tmp/first.jsonl") <(strip "$tmp/split-$where.jsonl"); then
			ok "decode on the $where gives identical records"
		else
			fail "decode on the $where differs: $(diff <(strip "$tmp/first.jsonl") <(strip "$tmp/split-$where.jsonl") | head -3)"
		fi
	done
	# Where the decoding ran shows in whose counters the tunnels are.
	"$GENCAP" -o "$tmp/vx.pcap" --profile imix --flows 20 --packets 200 \
		--encap vxlan 2>/dev/null
	for where in worker rx; do
		rcli del vigil:stats >/dev/null
		"$VIGIL" -r "$tmp/vx.pcap" -c "$tmp/split-$where.conf" \
			--redis "127.0.0.1:$REDIS_PORT" -- "${EAL_ARGS[@]}" >/dev/null 2>&1
		echo "$where $(rcli hget vigil:stats lcore.0.tunnel_vxlan) $(rcli hget vigil:stats lcore.1.tunnel_vxlan)"
	done >"$tmp/where.txt"
	check "VXLAN decoded on the worker lcore (decode_on worker)" "worker 0 200" "$(sed -n 1p "$tmp/where.txt")"
	check "VXLAN decoded on the RX lcore (decode_on rx)" "rx 200 0" "$(sed -n 2p "$tmp/where.txt")"
fi

# A real third-party capture, when the shared data folder is present.
real=$SHARED_DATA/chrissanders-packets/http_espn.pcapng
if [ -f "$real" ]; then
	cap=$real
	run real -- "${EAL_ARGS[@]}"
	if python3 "$here/compare_tshark.py" "$cap" "$tmp/real.jsonl" >"$tmp/cmp.txt"; then
		ok "http_espn.pcapng agrees with tshark: $(head -1 "$tmp/cmp.txt")"
	else
		fail "http_espn.pcapng disagrees with tshark:"
		cat "$tmp/cmp.txt"
	fi
else
	echo "note: $SHARED_DATA absent, third-party capture skipped"
fi
finish
