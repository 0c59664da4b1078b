#!/usr/bin/env bash
# Integration test of `vigilctl meta` (app/vigilctl/meta.c, lib/meta)
# against a real redis-server.
#
# Starts its own redis-server on a free loopback port and a subscriber on
# P:meta:updates; pushes a document shaped like what a pipeline step emits,
# sets, removes and shows identities, and checks the exact output, the
# P:meta:* keys (README.md "Redis schema") and the update messages. Then
# hostile input: each refused with exit 2 and a message naming the IP and
# the field, and Redis left exactly as it was; and hostile data written to
# Redis by someone else, shown as invalid, never raw.
#
# Usage: VIGILCTL=path/to/vigilctl tests/integration/meta_test.sh
#   (default: build/app/vigilctl/vigilctl)
# Exit: 0 all passed, 1 some check failed, 77 skipped (redis-server,
# redis-cli, jq or timeout missing).
set -euo pipefail

V=${VIGILCTL:-build/app/vigilctl/vigilctl}
V=$(cd "$(dirname "$V")" && pwd)/$(basename "$V")

# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
cd "$TMP"

expect_err() {
	local got
	got=$(cat "$TMP/err")
	if [[ $got == "$2" ]]; then
		pass
	else
		failed "$1: stderr '$got', expected '$2'"
	fi
}
# No raw control byte (but newlines) and no raw ESC in stdout and stderr.
no_controls() {
	! LC_ALL=C tr -d '\n' <"$TMP/out" | LC_ALL=C grep -q '[[:cntrl:]]' &&
		! LC_ALL=C tr -d '\n' <"$TMP/err" | LC_ALL=C grep -q '[[:cntrl:]]'
}

# Everything under the test's keys, as text: to show that a refused
# command changed nothing.
snapshot() {
	local k
	for k in $(rcli --scan --pattern '*' | LC_ALL=C sort); do
		echo "== $k $(rcli TYPE "$k")"
		case $(rcli TYPE "$k") in
		hash) rcli HGETALL "$k" ;;
		zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
		*) rcli DUMP "$k" | od -c | head -5 ;;
		esac
	done
}

# expect_refused NAME MESSAGE ARGS...: exit 2, exactly MESSAGE on stderr,
# nothing in Redis changed, no raw control byte in the message.
expect_refused() {
	local name=$1 msg=$2 before
	shift 2
	before=$(snapshot)
	run "$@"
	expect_rc "$name" 2
	expect_err "$name" "$msg"
	check "$name: Redis unchanged" test "$(snapshot)" == "$before"
	check "$name: no raw control bytes" no_controls
}

# ---------------------------------------------------------------- subscriber

timeout 60 redis-cli -p "$PORT" SUBSCRIBE vigil:meta:updates >"$TMP/sub.out" 2>&1 &
SPID=$!
EXTRA_PIDS=$SPID
for _ in $(seq 100); do # at most ~10 s
	if [[ $(rcli PUBSUB NUMSUB vigil:meta:updates | tail -n 1) == 1 ]]; then
		break
	fi
	sleep 0.1
done
check "subscriber is subscribed" test "$(rcli PUBSUB NUMSUB vigil:meta:updates | tail -n 1)" = 1

# ---------------------------------------------------------------- push

