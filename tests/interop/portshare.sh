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
# sslh's own configurations, unchanged: Debian's shipped example.cfg
# (package sslh, /usr/share/doc/sslh/examples/example.cfg) runs through
# --sslh-config with --unsupported ignore, and must exit 3 naming `user`
# and `chroot` without it; its listeners are on host `thelonious`, so the
# script appends "127.0.0.2 thelonious" to /etc/hosts when the line is
# absent (and removes it when it exits), and its backends are real servers
# on 127.0.0.1's well-known ports 22, 80, 443, 993, 5222, 5223, 1194 and
# 13 (a port another server holds fails that route's check, but for 22
# and 80, whose answers are compared with the same client's straight to
# the port). Debian's /etc/default/sslh command line runs through --sslh.
# A portshare with --metrics is scraped and parsed by prometheus_client;
# one with --config and --control is reloaded 20 times (and refuses a bad
# configuration) while curl downloads a 4 MB file in a loop and openssl
# s_client connects, every download checked whole; --log-format json lines
# parse and carry sni, alpn and host.
#
# Installs what is missing (apt-get, pip; needs root for apt, sshd,
# /etc/hosts and ports below 1024), so a case whose tool cannot be
# installed fails rather than being skipped.
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
        prometheus_client) "$PYTHON" -c 'import prometheus_client' 2>/dev/null || return 1 ;;
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
# sslh's shipped example configuration, read as it is.
SSLH_EXAMPLE=/usr/share/doc/sslh/examples/example.cfg
[ -e "$SSLH_EXAMPLE" ] || apt_install sslh || true
pip_install() {
    "$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip || true
    # A Debian system Python refuses pip installs unless told otherwise
    # (PEP 668); a virtualenv or pyenv Python takes the first form.
    "$PYTHON" -m pip install --quiet "$1" >/dev/null 2>&1 ||
        "$PYTHON" -m pip install --quiet --break-system-packages "$1" >/dev/null 2>&1 ||
        true
}
have grpcio || pip_install grpcio
have prometheus_client || pip_install prometheus_client
install_ms=$(($(now_ms) - install_start))

