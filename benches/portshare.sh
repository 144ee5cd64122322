#!/usr/bin/env bash
# portshare against Debian's two sslh builds, in one run on this machine:
# sslh-select (one select loop serving every connection) and sslh-fork
# (/usr/sbin/sslh: a process per connection, the design closest to
# portshare's threads). All three sit in front of the same nginx, with the
# same routes (ssh, tls, then http), each logging one line per connection
# as it does by default (portshare to its standard output; the two sslh,
# in the foreground (-f), to their standard error; all to files). The
# backend is also measured directly, as the baseline.
#
# For each of direct, sslh-select, sslh-fork and portshare:
#   1. wrk -H "Connection: close": connections per second;
#   2. wrk keep-alive: requests per second;
#   (for the three proxies, also their CPU time and context switches per
#   connection and per keep-alive request: perf stat -e
#   task-clock,context-switches on the proxy's processes, threads and
#   children, those that exit during the run included);
#   3. one long transfer: curl downloads TRANSFER_MIB MiB, TRANSFER_RUNS
#      times: MB/s;
#   4. latency: the median of LATENCY_SAMPLES fresh requests by curl
#      (connect + request + response), and the added latency over direct.
# ROUNDS repeats everything, rotating which target goes first; the table
# shows the median of the rounds, then portshare over each sslh and over
# direct, with the targets: connections/s >= 5x sslh-fork and >= 1.5x
# sslh-select, keep-alive >= 1.0x sslh-fork (against sslh-select it is
# reported), long transfer >= 0.9x direct, <= 4 context switches per
# connection.
#
# Run: benches/portshare.sh   (installs wrk, sslh, nginx, curl and perf
# with apt-get if they are missing). Settings, with their defaults:
#   DURATION=10s WARMUP=2s THREADS=2 CONNECTIONS=32 TRANSFER_MIB=2048
#   TRANSFER_RUNS=3 LATENCY_SAMPLES=50 ROUNDS=3 NGINX_WORKERS=1
#   OUT=target/portshare-bench/<time>   (logs and results.tsv)
#   PORTSHARE=<path>   a portshare binary to measure instead of building
#                      this tree's (to compare two versions)

set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
TRANSFER_MIB=${TRANSFER_MIB:-2048}
TRANSFER_RUNS=${TRANSFER_RUNS:-3}
LATENCY_SAMPLES=${LATENCY_SAMPLES:-50}
ROUNDS=${ROUNDS:-3}
NGINX_WORKERS=${NGINX_WORKERS:-1}
OUT=${OUT:-target/portshare-bench/$(date +%Y%m%d-%H%M%S)}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
RESULTS=$OUT/results.tsv
: >"$RESULTS"

fail() {
    echo "portshare.sh: $*" >&2
    exit 1
}

missing=()
for tool in wrk:wrk sslh:sslh sslh-select:sslh nginx:nginx curl:curl perf:linux-perf; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$OUT/apt.log" 2>&1 ||
        fail "could not install ${missing[*]} (see $OUT/apt.log)"
fi
# Debian's sslh package ships both builds: sslh is the forking one. (A
# daemon the package may have started listens on its own port, not on the
# free ones chosen below.)
sslh -V 2>&1 | grep -q '^sslh-fork' || fail "sslh is not sslh-fork: $(sslh -V 2>&1 | head -1)"

if [ -z "${PORTSHARE:-}" ]; then
    cargo build --release --quiet --example portshare
    PORTSHARE=$PWD/target/release/examples/portshare
fi

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        # sslh-fork's children too.
        kill $(process_tree "$pid" | tr , ' ') 2>/dev/null || true
    done
    [ -f "$OUT/nginx.pid" ] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# A port nobody listens on now (sslh and nginx cannot report the port they
# were given by the kernel, so each gets a free one chosen here).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "nothing listens on port $1: $2"
}

# The backend: nginx with one small page and one large file.
BACKEND_PORT=$(free_port)
mkdir -p "$OUT/www"
printf 'hello\n' >"$OUT/www/index.html"
truncate -s "${TRANSFER_MIB}M" "$OUT/www/big"
cat >"$OUT/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $OUT/nginx-tmp;
    proxy_temp_path $OUT/nginx-tmp;
    fastcgi_temp_path $OUT/nginx-tmp;
    uwsgi_temp_path $OUT/nginx-tmp;
    scgi_temp_path $OUT/nginx-tmp;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        root $OUT/www;
    }
}
EOF
nginx -c "$OUT/nginx.conf" -p "$OUT" 2>"$OUT/nginx-start.log" || fail "nginx: $(cat "$OUT/nginx-start.log")"
wait_port "$BACKEND_PORT" nginx

# The routes that come before http in both: nothing listens behind them,
# and no benchmark connection goes there.
UNUSED_PORT=$(free_port)

# start_sslh NAME BINARY: sslh-select or sslh-fork, with the same routes.
declare -A PROXY_PID PROXY_PORT
start_sslh() {
    local port
    port=$(free_port)
    "$2" -f -n -p "127.0.0.1:$port" --ssh "127.0.0.1:$UNUSED_PORT" \
        --tls "127.0.0.1:$UNUSED_PORT" --http "127.0.0.1:$BACKEND_PORT" >"$OUT/$1.log" 2>&1 &
    PIDS+=($!)
    PROXY_PID[$1]=$!
    PROXY_PORT[$1]=$port
    wait_port "$port" "$1: $(cat "$OUT/$1.log")"
}
start_sslh select sslh-select
start_sslh fork sslh

