#!/usr/bin/env bash
# Alternates proxies in front of the harness's three nginx backends, one after the other in each
# round, so two builds of Switchyard (before and after a change) and nginx share the machine's
# moods: the proxy on CPU 0, wrk and the backends on CPU 1, one worker or event loop each,
# Switchyard with p2c-peak-ewma and metrics on. Prints each run, then each target's median and
# its ratio to nginx's.
#
#   swift build -c release
#   Benchmarks/loopback/alternate.sh nginx /path/to/old/switchyard .build/release/switchyard
#
# A Switchyard target is a release binary with its plugins beside it. ROUNDS (4), CONNS (16)
# and DURATION (4 s) change the runs. Uses the ports of ../shared/bench (18081-18083, 18090).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared/bench"
source "$root/Benchmarks/lib/processes.sh"
rounds="${ROUNDS:-4}" conns="${CONNS:-16}" duration="${DURATION:-4}"
[ "$#" -gt 0 ] || { echo "usage: $0 TARGET... (nginx, or a switchyard binary)" >&2; exit 2; }
work="$(mktemp -d /tmp/switchyard-alternate-XXXXXX)"
mkdir -p "$work/backend/tmp" "$work/nginx/tmp"

start "$work/backend.log" taskset -c 1 nginx -p "$work/backend/" -e stderr -c "$shared/nginx-backend.conf" -g 'daemon off; worker_processes 1;'
wait_http 18081
port="$(free_port)"
cat >"$work/switchyard.yaml" <<EOF
listen: 127.0.0.1:$port
services: [{ authority: 127.0.0.1:$port }]
backends:
  - authority: 127.0.0.1:$port
    balancer: { name: p2c-peak-ewma }
    endpoints: [{ address: 127.0.0.1:18081 }, { address: 127.0.0.1:18082 }, { address: 127.0.0.1:18083 }]
EOF

for round in $(seq 1 "$rounds"); do
    for target in "$@"; do
        if [ "$target" = nginx ]; then
            start "$work/nginx.log" taskset -c 0 nginx -p "$work/nginx/" -e stderr -c "$shared/nginx-proxy.conf" -g 'daemon off; worker_processes 1;'
            target_port=18090
        else
            start "$work/switchyard.log" taskset -c 0 "$target" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
            target_port="$port"
        fi
        proxy=$started
        wait_http "$target_port"
        taskset -c 1 wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$target_port/" >/dev/null
        rps="$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" "http://127.0.0.1:$target_port/" | awk '/Requests\/sec/ {print $2}')"
        stop "$proxy"
        echo "$round $target $rps" | tee -a "$work/runs.txt"
    done
done

python3 - "$work/runs.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, target, rps = line.split()
    runs.setdefault(target, []).append(float(rps))
nginx = statistics.median(runs["nginx"]) if "nginx" in runs else None
for target, values in runs.items():
    median = statistics.median(values)
    ratio = f"  {median / nginx:.2f}x nginx" if nginx else ""
    print(f"{target}: median {median:.0f} req/s of {len(values)} runs{ratio}")
EOF
echo "runs: $work/runs.txt"
