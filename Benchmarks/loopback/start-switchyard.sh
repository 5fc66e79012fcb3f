#!/usr/bin/env bash
# EXTRA_CMD for ../shared/bench/run.sh: writes a config over the harness's three backends with
# Switchyard's default balancer (p2c-peak-ewma; SWITCHYARD_BALANCER=round-robin balances as
# nginx, HAProxy and Envoy do there) and execs the release build of switchyard.
#
#   swift build -c release
#   EXTRA_NAME=switchyard EXTRA_PORT=18099 EXTRA_H2_PORT=18099 \
#   EXTRA_CMD="exec $PWD/Benchmarks/loopback/start-switchyard.sh" ../shared/bench/run.sh
#
# SWITCHYARD_BIN runs another build instead (an older commit's, to compare two in turn).
# SWITCHYARD_ACCESS_LOG=FILE turns the access log on (SWITCHYARD_ACCESS_LOG_FORMAT: text or json).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
port="${BENCH_LISTEN_PORT:?run me from bench/run.sh}"
config="${TMPDIR:-/tmp}/switchyard-bench-$port.yaml"  # one file a port, rewritten each start
{
    echo "listen: 127.0.0.1:$port"
    if [ -n "${SWITCHYARD_ACCESS_LOG:-}" ]; then
        echo "accessLog: { path: $SWITCHYARD_ACCESS_LOG, format: ${SWITCHYARD_ACCESS_LOG_FORMAT:-text} }"
    fi
    echo "services:"
    echo "  - authority: 127.0.0.1:$port"
    echo "backends:"
    echo "  - authority: 127.0.0.1:$port"
    echo "    balancer: { name: ${SWITCHYARD_BALANCER:-p2c-peak-ewma} }"
    echo "    endpoints:"
    for backend in ${BENCH_BACKENDS//,/ }; do echo "      - { address: $backend }"; done
} >"$config"
exec "${SWITCHYARD_BIN:-$root/.build/release/switchyard}" run --config "$config" --threads "${BENCH_WORKERS:-1}" --log-level warning --admin 127.0.0.1:0
