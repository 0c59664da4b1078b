#!/usr/bin/env bash
# Every start-up error gives one clear line naming the bad input and a
# non-zero exit, and a bad config file is refused before any port is
# touched.
. "$(dirname "$0")/lib.sh"
need tshark

cap=$tmp/ok.pcap
"$GENCAP" -o "$cap" --flows 20 2>/dev/null

# expect NAME EXPECTED_RC PATTERN -- vigil args...
expect() {
	local name=$1 want_rc=$2 pattern=$3
	shift 4
	local rc=0
	timeout 60 "$VIGIL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$name: exit $rc, expected $want_rc; stderr: $(head -c 400 "$tmp/err")"
		return
	fi
	if ! grep -q -- "$pattern" "$tmp/err"; then
		fail "$name: stderr lacks '$pattern': $(head -c 400 "$tmp/err")"
		return
	fi
	ok "$name: $(grep -m1 -- "$pattern" "$tmp/err")"
}

# A config file whose port would fail loudly if it were ever opened.
bad_conf() {
	printf 'ports = ( { device = "net_pcap0,rx_pcap=%s/never-opened.pcap"; } );\n%s\n' "$tmp" "$1" >"$tmp/bad.conf"
}

bad_conf 'flow = { tcp_idle_s = 0; };'
expect "config value out of range" 1 "bad.conf:2: flow.tcp_idle_s = 0 is out of range 1..86400" -- -c "$tmp/bad.conf"
check "bad config refused before EAL/ports" 0 "$(grep -c 'EAL\|never-opened' "$tmp/err" || true)"
bad_conf 'flow = { tcp_idel_s = 30; };'
expect "config unknown setting" 1 "bad.conf:2: unknown setting 'flow.tcp_idel_s'" -- -c "$tmp/bad.conf"
bad_conf 'redis = { port = "six"; };'
expect "config wrong type" 1 "bad.conf:2: redis.port must be an integer" -- -c "$tmp/bad.conf"
bad_conf 'flow = { udp_idle_s = 10 ;; };'
expect "config syntax error" 1 "bad.conf:2: syntax error" -- -c "$tmp/bad.conf"
bad_conf 'lcores = { rx = [ 0, 0 ]; };'
expect "config duplicate lcore" 1 "bad.conf:2: lcores.rx lists lcore 0 twice" -- -c "$tmp/bad.conf"
bad_conf 'dispatch = { worker_ring_size = 1000; };'
expect "config ring not a power of two" 1 "dispatch.worker_ring_size = 1000 must be a power of two" -- -c "$tmp/bad.conf"
expect "config file missing" 1 "$tmp/nope.conf: cannot open config file: No such file or directory" -- -c "$tmp/nope.conf"

expect "capture missing" 1 "cannot read capture $tmp/missing.pcap: No such file or directory" -- -r "$tmp/missing.pcap"
mkdir "$tmp/adir"
expect "capture is a directory" 1 "cannot read capture $tmp/adir" -- -r "$tmp/adir"
head -c 1000 /dev/urandom >"$tmp/garbage.pcap"
expect "capture not a pcap" 1 "cannot read capture $tmp/garbage.pcap: .*expected a pcap or pcapng file" -- -r "$tmp/garbage.pcap"
# Unreadable for an unprivileged user (root reads anything).
if [ "$(id -u)" -ne 0 ]; then
	cp "$cap" "$tmp/noperm.pcap"
	chmod 000 "$tmp/noperm.pcap"
	expect "capture unreadable" 1 "Permission denied" -- -r "$tmp/noperm.pcap"
fi
editcap -T ieee-802-11 "$cap" "$tmp/wlan.pcap" 2>/dev/null
expect "capture link type not decoded" 1 "has link type IEEE802_11" -- -r "$tmp/wlan.pcap"

expect "bad EAL argument" 1 "cannot start the DPDK EAL" -- -r "$cap" -- "${EAL_ARGS[@]}" --no-such-eal-option
expect "EAL lcore that does not exist" 1 "cannot start the DPDK EAL.*invalid core list" -- -r "$cap" -- "${EAL_ARGS[@]}" -l 200
printf 'lcores = { rx = [ 0 ]; workers = [ 1 ]; };\n' >"$tmp/two.conf"
expect "fewer lcores than the layout" 1 "the layout needs lcore 1 (lcores.workers) but the EAL runs only 1 lcore" -- -r "$cap" -c "$tmp/two.conf" -- "${EAL_ARGS[@]}" -l 0
printf 'ports = ( { device = "0000:ff:1f.7"; } );\n' >"$tmp/nodev.conf"
expect "no usable port" 1 "no usable port: device '0000:ff:1f.7' (ports\[0\]) was not found" -- -c "$tmp/nodev.conf" -- "${EAL_ARGS[@]}"
printf 'lcores = { rx = [ 0 ]; workers = [ 0 ]; };\n' >"$tmp/noport.conf"
expect "no port configured" 1 "no port to read" -- -c "$tmp/noport.conf" -- "${EAL_ARGS[@]}"
expect "bad --redis" 2 "redis nohost: expected HOST:PORT" -- -r "$cap" --redis nohost
expect "unknown option" 2 "unknown option --frobnicate" -- --frobnicate
expect "nothing to do" 2 "nothing to do" --
finish
