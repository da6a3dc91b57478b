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
#   DEMO_SPEEDUP=N       how much faster than in production the alerts' `for:` run (default: 60,
#                        so that a 5-minute `for:` holds 5 s); 1 runs the rules as shipped
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
speedup=${DEMO_SPEEDUP:-60}
host=127.0.0.1
# The demo's timeline, in seconds after cdnsim starts: cf-shift-sin moves from AMS to SIN at
# shift_at, cloudfront-flap flips every flap_every. With 2 s probes the AMS history before the
# shift is about 11 probes, so SIN becomes the baseline about 25 s after the shift: long
# enough for PopShiftedFar's compressed 5 s `for:`, short enough for DEMO_DURATION=60.
shift_at=25
flap_every=8

log() { printf 'demo: %s\n' "$*"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

case $duration in
'' | *[!0-9]*) die "DEMO_DURATION must be a whole number of seconds, not \"$duration\"" ;;
esac
case $speedup in
'' | *[!0-9]* | 0) die "DEMO_SPEEDUP must be a whole number from 1, not \"$speedup\"" ;;
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

# http_get PORT PATH prints the body of GET http://$host:PORT/PATH.
http_get() {
	(
		exec 3<>"/dev/tcp/$host/$1" || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$2" "$host" "$1" >&3
		local line
		while IFS= read -r -t 5 line <&3 && [[ $line != $'\r' && -n $line ]]; do :; done
		cat <&3
	) 2>/dev/null
}

