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
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/memory/idle.sh"
# rss PID... -> the summed VmRSS of the processes, in KiB
rss() { local total=0; for pid in "$@"; do total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"))); done; echo "$total"; }

start "$work/backend.out" python3 -u "$root/Benchmarks/balancing/delay_backend.py" 0 --max-seconds=900
backend=$(wait_line "$work/backend.out" 'ready ' | awk '{print $2}')

# measure NAME PORT PID... : RSS before and with $count idle connections
measure() {
    local name=$1 port=$2; shift 2
    wait_http "$port"
    local before; before=$(rss "$@")
    hold_idle_clients "$work" "$name" "$port" "$count"
    sleep 2  # let the proxy settle (nothing is in flight; no timer is due for 300 s)
    local after; after=$(rss "$@")
    release_idle_clients
    local per=$(( (after - before) * 1024 / count ))
    printf "%-11s %10s %10s %12s\n" "$name" "$before" "$after" "$per"
    echo "$per" >"$work/$name.per"
}

printf "%-11s %10s %10s %12s\n" proxy rss0_kib rssN_kib bytes_per_conn

port=$(free_port)
idle_config "$work/switchyard.yaml" "$port" "$backend" "$count"
start "$work/switchyard.log" "$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
sy=$started
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
start "$work/nginx.log" nginx -p "$work/nginx/" -e stderr -c "$work/nginx.conf" -g 'daemon off;'
master=$started
wait_http "$port"
worker=$(pgrep -P "$master" | head -1)
measure nginx "$port" "$master" "$worker"

# The framework's floor: the bare NIO splice (../shared/bench/nio-splice; two channels a client
# connection, its own and its upstream's), when NIO_SPLICE_BIN names its release build.
if [ -n "${NIO_SPLICE_BIN:-}" ]; then
    port=$(free_port)
    start "$work/nio-splice.log" "$NIO_SPLICE_BIN" "$port" "127.0.0.1:$backend"
    measure nio-splice "$port" "$started"
fi

python3 -c "import sys; s,n=int(open(sys.argv[1]).read()),int(open(sys.argv[2]).read()); print(f'switchyard / nginx per idle connection: {s/n:.2f} (target <= 2)')" "$work/switchyard.per" "$work/nginx.per"
echo "logs: $work"
