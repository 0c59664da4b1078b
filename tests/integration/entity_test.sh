#!/usr/bin/env bash
# Entities, services, edges and the map end to end (lib/entity, the
# metadata follower in lib/publish, vigilctl entities/services/entity).
#
# A capture of a small cluster (vigil-gencap's mix profile: client pods in
# 10.244.0.0/16, services in 10.96.0.0/16, DNS on 10.96.0.10), identities
# pushed with `vigilctl meta push` (two replicas of a service, the DNS
# server over both families, three client pods of one service, and one
# client address reused by a second pod 60 s into the capture), replayed
# with `vigil -r`. entity_check.py then computes every entity, service,
# edge, service-level edge, map cell and flow record entity id from tshark
# and the pushed documents, on its own, and compares them with Redis
# exactly. The same again with tables small enough that batches are
# published early (entity_flush_full), and with two workers and a batch
# every second: the same result. Then: the map at two times, the reused address in vigilctl,
# hostile metadata and hostile entity hashes, and identities pushed while a
# live vigil runs (its subscription killed in between: it comes back and
# reads everything again). Every wait is bounded.
. "$(dirname "$0")/lib.sh"
need redis-server redis-cli tshark python3 jq

CHECK=$here/entity_check.py
start_redis
R="127.0.0.1:$REDIS_PORT"
cap=$tmp/mix.pcap
"$GENCAP" -o "$cap" --seed 7 2>"$tmp/gencap.log"
T0=1767225600 # the generator's default start, a multiple of 60

