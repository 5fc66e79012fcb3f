import NIOCore
import NIOHTTP2

/// How long a client's HTTP/2 connection lives, as a state machine: events in (streams opened
/// and closed, the timer fired, a drain began, a PING acknowledged), actions out. Plain Swift
/// with injected times, so it is tested without sockets.
///
/// - **Idle.** A connection with no open stream for `idle` (`timeouts.keepAlive`) is shut down
///   gracefully. The timer is lazy, like ``ClientTimeoutStateMachine``'s: a stream's open and
///   close only move `idleSince`; the one timer, when it fires, checks whether the connection
///   really was idle that long and otherwise re-arms for the rest. So a busy connection
///   schedules nothing per stream.
/// - **Graceful shutdown** (idle, or a drain's `ChannelShouldQuiesceEvent`), RFC 9113 §6.8: a
///   GOAWAY naming the largest stream ID and a PING; once the client acknowledges the PING it
///   has seen the GOAWAY and opens nothing more, so a second GOAWAY names the last stream the
///   client opened. The connection closes when its last stream does (``HTTP2ServerConnection``
///   bounds a client that never acknowledges).
struct HTTP2ServerLifetimeStateMachine {
    /// What the connection does.
    enum Action: Equatable {
        case none
        /// Arm the connection's timer for `deadline`.
        case arm(NIODeadline)
        /// Send GOAWAY NO_ERROR with the largest stream ID, then a PING with `ping`, and flush.
        case sendGoAwayAndPing(ping: HTTP2PingData)
        /// Send GOAWAY NO_ERROR naming `lastStreamID` and flush; close after it when `close`.
        case sendGoAway(lastStreamID: HTTP2StreamID, close: Bool)
        /// Close once the frames written in this pass of the event loop are flushed.
        case close
    }

    enum Phase: Equatable {
        /// Taking new streams.
        case serving
        /// The first GOAWAY and its PING are out; the acknowledgement is awaited.
        case awaitingAck
        /// The second GOAWAY is out: the open streams finish, then the connection closes.
        case draining
    }

    let idle: TimeAmount
    /// The PING a graceful shutdown sends, and the acknowledgement it waits for.
    let ping: HTTP2PingData
    private(set) var phase = Phase.serving
    private(set) var openStreams = 0
    /// The highest stream ID the client opened.
    private(set) var lastStreamID = HTTP2StreamID.rootStream
    /// Since when no stream has been open (nil while one is).
    private var idleSince: NIODeadline?
    /// The deadline the timer is armed for, if it is.
    private var armedFor: NIODeadline?

    init(idle: TimeAmount, ping: HTTP2PingData = HTTP2PingData(withInteger: .random(in: .min ... .max))) {
        self.idle = idle
        self.ping = ping
    }

    /// The connection is serving: it is idle until a stream opens.
    mutating func start(now: NIODeadline) -> Action {
        idleSince = now
        armedFor = now + idle
        return .arm(now + idle)
    }

    /// The client opened stream `id`.
    mutating func streamOpened(_ id: HTTP2StreamID) {
        openStreams += 1
        lastStreamID = max(lastStreamID, id)
        idleSince = nil
    }

    /// One of the client's streams closed (`now` is read only when it was the last).
    mutating func streamClosed(now: @autoclosure () -> NIODeadline) -> Action {
        openStreams -= 1
        guard openStreams == 0 else { return .none }
        switch phase {
        case .draining:
            return .close
        case .serving, .awaitingAck:
            let now = now()
            idleSince = now
            guard armedFor == nil else { return .none }  // the armed timer checks when it fires
            armedFor = now + idle
            return .arm(now + idle)
        }
    }

    /// The timer fired.
    mutating func timerFired(now: NIODeadline) -> Action {
        armedFor = nil
        guard phase == .serving, let idleSince else { return .none }  // busy: armed again when idle
        let deadline = idleSince + idle
        guard now >= deadline else {
            armedFor = deadline
            return .arm(deadline)
        }
        return shutDown()
    }

    /// A drain began.
    mutating func quiesce() -> Action {
        shutDown()
    }

    /// The client acknowledged a PING carrying `data`.
    mutating func pingAcknowledged(_ data: HTTP2PingData) -> Action {
        guard phase == .awaitingAck, data == ping else { return .none }
        phase = .draining
        return .sendGoAway(lastStreamID: lastStreamID, close: openStreams == 0)
    }

    private mutating func shutDown() -> Action {
        guard phase == .serving else { return .none }
        phase = .awaitingAck
        return .sendGoAwayAndPing(ping: ping)
    }
}
