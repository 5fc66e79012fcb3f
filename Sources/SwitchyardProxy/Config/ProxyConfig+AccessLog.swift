extension ProxyConfig {
    /// Where and how requests are logged (`accessLog:`, DESIGN.md §9); off when absent.
    public struct AccessLog: Sendable, Hashable {
        /// Where lines go.
        public enum Destination: Sendable, Hashable, CustomStringConvertible {
            case stdout
            case stderr
            /// A file, appended to and created if missing (mode 0640); reopened on SIGUSR1.
            case file(String)

            public var description: String {
                switch self {
                case .stdout: "stdout"
                case .stderr: "stderr"
                case .file(let path): path
                }
            }
        }

        /// How a line reads.
        public enum Format: String, Sendable, Hashable {
            /// `key=value` fields after the time, client and request line.
            case text
            /// One JSON object per line.
            case json
        }

        public var destination: Destination
        public var format: Format = .text

        public init(destination: Destination, format: Format = .text) {
            self.destination = destination
            self.format = format
        }

        init(_ node: ConfigNode) throws(ConfigError) {
            let m = try node.mapping(allowed: ["path", "format"])
            let path = try m.required("path").nonEmptyString()
            destination = path == "stdout" ? .stdout : path == "stderr" ? .stderr : .file(path)
            if let formatNode = m["format"] {
                let text = try formatNode.string()
                guard let format = Format(rawValue: text) else { throw formatNode.error("must be text or json, got '\(text)'") }
                self.format = format
            }
        }
    }
}
