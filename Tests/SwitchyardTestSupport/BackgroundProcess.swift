import Foundation

/// A process a test starts and must stop: its output is collected as it comes, so a test can
/// wait for a line (a port answering is announced in the log) with a generous deadline.
public final class BackgroundProcess: @unchecked Sendable {
    private let process = Process()
    private let pipe = Pipe()
    private let lock = NSLock()
    private var output = ""
    /// Set when the reader saw end of file: everything the process printed is in `output`.
    private var outputEnded = false

    /// Starts `executable` with `arguments`; standard output and error are merged.
    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // A reader thread of its own: blocking reads until end of file lose nothing, even
        // when the process exits at once.
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            while true {
                let data = handle.availableData
                guard let self else { return }
                guard !data.isEmpty else {
                    self.lock.withLock { self.outputEnded = true }
                    return
                }
                self.lock.withLock { self.output += String(decoding: data, as: UTF8.self) }
            }
        }
    }

    deinit { stop() }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether it is still running.
    public var isRunning: Bool { process.isRunning }

    /// Sends it `signal`.
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits up to `timeout` for it to exit; returns whether it did. Then waits (up to a
    /// second more) for the reader to reach the end of its output, so ``text`` is all of it.
    public func waitForExit(timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        guard !process.isRunning else { return false }
        let outputDeadline = Date().addingTimeInterval(1)
        while !lock.withLock({ outputEnded }), Date() < outputDeadline { Thread.sleep(forTimeInterval: 0.01) }
        return true
    }

    /// Everything it printed so far.
    public var text: String { lock.withLock { output } }

    /// Waits until a line containing `needle` appears and returns that line.
    public func waitForLine(containing needle: String, timeout: TimeInterval = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var exitedAt: Date?
        while Date() < deadline {
            if let line = text.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(line) }
            if !process.isRunning {
                // Give the reader a moment to deliver the last of the output.
                if let exitedAt, Date().timeIntervalSince(exitedAt) > 0.5 { break }
                exitedAt = exitedAt ?? Date()
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw FixtureError(message: "no line containing '\(needle)' within \(timeout)s; output so far:\n\(text)")
    }

    /// Stops it (SIGTERM, then SIGKILL after 5 s) and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Resident memory high-water mark (VmHWM), in KiB, from /proc.
    public var peakResidentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    }
}