versions() {
    echo "versions:"
    have "$PYTHON" && echo "  $("$PYTHON" --version 2>&1)"
    have grpcio && echo "  grpcio $("$PYTHON" -c 'import grpc; print(grpc.__version__)')"
    have prometheus_client && echo "  prometheus_client $("$PYTHON" -m pip show prometheus_client 2>/dev/null | sed -n 's/^Version: //p')"
    have curl && echo "  $(curl --version | head -n 1)"
    have openssl && echo "  $(openssl version)"
    have nghttpd && echo "  $(nghttpd --version 2>&1 | head -n 1)"
    have ssh && echo "  $(ssh -V 2>&1) (client and sshd)"
    have redis-server && echo "  $(redis-server --version)"
    have redis-cli && echo "  $(redis-cli --version)"
    have haproxy && echo "  $(haproxy -v | head -n 1)"
    have nginx && echo "  $(nginx -v 2>&1) (stream module for PROXY)"
    [ -e "$SSLH_EXAMPLE" ] && echo "  $SSLH_EXAMPLE from sslh $(dpkg-query -W -f '${Version}' sslh 2>/dev/null)"
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
# sslh's example.cfg listens on host thelonious: 127.0.0.2 here, beside
# its backends on 127.0.0.1. The line is removed at exit if added here.
HOSTS_LINE="127.0.0.2 thelonious"
hosts_added=""
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
    # Rewritten in place: /etc/hosts may be a bind mount, which a rename
    # (sed -i) cannot replace.
    if [ -n "$hosts_added" ] && grep -vxF "$HOSTS_LINE" /etc/hosts >"$tmp/hosts"; then
        cat "$tmp/hosts" >/etc/hosts
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$(id -u)" = 0 ] && ! grep -qxF "$HOSTS_LINE" /etc/hosts; then
    printf '%s\n' "$HOSTS_LINE" >>/etc/hosts && hosts_added=yes
fi

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

# listening_port NAME [HOST]: waits (up to 10 s) for the "listening on
# HOST:PORT" line of a server started as NAME (or the "listeners" of
# portshare's JSON one) and prints PORT. HOST defaults to 127.0.0.1.
listening_port() {
    local line host=${2:-127.0.0.1}
    [ -f "$tmp/$1.log" ] || return 1
    for _ in $(seq 100); do
        line=$(grep -m 1 -o -E "(listening on |\"listeners\":\[\")${host//./\\.}:[0-9]+" \
            "$tmp/$1.log" 2>/dev/null)
        if [ -n "$line" ]; then
            echo "${line##*:}"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# wait_port PORT [HOST]: waits (up to 10 s) until PORT accepts connections.
wait_port() {
    for _ in $(seq 200); do
        port_open "$1" "${2:-127.0.0.1}" && return 0
        sleep 0.05
    done
    return 1
}
# port_open PORT [HOST]: whether something accepts connections there now.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

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
read -r -a ports <<<"$("$PYTHON" "$HELPER" free-ports 17 | tr '\n' ' ')"
web_port=${ports[0]} nghttpd_port=${ports[1]} sshd_port=${ports[2]} redis_port=${ports[3]}
tls_alpha_port=${ports[4]} tls_beta_port=${ports[5]} tls_h2_port=${ports[6]}
tls_h11_port=${ports[7]} haproxy_port=${ports[8]} nginx_stream_port=${ports[9]}
haproxy_tls_port=${ports[10]} sslh_cli_port=${ports[11]} metrics_port=${ports[12]}
web_a_port=${ports[13]} web_b_port=${ports[14]} reload_port=${ports[15]}
reload_metrics_port=${ports[16]}

# sslh's example.cfg forwards to these ports on localhost: the ones
# another server already holds are left to it, and their checks say so.
sslh_example_ports="22 80 443 993 5222 5223 1194 13"
declare -A taken=()
for server_port in $sslh_example_ports; do
    port_open "$server_port" && taken[$server_port]=yes
done

# A document root with a known file, for both web servers.
mkdir -p "$tmp/www"
web_body="portshare interop $$ $(date +%s%N)"
printf '%s\n' "$web_body" >"$tmp/www/known.txt"

start web "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$web_port"
[ "$(id -u)" = 0 ] && [ -z "${taken[80]:-}" ] &&
    start web-80 "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/www" 80

# Two servers of a 4 MB file, between which reloads move the http1 route.
mkdir -p "$tmp/big"
head -c 4194304 /dev/urandom >"$tmp/big/big.bin"
big_sha256=$(sha256sum <"$tmp/big/big.bin")
big_sha256=${big_sha256%% *}
start web-a "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/big" "$web_a_port"
start web-b "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/big" "$web_b_port"

have nghttpd && start nghttpd nghttpd --no-tls -a 127.0.0.1 -d "$tmp/www" "$nghttpd_port"

# Four TLS servers, one certificate each, so that the subject a client
# reports names the server it reached.
if have openssl; then
    for name in alpha beta h2 h11 lb sslh443 sslh993 sslh5222 sslh5223; do
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
    # sslh's example.cfg's TLS backends, named by their ports.
    if [ "$(id -u)" = 0 ]; then
        [ -z "${taken[443]:-}" ] && tls_server sslh443 443 h2,http/1.1
        [ -z "${taken[993]:-}" ] && tls_server sslh993 993
        [ -z "${taken[5222]:-}" ] && tls_server sslh5222 5222 xmpp-client
        [ -z "${taken[5223]:-}" ] && tls_server sslh5223 5223 xmpp-client
    fi
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
    # The same on port 22, for sslh's example.cfg.
    if [ -z "${taken[22]:-}" ]; then
        sed -e 's/^Port .*/Port 22/' -e "s|^PidFile .*|PidFile $tmp/sshd-22.pid|" \
            "$tmp/sshd_config" >"$tmp/sshd-22_config"
        start sshd-22 /usr/sbin/sshd -D -e -f "$tmp/sshd-22_config"
    fi
fi

have redis-server &&
    start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no

have grpcio && start grpc "$PYTHON" "$ROOT/tests/interop/grpc_server.py" 0
start banner "$PYTHON" "$HELPER" banner-server
start proxy-v1 "$PYTHON" "$HELPER" proxy-v1-server
start proxy-v2 "$PYTHON" "$HELPER" proxy-v2-server
if [ "$(id -u)" = 0 ]; then
    # Stand-ins for sslh's example.cfg's OpenVPN and daytime backends.
    [ -z "${taken[1194]:-}" ] && start line-1194 "$PYTHON" "$HELPER" line-server 1194 "openvpn 1194 interop"
    [ -z "${taken[13]:-}" ] && start line-13 "$PYTHON" "$HELPER" line-server 13 "daytime interop"
fi

grpc_port=$(listening_port grpc) || grpc_port=1
banner_port=$(listening_port banner) || banner_port=1
proxy_v1_port=$(listening_port proxy-v1) || proxy_v1_port=1
proxy_v2_port=$(listening_port proxy-v2) || proxy_v2_port=1

# The servers that started: each is waited for (bounded) until it accepts.
declare -A up=()
for server in web:$web_port nghttpd:$nghttpd_port sshd:$sshd_port redis:$redis_port \
    tls-alpha:$tls_alpha_port tls-beta:$tls_beta_port tls-h2:$tls_h2_port \
    tls-h11:$tls_h11_port grpc:$grpc_port banner:$banner_port proxy-v1:$proxy_v1_port \
    proxy-v2:$proxy_v2_port web-a:$web_a_port web-b:$web_b_port web-80:80 sshd-22:22 \
    tls-sslh443:443 tls-sslh993:993 tls-sslh5222:5222 tls-sslh5223:5223 line-1194:1194 \
    line-13:13; do
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

# sslh's example.cfg as Debian ships it (the repository's copy when the
# package's documentation is left out, as slim Docker images do), on
# thelonious:443 and thelonious:8080.
sslh_example=$SSLH_EXAMPLE
[ -e "$sslh_example" ] || sslh_example=$ROOT/tests/fixtures/sslh/example.cfg
thelonious=$(getent hosts thelonious | awk '{ print $1; exit }')
if [ "$thelonious" = 127.0.0.2 ] && ! port_open 443 127.0.0.2 && ! port_open 8080 127.0.0.2; then
    start portshare-sslh-example "$PORTSHARE" --sslh-config "$sslh_example" --unsupported ignore
fi

# Debian's /etc/default/sslh command line (DAEMON_OPTS), on 127.0.0.2.
start portshare-sslh-cli "$PORTSHARE" --unsupported ignore --sslh --user sslh \
    --listen "127.0.0.2:$sslh_cli_port" --ssh "127.0.0.1:$sshd_port" \
    --ssl "127.0.0.1:$tls_alpha_port" --pidfile "$tmp/sslh.pid"
sslh_cli_pid=${pids[-1]}

# One connection at a time, counted on /metrics.
start portshare-metrics "$PORTSHARE" --listen 127.0.0.1:0 --max-conns 1 \
    --metrics "127.0.0.1:$metrics_port" --route "http1=127.0.0.1:$web_port"

# write_reload_config HTTP-BACKEND-PORT [LINE]: the reloaded portshare's
# configuration, replaced at once (a rename) so that the watcher never
# reads half a file.
write_reload_config() {
    printf '%s\n' "listen 127.0.0.1:$reload_port" \
        "route tls-sni:alpha.interop=127.0.0.1:$tls_alpha_port" \
        "route http1=127.0.0.1:$1" ${2:+"$2"} >"$tmp/reload.conf.new"
    mv "$tmp/reload.conf.new" "$tmp/reload.conf"
}
write_reload_config "$web_a_port"
start portshare-reload "$PORTSHARE" --config "$tmp/reload.conf" --control "$tmp/control.sock" \
    --metrics "127.0.0.1:$reload_metrics_port"

start portshare-json "$PORTSHARE" --log-format json --listen 127.0.0.1:0 \
    --route "tls-sni:alpha.interop=127.0.0.1:$tls_alpha_port" --route "http1=127.0.0.1:$web_port"

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
# These fail their own cases when they did not start.
sslh_example_port=$(listening_port portshare-sslh-example 127.0.0.2) || sslh_example_port=""
sslh_cli_listening=$(listening_port portshare-sslh-cli 127.0.0.2) || sslh_cli_listening=""
metrics_listen_port=$(listening_port portshare-metrics) || metrics_listen_port=""
reload_listening=$(listening_port portshare-reload) || reload_listening=""
json_port=$(listening_port portshare-json) || json_port=""
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

# s_client_get S_CLIENT-OPTIONS...: GET / through openssl s_client to the
# port, or to $tls_connect (HOST:PORT) when a caller sets it.
s_client_get() {
    printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout 20 openssl s_client -connect "${tls_connect:-127.0.0.1:$port}" -ign_eof "$@" 2>&1
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

# case_ssh: ssh to the port; callers may set ssh_host, ssh_port and
# ssh_server (the sshd started as that name) to go elsewhere.
case_ssh() {
    requires ssh sshd ssh-keygen || return
    if [ "$(id -u)" != 0 ]; then
        fail "needs root to run sshd"
        return
    fi
    local host=${ssh_host:-127.0.0.1} to_port=${ssh_port:-$port} server=${ssh_server:-sshd}
    backend_up "$server" || return
    local out known want
    out=$(timeout 20 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
        -o UserKnownHostsFile="$tmp/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
        -i "$tmp/clientkey" -p "$to_port" "root@$host" echo interop-ok 2>&1)
    if [ "$out" != interop-ok ]; then
        fail "expected 'interop-ok', got '$(printf '%s' "$out" | head -c 300 | tr '\n' '|')'" \
            "$(log_tail "$server")"
        return
    fi
    known=$(awk -v host="[$host]:$to_port" '$1 == host { print $2 " " $3 }' "$tmp/known_hosts" 2>/dev/null)
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

# --- sslh's configurations ------------------------------------------------------

# sslh_example_up: fails the case unless thelonious is 127.0.0.2 and the
# portshare reading example.cfg listens there.
sslh_example_up() {
    if [ "$(id -u)" != 0 ]; then
        fail "needs root (/etc/hosts, ports below 1024)"
        return 1
    fi
    if [ "$thelonious" != 127.0.0.2 ]; then
        fail "thelonious resolves to '${thelonious:-nothing}', not 127.0.0.2 (/etc/hosts)"
        return 1
    fi
    if [ -z "$sslh_example_port" ]; then
        fail "portshare --sslh-config $sslh_example did not start (is thelonious:443 or :8080 taken?)" \
            "$(log_tail portshare-sslh-example 10)"
        return 1
    fi
}

# sslh_backend PORT NAME: fails the case unless the server started as
# NAME holds localhost's PORT, where example.cfg's route goes.
sslh_backend() {
    if [ -n "${taken[$1]:-}" ]; then
        fail "127.0.0.1:$1 is held by another server on this machine; example.cfg's route goes there: free it" \
            "$(ss -ltnp "sport = :$1" 2>/dev/null | sed 's/^/    | /')"
        return 1
    fi
    backend_up "$2"
}

case_sslh_example_refused() {
    local out status
    out=$(timeout 10 "$PORTSHARE" --sslh-config "$sslh_example" 2>&1)
    status=$?
    if [ "$status" != 3 ]; then
        fail "exit status $status, not 3" "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /')"
        return
    fi
    local option
    for option in user chroot; do
        if ! printf '%s\n' "$out" | grep -q "sslh's $option:"; then
            fail "the refusal does not name sslh's $option" "$(printf '%s\n' "$out" | sed 's/^/    | /')"
            return
        fi
    done
    ok
}

case_sslh_example_routes() {
    sslh_example_up || return
    local out want
    out=$(timeout 10 "$PORTSHARE" --sslh-config "$sslh_example" --unsupported ignore --check 2>&1) || {
        fail "--check failed" "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /')"
        return
    }
    # sslh reads OpenVPN's first pattern, "^\x00[\x0D-\xFF]$", as a C
    # string, cut at its \x00: "^", which matches anything. Whatever the
    # probes before it leave goes to 1194, and the jabber and catch-all
    # patterns after it never see a byte; the timeout protocol, last in
    # the file, is where sslh sends what no probe took, and on-timeout's.
    for want in "listen 127.0.0.2:443" "listen 127.0.0.2:8080" "route ssh=localhost:22" \
        "route http1=localhost:80 name=http" "route any=localhost:1194 name=regex" \
        "route unmatched -> timeout" "route timeout -> timeout"; do
        if ! printf '%s\n' "$out" | grep -qxF "$want"; then
            fail "--check lacks '$want'" "$(printf '%s\n' "$out" | grep -v '^note:' | sed 's/^/    | /')"
            return
        fi
    done
    want=$(printf '%s\n' "$out" | grep '^route [^ ]*=' | tail -n 1)
    if [ "$want" != "route timeout=localhost:13" ]; then
        fail "the last route is '$want', not sslh's timeout protocol"
        return
    fi
    ok
}

# http_head URL: the status line and Server header curl receives.
http_head() {
    timeout 20 curl -sS --max-time 15 -o /dev/null -D - "$1" 2>&1 | tr -d '\r' |
        grep -i -e '^HTTP/' -e '^server:'
}

case_sslh_example_http() {
    sslh_example_up && requires curl || return
    local listener out direct
    if [ -n "${taken[80]:-}" ]; then
        # Another server holds port 80 (nginx's default site, say): it
        # must answer through portshare as it does straight.
        direct=$(http_head "http://127.0.0.1/")
        for listener in 443 8080; do
            out=$(http_head "http://thelonious:$listener/")
            if [ -z "$direct" ] || [ "$out" != "$direct" ]; then
                fail "127.0.0.1:80 (another server's) answers '$direct' straight, '$out' through thelonious:$listener"
                return
            fi
        done
        echo "    127.0.0.1:80 is another server's: compared its answer straight and through portshare"
        ok
        return
    fi
    backend_up web-80 || return
    for listener in 443 8080; do
        out=$(curl_get "http://thelonious:$listener/known.txt" --http1.1)
        expect_body "$out" 1 || return
    done
    ok
}

# case_sslh_example_tls LISTENER BACKEND-PORT ALPN|- S_CLIENT-OPTIONS...:
# through thelonious:LISTENER, the s_server on localhost:BACKEND-PORT answers.
case_sslh_example_tls() {
    sslh_example_up && sslh_backend "$2" "tls-sslh$2" || return
    local tls_connect=thelonious:$1 want=sslh$2 alpn=$3
    shift 3
    case_tls "$want" "$alpn" "$@"
}

case_sslh_example_ssh() {
    sslh_example_up || return
    if [ -n "${taken[22]:-}" ]; then
        # Another sshd holds port 22: its banner must come back through.
        local direct through
        direct=$(ssh_banner 127.0.0.1 22) through=$(ssh_banner thelonious 8080)
        case $direct in
        SSH-*) ;;
        *)
            fail "127.0.0.1:22 is another server's, and it sent no SSH banner: '$direct'"
            return
            ;;
        esac
        if [ "$through" != "$direct" ]; then
            fail "127.0.0.1:22 (another sshd) says '$direct' straight, '$through' through thelonious:8080"
            return
        fi
        echo "    127.0.0.1:22 is another sshd's: compared its banner straight and through portshare"
        ok
        return
    fi
    local ssh_host=thelonious ssh_port=8080 ssh_server=sshd-22
    case_ssh
}

# ssh_banner HOST PORT: the first line an SSH server sends a client that
# sent its own.
ssh_banner() {
    local line=""
    {
        exec 3<>"/dev/tcp/$1/$2" &&
            printf 'SSH-2.0-interop\r\n' >&3 &&
            read -r -t 5 line <&3
        exec 3>&-
    } 2>/dev/null
    printf '%s' "${line%$'\r'}"
}

# sslh probes a connection only when bytes arrive: a client that sends
# none goes, after `timeout: 2`, to on-timeout's protocol, the daytime
# server, whatever its patterns would match.
case_sslh_example_timeout() {
    sslh_example_up && sslh_backend 13 line-13 || return
    local out elapsed
    out=$(timeout 20 "$PYTHON" "$HELPER" silent-client thelonious:443 2>&1)
    if ! printf '%s\n' "$out" | grep -qxF "received 'daytime interop\\r\\n'"; then
        fail "a silent client got '$(printf '%s' "$out" | tr '\r\n' '||')', not the daytime line" \
            "$(log_line portshare-sslh-example "$(printf '%s\n' "$out" | sed -n 's/^local=//p')")"
        return
    fi
    elapsed=$(printf '%s\n' "$out" | sed -n 's/^elapsed=//p')
    if [ "${elapsed:-0}" -lt 1900 ] || [ "$elapsed" -gt 4500 ]; then
        fail "a silent client got the daytime line after $elapsed ms, not sslh's timeout: 2 s"
        return
    fi
    ok
}

# portshare reads OpenVPN's pattern as `any` (MIGRATION.md: a C string
# cut at its \x00, "^"). Debian 12's sslh 1.20 does not: its libconfig
# 1.5 drops the \x00, the pattern takes a lone byte 0x0D-0xFF, and
# garbage goes to the catch-all pattern "" (localhost:443).
case_sslh_example_garbage() {
    sslh_example_up && sslh_backend 1194 line-1194 || return
    local out
    out=$(timeout 20 "$PYTHON" "$HELPER" garbage-client thelonious:443 2>&1)
    case $out in
    *"openvpn 1194 interop"*) ok ;;
    *) fail "expected the 1194 server's line, got '$(printf '%s' "$out" | tr '\n' '|')'" \
        "$(log_tail portshare-sslh-example)" ;;
    esac
}

