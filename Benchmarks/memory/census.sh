#!/usr/bin/env bash
# What an idle keep-alive client connection holds, by allocation site (issue 12): Switchyard
# (release build, one event loop) runs under heaptrack; after warm-up, N (2000) idle keep-alive
# connections are opened (`idle_clients.py`, one GET each) and the proxy is killed with them
# open, so every allocation still live is reported as "leaked". `census.py` divides by N and
# splits the bytes into NIO's own (the channel, its read buffer and write queue, its selector
# registration) and Switchyard's (its handlers and what it asks NIO for: pipeline contexts,
# the idle timer, the connection's entry in its loop's table).
#
#   apt-get install -y heaptrack
#   swift build -c release && Benchmarks/memory/census.sh            # N=2000
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
count="${N:-2000}"
work="$(mktemp -d /tmp/switchyard-census-XXXXXX)"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/memory/idle.sh"
command -v heaptrack >/dev/null || { echo "census.sh needs heaptrack (apt-get install -y heaptrack)" >&2; exit 1; }

start "$work/backend.out" python3 -u "$root/Benchmarks/balancing/delay_backend.py" 0 --max-seconds=900
backend=$(wait_line "$work/backend.out" 'ready ' | awk '{print $2}')
port=$(free_port)
idle_config "$work/switchyard.yaml" "$port" "$backend" "$count"
start "$work/heaptrack.log" heaptrack -o "$work/heap" "$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
wait_http "$port"
proxy=$(pgrep -P "$started" -f ' run --config ' | head -1)
[ -n "$proxy" ] || { echo "census.sh: the proxy's PID under heaptrack was not found" >&2; exit 1; }
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/"; done

hold_idle_clients "$work" switchyard "$port" "$count"
sleep 2  # let the proxy settle: nothing is in flight, no timer is due for 300 s
echo "proxy RSS with $count idle connections: $(awk '/^VmRSS:/ {print $2}' "/proc/$proxy/status") KiB (heaptrack's own included)"
kill -9 "$proxy"
reap "$started" || true  # heaptrack writes its file when the proxy is gone
release_idle_clients

heaptrack_print -f "$work/heap.zst" --flamegraph-cost-type leaked -F "$work/leaked.stacks" >/dev/null 2>&1
python3 "$root/Benchmarks/memory/census.py" "$work/leaked.stacks" "$count"
echo "logs: $work"
