#!/usr/bin/env bash
# RSS under steady load (issue 12): Switchyard (release build, one event loop) in front of one
# nginx backend, wrk -c64 for DURATION (600) seconds, Switchyard's RSS sampled every 10 s. Prints
# the samples, then the change from the first sample after warm-up (60 s) to the last: the issue
# asks that it stay within ±10 %.
#
#   swift build -c release && Benchmarks/memory/rss_over_time.sh            # 10 minutes
#   DURATION=120 Benchmarks/memory/rss_over_time.sh                         # a quick look
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
duration="${DURATION:-600}"
work="$(mktemp -d /tmp/switchyard-rss-XXXXXX)"
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
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }

backend=$(free_port)
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx.conf" <<CONF
pid nginx.pid;
error_log stderr warn;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    server { listen 127.0.0.1:$backend; location / { return 200 "hello from the backend\n"; } }
}
CONF
nginx -p "$work/nginx/" -e stderr -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$backend/" && break; sleep 0.1; done

port=$(free_port)
cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:$port
services: [{ authority: 127.0.0.1:$port }]
backends: [{ authority: 127.0.0.1:$port, endpoints: [{ address: 127.0.0.1:$backend }] }]
YAML
"$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0 >"$work/switchyard.log" 2>&1 &
sy=$!
pids+=("$sy")
for _ in $(seq 1 100); do curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/" || { echo "switchyard does not answer 200 through its backend" >&2; exit 1; }

wrk -t1 -c64 -d"${duration}s" "http://127.0.0.1:$port/" >"$work/wrk.out" 2>&1 &
load=$!
pids+=("$load")
echo "seconds rss_kib"
: >"$work/samples"
for ((t = 0; t <= duration; t += 10)); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$sy/status")
    echo "$t $rss" | tee -a "$work/samples"
    [ "$t" -lt "$duration" ] && sleep 10
done
wait "$load" || true
grep -E "Requests/sec|Non-2xx|Socket errors" "$work/wrk.out" || true
python3 - "$work/samples" <<'PY'
import sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
settled = [rss for t, rss in samples if t >= min(60, samples[-1][0] // 2)]
first, last, peak = settled[0], settled[-1], max(settled)
print(f"after warm-up: first {first} KiB, last {last} KiB ({100 * (last - first) / first:+.1f} %), peak {peak} KiB ({100 * (peak - first) / first:+.1f} %); target within ±10 %")
PY
echo "logs: $work"
