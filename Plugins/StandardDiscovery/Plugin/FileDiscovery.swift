#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StandardDiscovering
import SwitchyardPluginKit

/// `file`: endpoints from a JSON file, `{"endpoints": [{"address", "weight", "labels"}]}`, read
/// again every `interval`. It opens the path each time, so a new file renamed over it, or a
/// Kubernetes ConfigMap's symlink swap, is seen at the next read. A file that cannot be read or
/// is not valid is an error (the last good set keeps serving); an unchanged file a heartbeat.
final class FileDiscovery: Discovery {
    static let name = "file"
    static let summary = "endpoints from a JSON file ({\"endpoints\": [{\"address\", \"weight\", \"labels\"}]}), read again every interval"

    /// The largest file read.
    static let maximumSize = 4 << 20

    private let path: String
    private let interval: Duration
    private let labels: [(key: String, value: String)]
    private let thread = SourceThread()

    init(config: PluginConfig, target: DiscoveryTarget) throws(PluginConfigError) {
        path = try config.string("path", default: "")
        guard !path.isEmpty else { throw PluginConfigError(key: "path", message: "required: the file listing the endpoints") }
        interval = try config.duration("interval", default: .seconds(1), atLeast: .milliseconds(100))
        labels = try config.labels("labels")
    }

    func start(_ sink: DiscoverySink) {
        let (path, interval, labels) = (self.path, self.interval, self.labels)
        thread.start { stop in
            var last: [UInt8]?
            var failing = false
            repeat {
                switch Self.readFile(path) {
                case .failure(let why):
                    sink.publish(.error("\(path): \(why)"))
                    failing = true
                case .success(let bytes) where bytes == last && !failing:
                    sink.publish(DiscoveryUpdate(kind: .current))
                case .success(let bytes):
                    switch EndpointList.parse(bytes) {
                    case .success(let endpoints):
                        failing = !sink.publish(.reset(endpoints, labels: labels))
                        last = bytes
                    case .failure(let why):
                        sink.publish(.error("\(path): \(why.message)"))
                        failing = true
                    }
                }
            } while SourceThread.sleep(interval, stop: stop)
        }
    }

    func stop() { thread.stopAndJoin() }

    /// The file's bytes, or why it could not be read.
    static func readFile(_ path: String) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(ReadError(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadError(String(cString: strerror(errno))))
            }
            if n == 0 { return .success(bytes) }
            bytes += chunk[0..<n]
            guard bytes.count <= maximumSize else { return .failure(ReadError("larger than \(maximumSize) bytes")) }
        }
    }

    struct ReadError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

/// The endpoint list a `file` discovery reads: `{"endpoints": [{"address": "10.0.0.1:80",
/// "weight": 2, "labels": {"k": "v"}}]}`; only `address` is required.
enum EndpointList {
    static func parse(_ bytes: [UInt8]) -> Result<[DiscoveryEndpoint], FileDiscovery.ReadError> {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.init("not UTF-8")) }
        let document: JSONValue
        do {
            document = try JSONValue(parsing: text)
        } catch {
            return .failure(.init(error.description))
        }
        guard case .object(let top) = document, case .array(let items)? = top.first(where: { $0.key == "endpoints" })?.value else {
            return .failure(.init("expected an object with an \"endpoints\" list"))
        }
        var endpoints: [DiscoveryEndpoint] = []
        for (i, item) in items.enumerated() {
            switch EndpointEntry.parse(item) {
            case .success(let endpoint): endpoints.append(endpoint)
            case .failure(let why): return .failure(.init("endpoints[\(i)]: \(why.message)"))
            }
        }
        return .success(endpoints)
    }
}

/// One `{"address", "weight", "labels"}` entry, as the `file` discovery lists endpoints.
enum EndpointEntry {
    static func parse(_ value: JSONValue) -> Result<DiscoveryEndpoint, FileDiscovery.ReadError> {
        guard case .object(let members) = value else { return .failure(.init("expected an object, got \(value.typeDescription)")) }
        func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        guard case .string(let address)? = member("address"), !address.isEmpty else { return .failure(.init("\"address\" is required")) }
        var weight = 1
        if let raw = member("weight") {
            guard case .number(let n) = raw, n == n.rounded(), n >= 1, n <= 1_000_000 else {
                return .failure(.init("\"weight\" must be a whole number from 1 to 1000000"))
            }
            weight = Int(n)
        }
        var labels: [(key: String, value: String)] = []
        if let raw = member("labels") {
            guard case .object(let pairs) = raw else { return .failure(.init("\"labels\" must map names to strings")) }
            for (key, value) in pairs {
                guard case .string(let text) = value else { return .failure(.init("label \"\(key)\" must be a string")) }
                labels.append((key, text))
            }
        }
        return .success(DiscoveryEndpoint(address: address, weight: weight, labels: labels))
    }
}