# What a pipeline step emits after a rollout (kubectl get pods -o json |
# jq ...): pod IPs with their identity; since as RFC 3339 or epoch.
cat >rollout.json <<'EOF'
{
  "10.244.1.17": {
    "pod": "checkout-7d4b9c6f5-x2x9z",
    "namespace": "shop",
    "image": "registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    "service": "checkout",
    "labels": {"app.kubernetes.io/name": "checkout", "pod-template-hash": "7d4b9c6f5"},
    "since": "2026-01-01T00:00:00Z"
  },
  "10.244.1.18": {
    "pod": "cart-0",
    "namespace": "shop",
    "image": "redis:7.2",
    "service": "cart",
    "since": 1767225600.25
  },
  "FD00:10:244::1a": {
    "pod": "frontend-5f7c8-abcde",
    "namespace": "web",
    "image": "nginx",
    "service": "frontend",
    "labels": {},
    "since": null
  }
}
EOF
run meta push rollout.json
expect_rc "push" 0
expect_out "push" <<'EOF'
pushed 3 identities (3 current)
EOF
# (a hash with a long value has no field order: compare sorted pairs)
check "push: hash of 10.244.1.17" test "$(rcli HGETALL vigil:meta:10.244.1.17 | paste -d' ' - - | LC_ALL=C sort | paste -sd' ')" = \
	"image registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945 labels app.kubernetes.io/name=checkout,pod-template-hash=7d4b9c6f5 namespace shop pod checkout-7d4b9c6f5-x2x9z service checkout since 1767225600.000000"
check "push: history of 10.244.1.17" test "$(rcli ZRANGE vigil:meta:10.244.1.17:history 0 -1 WITHSCORES | paste -sd' ')" = \
	'{"since":1767225600.000000,"pod":"checkout-7d4b9c6f5-x2x9z","namespace":"shop","image":"registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945","service":"checkout","labels":{"app.kubernetes.io/name":"checkout","pod-template-hash":"7d4b9c6f5"}} 1767225600'
check "push: IPv6 key normalised, no since, no labels" \
	test "$(rcli HGETALL vigil:meta:fd00:10:244::1a | paste -sd' ')" = \
	"pod frontend-5f7c8-abcde namespace web image nginx service frontend"
check "push: IPv6 history scored 0" \
	test "$(rcli ZRANGE vigil:meta:fd00:10:244::1a:history 0 -1 WITHSCORES | tail -n 1)" = 0
check "push: 6 keys" test "$(rcli DBSIZE)" = 6

run meta show
expect_rc "show" 0
expect_out "show" <<'EOF'
ip               since                     pod                       namespace  image                                                             service   labels                                                       note
10.244.1.17      2026-01-01T00:00:00.000Z  checkout-7d4b9c6f5-x2x9z  shop       registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0…  checkout  app.kubernetes.io/name=checkout,pod-template-hash=7d4b9c6f5
10.244.1.18      2026-01-01T00:00:00.250Z  cart-0                    shop       redis:7.2                                                         cart      -
fd00:10:244::1a  -                         frontend-5f7c8-abcde      web        nginx                                                             frontend  -
EOF
run --json meta show
expect_rc "show --json" 0
jq_check "show --json" '. == [
 {"ip":"10.244.1.17","since":1767225600.0,"pod":"checkout-7d4b9c6f5-x2x9z","namespace":"shop","image":"registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945","service":"checkout","labels":{"app.kubernetes.io/name":"checkout","pod-template-hash":"7d4b9c6f5"}},
 {"ip":"10.244.1.18","since":1767225600.25,"pod":"cart-0","namespace":"shop","image":"redis:7.2","service":"cart","labels":{}},
 {"ip":"fd00:10:244::1a","pod":"frontend-5f7c8-abcde","namespace":"web","image":"nginx","service":"frontend","labels":{}}]'

# The same document again: the same slots, replaced; nothing new.
run meta push rollout.json
expect_rc "push again" 0
check "push again: still 6 keys" test "$(rcli DBSIZE)" = 6
check "push again: one history entry" test "$(rcli ZCARD vigil:meta:10.244.1.17:history)" = 1

# Standard input, JSON output.
echo '{"10.244.1.19": {"pod":"pay-1","namespace":"shop","image":"pay:2","service":"pay"}}' |
	"$V" --json meta push - >"$TMP/out" 2>"$TMP/err" && RC=0 || RC=$?
expect_rc "push -" 0
expect_out "push - --json" <<'EOF'
{"pushed":1,"current":1,"trimmed":0}
EOF

# ---------------------------------------------------------------- set: an IP reused

