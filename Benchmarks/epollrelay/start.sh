#!/usr/bin/env bash
# EXTRA_CMD for ../../../shared/bench/run.sh: the HTTP/1.1 floor below NIO (EpollRelay/main.swift,
# README.md) on the harness's three backends. Build it first:
# (cd Benchmarks && swift build -c release --product EpollRelay)
#
#   H2=0 EXTRA_NAME=epollrelay EXTRA_PORT=18097 \
#   EXTRA_CMD="exec $PWD/Benchmarks/epollrelay/start.sh" ../shared/bench/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "${RELAY_BIN:-$here/.build/release/EpollRelay}" "${BENCH_LISTEN_PORT:?run me from bench/run.sh}" "${BENCH_BACKENDS:?}"
