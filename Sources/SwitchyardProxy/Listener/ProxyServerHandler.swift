import NIOCore
import NIOHTTP1
import SwitchyardCore

/// The last handler of a client connection (HTTP/1.1) or stream (HTTP/2, behind the
/// HTTP/2-to-HTTP/1 codec): routes each request (DESIGN.md §2 steps 2-5) and hands it to an
/// ``Exchange``, or answers it with a synthetic error.
final class ProxyServerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let slot: LoopSlot
    /// The state the current request was routed with (the slot's, read at each request head).
    private(set) var loop: LoopState
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    /// The request head of the request being answered (for version and keep-alive).
    private var requestHead: HTTPRequestHead?
    /// True from a synthetic answer until the request's end: its body is dropped.
    private var discarding = false
    /// True from a request's head until its end was read.
    private var requestOpen = false
    /// Set once the connection (or stream) closed: nothing more is routed (an exchange made
    /// then would outlive this handler).
    private var isClosed = false
    /// Set when the connection closes after the current answer (HTTP/1.x; an HTTP/2 stream
    /// ends with it anyway): a malformed request, a drain, an HTTP/1.0 response without a length.
    private var closeAfterResponse = false
    /// Set by a drain (`ChannelShouldQuiesceEvent`): every response from now on says
    /// `Connection: close` and the connection closes after it.
    private var draining = false
    private var readPending = false
    /// True between a read and its read-complete: writes upstream wait for the
    /// read-complete's single flush instead of flushing part by part.
    private(set) var isReading = false
    /// Pipelined HTTP/1.1 request parts that arrived while an earlier response was still
    /// going; replayed in order when it ends (so responses stay in request order).
    private var backlog = CircularBuffer<HTTPServerRequestPart>(initialCapacity: 0)
    /// The last Host seen on this connection and the service it named (connections rarely
    /// change Host, so this skips parsing and the table lookup).
    private var lastHost: String?
    private var lastService: Int?

    /// The connection's client-side timeouts (HTTP/1.x), told of each request and response.
    private let timeouts: ClientTimeoutHandler?

    init(slot: LoopSlot, timeouts: ClientTimeoutHandler?) {
        self.slot = slot
        self.loop = slot.state
        self.timeouts = timeouts
    }

    private func report(_ event: ClientRequestEvent) {
        timeouts?.handle(event)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    var clientVersion: HTTPVersion { requestHead?.version ?? .http1_1 }
    var isClientWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isReading = true
        let part = unwrapInboundIn(data)
        if !backlog.isEmpty || (exchange != nil && isHead(part)) {
            backlog.append(part)
        } else {
            handle(part)
        }
    }

    private func isHead(_ part: HTTPServerRequestPart) -> Bool {
        if case .head = part { return true }
        return false
    }

    private func handle(_ part: HTTPServerRequestPart) {
        guard !isClosed else { return }
        switch part {
        case .head(let head):
            requestHead = head
            discarding = false
            requestOpen = true
            report(.started)
            route(head)
        case .body, .end:
            if case .end = part {
                requestOpen = false
                report(.ended)
            }
            if let exchange {
                exchange.requestPart(part)
            } else if discarding, case .end = part {
                discarding = false
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isReading = false
        exchange?.flushUpstream()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }

    /// The connection is gone: end the exchange, drop what was pipelined behind it.
    private func markClosed() {
        isClosed = true
        backlog.removeAll()
        exchange?.clientGone()
        exchange = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            draining = true
            return
        }
        guard case .requestBodyIdle? = event as? ClientTimeoutEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        closeAfterResponse = true
        if let exchange {
            exchange.clientBodyStalled()
        } else {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        markClosed()
        context.close(promise: nil)
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if backlog.count >= BuiltInLimits.pipelinedParts || (exchange?.holdsClientReads ?? false) {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Re-issues a held read once the exchange can take more of the body.
    func resumeReadsIfPossible() {
        guard readPending, let context, backlog.count < BuiltInLimits.pipelinedParts, !(exchange?.holdsClientReads ?? false) else { return }
        readPending = false
        context.read()
    }

    // MARK: Routing

    private func route(_ received: HTTPRequestHead) {
        if loop !== slot.state {
            loop = slot.state  // a reload: route with the new table
            lastHost = nil
        }
        let valid: RequestValidation.Valid
        switch RequestValidation.validate(received, maxHeaders: loop.table.config.limits.requestHeaders) {
        case .success(let request):
            valid = request
        case .failure(let refusal):
            closeAfterResponse = true
            respond(with: refusal, isGRPC: Self.asksForGRPC(received))
            discarding = true
            return
        }
        var head = valid.head
        guard let serviceIndex = service(for: head) else {
            let isGRPC = Self.asksForGRPC(head)
            respond(with: .notFound("no service for authority \(head.headers.first(name: "host") ?? "(none)")"), isGRPC: isGRPC)
            discarding = true
            return
        }
        let service = loop.table.services[serviceIndex]
        let isGRPC = service.policy.proto == .grpc
        let parent = service.policy.parent.meta
        guard let selection = service.router.route(RequestView(head)) else {
            respond(with: .notFound(parent.describe(error: "no route")), isGRPC: isGRPC)
            discarding = true
            return
        }
        let rule = service.policy.routes[selection.route].rules[selection.rule]
        for filter in rule.filters {
            if let answer = apply(filter, to: &head) {
                respond(with: answer, isGRPC: isGRPC)
                discarding = true
                return
            }
        }
        guard let chosen = choose(rule) else {
            respond(with: .loadShed(parent.describe(error: "no backend available")), isGRPC: isGRPC)
            discarding = true
            return
        }
        let backend = rule.backends[chosen]
        let metrics = loop.metrics.routeBackends[serviceIndex][selection.route][selection.rule][chosen]
        metrics.requests.increment()
        switch backend.target {
        case .fail(let message):
            loop.responseStatuses.record(metrics, status: -1, error: .badGateway)
            respond(with: .badGateway(backend.backend.meta.describe(error: message)), isGRPC: isGRPC)
            discarding = true
        case .backend(let index):
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                head.headers.remove(name: "expect")
                writeResponse(.head(HTTPResponseHead(version: head.version, status: .continue)), flush: true)
                guard !isClosed else { return }  // the write failed and closed the connection
            }
            let routeTimeouts = service.policy.routes[selection.route].timeouts
            let timeouts = isGRPC ? GRPCTimeout.applying(head.headers.first(name: "grpc-timeout"), to: routeTimeouts) : routeTimeouts
            let exchange = Exchange(
                server: self, eventLoop: loop.eventLoop, requestHead: head, framing: valid.framing, isGRPC: isGRPC, timeouts: timeouts,
                clientChoseDeadline: timeouts.request != routeTimeouts.request, watchdog: slot.watchdog, metrics: metrics)
            self.exchange = exchange
            loop.backends[index].dispatch(exchange)
        }
    }

    /// Whether a request no service claims should be answered in gRPC form.
    private static func asksForGRPC(_ head: HTTPRequestHead) -> Bool {
        head.headers.first(name: "content-type")?.hasPrefix("application/grpc") ?? false
    }

    private func service(for head: HTTPRequestHead) -> Int? {
        guard let host = head.headers.first(name: "host") else { return nil }
        if host == lastHost { return lastService }
        let index = (try? Authority(parsing: host.lowercased(), defaultPort: 80)).flatMap { loop.table.serviceIndex(for: $0) }
        lastHost = host
        lastService = index
        return index
    }

    /// Applies a filter; returns a synthetic answer when the filter answers instead.
    private func apply(_ filter: RouteFilter, to head: inout HTTPRequestHead) -> SyntheticError? {
        switch filter {
        case .requestHeaderModifier(let modifier):
            for name in modifier.remove { head.headers.remove(name: name) }
            for (name, value) in modifier.set { head.headers.replaceOrAdd(name: name, value: value) }
            for (name, value) in modifier.add { head.headers.add(name: name, value: value) }
            return nil
        case .failureInjector(let injector):
            let roll = Double(loop.random.next() >> 11) / Double(1 << 53)
            return roll < injector.ratio ? .injected(status: injector.status, message: injector.message) : nil
        case .requestRedirect(let redirect):
            let authority = (try? Authority(parsing: head.headers.first(name: "host") ?? "", defaultPort: 80))
            let host = redirect.hostname ?? authority?.host ?? "localhost"
            let scheme = redirect.scheme ?? "http"
            let port = redirect.port ?? (redirect.hostname == nil ? authority.map { Int($0.port) } : nil)
            let defaultPort = scheme == "https" ? 443 : 80
            let portText = port.map { $0 == defaultPort ? "" : ":\($0)" } ?? ""
            let path = redirect.path ?? head.uri
            var answer = SyntheticError(
                status: HTTPResponseStatus(statusCode: redirect.statusCode), grpcStatus: 2,
                message: "redirected to \(scheme)://\(host)\(portText)\(path)")
            answer.headers = [("location", "\(scheme)://\(host)\(portText)\(path)")]
            return answer
        }
    }

    /// The rule's distribution: weighted random among available backends, or the first
    /// available. When none is available the choice ignores availability, so the request
    /// reaches a backend that sheds it with its own message; only an empty list gives nil.
    /// Returns the index of the chosen backend in the rule.
    private func choose(_ rule: RouteRule) -> Int? {
        func available(_ backend: RouteBackend) -> Bool {
            if case .backend(let index) = backend.target { return loop.backends[index].isAvailable }
            return true
        }
        return choose(rule, where: available) ?? choose(rule, where: { _ in true })
    }

    private func choose(_ rule: RouteRule, where eligible: (RouteBackend) -> Bool) -> Int? {
        switch rule.distribution {
        case .firstAvailable:
            return rule.backends.firstIndex(where: eligible)
        case .randomAvailable:
            var total = 0
            for backend in rule.backends where eligible(backend) { total += backend.weight }
            guard total > 0 else { return nil }
            var point = loop.random.next(below: total)
            for (index, backend) in rule.backends.enumerated() where eligible(backend) {
                if point < backend.weight { return index }
                point -= backend.weight
            }
            return nil
        }
    }

    // MARK: Outbound

    func writeResponse(_ part: HTTPServerResponsePart, flush: Bool) {
        context?.write(wrapOutboundOut(part), flush: flush)
    }

    /// Writes a final response head with the connection's own `Connection` header (HTTP/1.x):
    /// `close` while draining, or when an HTTP/1.0 response's end could only be marked by
    /// closing; `keep-alive` for an HTTP/1.0 client that asked to keep the connection.
    func writeResponseHead(_ head: HTTPResponseHead, flush: Bool) {
        var head = head
        if draining, let requestHead, requestHead.version.major == 1 {
            closeAfterResponse = true
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if let requestHead, requestHead.version == .http1_0 {
            let framed = head.headers.contains(name: "content-length") || head.status == .noContent || head.status == .notModified
            if !framed {
                closeAfterResponse = true
                head.headers.replaceOrAdd(name: "connection", value: "close")
            } else if requestHead.isKeepAlive {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
            }
        }
        writeResponse(.head(head), flush: flush)
    }

    /// Writes the response's end and flushes. An HTTP/2 stream whose request has not ended (an
    /// early answer) is reset once the end is written, not before: a reset drops whatever still
    /// waits for flow-control window. A half-open stream would otherwise wait for a body nobody
    /// reads.
    func writeResponseEnd(_ trailers: HTTPHeaders?) {
        guard let context else { return }
        guard requestOpen, clientVersion.major >= 2 else {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: written)
        written.futureResult.assumeIsolated().whenSuccess { [weak self] in
            guard let self, self.requestOpen, !self.isClosed else { return }
            self.context?.close(promise: nil)
        }
    }

    /// Flushes response parts written so far.
    func flushResponse() {
        context?.flush()
    }

    /// Answers the current request with a synthetic response (DESIGN.md §7).
    func respond(with error: SyntheticError, isGRPC: Bool) {
        guard let context else { return }
        var headers = HTTPHeaders()
        // Messages may hold names a resolver plugin gave: never let one split the header.
        headers.add(name: "switchyard-proxy-error", value: HeaderText.sanitized(error.message))
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        if isGRPC {
            headers.add(name: "content-type", value: "application/grpc")
            writeResponseHead(HTTPResponseHead(version: clientVersion, status: .ok, headers: headers), flush: false)
            var trailers = HTTPHeaders()
            trailers.add(name: "grpc-status", value: String(error.grpcStatus))
            trailers.add(name: "grpc-message", value: GRPCMessage.percentEncode(error.message))
            writeResponseEnd(trailers)
        } else {
            let body = context.channel.allocator.buffer(string: error.message)
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: String(body.readableBytes))
            writeResponseHead(HTTPResponseHead(version: clientVersion, status: error.status, headers: headers), flush: false)
            writeResponse(.body(.byteBuffer(body)), flush: false)
            writeResponseEnd(nil)
        }
        finishResponse()
    }

    /// Closes the client connection (a response broke off mid-stream).
    func closeClient() {
        context?.close(promise: nil)
    }

    /// The exchange's response ended.
    func exchangeFinished(_ finished: Exchange) {
        guard exchange === finished else { return }
        exchange = nil
        finishResponse()
        // Replay pipelined requests until one of them is in flight again (or the response's
        // end closed the connection).
        while !isClosed, let part = backlog.first, exchange == nil || !isHead(part) {
            backlog.removeFirst()
            handle(part)
        }
        resumeReadsIfPossible()
    }

    private func finishResponse() {
        guard let requestHead else { return }
        if requestHead.version.major == 1, closeAfterResponse || !requestHead.isKeepAlive {
            context?.close(promise: nil)
        } else if requestHead.version.major < 2 {
            report(.responseEnded)
        }
    }
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside 0x20-0x7E, and `%`, become `%XX`.
enum GRPCMessage {
    static func percentEncode(_ message: String) -> String {
        var out = ""
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
