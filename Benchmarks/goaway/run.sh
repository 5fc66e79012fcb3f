#!/usr/bin/env bash
# Requests the upstream did not process, under load: Switchyard (one event loop) in front of an
# nginx HTTP/2 upstream that says GOAWAY after every 100 requests on a connection
# (`keepalive_requests 100`), as servers with a connection age or request limit do. h2load sends
# REQUESTS (50000) requests over 4 connections × 16 streams and prints the status codes: a stream
# the GOAWAY left out goes again on a new connection, so none should fail.
#
#   swift build -c release && Benchmarks/goaway/run.sh
#   SWITCHYARD_BIN=/path/to/older/switchyard Benchmarks/goaway/run.sh     # another build
#
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
requests="${REQUESTS:-50000}"
work="$(mktemp -d /tmp/switchyard-goaway-XXXXXX)"
source "$root/Benchmarks/lib/processes.sh"
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
wait_http "$port"

h2load -c4 -m16 -n "$requests" "http://127.0.0.1:$port/" >"$work/h2load.out" 2>&1 || true
grep -E '^(requests|status codes):' "$work/h2load.out"
echo "logs: $work"
