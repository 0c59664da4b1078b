#!/usr/bin/env bash
# Integration test of vigilctl (app/vigilctl) against a real redis-server.
#
# Starts its own redis-server on a free loopback port, writes flow records,
# stats and sensors the way README.md "Redis schema" says vigil does (plus
# hostile values), runs vigilctl and checks its exact output and exit codes.
#
# Usage: VIGILCTL=path/to/vigilctl tests/integration/vigilctl_test.sh
#   (default: build/app/vigilctl/vigilctl)
# Exit: 0 all passed, 1 some check failed, 77 skipped (redis-server, redis-cli
# or jq missing).
set -euo pipefail

V=${VIGILCTL:-build/app/vigilctl/vigilctl}

# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"

# expect_err NAME TEXT: stderr's first line is exactly TEXT.
expect_err() {
	local first
	first=$(head -n 1 "$TMP/err")
	if [[ $first == "$2" ]]; then
		pass
	else
		failed "$1: stderr '$first', expected '$2'"
	fi
}


# ---------------------------------------------------------------- data

# Three flows: IPv4 TCP with every field of the schema, IPv6 ICMP of
# another sensor without vlan and history, and a hostile record.
rcli XADD vigil:flows 1767225601234-0 sensor s1 ts 1767225601.234567 \
	uid CHhAvVGS1DHFjwGM9 community_id '1:LQU9qZlK+B5F3KDmev6m5PMibrg=' \
	orig_h 10.0.0.1 orig_p 49152 resp_h 10.0.0.2 resp_p 80 proto tcp \
	duration 1.5005 orig_pkts 10 resp_pkts 8 orig_bytes 100 \
	resp_bytes 2000 orig_ip_bytes 620 resp_ip_bytes 2320 \
	orig_l2_bytes 760 resp_l2_bytes 2432 conn_state SF history ShADadFf \
	vlan 100 end_reason idle >/dev/null
rcli XADD vigil:flows 1767225602000-0 sensor s2 ts 1767225602.000001 \
	uid CzzzzzzzzzzzzzzzA community_id '1:dGhpcyBpcyBub3QgcmVhbA==' \
	orig_h 2001:db8::1 orig_p 128 resp_h 2001:db8::2 resp_p 0 proto icmp \
	duration 0.000123 orig_pkts 1 resp_pkts 1 orig_bytes 56 resp_bytes 56 \
	orig_ip_bytes 104 resp_ip_bytes 104 orig_l2_bytes 118 \
	resp_l2_bytes 118 conn_state OTH end_reason shutdown >/dev/null
# redis-cli reads this from stdin and decodes \xHH, \n, \" and \\ itself.
LONG=$(printf 'A%.0s' $(seq 100))
printf '%s\n' "XADD vigil:flows 1767225603500-0 sensor s1 ts 1767225603.5 uid \"C\\x1b[31mEVIL\\\"q\\\\b\\nline\\xff\\xfe\" orig_h \"10.0.0.9\\x1b]0;pwned\\x07\" orig_p 1 resp_h 10.0.0.10 proto tcp orig_pkts 12abc history \"\\xe2\\x80\\xae\\xc2\\x9bx\" id fake conn_state $LONG" |
	rcli >/dev/null
# What the hostile uid is once its invalid bytes are replaced by U+FFFD.
printf 'C\033[31mEVIL"q\\b\nline\xef\xbf\xbd\xef\xbf\xbd' >"$TMP/uid.expected"

rcli HSET vigil:stats sensor s1 ts 1767225700.5 uptime_s 99 rx_packets 1000 \
	rx_bytes 64000 flows_active 2 records_published 3 drop_nombuf 7 \
	drop_ttl 0 lcore.10.rx_packets 400 lcore.2.rx_packets 600 \
	port.0.ipackets 1000 port.0.imissed 0 mempool.in_use 12 \
	mempool.avail 8180 jemalloc.allocated 4096 redis.connected 1 >/dev/null
rcli HSET vigil:stats:s2 sensor s2 ts 1767225701 rx_packets 5 >/dev/null
rcli HSET vigil:sensors \
	s1 "$(printf '{\n  "id": "s1", "hostname": "probe-1", "version": "0.1.0",\n  "mode": "live", "started": 1767225600.5, "last_seen": 1767225700.25\n}')" \
	s2 '{"id":"s2","hostname":"x\u001b[2Jy","version":"0.1.0","mode":"replay","started":1767225600,"last_seen":1767225701}' \
	s3 'not json {' >/dev/null
printf '%s\n' 'HSET vigil:sensors s4 "{\"id\":\"s4\",\"hostname\":\"a\x1bb\"}"' | rcli >/dev/null

