#!/usr/bin/env bash
# portshare interop with real software: examples/portshare listens on one
# loopback port in front of real servers (Python's http.server, nghttpd,
# two pairs of openssl s_server, sshd, redis-server, a grpcio server, a
# server-first banner server), and real clients (curl, openssl s_client,
# ssh, redis-cli, a grpcio client) must get their answers through it. A
# second portshare sits between HAProxy (sending PROXY v2) or nginx's
# stream module (PROXY v1) and a backend that reads the PROXY v1 line
# portshare sends; a third believes only 127.0.0.1, and curl's own PROXY
# header from 127.0.0.2 must be refused. HAProxy terminating TLS sends
# PROXY v2 with its TLVs (authority, ALPN, unique ID, SSL, CRC32C) to a
# portshare that relays them to a backend checking each, and a wrong
# CRC32C is refused; a route by client address takes curl from 127.0.0.2
# only. Garbage and a client reset mid-ClientHello must leave the port
# serving.
#
# Installs what is missing (apt-get, pip; needs root for apt and sshd), so
# a case whose tool cannot be installed fails rather than being skipped.
# Prints "ok CASE (MS ms)" or "FAIL CASE: WHY" per case and exits non-zero
# if any failed. PYTHON picks the interpreter (default python3).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
HELPER=$ROOT/tests/interop/portshare_helper.py
PATH=$PATH:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive
# Clients talk to loopback addresses: no proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

now_ms() { date +%s%3N; }
script_start=$(now_ms)

# --- installs ---------------------------------------------------------------

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null 2>&1
        apt_updated=yes
    fi
    apt-get install -y -qq "$@" >/dev/null 2>&1
}

# need TOOL PACKAGE: installs PACKAGE when TOOL is missing.
need() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2" || true
}
have() {
    local tool
    for tool in "$@"; do
        case $tool in
        grpcio) "$PYTHON" -c 'import grpc' 2>/dev/null || return 1 ;;
        *) command -v "$tool" >/dev/null 2>&1 || return 1 ;;
        esac
    done
}

install_start=$(now_ms)
command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3 || true
# The interpreter itself rather than a wrapper (a pyenv shim costs half a
# second per start on a busy machine).
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
need curl curl
need openssl openssl
need nghttpd nghttp2-server
need sshd openssh-server
need ssh openssh-client
need ssh-keygen openssh-client
need redis-server redis-server
need redis-cli redis-tools
need haproxy haproxy
need nginx nginx
# nginx's stream module, which sends the PROXY protocol, is a package of
# its own on Debian.
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || apt_install libnginx-mod-stream || true
if ! have grpcio; then
    "$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip || true
    # A Debian system Python refuses pip installs unless told otherwise
    # (PEP 668); a virtualenv or pyenv Python takes the first form.
    "$PYTHON" -m pip install --quiet grpcio >/dev/null 2>&1 ||
        "$PYTHON" -m pip install --quiet --break-system-packages grpcio >/dev/null 2>&1 ||
        true
fi
install_ms=$(($(now_ms) - install_start))

versions() {
    echo "versions:"
    have "$PYTHON" && echo "  $("$PYTHON" --version 2>&1)"
    have grpcio && echo "  grpcio $("$PYTHON" -c 'import grpc; print(grpc.__version__)')"
    have curl && echo "  $(curl --version | head -n 1)"
    have openssl && echo "  $(openssl version)"
    have nghttpd && echo "  $(nghttpd --version 2>&1 | head -n 1)"
    have ssh && echo "  $(ssh -V 2>&1) (client and sshd)"
    have redis-server && echo "  $(redis-server --version)"
    have redis-cli && echo "  $(redis-cli --version)"
    have haproxy && echo "  $(haproxy -v | head -n 1)"
    have nginx && echo "  $(nginx -v 2>&1) (stream module for PROXY)"
}
versions

build_start=$(now_ms)
if ! cargo build --release --quiet --example portshare; then
    echo "FAIL build: cargo build --release --example portshare failed"
    exit 1
fi
PORTSHARE=$ROOT/target/release/examples/portshare
build_ms=$(($(now_ms) - build_start))

