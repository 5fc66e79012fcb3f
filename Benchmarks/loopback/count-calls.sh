#!/usr/bin/env bash
# Counts what one proxied request costs in calls that do not depend on the machine's mood: the
# Swift runtime's retains and releases (each an atomic operation) and libc's mallocs, by `perf`
# uprobes on the proxy while wrk (HTTP/1.1, 16 connections) or h2load (H2=CLIENTSxSTREAMS)
# loads it for 3 s after a 2 s warm-up. Prints each count per request. Time per request swings
# by tens of percent between runs on a shared VM; these counts repeat within a percent, so two
# builds compare on them where their timings cannot tell them apart. Needs root (uprobes) and
# Debian's linux-perf; adds the probes it needs and deletes them as it exits.
#
#   swift build -c release
#   Benchmarks/loopback/count-calls.sh .build/release/switchyard
#   H2=4x16 Benchmarks/loopback/count-calls.sh /path/to/old/switchyard
#   Benchmarks/loopback/count-calls.sh ../shared/bench/nio-splice/.build/release/nio-splice   # NIO alone (HTTP/1.1)
#   Benchmarks/loopback/count-calls.sh Benchmarks/.build/release/H2Relay   # the floor of an HTTP proxy on NIO
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared/bench"
source "$root/Benchmarks/lib/processes.sh"
source "$root/Benchmarks/lib/backends.sh"
[ "$#" -eq 1 ] || { echo "usage: $0 SWITCHYARD_BINARY|NIO_SPLICE_BINARY|H2RELAY_BINARY" >&2; exit 2; }
binary=$1 h2="${H2:-}"

swift_core="$(ldd "$binary" | awk '/libswiftCore.so/ {print $3}')"
libc="$(ldd "$binary" | awk '/libc.so.6/ {print $3}')"
perf probe -q -x "$swift_core" swift_retain 2>/dev/null || true  # (already there: fine)
perf probe -q -x "$swift_core" swift_release 2>/dev/null || true
perf probe -q -x "$libc" malloc 2>/dev/null || true
work="$(mktemp -d /tmp/switchyard-count-XXXXXX)"
trap 'cleanup; perf probe -q -d "probe_libswiftCore:*" -d "probe_libc:*" || true' EXIT

start_backends "$work" taskset -c 1
port="$(free_port)"
switchyard_config "$work/switchyard.yaml" "$port"
if [ "$(basename "$binary")" = nio-splice ] || [ "$(basename "$binary")" = H2Relay ]; then
    # The bare NIO byte splice of ../shared/bench, for NIO's own share of a request, or the
    # minimal HTTP relay of ../h2relay, for what a proxy on NIO cannot do without.
    start "$work/floor.log" taskset -c 0 "$binary" "$port" 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083
else
    start "$work/switchyard.log" taskset -c 0 "$binary" run --config "$work/switchyard.yaml" --threads 1 --log-level warning --admin 127.0.0.1:0
fi
proxy=$started
wait_http "$port"
if [ -n "$h2" ]; then
    load=(h2load -c"${h2%x*}" -m"${h2#*x}")
    duration=(-D)
else
    load=(wrk -t1 -c16)
    duration=(-d)
fi
taskset -c 1 "${load[@]}" "${duration[@]}" 2 "http://127.0.0.1:$port/" >/dev/null
perf stat -x, -o "$work/stat.csv" -e probe_libswiftCore:swift_retain -e probe_libswiftCore:swift_release -e probe_libc:malloc -p "$proxy" -- \
    taskset -c 1 "${load[@]}" "${duration[@]}" 3 "http://127.0.0.1:$port/" >"$work/load.txt"
requests="$(awk '/requests in/ {print $1} /^requests:/ {print $8}' "$work/load.txt")"
# Mallocs to two decimals: runs of one build differ in the second (1.14-1.18 at HTTP/1.1 c=16).
awk -F, -v n="$requests" '$3 ~ /probe/ {split($3, name, ":"); printf "%s %.*f per request\n", name[2], name[2] == "malloc" ? 2 : 1, $1 / n}' "$work/stat.csv"
stop "$proxy"
