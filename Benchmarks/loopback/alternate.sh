#!/usr/bin/env bash
# Alternates proxies in front of the harness's three nginx backends, one after the other in each
# round, so two builds of Switchyard (before and after a change) and nginx share the machine's
# moods: the proxy on CPU 0, wrk and the backends on CPU 1, one worker or event loop each,
# Switchyard with p2c-peak-ewma and metrics on. Prints each run, then each target's median and
# its ratio to nginx's, and the median CPU the proxy spent per request (user + system time from
# /proc over the measured run): steadier than req/s when other work shares the machine.
#
#   swift build -c release
#   Benchmarks/loopback/alternate.sh nginx /path/to/old/switchyard .build/release/switchyard
#
# A Switchyard target is a release binary with its plugins beside it. ROUNDS (4), CONNS (16)
# and DURATION (4 s) change the runs; H2=CLIENTSxSTREAMS (e.g. 4x16) loads h2c with h2load
# instead of HTTP/1.1 with wrk; CPU=user counts the proxy's user time alone (the kernel's
# share of a request swings more between runs than a change to the proxy's code moves it). Uses the ports of ../shared/bench (18081-18083, 18090, 18190).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared/bench"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/backends.sh"
rounds="${ROUNDS:-4}" conns="${CONNS:-16}" duration="${DURATION:-4}" h2="${H2:-}"
[ "$#" -gt 0 ] || { echo "usage: $0 TARGET... (nginx, or a switchyard binary)" >&2; exit 2; }
work="$(mktemp -d /tmp/switchyard-alternate-XXXXXX)"
mkdir -p "$work/nginx/tmp"

start_backends "$work" taskset -c 1
port="$(free_port)"
switchyard_config "$work/switchyard.yaml" "$port"

for round in $(seq 1 "$rounds"); do
    for target in "$@"; do
        if [ "$target" = nginx ]; then
            start "$work/nginx.log" taskset -c 0 nginx -p "$work/nginx/" -e stderr -c "$shared/nginx-proxy.conf" -g 'daemon off; worker_processes 1;'
            target_port=$([ -n "$h2" ] && echo 18190 || echo 18090)
        else
            start "$work/switchyard.log" taskset -c 0 "$target" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
            target_port="$port"
        fi
        proxy=$started
        if [ -n "$h2" ]; then
            read -r rps requests seconds < <(measure_h2load "$proxy" "$target_port" "$h2" "$duration" taskset -c 1)
        else
            read -r rps requests seconds < <(measure_wrk "$proxy" "$target_port" "$conns" "$duration" taskset -c 1)
        fi
        stop "$proxy"
        cpu="$(awk -v s="$seconds" -v n="$requests" 'BEGIN {printf "%.2f", s / n * 1e6}')"
        echo "$round $target $rps $cpu" | tee -a "$work/runs.txt"
    done
done

python3 - "$work/runs.txt" "${CPU:-}" <<'EOF'
import statistics, sys
kind = "user time" if sys.argv[2] == "user" else "CPU"
runs = {}
cpu = {}
for line in open(sys.argv[1]):
    _, target, rps, micros = line.split()
    runs.setdefault(target, []).append(float(rps))
    cpu.setdefault(target, []).append(float(micros))
nginx = statistics.median(runs["nginx"]) if "nginx" in runs else None
for target, values in runs.items():
    median = statistics.median(values)
    ratio = f"  {median / nginx:.2f}x nginx" if nginx else ""
    print(f"{target}: median {median:.0f} req/s of {len(values)} runs{ratio}, {statistics.median(cpu[target]):.1f} µs of proxy {kind} per request")
EOF
echo "runs: $work/runs.txt"