# --- processes ----------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portshare-interop.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        # Up to a second each for a clean exit, then SIGKILL.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: runs COMMAND in the background, output in
# $tmp/NAME.log, and remembers its PID for the cleanup.
start() {
    local name=$1
    shift
    # Created here, not by the background job: waits look for this file.
    : >"$tmp/$name.log"
    "$@" >>"$tmp/$name.log" 2>&1 </dev/null &
    pids+=($!)
}

# listening_port NAME: waits (up to 10 s) for the "listening on
# HOST:PORT" line of a server started as NAME and prints PORT.
listening_port() {
    local line
    [ -f "$tmp/$1.log" ] || return 1
    for _ in $(seq 100); do
        line=$(grep -m 1 -o 'listening on 127\.0\.0\.1:[0-9]*' "$tmp/$1.log" 2>/dev/null)
        if [ -n "$line" ]; then
            echo "${line##*:}"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# wait_port PORT: waits (up to 10 s) until PORT accepts connections.
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# log_tail NAME: the last lines of a server's log, indented.
log_tail() { tail -n "${2:-5}" "$tmp/$1.log" 2>/dev/null | sed 's/^/    | /'; }

# --- cases ----------------------------------------------------------------------

failures=0
case_name=""
case_start=0
run_case() {
    case_name=$1
    shift
    case_start=$(now_ms)
    "$@"
}
ok() { echo "ok $case_name ($(($(now_ms) - case_start)) ms)"; }
fail() {
    echo "FAIL $case_name: $1"
    shift
    for detail in "$@"; do printf '%s\n' "$detail"; done
    failures=$((failures + 1))
}
# requires TOOL...: fails the case when a tool could not be installed.
requires() {
    local tool
    for tool in "$@"; do
        if ! have "$tool"; then
            fail "$tool is not installed and could not be installed"
            return 1
        fi
    done
}

# --- backends -----------------------------------------------------------------

servers_start=$(now_ms)
read -r -a ports <<<"$("$PYTHON" "$HELPER" free-ports 11 | tr '\n' ' ')"
web_port=${ports[0]} nghttpd_port=${ports[1]} sshd_port=${ports[2]} redis_port=${ports[3]}
tls_alpha_port=${ports[4]} tls_beta_port=${ports[5]} tls_h2_port=${ports[6]}
tls_h11_port=${ports[7]} haproxy_port=${ports[8]} nginx_stream_port=${ports[9]}
haproxy_tls_port=${ports[10]}

# A document root with a known file, for both web servers.
mkdir -p "$tmp/www"
web_body="portshare interop $$ $(date +%s%N)"
printf '%s\n' "$web_body" >"$tmp/www/known.txt"

start web "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$web_port"

have nghttpd && start nghttpd nghttpd --no-tls -a 127.0.0.1 -d "$tmp/www" "$nghttpd_port"

# Four TLS servers, one certificate each, so that the subject a client
# reports names the server it reached.
if have openssl; then
    for name in alpha beta h2 h11 lb; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -days 2 -subj "/CN=$name.interop" \
            -keyout "$tmp/tls-$name.key" -out "$tmp/tls-$name.crt" >/dev/null 2>&1
    done
    tls_server() { # NAME PORT [ALPN]
        start "tls-$1" openssl s_server -accept "127.0.0.1:$2" -www \
            -cert "$tmp/tls-$1.crt" -key "$tmp/tls-$1.key" ${3:+-alpn "$3"}
    }
    tls_server alpha "$tls_alpha_port"
    tls_server beta "$tls_beta_port"
    tls_server h2 "$tls_h2_port" h2
    tls_server h11 "$tls_h11_port" http/1.1
fi

if have sshd ssh ssh-keygen && [ "$(id -u)" = 0 ]; then
    ssh-keygen -q -t ed25519 -f "$tmp/hostkey" -N '' -C interop-host
    ssh-keygen -q -t ed25519 -f "$tmp/clientkey" -N '' -C interop-client
    cp "$tmp/clientkey.pub" "$tmp/authorized_keys"
    cat >"$tmp/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $sshd_port
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
UsePAM no
AuthorizedKeysFile $tmp/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
    # The privilege separation directory sshd insists on.
    mkdir -p /run/sshd
    start sshd /usr/sbin/sshd -D -e -f "$tmp/sshd_config"
fi

have redis-server &&
    start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no

have grpcio && start grpc "$PYTHON" "$ROOT/tests/interop/grpc_server.py" 0
start banner "$PYTHON" "$HELPER" banner-server
start proxy-v1 "$PYTHON" "$HELPER" proxy-v1-server
start proxy-v2 "$PYTHON" "$HELPER" proxy-v2-server

grpc_port=$(listening_port grpc) || grpc_port=1
banner_port=$(listening_port banner) || banner_port=1
proxy_v1_port=$(listening_port proxy-v1) || proxy_v1_port=1
proxy_v2_port=$(listening_port proxy-v2) || proxy_v2_port=1

# The servers that started: each is waited for (bounded) until it accepts.
declare -A up=()
for server in web:$web_port nghttpd:$nghttpd_port sshd:$sshd_port redis:$redis_port \
    tls-alpha:$tls_alpha_port tls-beta:$tls_beta_port tls-h2:$tls_h2_port \
    tls-h11:$tls_h11_port grpc:$grpc_port banner:$banner_port proxy-v1:$proxy_v1_port \
    proxy-v2:$proxy_v2_port; do
    name=${server%%:*} server_port=${server#*:}
    [ -f "$tmp/$name.log" ] && wait_port "$server_port" && up[$name]=yes
done
# backend_up NAME: fails the case when the server did not start.
backend_up() {
    if [ -z "${up[$1]:-}" ]; then
        fail "the $1 server did not start" "$(log_tail "$1")"
        return 1
    fi
}

# The shared port: specific routes first (grpc before http2), the silence
# route last; no `any` route, so garbage matches nothing.
start portshare "$PORTSHARE" --listen 127.0.0.1:0 --silence 300 --timeout 3000 \
    --route "grpc=127.0.0.1:$grpc_port" \
    --route "http2=127.0.0.1:$nghttpd_port" \
    --route "tls-sni:alpha.interop=127.0.0.1:$tls_alpha_port" \
    --route "tls-sni:beta.interop=127.0.0.1:$tls_beta_port" \
    --route "tls-alpn:h2=127.0.0.1:$tls_h2_port" \
    --route "tls-alpn:http/1.1=127.0.0.1:$tls_h11_port" \
    --route "ssh=127.0.0.1:$sshd_port" \
    --route "redis=127.0.0.1:$redis_port" \
    --route "http1=127.0.0.1:$web_port" \
    --route "silence=127.0.0.1:$banner_port"
portshare_pid=${pids[-1]}
# Behind HAProxy: PROXY v2 in, PROXY v1 out.
start portshare-proxy "$PORTSHARE" --listen 127.0.0.1:0 --accept-proxy required \
    --send-proxy v1 --route "http1=127.0.0.1:$proxy_v1_port"

# Behind HAProxy terminating TLS: PROXY v2 with TLVs in, relayed with
# their checksum recomputed.
start portshare-v2 "$PORTSHARE" --listen 127.0.0.1:0 --accept-proxy required \
    --send-proxy v2 --proxy-v2-options unique-id,crc32c --route "http1=127.0.0.1:$proxy_v2_port"

# Routes by client address: 127.0.0.2's requests to the PROXY v1 backend,
# everyone else to the banner server.
start portshare-from "$PORTSHARE" --listen 127.0.0.1:0 --send-proxy v1 \
    --route "http1+from:127.0.0.2=127.0.0.1:$proxy_v1_port" --route "any=127.0.0.1:$banner_port"

# Believes only 127.0.0.1: a client on 127.0.0.2 is refused.
start portshare-trust "$PORTSHARE" --listen 127.0.0.1:0 --accept-proxy required \
    --proxy-from 127.0.0.1/32 --send-proxy v1 --route "http1=127.0.0.1:$proxy_v1_port"

port=$(listening_port portshare) || {
    echo "FAIL portshare: did not start"
    log_tail portshare 20
    exit 1
}
trust_port=$(listening_port portshare-trust) || {
    echo "FAIL portshare --proxy-from: did not start"
    log_tail portshare-trust 20
    exit 1
}
proxy_port=$(listening_port portshare-proxy) || {
    echo "FAIL portshare --accept-proxy required: did not start"
    log_tail portshare-proxy 20
    exit 1
}
v2_port=$(listening_port portshare-v2) || {
    echo "FAIL portshare --send-proxy v2: did not start"
    log_tail portshare-v2 20
    exit 1
}
from_port=$(listening_port portshare-from) || {
    echo "FAIL portshare with from: routes: did not start"
    log_tail portshare-from 20
    exit 1
}

if have haproxy; then
    cat >"$tmp/haproxy.cfg" <<EOF
global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 20s
    timeout server 20s
frontend interop
    bind 127.0.0.1:$haproxy_port
    default_backend portshare
backend portshare
    server portshare 127.0.0.1:$proxy_port send-proxy-v2
frontend interop_tls
    bind 127.0.0.1:$haproxy_tls_port ssl crt $tmp/tls-lb.pem alpn http/1.1
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    default_backend portshare_v2
backend portshare_v2
    server portshare 127.0.0.1:$v2_port send-proxy-v2 proxy-v2-options authority,crc32c,unique-id,ssl,ssl-cipher,cert-sig,cert-key
EOF
    cat "$tmp/tls-lb.crt" "$tmp/tls-lb.key" >"$tmp/tls-lb.pem"
    start haproxy haproxy -db -f "$tmp/haproxy.cfg"
    wait_port "$haproxy_port" && wait_port "$haproxy_tls_port" && up[haproxy]=yes
fi
if have nginx && [ -e /usr/lib/nginx/modules/ngx_stream_module.so ]; then
    mkdir -p "$tmp/nginx-stream"
    cat >"$tmp/nginx-stream.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
pid $tmp/nginx-stream/nginx.pid;
error_log $tmp/nginx-stream/error.log;
events { worker_connections 64; }
stream {
    server {
        listen 127.0.0.1:$nginx_stream_port;
        proxy_pass 127.0.0.1:$proxy_port;
        proxy_protocol on;
    }
}
EOF
    start nginx-stream nginx -c "$tmp/nginx-stream.conf" -p "$tmp/nginx-stream"
    wait_port "$nginx_stream_port" && up[nginx-stream]=yes
fi
servers_ms=$(($(now_ms) - servers_start))
echo "portshare on 127.0.0.1:$port; behind HAProxy on 127.0.0.1:$proxy_port (servers up in $servers_ms ms)"

# log_line PORTSHARE-LOG CLIENT-PORT: waits (bounded) for portshare's line
# about the connection from that client port and prints it.
log_line() {
    local line
    for _ in $(seq 50); do
        line=$(grep -m 1 "^peer=127\.0\.0\.1:$2 " "$tmp/$1.log")
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# curl_get URL [OPTIONS...]: the body, then a line "version=V local=IP:PORT".
curl_get() {
    local url=$1
    shift
    timeout 20 curl -sS --max-time 15 "$@" -w '\nversion=%{http_version} local=%{local_ip}:%{local_port}' "$url" 2>&1
}

# expect_body OUTPUT VERSION: checks curl_get's output against the known file.
expect_body() {
    local body version
    body=$(printf '%s\n' "$1" | sed '$d')
    version=$(printf '%s\n' "$1" | tail -n 1 | sed 's/^version=\([^ ]*\).*/\1/')
    if [ "$body" != "$web_body" ]; then
        fail "expected body '$web_body', got '$(printf '%s' "$1" | head -c 200 | tr '\n' '|')'"
        return 1
    fi
    if [ "$version" != "$2" ]; then
        fail "expected HTTP version $2, got '$version'"
        return 1
    fi
}

case_http1() {
    requires curl && backend_up web || return
    local out
    out=$(curl_get "http://127.0.0.1:$port/known.txt" --http1.1)
    # curl asks in HTTP/1.1; http.server answers in HTTP/1.0 ("1").
    expect_body "$out" 1 && ok
}

case_http2() {
    requires curl nghttpd && backend_up nghttpd || return
    local out
    out=$(curl_get "http://127.0.0.1:$port/known.txt" --http2-prior-knowledge)
    expect_body "$out" 2 || return
    # nghttpd names itself in the server header: the request reached it,
    # not the grpc route placed before http2.
    local server
    server=$(timeout 20 curl -sS --max-time 15 --http2-prior-knowledge -o /dev/null \
        -D - "http://127.0.0.1:$port/known.txt" | tr -d '\r' | grep -i '^server:')
    case $server in
    *nghttpd*) ok ;;
    *) fail "expected nghttpd's server header, got '$server'" ;;
    esac
}

# s_client_get S_CLIENT-OPTIONS...: GET / through openssl s_client to the port.
s_client_get() {
    printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout 20 openssl s_client -connect "127.0.0.1:$port" -ign_eof "$@" 2>&1
}

# case_tls WANT-NAME ALPN|- S_CLIENT-OPTIONS...: the server with
# certificate WANT-NAME.interop answers (having negotiated ALPN unless -).
case_tls() {
    local want=$1 alpn=$2
    shift 2
    requires openssl && backend_up "tls-$want" || return
    local out subject
    out=$(s_client_get "$@")
    subject=$(printf '%s\n' "$out" | grep -m 1 '^subject=' | tr -d ' ')
    if [ "$subject" != "subject=CN=$want.interop" ]; then
        fail "expected the certificate of $want.interop, got '${subject:-no certificate}'" \
            "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /')"
        return
    fi
    # The -www page echoes the server's command line: its certificate file.
    if ! printf '%s\n' "$out" | grep -q '^HTTP/1.0 200 ok' ||
        ! printf '%s\n' "$out" | grep -q "^s_server .*tls-$want\.crt"; then
        fail "no -www page from the $want server" "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /')"
        return
    fi
    if [ "$alpn" != - ] && ! printf '%s\n' "$out" | grep -qxF "ALPN protocol: $alpn"; then
        fail "ALPN $alpn not negotiated: $(printf '%s\n' "$out" | grep -m 1 ALPN)"
        return
    fi
    ok
}

case_ssh() {
    requires ssh sshd ssh-keygen || return
    if [ "$(id -u)" != 0 ]; then
        fail "needs root to run sshd"
        return
    fi
    backend_up sshd || return
    local out known want
    out=$(timeout 20 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
        -o UserKnownHostsFile="$tmp/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
        -i "$tmp/clientkey" -p "$port" root@127.0.0.1 echo interop-ok 2>&1)
    if [ "$out" != interop-ok ]; then
        fail "expected 'interop-ok', got '$(printf '%s' "$out" | head -c 300 | tr '\n' '|')'" \
            "$(log_tail sshd)"
        return
    fi
    known=$(awk -v host="[127.0.0.1]:$port" '$1 == host { print $2 " " $3 }' "$tmp/known_hosts" 2>/dev/null)
    want=$(awk '{ print $1 " " $2 }' "$tmp/hostkey.pub")
    if [ "$known" != "$want" ]; then
        fail "the host key recorded is '$known', not the generated '$want'"
        return
    fi
    ok
}

case_redis_ping() {
    requires redis-cli redis-server && backend_up redis || return
    local out
    out=$(timeout 20 redis-cli -h 127.0.0.1 -p "$port" PING 2>&1)
    if [ "$out" = PONG ]; then ok; else fail "expected PONG, got '$out'"; fi
}

case_redis_set_get() {
    requires redis-cli redis-server && backend_up redis || return
    local value="value-$$-$RANDOM" set got
    set=$(timeout 20 redis-cli -h 127.0.0.1 -p "$port" SET interop:key "$value" 2>&1)
    got=$(timeout 20 redis-cli -h 127.0.0.1 -p "$port" GET interop:key 2>&1)
    if [ "$set" = OK ] && [ "$got" = "$value" ]; then
        ok
    else
        fail "SET answered '$set', GET answered '$got' (want OK, '$value')"
    fi
}

case_grpc() {
    requires grpcio && backend_up grpc || return
    local out want
    out=$(timeout 30 "$PYTHON" "$ROOT/tests/interop/grpc_client.py" "127.0.0.1:$port" 2>&1)
    for want in 'unary Ping(hello) -> pong:hello' \
        'unary Ping(262144 bytes) -> 262149 bytes, intact' \
        'server-streaming Count(5) -> count:0 count:1 count:2 count:3 count:4' \
        'client-streaming Sum(1..10) -> 55' \
        'bidi Echo(alpha beta gamma) -> echo:alpha echo:beta echo:gamma'; do
        if ! printf '%s\n' "$out" | grep -qxF "$want"; then
            fail "missing '$want'" "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /')"
            return
        fi
    done
    ok
}

case_proxy_protocol() {
    requires curl haproxy && backend_up haproxy && backend_up proxy-v1 || return
    local out body local_address
    out=$(curl_get "http://127.0.0.1:$haproxy_port/")
    body=$(printf '%s\n' "$out" | sed '$d')
    local_address=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.* local=//')
    if [ "$body" != "src=$local_address" ]; then
        fail "the client is $local_address, the backend saw '$(printf '%s' "$body" | head -c 200)'" \
            "$(log_tail proxy-v1)" "$(log_tail portshare-proxy)" "$(log_tail haproxy)"
        return
    fi
    # portshare logs the client HAProxy announced, not HAProxy's address.
    local line
    line=$(log_line portshare-proxy "${local_address##*:}") || {
        fail "no portshare log line for peer=$local_address"
        return
    }
    case $line in
    *" route=http1 "*"outcome=ok"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
}

# fact BODY KEY: the value of the line "KEY=value" in BODY.
fact() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1; }

