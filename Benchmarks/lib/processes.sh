# Sourced by the benchmark scripts: the processes a script starts, stopped by PID (never by
# name) when it stops or exits, and bounded waits on 127.0.0.1.
#
#   source "$root/Benchmarks/lib/processes.sh"
#   start "$work/nginx.log" nginx -c ...; backend=$started     # runs it, remembers its PID
#   wait_http "$port"                                            # until GET / answers 200 (10 s)
#   stop "$backend"                                              # or reap: wait for it to end

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start LOG CMD...: runs CMD in the background, its output to LOG; its PID in $started.
start() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    started=$!
    pids+=("$started")
}

# reap PID: waits for a process this script started to end by itself, then forgets it (so the
# exit trap never signals a PID the system may have reused). Returns its status.
reap() {
    local status=0
    wait "$1" 2>/dev/null || status=$?
    local kept=()
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    pids=("${kept[@]}")
    return "$status"
}

# stop PID: ends a process this script started, and reaps it.
stop() {
    kill "$1" 2>/dev/null || true
    reap "$1" || true
}

# free_port: a port of 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http PORT: until GET / on 127.0.0.1:PORT answers 200, at most 10 s.
wait_http() {
    for _ in $(seq 1 100); do curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
    echo "nothing answers 200 on $1" >&2
    return 1
}

# wait_line FILE PREFIX: until FILE has a line starting with PREFIX, at most 10 s; prints it.
wait_line() {
    for _ in $(seq 1 100); do grep -m1 "^$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "no '$2' line in $1: $(cat "$1" 2>/dev/null)" >&2
    return 1
}

# cpu_ticks PID: the user + system clock ticks PID and its children (nginx's workers) used;
# with CPU=user, the user ticks alone (the part of a proxy's time its own code decides).
cpu_ticks() {
    local total=0 pid fields='$14 + $15'
    [ "${CPU:-}" = user ] && fields='$14'
    for pid in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(awk "{print $fields}" "/proc/$pid/stat")))
    done
    echo "$total"
}

# both_ticks PID: "cpu_ticks user_ticks" for PID, the ticks measure_wrk and measure_h2load take.
both_ticks() { echo "$(cpu_ticks "$1") $(CPU=user cpu_ticks "$1")"; }

# measure_wrk PID PORT CONNS DURATION [PREFIX...]: once 127.0.0.1:PORT answers, wrk against
# it, 1 s to warm up and DURATION s measured, each run under PREFIX (e.g. taskset -c 1) with
# WRK_THREADS (1) threads; prints "req/s requests cpu_seconds user_seconds": what PID used
# meanwhile (cpu_ticks'), then its user time alone. wrk's error lines go to stderr.
measure_wrk() {
    local pid=$1 port=$2 conns=$3 duration=$4 before after out
    shift 4
    wait_http "$port" >&2 || return 1
    "$@" wrk -t"${WRK_THREADS:-1}" -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null
    before="$(both_ticks "$pid")"
    out="$("$@" wrk -t"${WRK_THREADS:-1}" -c"$conns" -d"${duration}s" "http://127.0.0.1:$port/")"
    after="$(both_ticks "$pid")"
    grep -E "Socket errors|Non-2xx" <<<"$out" >&2 || true
    awk -v t="$before $after" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {split(t, k, " ")} /Requests\/sec/ {rps = $2} /requests in/ {n = $1}
         END {printf "%s %s %.3f %.3f\n", rps, n, (k[3] - k[1]) / hz, (k[4] - k[2]) / hz}' <<<"$out"
}

# measure_h2load PID PORT CLIENTSxSTREAMS DURATION [PREFIX...]: measure_wrk's h2c twin, with
# h2load's prior-knowledge HTTP/2 (CLIENTS connections, STREAMS concurrent streams each); prints
# "req/s requests cpu_seconds user_seconds", and its requests line to stderr when any failed.
measure_h2load() {
    local pid=$1 port=$2 clients=${3%x*} streams=${3#*x} duration=$4 before after out
    shift 4
    for _ in $(seq 1 100); do curl -sf --http2-prior-knowledge --max-time 2 -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    "$@" h2load -c"$clients" -m"$streams" -D 1 "http://127.0.0.1:$port/" >/dev/null
    before="$(both_ticks "$pid")"
    out="$("$@" h2load -c"$clients" -m"$streams" -D "$duration" "http://127.0.0.1:$port/")"
    after="$(both_ticks "$pid")"
    awk '/^requests:/ && $10 + $12 + $14 > 0' <<<"$out" >&2
    awk -v t="$before $after" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {split(t, k, " ")} /finished in/ {rps = $4} /^requests:/ {n = $8}
         END {printf "%s %s %.3f %.3f\n", rps, n, (k[3] - k[1]) / hz, (k[4] - k[2]) / hz}' <<<"$out"
}
