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
source "$root/Benchmarks/lib/processes.sh"
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
start "$work/nginx.log" nginx -p "$work/nginx/" -e stderr -c "$work/nginx.conf" -g 'daemon off;'
wait_http "$backend"

port=$(free_port)
cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:$port
services: [{ authority: 127.0.0.1:$port }]
backends: [{ authority: 127.0.0.1:$port, endpoints: [{ address: 127.0.0.1:$backend }] }]
YAML
start "$work/switchyard.log" "$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
sy=$started
wait_http "$port"

start "$work/wrk.out" wrk -t1 -c64 -d"${duration}s" "http://127.0.0.1:$port/"
load=$started
echo "seconds rss_kib"
: >"$work/samples"
for ((t = 0; t <= duration; t += 10)); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$sy/status")
    echo "$t $rss" | tee -a "$work/samples"
    [ "$t" -lt "$duration" ] && sleep 10
done
reap "$load" || true
grep -E "Requests/sec|Non-2xx|Socket errors" "$work/wrk.out" || true
python3 - "$work/samples" <<'PY'
import sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
settled = [rss for t, rss in samples if t >= min(60, samples[-1][0] // 2)]
first, last, peak = settled[0], settled[-1], max(settled)
print(f"after warm-up: first {first} KiB, last {last} KiB ({100 * (last - first) / first:+.1f} %), peak {peak} KiB ({100 * (peak - first) / first:+.1f} %); target within ±10 %")
PY
echo "logs: $work"