case_proxy_v2_tlvs() {
    requires curl haproxy && backend_up haproxy && backend_up proxy-v2 || return
    local out body local_address want got
    out=$(curl_get "https://lb.interop:$haproxy_tls_port/" --http1.1 -k \
        --resolve "lb.interop:$haproxy_tls_port:127.0.0.1")
    body=$(printf '%s\n' "$out" | sed '$d')
    local_address=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.* local=//')
    for want in "src=$local_address" "dst=127.0.0.1:$haproxy_tls_port" \
        authority=lb.interop alpn=http/1.1 crc32c=ok ssl_client=1 ssl_verify=0; do
        got=$(fact "$body" "${want%%=*}")
        if [ "$got" != "${want#*=}" ]; then
            fail "expected $want, the backend read '${want%%=*}=$got'" \
                "$(printf '%s\n' "$body" | sed 's/^/    | /')" "$(log_tail portshare-v2)" \
                "$(log_tail haproxy)"
            return
        fi
    done
    # HAProxy's unique-id-format starts with the client's address in hex;
    # the TLS it terminated names a version, a cipher, and its
    # certificate's signature and key algorithms (an EC P-256 key here).
    case "$(fact "$body" unique_id) $(fact "$body" ssl_version) $(fact "$body" ssl_cipher)" in
    7F000001:*" TLSv1."[23]" "?*) ;;
    *)
        fail "unexpected unique_id, ssl_version or ssl_cipher" \
            "$(printf '%s\n' "$body" | sed 's/^/    | /')"
        return
        ;;
    esac
    case "$(fact "$body" ssl_sig_alg) $(fact "$body" ssl_key_alg)" in
    ?*" EC"*) ok ;;
    *) fail "unexpected ssl_sig_alg or ssl_key_alg" \
        "$(printf '%s\n' "$body" | sed 's/^/    | /')" ;;
    esac
}