stat() { rcli hget vigil:stats "$1"; }
ctl() { "$VIGILCTL" --redis "$R" "$@"; }
# Everything vigil wrote, the identities kept.
wipe() {
	rcli eval "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
		if string.sub(k, 1, #ARGV[2]) ~= ARGV[2] then redis.call('DEL', k) end
	end" 0 'vigil:*' 'vigil:meta:' >/dev/null
}
replay() { # replay NAME [vigil args...]
	local name=$1
	shift
	wipe
	rc=0
	"$VIGIL" -r "$cap" --redis "$R" "$@" -- "${EAL_ARGS[@]}" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	check "$name: replay exits 0" 0 "$rc"
}
verify() { # verify NAME: entity_check.py against the pushed documents
	if python3 "$CHECK" "$cap" "$REDIS_PORT" --doc "$tmp/doc1.json" \
		--doc "$tmp/doc2.json" --expect-json "$tmp/$1.expect.json" \
		>"$tmp/$1.check" 2>&1; then
		ok "$1: Redis agrees with tshark: $(grep -c '^ok' "$tmp/$1.check") sections ($(grep -o '[0-9]* compared' "$tmp/$1.check" | tr '\n' ',' | sed 's/,$//'))"
	else
		fail "$1: Redis disagrees with tshark:"
		cat "$tmp/$1.check"
	fi
}

# ---- the identities -----------------------------------------------------------
# From tshark: the client address with the most flows both before and after
# T0 + 60 (the reused one), and the three next busiest clients.
tshark -r "$cap" -T fields -e frame.time_epoch -e ip.src -e tcp.flags.syn \
	-e tcp.flags.ack -e udp.srcport -Y 'ip.src == 10.244.0.0/16' \
	>"$tmp/clients.tsv"
python3 - "$tmp/clients.tsv" "$T0" >"$tmp/picked" <<'PY'
import sys
from collections import Counter
t0 = int(sys.argv[2])
early, late, total = Counter(), Counter(), Counter()
for line in open(sys.argv[1]):
    t, ip, syn, ack, udp = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    if not ((syn == "1" and ack == "0") or udp):
        continue  # flows start with a SYN or a UDP datagram from the client
    (early if float(t) < t0 + 60 else late)[ip] += 1
    total[ip] += 1
both = sorted(total, key=lambda ip: (-min(early[ip], late[ip]), ip))
print(both[0])
print(" ".join(sorted(both[1:4])))
PY
reused=$(sed -n 1p "$tmp/picked")
read -r c1 c2 c3 <<<"$(sed -n 2p "$tmp/picked")"
echo "note: reused address $reused; client pods $c1 $c2 $c3"
img=registry.example.com
cat >"$tmp/doc1.json" <<JSON
{
  "10.96.12.40": {"pod": "api-0", "namespace": "shop", "image": "$img/shop/api:1.4.2",
                  "service": "api", "labels": {"app": "api", "tier": "backend"}},
  "10.96.12.77": {"pod": "api-1", "namespace": "shop", "image": "$img/shop/api:1.4.2",
                  "service": "api", "labels": {"app": "api", "tier": "backend"}},
  "10.96.0.10": {"pod": "coredns-0", "namespace": "kube-system",
                 "image": "$img/coredns:1.11", "service": "kube-dns"},
  "fd00:10:96::a": {"pod": "coredns-1", "namespace": "kube-system",
                    "image": "$img/coredns:1.11", "service": "kube-dns"},
  "$reused": {"pod": "web-0", "namespace": "web", "image": "nginx:1.27",
              "service": "web", "since": "2025-12-31T00:00:00Z"},
  "$c1": {"pod": "web-1", "namespace": "web", "image": "nginx:1.27", "service": "web"},
  "$c2": {"pod": "web-2", "namespace": "web", "image": "nginx:1.27", "service": "web"},
  "$c3": {"pod": "web-3", "namespace": "web", "image": "nginx:1.27", "service": "web"}
}
JSON
cat >"$tmp/doc2.json" <<JSON
{ "$reused": {"pod": "batch-7", "namespace": "jobs", "image": "$img/jobs/batch:9",
              "service": "batch", "since": $((T0 + 60))} }
JSON
ctl meta push "$tmp/doc1.json" >/dev/null
ctl meta push "$tmp/doc2.json" >/dev/null
check "the reused address has two identities" 2 \
	"$(ctl --json meta show "$reused" | wc -l)"
# Hostile metadata next to it: refused and counted, never fatal.
rcli hset vigil:meta:not-an-address pod a namespace b image c service d >/dev/null
rcli hset vigil:meta:10.244.99.99 pod 'Evil\x1b[2J' namespace b image c service d >/dev/null
rcli zadd vigil:meta:10.244.99.98:history 0 '{"pod":' >/dev/null

# ---- replay, default configuration ---------------------------------------------
replay first
verify first
check "first: every flow through the entity stage" 3000 "$(stat entity_flows)"
check "first: endpoints named + discovered = 2 per flow" 6000 \
	$(($(stat entity_identified) + $(stat entity_discovered)))
check "first: nothing lost or refused" "0 0" \
	"$(stat drop_entity_undelivered) $(stat entity_flush_full)"
check "first: identities loaded once, the hostile ones refused" "1 8 3" \
	"$(stat meta_loads) $(stat meta.ips) $(stat meta_refused)"
if grep -q "metadata: vigil:meta:10.244.99.99 refused: pod" "$tmp/first.err"; then
	ok "first: a refused identity is logged with its reason"
else
	fail "first: no log of the refused identity: $(grep metadata "$tmp/first.err" | head -3)"
fi
grep -q '^  entities 3000 flows counted' "$tmp/first.out" &&
	ok "first: the summary has the entity line" ||
	fail "first: summary: $(cat "$tmp/first.out")"

# The reused address: two pods, each with the flows that began in its time.
ex=$tmp/first.expect.json
for id in pod/web/web-0 pod/jobs/batch-7; do
	check "$id: flows as tshark counts them" "$(jq -r --arg id "$id" '.[$id].flows' "$ex")" \
		"$(rcli hget "vigil:entity:$id" flows)"
done
check "the reused address: no flow before the first identity" null \
	"$(jq -r --arg id "ip/$reused" '.[$id].flows' "$ex")"
check "vigilctl entity ADDRESS: both pods, newest first" "pod/jobs/batch-7 pod/web/web-0" \
	"$(ctl --json entity "$reused" | jq -r .id | tr '\n' ' ' | sed 's/ $//')"
check "vigilctl entity NAME (a pod)" pod/jobs/batch-7 \
	"$(ctl --json entity batch-7 | jq -r .id)"
check "vigilctl entity NAME (a service: its replicas)" "pod/shop/api-0 pod/shop/api-1" \
	"$(ctl --json entity api | jq -r .id | sort | tr '\n' ' ' | sed 's/ $//')"
check "vigilctl entity ID: identity fields" "cicd jobs registry.example.com/jobs/batch:9 batch svc/jobs/batch $((T0 + 60)).000000" \
	"$(ctl --json entity pod/jobs/batch-7 | jq -r '[.source, .namespace, .image, .service, .group, .since] | map(tostring) | join(" ")')"
check "vigilctl entity: the services of api-0 and its clients' edges" "1 $(rcli hget vigil:service:pod/shop/api-0:8080/tcp flows)" \
	"$(ctl --json entity pod/shop/api-0 | jq -r '[(.services | length), (.edges_in | map(.flows) | add)] | join(" ")')"
check "vigilctl entity: every edge out of web-0" \
	"$(rcli zrange vigil:edges 0 -1 | grep -c '^pod/web/web-0>')" \
	"$(ctl --json entity pod/web/web-0 | jq -r '.edges_out | length')"
if ctl entity pod/web/web-0 >"$tmp/entity.txt" && grep -q '^  talks to (as client)' "$tmp/entity.txt" &&
	grep -q '^namespace  *web$' "$tmp/entity.txt"; then
	ok "vigilctl entity: table with its fields and edges"
else
	fail "vigilctl entity table: $(head -5 "$tmp/entity.txt")"
fi
# An external server named from the DNS answer seen on the wire.
check "vigilctl entity DNS-NAME" "ip/93.184.216.34 www.example.com discovered" \
	"$(ctl --json entity www.example.com | jq -r '[.id, .name, .source] | join(" ")')"
check "vigilctl entity: unknown name" 1 "$(ctl entity no-such-thing >/dev/null 2>&1; echo $?)"
check "vigilctl entity: usage" 2 "$(ctl entity >/dev/null 2>&1; echo $?)"

# Replicas: both api pods' services fold into one service-level node.
check "replicas share the service-level node" "svc/shop/api:8080/tcp svc/shop/api:8080/tcp" \
	"$(rcli hget vigil:service:pod/shop/api-0:8080/tcp group) $(rcli hget vigil:service:pod/shop/api-1:8080/tcp group)"
web_api=$(rcli hget 'vigil:svcedge:svc/web/web>svc/shop/api:8080/tcp' flows)
sum=0
for e in $(rcli zrange vigil:edges 0 -1 | grep -E '^pod/web/web-[0-3]>pod/shop/api-[01]:8080/tcp$'); do
	sum=$((sum + $(rcli hget "vigil:edge:$e" flows)))
done
if [ "${web_api:-0}" -gt 0 ] && [ "$web_api" = "$sum" ]; then
	ok "web -> api at service level: $web_api flows = the sum of its entity-level edges"
else
	fail "web -> api: service level ${web_api:-none}, entity level $sum"
fi
check "the DNS server over IPv4 and IPv6: one node" \
	"svc/kube-system/kube-dns:53/udp svc/kube-system/kube-dns:53/udp" \
	"$(rcli hget vigil:service:pod/kube-system/coredns-0:53/udp group) $(rcli hget vigil:service:pod/kube-system/coredns-1:53/udp group)"

# The map at two times.
check "map buckets" "$T0 $((T0 + 60))" "$(rcli zrange vigil:map:buckets 0 -1 | tr '\n' ' ' | sed 's/ $//')"
m0=$(rcli hkeys "vigil:map:$T0") m1=$(rcli hkeys "vigil:map:$((T0 + 60))")
s0=$(rcli hkeys "vigil:map:$T0:svc") s1=$(rcli hkeys "vigil:map:$((T0 + 60)):svc")
check "map at $T0: web-0 talks, batch-7 not yet" "yes 0" \
	"$(grep -q '^pod/web/web-0>' <<<"$m0" && echo yes) $(grep -c '^pod/jobs/batch-7>' <<<"$m0" || true)"
check "map at $((T0 + 60)): batch-7 talks" yes "$(grep -q '^pod/jobs/batch-7>' <<<"$m1" && echo yes)"
check "service-level map at $T0: web -> api, no batch" "yes 0" \
	"$(grep -q '^svc/web/web>svc/shop/api:8080/tcp$' <<<"$s0" && echo yes) $(grep -c '^svc/jobs/batch>' <<<"$s0" || true)"
check "service-level map at $((T0 + 60)): batch -> DNS" yes \
	"$(grep -q '^svc/jobs/batch>svc/kube-system/kube-dns:53/udp$' <<<"$s1" && echo yes)"

# vigilctl listings: everything there, valid JSON, the newest first.
check "vigilctl entities --limit 0: every entity" "$(rcli zcard vigil:entities)" \
	"$(ctl --json entities --limit 0 | jq -r .id | wc -l)"
check "vigilctl services --limit 0: every service" "$(rcli zcard vigil:services)" \
	"$(ctl --json services --limit 0 | jq -r .id | wc -l)"
check "vigilctl entities: newest first" "$(rcli zrevrange vigil:entities 0 0)" \
	"$(ctl --json entities --limit 1 | jq -r .id)"
check "vigilctl services: default 20" 21 "$(ctl services | wc -l)"
check "vigilctl services: the DNS pods serve dns" "dns dns" \
	"$(ctl --json services --limit 0 | jq -r 'select(.entity | startswith("pod/kube-system/coredns-")) | .app' | tr '\n' ' ' | sed 's/ $//')"
first_json=$(ctl --json entities --limit 0 | sort | md5sum)

# ---- the same with small tables (batches published early) and twice -------------
cat >"$tmp/small.conf" <<CONF
entity = { max_entities = 1024; max_services = 1024; max_edges = 1024; publish_s = 3600; };
CONF
replay small -c "$tmp/small.conf"
verify small
if [ "$(stat entity_flush_full)" -gt 0 ]; then
	ok "small: $(stat entity_flush_full) batches published early (a table full), nothing lost"
else
	fail "small: no batch published early"
fi
check "small: vigilctl entities identical" "$first_json" "$(ctl --json entities --limit 0 | sort | md5sum)"
if [ "$(nproc)" -ge 2 ]; then
	cat >"$tmp/two.conf" <<CONF
lcores = { rx = [ 0 ]; workers = [ 0, 1 ]; };
entity = { publish_s = 1; };
CONF
	replay two -c "$tmp/two.conf"
	verify two
	if [ "$(stat entity_writes)" -gt "$(($(rcli zcard vigil:entities) + $(rcli zcard vigil:edges)))" ]; then
		ok "two: a batch every second of packet time ($(stat entity_writes) merges) adds up the same"
	else
		fail "two: $(stat entity_writes) merges: not published in many batches"
	fi
fi

# ---- hostile entity data for vigilctl ------------------------------------------------
rcli zadd vigil:entities 9999999999 'pod/x/evil' 9999999998 $'ip/\x1b[2J' >/dev/null
rcli hset vigil:entity:pod/x/evil id pod/x/evil name $'evil\x1b[2J\x07name' source cicd \
	flows 12abc first_seen nope pod $'Evil\r\n' ports '80/tcp,99999/tcp' >/dev/null
ctl entities --limit 3 >"$tmp/hostile.txt" 2>"$tmp/hostile.err"
check "hostile: no control bytes in the table" 0 \
	"$(tr -d '\n' <"$tmp/hostile.txt" | LC_ALL=C grep -c $'[\x01-\x1f\x7f]' || true)"
check "hostile: invalid fields shown as invalid" "invalid invalid invalid" \
	"$(awk '$1 == "pod/x/evil" { print $5, $7, $10 }' "$tmp/hostile.txt")"
check "hostile: a member naming no entity is skipped and counted" 1 \
	"$(grep -c 'skipped 1 members of vigil:entities' "$tmp/hostile.err")"
check "hostile: --json valid, invalid fields null and named" \
	'[null,null,null,null,["first_seen","flows","name","pod","ports"]]' \
	"$(ctl --json entity pod/x/evil | jq -c '[.name, .flows, .first_seen, .ports, (.invalid | sort)]')"

# ---- live: identities pushed while vigil runs ------------------------------------------
wipe
rcli eval "for _, k in ipairs(redis.call('KEYS', 'vigil:meta:*')) do redis.call('DEL', k) end" 0 >/dev/null
now=$(date +%s)
live=$tmp/live.pcap
"$GENCAP" -o "$live" --seed 3 --flows 300 --start $((now - 30)) 2>/dev/null
read -r la lb <<<"$(tshark -r "$live" -T fields -e ip.src -Y 'ip.src == 10.244.0.0/16 && (udp || tcp.flags == 0x002)' |
	sort | uniq -c | sort -k1,1nr -k2 | awk 'NR <= 2 { printf "%s ", $2 }')"