# sslh_cli_up: fails the case unless the portshare given sslh's command
# line listens.
sslh_cli_up() {
    if [ -z "$sslh_cli_listening" ]; then
        fail "portshare --sslh ... did not start" "$(log_tail portshare-sslh-cli 10)"
        return 1
    fi
}

case_sslh_cli_ssh() {
    sslh_cli_up || return
    local ssh_host=127.0.0.2 ssh_port=$sslh_cli_port
    case_ssh
}

case_sslh_cli_tls() {
    sslh_cli_up || return
    local tls_connect=127.0.0.2:$sslh_cli_port
    case_tls alpha - -noservername
}

case_sslh_cli_pidfile() {
    sslh_cli_up || return
    local written
    written=$(cat "$tmp/sslh.pid" 2>/dev/null)
    if [ "$written" != "$sslh_cli_pid" ]; then
        fail "the pid file holds '$written', not portshare's pid $sslh_cli_pid"
        return
    fi
    if ! grep -q "sslh's user: .*(ignored)" "$tmp/portshare-sslh-cli.log"; then
        fail "no note that --user was ignored" "$(log_tail portshare-sslh-cli)"
        return
    fi
    ok
}

# --- metrics, reloads, JSON logs ------------------------------------------------

# scrape PORT: the text on http://127.0.0.1:PORT/metrics.
scrape() { timeout 10 curl -sS --max-time 5 "http://127.0.0.1:$1/metrics" 2>&1; }