case_proxy_v2_bad_crc() {
    backend_up proxy-v2 || return
    local out line
    out=$("$PYTHON" "$HELPER" bad-crc-client "$v2_port" 2>&1)
    case $out in
    *closed-by-peer*) ;;
    *)
        fail "a header with a wrong CRC32C was not refused: $(printf '%s' "$out" | tr '\n' ' ')"
        return
        ;;
    esac
    line=$(log_line portshare-v2 "$(printf '%s\n' "$out" | sed -n 's/^local=//p')") || {
        fail "no portshare log line for the bad-CRC client" "$(log_tail portshare-v2)"
        return
    }
    case $line in
    *" route=- "*"outcome=bad-proxy-header"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
}

case_route_by_client_address() {
    requires curl && backend_up proxy-v1 && backend_up banner || return
    local out body
    # From 127.0.0.2: the from: route, whose backend names the client.
    out=$(curl_get "http://127.0.0.1:$from_port/" --interface 127.0.0.2)
    body=$(printf '%s\n' "$out" | sed '$d')
    case $body in
    src=127.0.0.2:*) ;;
    *)
        fail "from 127.0.0.2 expected the from: route, got '$(printf '%s' "$out" | head -c 200)'" \
            "$(log_tail portshare-from)"
        return
        ;;
    esac
    # From 127.0.0.1: the next route, the banner server.
    out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 curl -sS --max-time 5 \
        "telnet://127.0.0.1:$from_port" 2>&1)
    case $out in
    "220 interop ready"*) ok ;;
    *) fail "from 127.0.0.1 expected the banner, got '$(printf '%s' "$out" | head -c 200)'" \
        "$(log_tail portshare-from)" ;;
    esac
}