# 10.244.1.17 goes to another pod of another service an hour later.
run meta set 10.244.1.17 pod=report-28391-xk2p service=report \
	image=registry.example.com/jobs/report:9 since=2026-01-01T01:00:00Z \
	labels= label.job-name=report-28391
expect_rc "set (reuse)" 0
expect_out "set (reuse)" <<'EOF'
set 10.244.1.17 (1 current)
EOF
run meta show 10.244.1.17
expect_rc "show IP" 0
expect_out "show IP" <<'EOF'
ip           since                     pod                       namespace  image                                                             service   labels                                                       note
10.244.1.17  2026-01-01T00:00:00.000Z  checkout-7d4b9c6f5-x2x9z  shop       registry.example.com/shop/checkout:1.4.2@sha256:4f53cda18c2baa0…  checkout  app.kubernetes.io/name=checkout,pod-template-hash=7d4b9c6f5
10.244.1.17  2026-01-01T01:00:00.000Z  report-28391-xk2p         shop       registry.example.com/jobs/report:9                                report    job-name=report-28391                                        current
EOF
run --json meta show 10.244.1.17
jq_check "show IP --json" '[.[] | [.pod, .since, .current]] ==
	[["checkout-7d4b9c6f5-x2x9z", 1767225600, false],
	 ["report-28391-xk2p", 1767229200, true]]'
check "set: hash is the later identity" \
	test "$(rcli HGET vigil:meta:10.244.1.17 pod)" = report-28391-xk2p
# One field: the rest from the current identity, the same since (slot).
run meta set 10.244.1.17 image=registry.example.com/jobs/report:10
expect_rc "set one field" 0
check "set one field: image" \
	test "$(rcli HGET vigil:meta:10.244.1.17 image)" = registry.example.com/jobs/report:10
check "set one field: service kept" \
	test "$(rcli HGET vigil:meta:10.244.1.17 service)" = report
check "set one field: history has 2" \
	test "$(rcli ZCARD vigil:meta:10.244.1.17:history)" = 2
# An older identity goes to the history only.
run meta set 10.244.1.17 pod=older since=1700000000
expect_out "set older" <<'EOF'
set 10.244.1.17 (0 current)
EOF
check "set older: hash unchanged" \
	test "$(rcli HGET vigil:meta:10.244.1.17 pod)" = report-28391-xk2p
check "set older: history has 3" \
	test "$(rcli ZCARD vigil:meta:10.244.1.17:history)" = 3
run meta set 10.244.1.99 pod=lonely
expect_rc "set without a current identity" 2
expect_err "set without a current identity" \
	"vigilctl: 10.244.1.99 has no identity yet: namespace: missing; expected pod, namespace, image and service; nothing was written"

# ---------------------------------------------------------------- rm

run meta rm 10.244.1.18
expect_rc "rm" 0
expect_out "rm" <<'EOF'
removed 10.244.1.18
EOF
check "rm: keys gone" test "$(rcli EXISTS vigil:meta:10.244.1.18 vigil:meta:10.244.1.18:history)" = 0
run meta rm 10.244.1.18
expect_rc "rm again" 1
expect_err "rm again" "vigilctl: no identity for 10.244.1.18 under prefix vigil"
run meta show 10.244.1.18
expect_rc "show removed" 1
expect_err "show removed" "vigilctl: no identity for 10.244.1.18 under prefix vigil"
check "show removed: no output" test ! -s "$TMP/out"

# ---------------------------------------------------------------- updates

# Every write was published, in order; refused ones below are not.
for _ in $(seq 50); do # at most ~5 s for the last message
	if grep -qx 'rm 10.244.1.18' "$TMP/sub.out"; then break; fi
	sleep 0.1
