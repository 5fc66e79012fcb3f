import Foundation

/// Real peers for end-to-end tests: HTTP/1.1 upstreams and gRPC servers in Python, and the
/// proxy itself, each on an ephemeral port of 127.0.0.1.
public enum Peers {
    /// Starts `Tests/Fixtures/http_upstream.py` serving one port per name; returns the process
    /// and each name's port.
    public static func httpUpstreams(_ names: [String]) throws -> (BackgroundProcess, [String: Int]) {
        let process = try BackgroundProcess("/usr/bin/env", ["python3", "-u", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/http_upstream.py"] + names)
        let line = try process.waitForLine(containing: "ready ")
        var ports: [String: Int] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            ports[String(parts[0])] = Int(parts[1])
        }
        return (process, ports)
    }

    /// Starts a gRPC server (`Tests/Fixtures/grpc_peer.py`) named `name`; returns it and its port.
    public static func grpcServer(_ name: String) throws -> (BackgroundProcess, Int) {
        let process = try BackgroundProcess("/usr/bin/env", ["python3", "-u", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/grpc_peer.py", "server", "0", name])
        let line = try process.waitForLine(containing: "ready ")
        return (process, Int(line.split(separator: " ")[1])!)
    }

    /// Makes one gRPC call through `port` with `authority`; returns the client's JSON report.
    public static func grpcCall(port: Int, authority: String, method: String, argument: String = "") throws -> [String: Any] {
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/grpc_peer.py", "client", "127.0.0.1:\(port)", authority, method, argument])
        guard let data = result.standardOutput.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw FixtureError(message: "grpc client failed: \(result.standardOutput) \(result.standardError)") }
        return object
    }

    /// Starts `switchyard run` with `config` (which should listen on port 0) and its admin port
    /// on any free port of 127.0.0.1; returns the process and the port it listens on.
    public static func proxy(config: String, extraArguments: [String] = []) throws -> (BackgroundProcess, Int) {
        try proxy(configFile: try FixturePlugin.writeFile(named: "switchyard.yaml", contents: config), extraArguments: extraArguments)
    }

    /// Starts `switchyard run` with the config at `path`, as ``proxy(config:extraArguments:)`` does.
    public static func proxy(configFile path: String, extraArguments: [String] = []) throws -> (BackgroundProcess, Int) {
        let process = try BackgroundProcess(
            BuildProducts.switchyard, ["run", "--config", path, "--threads", "1", "--admin", "127.0.0.1:0"] + extraArguments)
        let line = try process.waitForLine(containing: "proxy listening on ")
        guard let port = line.split(separator: " ").first(where: { $0.hasPrefix("127.0.0.1:") }).flatMap({ Int($0.split(separator: ":")[1]) }) else {
            throw FixtureError(message: "could not read the port from: \(line)")
        }
        return (process, port)
    }

    /// Starts a proxy with one service at `authority` (speaking `protocol` upstream, when
    /// given) whose backend is the one endpoint at `upstreamPort`.
    public static func proxy(authority: String, protocol proto: String? = nil, upstreamPort: Int) throws -> (BackgroundProcess, Int) {
        try proxy(
            config: """
                listen: 127.0.0.1:0
                services: [{ authority: \(authority)\(proto.map { ", protocol: \($0)" } ?? "") }]
                backends: [{ authority: \(authority), endpoints: [{ address: 127.0.0.1:\(upstreamPort) }] }]
                """)
    }

    /// Runs `body` with the port of a proxy (``proxy(authority:protocol:upstreamPort:)``) in
    /// front of `upstream`, and the upstream; stops both after.
    public static func withProxy(
        inFrontOf upstream: (BackgroundProcess, Int), authority: String, protocol proto: String? = nil,
        _ body: (Int, BackgroundProcess) throws -> Void
    ) throws {
        defer { upstream.0.stop() }
        let (proxy, port) = try proxy(authority: authority, protocol: proto, upstreamPort: upstream.1)
        defer { proxy.stop() }
        try body(port, upstream.0)
    }

    /// A port of 127.0.0.1 that was free a moment ago (bound, read, closed), for a peer that
    /// cannot bind port 0 and say which it got.
    public static func freePort() throws -> Int {
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        guard let port = Int(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw FixtureError(message: "no free port: \(result.standardError)")
        }
        return port
    }

    /// The admin port of a proxy ``proxy(config:extraArguments:)`` started.
    public static func adminPort(of proxy: BackgroundProcess) throws -> Int {
        let line = try proxy.waitForLine(containing: "admin listening on ")
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw FixtureError(message: "could not read the admin port from: \(line)")
        }
        return port
    }

    /// Reads `path` from a proxy's admin port; returns the status and body.
    public static func admin(_ port: Int, _ path: String, method: String = "GET", body: String? = nil, host: String? = nil) throws -> (
        status: Int, body: String
    ) {
        var arguments = ["curl", "-s", "-S", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "-X", method]
        if let body { arguments += ["--data-binary", body] }
        if let host { arguments += ["-H", "host: \(host)"] }
        let result = try Subprocess.run("/usr/bin/env", arguments + ["http://127.0.0.1:\(port)\(path)"])
        guard result.status == 0, let newline = result.standardOutput.lastIndex(of: "\n") else {
            throw FixtureError(message: "curl failed (\(result.status)): \(result.standardError)")
        }
        return (Int(result.standardOutput[result.standardOutput.index(after: newline)...]) ?? 0, String(result.standardOutput[..<newline]))
    }

    /// The value of the exposition line that starts with `series` (name and labels), if any.
    public static func metric(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// One HTTP exchange made with curl.
public struct CurlResponse: Sendable {
    /// Status code.
    public let status: Int
    /// Response headers, names lower-cased (last value wins).
    public let headers: [String: String]
    /// Response body.
    public let body: String
}

/// curl, as a user runs it.
public enum Curl {
    /// Requests `path` on the proxy at `port` with `Host: host`.
    public static func request(
        port: Int, host: String, path: String = "/", method: String? = nil, headers: [String] = [], http2: Bool = false,
        extra: [String] = []
    ) throws -> CurlResponse {
        var arguments = ["-s", "-S", "-i", "--max-time", "30", "-H", "host: \(host)"]
        if let method { arguments += ["-X", method] }
        if http2 { arguments.append("--http2-prior-knowledge") }
        for header in headers { arguments += ["-H", header] }
        arguments += extra + ["http://127.0.0.1:\(port)\(path)"]
        let result = try Subprocess.run("/usr/bin/env", ["curl"] + arguments)
        guard result.status == 0 else { throw FixtureError(message: "curl failed (\(result.status)): \(result.standardError)") }
        return parse(result.standardOutput)
    }

    static func parse(_ text: String) -> CurlResponse {
        // Skip interim 1xx responses; headers end at the first blank line after the final status.
        var rest = Substring(text)
        while true {
            guard let end = rest.range(of: "\r\n\r\n") else { return CurlResponse(status: 0, headers: [:], body: String(rest)) }
            let head = rest[..<end.lowerBound]
            rest = rest[end.upperBound...]
            let lines = head.split(separator: "\r\n")
            let status = Int(lines.first?.split(separator: " ")[1] ?? "0") ?? 0
            if status >= 200 || status == 0 {
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return CurlResponse(status: status, headers: headers, body: String(rest))
            }
        }
    }
}

/// `Tests/Fixtures/attacks.py`: hostile clients and upstreams.
public enum Attacks {
    /// Runs one attack against the proxy on `port` with authority `host`; returns its JSON report.
    public static func run(_ attack: String, port: Int, host: String, _ argument: String? = nil) throws -> [String: Any] {
        try run(attack, port: port, host: host, arguments: argument.map { [$0] } ?? [])
    }

    private static func run(_ attack: String, port: Int, host: String, arguments: [String]) throws -> [String: Any] {
        let command = ["python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py", attack, String(port), host] + arguments
        let result = try Subprocess.run("/usr/bin/env", command, timeout: 90)
        guard result.status == 0, let data = result.standardOutput.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw FixtureError(message: "attack \(attack) \(arguments) failed (\(result.status)): \(result.standardOutput) \(result.standardError)") }
        return object
    }

    /// Starts an HTTP/2 upstream that answers every request with `kind`; returns it and its port.
    public static func hostileUpstream(_ kind: String) throws -> (BackgroundProcess, Int) {
        try server(["hostile-upstream", kind])
    }

    /// Starts an HTTP/2 upstream whose first two connections each hold `held` requests, then
    /// say GOAWAY ENHANCE_YOUR_CALM (last stream 0); later connections answer `after calm`.
    public static func calmUpstream(held: Int) throws -> (BackgroundProcess, Int) {
        try server(["calm-upstream", String(held)])
    }

    /// Starts an HTTP/2 upstream that answers every request with `200 ok` and prints
    /// `answered STREAM`, and `reset STREAM` for each RST_STREAM it receives.
    public static func countingUpstream() throws -> (BackgroundProcess, Int) {
        try server(["counting-upstream"])
    }

    /// Starts an HTTP/2 upstream that answers `200 early` as soon as a request's HEADERS
    /// arrive, before the request ends.
    public static func eagerUpstream() throws -> (BackgroundProcess, Int) {
        try server(["eager-upstream"])
    }

    /// Starts an HTTP/2 upstream that answers every request with a 12,000-byte body and the
    /// trailer `x-checksum: ok`, all in one write.
    public static func trailersUpstream() throws -> (BackgroundProcess, Int) {
        try server(["trailers-upstream"])
    }

    /// Starts an HTTP/2 upstream that allows one stream at a time, answers its first request
    /// and holds the second (`attacks.py narrow-upstream`). `goaway`: only its first
    /// connection is narrow; after a second it says a graceful GOAWAY (last stream id
    /// 2^31-1), answers the held request and stays open, and later connections answer every
    /// request `again`. `raise-window`: it raises its initial window as it takes the second,
    /// and prints `answered N` for each request.
    public static func narrowUpstream(_ mode: String = "goaway") throws -> (BackgroundProcess, Int) {
        try server(["narrow-upstream", mode])
    }

    /// Starts an HTTP/2 upstream that answers one request per connection, then says GOAWAY.
    public static func goAwayUpstream() throws -> (BackgroundProcess, Int) {
        try server(["goaway-upstream"])
    }

    /// Starts an HTTP/2 upstream that does not process some requests (`mode`: `refuse` resets
    /// each connection's first stream with REFUSED_STREAM, `refuse-two` its first two, `goaway`
    /// says GOAWAY with last stream ID 0 on the first connection; `interim-refuse` sends a 103
    /// before refusing the first stream, `close` closes the first connection with the request on
    /// it) and answers the others with `connection N stream S: BODY`. It prints `refused N S`,
    /// `goaway N S`, `closing N S` and `answered N S`.
    public static func refusingUpstream(_ mode: String) throws -> (BackgroundProcess, Int) {
        try server(["refusing-upstream", mode])
    }

    /// Starts an HTTP/1.1 upstream whose connections each answer one request (body
    /// `connection N`), then close under the next (`mode`: `fin`, `reset`, or `once`: only the
    /// first connection's first request is answered). It prints `request N PATH` for each, and
    /// `body N TEXT` for a `content-length` body.
    public static func staleUpstream(_ mode: String) throws -> (BackgroundProcess, Int) {
        try server(["stale-upstream", mode])
    }

    /// Starts an upstream that accepts connections and never answers; returns it and its port.
    public static func blackhole() throws -> (BackgroundProcess, Int) {
        try server(["blackhole"])
    }

    /// Sends `raw` to the proxy on `port`, then reads until it closes or `seconds` pass.
    public static func stall(port: Int, _ raw: String, seconds: Double) throws -> Stalled {
        let hex = raw.utf8.map { String(format: "%02x", $0) }.joined()
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py", "stall", String(port), hex, String(seconds)],
            timeout: seconds + 30)
        guard let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any] else {
            throw FixtureError(message: "stall failed: \(result.standardOutput) \(result.standardError)")
        }
        return Stalled(
            status: object["status"] as? Int ?? 0, headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
            closed: object["closed"] as? Bool ?? false, elapsed: object["elapsed"] as? Double ?? 0)
    }

    /// What a stalled client saw.
    public struct Stalled: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: String
        public let closed: Bool
        public let elapsed: Double
    }

    /// One HTTP/2 POST to `path` with `headers` (name=value); returns the JSON report (status,
    /// headers, trailers, body, elapsed).
    public static func http2Request(port: Int, host: String, path: String, headers: [String]) throws -> [String: Any] {
        try run("h2-request", port: port, host: host, arguments: [path] + headers)
    }

    private static func server(_ arguments: [String]) throws -> (BackgroundProcess, Int) {
        let process = try BackgroundProcess("/usr/bin/env", ["python3", "-u", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py"] + arguments)
        let line = try process.waitForLine(containing: "ready ")
        guard let port = line.split(separator: " ").last.flatMap({ Int($0) }) else { throw FixtureError(message: "no port in: \(line)") }
        return (process, port)
    }
}