case_proxy_from() {
    requires curl && backend_up proxy-v1 || return
    local out body local_address line
    # curl's own PROXY v1 header, from a listed address: believed.
    out=$(curl_get "http://127.0.0.1:$trust_port/" --haproxy-protocol)
    body=$(printf '%s\n' "$out" | sed '$d')
    local_address=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.* local=//')
    if [ "$body" != "src=$local_address" ]; then
        fail "from 127.0.0.1 the backend saw '$(printf '%s' "$body" | head -c 200)'" \
            "$(log_tail portshare-trust)"
        return
    fi
    # The same from 127.0.0.2, outside --proxy-from: refused unread.
    out=$(curl_get "http://127.0.0.1:$trust_port/" --haproxy-protocol --interface 127.0.0.2)
    case $out in
    *src=*)
        fail "a header from 127.0.0.2 was believed: $(printf '%s' "$out" | head -n 1)"
        return
        ;;
    esac
    for _ in $(seq 50); do
        line=$(grep -m 1 "^peer=127\.0\.0\.2:" "$tmp/portshare-trust.log") && break
        sleep 0.1
    done
    case $line in
    *" route=- "*"outcome=untrusted-proxy"*) ok ;;
    *) fail "unexpected log line for 127.0.0.2: '$line'" "$(log_tail portshare-trust)" ;;
    esac
}

