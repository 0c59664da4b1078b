#!/usr/bin/env bash
# Running vigil live: SIGINT and SIGTERM drain, expire every flow, flush to
# Redis and exit 0 with a summary; Redis absent at start or going away in
# the middle never stops vigil, what could not be delivered is counted, and
# the outage is logged once, not once per record.
. "$(dirname "$0")/lib.sh"
need redis-server redis-cli

cap=$tmp/mix.pcap
"$GENCAP" -o "$cap" --flows 300 --seed 3 2>/dev/null

wait_for() { # wait_for SECONDS COMMAND...: poll until the command succeeds
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}
stat() { rcli hget vigil:stats "$1"; }
has_stats() { [ "$(rcli exists vigil:stats)" = 1 ]; }
has_flows() { [ "$(stat flows_active)" -gt 0 ] 2>/dev/null; }

# 1. SIGINT on a live run: the capture loops forever (infinite_rx), so the
#    flows are all active when the signal comes; every one must reach Redis.
#    UDP only: looping a TCP capture starts its connections again and again
#    (a SYN after FIN is a new connection), which is not what this checks.
"$GENCAP" -o "$tmp/udp.pcap" --profile small --flows 300 --packets 3000 2>/dev/null
start_redis
cat >"$tmp/live.conf" <<CONF
ports = ( { device = "net_pcap0,rx_pcap=$tmp/udp.pcap,infinite_rx=1"; } );
stats = { interval_ms = 200; };
CONF
"$VIGIL" -c "$tmp/live.conf" --redis "127.0.0.1:$REDIS_PORT" -- "${EAL_ARGS[@]}" \
	>"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
if wait_for 20 has_stats && wait_for 10 has_flows; then
	ok "live run writes stats ($(stat flows_active) flows active)"
else
	fail "no stats from the live run: $(cat "$tmp/int.err")"
fi
kill -INT $pid
rc=0
wait $pid || rc=$?
check "SIGINT: exit 0" 0 "$rc"
created=$(stat flows_created)
check "SIGINT: the 300 flows of the capture" 300 "$created"
check "SIGINT: every flow flushed to Redis" "$created" "$(rcli xlen vigil:flows)"
check "SIGINT: records_published = flows_created" "$created" "$(stat records_published)"
check "SIGINT: flows_active after drain" 0 "$(stat flows_active)"
check "SIGINT: end_reason shutdown" "$created" \
	"$(rcli xrange vigil:flows - + | grep -c '^shutdown$')"
check "SIGINT: summary printed" 1 "$(grep -c '^  packets  [0-9]* received' "$tmp/int.out")"
check "SIGINT: stop announced" 1 "$(grep -c 'stopping (signal)' "$tmp/int.err")"
stop_redis

# 2. SIGTERM on net_null, the line-rate source (all frames are non-IP):
#    counted as drop_non_ip, nothing else.
start_redis
cat >"$tmp/null.conf" <<CONF
ports = ( { device = "net_null0,size=64,copy=1"; } );
CONF
"$VIGIL" -c "$tmp/null.conf" --redis "127.0.0.1:$REDIS_PORT" -- "${EAL_ARGS[@]}" \
	>"$tmp/term.out" 2>"$tmp/term.err" &
pid=$!
wait_for 20 has_stats || true
sleep 0.5
kill -TERM $pid
rc=0
wait $pid || rc=$?
check "SIGTERM: exit 0" 0 "$rc"
rx=$(stat rx_packets)
if [ "${rx:-0}" -gt 0 ]; then ok "net_null: $rx packets received"; else fail "net_null: no packets"; fi
check "net_null: every packet counted as drop_non_ip" "$rx" "$(stat drop_non_ip)"
stop_redis

# 3. Redis absent at start: the replay completes, every record is counted
#    as undelivered, and the outage is logged once.
port=$(free_port)
rc=0
"$VIGIL" -r "$cap" --redis "127.0.0.1:$port" -- "${EAL_ARGS[@]}" \
	>"$tmp/absent.out" 2>"$tmp/absent.err" || rc=$?
check "Redis absent: replay exits 0" 0 "$rc"
check "Redis absent: logged once" 1 "$(grep -c 'unreachable' "$tmp/absent.err")"
created=$(sed -n 's/^  flows    \([0-9]*\) created.*/\1/p' "$tmp/absent.out")
if [ "${created:-0}" -gt 0 ] && grep -q "0 records published to redis 127.0.0.1:$port, $created undelivered" "$tmp/absent.out"; then
	ok "Redis absent: all $created records counted as undelivered"
else
	fail "Redis absent: summary: $(cat "$tmp/absent.out")"
fi

# 4. Redis goes away during a live run and comes back: vigil keeps running,
#    counts the records it could not deliver, logs the outage once and its
#    end once, and writes again once Redis is back.
start_redis
cat >"$tmp/outage.conf" <<CONF
ports = ( { device = "net_pcap0,rx_pcap=$cap"; } );
flow = { tcp_idle_s = 3; tcp_closed_s = 2; tcp_attempt_s = 2; udp_idle_s = 3; icmp_idle_s = 3;
         scan_period_ms = 200; };
stats = { interval_ms = 200; };
redis = { retry_ms = 200; };
CONF
"$VIGIL" -c "$tmp/outage.conf" --redis "127.0.0.1:$REDIS_PORT" -- "${EAL_ARGS[@]}" \
	>"$tmp/outage.out" 2>"$tmp/outage.err" &
pid=$!
wait_for 20 has_stats || fail "outage: no stats before the outage"
port=$REDIS_PORT
stop_redis
sleep 5 # the flows go idle after 3 s, while Redis is away
if kill -0 $pid 2>/dev/null; then ok "outage: vigil still running without Redis"; else fail "outage: vigil died"; fi
start_redis "$port"
if wait_for 10 has_stats; then ok "outage: stats written again after Redis came back"; else fail "outage: no stats after Redis came back"; fi
kill -TERM $pid
rc=0
wait $pid || rc=$?
check "outage: exit 0" 0 "$rc"
check "outage: logged once" 1 "$(grep -c 'unreachable' "$tmp/outage.err")"
check "outage: end logged once" 1 "$(grep -c 'reachable again' "$tmp/outage.err")"
created=$(stat flows_created)
check "outage: every record of the outage counted as undelivered" "$created" "$(stat drop_records_undelivered)"
check "outage: nothing claimed as published" 0 "$(stat records_published)"
check "outage: reconnects" 1 "$(stat redis.reconnects)"
finish
