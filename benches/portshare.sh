#!/usr/bin/env bash
# portshare against Debian's sslh-select (issue 4), in one run on this
# machine: both sit in front of the same nginx, with the same routes
# (ssh, tls, then http), each logging as it does by default (portshare one
# line per connection, to a file; sslh-select, in the foreground (-f),
# one line per connection to its standard error, also a file here). The
# backend is also measured directly, as the baseline.
#
# For each of direct, sslh and portshare:
#   1. wrk -H "Connection: close": connections per second;
#   2. wrk keep-alive: requests per second;
#   (for the two proxies, also their CPU time and context switches per
#   connection and per keep-alive request, from /proc/PID);
#   3. one long transfer: curl downloads TRANSFER_MIB MiB, TRANSFER_RUNS
#      times: MB/s;
#   4. latency: the median of LATENCY_SAMPLES fresh requests by curl
#      (connect + request + response), and the added latency over direct.
# ROUNDS repeats everything, rotating which target goes first; the table
# shows the median of the rounds, then portshare/sslh and portshare/direct
# with the issue's targets (>= 1.5x sslh on connections and keep-alive
# requests, >= 0.9x direct on the long transfer).
#
# Run: benches/portshare.sh   (installs wrk, sslh, nginx and curl with
# apt-get if they are missing). Settings, with their defaults:
#   DURATION=10s WARMUP=2s THREADS=2 CONNECTIONS=32 TRANSFER_MIB=2048
#   TRANSFER_RUNS=3 LATENCY_SAMPLES=50 ROUNDS=3 NGINX_WORKERS=1
#   OUT=target/portshare-bench/<time>   (logs and results.tsv)

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
for tool in wrk:wrk sslh-select:sslh nginx:nginx curl:curl; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$OUT/apt.log" 2>&1 ||
        fail "could not install ${missing[*]} (see $OUT/apt.log)"
fi
# The packages may start their own daemons; this script runs its own.
pkill -x sslh-select 2>/dev/null || true
pkill -x sslh 2>/dev/null || true

cargo build --release --quiet --example portshare
PORTSHARE=$PWD/target/release/examples/portshare

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
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

SSLH_PORT=$(free_port)
sslh-select -f -n -p "127.0.0.1:$SSLH_PORT" --ssh "127.0.0.1:$UNUSED_PORT" \
    --tls "127.0.0.1:$UNUSED_PORT" --http "127.0.0.1:$BACKEND_PORT" >"$OUT/sslh.log" 2>&1 &
PIDS+=($!)
declare -A PROXY_PID=([sslh]=$!)
wait_port "$SSLH_PORT" "sslh-select: $(cat "$OUT/sslh.log")"

PORTSHARE_PORT=$(free_port)
"$PORTSHARE" --listen "127.0.0.1:$PORTSHARE_PORT" --route "ssh=127.0.0.1:$UNUSED_PORT" \
    --route "tls=127.0.0.1:$UNUSED_PORT" --route "http1=127.0.0.1:$BACKEND_PORT" \
    >"$OUT/portshare.log" 2>&1 &
PIDS+=($!)
PROXY_PID[portshare]=$!
wait_port "$PORTSHARE_PORT" "portshare: $(cat "$OUT/portshare.log")"

port_of() {
    case $1 in
    direct) echo "$BACKEND_PORT" ;;
    sslh) echo "$SSLH_PORT" ;;
    portshare) echo "$PORTSHARE_PORT" ;;
    esac
}

# record TARGET METRIC VALUE
record() {
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

CLOCK_TICKS=$(getconf CLK_TCK)

# cpu_ticks PID: the process's user and system CPU time so far, in clock
# ticks, its exited threads included.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# context_switches PID: the voluntary and involuntary context switches of
# the process's threads alive now (a thread that has exited takes its
# count with it, so this can only undercount).
context_switches() {
    cat "/proc/$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# run_wrk TARGET METRIC [wrk arguments]: records requests per second and,
# for a proxy, its CPU time and context switches per request.
run_wrk() {
    local target=$1 metric=$2
    shift 2
    local log=$OUT/$round-$target-$metric.wrk
    local pid=${PROXY_PID[$target]:-} before=0 switches=0
    if [ -n "$pid" ]; then
        before=$(cpu_ticks "$pid")
        switches=$(context_switches "$pid")
    fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" "http://127.0.0.1:$(port_of "$target")/" >"$log"
    record "$target" "$metric" "$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    if [ -n "$pid" ]; then
        record "$target" "${metric}_cpu_us" "$(awk -v t="$(($(cpu_ticks "$pid") - before))" -v hz="$CLOCK_TICKS" \
            '/ requests in / { printf "%.1f", t * 1e6 / hz / $1 }' "$log")"
        record "$target" "${metric}_switches" "$(awk -v s="$(($(context_switches "$pid") - switches))" \
            '/ requests in / { printf "%.2f", s / $1 }' "$log")"
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

TARGETS=(direct sslh portshare)
for round in $(seq "$ROUNDS"); do
    for i in 0 1 2; do
        measure "${TARGETS[$(((i + round - 1) % 3))]}"
    done
done

value() {
    awk -F'\t' -v t="$1" -v m="$2" '$1 == t && $2 == m { print $3 }' "$RESULTS" | median
}

echo
echo "portshare vs sslh-select $(sslh-select -V 2>&1 | awk '{ print $2; exit }') in front of nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(nproc) cores, $ROUNDS round(s), medians"
printf '%-28s %12s %12s %12s %10s %10s  %s\n' metric direct sslh portshare ps/sslh ps/direct target
row() {
    local metric=$1 label=$2 target=$3
    local d s p
    d=$(value direct "$metric")
    s=$(value sslh "$metric")
    p=$(value portshare "$metric")
    awk -v l="$label" -v d="$d" -v s="$s" -v p="$p" -v t="$target" \
        'BEGIN { printf "%-28s %12s %12s %12s %10.2f %10.2f  %s\n", l, d, s, p, p / s, p / d, t }'
}
row close "connections/s (close)" "ps/sslh >= 1.5"
row keepalive "keep-alive requests/s" "ps/sslh >= 1.5"
row transfer_mbs "long transfer MB/s" "ps/direct >= 0.9"
row latency_us "fresh request latency (us)" ""
cpu_row() {
    awk -v l="$2" -v s="$(value sslh "$1")" -v p="$(value portshare "$1")" \
        'BEGIN { printf "%-28s %12s %12s %12s %10.2f\n", l, "", s, p, p / s }'
}
cpu_row close_cpu_us "proxy CPU us per connection"
cpu_row keepalive_cpu_us "proxy CPU us per request"
cpu_row close_switches "context switches per conn."
cpu_row keepalive_switches "context switches per req."
awk -v d="$(value direct latency_us)" -v s="$(value sslh latency_us)" -v p="$(value portshare latency_us)" \
    'BEGIN { printf "%-28s %12s %12d %12d\n", "added latency (us)", "", s - d, p - d }'
if grep -q _errors "$RESULTS"; then
    echo "wrk reported errors:"
    grep _errors "$RESULTS"
fi
echo "logs and raw figures: $OUT"
