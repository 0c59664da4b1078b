#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the cmocka
# unit tests and the integration tests (each starts its own redis-server on
# a free loopback port). Exit 0 when everything passes.
#
# Then, unless VIGIL_CI_EXTRA=0: scripts/fuzz.sh 30 (the libFuzzer targets
# of tests/fuzz, 30 s each, ASan+UBSan) and, when ../shared/data exists,
# scripts/replay-all.sh (every capture there through vigil under
# ASan+UBSan). Each step's wall time is printed (replay-all.sh prints its
# own, so that its "N passed, N failed" stays the last line).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
t0=$SECONDS
meson test -C build --print-errorlogs "$@"
echo "test.sh: meson test took $((SECONDS - t0)) s"

# The extra steps run for the whole suite only, not for a selection such
# as "scripts/test.sh --suite unit".
if [ "${VIGIL_CI_EXTRA:-1}" != 0 ] && [ $# -eq 0 ]; then
	rc=0
	t0=$SECONDS
	scripts/fuzz.sh 30 || rc=1
	echo "test.sh: fuzz.sh 30 took $((SECONDS - t0)) s"
	if [ -d ../shared/data ]; then
		scripts/replay-all.sh ../shared/data || rc=1
	else
		echo "test.sh: ../shared/data absent: replay-all.sh skipped"
	fi
	exit $rc
fi
