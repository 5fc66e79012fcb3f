#!/usr/bin/env bash
# Endpoint churn under load (the discovery issue: "Under load (c=64 through the loopback
# harness's backends), 10 endpoint changes per second cause no failed request and cost <= 5 % of
# throughput"). Three nginx backends; Switchyard (one event loop) finds them with the `file`
# discovery, read every 100 ms; wrk -t1 -c64 for DURATION seconds, in two phases:
#   A (steady): the file lists all three backends and does not change;
#   B (churn):  the file is rewritten (tmp + mv) 10 times a second, cycling {1,2,3} -> {1,2} ->
#               {1,3} -> {2,3} -> {1,2,3} ..., so every change adds and/or removes an endpoint and
#               at least two always serve.
#
#   swift build -c release
#   Benchmarks/discovery/run.sh                           # ROUNDS=4 of A and B (ABBA...), 10 s each
#   DURATION=3 ROUNDS=1 Benchmarks/discovery/run.sh       # a quick check
#
# Knobs: DURATION (10), ROUNDS (4), RATE (10 changes/s), WARMUP (1 s of load before the first
# round), PROXY_CPU (0), LOAD_CPU (1: wrk, the backends and the file writer), PIN (1; 0 = no
# taskset), SWITCHYARD_BIN (the release build).
# Prints one row per run: requests/s, non-2xx responses, socket errors, changes written, changes
# the proxy applied (its switchyard_discovery_updates_total{event="reset"} over the run) and the
# connections the backends accepted (nginx stub_status: what the changes cost in new upstream
# connections); then the medians, churn cost = 1 - median(B)/median(A), and PASS/FAIL for "no
# failed request" and "cost <= 5 %". Each run's /metrics is kept in the work directory.
# Everything is on 127.0.0.1; every process it starts is stopped by PID when it ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/.build/release/switchyard}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-4}"
rate="${RATE:-10}"
warmup="${WARMUP:-1}"
proxy_cpu="${PROXY_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"
source "$root/Benchmarks/lib/processes.sh"

[ -x "$bin" ] || { echo "no switchyard at $bin: swift build -c release" >&2; exit 1; }
[ -f "$(dirname "$bin")/libStandardDiscovery.so" ] || {
    echo "no libStandardDiscovery.so beside $bin (a build from before discovery?): swift build -c release" >&2
    exit 1
}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx missing: apt-get install -y nginx" >&2; exit 1; }
work="$(mktemp -d /tmp/switchyard-discovery-XXXXXX)"
# The CPUs: taskset when it is there (and PIN is not 0). Arrays, so that `start` runs taskset
# itself and the PID it keeps is the process's own (taskset execs it).
pin_proxy=() pin_load=()
if [ "${PIN:-1}" != 0 ] && command -v taskset >/dev/null; then
    pin_proxy=(taskset -c "$proxy_cpu") pin_load=(taskset -c "$load_cpu")
fi

# Backends: one nginx each (as ../shared/bench/nginx-backend.conf, one port per instance).
ports=()
for n in 1 2 3; do
    port=$(free_port)
    mkdir -p "$work/nginx-$n/tmp"
    cat >"$work/nginx-$n/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid nginx.pid;
events { worker_connections 8192; }
http {
    access_log off;
    server_tokens off;
    default_type text/plain;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    tcp_nodelay on;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / { return 200 "backend-$n\n"; }
        location = /nginx_status { stub_status; }  # accepts: the proxy's connections to it
    }
}
NGINX
    start "$work/nginx-$n.log" "${pin_load[@]}" nginx -p "$work/nginx-$n/" -e stderr -c "$work/nginx-$n/nginx.conf"
    ports+=("$port")
done
for port in "${ports[@]}"; do wait_http "$port"; done

# The endpoints file, written whole and renamed over (the discovery never reads half a file).
endpoints="$work/endpoints.json"
write_endpoints() {  # write_endpoints PORT...
    local list="" port
    for port in "$@"; do list+="${list:+, }{\"address\": \"127.0.0.1:$port\"}"; done
    printf '{"endpoints": [%s]}\n' "$list" >"$endpoints.tmp"
    mv -f "$endpoints.tmp" "$endpoints"
}
write_endpoints "${ports[@]}"

cat >"$work/switchyard.yaml" <<YAML
listen: 127.0.0.1:0
services: [{ authority: web.bench:80 }]
backends:
  - authority: web.bench:80
    balancer: { name: p2c-peak-ewma }
    discovery: { name: file, config: { path: "$endpoints", interval: 100ms } }
YAML
start "$work/switchyard.log" "${pin_proxy[@]}" "$bin" run --config "$work/switchyard.yaml" --threads 1 --admin 127.0.0.1:0
admin=$(wait_line "$work/switchyard.log" '.*admin listening on ' | sed -E 's/.*:([0-9]+)$/\1/')
port=$(wait_line "$work/switchyard.log" '.*proxy listening on ' | sed -E 's/.*127\.0\.0\.1:([0-9]+) .*/\1/')
# Until the backend answers through the proxy with Host: web.bench, at most 10 s.
for i in $(seq 1 100); do
    curl -sf --max-time 2 -o /dev/null -H 'Host: web.bench' "http://127.0.0.1:$port/" && break
    [ "$i" = 100 ] && { echo "no 200 through the proxy on $port: $(cat "$work/switchyard.log")" >&2; exit 1; }
    sleep 0.1
done

