#!/usr/bin/env bash
# EXTRA_CMD for ../../../shared/bench/run.sh: the h2c floor (H2Relay/main.swift, README.md) on
# the harness's three backends. Build it first: (cd Benchmarks && swift build -c release --product H2Relay)
#
#   EXTRA_NAME=h2relay EXTRA_PORT=18098 EXTRA_H2_PORT=18098 \
#   EXTRA_CMD="exec $PWD/Benchmarks/h2relay/start.sh" ../shared/bench/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "${H2RELAY_BIN:-$here/.build/release/H2Relay}" "${BENCH_LISTEN_PORT:?run me from bench/run.sh}" "${BENCH_BACKENDS:?}"
