#!/usr/bin/env bash
# Discovery end to end on real traffic: the cluster harness plays its
# "discovery" scenario (tests/integration/cluster), vigil replays the
# capture with both identity documents pushed first (identities are looked
# up at packet time, so the second pod of the reused address must be known,
# with its `since`, before the replay), and what vigilctl reads back from
# Redis must be the harness's truth (discovery_check.py): the exact service
# graph with flow counts, the identities of the pods, the reused address
# resolved to two pods by time, `vigilctl map --at` in phase 1 and in phase
# 2 giving the edges of each phase, and `vigilctl policy` for web and
# frontend: valid NetworkPolicy YAML whose ingress and egress list exactly
# the observed peers, stored in vigil:policy:<ns>/<service>. The DOT map
# must render with `dot -Tsvg`.
#
# The map's smallest bucket is 10 s and the scenario lasts about 10 s, so
# the capture is re-timed before the replay: phase 1 moved to start 0.25 s
# into a bucket, phase 2 to start 0.25 s into a bucket at least one bucket
# after phase 1's; each identity's `since` moves with its phase. Each
# phase then sits in exactly one bucket and no flow is counted in two.
#
# Skips (77) when not root, without network namespaces or bridges, or when a
# tool is missing (cluster.sh check).
. "$(dirname "$0")/lib.sh"
need python3 jq timeout redis-server redis-cli

CL=$here/cluster/cluster.sh
rc=0
reason=$("$CL" check) || rc=$?
if [[ $rc == 77 ]]; then
	echo "$reason"
	exit 77
elif [[ $rc != 0 ]]; then
	echo "FAIL: cluster.sh check: exit $rc $reason" >&2
	exit 1
fi
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml is not installed"; exit 77; }

o=$tmp/c
disc_cleanup() {
	"$CL" down "$o" >/dev/null 2>&1 || true
	cleanup
}
trap disc_cleanup EXIT

t0=$(date +%s)
rc=0
VIGIL_CLUSTER_PREFIX=vgdt$$ timeout 150 "$CL" run discovery "$o" >"$tmp/cluster.log" 2>&1 || rc=$?
check "cluster.sh run discovery exits 0" 0 "$rc"
if [[ $rc != 0 || ! -f $o/expected.json ]]; then
	tail -n 20 "$tmp/cluster.log"
	finish
	exit 1
fi

# ---- re-time the capture and the identities, phase by phase --------------------
B=10
if ! python3 - "$o" "$tmp" "$B" >"$tmp/retime.out" 2>&1 <<'EOF'
import json, math, struct, sys
o, out, B = sys.argv[1], sys.argv[2], int(sys.argv[3])
exp = json.load(open(o + "/expected.json"))
start, p2, end = exp["capture"]["start"], exp["phases"][1]["start"], exp["capture"]["end"]
if p2 - start > B - 0.5 or end - p2 > B - 0.5:
    sys.exit("a phase lasts more than %d s: %.3f, %.3f" % (B - 0.5, p2 - start, end - p2))
us = lambda t: int(round(t * 1e6))
d1 = us(math.ceil(start / B) * B + 0.25) - us(start)
p1_end = us(p2) + d1                                   # phase 1 ends before this
d2 = us((math.ceil(p1_end / 1e6 / B) + 1) * B + 0.25) - us(p2)
raw = open(o + "/capture.pcap", "rb").read()
magic = struct.unpack("<I", raw[:4])[0]
assert magic in (0xa1b2c3d4, 0xa1b23c4d), "not a little-endian pcap"
unit = 1 if magic == 0xa1b2c3d4 else 1000
res, off = bytearray(raw[:24]), 24
while off + 16 <= len(raw):
    sec, frac, incl, orig = struct.unpack("<IIII", raw[off:off + 16])
    t = sec * 1000000 + frac // unit
    t += d1 if t < us(p2) else d2
    res += struct.pack("<IIII", t // 1000000, (t % 1000000) * unit, incl, orig)
    res += raw[off + 16:off + 16 + incl]
    off += 16 + incl
open(out + "/capture.pcap", "wb").write(res)
for name, d in (("meta-1.json", d1), ("meta-2.json", d2)):
    doc = json.load(open(o + "/" + name))
    for ident in doc.values():
        if ident.get("since") is not None:
            ident["since"] = "%.6f" % ((us(float(ident["since"])) + d) / 1e6)
    json.dump(doc, open(out + "/" + name, "w"))
print("%.6f %.6f %.6f %.6f" % ((us(start) + d1) / 1e6 + 5, (us(p2) + d2) / 1e6 + 1, d1 / 1e6, d2 / 1e6))
EOF
then
	fail "re-timing the capture: $(cat "$tmp/retime.out")"
	finish
	exit 1
fi
read -r p1_at p2_at d1 d2 <"$tmp/retime.out"
ok "capture re-timed: phase 1 +${d1} s, phase 2 +${d2} s; phase 1 at $p1_at, phase 2 at $p2_at"

# ---- identities first, then the replay ---------------------------------------------
start_redis
R=127.0.0.1:$REDIS_PORT
vctl() { "$VIGILCTL" --redis "$R" "$@"; }
check "vigilctl meta push meta-1.json" "pushed 7 identities (7 current)" \
	"$(vctl meta push "$tmp/meta-1.json" 2>&1)"
check "vigilctl meta push meta-2.json" "pushed 1 identity (1 current)" \
	"$(vctl meta push "$tmp/meta-2.json" 2>&1)"
printf 'entity = { bucket_s = %d; };\n' "$B" >"$tmp/vigil.conf"
rc=0
timeout 60 "$VIGIL" -r "$tmp/capture.pcap" -c "$tmp/vigil.conf" --redis "$R" -- "${EAL_ARGS[@]}" \
	>"$tmp/vigil.out" 2>"$tmp/vigil.err" || rc=$?
check "vigil -r capture.pcap exits 0" 0 "$rc"
[[ $rc == 0 ]] || tail -n 20 "$tmp/vigil.err"
check "every flow named (no identity refused)" 0 \
	"$(redis-cli -p "$REDIS_PORT" hget vigil:stats meta_refused)"

# ---- what vigilctl reads back ------------------------------------------------------
while IFS= read -r line; do
	case $line in
	"ok   - "*) ok "${line#ok   - }" ;;
	"FAIL - "*) fail "${line#FAIL - }" ;;
	*) echo "$line" ;;
	esac