done
tail -n +4 "$TMP/sub.out" | paste - - - | cut -f2- >"$TMP/updates"
check "updates" test "$(cat "$TMP/updates")" == "$(printf '%s\n' \
	$'vigil:meta:updates\tset 10.244.1.17' \
	$'vigil:meta:updates\tset 10.244.1.18' \
	$'vigil:meta:updates\tset fd00:10:244::1a' \
	$'vigil:meta:updates\tset 10.244.1.17' \
	$'vigil:meta:updates\tset 10.244.1.18' \
	$'vigil:meta:updates\tset fd00:10:244::1a' \
	$'vigil:meta:updates\tset 10.244.1.19' \
	$'vigil:meta:updates\tset 10.244.1.17' \
	$'vigil:meta:updates\tset 10.244.1.17' \
	$'vigil:meta:updates\tset 10.244.1.17' \
	$'vigil:meta:updates\trm 10.244.1.18')"

# ---------------------------------------------------------------- hostile input

SUBDOMAIN="expected a DNS-1123 subdomain: a-z, 0-9, '-' and '.', at most 253 bytes, dot-separated parts of at most 63 starting and ending with a-z or 0-9"
entry() { # entry POD [IMAGE]
	printf '{"pod":"%s","namespace":"shop","image":"%s","service":"web"}' "$1" "${2:-nginx}"
}

printf '{"10.0.0.1": %s, "10.0.0.300": %s}' "$(entry a)" "$(entry b)" >bad-ip.json
expect_refused "bad IP" \
	'vigilctl: bad-ip.json: IP "10.0.0.300": not an address; expected an IPv4 or IPv6 address; nothing was written' \
	meta push bad-ip.json
printf '{"10.0.0.1": %s, "10.0.0.2": %s}' "$(entry a)" "$(entry Web-2)" >upper.json
expect_refused "upper-case pod" \
	"vigilctl: upper.json: entry \"10.0.0.2\": pod \"Web-2\": 'W' at position 1 is not allowed; $SUBDOMAIN; nothing was written" \
	meta push upper.json
{
	printf '{"10.0.0.1": {"pod":"a","namespace":"shop","service":"web","image":"'
	head -c 1048576 /dev/zero | tr '\0' 'a'
	printf '"}}'
} >big.json
expect_refused "1 MB value" \
	"vigilctl: big.json: entry \"10.0.0.1\": image \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": 1048576 bytes is too long; expected an OCI image reference [host[:port]/]path[:tag][@digest], at most 512 bytes; nothing was written" \
	meta push big.json
printf '{"10.0.0.1": %s}' "$(entry 'a\u001b[31mb')" >esc.json
expect_refused "escaped control character" \
	"vigilctl: esc.json: entry \"10.0.0.1\": pod \"a\\x1b[31mb\": '\\x1b' at position 2 is not allowed; $SUBDOMAIN; nothing was written" \
	meta push esc.json
printf '{"10.0.0.1": %s}' "$(entry $'a\e]0;pwned\ab')" >raw.json
expect_refused "raw control character" \
	"vigilctl: raw.json: line 1, column 23: control character in a string (escape it); nothing was written" \
	meta push raw.json
printf '{"10.0.0.1": {"pod":"a","namespace":"b","image":"c","service":"d","labels":{"app":"a\\nb"}}}' >label.json
expect_refused "control character in a label" \
	"vigilctl: label.json: entry \"10.0.0.1\": label \"app\" value \"a\\x0ab\": '\\x0a' at position 2 is not allowed; expected a label value: A-Z, a-z, 0-9, '-', '_' and '.', at most 63 bytes, starting and ending with a letter or digit, or empty; nothing was written" \
	meta push label.json
echo '[{"ip": "10.0.0.1"}]' >array.json
expect_refused "non-object JSON" \
	"vigilctl: array.json: line 1, column 1: expected a JSON object keyed by IP, found an array; nothing was written" \
	meta push array.json
: >empty.json
expect_refused "empty document" \
	"vigilctl: empty.json: line 1, column 1: expected a JSON object keyed by IP, found the end of the input; nothing was written" \
	meta push empty.json