# 2500 flows under prefix big: every third of sensor s2.
seq 1 2500 | awk '{ printf "XADD big:flows %d-0 sensor s%d ts %d.5 uid C%d proto udp\n", $1, ($1 % 3 == 0) ? 2 : 1, 1767225600 + $1, $1 }' |
	rcli >/dev/null
rcli SET wrong:stats x >/dev/null
rcli SET wrong:flows x >/dev/null

# ---------------------------------------------------------------- flows

run flows
expect_rc "flows table" 0
expect_out "flows table" <<'EOF'
ts                        uid                                proto  orig                        resp             duration     pkts     bytes  state                                                             history        vlan
2026-01-01T00:00:01.234Z  CHhAvVGS1DHFjwGM9                  tcp    10.0.0.1:49152              10.0.0.2:80         1.500     10/8  760/2432  SF                                                                ShADadFf        100
2026-01-01T00:00:02.000Z  CzzzzzzzzzzzzzzzA                  icmp   [2001:db8::1]:128           [2001:db8::2]:0     0.000      1/1   118/118  OTH                                                               -
2026-01-01T00:00:03.500Z  C\x1b[31mEVIL"q\b\x0aline\xff\xfe  tcp    10.0.0.9\x1b]0;pwned\x07:1  10.0.0.10               -  12abc/-         -  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…  \u202e\u009bx
EOF
check "flows table has no control bytes" \
	bash -c "! LC_ALL=C tr -d '\n' <'$TMP/out' | LC_ALL=C grep -q '[[:cntrl:]]'"
check "flows table has no C1 controls" \
	bash -c "! LC_ALL=C grep -q \$'\xc2[\x80-\x9f]' '$TMP/out'"
if command -v iconv >/dev/null; then
	check "flows table is valid UTF-8" iconv -f UTF-8 -t UTF-8 -o /dev/null "$TMP/out"
fi

run flows --json
expect_rc "flows --json" 0
check "flows --json gives 3 lines" test "$(lines)" = 3
jq_check "flows --json lines are objects" 'length == 3 and all(.[]; type == "object")'
jq_check "flows --json ipv4 record" '.[0] == {
	"id": "1767225601234-0", "sensor": "s1", "ts": 1767225601.234567,
	"uid": "CHhAvVGS1DHFjwGM9",
	"community_id": "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
	"orig_h": "10.0.0.1", "orig_p": 49152, "resp_h": "10.0.0.2",
	"resp_p": 80, "proto": "tcp", "duration": 1.5005, "orig_pkts": 10,
	"resp_pkts": 8, "orig_bytes": 100, "resp_bytes": 2000,
	"orig_ip_bytes": 620, "resp_ip_bytes": 2320, "orig_l2_bytes": 760,
	"resp_l2_bytes": 2432, "conn_state": "SF", "history": "ShADadFf",
	"vlan": 100, "end_reason": "idle" }'
jq_check "flows --json ipv6 record" '.[1].orig_h == "2001:db8::1" and
	.[1].orig_p == 128 and .[1].resp_p == 0 and (.[1] | has("vlan") | not)
	and (.[1] | has("history") | not) and .[1].ts == 1767225602.000001'
jq_check "flows --json keeps field order" '.[0] | keys_unsorted | .[0:3] == ["id","sensor","ts"]'
jq_check "flows --json hostile: id is the entry id" '.[2].id == "1767225603500-0"'
check "flows --json hostile: one id key" \
	test "$(sed -n 3p "$TMP/out" | grep -o '"id":' | wc -l)" = 1
jq_check "flows --json hostile: bad number stays a string" '.[2].orig_pkts == "12abc"'
jq_check "flows --json hostile: long value kept whole" '(.[2].conn_state | length) == 100'
jq_check "flows --json hostile: C1 and bidi escaped" '.[2].history == "\u202e\u009bx"'
check "flows --json hostile: no raw ESC" \
	bash -c "! LC_ALL=C grep -q \$'\x1b' '$TMP/out'"
jq -s -j '.[2].uid' "$TMP/out" >"$TMP/uid.got" 2>/dev/null || true
check "flows --json hostile: uid round-trips through jq" \
	cmp -s "$TMP/uid.got" "$TMP/uid.expected"
jq -s -j '.[2].orig_h' "$TMP/out" >"$TMP/h.got" 2>/dev/null || true
check "flows --json hostile: orig_h round-trips through jq" \
	cmp -s "$TMP/h.got" <(printf '10.0.0.9\033]0;pwned\007')

run --json flows --limit 1
expect_rc "flows --limit 1" 0
check "flows --limit 1 gives one line" test "$(lines)" = 1
jq_check "flows --limit 1 gives the last record" '.[0].id == "1767225603500-0"'

