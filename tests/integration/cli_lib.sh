# shellcheck shell=bash
# Helpers shared by the vigilctl tests (vigilctl_test.sh, meta_test.sh):
# a private redis-server on a free loopback port (with ::1 too when the
# host has it) and checks on one vigilctl run at a time, ending with
# "N passed, N failed".
#
# The sourcing test sets V (the vigilctl binary) and may add PIDs to kill
# at exit to EXTRA_PIDS. After sourcing: TMP (a private directory), PORT,
# HAVE_V6, rcli, VIGIL_REDIS exported; run, check, expect_rc, expect_out,
# jq_check, lines. Exits 77 when redis-server, redis-cli or jq is missing.
set -euo pipefail

for tool in redis-server redis-cli jq timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (apt-get install redis-server jq)"
		exit 77
	fi
done
if [[ ! -x $V ]]; then
	echo "FAIL: vigilctl binary not found at '$V' (set VIGILCTL)" >&2
	exit 1
fi

TMP=$(mktemp -d)
RPID=
PORT=
EXTRA_PIDS=${EXTRA_PIDS:-}
cleanup() {
	for p in $EXTRA_PIDS $RPID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# ---------------------------------------------------------------- redis

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20001))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Starts redis-server on a free port with the given bind addresses.
start_redis() {
	PORT=$(pick_port) || return 1
	redis-server --port "$PORT" --bind "$@" --save '' --appendonly no \
		--daemonize no >"$TMP/redis.log" 2>&1 &
	RPID=$!
	for _ in $(seq 50); do # at most ~5 s
		if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then
			return 0
		fi
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$RPID" 2>/dev/null || true
	wait "$RPID" 2>/dev/null || true
	RPID=
	return 1
}

HAVE_V6=no
if [[ -r /proc/net/if_inet6 ]] &&
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6; then
	HAVE_V6=yes
fi
started=no
for _ in 1 2 3 4 5; do
	if [[ $HAVE_V6 == yes ]] && start_redis 127.0.0.1 ::1; then
		started=yes
		break
	fi
	HAVE_V6=no
	if start_redis 127.0.0.1; then
		started=yes
		break
	fi
done
if [[ $started != yes ]]; then
	echo "FAIL: could not start redis-server:" >&2
	cat "$TMP/redis.log" >&2
	exit 1
fi

rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
export VIGIL_REDIS="127.0.0.1:$PORT"
unset VIGIL_PREFIX

# ---------------------------------------------------------------- checks

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); }
failed() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $1" >&2
}
# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass; else failed "$name"; fi
}

# run ARGS...: runs vigilctl; stdout in $TMP/out, stderr in $TMP/err, exit
# code in RC.
run() {
	RC=0
	"$V" "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# expect_rc NAME CODE: checks the exit code of the last run.
expect_rc() {
	if [[ $RC == "$2" ]]; then
		pass
	else
		failed "$1: exit code $RC, expected $2 (stderr: $(head -c 400 "$TMP/err"))"
	fi
}

# expect_out NAME: compares $TMP/out with standard input, byte for byte.
expect_out() {
	cat >"$TMP/expected"
	if cmp -s "$TMP/out" "$TMP/expected"; then
		pass
	else
		failed "$1: output differs:"
		diff "$TMP/expected" "$TMP/out" | head -20 >&2 || true
	fi
}

# jq_check NAME FILTER: FILTER (over all JSON lines of $TMP/out, slurped)
# yields true.
jq_check() {
	if [[ $(jq -s "$2" "$TMP/out" 2>&1) == true ]]; then
		pass
	else
		failed "$1: jq '$2' is not true for: $(head -c 400 "$TMP/out")"
	fi
}

lines() { wc -l <"$TMP/out" | tr -d ' '; }
