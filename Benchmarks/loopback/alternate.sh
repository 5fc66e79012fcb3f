#!/usr/bin/env bash
# Alternates proxies in front of the harness's three nginx backends, one after the other in each
# round, so two builds of Switchyard (before and after a change), the peers and the floors share
# the machine's moods: the proxy on CPU 0, wrk and the backends on CPU 1, one worker or event loop each,
# Switchyard with p2c-peak-ewma and metrics on. Prints each run, then each target's median and
# its ratio to the peer's (HAProxy's at h2c when it ran, else nginx's), and the median CPU the
# proxy spent per request, all of it and user time alone, from /proc over the measured run:
# steadier than req/s when other work shares the machine.
#
#   swift build -c release
#   Benchmarks/loopback/alternate.sh nginx /path/to/old/switchyard .build/release/switchyard
#   (cd Benchmarks && swift build -c release --product H2Relay)          # the floors on NIO:
#   Benchmarks/loopback/alternate.sh nginx ../shared/bench/nio-splice/.build/release/nio-splice \
#       Benchmarks/.build/release/H2Relay .build/release/switchyard
#   H2=16x1 Benchmarks/loopback/alternate.sh haproxy Benchmarks/.build/release/H2Relay .build/release/switchyard
#
# A target is `nginx`, `haproxy` (../shared/bench's configs, one worker), a floor binary named
# `nio-splice` (HTTP/1.1 only), `H2Relay` (../h2relay/README.md), `EpollRelay`, `ChannelRelay` or
# `SwitchyardOnEpoll` (../epollrelay/README.md; the last loads plugins from SWITCHYARD_PLUGIN_DIR
# or beside it), or a Switchyard release binary with its plugins beside it. ROUNDS (4), CONNS (16)
# and DURATION (4 s) change the runs; H2=CLIENTSxSTREAMS (e.g. 4x16) loads h2c with h2load
# instead of HTTP/1.1 with wrk; CPU=user counts the proxy's user time alone (the kernel's
# share of a request swings more between runs than a change to the proxy's code moves it). Uses
# the ports of ../shared/bench (18081-18083, 18090-18091, 18190-18191).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared/bench"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/backends.sh"
rounds="${ROUNDS:-4}" conns="${CONNS:-16}" duration="${DURATION:-4}" h2="${H2:-}"
[ "$#" -gt 0 ] || { echo "usage: $0 TARGET... (nginx, haproxy, a nio-splice or H2Relay binary, a switchyard binary)" >&2; exit 2; }
work="$(mktemp -d /tmp/switchyard-alternate-XXXXXX)"
mkdir -p "$work/nginx/tmp"

start_backends "$work" taskset -c 1
port="$(free_port)"
switchyard_config "$work/switchyard.yaml" "$port"

for round in $(seq 1 "$rounds"); do
    for target in "$@"; do
        case "$(basename "$target")" in
        nginx)
            start "$work/nginx.log" taskset -c 0 nginx -p "$work/nginx/" -e stderr -c "$shared/nginx-proxy.conf" -g 'daemon off; worker_processes 1;'
            target_port=$([ -n "$h2" ] && echo 18190 || echo 18090) ;;
        haproxy)
            HAPROXY_NBTHREAD=1 start "$work/haproxy.log" taskset -c 0 haproxy -db -f "$shared/haproxy.cfg"
            target_port=$([ -n "$h2" ] && echo 18191 || echo 18091) ;;
        nio-splice | H2Relay | EpollRelay | ChannelRelay | SwitchyardOnEpoll)
            [ -z "$h2" ] || [ "$(basename "$target")" != nio-splice ] || { echo "nio-splice splices bytes: HTTP/1.1 only" >&2; exit 2; }
            target_port="$(free_port)"
            start "$work/$(basename "$target").log" taskset -c 0 "$target" "$target_port" 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083 ;;
        *)
            start "$work/switchyard.log" taskset -c 0 "$target" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
            target_port="$port" ;;
        esac
        proxy=$started
        if [ -n "$h2" ]; then
            read -r rps requests seconds user < <(measure_h2load "$proxy" "$target_port" "$h2" "$duration" taskset -c 1)
        else
            read -r rps requests seconds user < <(measure_wrk "$proxy" "$target_port" "$conns" "$duration" taskset -c 1)
        fi
        stop "$proxy"
        cpu="$(awk -v s="$seconds" -v u="$user" -v n="$requests" 'BEGIN {printf "%.2f %.2f", s / n * 1e6, u / n * 1e6}')"
        echo "$round $target $rps $cpu" | tee -a "$work/runs.txt"
    done
done

python3 - "$work/runs.txt" "${CPU:-}" "$h2" <<'EOF'
import statistics, sys
kind = "user time" if sys.argv[2] == "user" else "CPU"
runs = {}
cpu = {}
user = {}
for line in open(sys.argv[1]):
    _, target, rps, micros, user_micros = line.split()
    runs.setdefault(target, []).append(float(rps))
    cpu.setdefault(target, []).append(float(micros))
    user.setdefault(target, []).append(float(user_micros))
peer = "haproxy" if sys.argv[3] and "haproxy" in runs else "nginx"
reference = statistics.median(runs[peer]) if peer in runs else None
for target, values in runs.items():
    median = statistics.median(values)
    ratio = f"  {median / reference:.2f}x {peer}" if reference else ""
    split = "" if sys.argv[2] == "user" else f" ({statistics.median(user[target]):.1f} µs user)"
    print(f"{target}: median {median:.0f} req/s of {len(values)} runs{ratio}, {statistics.median(cpu[target]):.1f} µs of proxy {kind} per request{split}")
EOF
echo "runs: $work/runs.txt"
