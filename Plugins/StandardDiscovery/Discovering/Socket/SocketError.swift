import Glibc

/// Why a ``BlockingSocket`` operation failed: a system call's error (with its `strerror`
/// text), a deadline that passed (`"timed out"`), or a ``StopSignal`` that fired (`"stopped"`).
public struct SocketError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for people.
    public let description: String

    /// An error that says `description`.
    public init(_ description: String) {
        self.description = description
    }

    /// A wait reached its deadline.
    static let timedOut = SocketError("timed out")

    /// A wait noticed its ``StopSignal``.
    static let stopped = SocketError("stopped")

    /// `what` failed with the system error `code`: "`what`: `strerror(code)`".
    static func system(_ what: String, _ code: Int32) -> SocketError {
        SocketError("\(what): \(String(cString: strerror(code)))")
    }
}