done < <(timeout 120 python3 "$here/discovery_check.py" "$o/expected.json" "$VIGILCTL" "$R" \
	"$p1_at" "$p2_at" "$d1" "$d2" 2>&1 || echo "FAIL - discovery_check.py exits $?")

# The map as a table and as DOT.
check "map --at (phase 2, table): the header and one row an edge" \
	"$(($(jq '[.edges_by_phase["reused-ip"][] | [.client_service, .dst, .port] | tostring] | unique | length' "$o/expected.json") + 2))" \
	"$(vctl map --at "$p2_at" | wc -l)"
vctl map --at "$p2_at" --window 1h --format dot >"$tmp/map.dot"
if command -v dot >/dev/null 2>&1; then
	rc=0
	dot -Tsvg "$tmp/map.dot" >"$tmp/map.svg" 2>"$tmp/dot.err" || rc=$?
	check "map --format dot renders with dot -Tsvg" "0 1" "$rc $(grep -c '<svg' "$tmp/map.svg")"
	check "the SVG has one node a group and one edge a service-level edge" \
		"$(grep -c '^  "[^"]*" \[label' "$tmp/map.dot") $(grep -c ' -> ' "$tmp/map.dot")" \
		"$(grep -c 'class="node"' "$tmp/map.svg") $(grep -c 'class="edge"' "$tmp/map.svg")"
else
	echo "skip - dot -Tsvg (graphviz is not installed)"
fi

# Hostile content in Redis: a DNS name with an escape sequence and a quote is
# shown as invalid, never raw, in every format; a cell that is no edge is skipped.
ext=$(vctl --json map --at "$p2_at" --window 1h | jq -r 'select(.server | startswith("ip/")) | .server' | head -n 1)
redis-cli -p "$REDIS_PORT" hset "vigil:entity:$ext" dns_name $'evil\x1b[31m"x' >/dev/null
bucket=$(redis-cli -p "$REDIS_PORT" zrange vigil:map:buckets -1 -1)
redis-cli -p "$REDIS_PORT" hset "vigil:map:$bucket:svc" $'a>b\x1b' "1 2" >/dev/null
vctl map --at "$p2_at" --window 1h >"$tmp/hostile.txt" 2>"$tmp/hostile.err"
vctl map --at "$p2_at" --window 1h --format dot >"$tmp/hostile.dot" 2>/dev/null
check "hostile name: table shows it invalid, nothing raw" "1 0" \
	"$(grep -c "$ext (invalid)" "$tmp/hostile.txt") $(grep -c $'\x1b' "$tmp/hostile.txt" "$tmp/hostile.dot" | awk -F: '{ s += $2 } END { print s }')"
check "hostile name: JSON null and named invalid" '[null,["server_name"]]' \
	"$(vctl --json map --at "$p2_at" --window 1h 2>/dev/null | jq -c --arg e "$ext" 'select(.server == $e) | [.server_name, .invalid]' | head -n 1)"
check "a cell that is no edge is skipped and counted" 1 "$(grep -c 'skipped 1 map cells' "$tmp/hostile.err")"
if command -v dot >/dev/null 2>&1; then
	check "hostile DOT still renders" 0 "$(dot -Tsvg "$tmp/hostile.dot" >/dev/null 2>&1; echo $?)"
fi
rc=0
vctl map --at 1000000000 >/dev/null 2>&1 || rc=$?
check "map at a time no bucket holds: exit 1" 1 "$rc"
rc=0
vctl map --at yesterday >/dev/null 2>&1 || rc=$?
check "map --at yesterday: usage error (exit 2)" 2 "$rc"
rc=0
vctl policy --service Bad_Name >/dev/null 2>&1 || rc=$?
check "policy --service Bad_Name: refused (exit 2)" 2 "$rc"

echo "runtime $(($(date +%s) - t0)) s"
finish
