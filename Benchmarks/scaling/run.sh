#!/usr/bin/env bash
# One event loop against two: Switchyard with --threads 1 and --threads 2, and nginx with one
# and two workers beside it, in front of the harness's three nginx backends, unpinned, wrk with
# two threads. Each round runs all four in turn so they share the machine's moods.
#
#   swift build -c release
#   Benchmarks/scaling/run.sh
#
# On a two-core machine the proxy, wrk and the backends share both cores, so no proxy can be
# given two cores of its own and "2 loops = 2× 1 loop" cannot show directly. The script measures
# what can: each run's req/s and the CPU the proxy used (utime + stime from /proc over the
# measured window), and prints per target
#   - the median req/s, and the two-to-one ratio of req/s (bounded by the shared cores: nginx's
#     own ratio, measured beside it, is the ceiling this machine allows);
#   - req/s per proxy CPU-second, and its two-to-one ratio: 1.0 means the second loop does as
#     much work per core as the first (nothing they share slows them), and 2 × that ratio is the
#     scaling the proxy would show given two cores of its own.
#
# ROUNDS (3), CONNS (64) and DURATION (5 s) change the runs; SWITCHYARD_BIN picks the build.
# Uses the ports of ../shared/bench (18081-18083, 18090).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared/bench"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/backends.sh"
rounds="${ROUNDS:-3}" conns="${CONNS:-64}" duration="${DURATION:-5}"
binary="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
work="$(mktemp -d /tmp/switchyard-scaling-XXXXXX)"
mkdir -p "$work/nginx/tmp"

start_backends "$work"
port="$(free_port)"
switchyard_config "$work/switchyard.yaml" "$port"

for round in $(seq 1 "$rounds"); do
    for target in switchyard-1 switchyard-2 nginx-1 nginx-2; do
        loops="${target##*-}"
        if [ "${target%-*}" = nginx ]; then
            start "$work/nginx.log" nginx -p "$work/nginx/" -e stderr -c "$shared/nginx-proxy.conf" -g "daemon off; worker_processes $loops;"
            target_port=18090
        else
            start "$work/switchyard.log" "$binary" run --config "$work/switchyard.yaml" --threads "$loops" --log-level warning --admin 127.0.0.1:0
            target_port="$port"
        fi
        proxy=$started
        read -r rps _ seconds _ < <(WRK_THREADS=2 measure_wrk "$proxy" "$target_port" "$conns" "$duration")
        stop "$proxy"
        cpu="$(awk -v s="$seconds" -v d="$duration" 'BEGIN {printf "%.2f", s / d}')"
        echo "$round $target $rps $cpu" | tee -a "$work/runs.txt"
    done
done

python3 - "$work/runs.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, target, rps, cores = line.split()
    runs.setdefault(target, []).append((float(rps), float(cores)))
median = {t: (statistics.median(r for r, _ in v), statistics.median(r / c for r, c in v if c > 0)) for t, v in runs.items()}
for t, (rps, per) in median.items():
    print(f"{t}: median {rps:.0f} req/s, {per:.0f} req/s per proxy CPU-second")
for name in ("switchyard", "nginx"):
    one, two = median[f"{name}-1"], median[f"{name}-2"]
    print(f"{name}: 2 loops / 1 loop = {two[0] / one[0]:.2f}x req/s, {two[1] / one[1]:.2f}x req/s per proxy CPU-second"
          f" (with two cores of its own: about {2 * two[1] / one[1]:.2f}x)")
EOF
echo "runs: $work/runs.txt"