PROXY_PORT[portshare]=$(free_port)
"$PORTSHARE" --listen "127.0.0.1:${PROXY_PORT[portshare]}" --route "ssh=127.0.0.1:$UNUSED_PORT" \
    --route "tls=127.0.0.1:$UNUSED_PORT" --route "http1=127.0.0.1:$BACKEND_PORT" \
    >"$OUT/portshare.log" 2>&1 &
PIDS+=($!)
PROXY_PID[portshare]=$!
wait_port "${PROXY_PORT[portshare]}" "portshare: $(cat "$OUT/portshare.log")"

port_of() {
    case $1 in
    direct) echo "$BACKEND_PORT" ;;
    *) echo "${PROXY_PORT[$1]}" ;;
    esac
}

# record TARGET METRIC VALUE
record() {
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# process_tree PID: PID and its descendants now, comma-separated (sslh-fork
# runs a listening child, which forks one process per connection; perf
# counts the processes forked after it attached in their parent's count).
process_tree() {
    local pids=$1 child
    for child in $(pgrep -P "$1"); do
        pids+=,$(process_tree "$child")
    done
    echo "$pids"
}

# run_wrk TARGET METRIC [wrk arguments]: records requests per second and,
# for a proxy, its CPU time and context switches per request.
run_wrk() {
    local target=$1 metric=$2
    shift 2
    local log=$OUT/$round-$target-$metric.wrk
    local pid=${PROXY_PID[$target]:-} perf_pid=
    if [ -n "$pid" ]; then
        perf stat -e task-clock,context-switches -x, -o "$log.perf" -p "$(process_tree "$pid")" &
        perf_pid=$!
        sleep 0.2
    fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" "http://127.0.0.1:$(port_of "$target")/" >"$log"
    record "$target" "$metric" "$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
        local requests
        requests=$(awk '/ requests in / { print $1 }' "$log")
        record "$target" "${metric}_cpu_us" "$(awk -F, -v n="$requests" \
            '$3 == "task-clock" { printf "%.1f", $1 * 1000 / n }' "$log.perf")"
        record "$target" "${metric}_switches" "$(awk -F, -v n="$requests" \
            '$3 == "context-switches" { printf "%.2f", $1 / n }' "$log.perf")"
    fi
    if grep -qE 'Socket errors|Non-2xx' "$log"; then
        record "$target" "${metric}_errors" "$(grep -E 'Socket errors|Non-2xx' "$log" | tr '\n' ' ')"
    fi
}

measure() {
    local target=$1 port
    port=$(port_of "$target")
    echo "== round $round: $target"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Connection: close" "http://127.0.0.1:$port/" >/dev/null
    run_wrk "$target" close -H "Connection: close"
    run_wrk "$target" keepalive
    local run speed
    for run in $(seq "$TRANSFER_RUNS"); do
        speed=$(curl -s -o /dev/null -w '%{speed_download} %{size_download}\n' "http://127.0.0.1:$port/big")
        [ "${speed#* }" = "$((TRANSFER_MIB * 1048576))" ] ||
            fail "$target: the transfer was cut short (${speed#* } bytes)"
        record "$target" transfer_mbs "$(awk -v b="${speed%% *}" 'BEGIN { printf "%.1f", b / 1e6 }')"
    done
    local latency
    latency=$(for _ in $(seq "$LATENCY_SAMPLES"); do
        curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/"
    done | median)
    record "$target" latency_us "$(awk -v s="$latency" 'BEGIN { printf "%.0f", s * 1e6 }')"
}

TARGETS=(direct select fork portshare)
for round in $(seq "$ROUNDS"); do
    for i in "${!TARGETS[@]}"; do
        measure "${TARGETS[$(((i + round - 1) % ${#TARGETS[@]}))]}"
    done
done

value() {
    awk -F'\t' -v t="$1" -v m="$2" '$1 == t && $2 == m { print $3 }' "$RESULTS" | median
}

echo
echo "portshare vs sslh $(sslh -V 2>&1 | awk '{ print $2; exit }') (select and fork) in front of nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(nproc) cores, $ROUNDS round(s), medians"
printf '%-28s %10s %10s %10s %10s %9s %9s %9s  %s\n' \
    metric direct select fork portshare ps/select ps/fork ps/direct target
# row METRIC LABEL TARGET: a figure of all four, and portshare's ratios.
row() {
    awk -v l="$2" -v d="$(value direct "$1")" -v s="$(value select "$1")" -v f="$(value fork "$1")" \
        -v p="$(value portshare "$1")" -v t="$3" 'function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
        BEGIN { printf "%-28s %10s %10s %10s %10s %9s %9s %9s  %s\n", l, d, s, f, p, ratio(p, s), ratio(p, f), ratio(p, d), t }'
}
row close "connections/s (close)" "ps/fork >= 5, ps/select >= 1.5"
row keepalive "keep-alive requests/s" "ps/fork >= 1.0"
row transfer_mbs "long transfer MB/s" "ps/direct >= 0.9"
row latency_us "fresh request latency (us)" ""
row close_cpu_us "proxy CPU us per connection" ""
row keepalive_cpu_us "proxy CPU us per request" ""
row close_switches "context switches per conn." "portshare <= 4"
row keepalive_switches "context switches per req." ""
awk -v d="$(value direct latency_us)" -v s="$(value select latency_us)" -v f="$(value fork latency_us)" \
    -v p="$(value portshare latency_us)" \
    'BEGIN { printf "%-28s %10s %10d %10d %10d\n", "added latency (us)", "", s - d, f - d, p - d }'
if grep -q _errors "$RESULTS"; then
    echo "wrk reported errors:"
    grep _errors "$RESULTS"
fi
echo "logs and raw figures: $OUT"
