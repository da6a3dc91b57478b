#!/usr/bin/env bash
# pop_exporter demo without Docker: simulated CDN edges (cdnsim), the exporter and, when the
# `prometheus` binary is on PATH, a Prometheus server with this repository's alert rules, all
# on 127.0.0.1. Prints where to look, then runs until Ctrl-C and stops everything it started.
#
#   deploy/demo.sh                  # or: make demo
#   DEMO_DURATION=120 deploy/demo.sh
#
# Environment:
#   DEMO_DURATION=N      stop by itself N seconds after everything is up (default: run until Ctrl-C)
#   DEMO_DIR=PATH        work directory for binaries, configs, logs and the TSDB (default: a new
#                        temporary directory, removed at exit; a given one is kept)
#   DEMO_INTERVAL=D      probe and scrape interval, a Go/Prometheus duration (default: 2s)
#   CDNSIM_HTTP_PORT, CDNSIM_HTTPS_PORT, EXPORTER_PORT, PROMETHEUS_PORT
#                        ports to use; they must be free. Without them the demo takes 8081, 8443,
#                        9853 and 9090, or the next free port above each.
#   GO                   the go command (default: go)
#
# Needs bash, go and nothing else; Prometheus is optional (Debian/Ubuntu: apt-get install
# prometheus, which also brings promtool, used here to check the generated config).
set -euo pipefail

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$deploy_dir")
GO=${GO:-go}
interval=${DEMO_INTERVAL:-2s}
duration=${DEMO_DURATION:-0}
host=127.0.0.1

log() { printf 'demo: %s\n' "$*"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

case $duration in
'' | *[!0-9]*) die "DEMO_DURATION must be a whole number of seconds, not \"$duration\"" ;;
esac

# --- processes and cleanup -----------------------------------------------------------------

names=() # names[i] is the process pids[i]
pids=()
logs=()
created_dir=
sleep_pid=