# alert_states prints "alertname target state" for every alert Prometheus has pending or
# firing, from its /api/v1/alerts JSON (no jq: one alert per {"labels": object).
alert_states() {
	local body chunk name target state
	body=$(http_get "$1" /api/v1/alerts) || return 0
	body=${body//\{\"labels\":/$'\n'}
	while IFS= read -r chunk; do
		[[ $chunk =~ \"alertname\":\"([^\"]*)\" ]] || continue
		name=${BASH_REMATCH[1]}
		target=-
		[[ $chunk =~ \"target\":\"([^\"]*)\" ]] && target=${BASH_REMATCH[1]}
		[[ $chunk =~ \"state\":\"([a-z]*)\" ]] || continue
		state=${BASH_REMATCH[1]}
		printf '%s %s %s\n' "$name" "$target" "$state"
	done <<<"$body" | sort -u
}

# compress_for FILE prints the rule file with every alert's `for:` and every group's own
# `interval:` divided by the speed-up (at least 1s): the demo's minute shows what takes an hour
# in production. Expressions, thresholds and annotations stay the repository's.
compress_for() {
	awk -v speedup="$speedup" '
		match($0, /^[[:space:]]*(for|interval):[[:space:]]*/) {
			prefix = substr($0, 1, RLENGTH); d = substr($0, RLENGTH + 1); sub(/[[:space:]]*(#.*)?$/, "", d)
			secs = 0; rest = d
			while (match(rest, /^[0-9]+[smhd]/)) {
				n = substr(rest, 1, RLENGTH - 1) + 0; u = substr(rest, RLENGTH, 1)
				secs += n * (u == "s" ? 1 : u == "m" ? 60 : u == "h" ? 3600 : 86400)
				rest = substr(rest, RLENGTH + 1)
			}
			if (rest == "" && secs > 0) {
				s = int(secs / speedup); if (s < 1) s = 1
				print prefix s "s"
				next
			}
		}
		{ print }
	' "$1"
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
# cdnsim's default scenario with the demo's timeline (shift_at, flap_every).
scenario=$dir/scenario.yml
sed -e "s/shift: {from: AMS, to: SIN, after: 60s}/shift: {from: AMS, to: SIN, after: ${shift_at}s}/" \
	-e "s/flap: {between: \[FRA, AMS\], every: 30s}/flap: {between: [FRA, AMS], every: ${flap_every}s}/" \
	"$repo_dir/cmd/cdnsim/default-scenario.yml" >"$scenario"
grep -q "after: ${shift_at}s" "$scenario" && grep -q "every: ${flap_every}s" "$scenario" ||
	die "cmd/cdnsim/default-scenario.yml no longer has cf-shift-sin's 60 s shift and cloudfront-flap's 30 s flap: update demo.sh"
start cdnsim "$dir/cdnsim.log" "$dir/cdnsim" --scenario.file="$scenario" \
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
	mkdir -p "$dir/rules"
	for f in "$deploy_dir"/prometheus/rules/*.rules.yml; do
		compress_for "$f" >"$dir/rules/$(basename "$f")"
	done
	# deploy/prometheus/prometheus.yml as users get it, changed only where a local demo must:
	# short intervals, the exporter's address, the rule files with their `for:` compressed, no
	# Alertmanager (Prometheus still evaluates the alerts and shows them on /alerts).
	awk -v interval="$interval" -v target="$host:$exporter_port" -v rules="$dir" '
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

# at OFFSET prints the wall-clock time OFFSET seconds after cdnsim started.
at() {
	local in=$((sim_started + $1 - $(date +%s)))
	((in > 0)) || in=0
	clock_in "$in"
}
# When each alert is expected: the scenario's times, plus a probe, a scrape and the recording
# rules' evaluation (lag: 3 intervals) for pending, plus the alert's compressed `for:` (5m,
# 10m, 2m divided by the speed-up) and two evaluations for firing.
step=${interval%s}
[[ $step =~ ^[0-9]+$ ]] || step=2
for_s() { local s=$(($1 / speedup)); ((s > 0)) || s=1; echo "$s"; }
lag=$((3 * step))
fires=$((2 * step))
exporter_url=http://$host:$exporter_port
cat <<EOF

================================================================================
pop_exporter demo is running (probes every $interval, all on $host)

  exporter metrics:   $exporter_url/metrics
  exporter home:      $exporter_url/
  cdnsim targets:     http://$host:$sim_http/
  exporter config:    $exporter_cfg   (written by cdnsim)
  logs:               $dir/*.log

What happens (cdnsim's default scenario, vantage "cdnsim" in Amsterdam, on the demo's
timeline; Prometheus runs this repository's rules with every alert's for: divided by
$speedup, so a 5-minute for: holds $(for_s 300) s):
  * cf-shift-sin is answered from Amsterdam (AMS) until $(at $shift_at), then from Singapore
    (SIN), about 10,500 km away: its pop_probe_edge_info pop label changes,
    pop_probe_pop_changes_total counts 1 and pop_probe_shift_distance_meters jumps from 0.
      PopShiftedFar   pending about $(at $((shift_at + lag))), firing about $(at $((shift_at + lag + $(for_s 300) + fires)))
      PopUnexpected   (SIN is not in expected_pops) firing about $(at $((shift_at + lag + $(for_s 600) + fires)))
    With about $shift_at s of AMS behind it, SIN becomes the baseline (the most frequent PoP)
    about $shift_at s after the shift, and PopShiftedFar resolves about $(at $((2 * shift_at + lag + fires))).
  * azure-random draws AMS, LHR or FRA per request, cloudfront-flap flips between FRA and
    AMS every $flap_every s: PopFlapping (4 changes in 15 minutes) fires for azure-random
    about $(at $((4 * step * 3 / 2 + lag + $(for_s 120) + fires))) and for cloudfront-flap about $(at $((3 * flap_every + lag + $(for_s 120) + fires))).
  * cf-failing always answers 503 (its PoP is still identified): pop_probe_success 0, and
    PopProbeFailing about $(at $((lag + $(for_s 300) + fires))). fastly-flaky fails about 20 % of its
    probes: with the compressed for:, two failures in a row make PopProbeFailing pend for it.
  * cf-cert-expiring serves a certificate of its own that expires 10 days after cdnsim
    started: pop_probe_tls_earliest_cert_expiry_timestamp_seconds, and PopCertExpiringSoon
    (under 14 days) about $(at $((lag + $(for_s 600) + fires))). fastly-object serves a
    versioned object: pop_probe_content_version_since_timestamp_seconds names its version.
  * every other target is another CDN's header format, each identified by its CDN, and by its
    PoP where the CDN names one: akamai and netlify name none (pop="unknown"; akamai shows
    its edge address as edge_ip instead), and fastly-shield and vercel also name a shield
    or function-region PoP (shield_pop).
  All of it has happened by $(at $((2 * shift_at + lag + fires + 2))): DEMO_DURATION=60 shows it;
  each alert's changes are printed below as Prometheus reports them.

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
		'vantage_target:pop_probe_ttfb_seconds:mean5m' \
		'max by (target, pop) (vantage_target:pop_probe_ttfb_seconds:last * on(job, instance, vantage, target, ip_version, resolver) group_left(pop) pop_probe_edge_info)' \
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

# While Prometheus runs, each alert's changes are printed as they happen.
declare -A alert_seen=()
watch_alerts() {
	local name target state key now
	declare -A current=()
	while read -r name target state; do
		[[ -n $name ]] || continue
		current["$name $target"]=$state
	done < <(alert_states "$prom_port")
	now=$(date +%H:%M:%S)
	for key in "${!current[@]}"; do
		if [[ ${alert_seen[$key]:-} != "${current[$key]}" ]]; then
			log "$now ${key% *} ${current[$key]} (${key#* })"
			alert_seen[$key]=${current[$key]}
		fi
	done
	for key in "${!alert_seen[@]}"; do
		if [[ -z ${current[$key]:-} ]]; then
			log "$now ${key% *} resolved (${key#* })"
			unset "alert_seen[$key]"
		fi
	done
}

deadline=$(($(date +%s) + duration))
while true; do
	check_alive || exit 1
	[[ -z $prom_port ]] || watch_alerts
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