run flows --limit=2 --json --sensor s1
jq_check "flows --sensor s1" 'map(.id) == ["1767225601234-0","1767225603500-0"]'
run flows --sensor s2 --limit 1
expect_out "flows --sensor s2 table" <<'EOF'
ts                        uid                proto  orig               resp             duration  pkts    bytes  state  history  vlan
2026-01-01T00:00:02.000Z  CzzzzzzzzzzzzzzzA  icmp   [2001:db8::1]:128  [2001:db8::2]:0     0.000   1/1  118/118  OTH    -
EOF
run flows --sensor nobody
expect_rc "flows --sensor nobody" 0
check "flows --sensor nobody: header only" test "$(lines)" = 1

run --prefix big flows --limit 0 --json
expect_rc "flows --limit 0" 0
check "flows --limit 0 gives 2500 lines" test "$(lines)" = 2500
jq_check "flows --limit 0 in order" '[.[].uid] == [range(1;2501) | "C\(.)"]'
run --prefix big flows --limit 0
check "flows --limit 0 table gives 2501 lines" test "$(lines)" = 2501
run --prefix big flows --limit 1500 --json
check "flows --limit 1500 gives 1500 lines" test "$(lines)" = 1500
jq_check "flows --limit 1500 is the newest, oldest first" \
	'[.[].id] == [range(1001;2501) | "\(.)-0"]'
run --prefix big flows
check "flows default limit is 20" test "$(lines)" = 21
run --prefix big flows --json --sensor s2 --limit 0
check "flows --limit 0 --sensor s2 gives 833 lines" test "$(lines)" = 833
run --prefix big flows --json --sensor s2 --limit 1200
jq_check "flows --limit 1200 --sensor s2 (backwards over chunks)" \
	'[.[].id] == [range(1;2501) | select(. % 3 == 0) | "\(.)-0"][-1200:]'
run --prefix big flows --json --sensor s2 --limit 5
jq_check "flows --limit 5 --sensor s2" '[.[].uid] == ["C2487","C2490","C2493","C2496","C2499"]'

run --prefix other flows
expect_rc "--prefix other flows" 0
expect_out "--prefix other flows: header only" <<'EOF'
ts  uid  proto  orig  resp  duration  pkts  bytes  state  history  vlan
EOF
run --prefix other flows --json
expect_out "--prefix other flows --json: nothing" </dev/null

# ---------------------------------------------------------------- stats

run stats
expect_rc "stats table" 0
expect_out "stats table" <<'EOF'
counter                     value
drop_nombuf                     7
drop_ttl                        0
flows_active                    2
records_published               3
rx_bytes                    64000
rx_packets                   1000
sensor                         s1
ts                   1767225700.5
uptime_s                       99
port.0.imissed                  0
port.0.ipackets              1000
mempool.avail                8180
mempool.in_use                 12
jemalloc.allocated           4096
redis.connected                 1
lcore.2.rx_packets            600
lcore.10.rx_packets           400

drops (non-zero)  value
drop_nombuf           7
EOF
run stats --json
expect_rc "stats --json" 0
check "stats --json is one line" test "$(lines)" = 1
jq_check "stats --json values" '.[0] == { "drop_nombuf": 7, "drop_ttl": 0,
	"flows_active": 2, "records_published": 3, "rx_bytes": 64000,
	"rx_packets": 1000, "sensor": "s1", "ts": 1767225700.5,
	"uptime_s": 99, "port.0.imissed": 0, "port.0.ipackets": 1000,
	"mempool.avail": 8180, "mempool.in_use": 12,
	"jemalloc.allocated": 4096, "redis.connected": 1,
	"lcore.2.rx_packets": 600, "lcore.10.rx_packets": 400 }'
run --json stats --sensor s2
jq_check "stats --sensor s2" '.[0] == {"rx_packets": 5, "sensor": "s2", "ts": 1767225701}'

run --prefix other stats
expect_rc "missing stats" 1
expect_err "missing stats" "vigilctl: no stats for any sensor under prefix other (is vigil running?)"
run stats --sensor nobody
expect_rc "missing stats --sensor" 1
expect_err "missing stats --sensor" "vigilctl: no stats for sensor nobody under prefix vigil (is vigil running?)"

# ---------------------------------------------------------------- sensors

run sensors
expect_rc "sensors table" 0
expect_out "sensors table" <<'EOF'
id  hostname   version  mode    started                   last_seen                 note
s1  probe-1    0.1.0    live    2026-01-01T00:00:00.500Z  2026-01-01T00:01:40.250Z
s2  x\x1b[2Jy  0.1.0    replay  2026-01-01T00:00:00.000Z  2026-01-01T00:01:41.000Z
s3  -          -        -       -                         -                         value is not a JSON object
s4  -          -        -       -                         -                         value is not a JSON object
EOF
run --json sensors
expect_rc "sensors --json" 0
check "sensors --json gives 4 lines" test "$(lines)" = 4
jq_check "sensors --json s1 compacted" '.[0] == {"id":"s1","hostname":"probe-1",
	"version":"0.1.0","mode":"live","started":1767225600.5,
	"last_seen":1767225700.25}'
