/// A pointer to memory the other side of the ABI owns and never changes once shared: a
/// plugin's static definitions (as the host sees them), or the host's services table (as the
/// kit sees it). Reading it from any thread is safe; nothing writes through it.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafePointer<Pointee>

    public init(_ pointer: UnsafePointer<Pointee>) { self.pointer = pointer }
}
