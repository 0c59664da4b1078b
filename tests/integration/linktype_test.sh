#!/usr/bin/env bash
# Link types: the same generated traffic (300 flows) written as Ethernet,
# Linux cooked v1 and v2, raw IP and BSD loopback (NULL in both byte
# orders, LOOP), replayed through vigil, whose RX stage reads the link type
# from the capture (net_pcap does not pass it on). For each: the flows
# agree with tshark, and they are the Ethernet capture's flows (frame
# sizes aside; the link types without Ethernet lose the VLAN tag, and with
# it the uid). A link type vigil does not decode is refused before the EAL
# starts, naming it. Then real captures of these link types from the shared
# data folder, when present.
. "$(dirname "$0")/lib.sh"
need redis-server redis-cli tshark python3 jq capinfos editcap

start_redis
FLOWS=300

replay() { # replay NAME CAPTURE
	local rc=0
	rcli del vigil:flows vigil:stats >/dev/null
	"$VIGIL" -r "$2" --redis "127.0.0.1:$REDIS_PORT" -- "${EAL_ARGS[@]}" \
		>"$tmp/$1.out" 2>"$tmp/$1.err" || rc=$?
	echo "$rc" >"$tmp/$1.rc"
	"$VIGILCTL" --redis "127.0.0.1:$REDIS_PORT" flows --json --limit 0 \
		>"$tmp/$1.jsonl"
}

compare() { # compare NAME CAPTURE
	if python3 "$here/compare_tshark.py" "$2" "$tmp/$1.jsonl" \
		>"$tmp/$1.cmp"; then
		ok "$1: flows agree with tshark: $(head -1 "$tmp/$1.cmp")"
	else
		fail "$1: flows disagree with tshark:"
		head -12 "$tmp/$1.cmp"
	fi
}

# project FILE [FIELDS TO DROP]: the records without what a link type may
# change.
project() {
	jq -c "del(.id, .orig_l2_bytes, .resp_l2_bytes${2:+, $2})" "$1" | sort
}

"$GENCAP" -o "$tmp/ether.pcap" --flows $FLOWS --seed 7 2>/dev/null
npkts=$(capinfos -M -c "$tmp/ether.pcap" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
replay ether "$tmp/ether.pcap"
check "ether: replay exits 0" 0 "$(cat "$tmp/ether.rc")"
check "ether: $FLOWS flows" $FLOWS "$(wc -l <"$tmp/ether.jsonl")"
compare ether "$tmp/ether.pcap"

# NAME: gencap --linktype, tshark's name of it (capinfos -E), what the
# records lose.
while read -r lt encap lost; do
	"$GENCAP" -o "$tmp/$lt.pcap" --flows $FLOWS --seed 7 --linktype "$lt" \
		2>/dev/null
	check "$lt: capture written as $encap" "$encap" \
		"$(capinfos -E -T "$tmp/$lt.pcap" | tail -1 | cut -f2)"
	replay "$lt" "$tmp/$lt.pcap"
	check "$lt: replay exits 0" 0 "$(cat "$tmp/$lt.rc")"
	compare "$lt" "$tmp/$lt.pcap"
	check "$lt: every packet counted in a flow" \
		"packets  $npkts received, $npkts counted in flows, 0 dropped" \
		"$(grep -o 'packets .*' "$tmp/$lt.out")"
	[ "$lost" = "-" ] && lost=""
	if cmp -s <(project "$tmp/ether.jsonl" "$lost") \
		<(project "$tmp/$lt.jsonl" "$lost"); then
		ok "$lt: the Ethernet capture's flows${lost:+ (but $lost)}"
	else
		fail "$lt: flows differ from the Ethernet capture's: $(diff <(project "$tmp/ether.jsonl" "$lost") <(project "$tmp/$lt.jsonl" "$lost") | head -4)"
	fi
done <<'LINKTYPES'
sll linux-sll -
sll2 linux-sll2 -
raw rawip .vlan,.uid
null null .vlan,.uid
null-be null .vlan,.uid
loop loop .vlan,.uid
LINKTYPES

# A link type the decoder does not read: refused before the EAL starts.
editcap -T ieee-802-11 "$tmp/ether.pcap" "$tmp/wifi.pcap" 2>/dev/null
rc=0
"$VIGIL" -r "$tmp/wifi.pcap" --redis "127.0.0.1:$REDIS_PORT" \
	-- "${EAL_ARGS[@]}" >"$tmp/wifi.out" 2>"$tmp/wifi.err" || rc=$?
check "802.11 capture refused" 1 "$rc"
if grep -q "has link type IEEE802_11 (105)" "$tmp/wifi.err" &&
	! grep -q "EAL" "$tmp/wifi.err"; then
	ok "refusal names the link type, before the EAL: $(head -1 "$tmp/wifi.err")"
else
	fail "refusal message: $(head -c 300 "$tmp/wifi.err")"
fi

# Real captures of these link types, read in place, when present.
real() { # real CAPTURE
	local cap=$1 name
	name=real-$(basename "$(dirname "$cap")")-$(basename "$cap")
	if [ ! -f "$cap" ]; then
		echo "note: $cap absent, skipped"
		return
	fi
	replay "$name" "$cap"
	check "$name: replay exits 0" 0 "$(cat "$tmp/$name.rc")"
	compare "$name" "$cap"
}
if [ -d "$SHARED_DATA" ]; then
	real "$SHARED_DATA/suricata-verify/tests/decode-sll2-01/input.pcap"
	real "$SHARED_DATA/suricata-verify/tests/decode-sll2-02/input.pcap"
	real "$SHARED_DATA/arkime/tests/pcap/http2-nghttp2.pcap"
	real "$SHARED_DATA/arkime/tests/pcap/ssl-selfsign.pcap"
	real "$SHARED_DATA/arkime/tests/pcap/mqtt_synthetic.pcap"
	real "$SHARED_DATA/arkime/tests/pcap/adb.pcap"
else
	echo "note: $SHARED_DATA absent, third-party captures skipped"
fi
finish
