#!/usr/bin/env bash
# A small cluster in network namespaces, captured: real servers and real
# clients on one Linux bridge that is attached to nothing else, and a pcap
# of everything they said, with the ground truth next to it.
#
#   cluster.sh run     SCENARIO OUTDIR   up, traffic, down (always down)
#   cluster.sh up      SCENARIO OUTDIR   build the cluster, start the pods
#   cluster.sh traffic [SCENARIO] OUTDIR capture while the schedule plays
#   cluster.sh down    [SCENARIO] OUTDIR stop everything, remove namespaces
#   cluster.sh check                     exit 0 if this machine can run it,
#                                        77 (with the reason) if not
#   cluster.sh gc                        remove namespaces of runs whose process
#                                        is gone (killed with -9; also clusters
#                                        left by `up`: use `down` for those)
#
# SCENARIO is a name in scenarios/ (discovery) or a path to such a file: a
# bash file that declares pods, servers and a schedule of client traffic
# with the functions of the "Scenario language" section below (see
# scenarios/README.md and scenarios/discovery.sh). OUTDIR receives
# capture.pcap, meta-1.json.. (documents for `vigilctl meta push`, in push
# order), expected.json (the ground truth: pods and their time windows,
# every flow the harness made, the service graph, phases) and .cluster/
# (the private configuration, pid and log files of the servers, and the
# event log the truth was built from).
#
# Isolation: the bridge lives in a namespace of its own ("<run>-sw") with
# forwarding off and no address, so not even the host's namespace can
# reach it; each pod is a namespace with one veth on that bridge. No
# uplink, no NAT, no default route anywhere: traffic to any other address
# fails at once without leaving the pod. IPv6 is disabled everywhere
# (no router or neighbour solicitations, no MLD), STP is off, offloads are
# off (frames on the wire are MTU-sized, checksums are real), so the
# capture holds the scheduled flows plus ARP and nothing else.
#
# Determinism: names are resolved with dig (one UDP query each, source
# port chosen by the harness), HTTP is curl with a harness-chosen source
# port, --max-time and no retries, Redis is redis-cli; so N requests are N
# flows. Names with several addresses (the replicas of a service) are
# spread round-robin in address order. Source ports the harness chooses
# (40001 up, unique in the run) lie below the pods' ephemeral range
# (49152-60999), so they never collide with the kernel's choices.
#
# Names: namespaces are "<prefix><pid>-<pod>" (prefix $VIGIL_CLUSTER_PREFIX,
# default vgc; pid of the `up`/`run` process), so runs side by side do not
# collide. Every loop and wait is bounded; every command that talks runs
# under `timeout`. Servers never read the system's configuration: nginx
# (-c, -p, -e), dnsmasq (--conf-file=/dev/null, --no-hosts, --no-resolv)
# and redis-server get private files under OUTDIR/.cluster, and commands
# in a pod see a private /etc/resolv.conf and /etc/hosts (bind mounts in
# the mount namespace `ip netns exec` makes, never the host's).
#
# Needs root, iproute2 (ip, ss), ethtool, tcpdump, nginx, dnsmasq, dig,
# curl, redis-server, redis-cli, python3 (scripts/deps.sh installs them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${VIGIL_CLUSTER_PREFIX:-vgc}
EPHEMERAL="49152 60999"   # pods' ephemeral ports; harness ports lie below
FIRST_PORT=40001
SETTLE_S=1                # after the last step, before the capture stops
READY_S=5                 # bound on a server's start
STOP_S=3                  # bound on a server's stop (then SIGKILL)

