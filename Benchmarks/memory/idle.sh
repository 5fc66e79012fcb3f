# Sourced by the memory scripts (after ../lib/processes.sh): a Switchyard config for idle
# keep-alive connections, and N of them held open by idle_clients.py.
#
#   idle_config FILE PORT BACKEND_PORT COUNT     # one event loop's config, connections kept 300 s
#   hold_idle_clients WORK NAME PORT COUNT       # opens them; $clients is their PID
#   release_idle_clients                         # lets them go

# idle_config FILE PORT BACKEND_PORT COUNT: listen on PORT, proxy to the backend, room for COUNT
# connections, idle ones kept 300 s (nothing closes while a script measures).
idle_config() {
    cat >"$1" <<YAML
listen: 127.0.0.1:$2
limits: { connections: $(($4 + 100)) }
timeouts: { keepAlive: 300s }
services: [{ authority: 127.0.0.1:$2 }]
backends: [{ authority: 127.0.0.1:$2, endpoints: [{ address: 127.0.0.1:$3 }] }]
YAML
}

# hold_idle_clients WORK NAME PORT COUNT: COUNT keep-alive connections to PORT, each after one
# GET (with a Cookie of COOKIE_BYTES when set), held until release_idle_clients; waits (60 s at
# most) until all of them are open, else fails naming NAME.
hold_idle_clients() {
    local work=$1 name=$2 port=$3 count=$4
    mkfifo "$work/$name.hold"
    # Its stdin is the FIFO: closing our end lets the clients go.
    python3 -u "$root/Benchmarks/memory/idle_clients.py" "$port" "$count" --hold=300 ${COOKIE_BYTES:+--cookie-bytes=$COOKIE_BYTES} <"$work/$name.hold" >"$work/$name.clients" 2>&1 &
    clients=$!
    pids+=("$clients")
    exec 3>"$work/$name.hold"
    for _ in $(seq 1 600); do grep -q '^idle ' "$work/$name.clients" 2>/dev/null && break; sleep 0.1; done
    grep -q "^idle $count" "$work/$name.clients" || { echo "$name: clients did not all connect: $(cat "$work/$name.clients")" >&2; exit 1; }
}

# release_idle_clients: closes the clients hold_idle_clients opened, and reaps them.
release_idle_clients() {
    exec 3>&-
    stop "$clients"
}
