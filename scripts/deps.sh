#!/usr/bin/env bash
# Install the Debian 12 packages vigil needs to build, test and run, if
# they are missing. Sourced or run by demo.sh, test.sh and .ci/run.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

VIGIL_PACKAGES=(
	gcc pkg-config meson ninja-build
	libdpdk-dev dpdk dpdk-dev            # DPDK 22.11 (+ dpdk-testpmd for the benchmark)
	libconfig-dev libhiredis-dev libjemalloc-dev libcmocka-dev
	libssl-dev libpcap-dev
	redis-server redis-tools             # the store vigil writes to, and tests use
	tshark jq python3                    # tests compare with tshark; JSON checks
	clang libclang-rt-14-dev llvm        # fuzz targets, sanitizer runs (scripts/fuzz.sh)
	iproute2 ethtool tcpdump             # tests/integration/cluster: namespaces, bridge, capture;
	nginx-light dnsmasq-base curl bind9-dnsutils # its servers and clients
	graphviz                             # vigilctl map --format dot rendered by the tests (dot -Tsvg)
	python3-yaml                         # tests check vigilctl policy's YAML
)

missing=()
for p in "${VIGIL_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "vigil: installing ${missing[*]}"
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