case_proxy_from_nginx() {
    requires curl nginx && backend_up nginx-stream && backend_up proxy-v1 || return
    local out body local_address
    out=$(curl_get "http://127.0.0.1:$nginx_stream_port/")
    body=$(printf '%s\n' "$out" | sed '$d')
    local_address=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.* local=//')
    if [ "$body" = "src=$local_address" ]; then
        ok
    else
        fail "the client is $local_address, the backend saw '$(printf '%s' "$body" | head -c 200)'" \
            "$(log_tail portshare-proxy)" "$(log_tail nginx-stream)"
    fi
}

case_proxy_required() {
    requires curl || return
    # Straight to the portshare that requires a PROXY header: no answer.
    local out line
    out=$(curl_get "http://127.0.0.1:$proxy_port/")
    case $out in
    *src=*)
        fail "a client without a PROXY header got through: $(printf '%s' "$out" | head -n 1)"
        return
        ;;
    esac
    line=$(log_line portshare-proxy "$(printf '%s\n' "$out" | tail -n 1 | sed 's/.*://')") || {
        fail "no portshare log line for the direct client"
        return
    }
    case $line in
    *" route=- "*"outcome=bad-proxy-header"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
}

case_silence() {
    backend_up banner || return
    local out
    out=$(timeout 20 "$PYTHON" "$HELPER" silent-client "$port" 2>&1)
    if ! printf '%s\n' "$out" | grep -qxF "received '220 interop ready\\r\\n'"; then
        fail "expected the banner, got '$(printf '%s' "$out" | tr '\r\n' '||')'"
        return
    fi
    local line
    line=$(log_line portshare "$(printf '%s\n' "$out" | sed -n 's/^local=//p')") || {
        fail "no portshare log line for the silent client"
        return
    }
    case $line in
    *" route=silence "*"outcome=ok"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
}

