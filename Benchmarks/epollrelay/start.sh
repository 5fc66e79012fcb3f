#!/usr/bin/env bash
# EXTRA_CMD for ../../../shared/bench/run.sh: a program of README.md on the harness's three
# backends, HTTP/1.1 and h2c on one port. EpollRelay by default; RELAY_BIN runs ChannelRelay or
# SwitchyardOnEpoll instead (the last loads plugins from SWITCHYARD_PLUGIN_DIR, or beside it).
# Build them first: (cd Benchmarks && swift build -c release --product EpollRelay)
#
#   EXTRA_NAME=epollrelay EXTRA_PORT=18097 EXTRA_H2_PORT=18097 \
#   EXTRA_CMD="exec $PWD/Benchmarks/epollrelay/start.sh" ../shared/bench/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "${RELAY_BIN:-$here/.build/release/EpollRelay}" "${BENCH_LISTEN_PORT:?run me from bench/run.sh}" "${BENCH_BACKENDS:?}"
