/// The configuration `switchyard demo` runs. `examples/quickstart.yaml` holds the same text
/// (a test keeps them equal), so users can start from it with `switchyard run`.
public enum DemoConfig {
    /// The YAML text.
    public static let yaml = """
        # The config `switchyard demo` runs (it also starts the three upstreams below).
        #
        # web.demo splits 90/10 between two versions; web-v1 has two endpoints, the second one slow,
        # so p2c-peak-ewma learns to send it less.
        admin: 127.0.0.1:4191
        listen: 127.0.0.1:4140
        services:
          - authority: web.demo.svc.cluster.local:80
            routes:
              - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: demo, name: web-split }
                rules:
                  - backends:
                      - { service: web-v1.demo.svc.cluster.local:80, weight: 90 }
                      - { service: web-v2.demo.svc.cluster.local:80, weight: 10 }
          - authority: web-v1.demo.svc.cluster.local:80
          - authority: web-v2.demo.svc.cluster.local:80
        backends:
          - authority: web-v1.demo.svc.cluster.local:80
            balancer: { name: p2c-peak-ewma, config: { defaultRtt: 30ms, decay: 10s } }
            endpoints:
              - { address: 127.0.0.1:18081, labels: { dst_pod: web-v1-0, dst_namespace: demo } }
              - { address: 127.0.0.1:18082, labels: { dst_pod: web-v1-1, dst_namespace: demo } }
          - authority: web-v2.demo.svc.cluster.local:80
            endpoints:
              - { address: 127.0.0.1:18083, labels: { dst_pod: web-v2-0, dst_namespace: demo } }
        """

    /// The demo upstreams: name, address and added delay (the second is the slow one).
    public static let upstreams: [(name: String, host: String, port: Int, delayMilliseconds: Int64)] = [
        ("web-v1-0", "127.0.0.1", 18081, 0),
        ("web-v1-1", "127.0.0.1", 18082, 25),
        ("web-v2-0", "127.0.0.1", 18083, 0),
    ]
}
