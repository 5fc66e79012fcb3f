# Sourced by the benchmark scripts that run a peer proxy beside Switchyard.
#
#   source "$root/Benchmarks/lib/peers.sh"
#   envoy_http2_config "$work/envoy.yaml" "$port" "$upstream_port"

# envoy_http2_config FILE PORT UPSTREAM_PORT: an Envoy config listening on PORT (HTTP/1.1 or
# h2c) with one HTTP/2 upstream at UPSTREAM_PORT, the tuning of ../shared/bench/envoy.yaml (no
# request IDs, no Envoy headers), its admin on a free port; no retry policy.
envoy_http2_config() {
    local admin
    admin=$(free_port)
    cat >"$1" <<YAML
admin: { address: { socket_address: { address: 127.0.0.1, port_value: $admin } } }
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          codec_type: AUTO
          generate_request_id: false
          route_config:
            virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: upstream } }] }]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router, suppress_envoy_headers: true }
  clusters:
  - name: upstream
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: upstream
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $3 } } } }] }]
YAML
}
