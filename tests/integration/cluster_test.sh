#!/usr/bin/env bash
# The cluster harness (tests/integration/cluster/cluster.sh) checked on
# itself: the "discovery" scenario is played twice, once with `run` and
# once with `up`, `traffic` and `down`, and each capture must be exactly
# what its expected.json says, as tshark's conversation list sees it
# (check_capture.py: the service graph edge by edge with flow counts and
# the split by replica, per phase, every harness-chosen client port, no
# frame but TCP/UDP over IPv4 and ARP). The two runs must give the same
# graph (the counts are deterministic). The identity documents must be
# accepted by `vigilctl meta push` and leave the reused address with its
# two identities, the second since the time its pod came up. And the
# harness must leave nothing behind: no namespace, no process, after a
# success, after a failure in `up`, and after SIGTERM in the middle of the
# traffic.
#
# Skips (77) when not root, when network namespaces or bridges are not
# permitted, or when a tool is missing (scripts/deps.sh installs them).
. "$(dirname "$0")/lib.sh"
need tshark python3 jq timeout

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

# Whatever happens, no cluster of this test stays up.
outs=()
cluster_cleanup() {
	local o
	for o in "${outs[@]}"; do "$CL" down "$o" >/dev/null 2>&1 || true; done
	cleanup
}
trap cluster_cleanup EXIT