printf '{"10.0.0.1": %s,\n "10.0.0.01": %s}' "$(entry a)" "$(entry b)" >v4zero.json
expect_refused "leading zero" \
	'vigilctl: v4zero.json: IP "10.0.0.01": not an address; expected an IPv4 or IPv6 address; nothing was written' \
	meta push v4zero.json
printf '{"fd00::1": %s,\n "FD00:0::1": %s}' "$(entry a)" "$(entry b)" >dup.json
expect_refused "duplicate IP" \
	"vigilctl: dup.json: IP fd00::1: given twice (entries 1 and 2); expected each address once; nothing was written" \
	meta push dup.json
printf '{"10.0.0.1": {"pod":"a","pod":"b"}}' >dupfield.json
expect_refused "duplicate field" \
	"vigilctl: dupfield.json: entry \"10.0.0.1\": field pod: given twice; expected pod, namespace, image, service, labels or since, each once; nothing was written" \
	meta push dupfield.json
printf '{"10.0.0.1": {"pod":"a","namespace":"b","image":"c","service":"d","owner":"x"}}' >unknown.json
expect_refused "unknown field" \
	"vigilctl: unknown.json: entry \"10.0.0.1\": unknown field \"owner\"; expected pod, namespace, image, service, labels or since; nothing was written" \
	meta push unknown.json
printf '{"10.0.0.1": %s} {}' "$(entry a)" >trailing.json
expect_refused "trailing data" \
	"vigilctl: trailing.json: line 1, column 78: unexpected data after the JSON value; nothing was written" \
	meta push trailing.json
printf '\xff' >binary.json
expect_refused "binary" \
	"vigilctl: binary.json: line 1, column 1: expected a JSON object keyed by IP, found something that is not JSON; nothing was written" \
	meta push binary.json
head -c 17000000 /dev/zero | tr '\0' ' ' >huge.json
expect_refused "17 MB document" \
	"vigilctl: huge.json: more than 16777216 bytes; expected a document of at most 16 MiB" \
	meta push huge.json
expect_refused "missing file" \
	"vigilctl: cannot read nonexistent.json: No such file or directory" \
	meta push nonexistent.json
expect_refused "set: bad IP" \
	"vigilctl: IP \"10.0.0.1; rm -rf\": ';' at position 9 is not allowed; expected an IPv4 or IPv6 address" \
	meta set '10.0.0.1; rm -rf' pod=a
expect_refused "set: bad image" \
	"vigilctl: image \"my image\": ' ' at position 3 is not allowed; expected an OCI image reference [host[:port]/]path[:tag][@digest], at most 512 bytes; nothing was written" \
	meta set 10.244.1.17 'image=my image'
expect_refused "set: unknown field" \
	"vigilctl: unknown field \"color\"; expected pod, namespace, image, service, labels or since; nothing was written" \
	meta set 10.244.1.17 color=red
expect_refused "set: bad since" \
	"vigilctl: since \"yesterday\": not epoch seconds or an RFC 3339 time; expected epoch seconds (digits, a fraction of at most 9 digits) or an RFC 3339 time such as 2026-01-02T03:04:05Z, from 1970 to 9999; nothing was written" \
	meta set 10.244.1.17 since=yesterday
expect_refused "rm: bad IP" \
	"vigilctl: IP: empty; expected an IPv4 or IPv6 address" \
	meta rm ''
# Bad input is refused before Redis is reached: exit 2 even without Redis.
DEAD=$(pick_port)
VIGIL_REDIS="127.0.0.1:$DEAD" run meta push upper.json
expect_rc "refused without Redis" 2
run meta set 10.244.1.17
expect_rc "set without fields" 2
run meta set 10.244.1.17 pod=a pod=b
expect_rc "set: a field twice" 2
expect_err "set: a field twice" "$(printf '%s\n' "vigilctl: meta set: pod given twice" "usage: vigilctl [--redis HOST:PORT] [--prefix P] [--json] COMMAND [ARGS]" "Try 'vigilctl help'.")"
run meta push
expect_rc "push without FILE" 2
run meta frobnicate
expect_rc "unknown meta command" 2