cat >"$tmp/live.conf" <<CONF
ports = ( { device = "net_pcap0,rx_pcap=$live"; } );
flow = { tcp_idle_s = 3600; udp_idle_s = 3600; icmp_idle_s = 3600; other_idle_s = 3600;
         tcp_closed_s = 3600; tcp_attempt_s = 3600; };
stats = { interval_ms = 200; };
redis = { retry_ms = 200; };
CONF
"$VIGIL" -c "$tmp/live.conf" --redis "$R" --duration 15 -- "${EAL_ARGS[@]}" \
	>"$tmp/live.out" 2>"$tmp/live.err" &
vpid=$!
wait_for() { # wait_for SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}
following() { [ "$(stat meta.subscribed)" = 1 ] && [ "$(stat meta_loads)" -ge "$1" ]; }
has_ips() { [ "$(stat meta.ips)" = "$1" ]; }
wait_for 20 following 1 || fail "live: vigil does not follow vigil:meta:updates"
echo "{\"$la\": {\"pod\": \"live-a\", \"namespace\": \"live\", \"image\": \"nginx:1\", \"service\": \"a\", \"since\": $((now - 100))}}" >"$tmp/la.json"
echo "{\"$lb\": {\"pod\": \"live-b\", \"namespace\": \"live\", \"image\": \"nginx:1\", \"service\": \"b\", \"since\": $((now - 100))}}" >"$tmp/lb.json"
ctl meta push "$tmp/la.json" >/dev/null
wait_for 10 has_ips 1 && ok "live: an identity pushed while running is read" ||
	fail "live: meta.ips $(stat meta.ips)"
# The subscription goes away: vigil reconnects and reads everything again,
# the identity pushed meanwhile included.
rcli client kill type pubsub >/dev/null
ctl meta push "$tmp/lb.json" >/dev/null
wait_for 10 following 2 && wait_for 10 has_ips 2 &&
	ok "live: subscription lost, re-established, everything read again" ||
	fail "live: loads $(stat meta_loads), ips $(stat meta.ips)"
rc=0
wait $vpid || rc=$?
check "live: exit 0" 0 "$rc"
check "live: one reconnection counted, updates received" "1 yes" \
	"$(stat meta_reconnects) $([ "$(stat meta_updates)" -ge 1 ] && echo yes)"
ctl --json flows --limit 0 >"$tmp/live.jsonl"
for p in "$la live-a" "$lb live-b"; do
	read -r ip pod <<<"$p"
	n=$(jq -r --arg ip "$ip" 'select(.orig_h == $ip or .resp_h == $ip) | .uid' "$tmp/live.jsonl" | wc -l)
	named=$(jq -r --arg ip "$ip" --arg id "pod/live/$pod" \
		'select((.orig_h == $ip and .orig_entity == $id) or (.resp_h == $ip and .resp_entity == $id)) | .uid' "$tmp/live.jsonl" | wc -l)
	check "live: every flow of $ip named $pod (and counted in its entity)" "$n $n" \
		"$named $(rcli hget "vigil:entity:pod/live/$pod" flows)"
done
grep -q "metadata: redis $R lost" "$tmp/live.err" && grep -q "metadata: redis $R answers again" "$tmp/live.err" &&
	ok "live: the loss and the return logged" || fail "live: log: $(grep metadata "$tmp/live.err")"
finish