# A sleep that a signal interrupts (bash runs a trap only between
# commands: `wait` is one, a foreground sleep is not).
NAP_PID=""
nap() {
	sleep "$1" &
	NAP_PID=$!
	wait "$NAP_PID" || true
	NAP_PID=""
}
log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now() { printf '%s' "$EPOCHREALTIME"; }
# epoch "S.UUUUUU" (or any decimal seconds) -> integer microseconds
to_us() {
	local s=${1%%.*} f=000000
	[[ $1 == *.* ]] && f="${1#*.}000000"
	echo $((10#${s:-0} * 1000000 + 10#${f:0:6}))
}

# ====================================================== scenario language
#
# A scenario file is bash, sourced by this script; it calls:
#
#   scenario NAME [DESCRIPTION]
#   subnet CIDR                       every pod gets an on-link route to it
#   domain NAME                       cluster DNS domain (cluster.local)
#   pod KEY pod=NAME ns=NS image=REF service=SVC [labels=K=V,..] ip=IP[,IP]
#       [server=SPEC[,SPEC]]          a pod; SPEC: http:PORT, redis:PORT, dns
#   external KEY ip=IP[,IP] names=NAME[=IP],.. [server=SPEC]
#                                     a host outside the cluster (no meta),
#                                     its names answered by the cluster DNS
#   serve KEY APP:PORT/PROTO -- CMD.. another server in pod KEY (any program;
#                                     ready when the port listens)
#   record NAME IP..                  an extra DNS A record
#   at SECONDS start KEY | stop KEY   a pod comes up later / goes away
#   at SECONDS phase NAME             a named phase of the capture begins
#   at SECONDS KEY VERB ARGS..        pod KEY runs a client:
#     http HOST[:PORT] [count=N] [path=/P]    dig once, then N curl
#     redis HOST[:PORT] [count=N] [cmd="W.."] dig once, then N redis-cli
#     dns NAME [count=N] [type=A]             N dig queries
#     exec [timeout=S] [expect=DST:PORT/PROTO*N,..] -- CMD..
#                                             any command; the flows it
#                                             makes are what expect= says
#   every client takes label=WORD (default benign): the ground truth of
#   attack scenarios.
#
# The file runs as bash inside this script: its own variables should be
# lower case (the harness's globals are upper case). A pod named by a
# `start` step is not started by `up`. Steps run one after
# another in time order (same time: file order), each no earlier than its
# SECONDS after the traffic began.

SCEN_NAME=""
SCEN_DESC=""
DOMAIN=cluster.local
declare -a SUBNETS=() POD_KEYS=() STEP_US=() STEP_ARGS=() RECORDS=()
declare -A P_KIND=() P_NAME=() P_NS=() P_IMAGE=() P_SVC=() P_LABELS=() \
	P_IPS=() P_SERVERS=() P_NAMES=() P_IDX=() P_DEFER=() P_SERVE=()

scenario() {
	SCEN_NAME=$1
	SCEN_DESC=${2:-}
}
subnet() { SUBNETS+=("$1"); }
domain() { DOMAIN=$1; }
record() {
	local n=$1
	shift
	RECORDS+=("$n $*")
}

declare -A KV=()
kv_parse() { # kv_parse ALLOWED ARG..: key=value words into KV
	local allowed=" $1 " a
	shift
	KV=()
	for a in "$@"; do
		[[ $a == *=* ]] || die "'$a': expected key=value"
		[[ $allowed == *" ${a%%=*} "* ]] || die "'${a%%=*}': unknown (allowed:$allowed)"
		KV[${a%%=*}]=${a#*=}
	done
}

valid_ip() { [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]]; }

norm_servers() { # http:80,redis:6379,dns -> http:80/tcp,redis:6379/tcp,dns:53/udp,dns:53/tcp
	local s out=() IFS=,
	for s in $1; do
		case $s in
		http:[0-9]*) out+=("$s/tcp") ;;
		redis:[0-9]*) out+=("$s/tcp") ;;
		dns) out+=("dns:53/udp" "dns:53/tcp") ;;
		*) die "server '$s': expected http:PORT, redis:PORT or dns" ;;
		esac
	done
	echo "${out[*]}"
}

