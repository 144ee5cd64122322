#!/usr/bin/env bash
# Loopback load test: connmux serving inline routes
# (examples/bench_server --mode mux) against one thread per connection
# (--mode raw) and against Go's cmux (benches/gocmux, mode gocmux: cmux's
# HTTP2, HTTP1Fast, "SINK" prefix and Any routes, a goroutine per
# connection, built here from Debian's golang-go and
# golang-github-soheilhy-cmux-dev), all three with the same handlers, in
# one run on this machine.
#
# For each mode:
#   1. wrk with "Connection: close": connections per second, and the
#      server's CPU time (utime + stime from /proc/PID/stat) and context
#      switches (perf stat) per connection;
#   2. wrk with keep-alive: requests per second (and server CPU and
#      context switches per request);
#   3. on a fresh server, IDLE_CONNECTIONS connections that send nothing
#      (in mux mode each is sniffing, in raw mode each holds a thread blocked
#      in read, under Go's cmux each holds a goroutine blocked in its
#      sniff), opened by as many client processes of at most
#      IDLE_PER_CLIENT connections as it takes: the server's VmRSS, memory
#      maps and threads per idle connection, the kernel's stacks, page
#      tables and slab per idle connection (the whole machine's, both ends
#      of each connection), and the median time curl takes for one fresh
#      request while they are held (from a source port above the kernel's
#      ephemeral range, and from one the kernel picks); the server's
#      resident memory by mapping size goes to
#      OUT/<round>-<mode>-idle-smaps.txt;
#   4. TRANSFER_BYTES sent through one connection to a handler that
#      discards them (mux: a PeekableStream after the replay; raw: the
#      TcpStream; gocmux: cmux's MuxConn after its replay),
#      TRANSFER_RUNS times per mode, the modes alternating, each on a
#      fresh server: MB/s (median, best run), server CPU per GiB, and the
#      median ratio of each mux run to the raw and the Go cmux run of the
#      same turn; once placed by the scheduler, once pinned (server on
#      CPU 0, client on CPU 1; needs taskset and 2 CPUs).
# Then one table: each figure for each mode, mux/raw, mux/gocmux, and the
# targets. The load generators share the machine with the server, so the
# figures are noisy: ROUNDS repeats everything, alternating which mode goes
# first, and the table shows the median of the rounds (for the transfer,
# of every run; its best run shows what the path allows when nothing else
# competes for the CPU).
#
# Run: benches/loopback.sh   (as root, or with a hard descriptor limit of
# at least IDLE_CONNECTIONS + 256 and the system limits below high enough;
# it installs wrk, and Go and cmux for the gocmux mode, with apt-get when
# they are missing). Every idle connection holds a thread in the connmux
# modes: as root the script raises vm.max_map_count and kernel.pid_max
# when they are too low for that many threads, and writes the old values
# back when it ends. Settings, with their defaults:
#   DURATION=10s WARMUP=2s THREADS=2 CONNECTIONS=32 IDLE_CONNECTIONS=19000
#   IDLE_PER_CLIENT=10000
#   LATENCY_SAMPLES=20 TRANSFER_BYTES=4294967296 TRANSFER_RUNS=5
#   ROUNDS=1 MODES="mux raw gocmux" OUT=target/loopback/<time>
#   (OUT holds the logs and results.tsv; the Go server is built to
#   target/loopback/gocmux)

set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-19000}
IDLE_PER_CLIENT=${IDLE_PER_CLIENT:-10000}
LATENCY_SAMPLES=${LATENCY_SAMPLES:-20}
TRANSFER_BYTES=${TRANSFER_BYTES:-4294967296}
TRANSFER_RUNS=${TRANSFER_RUNS:-5}
ROUNDS=${ROUNDS:-1}
MODES=${MODES:-mux raw gocmux}
OUT=${OUT:-target/loopback/$(date +%Y%m%d-%H%M%S)}
BIN=target/release/examples/bench_server
GO_BIN=target/loopback/gocmux
# Where Debian's golang-*-dev packages put Go libraries: a GOPATH.
DEBIAN_GOPATH=/usr/share/gocode

mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
: >"$RESULTS"

fail() {
    echo "loopback.sh: $*" >&2
    exit 1
}

# Each idle connection is one descriptor in the server and one in a client
# process; the clients split them, so that no process needs more
# descriptors than the server (whose hard limit may not be raised: 20,000
# per process on the project's machine, even for root).
server_fds=$((IDLE_CONNECTIONS + 256))
client_fds=$((IDLE_PER_CLIENT + 256))
wanted_fds=$((server_fds > client_fds ? server_fds : client_fds))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$wanted_fds" ]; then
    ulimit -Hn "$wanted_fds" 2>/dev/null ||
        fail "need a hard descriptor limit of $wanted_fds (ulimit -Hn is $(ulimit -Hn))"
fi
ulimit -n "$wanted_fds"

# Old values of the system limits raised below, as NAME=VALUE, written back
# when the script ends.
RAISED_SYSCTLS=()

# raise_sysctl NAME WANTED: raises the system limit NAME (vm.max_map_count)
# to WANTED if it is lower; says so, and warns when it cannot.
raise_sysctl() {
    local name=$1 wanted=$2 path=/proc/sys/${1//.//} current
    current=$(cat "$path")
    [ "$current" -lt "$wanted" ] || return 0
    if echo "$wanted" 2>/dev/null >"$path"; then
        RAISED_SYSCTLS+=("$name=$current")
        echo "loopback.sh: raised $name from $current to $wanted for $IDLE_CONNECTIONS idle threads (written back at the end)"
    else
        echo "loopback.sh: $name is $current, below the $wanted that $IDLE_CONNECTIONS idle threads need (run as root to raise it): the mux server will wait at its thread ceiling, and the raw server may abort" >&2
    fi
}

# Installs Debian packages, reading the package lists first if they are
# too old to have them (a fresh machine may have none).
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null 2>&1 ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null; } ||
        fail "apt-get could not install $*"
}

command -v wrk >/dev/null || apt_install wrk
command -v perf >/dev/null || apt_install linux-perf
command -v curl >/dev/null || fail "curl is missing"

cargo build --release --example bench_server
case " $MODES " in
*" gocmux "*)
    if ! command -v go >/dev/null || [ ! -d "$DEBIAN_GOPATH/src/github.com/soheilhy/cmux" ]; then
        apt_install golang-go golang-github-soheilhy-cmux-dev
    fi
    # GOPATH mode: the packages bring cmux and golang.org/x/net as source,
    # without module versions, and nothing is fetched.
    mkdir -p "$(dirname "$GO_BIN")"
    GO111MODULE=off GOPATH=$DEBIAN_GOPATH GOFLAGS= GOPROXY=off go build -o "$GO_BIN" ./benches/gocmux
    ;;
esac
CLOCK_TICKS=$(getconf CLK_TCK)

# Launch prefixes that pin the server and the transfer client to CPUs
# (empty: the scheduler places them).
SERVER_CPUS=()
CLIENT_CPUS=()

SERVER_PID=
CLIENT_PIDS=
cleanup() {
    local raised
    for pid in $CLIENT_PIDS $SERVER_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for raised in "${RAISED_SYSCTLS[@]}"; do
        echo "${raised#*=}" >"/proc/sys/$(echo "${raised%%=*}" | tr . /)" &&
            echo "loopback.sh: wrote $raised back"
    done
}
trap cleanup EXIT

# Each thread takes about 4 memory maps (its stack and guard page, its
# signal stack and guard page; std aborts the process when it cannot map
# them) and one task of the whole system's kernel.pid_max, and connmux's
# pool keeps an eighth of each limit in reserve: 5 maps a thread covers
# both, and the tasks already running count against pid_max.
tasks_running=$(awk '{ split($4, tasks, "/"); print tasks[2] }' /proc/loadavg)
raise_sysctl vm.max_map_count $(((IDLE_CONNECTIONS + 1024) * 5))
raise_sysctl kernel.pid_max $(((tasks_running + IDLE_CONNECTIONS + 1024) * 8 / 7 + 1))

