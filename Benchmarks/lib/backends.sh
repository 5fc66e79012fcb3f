# Sourced by the benchmark scripts (after processes.sh): the harness's three nginx backends
# (../shared/bench/nginx-backend.conf, ports 18081-18083) and a Switchyard config over them.
#
#   start_backends "$work" [PREFIX...]      # e.g. taskset -c 1; waits until they answer
#   switchyard_config "$work/switchyard.yaml" "$port"

# start_backends WORK [PREFIX...]: one nginx worker serving the three backends, run under PREFIX.
start_backends() {
    local work=$1
    shift
    mkdir -p "$work/backend/tmp"
    start "$work/backend.log" "$@" nginx -p "$work/backend/" -e stderr -c "$shared/nginx-backend.conf" -g 'daemon off; worker_processes 1;'
    wait_http 18081
}

# switchyard_config FILE PORT: listen on 127.0.0.1:PORT, p2c-peak-ewma over the three backends.
switchyard_config() {
    cat >"$1" <<CONFIG
listen: 127.0.0.1:$2
services: [{ authority: 127.0.0.1:$2 }]
backends:
  - authority: 127.0.0.1:$2
    balancer: { name: p2c-peak-ewma }
    endpoints: [{ address: 127.0.0.1:18081 }, { address: 127.0.0.1:18082 }, { address: 127.0.0.1:18083 }]
CONFIG
}