# wait_sample PORT LINE: waits (up to 5 s) for LINE in the scrape.
wait_sample() {
    for _ in $(seq 50); do
        scrape "$1" | grep -qxF "$2" && return 0
        sleep 0.1
    done
    return 1
}

case_metrics() {
    requires curl prometheus_client && backend_up web || return
    if [ -z "$metrics_listen_port" ]; then
        fail "portshare --metrics did not start" "$(log_tail portshare-metrics 10)"
        return
    fi
    local listener=127.0.0.1:$metrics_listen_port out held
    out=$(curl_get "http://$listener/known.txt" --http1.1)
    expect_body "$out" 1 || return
    out=$(timeout 20 "$PYTHON" "$HELPER" garbage-client "$metrics_listen_port" 2>&1)
    case $out in
    *closed-by-peer*) ;;
    *)
        fail "garbage was not closed: $(printf '%s' "$out" | tr '\n' '|')"
        return
        ;;
    esac
    # A request head without its blank line holds a connection open
    # (http.server waits for the rest), so --max-conns 1 refuses the next.
    exec {held}<>"/dev/tcp/127.0.0.1/$metrics_listen_port"
    printf 'GET /held HTTP/1.1\r\n' >&"$held"
    if ! wait_sample "$metrics_port" "portshare_open_connections{listener=\"$listener\",route=\"http1\"} 1"; then
        exec {held}>&-
        fail "the held connection is not counted open" "$(scrape "$metrics_port" | grep open_conn)"
        return
    fi
    out=$(curl_get "http://$listener/known.txt" --http1.1)
    # The held request ends and its answer (a 404) is read: the connection
    # closes cleanly, outcome ok.
    printf '\r\n' >&"$held"
    timeout 5 cat <&"$held" >/dev/null
    exec {held}>&-
    case $out in
    *"$web_body"*)
        fail "a second connection got through --max-conns 1"
        return
        ;;
    esac
    if ! wait_sample "$metrics_port" "portshare_open_connections{listener=\"$listener\",route=\"http1\"} 0" ||
        ! wait_sample "$metrics_port" "portshare_connections_total{listener=\"$listener\",route=\"http1\",outcome=\"ok\"} 2"; then
        fail "the held connection is not counted closed, ok" \
            "$(scrape "$metrics_port" | grep -e '^portshare_connections' -e '^portshare_open' | sed 's/^/    | /')" \
            "$(log_tail portshare-metrics)"
        return
    fi
    local labels="listener=\"$listener\",route=\"http1\""
    out=$(timeout 30 "$PYTHON" "$ROOT/tests/interop/prometheus_check.py" \
        "http://127.0.0.1:$metrics_port/metrics" \
        --expect "portshare_connections_total{$labels,outcome=\"ok\"}=2" \
        --expect "portshare_bytes_total{$labels,direction=\"up\"}>=1" \
        --expect "portshare_bytes_total{$labels,direction=\"down\"}>=$((${#web_body} + 1))" \
        --expect "portshare_open_connections{$labels}=0" \
        --expect "portshare_dropped_total{listener=\"$listener\",outcome=\"no-match\"}=1" \
        --expect "portshare_dropped_bytes_total{listener=\"$listener\",outcome=\"no-match\"}=256" \
        --expect "portshare_refused_total{listener=\"$listener\",limit=\"global\"}=1" \
        --expect "portshare_sniff_duration_seconds_count{route=\"http1\"}=3" \
        --expect "portshare_sniff_duration_seconds_bucket{route=\"http1\",le=\"+Inf\"}=3" \
        --expect 'portshare_reloads_total{result="ok"}=0' \
        --expect "portshare_start_time_seconds>=$(($(date +%s) - 3600))" 2>&1)
    case $out in
    ok*) ok ;;
    *) fail "prometheus_check.py:" "$(printf '%s\n' "$out" | sed 's/^/    | /')" \
        "$(scrape "$metrics_port" | grep -e '^portshare_connections' -e '^portshare_refused' | sed 's/^/    | /')" \
        "$(log_tail portshare-metrics)" ;;
    esac
}