no_leftovers() { # no_leftovers WHAT OUTDIR PREFIX
	local left pids alive=""
	left=$(ip netns list | awk '{ print $1 }' | grep "^$3" || true)
	check "$1: no namespace left" "" "$left"
	pids=$(cat "$2"/.cluster/pods/*/pids 2>/dev/null || true)
	for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
	check "$1: no server process left" "" "$alive"
}

play() { # play NAME MODE: the discovery scenario into $tmp/NAME
	local o=$tmp/$1 rc=0 prefix=vgct$$$1
	outs+=("$o")
	if [[ $2 == run ]]; then
		VIGIL_CLUSTER_PREFIX=$prefix timeout 150 "$CL" run discovery "$o" >"$tmp/$1.log" 2>&1 || rc=$?
	else
		{ VIGIL_CLUSTER_PREFIX=$prefix timeout 60 "$CL" up discovery "$o" &&
			timeout 90 "$CL" traffic "$o" &&
			timeout 60 "$CL" down "$o"; } >"$tmp/$1.log" 2>&1 || rc=$?
	fi
	check "$1: cluster.sh $2 exits 0" 0 "$rc"
	[[ $rc == 0 ]] || tail -n 20 "$tmp/$1.log"
	if [[ -s $o/capture.pcap && $(stat -c %s "$o/capture.pcap") -gt 24 ]]; then
		ok "$1: capture is not empty ($(stat -c %s "$o/capture.pcap") bytes)"
	else
		fail "$1: capture is empty"
	fi
	if [[ -f $o/expected.json ]]; then
		local line
		while IFS= read -r line; do
			case $line in
			"ok   - "*) ok "$1: ${line#ok   - }" ;;
			"FAIL - "*) fail "$1: ${line#FAIL - }" ;;
			*) echo "$line" ;;
			esac
		done < <(python3 "$here/cluster/check_capture.py" "$o/expected.json" 2>&1)
	else
		fail "$1: no expected.json"
	fi
	no_leftovers "$1" "$o" "$prefix"
}

t0=$(date +%s)
play first run
play second split

# The same graph twice: what the harness generates does not depend on the
# run (flows, edges, their split over replicas, per phase).
graph() { jq -S '{edges, service_edges, edges_by_phase, n: (.flows | length)}' "$1"; }
if [[ -f $tmp/first/expected.json && -f $tmp/second/expected.json ]] &&
	[[ $(graph "$tmp/first/expected.json") == "$(graph "$tmp/second/expected.json")" ]]; then
	ok "both runs made the same service graph ($(jq '.flows | length' "$tmp/first/expected.json") flows)"
else
	fail "the two runs made different service graphs"
	diff <(graph "$tmp/first/expected.json") <(graph "$tmp/second/expected.json") | head -20 || true
fi

# What the discovery scenario promises the tests that build on it.
e=$tmp/first/expected.json
check "phases" "initial reused-ip" "$(jq -r '[.phases[].name] | join(" ")' "$e")"
check "10.244.1.50 held by two pods, api then report" \
	"api-58f6d8b7c4-w9p2d report-28391-xk2p" \
	"$(jq -r '.reused_addresses["10.244.1.50"] | map(.pod) | join(" ")' "$e")"
check "api pod gone before the report pod came up, which came up before its phase" true \
	"$(jq -r '.reused_addresses["10.244.1.50"] as $r | ($r[0].to < $r[1].from) and
		($r[1].from <= (.phases[1].start))' "$e")"
check "identity documents" "meta-1.json meta-2.json" "$(jq -r '.meta_files | join(" ")' "$e")"
check "meta-2.json: the report pod, since the time it came up" \
	"$(jq -r '.pods[] | select(.key == "report") | "report-28391-xk2p \(.up)"' "$e")" \
	"$(jq -r '.["10.244.1.50"] | "\(.pod) \(.since | tonumber)"' "$tmp/first/meta-2.json")"
check "every pod that came up is in one identity document" 8 \
	"$(jq -s 'map(keys | length) | add' "$tmp/first/meta-1.json" "$tmp/first/meta-2.json")"

if [[ -x $VIGILCTL ]]; then
	start_redis
	vctl() { "$VIGILCTL" --redis "127.0.0.1:$REDIS_PORT" "$@"; }
	check "vigilctl meta push meta-1.json" "pushed 7 identities (7 current)" \
		"$(vctl meta push "$tmp/first/meta-1.json" 2>&1)"
	check "vigilctl meta push meta-2.json" "pushed 1 identity (1 current)" \
		"$(vctl meta push "$tmp/first/meta-2.json" 2>&1)"
	check "history of 10.244.1.50: api, then report (current) since it came up" \
		"$(jq -r '.reused_addresses["10.244.1.50"] | map("\(.pod) \(.from)") | join(" ")' "$e") true" \
		"$(vctl --json meta show 10.244.1.50 | jq -rs 'map("\(.pod) \(.since)") | join(" ")') $(vctl --json meta show 10.244.1.50 | jq -rs '.[1].current')"
else
	echo "skip - vigilctl meta push (no vigilctl at $VIGILCTL)"
fi

# Failures leave nothing: a pod that takes an address still held fails `up`.
bad=$tmp/bad.sh
cat >"$bad" <<'EOF'
subnet 10.99.0.0/24
pod dns ns=t image=x/dns:1 service=dns ip=10.99.0.2 server=dns
pod a ns=t image=x/a:1 service=a ip=10.99.0.5 server=http:80
pod b ns=t image=x/b:1 service=b ip=10.99.0.5
at 1 a dns a.t.svc.cluster.local
EOF
outs+=("$tmp/bad")
rc=0
VIGIL_CLUSTER_PREFIX=vgct$$bad timeout 60 "$CL" run "$bad" "$tmp/bad" >"$tmp/bad.log" 2>&1 || rc=$?
check "an address held twice fails up (exit 1, the reason said)" "1 1" \
	"$rc $(grep -c 'pod b: 10.99.0.5 is still held by pod a' "$tmp/bad.log")"
no_leftovers "failed up" "$tmp/bad" "vgct$$bad"

# SIGTERM in the middle of the traffic: the trap takes everything down.
long=$tmp/long.sh
cat >"$long" <<'EOF'
subnet 10.99.0.0/24
pod dns ns=t image=x/dns:1 service=dns ip=10.99.0.2 server=dns
pod a ns=t image=x/a:1 service=a ip=10.99.0.5 server=http:80,redis:6379
at 0.2 a dns a.t.svc.cluster.local
at 60 a dns a.t.svc.cluster.local
EOF
outs+=("$tmp/term")
VIGIL_CLUSTER_PREFIX=vgct$$term "$CL" run "$long" "$tmp/term" >"$tmp/term.log" 2>&1 &
cpid=$!
for _ in $(seq 1 300); do # until the capture runs (at most 30 s)
	grep -q 'listening on' "$tmp/term/.cluster/sw/tcpdump.err" 2>/dev/null && break
	sleep 0.1
done
sleep 1
kill -TERM "$cpid"
rc=0
for _ in $(seq 1 300); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
wait "$cpid" || rc=$?
check "SIGTERM during the traffic: exit 143" 143 "$rc"
no_leftovers "after SIGTERM" "$tmp/term" "vgct$$term"

echo "runtime $(($(date +%s) - t0)) s"
finish
