/// One key and its value, as a range or a watch `PUT` returns it.
public struct EtcdKeyValue: Sendable, Equatable {
    /// The key's bytes (etcd keys are bytes; most are UTF-8: `String(decoding: key, as: UTF8.self)`).
    public let key: [UInt8]
    /// The value's bytes.
    public let value: [UInt8]
    /// The revision of the key's last change.
    public let modRevision: Int64

    /// A key, its value and the revision it was last changed at.
    public init(key: [UInt8], value: [UInt8], modRevision: Int64) {
        self.key = key
        self.value = value
        self.modRevision = modRevision
    }
}

/// One change a watch saw.
public enum EtcdWatchEvent: Sendable, Equatable {
    /// A key was created or changed.
    case put(EtcdKeyValue)
    /// A key was deleted (or its lease expired), at `modRevision`.
    case delete(key: [UInt8], modRevision: Int64)
}

/// Why a watch ended without an error.
public enum EtcdWatchEnd: Sendable, Equatable {
    /// The start revision is older than etcd keeps (`compactRevision`, the oldest kept): range
    /// again and watch from the range's revision + 1.
    case compacted(compactRevision: Int64)
    /// The watch ran for its `maxDuration`: watch again from the last revision seen + 1.
    case expired
    /// etcd canceled the watch for this reason (may be empty).
    case canceled(String)
}

extension EtcdWatchEvent {
    /// The revision of the change.
    public var modRevision: Int64 {
        switch self {
        case .put(let keyValue): keyValue.modRevision
        case .delete(_, let modRevision): modRevision
        }
    }
}
