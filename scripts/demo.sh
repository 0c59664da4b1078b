#!/usr/bin/env bash
# vigil's main job end to end on one machine: install what is missing,
# build, reserve hugepages when possible (else run without), start a
# loopback redis-server if none answers, generate a capture of a small
# cluster talking (DNS, HTTP, TLS, some VLAN-tagged), name a few of its
# workloads the way a CI/CD pipeline would (vigilctl meta push), replay it
# through vigil and show what vigil wrote to Redis: flows, entities,
# services, counters.
#
#   scripts/demo.sh [CAPTURE]     replay CAPTURE instead of a generated one
#
# Environment: VIGIL_REDIS=HOST:PORT (default 127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh

redis=${VIGIL_REDIS:-127.0.0.1:6379}
rhost=${redis%:*}
rport=${redis##*:}
if ! redis-cli -h "$rhost" -p "$rport" ping >/dev/null 2>&1; then
	if [ "$rhost" != 127.0.0.1 ] && [ "$rhost" != localhost ]; then
		echo "vigil demo: no Redis answers at $redis" >&2
		exit 1
	fi
	echo "== starting redis-server on 127.0.0.1:$rport (stop it with: redis-cli -p $rport shutdown)"
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize yes --logfile "$PWD/build/demo-redis.log"
	for _ in $(seq 1 50); do
		redis-cli -p "$rport" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
fi

eal=()
if [ "$(id -u)" -eq 0 ] && scripts/hugepages/vigil-hugepages reserve 512; then
	echo "== running on hugepages"
else
	echo "== no hugepages: running with --no-huge"
	eal=(--no-huge)
fi

capture=${1:-}
if [ -z "$capture" ]; then
	capture=build/demo.pcap
	echo "== generating $capture"
	build/tests/tools/vigil-gencap -o "$capture"
fi

echo "== vigilctl meta push: identities of a few workloads"
build/app/vigilctl/vigilctl --redis "$redis" meta push - <<'JSON'
{
  "10.96.12.40": {"pod": "api-7d4b9c6f5-x2x9z", "namespace": "shop",
                  "image": "registry.example.com/shop/api:1.4.2", "service": "api",
                  "labels": {"app.kubernetes.io/name": "api"}},
  "10.96.12.77": {"pod": "api-7d4b9c6f5-k8q2w", "namespace": "shop",
                  "image": "registry.example.com/shop/api:1.4.2", "service": "api",
                  "labels": {"app.kubernetes.io/name": "api"}},
  "10.96.0.10": {"pod": "coredns-5d78c9869d-m4tq7", "namespace": "kube-system",
                 "image": "registry.k8s.io/coredns/coredns:v1.11.1", "service": "kube-dns"}
}
JSON

echo "== vigil -r $capture --redis $redis"
# A demo shows this replay alone: start from an empty flows stream and no
# entities (each replay adds to what is there).
redis-cli -h "$rhost" -p "$rport" eval "
	redis.call('DEL', 'vigil:flows')
	for _, p in ipairs({'vigil:entit*', 'vigil:service*', 'vigil:edge*',
	                    'vigil:svcedge*', 'vigil:map:*'}) do
		for _, k in ipairs(redis.call('KEYS', p)) do redis.call('DEL', k) end
	end" 0 >/dev/null
build/app/vigil/vigil -r "$capture" --redis "$redis" ${eal[@]+-- "${eal[@]}"}

echo
echo "== vigilctl flows --limit 15"
build/app/vigilctl/vigilctl --redis "$redis" flows --limit 15
echo
echo "== vigilctl entities --limit 10"
build/app/vigilctl/vigilctl --redis "$redis" entities --limit 10
echo
echo "== vigilctl services --limit 10"
build/app/vigilctl/vigilctl --redis "$redis" services --limit 10
echo
echo "== vigilctl entity api (a replica of the service: its fields, services, first clients)"
build/app/vigilctl/vigilctl --redis "$redis" entity api | head -40 || true
echo
echo "== vigilctl stats"
build/app/vigilctl/vigilctl --redis "$redis" stats | grep -vE '^lcore\.' || true
echo
echo "All $(redis-cli -h "$rhost" -p "$rport" xlen vigil:flows) flow records are in the Redis stream vigil:flows;"
echo "try: build/app/vigilctl/vigilctl --redis $redis flows --json --limit 3"
echo "     build/app/vigilctl/vigilctl --redis $redis entity www.example.com"
