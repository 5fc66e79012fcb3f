import Foundation

/// Real sources of endpoints for the discovery tests, on ephemeral ports of 127.0.0.1:
/// dnsmasq answering for `*.test` from a hosts folder it watches, and an etcd of its own.
public enum DiscoverySources {
    /// dnsmasq for the `test.` zone: A records from `hosts` (changed live with
    /// ``DNS/setHosts(_:)``), SRV records fixed at start, unknown names NXDOMAIN, TTL 1 s.
    public final class DNS: @unchecked Sendable {
        public let port: Int
        private let folder: URL
        private let srv: [String]
        /// The running daemon's process id.
        private var pid: pid_t?

        /// Starts dnsmasq with `hosts` lines (`127.0.0.1 web.test`) and `srv` records
        /// (`_http._tcp.web.test,web-0.test,18081,0,10`).
        public init(hosts: [String], srv: [String] = []) throws {
            folder = try Scratch.folder("dns")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("hosts.d"), withIntermediateDirectories: true)
            try "".write(to: folder.appendingPathComponent("empty.conf"), atomically: true, encoding: .utf8)
            // dnsmasq drops privileges: what it reads must be world-readable.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.appendingPathComponent("hosts.d").path)
            port = try Peers.freePort()
            self.srv = srv
            try setHosts(hosts)
            try start()
        }

        deinit { stop() }

        /// Starts (or restarts, on the same port) the server. dnsmasq runs as a daemon (its
        /// pid file says which process to stop): as a direct child it keeps Foundation from
        /// reaping the test's other children.
        public func start() throws {
            let dnsmasq = FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq"
            let pidFile = folder.appendingPathComponent("dnsmasq.pid").path
            // A restart must not read the stopped server's pid: the new one would be left running.
            try? FileManager.default.removeItem(atPath: pidFile)
            let result = try Subprocess.run(
                "/usr/bin/env",
                [
                    dnsmasq, "--pid-file=\(pidFile)", "--conf-file=\(folder.path)/empty.conf", "--port=\(port)", "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-poll", "--local=/test/", "--local-ttl=1",
                    "--hostsdir=\(folder.path)/hosts.d", "--log-facility=\(folder.path)/dnsmasq.log",
                ] + (getuid() == 0 ? ["--user=root"] : []) + srv.map { "--srv-host=\($0)" }, timeout: 30)
            guard result.status == 0, let pid = Self.daemonPID(in: pidFile) else {
                throw FixtureError(message: "dnsmasq did not start (\(result.status)): \(result.standardError)")
            }
            self.pid = pid
        }

        /// The pid the daemon wrote to `pidFile`, once it has (within 5 s), if it is running.
        private static func daemonPID(in pidFile: String) -> pid_t? {
            let deadline = Date().addingTimeInterval(5)
            repeat {
                if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                    let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0
                {
                    return pid
                }
                Thread.sleep(forTimeInterval: 0.01)
            } while Date() < deadline
            return nil
        }

        /// Stops the server (DNS down).
        public func stop() {
            guard let pid else { return }
            self.pid = nil
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while kill(pid, 0) == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }

        /// Replaces the A records (dnsmasq picks the change up at once).
        public func setHosts(_ lines: [String]) throws {
            let file = folder.appendingPathComponent("hosts.d/hosts")
            let staging = folder.appendingPathComponent("hosts.staging")
            try (lines.joined(separator: "\n") + "\n").write(to: staging, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: staging.path)
            _ = rename(staging.path, file.path)
        }
    }

    /// An etcd server of its own (Debian's etcd-server binary, unpacked by scripts/test into
    /// `.tools/etcd`), driven with etcdctl.
    public final class Etcd: @unchecked Sendable {
        public let clientPort: Int
        private let peerPort: Int
        private let dataDirectory: String
        private var process: BackgroundProcess?

        /// The etcd binary: `SWITCHYARD_ETCD`, else the one scripts/test unpacked.
        public static var binary: String {
            ProcessInfo.processInfo.environment["SWITCHYARD_ETCD"] ?? "\(BuildProducts.repositoryRoot)/.tools/etcd/usr/bin/etcd"
        }

        public init() throws {
            clientPort = try Peers.freePort()
            peerPort = try Peers.freePort()
            dataDirectory = Scratch.path("etcd")
            try start()
        }

        deinit {
            stop()
            try? FileManager.default.removeItem(atPath: dataDirectory)
        }

        /// `http://127.0.0.1:PORT`.
        public var url: String { "http://127.0.0.1:\(clientPort)" }

        /// Starts (or restarts, with its data) the server.
        public func start() throws {
            let process = try BackgroundProcess(
                Self.binary,
                [
                    "--data-dir", dataDirectory, "--listen-client-urls", url, "--advertise-client-urls", url,
                    "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
                    "--initial-cluster", "default=http://127.0.0.1:\(peerPort)",
                ])
            self.process = process
            _ = try process.waitForLine(containing: "ready to serve client requests", timeout: 60)
        }

        /// Kills the server (etcd down).
        public func stop() {
            process?.stop()
            process = nil
        }

        /// Runs `etcdctl ARGS` against it; returns its output.
        @discardableResult
        public func ctl(_ arguments: [String]) throws -> String {
            let result = try Subprocess.run("/usr/bin/env", ["ETCDCTL_API=3", "etcdctl", "--endpoints=127.0.0.1:\(clientPort)"] + arguments, timeout: 30)
            guard result.status == 0 else { throw FixtureError(message: "etcdctl \(arguments) failed: \(result.standardError)") }
            return result.standardOutput
        }

        public func put(_ key: String, _ value: String, lease: String? = nil) throws {
            try ctl(["put", key, value] + (lease.map { ["--lease=\($0)"] } ?? []))
        }

        public func delete(_ key: String) throws { try ctl(["del", key]) }

        /// Grants a lease of `seconds`; returns its id.
        public func grantLease(seconds: Int) throws -> String {
            let out = try ctl(["lease", "grant", String(seconds)])
            guard let id = out.split(separator: " ").dropFirst().first else { throw FixtureError(message: "no lease id in: \(out)") }
            return String(id)
        }

        /// The current revision.
        public func revision() throws -> Int {
            let out = try ctl(["endpoint", "status", "--write-out=json"])
            guard let range = out.range(of: "\"revision\":"), let value = Int(out[range.upperBound...].prefix { $0.isNumber }) else {
                throw FixtureError(message: "no revision in: \(out)")
            }
            return value
        }
    }
}
