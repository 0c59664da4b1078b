# shellcheck shell=bash
# Helpers shared by the integration tests: paths to the built binaries, a
# private redis-server on a free loopback port, EAL arguments that need no
# hugepages, and pass/fail accounting that ends with "N passed, N failed".
#
# The tests are run by meson (tests/meson.build) with VIGIL, VIGILCTL and
# GENCAP set to the built binaries; run by hand they fall back to build/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
VIGIL=${VIGIL:-$top/build/app/vigil/vigil}
VIGILCTL=${VIGILCTL:-$top/build/app/vigilctl/vigilctl}
GENCAP=${GENCAP:-$top/build/tests/tools/vigil-gencap}
SHARED_DATA=${SHARED_DATA:-$top/../shared/data}
# No hugepages, no shared runtime files: tests may run side by side.
EAL_ARGS=(--no-huge --no-shconf)

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
redis_pid=""

cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

need() {
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "SKIP: $c is not installed"
			exit 77
		fi
	done
}

ok() {
	passed=$((passed + 1))
	echo "ok   - $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL - $*"
}

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# start_redis [PORT]: a private redis-server on 127.0.0.1; sets REDIS_PORT.
start_redis() {
	REDIS_PORT=${1:-$(free_port)}
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --daemonize no --loglevel warning \
		>"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 1 100); do
		if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "redis-server did not start on port $REDIS_PORT" >&2
	cat "$tmp/redis.log" >&2
	return 1
}

stop_redis() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
		redis_pid=""
	fi
}

rcli() {
	redis-cli -p "$REDIS_PORT" "$@"
}