garbage_client_port=""
case_garbage() {
    local out
    out=$(timeout 20 "$PYTHON" "$HELPER" garbage-client "$port" 2>&1)
    garbage_client_port=$(printf '%s\n' "$out" | sed -n 's/^local=//p')
    case $out in
    *closed-by-peer*) ;;
    *)
        fail "portshare did not close the connection: $(printf '%s' "$out" | tr '\n' '|')"
        return
        ;;
    esac
    local line
    line=$(log_line portshare "$garbage_client_port") || {
        fail "no portshare log line for the garbage client"
        return
    }
    case $line in
    *" route=- "*"outcome=no-match"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
    echo "    $(printf '%s\n' "$out" | tail -n 1); log: $line"
}

reset_client_port=""
case_reset() {
    local out
    out=$(timeout 20 "$PYTHON" "$HELPER" reset-client "$port" 2>&1)
    reset_client_port=$(printf '%s\n' "$out" | sed -n 's/^local=//p')
    if [ -z "$reset_client_port" ]; then
        fail "the client did not connect: $out"
        return
    fi
    local line
    line=$(log_line portshare "$reset_client_port") || {
        fail "no portshare log line for the reset client"
        return
    }
    case $line in
    *" route=- "*"outcome=client-error"*) ok ;;
    *) fail "unexpected log line: $line" ;;
    esac
    echo "    log: $line"
}