# A key of another type is refused before any write.
rcli SET vigil:meta:10.0.0.50 x >/dev/null
printf '{"10.0.0.49": %s, "10.0.0.50": %s}' "$(entry a)" "$(entry b)" >typed.json
before=$(snapshot)
run meta push typed.json
expect_rc "key of another type" 1
expect_err "key of another type" "vigilctl: vigil:meta:10.0.0.50 is a string, not a hash (not written by vigilctl); nothing was written"
check "key of another type: Redis unchanged" test "$(snapshot)" == "$before"
rcli DEL vigil:meta:10.0.0.50 >/dev/null

# Nothing refused was published.
sleep 0.2
check "refused pushes published nothing" test "$(tail -n +4 "$TMP/sub.out" | paste - - - | wc -l)" = 11

# ---------------------------------------------------------------- hostile data in Redis

printf '%s\n' \
	'HSET vigil:meta:10.9.0.1 pod "ev\x1b[2Jil" namespace shop image nginx service web' \
	'HSET vigil:meta:10.9.0.2 pod ok namespace shop image nginx service web color red' \
	'HSET "vigil:meta:not-an-ip\x1b]0;x\x07" pod a' \
	'SET vigil:meta:10.9.0.3 "\xff\xfe"' \
	'ZADD vigil:meta:10.244.1.17:history 5 "{\"pod\":\"\x1b[31m\"}"' \
	'ZADD vigil:meta:10.244.1.17:history 6 "{\"pod\":\"a\",\"namespace\":\"b\",\"image\":\"c\",\"service\":\"d\",\"since\":7}"' |
	rcli >/dev/null
run meta show
expect_rc "show hostile" 0
check "show hostile: no raw control bytes" no_controls
expect_out "show hostile" <<'EOF'
ip                     since                     pod                   namespace  image                                service   labels                 note
10.9.0.1               -                         -                     -          -                                    -         -                      invalid
   invalid hash: pod "ev\x1b[2Jil": '\x1b' at position 3 is not allowed; expected a DNS-1123 subdomain: a-z, 0-9, '-' and '.', at most 253 bytes, dot-separated parts of at most 63 starting and ending with a-z or 0-9
10.9.0.2               -                         -                     -          -                                    -         -                      invalid
   invalid hash: unknown field "color"; expected pod, namespace, image, service, labels or since
10.9.0.3               -                         -                     -          -                                    -         -                      invalid
   invalid hash: not a hash (WRONGTYPE Operation against a key holding the wrong kind of value)
10.244.1.17            2026-01-01T01:00:00.000Z  report-28391-xk2p     shop       registry.example.com/jobs/report:10  report    job-name=report-28391
10.244.1.19            -                         pay-1                 shop       pay:2                                pay       -
fd00:10:244::1a        -                         frontend-5f7c8-abcde  web        nginx                                frontend  -
not-an-ip\x1b]0;x\x07  -                         -                     -          -                                    -         -                      invalid
   invalid key: the key does not end in an IPv4 or IPv6 address
EOF
run --json meta show
check "show hostile --json: no raw control bytes" no_controls
jq_check "show hostile --json" '[.[] | .invalid // .pod] | length == 7 and .[0][0:3] == "pod" and .[6] == "the key does not end in an IPv4 or IPv6 address"'
jq_check "show hostile --json: the key name escaped, whole" \
	'.[6].ip == "not-an-ip\u001b]0;x\u0007"'
run meta show 10.244.1.17
expect_rc "show IP hostile history" 0
check "show IP hostile history: no raw control bytes" no_controls
check "show IP hostile history: two invalid entries" \
	test "$(grep -c '^   invalid history: ' "$TMP/out")" = 2
check "show IP hostile history: the valid ones still shown" \
	test "$(grep -c '^10.244.1.17 .*report-28391-xk2p' "$TMP/out")" = 1

echo "$PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
