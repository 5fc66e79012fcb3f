/// Why an etcd request or watch failed: no endpoint answered, the answer was not what the
/// etcd v3 JSON gateway sends, etcd reported an error, or the caller's ``StopSignal`` fired.
public struct EtcdError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, naming the endpoint where there is one.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}