# resets FILE: the proxy's /metrics into FILE; prints its count of endpoint sets taken so far.
resets() {
    curl -sf --max-time 2 -o "$1" "http://127.0.0.1:$admin/metrics"
    awk '/^switchyard_discovery_updates_total\{.*event="reset"\}/ { n = $2 } END { print n + 0 }' "$1"
}

# accepts: connections the three backends have accepted so far (the proxy's, and these probes').
accepts() {
    local total=0 port n
    for port in "${ports[@]}"; do
        n=$(curl -sf --max-time 2 "http://127.0.0.1:$port/nginx_status" | awk 'NR == 3 { print $1 }')
        total=$((total + n + 0))
    done
    echo "$total"
}

# The file writer: rewrites the file RATE times a second for SECONDS on a fixed schedule (no
# drift), cycling through the sets; prints "changes N" at the end, and ends by itself.
cat >"$work/churn.py" <<'PY'
import json, os, sys, time
path, rate, seconds, ports = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
b1, b2, b3 = ports
sets = [[b1, b2], [b1, b3], [b2, b3], [b1, b2, b3]]  # the file starts with all three
start, changes = time.monotonic(), 0
while changes / rate < seconds:
    time.sleep(max(0.0, start + changes / rate - time.monotonic()))
    with open(path + ".tmp", "w") as f:
        json.dump({"endpoints": [{"address": f"127.0.0.1:{p}"} for p in sets[changes % len(sets)]]}, f)
    os.rename(path + ".tmp", path)
    changes += 1
print(f"changes {changes}", flush=True)
PY

# load SECONDS OUT: wrk through the proxy (c=64, one thread).
load() {
    "${pin_load[@]}" wrk -t1 -c64 -d"$1"s --timeout 5s -H 'Host: web.bench' "http://127.0.0.1:$port/" >"$2" 2>&1
}

# parse_wrk OUT: "rps non2xx errors".
parse_wrk() {
    awk '/^Requests\/sec:/ { rps = $2 }
         /Non-2xx or 3xx responses:/ { non2xx = $NF }
         /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) errors += $i }
         END { if (rps == "") rps = "nan"; print rps, non2xx + 0, errors + 0 }' "$1"
}

if [ "$warmup" -gt 0 ]; then load "$warmup" "$work/warmup.wrk"; fi

rows="$work/rows.tsv"
: >"$rows"
printf "%-5s %-6s %10s %7s %7s %8s %8s %9s\n" round phase rps non2xx errors written applied connects
for round in $(seq 1 "$rounds"); do
    # A then B in odd rounds, B then A in even ones: a drift of the machine's speed falls on both.
    phases="A B"
    if [ $((round % 2)) = 0 ]; then phases="B A"; fi
    for phase in $phases; do
        write_endpoints "${ports[@]}"
        sleep 0.3  # the last churn's change back to all three is taken before the count starts
        before=$(resets "$work/$phase-$round.metrics-before")
        connects=$(accepts)
        if [ "$phase" = B ]; then
            start "$work/churn-$round.out" "${pin_load[@]}" python3 "$work/churn.py" "$endpoints" "$rate" "$duration" "${ports[@]}"
            churner=$started
        fi
        load "$duration" "$work/$phase-$round.wrk"
        written=0
        if [ "$phase" = B ]; then
            reap "$churner" || { echo "the file writer failed: $(cat "$work/churn-$round.out")" >&2; exit 1; }
            written=$(awk '/^changes / { print $2 }' "$work/churn-$round.out")
        fi
        applied=$(($(resets "$work/$phase-$round.metrics") - before))
        connects=$(($(accepts) - connects - 3))  # less the first probes' own 3
        read -r rps non2xx errors < <(parse_wrk "$work/$phase-$round.wrk")
        printf "%-5s %-6s %10s %7s %7s %8s %8s %9s\n" "$round" "$phase" "$rps" "$non2xx" "$errors" "$written" "$applied" "$connects"
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$phase" "$rps" "$non2xx" "$errors" "$written" "$applied" "$connects" >>"$rows"
    done
done

python3 - "$rows" "$duration" "$rate" <<'PY'
import statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
duration, rate = float(sys.argv[2]), float(sys.argv[3])
def med(phase, col): return statistics.median(float(r[col]) for r in rows if r[0] == phase)
def total(phase, col): return sum(int(r[col]) for r in rows if r[0] == phase)
print()
for phase, what in (("A", "steady"), ("B", f"{rate:g} changes/s")):
    print(f"{'median':<12} {med(phase, 1):10.0f} {med(phase, 2):7.0f} {med(phase, 3):7.0f} {med(phase, 4):8.0f}"
          f" {med(phase, 5):8.0f} {med(phase, 6):9.0f}   ({phase}, {what})")
print(f"changes applied per second in B: {med('B', 5) / duration:.1f} (written: {med('B', 4) / duration:.1f})")
cost = 1 - med("B", 1) / med("A", 1)
print(f"churn cost = 1 - median(B)/median(A) = {cost * 100:.1f} %")
failed_b = total("B", 2) + total("B", 3)
failed_a = total("A", 2) + total("A", 3)
print(f"{'PASS' if failed_b == 0 else 'FAIL'}: no failed request under churn ({failed_b} non-2xx or socket errors in B"
      + (f"; {failed_a} in A, with no churn at all" if failed_a else "") + ")")
print(f"{'PASS' if cost <= 0.05 else 'FAIL'}: churn cost {cost * 100:.1f} % <= 5 %")
PY
echo "logs and raw wrk output: $work"