case_after_abuse() {
    requires curl && backend_up web || return
    local out
    out=$(curl_get "http://127.0.0.1:$port/known.txt" --http1.1)
    expect_body "$out" 1 || return
    if ! kill -0 "$portshare_pid" 2>/dev/null; then
        fail "portshare is not running"
        return
    fi
    ok
}

cases_start=$(now_ms)
run_case "http1 curl -> http.server" case_http1
run_case "http2 curl --http2-prior-knowledge -> nghttpd (grpc route before it)" case_http2
run_case "tls-sni alpha.interop -> s_server alpha" case_tls alpha - -servername alpha.interop
run_case "tls-sni beta.interop -> s_server beta" case_tls beta - -servername beta.interop
run_case "tls-alpn h2 -> s_server h2" case_tls h2 h2 -noservername -alpn h2
run_case "tls-alpn http/1.1 -> s_server h11" case_tls h11 http/1.1 -noservername -alpn http/1.1
run_case "ssh -> sshd (host key, command output)" case_ssh
run_case "redis-cli PING -> redis-server" case_redis_ping
run_case "redis-cli SET/GET -> redis-server" case_redis_set_get
run_case "grpc unary+streaming -> grpcio server" case_grpc
run_case "haproxy PROXY v2 -> portshare -> PROXY v1 backend sees the client" case_proxy_protocol
run_case "nginx stream proxy_protocol -> portshare -> PROXY v1 backend sees the client" case_proxy_from_nginx
run_case "accept-proxy required refuses a client without a header" case_proxy_required
run_case "proxy-from believes 127.0.0.1 and refuses a header from 127.0.0.2" case_proxy_from
run_case "haproxy TLS + PROXY v2 TLVs (authority, alpn, unique-id, ssl, crc32c) -> portshare -> v2 backend" case_proxy_v2_tlvs
run_case "a PROXY v2 header with a wrong CRC32C is refused" case_proxy_v2_bad_crc
run_case "http1+from:127.0.0.2 takes curl --interface 127.0.0.2, not 127.0.0.1" case_route_by_client_address
run_case "silence 300 ms -> server-first banner" case_silence
run_case "garbage bytes closed (no-match)" case_garbage
run_case "half TLS record then reset" case_reset
run_case "still serving after garbage and reset" case_after_abuse
cases_ms=$(($(now_ms) - cases_start))

echo "timings: installs ${install_ms} ms, build ${build_ms} ms, servers ${servers_ms} ms, cases ${cases_ms} ms, total $(($(now_ms) - script_start)) ms"
if [ "$failures" -gt 0 ]; then
    echo "$failures case(s) failed; portshare's log:"
    log_tail portshare 40
    exit 1
fi
echo "all portshare interop cases passed"