check "sensors --json s1 on one line" \
	test "$(head -n 1 "$TMP/out")" = '{"id":"s1","hostname":"probe-1","version":"0.1.0","mode":"live","started":1767225600.5,"last_seen":1767225700.25}'
jq_check "sensors --json s2 escape kept" '.[1].hostname == "x\u001b[2Jy"'
jq_check "sensors --json s3 wrapped" '.[2] == {"id":"s3","raw":"not json {"}'
jq_check "sensors --json s4 (raw ESC in JSON) wrapped" \
	'.[3] == {"id":"s4","raw":"{\"id\":\"s4\",\"hostname\":\"a\u001bb\"}"}'
run --prefix other sensors --json
expect_rc "--prefix other sensors" 0
expect_out "--prefix other sensors: nothing" </dev/null

# ---------------------------------------------------------------- errors

run --prefix wrong stats
expect_rc "WRONGTYPE stats" 1
check "WRONGTYPE stats message" grep -q '^vigilctl: .*WRONGTYPE' "$TMP/err"
run --prefix wrong flows
expect_rc "WRONGTYPE flows" 1
check "WRONGTYPE flows message" grep -q '^vigilctl: .*WRONGTYPE' "$TMP/err"

DEAD=$(pick_port)
run --redis "127.0.0.1:$DEAD" stats
expect_rc "unreachable Redis" 2
expect_err "unreachable Redis" "vigilctl: cannot connect to Redis at 127.0.0.1:$DEAD: Connection refused"
VIGIL_REDIS="127.0.0.1:$DEAD" run flows
expect_rc "unreachable Redis from VIGIL_REDIS" 2
VIGIL_REDIS="127.0.0.1:$DEAD" run flows --redis "127.0.0.1:$PORT" --limit 1 --json
expect_rc "--redis wins over VIGIL_REDIS" 0
VIGIL_PREFIX=big run flows --json --limit 1
jq_check "VIGIL_PREFIX" '.[0].id == "2500-0"'

run flows --limit -1
expect_rc "--limit -1" 2
expect_err "--limit -1" "vigilctl: invalid --limit '-1': expected a non-negative integer"
check "--limit -1 prints usage" grep -q '^usage: vigilctl' "$TMP/err"
run flows --limit abc
expect_rc "--limit abc" 2
expect_err "--limit abc" "vigilctl: invalid --limit 'abc': expected a non-negative integer"
run flows --limit
expect_rc "--limit without value" 2
run frobnicate
expect_rc "unknown command" 2
expect_err "unknown command" "vigilctl: unknown command 'frobnicate'"
run flows --bogus
expect_rc "unknown option" 2
expect_err "unknown option" "vigilctl: unknown option '--bogus'"
run
expect_rc "no command" 2
run --redis '::1' stats
expect_rc "bare IPv6 address" 2
run --redis 'localhost:99999' stats
expect_rc "bad port" 2
run help
expect_rc "help" 0
check "help prints usage" grep -q '^usage: vigilctl' "$TMP/out"

if [[ $HAVE_V6 == yes ]]; then
	run --redis "[::1]:$PORT" --json stats
	expect_rc "IPv6 --redis [::1]:PORT" 0
	jq_check "IPv6 --redis [::1]:PORT" '.[0].sensor == "s1"'
else
	echo "note: no IPv6 loopback, [::1] connection not tested"
fi

# ---------------------------------------------------------------- read-only

BEFORE=$(rcli DBSIZE)
rcli CONFIG RESETSTAT >/dev/null
for args in "stats" "--json stats" "flows" "--json flows --limit 0" \
	"sensors" "--json sensors" "--prefix big flows --limit 0" \
	"--prefix big flows --limit 1500 --sensor s2"; do
	# shellcheck disable=SC2086 # word splitting intended
	run $args
done
COMMANDS=$(rcli INFO commandstats | tr -d '\r' | grep '^cmdstat_' | cut -d: -f1 |
	grep -Ev '^cmdstat_(hlen|hgetall|xrange|xrevrange|info|config\|resetstat)$' || true)
check "read-only: only HLEN HGETALL XRANGE XREVRANGE sent (also: $COMMANDS)" test -z "$COMMANDS"
check "read-only: DBSIZE unchanged" test "$(rcli DBSIZE)" = "$BEFORE"

echo "$PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