case_metrics_no_route_sniff() {
    requires prometheus_client || return
    if [ -z "$metrics_listen_port" ]; then
        fail "portshare --metrics did not start"
        return
    fi
    # case_metrics's garbage client: a sniff that chose no route, which
    # the histogram counts under route="-".
    local out
    out=$(timeout 30 "$PYTHON" "$ROOT/tests/interop/prometheus_check.py" \
        "http://127.0.0.1:$metrics_port/metrics" --family portshare_sniff_duration_seconds \
        --expect 'portshare_sniff_duration_seconds_count{route="-"}=1' 2>&1)
    case $out in
    ok*) ok ;;
    *) fail "prometheus_check.py:" "$(printf '%s\n' "$out" | sed 's/^/    | /')" ;;
    esac
}

# download_loop ID: downloads big.bin through the reloaded portshare
# until $tmp/load.stop appears (200 times at most); a line each: "whole",
# or what was wrong.
download_loop() {
    local n sum
    for n in $(seq 200); do
        [ -e "$tmp/load.stop" ] && return
        # Rate-limited so that downloads are under way across reloads.
        if ! timeout 20 curl -sS --fail --max-time 15 --limit-rate 16M -o "$tmp/load-$1.bin" \
            "http://127.0.0.1:$reload_listening/big.bin" 2>"$tmp/load-$1.err"; then
            echo "download $n of loop $1 failed: $(head -c 200 "$tmp/load-$1.err")"
            continue
        fi
        sum=$(sha256sum <"$tmp/load-$1.bin")
        if [ "${sum%% *}" = "$big_sha256" ]; then
            echo whole
        else
            echo "download $n of loop $1 broken: $(stat -c %s "$tmp/load-$1.bin") bytes, sha256 ${sum%% *}"
        fi
    done
}

