#!/usr/bin/env bash
# Fuzz the decoder, the configuration and the L7 parsers: scripts/fuzz.sh [SECONDS]
#
# Builds the libFuzzer targets of tests/fuzz into ./build-fuzz (clang,
# -Dfuzz=true, AddressSanitizer + UndefinedBehaviorSanitizer) if needed,
# then runs each target for SECONDS (default 60) on a copy of its seed
# corpus (tests/fuzz/corpus/NAME; the committed corpus is never written).
# Prints, per target, the executions per second, the coverage (libFuzzer's
# "cov" edges of the instrumented code and "ft" features) and the corpus
# size at the end. Exit status: 0 when no target reported anything, 1 on a
# crash, a leak, undefined behaviour, a timeout or an out-of-memory; the
# input that did it is kept under build-fuzz/fuzz-out/NAME/ (copy it to
# tests/fuzz/crashes/ to report it) with the sanitizer's report in
# build-fuzz/fuzz-out/NAME.log.
#
# Targets: fuzz_decode (one frame of any link type), fuzz_conf,
# fuzz_l7_{dns,http,tls,ssh,stratum,quic} (the application parsers),
# fuzz_inspect (segment sequences through the worker's inspection), and
# fuzz_decode_ft (frame sequences through the fragment table) when the
# build has it.
#
# Environment: VIGIL_FUZZ_JOBS=N runs N targets at once (default 1: the
# targets take one core each, and SECONDS is wall time per target);
# VIGIL_FUZZ_SKIP="fuzz_x ..." leaves targets out.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS]" >&2
	exit 2
	;;
esac
targets=(fuzz_decode fuzz_conf fuzz_l7_dns fuzz_l7_http fuzz_l7_tls fuzz_l7_ssh
	fuzz_l7_stratum fuzz_l7_quic fuzz_inspect fuzz_meta)
optional=(fuzz_decode_ft) # built when lib/decode has a fragment table
bdir=build-fuzz
out=$bdir/fuzz-out

if ! command -v clang >/dev/null; then
	echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

# Configure once; meson reconfigures by itself when a meson.build (or
# lib/decode/vigil_decode.h, read by tests/fuzz/meson.build) changes.
if [ ! -f $bdir/build.ninja ]; then
	log=$(mktemp)
	CC=clang meson setup $bdir -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		exit 1
	}
	rm -f "$log"
fi
# Only the fuzz targets: the rest of the tree is built and tested by
# scripts/test.sh with the project's own compiler.
mkdir -p $out
# (the first ninja call reconfigures if it must; then the optional
# targets are known)
ninja -C $bdir build.ninja >$out/build.log 2>&1 || true
for t in "${optional[@]}"; do
	if ninja -C $bdir -t query "tests/fuzz/$t" >/dev/null 2>&1; then
		targets+=("$t")
	fi
done
# VIGIL_FUZZ_SKIP="fuzz_x ..." leaves targets out (a known, reported bug).
for t in ${VIGIL_FUZZ_SKIP:-}; do
	for i in "${!targets[@]}"; do
		if [ "${targets[$i]}" = "$t" ]; then
			echo "fuzz: $t skipped (VIGIL_FUZZ_SKIP)"
			unset 'targets[i]'
		fi
	done
done
targets=("${targets[@]}")
if ! ninja -C $bdir "${targets[@]/#/tests/fuzz/}" >>$out/build.log 2>&1; then
	cat $out/build.log >&2
	echo "fuzz: build failed" >&2
	exit 1
fi

# Any sanitizer report is fatal. LSan: only third-party leaks are
# suppressed (tests/fuzz/lsan.supp says which and why).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0}

run_target() {
	local t=$1 name=${1#fuzz_} work=$out/$1
	rm -rf "$work" "$work.corpus"
	mkdir -p "$work" "$work.corpus"
	cp tests/fuzz/corpus/"$name"/* "$work.corpus"/
	local rc=0
	# -timeout: one input taking over 10 s is a hang; -rss_limit_mb: the
	# machine has 24 GiB for two cores, 2 GiB per target is plenty.
	"$bdir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
		"$work.corpus" >"$work.log" 2>&1 || rc=$?
	local execs eps cov pcs ft corp
	pcs=$(grep -o '([0-9]* PCs)' "$work.log" | head -1 | tr -dc 0-9)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log" |
		tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$work.log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work.log" | tail -1 |
		cut -d' ' -f2)
	local artifacts
	artifacts=$(find "$work" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
	# cov: edges covered / instrumented (vigil's libraries and the target)
	printf '%-14s %ss  execs %s  exec/s %s  cov %s/%s  ft %s  corpus %s' \
		"$t" "$seconds" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${pcs:-?}" \
		"${ft:-?}" "${corp:-?}"
	if [ "$rc" -ne 0 ] || [ -n "$(echo "$artifacts" | grep -v slow-unit)" ]; then
		echo "  FAILED (exit $rc)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+: invariant)' \
			"$work.log" | head -5 | sed 's/^/    /'
		for a in $artifacts; do echo "    input: $a"; done
		echo "    log: $work.log"
		echo "    reproduce: $bdir/tests/fuzz/$t INPUT"
		return 1
	fi
	echo "  ok"
	grep -h '^fuzz_[a-z]*: warning' "$work.log" | head -3 | sed 's/^/    /' || true
}

failed=0
jobs=${VIGIL_FUZZ_JOBS:-1}
if [ "$jobs" -gt 1 ]; then
	pids=()
	for t in "${targets[@]}"; do
		run_target "$t" >"$out/$t.summary" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed=$((failed + 1))
		cat "$out/${targets[$i]}.summary"
	done
else
	for t in "${targets[@]}"; do
		run_target "$t" || failed=$((failed + 1))
	done
fi
echo "fuzz: ${seconds}s per target, $SECONDS s in all (build included)"
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
