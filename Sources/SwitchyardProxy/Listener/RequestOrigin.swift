import NIOCore
import NIOHTTP1

/// A client side requests come from: an HTTP/1.x connection's ``ProxyServerHandler`` or an
/// HTTP/2 stream's ``HTTP2ServerStream``. Both route a request head the same way
/// (``route(_:on:willClose:)``) and differ only in how they write.
protocol RequestOrigin: ExchangeClient {
    /// Writes and flushes an interim `100 Continue`; false when the client went away meanwhile.
    func writeContinue() -> Bool
}

extension RequestOrigin {
    /// Routes `head` on `slot`'s loop. An answer is written and logged here, and nil comes
    /// back (`willClose` is called first when the connection must close after it). A dispatch comes
    /// back as a new ``Exchange`` (`100 Continue` sent first when the client asked for it) for
    /// the caller to keep, then ``Exchange/begin()``: its backend may answer at once.
    func route(_ head: RequestHead, on slot: LoopSlot, willClose: () -> Void = {}) -> Exchange? {
        let state = slot.state
        switch state.router.route(head) {
        case .answer(let error, let isGRPC, let close):
            if close { willClose() }
            answer(head, with: error, isGRPC: isGRPC, on: slot)
            return nil
        case .dispatch(let dispatch):
            if dispatch.expectsContinue, !writeContinue() { return nil }
            return Exchange(client: self, dispatch: dispatch, eventLoop: state.eventLoop, watchdog: slot.watchdog, accessLog: state.accessLog)
        }
    }

    /// Answers `head` with `error` in place of a backend, and logs it in `slot`'s access log.
    func answer(_ head: RequestHead, with error: SyntheticError, isGRPC: Bool, on slot: LoopSlot) {
        respond(with: error, isGRPC: isGRPC)
        slot.state.accessLog?.append(
            AccessLogEntry(
                request: head, client: clientAddress, answer: error, isGRPC: isGRPC, error: error.cause, route: nil, backend: nil,
                endpoint: nil, requestBytes: 0, responseBytes: isGRPC ? 0 : error.message.utf8.count, durationNanoseconds: 0,
                upstreamNanoseconds: nil))
    }
}
