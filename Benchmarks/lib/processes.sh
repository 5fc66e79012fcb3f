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