# stop_all stops what this script started, newest first: SIGTERM (every one of them shuts down
# gracefully on it), then SIGKILL for anything still alive after 10 s.
stop_all() {
	local i pid waited
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null || true
		waited=0
		while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
			sleep 0.1
			waited=$((waited + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "${names[i]} (pid $pid) did not stop within 10 s: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -z $sleep_pid ]] || kill "$sleep_pid" 2>/dev/null || true
	if ((${#pids[@]} > 0)); then
		log "stopping ${names[*]}"
		stop_all
	fi
	if [[ -n $created_dir ]]; then
		rm -rf "$created_dir"
	fi
	log "stopped"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM

# start NAME LOGFILE COMMAND... runs COMMAND in the background with its output in LOGFILE.
start() {
	local name=$1 logfile=$2
	shift 2
	"$@" >"$logfile" 2>&1 &
	names+=("$name")
	pids+=("$!")
	logs+=("$logfile")
}

# check_alive fails, with the last lines of its log, when a started process has exited.
check_alive() {
	local i
	for i in "${!pids[@]}"; do
		if ! kill -0 "${pids[i]}" 2>/dev/null; then
			printf 'demo: error: %s exited; last lines of %s:\n' "${names[i]}" "${logs[i]}" >&2
			tail -n 20 "${logs[i]}" >&2 || true
			return 1
		fi
	done
}

# --- ports and HTTP without curl -----------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# pick_port VAR DEFAULT prints the port given in $VAR, which must be free, or the first free
# port from DEFAULT on.
pick_port() {
	local var=$1 port=${!1:-} tries=0
	if [[ -n $port ]]; then
		port_in_use "$port" && die "$var=$port: port $port on $host is in use"
		echo "$port"
		return
	fi
	port=$2
	while port_in_use "$port"; do
		port=$((port + 1))
		tries=$((tries + 1))
		((tries < 100)) || die "no free port in $2-$port on $host; set $var"
	done
	echo "$port"
}

# http_ok PORT PATH succeeds when GET http://$host:PORT/PATH answers 200.
http_ok() {
	(
		exec 3<>"/dev/tcp/$host/$1" || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$2" "$host" "$1" >&3
		IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
		[[ $status == 200 ]]
	) 2>/dev/null
}

# wait_for WHAT SECONDS COMMAND... retries COMMAND until it succeeds, a started process dies or
# the time is up.
wait_for() {
	local what=$1 seconds=$2 tenths=$(($2 * 10))
	shift 2
	until "$@"; do
		check_alive || exit 1
		((tenths-- > 0)) || die "$what: not within $seconds s"
		sleep 0.1
	done
}

urlencode() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# clock_in SECONDS prints the wall-clock time SECONDS from now (GNU date, then BSD date).
clock_in() {
	local t=$(($(date +%s) + $1))
	date -d "@$t" +%H:%M:%S 2>/dev/null || date -r "$t" +%H:%M:%S 2>/dev/null || echo "+$1 s"
}

# --- work directory and binaries -----------------------------------------------------------

if [[ -n ${DEMO_DIR:-} ]]; then
	dir=$DEMO_DIR
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/pop_exporter-demo.XXXXXX")
	created_dir=$dir
fi
log "work directory $dir"

command -v "$GO" >/dev/null 2>&1 || die "the go command ($GO) is not on PATH"
log "building cdnsim and pop_exporter"
(cd "$repo_dir" && "$GO" build -o "$dir/" ./cmd/cdnsim ./cmd/pop_exporter) ||
	die "go build failed"

# --- cdnsim: simulated CDN edges -----------------------------------------------------------

sim_http=$(pick_port CDNSIM_HTTP_PORT 8081)
sim_https=$(pick_port CDNSIM_HTTPS_PORT 8443)
exporter_cfg=$dir/exporter.yml
rm -f "$exporter_cfg"
start cdnsim "$dir/cdnsim.log" "$dir/cdnsim" \
	--http.listen-address="$host:$sim_http" --https.listen-address="$host:$sim_https" \
	--tls.ca-file="$dir/cdnsim-ca.pem" --config.out="$exporter_cfg" \
	--print-config.interval="$interval"
sim_started=$(date +%s)
# cdnsim writes the exporter config (atomically) once both listeners are up.
wait_for "cdnsim's exporter config $exporter_cfg" 30 test -s "$exporter_cfg"
log "cdnsim listening on $host:$sim_http (http) and $host:$sim_https (https)"

# --- pop_exporter --------------------------------------------------------------------------

exporter_port=$(pick_port EXPORTER_PORT 9853)
start pop_exporter "$dir/pop_exporter.log" "$dir/pop_exporter" \
	--config.file="$exporter_cfg" --web.listen-address="$host:$exporter_port"
wait_for "pop_exporter on $host:$exporter_port" 30 http_ok "$exporter_port" /-/ready
log "pop_exporter listening on $host:$exporter_port"

# --- Prometheus, when installed ------------------------------------------------------------

prom_port=
if prom_bin=$(command -v prometheus); then
	prom_port=$(pick_port PROMETHEUS_PORT 9090)
	prom_cfg=$dir/prometheus.yml
	# deploy/prometheus/prometheus.yml as users get it, changed only where a local demo must:
	# short intervals, the exporter's address, absolute rule paths, no Alertmanager (Prometheus
	# still evaluates the alerts and shows them on /alerts).
	awk -v interval="$interval" -v target="$host:$exporter_port" -v rules="$deploy_dir/prometheus" '
		/^[A-Za-z_]+:/ { section = $1; sub(/:.*/, "", section) }
		section == "global" || section == "alerting" { next }
		section == "rule_files" && /^[[:space:]]*-[[:space:]]/ {
			path = $0
			sub(/^[[:space:]]*-[[:space:]]*/, "", path); gsub(/["\047]/, "", path); sub(/[[:space:]]+#.*$/, "", path)
			if (path !~ /^\//) path = rules "/" path
			print "  - \"" path "\""
			next
		}
		{ gsub(/pop_exporter:9853/, target); print }
		END {
			print "global:"
			print "  scrape_interval: " interval
			print "  evaluation_interval: " interval
		}
	' "$deploy_dir/prometheus/prometheus.yml" >"$prom_cfg"
	grep -q "$host:$exporter_port" "$prom_cfg" ||
		die "deploy/prometheus/prometheus.yml no longer scrapes pop_exporter:9853: update demo.sh"
	if command -v promtool >/dev/null 2>&1; then
		promtool check config "$prom_cfg" >"$dir/promtool.log" 2>&1 ||
			die "promtool rejects the generated $prom_cfg: $(cat "$dir/promtool.log")"
	fi
	start prometheus "$dir/prometheus.log" "$prom_bin" --config.file="$prom_cfg" \
		--storage.tsdb.path="$dir/prometheus-data" --web.listen-address="$host:$prom_port"
	wait_for "Prometheus on $host:$prom_port" 60 http_ok "$prom_port" /-/ready
	log "Prometheus listening on $host:$prom_port"
fi

# --- where to look -------------------------------------------------------------------------

shift_in=$((sim_started + 60 - $(date +%s)))
((shift_in > 0)) || shift_in=0
exporter_url=http://$host:$exporter_port
cat <<EOF

================================================================================
pop_exporter demo is running (probes every $interval, all on $host)

  exporter metrics:   $exporter_url/metrics
  exporter home:      $exporter_url/
  cdnsim targets:     http://$host:$sim_http/
  exporter config:    $exporter_cfg   (written by cdnsim)
  logs:               $dir/*.log

What happens (cdnsim's default scenario, vantage "cdnsim" in Amsterdam):
  * cf-shift-sin is answered from Amsterdam (AMS) until $(clock_in "$shift_in"), 60 s after cdnsim
    started, then from Singapore (SIN), about 10,500 km away: its pop_probe_edge_info pop
    label changes, pop_probe_pop_changes_total counts 1, pop_probe_shift_distance_meters
    jumps from 0, and PopShiftedFar goes pending. Its baseline (the most frequent PoP over
    30 minutes) has only that one minute of AMS behind it, so about a minute later SIN
    becomes the usual PoP and PopShiftedFar clears before its 5 minutes are up (with a real
    history it fires); then PopUnexpected (SIN is not in expected_pops) goes pending and
    fires 10 minutes later.
  * azure-random draws AMS, LHR or FRA per request and cloudfront-flap flips between FRA and
    AMS every 30 s: PopFlapping (4 changes in 15 minutes, for 2 minutes) fires within minutes.
  * cf-failing always answers 503 (its PoP is still identified): pop_probe_success 0, and
    PopProbeFailing after 5 minutes. fastly-flaky fails about 20 % of its probes.
  * cf-cert-expiring serves a certificate of its own that expires 10 days after cdnsim
    started: pop_probe_tls_earliest_cert_expiry_timestamp_seconds, and PopCertExpiringSoon
    (under 14 days) after 10 minutes. fastly-object serves a versioned object:
    pop_probe_content_version_since_timestamp_seconds names its version.
  * every other target is another CDN's header format, each identified by its CDN, and by its
    PoP where the CDN names one: akamai and netlify name none (pop="unknown"; akamai shows
    its edge address as edge_ip instead), and fastly-shield and vercel also name a shield
    or function-region PoP (shield_pop).

  curl -s $exporter_url/metrics | grep -E '^pop_probe_(edge_info|shift_distance_meters)'
EOF
if [[ -n $prom_port ]]; then
	prom_url=http://$host:$prom_port
	cat <<EOF

  Prometheus:         $prom_url/
  alerts:             $prom_url/alerts
  example queries:
EOF
	for q in \
		'pop_probe_edge_info' \
		'pop_probe_shift_distance_meters > 0' \
		'increase(pop_probe_pop_changes_total[5m])' \
		'histogram_quantile(0.95, sum by (target, pop, le) (rate(pop_probe_ttfb_seconds_bucket[1m])))' \
		'ALERTS'; do
		printf '    %s\n      %s/graph?g0.expr=%s&g0.tab=1\n' "$q" "$prom_url" "$(urlencode "$q")"
	done
else
	cat <<EOF

  Prometheus is not installed, so there are no alerts or graphs in this demo. Install it
  (Debian/Ubuntu: apt-get install prometheus) and run the demo again, or use
  deploy/docker-compose.yml for Prometheus, Alertmanager and Grafana with the dashboards.
EOF
fi
echo
if ((duration > 0)); then
	log "ready; stopping by itself in $duration s (DEMO_DURATION)"
else
	log "ready; press Ctrl-C to stop"
fi
echo "================================================================================"

# --- run until Ctrl-C, DEMO_DURATION or a process dies -------------------------------------

deadline=$(($(date +%s) + duration))
while true; do
	check_alive || exit 1
	if ((duration > 0 && $(date +%s) >= deadline)); then
		log "DEMO_DURATION of $duration s is over"
		exit 0
	fi
	# In the background, so that Ctrl-C is handled at once rather than after the sleep.
	sleep 1 &
	sleep_pid=$!
	wait "$sleep_pid" || true
	sleep_pid=
done