# tls_loop: openssl s_client through the reloaded portshare to s_server
# alpha until $tmp/load.stop appears; a line each, as download_loop's.
tls_loop() {
    local n out
    for n in $(seq 200); do
        [ -e "$tmp/load.stop" ] && return
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client \
            -connect "127.0.0.1:$reload_listening" -servername alpha.interop -ign_eof 2>&1)
        if printf '%s\n' "$out" | grep -q '^subject=CN *= *alpha\.interop$' &&
            printf '%s\n' "$out" | grep -q '^HTTP/1.0 200 ok'; then
            echo whole
        else
            echo "handshake $n broken: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' '|')"
        fi
    done
}

# whole_count: the whole downloads and handshakes so far.
whole_count() { cat "$tmp"/load-*.out | grep -c '^whole$'; }

case_reload_under_load() {
    requires curl openssl && backend_up web-a && backend_up web-b && backend_up tls-alpha || return
    if [ -z "$reload_listening" ]; then
        fail "portshare --config did not start" "$(log_tail portshare-reload 10)"
        return
    fi
    local loaders=() i out backend bad_reply="" reload_errors=() before during
    rm -f "$tmp/load.stop"
    for i in 1 2 3; do
        download_loop "$i" >"$tmp/load-$i.out" 2>&1 &
        loaders+=($!)
    done
    tls_loop >"$tmp/load-tls.out" 2>&1 &
    loaders+=($!)
    pids+=("${loaders[@]}")
    for i in $(seq 20); do
        sleep 0.15
        if [ "$i" = 10 ]; then
            # A mistake: refused, the routes in use stay, and the clients
            # are served while the file keeps it (past the watcher's 1 s
            # poll, which reads it too).
            write_reload_config "$web_a_port" "route no-such-protocol=127.0.0.1:1"
            if bad_reply=$("$PORTSHARE" --control "$tmp/control.sock" --reload 2>&1); then
                reload_errors+=("the bad configuration was accepted: $bad_reply")
            fi
            before=$(whole_count)
            sleep 1.2
            during=$(($(whole_count) - before))
        fi
        # Odd reloads to web-a, even ones to web-b: the last leaves web-b.
        backend=$web_a_port
        [ $((i % 2)) = 0 ] && backend=$web_b_port
        write_reload_config "$backend"
        out=$("$PORTSHARE" --control "$tmp/control.sock" --reload 2>&1) ||
            reload_errors+=("reload $i: $out")
    done
    sleep 0.5
    touch "$tmp/load.stop"
    for i in "${loaders[@]}"; do wait "$i"; done
    if [ ${#reload_errors[@]} -gt 0 ]; then
        fail "reloads went wrong" "${reload_errors[@]/#/    }" "$(log_tail portshare-reload)"
        return
    fi
    if cat "$tmp"/load-*.out | grep -v '^whole$' | grep -q .; then
        fail "not every download or handshake was whole" \
            "$(cat "$tmp"/load-*.out | grep -v '^whole$' | head -n 5 | sed 's/^/    | /')" \
            "$(log_tail portshare-reload)"
        return
    fi
    local downloads handshakes served_a served_b
    downloads=$(cat "$tmp"/load-[0-9].out | grep -c '^whole$')
    handshakes=$(grep -c '^whole$' "$tmp/load-tls.out")
    served_a=$(grep -c '"GET /big.bin' "$tmp/web-a.log")
    served_b=$(grep -c '"GET /big.bin' "$tmp/web-b.log")
    if [ "$downloads" -lt 10 ] || [ "$handshakes" -lt 5 ] || [ "$served_a" = 0 ] || [ "$served_b" = 0 ]; then
        fail "too little load: $downloads downloads ($served_a from web-a, $served_b from web-b), $handshakes handshakes"
        return
    fi
    if [ "${during:-0}" = 0 ]; then
        fail "nothing was served while the file held the bad configuration"
        return
    fi
    # The last reload's backend takes the next download.
    out=$(timeout 20 curl -sS --fail --max-time 15 -o /dev/null -w '%{size_download}' \
        "http://127.0.0.1:$reload_listening/big.bin" 2>&1)
    for _ in $(seq 20); do
        [ "$(grep -c '"GET /big.bin' "$tmp/web-b.log")" -gt "$served_b" ] && break
        sleep 0.1
    done
    if [ "$(grep -c '"GET /big.bin' "$tmp/web-b.log")" = "$served_b" ]; then
        fail "after the last reload a download did not reach web-b ($out)"
        return
    fi
    local reloaded refused
    reloaded=$(grep -c '^portshare reloaded' "$tmp/portshare-reload.log")
    refused=$(scrape "$reload_metrics_port" | sed -n 's/^portshare_reloads_total{result="refused"} //p')
    if [ "$reloaded" -lt 20 ] || [ "${refused:-0}" -lt 1 ]; then
        fail "$reloaded reloads logged (want 20 or more), $refused refused on /metrics (want 1 or more)"
        return
    fi
    ok
    echo "    $downloads downloads of 4 MB ($served_a from web-a, $served_b from web-b) and $handshakes TLS handshakes whole across 20 reloads, $during while the file was bad; refused: ${bad_reply#portshare: }"
}

case_json_log() {
    requires curl openssl && backend_up web && backend_up tls-alpha || return
    if [ -z "$json_port" ]; then
        fail "portshare --log-format json did not start" "$(log_tail portshare-json 10)"
        return
    fi
    local tls_connect=127.0.0.1:$json_port out lines want
    out=$(s_client_get -servername alpha.interop -alpn h2,http/1.1)
    if ! printf '%s\n' "$out" | grep -q '^HTTP/1.0 200 ok'; then
        fail "no answer from s_server alpha" "$(printf '%s\n' "$out" | tail -n 3 | sed 's/^/    | /')"
        return
    fi
    out=$(curl_get "http://127.0.0.1:$json_port/known.txt" --http1.1 -H 'Host: json.interop')
    expect_body "$out" 1 || return
    # A Host JSON must escape, and the log's reader must get back as it was.
    out=$(curl_get "http://127.0.0.1:$json_port/known.txt" --http1.1 -H 'Host: a"b\c')
    expect_body "$out" 1 || return
    # Lines are written as connections end: wait (bounded) for the three.
    for _ in $(seq 50); do
        lines=$("$PYTHON" "$HELPER" json-log "$tmp/portshare-json.log" 2>&1) || break
        [ "$(printf '%s\n' "$lines" | grep -c '^route=')" -ge 3 ] && break
        sleep 0.1
    done
    for want in "route=tls-sni:alpha.interop sni=alpha.interop alpn=h2,http/1.1 host=- outcome=ok" \
        "route=http1 sni=- alpn=- host=json.interop outcome=ok" \
        'route=http1 sni=- alpn=- host=a"b\c outcome=ok'; do
        if ! printf '%s\n' "$lines" | grep -qxF "$want"; then
            fail "no log line '$want'" "$(printf '%s\n' "$lines" | sed 's/^/    | /')" \
                "$(log_tail portshare-json)"
            return
        fi
    done
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
run_case "sslh example.cfg without --unsupported ignore: exit 3, naming user and chroot" case_sslh_example_refused
run_case "sslh example.cfg --check: OpenVPN's pattern is any, timeout is last" case_sslh_example_routes
run_case "sslh example.cfg: curl thelonious:443 and :8080 -> localhost:80" case_sslh_example_http
run_case "sslh example.cfg: SNI mail.rutschle.net -> localhost:993" case_sslh_example_tls 443 993 - -servername mail.rutschle.net
run_case "sslh example.cfg: ALPN h2 -> localhost:443" case_sslh_example_tls 443 443 h2 -noservername -alpn h2
run_case "sslh example.cfg: ALPN xmpp-client -> localhost:xmpp-client (5222)" case_sslh_example_tls 8080 5222 xmpp-client -noservername -alpn xmpp-client
run_case "sslh example.cfg: ALPN xmpp-client + SNI im.somethingelse.net -> localhost:5223" case_sslh_example_tls 443 5223 xmpp-client -servername im.somethingelse.net -alpn xmpp-client
run_case "sslh example.cfg: other TLS -> localhost:443" case_sslh_example_tls 8080 443 - -servername other.interop
run_case "sslh example.cfg: ssh thelonious:8080 -> localhost:22" case_sslh_example_ssh
run_case "sslh example.cfg: a silent client -> daytime (localhost:13) after timeout: 2" case_sslh_example_timeout
run_case "sslh example.cfg: garbage -> localhost:1194" case_sslh_example_garbage
run_case "sslh command line (Debian DAEMON_OPTS): ssh -> sshd" case_sslh_cli_ssh
run_case "sslh command line (Debian DAEMON_OPTS): TLS -> s_server alpha" case_sslh_cli_tls
run_case "sslh command line (Debian DAEMON_OPTS): --pidfile holds the pid, --user ignored" case_sslh_cli_pidfile
run_case "metrics parsed by prometheus_client: ok, no-match, refused by --max-conns" case_metrics
run_case "metrics: a sniff that chose no route counts under route=\"-\"" case_metrics_no_route_sniff
run_case "20 reloads and a refused one under curl and s_client load: every download whole" case_reload_under_load
run_case "--log-format json: lines parse, with sni, alpn and host" case_json_log
cases_ms=$(($(now_ms) - cases_start))

echo "timings: installs ${install_ms} ms, build ${build_ms} ms, servers ${servers_ms} ms, cases ${cases_ms} ms, total $(($(now_ms) - script_start)) ms"
if [ "$failures" -gt 0 ]; then
    echo "$failures case(s) failed; portshare's log:"
    log_tail portshare 40
    exit 1
fi
echo "all portshare interop cases passed"
