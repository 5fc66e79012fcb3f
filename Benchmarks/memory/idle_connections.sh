#!/usr/bin/env bash
# Memory per idle keep-alive client connection (issue 12): Switchyard and nginx, each proxying to
# one local backend, side by side. For each proxy: RSS after one request, then RSS with N (10000)
# used, idle keep-alive client connections open; prints the growth per connection and
# Switchyard's as a multiple of nginx's (the issue asks <= 2x). Both keep idle connections 300 s.
#
#   swift build -c release && Benchmarks/memory/idle_connections.sh        # N=10000
#   NIO_SPLICE_BIN=/path/to/nio-splice Benchmarks/memory/idle_connections.sh   # and the bare-NIO floor
#   COOKIE_BYTES=1500 Benchmarks/memory/idle_connections.sh                    # requests with a 1.5 KB cookie
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
count="${N:-10000}"
work="$(mktemp -d /tmp/switchyard-memory-XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
# stop PID: ends a process this script started, waits for it, and forgets it (so the exit trap
# never signals a PID the system may have reused).
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=()
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    pids=("${kept[@]}")
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# rss PID... -> the summed VmRSS of the processes, in KiB
rss() { local total=0; for pid in "$@"; do total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"))); done; echo "$total"; }
wait_up() { for _ in $(seq 1 100); do curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "nothing answers 200 on $1" >&2; return 1; }

python3 -u "$root/Benchmarks/balancing/delay_backend.py" 0 --max-seconds=900 >"$work/backend.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^ready ' "$work/backend.out" 2>/dev/null && break; sleep 0.1; done
backend=$(awk '/^ready/ {print $2}' "$work/backend.out")

# measure NAME PORT PID... : RSS before and with $count idle connections
measure() {
    local name=$1 port=$2; shift 2
    wait_up "$port"
    local before; before=$(rss "$@")
    mkfifo "$work/$name.hold"
    python3 -u "$root/Benchmarks/memory/idle_clients.py" "$port" "$count" --hold=300 ${COOKIE_BYTES:+--cookie-bytes=$COOKIE_BYTES} <"$work/$name.hold" >"$work/$name.clients" 2>&1 &
    local clients=$!
    pids+=("$clients")
    exec 3>"$work/$name.hold"
    for _ in $(seq 1 600); do grep -q '^idle ' "$work/$name.clients" 2>/dev/null && break; sleep 0.1; done
    grep -q "^idle $count" "$work/$name.clients" || { echo "$name: clients did not all connect: $(cat "$work/$name.clients")" >&2; exit 1; }
    sleep 2  # let the proxy settle (nothing is in flight; no timer is due for 300 s)
    local after; after=$(rss "$@")
    exec 3>&-
    stop "$clients"
    local per=$(( (after - before) * 1024 / count ))
    printf "%-11s %10s %10s %12s\n" "$name" "$before" "$after" "$per"
    echo "$per" >"$work/$name.per"
}

printf "%-11s %10s %10s %12s\n" proxy rss0_kib rssN_kib bytes_per_conn

port=$(free_port)
cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:$port
limits: { connections: $((count + 100)) }
timeouts: { keepAlive: 300s }
services: [{ authority: 127.0.0.1:$port }]
backends: [{ authority: 127.0.0.1:$port, endpoints: [{ address: 127.0.0.1:$backend }] }]
YAML
"$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0 >"$work/switchyard.log" 2>&1 &
sy=$!
pids+=("$sy")
measure switchyard "$port" "$sy"
stop "$sy"

port=$(free_port)
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx.conf" <<CONF
pid nginx.pid;
error_log stderr warn;
worker_processes 1;
worker_rlimit_nofile $((count * 2 + 100));
events { worker_connections $((count * 2 + 100)); }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    upstream backend { server 127.0.0.1:$backend; keepalive 128; }
    server {
        listen 127.0.0.1:$port;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
CONF
nginx -p "$work/nginx/" -e stderr -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
master=$!
pids+=("$master")
wait_up "$port"
worker=$(pgrep -P "$master" | head -1)
measure nginx "$port" "$master" "$worker"

# The framework's floor: the bare NIO splice (../shared/bench/nio-splice; two channels a client
# connection, its own and its upstream's), when NIO_SPLICE_BIN names its release build.
if [ -n "${NIO_SPLICE_BIN:-}" ]; then
    port=$(free_port)
    "$NIO_SPLICE_BIN" "$port" "127.0.0.1:$backend" >"$work/nio-splice.log" 2>&1 &
    splice=$!
    pids+=("$splice")
    measure nio-splice "$port" "$splice"
fi

python3 -c "import sys; s,n=int(open(sys.argv[1]).read()),int(open(sys.argv[2]).read()); print(f'switchyard / nginx per idle connection: {s/n:.2f} (target <= 2)')" "$work/switchyard.per" "$work/nginx.per"
echo "logs: $work"