declare_host() { # declare_host KIND KEY ARGS..
	local kind=$1 key=$2 ip f
	shift 2
	[[ $key =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "pod key '$key': a-z, 0-9, '-', at most 31"
	case $key in start | stop | phase) die "pod key '$key' is reserved" ;; esac
	[[ -z ${P_KIND[$key]:-} ]] || die "pod '$key' declared twice"
	if [[ $kind == pod ]]; then
		kv_parse "pod ns image service labels ip server" "$@"
		for f in ns image service ip; do
			[[ -n ${KV[$f]:-} ]] || die "pod $key: $f= is required"
		done
	else
		kv_parse "ip names server" "$@"
		[[ -n ${KV[ip]:-} && -n ${KV[names]:-} ]] || die "external $key: ip= and names= are required"
	fi
	local IFS=,
	for ip in ${KV[ip]}; do valid_ip "$ip" || die "$key: ip '$ip' is not IPv4"; done
	unset IFS
	POD_KEYS+=("$key")
	P_KIND[$key]=$kind
	P_IDX[$key]=${#POD_KEYS[@]}
	P_NAME[$key]=${KV[pod]:-$key}
	P_NS[$key]=${KV[ns]:-}
	P_IMAGE[$key]=${KV[image]:-}
	P_SVC[$key]=${KV[service]:-}
	P_LABELS[$key]=${KV[labels]:-}
	P_IPS[$key]=${KV[ip]}
	P_SERVERS[$key]=$(norm_servers "${KV[server]:-}")
	P_SERVE[$key]=""
	local n names=() primary=${KV[ip]%%,*}
	if [[ $kind == external ]]; then
		IFS=,
		for n in ${KV[names]}; do
			[[ $n == *=* ]] || n="$n=$primary"
			names+=("$n")
		done
		unset IFS
	fi
	P_NAMES[$key]=$(IFS=,; echo "${names[*]}")
}
pod() { declare_host pod "$@"; }
external() { declare_host external "$@"; }

serve() { # serve KEY APP:PORT/PROTO -- CMD..
	local key=$1 spec=$2
	[[ -n ${P_KIND[$key]:-} ]] || die "serve: unknown pod '$key'"
	[[ $spec =~ ^[a-z0-9-]+:[0-9]+/(tcp|udp)$ ]] || die "serve $key: '$spec': expected APP:PORT/tcp|udp"
	[[ ${3:-} == -- ]] || die "serve $key: expected -- before the command"
	shift 3
	P_SERVE[$key]+="$spec $(printf '%q ' "$@")"$'\n'
	P_SERVERS[$key]=${P_SERVERS[$key]:+${P_SERVERS[$key]},}$spec
}

at() { # at SECONDS WORDS..
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "at '$1': expected seconds"
	local us
	us=$(to_us "$1")
	shift
	[[ $# -ge 2 ]] || die "at: expected a step"
	case $1 in
	start | stop) [[ -n ${P_KIND[$2]:-} ]] || die "at: $1 of unknown pod '$2'" ;;
	phase) [[ $2 =~ ^[a-z0-9-]+$ ]] || die "at: phase '$2': a-z, 0-9, '-'" ;;
	*) [[ ${P_KIND[$1]:-} == pod ]] || die "at: unknown pod '$1'" ;;
	esac
	[[ $1 == start ]] && P_DEFER[$2]=1
	STEP_US+=("$us")
	STEP_ARGS+=("$(printf '%q ' "$@")")
}

load_scenario() { # load_scenario NAME|PATH -> SCEN_FILE, declarations
	local s=$1
	if [[ -f $s ]]; then
		SCEN_FILE=$(cd "$(dirname "$s")" && pwd)/$(basename "$s")
	elif [[ -f $HERE/scenarios/$s.sh ]]; then
		SCEN_FILE=$HERE/scenarios/$s.sh
	else
		die "scenario '$s': no such file (scenarios: $(cd "$HERE/scenarios" && ls -- *.sh | sed 's/\.sh$//' | tr '\n' ' '))"
	fi
	# shellcheck source=/dev/null
	. "$SCEN_FILE"
	[[ -n $SCEN_NAME ]] || SCEN_NAME=$(basename "$SCEN_FILE" .sh)
	[[ ${#POD_KEYS[@]} -gt 0 ]] || die "$SCEN_FILE: no pod"
	DNS_KEY=""
	local k
	for k in "${POD_KEYS[@]}"; do
		if [[ ${P_SERVERS[$k]} == *dns:53/udp* ]]; then
			[[ -z $DNS_KEY ]] || die "two DNS servers ($DNS_KEY, $k)"
			DNS_KEY=$k
		fi
	done
	[[ -n $DNS_KEY ]] || die "$SCEN_FILE: no pod with server=dns"
	[[ -z ${P_DEFER[$DNS_KEY]:-} ]] || die "the DNS pod must be up from the start"
	DNS_IP=${P_IPS[$DNS_KEY]%%,*}
}

# ============================================================ state
#
# OUTDIR/.cluster: run (RUN, scenario), pods.tsv (the declarations, for the
# truth), events.tsv (what happened, when), pods/KEY/ (status, pids, the
# servers' files), sw/ (the capture's files).

set_paths() { # set_paths OUTDIR
	mkdir -p "$1"
	OUT=$(cd "$1" && pwd)
	ST=$OUT/.cluster
}
load_run() {
	[[ -f $ST/run ]] || die "$OUT: no cluster here (run '$0 up' first)"
	# shellcheck source=/dev/null
	. "$ST/run"
	SW=$RUN-sw
}
event() { # event TYPE FIELDS..: one line of events.tsv
	local IFS=$'\t'
	echo "$*" >>"$ST/events.tsv"
}
pdir() { echo "$ST/pods/$1"; }
pstatus() { cat "$(pdir "$1")/status" 2>/dev/null || echo absent; }
pns() { echo "$RUN-$1"; }
mac_of() { printf '02:76:67:00:%02x:%02x' $((P_IDX[$1] / 256)) $((P_IDX[$1] % 256)); }

write_pods_tsv() {
	local k
	: >"$ST/pods.tsv"
	for k in "${POD_KEYS[@]}"; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "${P_KIND[$k]}" \
			"${P_NAME[$k]}" "${P_NS[$k]}" "${P_IMAGE[$k]}" "${P_SVC[$k]}" \
			"${P_LABELS[$k]}" "${P_IPS[$k]}" "${P_SERVERS[$k]}" "${P_NAMES[$k]}" \
			"$(mac_of "$k")" >>"$ST/pods.tsv"
	done
}

# ============================================================ namespaces

# In the mount namespace `ip netns exec` makes (slave of the host's, so
# nothing propagates back): the pod's own resolv.conf and hosts, then exec.
# shellcheck disable=SC2016
POD_FILES='r=$1 h=$2; shift 2; mount --bind "$r" /etc/resolv.conf && mount --bind "$h" /etc/hosts && exec "$@"'

# pexec KEY SECONDS CMD..: run CMD in the pod, killed after SECONDS.
pexec() {
	local key=$1 t=$2 d
	shift 2
	d=$(pdir "$key")
	ip netns exec "$(pns "$key")" /bin/sh -c "$POD_FILES" \
		sh "$d/resolv.conf" "$d/hosts" timeout -k 1 "$t" "$@" </dev/null
}
# pspawn KEY LOG CMD..: start a server in the pod's namespace, in the
# background; its pid (the server's own: every step execs) goes to pids.
pspawn() {
	local key=$1 logf=$2 d
	shift 2
	d=$(pdir "$key")
	ip netns exec "$(pns "$key")" /bin/sh -c "$POD_FILES" \
		sh "$d/resolv.conf" "$d/hosts" "$@" </dev/null >>"$logf" 2>&1 &
	SPAWNED=$!
	echo "$SPAWNED" >>"$d/pids"
}

sysctl_ns() { # sysctl_ns NS: no IPv6 (before any interface), ephemeral ports
	ip netns exec "$1" /bin/sh -c '
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
		echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
		echo "$0" >/proc/sys/net/ipv4/ip_local_port_range
		echo 0 >/proc/sys/net/ipv4/ip_forward' "$EPHEMERAL"
}

wait_listen() { # wait_listen KEY PORT PROTO: bounded by READY_S (ss: no packet)
	local key=$1 port=$2 proto=$3 i flag=-Hltn
	[[ $proto == udp ]] && flag=-Hlun
	for ((i = 0; i < READY_S * 20; i++)); do
		if [[ -n $(ip netns exec "$(pns "$key")" ss $flag "sport = :$port" 2>/dev/null) ]]; then
			return 0
		fi
		sleep 0.05
	done
	die "pod $key: nothing listens on $port/$proto after ${READY_S}s (logs: $(pdir "$key"))"
}

bridge_up() {
	ip netns add "$SW"
	sysctl_ns "$SW"
	ip -n "$SW" link set lo up
	ip -n "$SW" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$SW" link set br0 up
	mkdir -p "$ST/sw"
}

# ============================================================ DNS

# The cluster DNS answers SVC.NS.svc.DOMAIN with the addresses of the pods
# of that service that are up, the external names, and the extra records.
# Rewritten, and dnsmasq told (SIGHUP), when a pod starts or stops.
write_dns_hosts() {
	local f=$ST/pods/$DNS_KEY/dns.hosts k ip r n IFS
	mkdir -p "$(dirname "$f")"
	{
		for k in "${POD_KEYS[@]}"; do
			[[ $(pstatus "$k") == up || $(pstatus "$k") == starting ]] || continue
			if [[ ${P_KIND[$k]} == pod ]]; then
				IFS=,
				for ip in ${P_IPS[$k]}; do
					echo "$ip ${P_SVC[$k]}.${P_NS[$k]}.svc.$DOMAIN"
				done
				unset IFS
			else
				IFS=,
				for n in ${P_NAMES[$k]}; do echo "${n#*=} ${n%%=*}"; done
				unset IFS
			fi
		done
		for r in "${RECORDS[@]}"; do
			n=${r%% *}
			for ip in ${r#* }; do echo "$ip $n"; done
		done
	} >"$f.new"
	mv "$f.new" "$f"
}
dns_reload() {
	write_dns_hosts
	local pid
	pid=$(cat "$(pdir "$DNS_KEY")/dnsmasq.spawned" 2>/dev/null || true)
	if [[ $(pstatus "$DNS_KEY") == up && -n $pid ]]; then
		kill -HUP "$pid" 2>/dev/null || true
		sleep 0.2 # dnsmasq rereads on its next loop
	fi
}

# ============================================================ pods

start_servers() { # start_servers KEY
	local key=$1 d spec app port proto cmd conf
	d=$(pdir "$key")
	local -a specs
	IFS=, read -r -a specs <<<"${P_SERVERS[$key]}"
	local -a http_ports=() redis_ports=()
	for spec in "${specs[@]}"; do
		case $spec in
		http:*) http_ports+=("$(echo "$spec" | sed 's/^http:\([0-9]*\)\/.*/\1/')") ;;
		redis:*) redis_ports+=("$(echo "$spec" | sed 's/^redis:\([0-9]*\)\/.*/\1/')") ;;
		esac
	done
	if [[ ${#http_ports[@]} -gt 0 ]]; then
		mkdir -p "$d/nginx/tmp"
		conf=$d/nginx/nginx.conf
		{
			echo "# private nginx of pod $key (cluster.sh): nothing from /etc"
			echo "daemon off; master_process on; worker_processes 1; user root root;"
			echo "pid $d/nginx/nginx.pid; error_log $d/nginx/error.log warn;"
			echo "events { worker_connections 256; }"
			echo "http {"
			echo "  access_log $d/nginx/access.log; default_type text/plain;"
			echo "  client_body_temp_path $d/nginx/tmp/body; proxy_temp_path $d/nginx/tmp/proxy;"
			echo "  fastcgi_temp_path $d/nginx/tmp/fastcgi; uwsgi_temp_path $d/nginx/tmp/uwsgi;"
			echo "  scgi_temp_path $d/nginx/tmp/scgi;"
			for port in "${http_ports[@]}"; do
				echo "  server { listen $port; location / { return 200 \"${P_NAME[$key]}\\n\"; } }"
			done
			echo "}"
		} >"$conf"
		pspawn "$key" "$d/nginx/stderr.log" nginx -p "$d/nginx" -e "$d/nginx/error.log" -c "$conf"
	fi
	for port in "${redis_ports[@]}"; do
		mkdir -p "$d/redis-$port"
		local -a binds
		IFS=, read -r -a binds <<<"${P_IPS[$key]}"
		pspawn "$key" "$d/redis-$port/stderr.log" redis-server --port "$port" \
			--bind "${binds[@]}" --protected-mode no --save '' --appendonly no \
			--daemonize no --dir "$d/redis-$port" --logfile "$d/redis-$port/redis.log"
	done
	if [[ $key == "$DNS_KEY" ]]; then
		write_dns_hosts
		pspawn "$key" "$d/dnsmasq.stderr" dnsmasq --keep-in-foreground \
			--conf-file=/dev/null --no-resolv --no-hosts --no-poll --no-negcache \
			--user=root --group=root --bind-interfaces --listen-address="${P_IPS[$key]%%,*}" \
			--addn-hosts="$d/dns.hosts" --local-ttl=30 --domain-needed \
			--pid-file="$d/dnsmasq.pid" --log-queries --log-facility="$d/dnsmasq.log"
		echo "$SPAWNED" >"$d/dnsmasq.spawned"
	fi
	while read -r spec cmd; do
		[[ -n $spec ]] || continue
		app=${spec%%:*}
		local -a argv
		eval "argv=($cmd)"
		pspawn "$key" "$d/serve-$app.log" "${argv[@]}"
	done <<<"${P_SERVE[$key]}"
	for spec in "${specs[@]}"; do
		port=${spec#*:}
		proto=${port#*/}
		wait_listen "$key" "${port%/*}" "$proto"
	done
}

pod_start() { # pod_start KEY
	local key=$1 ns d ip s sw_if primary
	[[ $(pstatus "$key") == absent ]] || die "pod $key: already started once (restarts are not supported)"
	ns=$(pns "$key")
	d=$(pdir "$key")
	mkdir -p "$d"
	echo starting >"$d/status"
	: >"$d/pids"
	printf 'nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:1\n' \
		"$DNS_IP" "${P_NS[$key]:-default}" "$DOMAIN" "$DOMAIN" "$DOMAIN" >"$d/resolv.conf"
	printf '127.0.0.1 localhost\n%s %s\n' "${P_IPS[$key]%%,*}" "${P_NAME[$key]}" >"$d/hosts"
	# Two pods up with one address would make the truth ambiguous.
	local k o IFS=,
	for k in "${POD_KEYS[@]}"; do
		[[ $k != "$key" && $(pstatus "$k") == up ]] || continue
		for ip in ${P_IPS[$key]}; do
			for o in ${P_IPS[$k]}; do
				[[ $ip != "$o" ]] || die "pod $key: $ip is still held by pod $k"
			done
		done
	done
	unset IFS
	ip netns add "$ns"
	sysctl_ns "$ns"
	ip -n "$ns" link set lo up
	sw_if=p${P_IDX[$key]}
	ip -n "$SW" link add "$sw_if" type veth peer name eth0 netns "$ns"
	ip -n "$ns" link set eth0 address "$(mac_of "$key")"
	ip netns exec "$SW" ethtool -K "$sw_if" tso off gso off gro off tx off >/dev/null 2>&1 || true
	ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off tx off >/dev/null 2>&1 || true
	ip -n "$SW" link set "$sw_if" master br0
	ip -n "$SW" link set "$sw_if" up
	primary=${P_IPS[$key]%%,*}
	IFS=,
	for ip in ${P_IPS[$key]}; do ip -n "$ns" addr add "$ip/32" dev eth0; done
	unset IFS
	ip -n "$ns" link set eth0 up
	for s in "${SUBNETS[@]}"; do
		ip -n "$ns" route replace "$s" dev eth0 src "$primary"
	done
	start_servers "$key"
	echo up >"$d/status"
	event pod_up "$key" "$(now)"
	log "pod $key (${P_NAME[$key]}, ${P_IPS[$key]}) up"
}

kill_pids() { # kill_pids PID..: TERM, wait up to STOP_S, then KILL
	local p i alive
	[[ $# -gt 0 ]] || return 0
	kill "$@" 2>/dev/null || true
	for ((i = 0; i < STOP_S * 20; i++)); do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[[ $alive == 1 ]] || return 0
		sleep 0.05
	done
	kill -KILL "$@" 2>/dev/null || true
}

ns_remove() { # ns_remove NS: end what still runs in it (ours), delete it
	local -a left=()
	ip netns list 2>/dev/null | awk -v n="$1" '$1 == n { f = 1 } END { exit !f }' || return 0
	mapfile -t left < <(ip netns pids "$1" 2>/dev/null || true)
	kill_pids "${left[@]}"
	ip netns del "$1" 2>/dev/null || true
}

pod_stop() { # pod_stop KEY [final]: final (the cluster goes): no peer to tell
	local key=$1 final=${2:-} d k ip st
	d=$(pdir "$key")
	st=$(pstatus "$key")
	[[ $st == up || $st == starting ]] || return 0
	local -a pids=()
	mapfile -t pids <"$d/pids"
	kill_pids "${pids[@]}"
	ns_remove "$(pns "$key")"
	echo down >"$d/status"
	event pod_down "$key" "$(now)"
	[[ -z $final ]] || return 0
	# Peers forget the old MAC of these addresses, as after a new pod's
	# gratuitous ARP: the next user of the address is reached at once.
	local IFS=,
	for k in "${POD_KEYS[@]}"; do
		[[ $(pstatus "$k") == up ]] || continue
		for ip in ${P_IPS[$key]}; do
			ip -n "$(pns "$k")" neigh flush to "$ip" 2>/dev/null || true
		done
	done
	unset IFS
	log "pod $key (${P_NAME[$key]}) removed"
}

# ============================================================ clients

NEXT_PORT=$FIRST_PORT
declare -A RR=()
next_port() { # sets PORT
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
	[[ $PORT -lt 49152 ]] || die "more than $((49152 - FIRST_PORT)) harness-chosen ports"
}
# flow ACTION KEY CLIENT_PORT SERVER_IP SERVER_PORT PROTO APP OK
flow() {
	event flow "$1" "$(now)" "$2" "${P_IPS[$2]%%,*}" "$3" "$4" "$5" "$6" "$7" "$8"
}

# dig_a ACTION KEY NAME [TYPE]: one query to the cluster DNS; sets ANSWERS
# (IPv4 addresses, sorted) and returns 1 when there is none.
dig_a() {
	local act=$1 key=$2 name=$3 type=${4:-A} out ok=1
	next_port
	if out=$(pexec "$key" 4 dig -r -4 +tries=1 +time=2 +short -b "${P_IPS[$key]%%,*}#$PORT" \
		@"$DNS_IP" "$name" "$type" 2>&1); then
		mapfile -t ANSWERS < <(grep -E '^[0-9]+(\.[0-9]+){3}$' <<<"$out" | sort -V)
		[[ ${#ANSWERS[@]} -gt 0 || $type != A ]] || ok=0
	else
		ANSWERS=()
		ok=0
	fi
	flow "$act" "$key" "$PORT" "$DNS_IP" 53 udp dns "$ok"
	[[ $ok == 1 ]]
}

# host_port SPEC DEFAULT_PORT: sets HOST and HPORT
host_port() {
	HOST=${1%%:*}
	HPORT=$2
	[[ $1 == *:* ]] && HPORT=${1##*:}
	[[ $HPORT =~ ^[0-9]+$ ]] || die "'$1': bad port"
}
# targets ACTION KEY HOST: the addresses to use (TARGETS), through DNS
# unless HOST is an address
targets() {
	if valid_ip "$3"; then
		TARGETS=("$3")
	elif dig_a "$1" "$2" "$3"; then
		TARGETS=("${ANSWERS[@]}")
	else
		TARGETS=()
		return 1
	fi
}
pick() { # pick HOST: the next of TARGETS, round-robin per name; sets PICK
	local i=${RR[$1]:-0}
	PICK=${TARGETS[$((i % ${#TARGETS[@]}))]}
	RR[$1]=$((i + 1))
}

# Each client verb returns 0 when every command did what it should.
verb_http() { # ACT KEY HOST[:PORT] [count=] [path=]
	local act=$1 key=$2 i code bad=0
	host_port "$3" 80
	shift 3
	kv_parse "count path label" "$@"
	local n=${KV[count]:-1} path=${KV[path]:-/}
	targets "$act" "$key" "$HOST" || return 1
	for ((i = 0; i < n; i++)); do
		pick "$HOST"
		next_port
		if code=$(pexec "$key" 5 curl -q -4 -s -o /dev/null -w '%{http_code}' \
			--max-time 3 --connect-timeout 2 --noproxy '*' --local-port "$PORT" \
			--resolve "$HOST:$HPORT:$PICK" "http://$HOST:$HPORT$path") && [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then
			flow "$act" "$key" "$PORT" "$PICK" "$HPORT" tcp http 1
		else
			flow "$act" "$key" "$PORT" "$PICK" "$HPORT" tcp http 0
			bad=1
		fi
	done
	return $bad
}
verb_redis() { # ACT KEY HOST[:PORT] [count=] [cmd=]
	local act=$1 key=$2 i out bad=0
	host_port "$3" 6379
	shift 3
	kv_parse "count cmd label" "$@"
	local n=${KV[count]:-1}
	local -a cmd
	read -r -a cmd <<<"${KV[cmd]:-PING}"
	targets "$act" "$key" "$HOST" || return 1
	for ((i = 0; i < n; i++)); do
		pick "$HOST"
		if out=$(pexec "$key" 5 redis-cli -h "$PICK" -p "$HPORT" "${cmd[@]}" 2>&1) &&
			[[ -n $out && $out != ERR* && $out != *"Could not connect"* ]]; then
			flow "$act" "$key" - "$PICK" "$HPORT" tcp redis 1
		else
			flow "$act" "$key" - "$PICK" "$HPORT" tcp redis 0
			bad=1
		fi
	done
	return $bad
}
verb_dns() { # ACT KEY NAME [count=] [type=]
	local act=$1 key=$2 name=$3 i bad=0
	shift 3
	kv_parse "count type label" "$@"
	for ((i = 0; i < ${KV[count]:-1}; i++)); do
		dig_a "$act" "$key" "$name" "${KV[type]:-A}" || bad=1
	done
	return $bad
}
verb_exec() { # ACT KEY [timeout=] [expect=] [label=] -- CMD..
	local act=$1 key=$2 a item dst port proto n ip bad=0
	shift 2
	local -a opts=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] || die "exec: expected -- before the command"
	shift
	kv_parse "timeout expect label" "${opts[@]}"
	local t=${KV[timeout]:-10} expect=${KV[expect]:-}
	pexec "$key" "$t" env POD_IP="${P_IPS[$key]%%,*}" DNS_IP="$DNS_IP" "$@" \
		>>"$(pdir "$key")/exec.log" 2>&1 || bad=1
	local IFS=,
	for item in $expect; do
		[[ $item =~ ^([^:]+):([0-9]+)/(tcp|udp|icmp)\*([0-9]+)$ ]] ||
			die "exec expect '$item': expected DST:PORT/PROTO*N"
		dst=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]} proto=${BASH_REMATCH[3]} n=${BASH_REMATCH[4]}
		addr_of "$dst"
		ip=$ADDR
		for ((a = 0; a < n; a++)); do flow "$act" "$key" - "$ip" "$port" "$proto" exec 1; done
	done
	return $bad
}
addr_of() { # sets ADDR: of a pod key, a name the cluster DNS answers, an address
	local k n r IFS=,
	ADDR=$1
	valid_ip "$1" && return 0
	ADDR=""
	if [[ -n ${P_KIND[$1]:-} ]]; then
		ADDR=${P_IPS[$1]%%,*}
	fi
	for k in "${POD_KEYS[@]}"; do
		[[ -z $ADDR ]] || break
		if [[ ${P_KIND[$k]} == pod && $1 == "${P_SVC[$k]}.${P_NS[$k]}.svc.$DOMAIN" ]]; then
			ADDR=${P_IPS[$k]%%,*}
		fi
		for n in ${P_NAMES[$k]}; do [[ ${n%%=*} != "$1" ]] || ADDR=${n#*=}; done
	done
	unset IFS
	for r in "${RECORDS[@]}"; do
		[[ -n $ADDR || ${r%% *} != "$1" ]] || read -r ADDR _ <<<"${r#* }"
	done
	[[ -n $ADDR ]] || die "exec expect: '$1' is no pod key, DNS name or address"
}

# ============================================================ capture

capture_start() { # bounded: tcpdump stops by itself after CAPMAX seconds
	local i capmax=$(($(last_step_s) + 60))
	rm -f "$OUT/capture.pcap"
	ip netns exec "$SW" timeout -s INT "$capmax" tcpdump -i br0 -n -s 0 -U \
		--immediate-mode -Z root -w "$OUT/capture.pcap" \
		</dev/null >"$ST/sw/tcpdump.out" 2>"$ST/sw/tcpdump.err" &
	echo $! >"$ST/sw/tcpdump.pid"
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$ST/sw/tcpdump.err" 2>/dev/null && break
		kill -0 "$(cat "$ST/sw/tcpdump.pid")" 2>/dev/null || die "tcpdump: $(cat "$ST/sw/tcpdump.err")"
		sleep 0.05
	done
	grep -q 'listening on' "$ST/sw/tcpdump.err" || die "tcpdump did not start in 5 s"
	event capture_start "$(now)"
}
capture_stop() {
	local pid i
	[[ -f $ST/sw/tcpdump.pid ]] || return 0
	pid=$(cat "$ST/sw/tcpdump.pid")
	kill -INT "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$ST/sw/tcpdump.pid"
	event capture_end "$(now)" \
		"$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$ST/sw/tcpdump.err")" \
		"$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$ST/sw/tcpdump.err")"
}
last_step_s() {
	local m=0 u
	for u in "${STEP_US[@]}"; do ((u > m)) && m=$u; done
	echo $(((m + 999999) / 1000000))
}

# ============================================================ commands

cmd_up() {
	local k
	mkdir -p "$ST/pods"
	RUN=$PREFIX$$
	SW=$RUN-sw
	printf 'RUN=%q\nSCEN_FILE=%q\n' "$RUN" "$SCEN_FILE" >"$ST/run"
	: >"$ST/events.tsv"
	event scenario "$SCEN_NAME" "$RUN" "$SCEN_FILE" "$SCEN_DESC"
	write_pods_tsv
	bridge_up
	# The DNS pod first: the others may resolve as they start.
	pod_start "$DNS_KEY"
	for k in "${POD_KEYS[@]}"; do
		[[ $k == "$DNS_KEY" || -n ${P_DEFER[$k]:-} ]] || pod_start "$k"
	done
	dns_reload
	log "up: $RUN, ${#POD_KEYS[@]} pods declared, bridge br0 in netns $SW"
}

cmd_traffic() {
	local t0 i idx us act=0 failed=0 w
	local -a order words
	capture_start
	t0=$(to_us "$(now)")
	event traffic_start "$(now)"
	mapfile -t order < <(for i in "${!STEP_US[@]}"; do printf '%s\t%s\n' "${STEP_US[$i]}" "$i"; done |
		sort -s -n -k1,1 | cut -f2)
	for idx in "${order[@]}"; do
		us=${STEP_US[$idx]}
		w=$((t0 + us - $(to_us "$(now)")))
		if ((w > 0)); then
			nap "$((w / 1000000)).$(printf '%06d' $((w % 1000000)))"
		elif ((w < -1000000)); then
			log "step $idx starts $((-w / 1000))ms late"
		fi
		eval "words=(${STEP_ARGS[$idx]})"
		case ${words[0]} in
		start)
			pod_start "${words[1]}"
			dns_reload
			;;
		stop)
			pod_stop "${words[1]}"
			dns_reload
			;;
		phase) event phase "${words[1]}" "$(now)" ;;
		*)
			act=$((act + 1))
			local key=${words[0]} verb=${words[1]} label=benign a start rc=0
			for a in "${words[@]:2}"; do [[ $a == label=* ]] && label=${a#label=}; done
			[[ $(pstatus "$key") == up ]] || die "step $idx: pod $key is not up"
			start=$(now)
			case $verb in
			http | redis | dns | exec) "verb_$verb" "$act" "$key" "${words[@]:2}" || rc=1 ;;
			*) die "step $idx: unknown verb '$verb'" ;;
			esac
			event action "$act" "$(awk -v u="$us" 'BEGIN { printf "%.6f", u / 1e6 }')" "$start" "$(now)" \
				"$key" "$verb" "${words[*]:2}" "$label" "$((1 - rc))"
			if [[ $rc != 0 ]]; then
				failed=$((failed + 1))
				log "step $idx: '${words[*]}' did not do what it should (logs: $(pdir "$key"))"
			fi
			;;
		esac
	done
	nap "$SETTLE_S"
	event traffic_end "$(now)"
	capture_stop
	python3 "$HERE/truth.py" "$ST" "$OUT"
	log "capture: $OUT/capture.pcap ($(stat -c %s "$OUT/capture.pcap") bytes), truth: $OUT/expected.json"
	[[ $failed == 0 ]] || die "$failed client step(s) failed"
}

cmd_down() {
	local k
	[[ -f $ST/run ]] || return 0
	load_run
	capture_stop 2>/dev/null || true
	for k in "${POD_KEYS[@]}"; do pod_stop "$k" final 2>/dev/null || true; done
	ns_remove "$SW"
	# Anything of this run still there (a pod half made by a failed start).
	local n
	for n in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$RUN-" || true); do
		ns_remove "$n"
	done
	rm -f "$ST/run"
	log "down: $RUN removed"
}

cmd_check() {
	local c t
	[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
	for c in ip ss ethtool tcpdump nginx dnsmasq dig curl redis-server redis-cli python3 timeout; do
		command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed (scripts/deps.sh)"; exit 77; }
	done
	t=${PREFIX}check$$
	if ! ip netns add "$t" 2>/dev/null; then
		ip netns del "$t" 2>/dev/null || true # a half-made one
		echo "SKIP: 'ip netns add' is not permitted here"
		exit 77
	fi
	if ! ip -n "$t" link add br0 type bridge 2>/dev/null; then
		ip netns del "$t"
		echo "SKIP: no bridge support in this kernel"
		exit 77
	fi
	ip netns del "$t"
}

cmd_gc() { # namespaces of runs whose process is gone
	local n pid
	for n in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^${PREFIX}[0-9]+-" || true); do
		pid=${n#"$PREFIX"}
		pid=${pid%%-*}
		if kill -0 "$pid" 2>/dev/null && grep -q cluster.sh "/proc/$pid/cmdline" 2>/dev/null; then
			continue
		fi
		log "gc: removing $n"
		ns_remove "$n"
	done
}

on_exit() { # on_exit RC always|failure: the EXIT trap; down always or on failure
	trap - EXIT
	[[ -z $NAP_PID ]] || kill "$NAP_PID" 2>/dev/null || true
	if [[ $2 == always || $1 != 0 ]]; then
		cmd_down || true
	fi
	exit "$1"
}

usage() {
	sed -n '/^#   cluster.sh run/,/^#$/ s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

main() {
	local sub=${1:-}
	[[ $# -ge 1 ]] || usage
	shift
	case $sub in
	check) cmd_check ;;
	gc) cmd_gc ;;
	up | run)
		[[ $# -eq 2 ]] || usage
		cmd_check
		load_scenario "$1"
		set_paths "$2"
		# Before the trap: a failure here must not take that cluster down.
		[[ ! -e $ST/run ]] || die "$OUT already holds a cluster ($(tr '\n' ' ' <"$ST/run")); '$0 down $OUT' first"
		if [[ $sub == run ]]; then
			trap 'on_exit $? always' EXIT
		else
			trap 'on_exit $? failure' EXIT
		fi
		trap 'exit 130' INT
		trap 'exit 143' TERM
		cmd_up
		if [[ $sub == run ]]; then
			cmd_traffic # not after || : errexit would be off inside
		fi
		;;
	traffic | down)
		[[ $# -eq 1 || $# -eq 2 ]] || usage
		set_paths "${!#}"
		if [[ ! -f $ST/run ]]; then
			[[ $sub == down ]] && exit 0
			die "$OUT: no cluster here ('$0 up SCENARIO $OUT' first)"
		fi
		load_run
		load_scenario "$SCEN_FILE"
		[[ $# -eq 1 ]] || [[ $(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1") == "$SCEN_FILE" ||
			$HERE/scenarios/$1.sh == "$SCEN_FILE" ]] || die "$OUT was brought up with $SCEN_FILE"
		if [[ $sub == traffic ]]; then
			trap 'on_exit $? failure' EXIT
			trap 'exit 130' INT
			trap 'exit 143' TERM
			cmd_traffic
		else
			cmd_down
		fi
		;;
	*) usage ;;
	esac
}

main "$@"
