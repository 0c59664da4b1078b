#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the cmocka
# unit tests and the integration tests (each starts its own redis-server on
# a free loopback port). Exit 0 when everything passes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
meson test -C build --print-errorlogs "$@"
