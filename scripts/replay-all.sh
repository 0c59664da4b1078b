#!/usr/bin/env bash
# Replay every capture under a folder through vigil built with
# AddressSanitizer + UndefinedBehaviorSanitizer: scripts/replay-all.sh [DIR]
#
# DIR defaults to ../shared/data (beside the repository); when it does not
# exist the script says so and exits 0. Every *.pcap, *.pcapng and *.cap
# file under DIR is replayed, two at a time, with
#   build-asan/app/vigil/vigil -r FILE --redis 127.0.0.1:PORT \
#       -- --no-huge --no-shconf
# where PORT is a loopback port nothing listens on (the records are counted
# as undelivered: Redis is not under test here). build-asan is configured
# once (gcc, -Db_sanitize=address,undefined -Db_lundef=false).
#
# A capture passes when vigil exits 0, or exits 1 refusing it in one line
# because of its link type ("has link type") or because it cannot be read
# ("cannot read capture"), and in every case no sanitizer reported
# anything. A sanitizer report, another exit status, a signal or more than
# 120 s is a failure. One line per capture, then the count of refusals and
# failures by reason and "N passed, N failed". Exit status 1 when any capture failed. Each
# capture's output is kept in build-asan/replay-out/ (failures are named
# there). LeakSanitizer suppressions: tests/fuzz/lsan.supp (third-party
# code only).
#
# Environment: VIGIL_REPLAY_JOBS (default 2), VIGIL_REPLAY_TIMEOUT
# (seconds, default 120).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

dir=${1:-../shared/data}
if [ ! -d "$dir" ]; then
	echo "replay-all: $dir does not exist: skipped"
	exit 0
fi
dir=$(cd "$dir" && pwd)
jobs=${VIGIL_REPLAY_JOBS:-2}
limit=${VIGIL_REPLAY_TIMEOUT:-120}
bdir=build-asan
out=$root/$bdir/replay-out

# -Dwerror=false: the sanitizers change gcc's flow analysis enough for it to
# warn where the normal build does not (app/vigil/main.c memmem: -Wnonnull);
# the normal build (scripts/build.sh) is the one that keeps -Werror.
t_build=$SECONDS
if [ ! -f $bdir/build.ninja ]; then
	log=$(mktemp)
	meson setup $bdir -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=false >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		exit 1
	}
	rm -f "$log"
fi
mkdir -p "$out"
if ! ninja -C $bdir app/vigil/vigil >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	echo "replay-all: build failed" >&2
	exit 1
fi
vigil=$root/$bdir/app/vigil/vigil
t_build=$((SECONDS - t_build))

# A loopback port with no listener: bind an ephemeral port and let it go.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
ulimit -c 0 # abort_on_error: no core files

mapfile -d '' captures < <(find "$dir" -type f \( -iname '*.pcap' -o \
	-iname '*.pcapng' -o -iname '*.cap' \) -print0 | sort -z)
if [ ${#captures[@]} -eq 0 ]; then
	echo "replay-all: no capture under $dir"
	exit 0
fi
rm -rf "$out/logs" "$out/results" "$out"/FAIL-*.log
mkdir -p "$out/logs" "$out/results"
echo "replay-all: ${#captures[@]} captures under $dir, $jobs at a time, ${limit}s each, redis 127.0.0.1:$port (nothing listens)"

sanitizer_re='^==[0-9]+==ERROR: |^SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error: '

# Replay capture number $1; writes results/$1 = "pass|fail REASON" and
# prints one line.
replay_one() {
	set +e # a failing grep or sed must not lose the result
	local i=$1 f=${captures[$1]}
	local rel=${f#"$dir"/} log=$out/logs/$1.log
	local t0 t1 rc=0 status reason
	t0=$(date +%s.%N)
	# (the subshell, which waits for vigil instead of becoming it, keeps
	# bash's "Aborted" job notice out of the output)
	(
		timeout -k 10 "$limit" "$vigil" -r "$f" \
			--redis "127.0.0.1:$port" -- --no-huge --no-shconf \
			>"$log" 2>&1 </dev/null
		exit $?
	) 2>/dev/null
	rc=$?
	t1=$(date +%s.%N)
	if grep -qE "$sanitizer_re" "$log"; then
		# The kind of report and the first frame in vigil's own code.
		local kind frame
		kind=$(grep -m1 -oE 'ERROR: [A-Za-z]+Sanitizer: [a-z -]+|runtime error: [a-z -]+' "$log" |
			sed 's/^ERROR: //; s/ *$//')
		frame=$(grep -m1 -oE ' in [A-Za-z0-9_]+ [^ ]*(app|lib)/[^ ]+' "$log" |
			sed 's/^ in //; s#[^ ]*/\(app\|lib\)/#\1/#')
		status=fail reason="sanitizer: ${kind:-report}${frame:+ at $frame}"
	elif [ $rc -eq 124 ] ||
		{ [ $rc -eq 137 ] && awk "BEGIN { exit !($t1 - $t0 >= $limit) }"; }; then
		status=fail reason="timeout after ${limit}s"
	elif [ $rc -eq 0 ]; then
		status=pass reason=ok
	elif [ $rc -eq 1 ] && grep -q 'has link type' "$log"; then
		status=pass
		reason="refused: link type $(sed -n 's/.*has link type \([^:]*\):.*/\1/p' "$log" | head -1)"
	elif [ $rc -eq 1 ] && grep -q 'cannot read capture' "$log"; then
		status=pass reason="refused: cannot read capture"
	elif [ $rc -gt 128 ]; then
		status=fail reason="killed by signal $((rc - 128))"
	else
		status=fail reason="exit $rc: $(grep -m1 -v '^$' "$log" | cut -c1-160)"
	fi
	printf '%s %s\n' "$status" "$reason" >"$out/results/$1"
	[ $status = fail ] && cp "$log" "$out/FAIL-$(echo "$rel" | tr '/' '_').log"
	printf '%-4s %6.1fs  %s  %s\n' "${status^^}" \
		"$(awk "BEGIN { print $t1 - $t0 }")" "$rel" "$reason"
}

t_start=$SECONDS
running=0
for i in "${!captures[@]}"; do
	if [ $running -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	replay_one "$i" &
	running=$((running + 1))
done
wait || true
t_replay=$((SECONDS - t_start))

passed=0 failed=0
declare -A reasons=()
failures=()
for i in "${!captures[@]}"; do
	status=fail reason="no result"
	if [ -f "$out/results/$i" ]; then
		read -r status reason <"$out/results/$i" || true
	fi
	if [ "$status" = pass ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("${captures[$i]#"$dir"/}: $reason")
	fi
	if [ "$reason" != ok ]; then
		reasons[$reason]=$((${reasons[$reason]:-0} + 1))
	fi
done
echo "replay-all: build ${t_build} s, replays ${t_replay} s; outputs in $out"
if [ ${#reasons[@]} -gt 0 ]; then
	echo "by reason (refused ones passed):"
	for r in "${!reasons[@]}"; do
		printf '  %5d %s\n' "${reasons[$r]}" "$r"
	done | sort -rn
fi
if [ $failed -gt 0 ]; then
	echo "failed (logs: $out/FAIL-*.log):"
	for i in "${!failures[@]}"; do
		if [ "$i" -ge 40 ]; then
			echo "  ... and $((failed - 40)) more"
			break
		fi
		echo "  ${failures[$i]}"
	done
fi
echo "replay-all: $passed passed, $failed failed"
[ $failed -eq 0 ]