# Starts the server in mode $1 for phase $2; sets SERVER_PID and ADDR.
start_server() {
    local log=$OUT/$round-$1-$2-server.out
    local command=("$BIN" --mode "$1")
    [ "$1" = mux ] && command+=(--max-connections "$((IDLE_CONNECTIONS + 64))")
    [ "$1" = gocmux ] && command=("$GO_BIN")
    # Emptied here, not by the child's redirection, which may come after
    # the first look below.
    : >"$log"
    "${SERVER_CPUS[@]}" "${command[@]}" --addr 127.0.0.1:0 >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        ADDR=$(sed -n 's/^addr=\([^ ]*\) .*/\1/p' "$log")
        [ -n "$ADDR" ] && return
        sleep 0.1
    done
    fail "the $1 server did not start: $(cat "$log")"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# The server's CPU time so far (user + system, all threads, exited ones
# included), in microseconds.
cpu_us() {
    # Fields after "pid (comm) ": state is 1, utime 12, stime 13.
    sed 's/^.*) //' "/proc/$SERVER_PID/stat" |
        awk -v hz="$CLOCK_TICKS" '{ printf "%.0f", ($12 + $13) * 1e6 / hz }'
}

status_field() {
    awk -v field="$1:" '$1 == field { print $2 }' "/proc/$SERVER_PID/status"
}

# How many descriptors the server has open.
open_descriptors() {
    find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

memory_maps() {
    wc -l <"/proc/$SERVER_PID/maps"
}

# A field of /proc/meminfo, in KiB: the whole machine's.
meminfo_kib() {
    awk -v field="$1:" '$1 == field { print $2 }' /proc/meminfo
}

# What the mux server said about its thread ceiling and failed accepts.
server_events() {
    grep '^event:' "$OUT/$round-mux-idle-server.out" 2>/dev/null | sort | uniq -c | head -5 || true
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# record MODE METRIC VALUE
record() {
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}

# Runs wrk against the server (extra arguments go to wrk); records
# requests per second, server CPU microseconds per request and the
# server's context switches per request (perf stat over all its threads)
# as METRIC_rate, METRIC_cpu and METRIC_switches.
run_wrk() {
    local mode=$1 metric=$2
    shift 2
    local log=$OUT/$round-$mode-$metric.wrk
    local before after requests perf_pid
    # perf warns of threads that exit before it attaches to them: harmless,
    # and threads started later are counted through their parent.
    perf stat -e context-switches -x, -o "$log.perf" -p "$SERVER_PID" 2>/dev/null &
    perf_pid=$!
    before=$(cpu_us)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" "http://$ADDR/" >"$log"
    after=$(cpu_us)
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    requests=$(awk '/requests in/ { print $1 }' "$log")
    record "$mode" "${metric}_switches" "$(awk -F, -v n="$requests" \
        '$3 == "context-switches" { printf "%.2f", $1 / n }' "$log.perf")"
    record "$mode" "${metric}_rate" "$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    record "$mode" "${metric}_cpu" "$(awk -v c=$((after - before)) -v n="$requests" 'BEGIN { printf "%.2f", c / n }')"
    record "$mode" "${metric}_errors" "$(awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }' "$log")"
}

measure_wrk() {
    local mode=$1
    start_server "$mode" wrk
    echo "== $mode: wrk (warm-up $WARMUP, then $DURATION with Connection: close, $DURATION keep-alive)"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Connection: close" "http://$ADDR/" >/dev/null
    run_wrk "$mode" close -H "Connection: close"
    run_wrk "$mode" keepalive
    stop_server
}

# The fresh request's source port: one above the kernel's ephemeral range
# when there is room, as a client on another machine would have. Choosing
# one inside it, the client's kernel walks past every port the idle
# clients hold to this server (19,000 of 28,232 take it about 2 ms).
read -r _ ephemeral_last </proc/sys/net/ipv4/ip_local_port_range
FRESH_PORT_OPTION=()
[ "$ephemeral_last" -lt 65000 ] && FRESH_PORT_OPTION=(--local-port "$((ephemeral_last + 1))-65535")

# The median time of LATENCY_SAMPLES fresh requests, in ms; extra
# arguments go to curl.
fresh_latency_ms() {
    local latency
    latency=$(for _ in $(seq "$LATENCY_SAMPLES"); do
        curl -s -o /dev/null -w '%{time_total}\n' "$@" "http://$ADDR/"
    done | median)
    awk -v s="$latency" 'BEGIN { printf "%.3f", s * 1000 }'
}

# The growth from $1 to $2, per idle connection.
per_connection() {
    awk -v a="$1" -v b="$2" -v n="$IDLE_CONNECTIONS" 'BEGIN { printf "%.2f", (b - a) / n }'
}

measure_idle() {
    local mode=$1
    start_server "$mode" idle
    sleep 0.5
    local rss_before threads_before descriptors_before maps_before rss_held field
    local -A kernel_before
    rss_before=$(status_field VmRSS)
    threads_before=$(status_field Threads)
    descriptors_before=$(open_descriptors)
    maps_before=$(memory_maps)
    for field in KernelStack PageTables Slab; do
        kernel_before[$field]=$(meminfo_kib "$field")
    done
    local clients=$(((IDLE_CONNECTIONS + IDLE_PER_CLIENT - 1) / IDLE_PER_CLIENT))
    local client count left=$IDLE_CONNECTIONS logs=()
    echo "== $mode: $IDLE_CONNECTIONS idle connections from $clients client process(es)"
    for client in $(seq "$clients"); do
        count=$((left / (clients - client + 1)))
        left=$((left - count))
        logs+=("$OUT/$round-$mode-idle-$client.out")
        : >"${logs[-1]}"
        "$BIN" --mode idle --addr "$ADDR" --count "$count" >"${logs[-1]}" 2>&1 &
        CLIENT_PIDS="$CLIENT_PIDS $!"
    done
    local waited=0 pid
    until [ "$(cat "${logs[@]}" | grep -c '^held')" = "$clients" ]; do
        for pid in $CLIENT_PIDS; do
            kill -0 "$pid" 2>/dev/null ||
                fail "an idle client stopped: $(cat "${logs[@]}"); the server said: $(server_events)"
        done
        sleep 0.2
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || fail "the idle clients did not connect within 120 s; the server said: $(server_events)"
    done
    # Every held connection has a thread in connmux's modes (a sniffer, or
    # its own), and a goroutine under Go's cmux, which shows only as an
    # accepted descriptor.
    local taken=(status_field Threads) before=$threads_before
    if [ "$mode" = gocmux ]; then
        taken=(open_descriptors)
        before=$descriptors_before
    fi
    waited=0
    until [ "$("${taken[@]}")" -ge $((before + IDLE_CONNECTIONS)) ]; do
        sleep 0.2
        waited=$((waited + 1))
        [ "$waited" -lt 300 ] || fail "the $mode server took fewer than $IDLE_CONNECTIONS connections within 60 s; the server said: $(server_events)"
    done
    sleep 1
    rss_held=$(status_field VmRSS)
    record "$mode" idle_rss_kib "$(per_connection "$rss_before" "$rss_held")"
    record "$mode" idle_threads "$(status_field Threads)"
    record "$mode" idle_maps "$(per_connection "$maps_before" "$(memory_maps)")"
    record "$mode" idle_kernel_stack_kib "$(per_connection "${kernel_before[KernelStack]}" "$(meminfo_kib KernelStack)")"
    record "$mode" idle_page_tables_kib "$(per_connection "${kernel_before[PageTables]}" "$(meminfo_kib PageTables)")"
    record "$mode" idle_slab_kib "$(per_connection "${kernel_before[Slab]}" "$(meminfo_kib Slab)")"
    # Resident KiB by mapping size: the threads' stacks and signal stacks
    # are the mappings repeated once per thread.
    awk '/^Size:/ { size = $2 } /^Rss:/ { maps[size]++; rss[size] += $2 }
        END { for (s in maps) printf "%10d KiB mappings: %7d, resident %10d KiB (%.2f KiB each)\n", s, maps[s], rss[s], rss[s] / maps[s] }' \
        "/proc/$SERVER_PID/smaps" | sort -k6,6nr | head -12 >"$OUT/$round-$mode-idle-smaps.txt"
    record "$mode" thread_ceiling_events "$(grep -c 'as many as the system allows' "$OUT/$round-$mode-idle-server.out" || true)"
    record "$mode" fresh_latency_ms "$(fresh_latency_ms "${FRESH_PORT_OPTION[@]}")"
    record "$mode" fresh_latency_ephemeral_ms "$(fresh_latency_ms)"
    for pid in $CLIENT_PIDS; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    CLIENT_PIDS=
    stop_server
}

# The modes of $MODES, reversed when $1 is even.
modes_in_turn() {
    if [ $(($1 % 2)) = 0 ]; then
        echo "$MODES" | tr ' ' '\n' | tac | tr '\n' ' '
    else
        echo "$MODES"
    fi
}

# TRANSFER_RUNS runs of each mode, alternating, each on a fresh server (the
# threads of the idle connections would otherwise still be exiting: mux
# sniffer threads linger for the idle timeout). A mux run and the raw run
# of the same turn form a pair, as do a mux run and the gocmux run, and
# the table's ratios are the medians of the pairs' ratios: the machine's
# drift from one moment to the next touches both halves of a pair alike.
# The server's CPU time per GiB is recorded too.
#
# $1 is "free" (the scheduler places server and client) or "pinned"
# (server on CPU 0, client on CPU 1): where the scheduler puts the sink's
# thread relative to the sender changes the speed and the server's CPU
# time by more than the path through the mux does, so the pinned runs
# compare the two paths alone.
measure_transfers() {
    local placement=$1 run mode speed before after
    local -A speed_of
    if [ "$placement" = pinned ]; then
        SERVER_CPUS=(taskset -c 0)
        CLIENT_CPUS=(taskset -c 1)
    fi
    echo "== $TRANSFER_RUNS x $TRANSFER_BYTES bytes to the sink, per mode, alternating, $placement"
    for run in $(seq "$TRANSFER_RUNS"); do
        speed_of=()
        for mode in $(modes_in_turn "$run"); do
            start_server "$mode" "transfer-$placement"
            before=$(cpu_us)
            speed=$("${CLIENT_CPUS[@]}" "$BIN" --mode send --addr "$ADDR" --bytes "$TRANSFER_BYTES" | tee -a "$OUT/$round-$mode-transfer-$placement.out")
            after=$(cpu_us)
            stop_server
            speed_of[$mode]=${speed##*MBps=}
            record "$mode" "transfer_${placement}_mbps" "${speed_of[$mode]}"
            record "$mode" "transfer_${placement}_cpu_ms_per_gib" "$(awk -v c=$((after - before)) -v b="$TRANSFER_BYTES" 'BEGIN { printf "%.1f", c / 1000 / (b / 1073741824) }')"
        done
        for other in raw gocmux; do
            if [ -n "${speed_of[mux]:-}" ] && [ -n "${speed_of[$other]:-}" ]; then
                record "pair_$other" "transfer_${placement}_ratio" "$(awk -v a="${speed_of[mux]}" -v b="${speed_of[$other]}" 'BEGIN { printf "%.3f", a / b }')"
            fi
        done
    done
    SERVER_CPUS=()
    CLIENT_CPUS=()
}

for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS"
    for mode in $(modes_in_turn "$round"); do
        measure_wrk "$mode"
        measure_idle "$mode"
    done
    measure_transfers free
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        measure_transfers pinned
    fi
done

# The median over the rounds of metric $2 in mode $1.
value() {
    awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k { print $3 }' "$RESULTS" | { grep . || true; } | median
}

# The largest value of metric $2 in mode $1.
best() {
    awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k && (n++ == 0 || $3 + 0 > max) { max = $3 + 0 } END { if (n) print max }' "$RESULTS"
}

# A / B to three places, or "-" when either is missing.
ratio() {
    awk -v a="${1:-nan}" -v b="${2:-nan}" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.3f", a / b; else print "-" }'
}

LINE='%-44s %10s %10s %10s %8s %10s  %s\n'

# row LABEL METRIC TARGET [best]
row() {
    local mux raw gocmux pick=${4:-value}
    mux=$($pick mux "$2")
    raw=$($pick raw "$2")
    gocmux=$($pick gocmux "$2")
    printf "$LINE" "$1" "${mux:--}" "${raw:--}" "${gocmux:--}" \
        "$(ratio "$mux" "$raw")" "$(ratio "$mux" "$gocmux")" "$3"
}

echo
echo "loopback: $(nproc) CPUs, $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $IDLE_CONNECTIONS idle connections, $TRANSFER_BYTES-byte transfers; logs in $OUT"
printf "$LINE" metric mux raw gocmux mux/raw mux/gocmux target
row "connections/s (Connection: close)" close_rate "mux/raw >= 1.0, mux/gocmux >= 1.2"
row "server CPU us per connection" close_cpu "mux/raw <= 1.0, mux/gocmux <= 0.8"
row "keep-alive requests/s" keepalive_rate "mux/raw >= 0.98"
row "server CPU us per keep-alive request" keepalive_cpu ""
row "context switches per connection" close_switches ""
row "context switches per keep-alive request" keepalive_switches ""
row "RSS KiB per idle connection" idle_rss_kib "mux <= 10"
row "server threads, idle connections held" idle_threads "mux: one per connection"
row "server memory maps per idle connection" idle_maps ""
row "kernel stack KiB per idle connection" idle_kernel_stack_kib ""
row "page tables KiB per idle connection" idle_page_tables_kib ""
row "slab KiB per idle connection, both ends" idle_slab_kib ""
row "fresh request ms, idle connections held" fresh_latency_ms "mux < 5"
row "the same, source port from the kernel" fresh_latency_ephemeral_ms ""
row "waits at the thread ceiling, idle phase" thread_ceiling_events ""
# The target is judged on the pinned runs, which compare the paths alone.
for placement in free pinned; do
    [ -n "$(value pair_raw "transfer_${placement}_ratio")$(value pair_gocmux "transfer_${placement}_ratio")" ] || continue
    target=""
    [ "$placement" = pinned ] && target="mux/raw >= 0.98"
    row "transfer ($placement) MB/s, median" "transfer_${placement}_mbps" ""
    row "transfer ($placement) MB/s, best run" "transfer_${placement}_mbps" "" best
    row "transfer ($placement) server CPU ms/GiB" "transfer_${placement}_cpu_ms_per_gib" ""
    pair_raw=$(value pair_raw "transfer_${placement}_ratio")
    pair_gocmux=$(value pair_gocmux "transfer_${placement}_ratio")
        printf "$LINE" "transfer ($placement), median of paired runs" "" "" "" \
        "${pair_raw:--}" "${pair_gocmux:--}" "$target"
done
for mode in $MODES; do
    for metric in close keepalive; do
        awk -F'\t' -v m="$mode" -v k="${metric}_errors" -v label="$mode $metric wrk:" \
            '$1 == m && $2 == k && $3 ~ /[^ ]/ { print label, $3 }' "$RESULTS"
    done
done
