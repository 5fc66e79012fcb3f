"""Hostile clients for Switchyard's hostile-input tests: `attacks.py ATTACK PORT HOST [ARG]` runs
one attack against the proxy on 127.0.0.1:PORT with authority HOST and prints one JSON object
saying what the proxy did. Every wait is bounded; every loop is bounded in count and time.

HTTP/1.1 attacks send raw bytes; HTTP/2 attacks build frames with hyperframe and h2's HPACK
encoder, so they can send what no well-behaved client would.
"""
import json
import signal
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, deadline=10):
    """Reads one HTTP/1.1 response (content-length framed, or to close); returns
    (status, headers, body, closed)."""
    s.settimeout(deadline)
    data = b""
    closed = False
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return (0, {}, data, True)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            closed = True
            break
        body += chunk
    return (status, headers, body.decode("latin-1"), closed)


def closed_within(s, seconds):
    """Whether the peer closes `s` within `seconds` (reading and dropping what it sends)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def victim(port, host):
    """An innocent client's request on its own connection, right after an attack."""
    s = connect(port)
    s.sendall(f"GET /victim?echo HTTP/1.1\r\nHost: {host}\r\nCookie: secret=victim\r\n\r\n".encode())
    status, headers, body, _ = read_response(s)
    s.close()
    return {"status": status, "body": body}


def h1_exchange(port, host, raw, wait_for_close=0):
    s = connect(port)
    s.sendall(raw)
    status, headers, body, closed = read_response(s)
    closed = closed or (wait_for_close > 0 and closed_within(s, wait_for_close))
    s.close()
    return {"status": status, "headers": headers, "body": body, "closed": closed}


SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: {host}\r\nX-Swallow: "


def smuggle(port, host, kind):
    smuggled = SMUGGLED.format(host=host)
    if kind == "connection-content-length":
        raw = (f"GET /?echo HTTP/1.1\r\nHost: {host}\r\nConnection: content-length\r\n"
               f"Content-Length: {len(smuggled)}\r\n\r\n{smuggled}")
    elif kind == "connection-host":
        raw = f"GET /?echo HTTP/1.1\r\nHost: {host}\r\nConnection: host\r\n\r\n"
    elif kind == "chunked-get":
        raw = (f"GET /?echo HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
               f"{len(smuggled):x}\r\n{smuggled}\r\n0\r\n\r\n")
    else:
        raise SystemExit(f"unknown smuggling kind {kind}")
    attacker = h1_exchange(port, host, raw.encode())
    return {"attacker": attacker, "victim": victim(port, host)}


def h2_smuggle(port, host):
    """An HTTP/2 GET carrying DATA frames (no content-length) whose bytes are a request."""
    attacker = h2_request(port, host, "/?echo", [], method="GET", body=SMUGGLED.format(host=host).encode())
    return {"attacker": attacker, "victim": victim(port, host)}


# MARK: HTTP/2 frame-level attacks


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


DATA, HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 5, 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4


def encoder():
    import hpack
    return hpack.Encoder()


def request_block(enc, host, path="/", extra=()):
    return enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", host), (":path", path)] + list(extra))


def read_frames(s, seconds, until=None):
    """Reads frames for up to `seconds`, until the peer closes, or until a frame satisfies
    `until`; returns (frames, closed) with frames as (type, flags, stream, payload)."""
    frames = []
    buffer = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            return frames, False
        except OSError:
            return frames, True
        if not data:
            return frames, True
        buffer += data
        while len(buffer) >= 9:
            length = struct.unpack(">I", b"\0" + buffer[:3])[0]
            if len(buffer) < 9 + length:
                break
            kind, flags = buffer[3], buffer[4]
            stream = struct.unpack(">I", buffer[5:9])[0] & 0x7FFFFFFF
            frames.append((kind, flags, stream, buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            if until is not None and until(frames[-1]):
                return frames, False
    return frames, False


def await_end_of_stream(s, stream, seconds=10):
    """Reads frames until the proxy ends `stream` (a frame on it with END_STREAM); returns
    whether it did within `seconds`."""
    frames, _ = read_frames(s, seconds, until=lambda f: f[2] == stream and f[1] & END_STREAM)
    return any(f[2] == stream and f[1] & END_STREAM for f in frames)


def goaway_code(frames):
    for kind, _, _, payload in frames:
        if kind == GOAWAY and len(payload) >= 8:
            return struct.unpack(">I", payload[4:8])[0]
    return None


def send_until_closed(s, chunk, max_bytes, seconds):
    """Sends `chunk` again and again until the peer closes, `max_bytes` went out, or
    `seconds` passed; returns bytes sent."""
    sent = 0
    deadline = time.monotonic() + seconds
    s.settimeout(1)
    while sent < max_bytes and time.monotonic() < deadline:
        try:
            s.sendall(chunk)
        except (socket.timeout, OSError):
            break
        sent += len(chunk)
    return sent


def h2_attack(port, host, kind):
    s = connect(port)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    enc = encoder()
    result = {}
    if kind == "continuation-flood":
        s.sendall(frame(HEADERS, 0, 1, request_block(enc, host)))
        chunk = frame(CONTINUATION, 0, 1, b"x-flood: " + b"a" * 16000) * 8
        result["sent"] = send_until_closed(s, chunk, 2 << 30, 20)
    elif kind == "hpack-bomb":
        # One big header in the dynamic table, then a block that references it thousands of
        # times: a few KB on the wire, hundreds of MB decoded.
        big = "b" * 4000
        block = enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", host), (":path", "/"), ("x-bomb", big)])
        index = enc.encode([("x-bomb", big)])
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, block + index * 4000))
    elif kind == "hpack-index-zero":
        # A field by index 0, which names no entry (RFC 7541 §6.1).
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host) + bytes([0x80])))
    elif kind == "hpack-huffman-eos":
        # A literal field whose Huffman-coded value holds EOS (RFC 7541 §5.2).
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host) + bytes([0x00, 0x01, 0x61, 0x84, 0xFF, 0xFF, 0xFF, 0xFF])))
    elif kind == "hpack-late-size-update":
        # A dynamic table size update after the block's first field (RFC 7541 §4.2).
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host) + bytes([0x20])))
    elif kind == "window-update-overflow":
        s.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)) * 2)
    elif kind == "stream-id-reuse":
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3, request_block(enc, host)))
        result["answered"] = await_end_of_stream(s, 3)
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host)))
    elif kind == "data-on-closed-stream":
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host)))
        # Once the response has ended, stream 1 is closed on both sides.
        result["answered"] = await_end_of_stream(s, 1)
        s.sendall(frame(DATA, 0, 1, b"late") * 4)
    elif kind == "settings-flood":
        # Many SETTINGS, each owing an ACK, while never reading an ACK.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        result["sent"] = send_until_closed(s, frame(SETTINGS, 0, 0) * 1000, 64 << 20, 20)
    elif kind == "malformed-flood":
        # Streams whose HEADERS carry an uppercase field name, each reset by the proxy, until
        # it has had enough: it may close before the last is sent (its reset of the socket
        # then fails a send), as it does in a release build.
        for stream in range(1, 2 * 400, 2):
            try:
                s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, request_block(enc, host, extra=[("X-Upper", "1")])))
            except OSError:
                break
    elif kind == "ping-flood":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        result["sent"] = send_until_closed(s, frame(PING, 0, 0, b"12345678") * 1000, 64 << 20, 20)
    else:
        raise SystemExit(f"unknown h2 attack {kind}")
    frames, closed = read_frames(s, 15)
    s.close()
    result["goaway"] = goaway_code(frames)
    result["closed"] = closed
    return result


def h2_stream(port, host, kind):
    """One stream-level case on an HTTP/2 connection: what the proxy answered on stream 1
    (status, whether it ended the stream, the RST_STREAM code if it reset it, DATA bytes), and
    the status of a plain GET on stream 3 of the same connection afterwards (the connection
    still serves). Kinds:
    - early-answer: a POST to an unknown authority whose body never comes (the answer goes
      out while the request is still open);
    - head-answer: a HEAD to an unknown authority (the proxy's answer has no body);
    - connect: an HTTP/2 CONNECT (RFC 9113 §8.5);
    - host-mismatch: `:authority` and a `host` field that differ;
    - uppercase-name, connection-field, pseudo-after-field: malformed blocks (RFC 9113 §8.2,
      §8.3), which must reset the stream with PROTOCOL_ERROR;
    - stalled-download:PATH: a GET for PATH whose response the client never opens window
      for beyond the initial 64 KiB; reads for 4 s (the proxy must hold the upstream back);
    - headers-first: two requests in turn whose HEADERS do not end them, each waiting for its
      response first (reports `statuses` only);
    - closed-window: a GET from a client whose SETTINGS make every stream's window 0 and that
      never sends WINDOW_UPDATE, so the response's body can never go out; reads for up to 10 s
      (`elapsed`: the seconds until the proxy reset the stream);
    - trickle-window:PATH: the same for PATH, but the client opens the stream's window by one
      byte every 0.5 s, so the body goes out a byte at a time."""
    import hpack
    kind, _, path = kind.partition(":")
    s = connect(port)
    # SETTINGS_INITIAL_WINDOW_SIZE (0x4) 0 for closed-window and trickle-window.
    windowless = kind in ("closed-window", "trickle-window")
    s.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 0x4, 0) if windowless else b""))
    started = time.monotonic()
    enc, dec = encoder(), hpack.Decoder()
    if kind == "headers-first":
        # Streams 1 and 3, each a request whose HEADERS do not end it: the upstream answers
        # on seeing them, so the proxy must send them on without waiting for more.
        statuses = []
        for stream in (1, 3):
            s.sendall(frame(HEADERS, END_HEADERS, stream, request_block(enc, host)))
            frames, _ = read_frames(s, 5, until=lambda f: f[2] == stream and f[0] == HEADERS)
            blocks = [(f[2], dict(dec.decode(f[3]))) for f in frames if f[0] == HEADERS]
            statuses.append(next((int(fields[":status"]) for sid, fields in blocks if sid == stream), 0))
            s.sendall(frame(DATA, END_STREAM, stream))
        s.close()
        return {"statuses": statuses}
    if kind == "early-answer":
        block = enc.encode([(":method", "POST"), (":scheme", "http"), (":authority", "nowhere.invalid"), (":path", "/")])
        s.sendall(frame(HEADERS, END_HEADERS, 1, block))
    elif kind == "head-answer":
        block = enc.encode([(":method", "HEAD"), (":scheme", "http"), (":authority", "nowhere.invalid"), (":path", "/")])
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
    elif kind == "connect":
        s.sendall(frame(HEADERS, END_HEADERS, 1, enc.encode([(":method", "CONNECT"), (":authority", host)])))
    elif kind == "uppercase-name":
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host, extra=[("X-Upper", "1")])))
    elif kind == "connection-field":
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host, extra=[("connection", "close")])))
    elif kind == "pseudo-after-field":
        block = enc.encode([(":method", "GET"), (":scheme", "http"), ("x-a", "1"), (":authority", host), (":path", "/")])
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
    elif kind == "host-mismatch":
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host, extra=[("host", "other.test")])))
    elif kind == "stalled-download" or windowless:
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(enc, host, path or "/")))
    else:
        raise SystemExit(f"unknown h2-stream case {kind}")
    result = {"status": 0, "ended": False, "reset": None, "data": 0}
    seconds = 4 if kind == "stalled-download" else 10

    def stream_done(f):
        return f[2] == 1 and (f[0] == RST_STREAM or (kind != "early-answer" and f[1] & END_STREAM))
    if kind == "trickle-window":
        frames, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline and not any(stream_done(f) for f in frames):
            more, closed = read_frames(s, 0.5, until=stream_done)
            frames += more
            if closed:
                break
            s.sendall(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1)))
    else:
        frames, _ = read_frames(s, seconds, until=stream_done)
    if kind == "early-answer" and not any(f[0] == RST_STREAM and f[2] == 1 for f in frames):
        more, _ = read_frames(s, 2, until=lambda f: f[0] == RST_STREAM and f[2] == 1)
        frames += more
    for kind_, flags, stream, payload in frames:
        # Every block is decoded, in order: HPACK's table is the connection's.
        fields = dict(dec.decode(payload)) if kind_ == HEADERS else {}
        if stream != 1:
            continue
        if kind_ == HEADERS and result["status"] == 0:
            result["status"] = int(fields[":status"])
        elif kind_ == DATA:
            result["data"] += len(payload)
        elif kind_ == RST_STREAM:
            result["reset"] = struct.unpack(">I", payload[:4])[0]
            result["elapsed"] = round(time.monotonic() - started, 2)
        if kind_ in (HEADERS, DATA) and flags & END_STREAM:
            result["ended"] = True
    if kind != "stalled-download" and not windowless:
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3, request_block(enc, host)))
        frames, _ = read_frames(s, 10, until=lambda f: f[2] == 3 and f[0] == HEADERS)
        blocks = [(f[2], dict(dec.decode(f[3]))) for f in frames if f[0] == HEADERS]
        result["next"] = next((int(fields[":status"]) for stream, fields in blocks if stream == 3), 0)
    s.close()
    return result


def stall(port, raw, seconds):
    """Sends `raw`, then reads until the proxy closes or `seconds` pass: what it answered,
    whether it closed, and after how long."""
    started = time.monotonic()
    s = connect(port)
    s.sendall(raw)
    data = b""
    closed = False
    deadline = started + seconds
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    elapsed = time.monotonic() - started
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1]) if data else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return {"status": status, "headers": headers, "body": body.decode("latin-1"), "closed": closed, "elapsed": elapsed}


def h2_request(port, host, path, extra, method="POST", body=None):
    """One HTTP/2 request with extra headers (and DATA frames carrying `body`, with no
    content-length): status, headers, trailers, body, elapsed."""
    import h2.connection
    import h2.config
    started = time.monotonic()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    s = connect(port, timeout=30)
    headers = [(":method", method), (":scheme", "http"), (":authority", host), (":path", path)] + extra
    conn.send_headers(1, headers, end_stream=body is None)
    if body is not None:
        conn.send_data(1, body, end_stream=True)
    s.sendall(conn.data_to_send())
    result = {"status": 0, "headers": {}, "trailers": {}, "body": ""}
    done = False
    while not done and time.monotonic() < started + 30:
        data = s.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            name = type(event).__name__
            if name == "ResponseReceived":
                result["headers"] = dict(event.headers)
                result["status"] = int(result["headers"][":status"])
            elif name == "TrailersReceived":
                result["trailers"] = dict(event.headers)
            elif name == "DataReceived":
                result["body"] += event.data.decode("latin-1")
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif name in ("StreamEnded", "StreamReset"):
                done = True
        s.sendall(conn.data_to_send())
    s.close()
    result["elapsed"] = time.monotonic() - started
    return result


def load(port, host, seconds, connections):
    """Keep-alive HTTP/1.1 load on `connections` connections for up to `seconds`. A request
    counts as failed when it was sent on a connection the proxy had accepted and no complete
    200 came back; a connect the closed listener refuses never reached the proxy and ends that
    connection's loop. Reconnects after `Connection: close` as a client should."""
    import threading
    counts = {"ok": 0, "failed": 0, "refused": 0}
    failures = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    def worker():
        s = None
        while time.monotonic() < deadline:
            if s is None:
                try:
                    s = connect(port, timeout=10)
                except OSError:
                    with lock:
                        counts["refused"] += 1
                    return
            try:
                s.sendall(request)
                status, headers, body, closed = read_response(s)
            except OSError as error:
                status, headers, closed = 0, {}, True
                body = repr(error)
            with lock:
                if status == 200:
                    counts["ok"] += 1
                else:
                    counts["failed"] += 1
                    failures.append(f"{status} {body[:80]}")
            if closed or status != 200 or headers.get("connection", "").lower() == "close":
                s.close()
                s = None
        if s is not None:
            s.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    counts["failures"] = failures[:10]
    return counts


def connection_flood(port, host, count, admin_port, expect_closed):
    """Opens `count` connections that each send half a request head and hold; reports how many
    the proxy closed at once, and whether the admin port's /live answered meanwhile."""
    sockets = []
    for _ in range(count):
        try:
            s = connect(port, timeout=5)
            s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())
            sockets.append(s)
        except OSError:
            pass
    # Wait (bounded) until `expect_closed` of them have been closed by the proxy.
    import select
    closed = set()
    deadline = time.monotonic() + 10
    while len(closed) < expect_closed and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in sockets if s not in closed], [], [], 0.1)
        for s in readable:
            try:
                if not s.recv(65536):
                    closed.add(s)
            except OSError:
                closed.add(s)
    started = time.monotonic()
    live = h1_exchange(admin_port, "", b"GET /live HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
    live_seconds = time.monotonic() - started
    for s in sockets:
        s.close()
    return {"opened": len(sockets), "closed": len(closed), "live": live["status"], "live_seconds": live_seconds}


def serve(handler, connections):
    """Listens on an ephemeral port of 127.0.0.1, prints `ready PORT`, and hands each of at
    most `connections` accepted sockets to `handler(socket, number)` on a thread of its own,
    numbered from 1 in the order they were accepted."""
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(f"ready {listener.getsockname()[1]}", flush=True)
    for number in range(1, connections + 1):
        connection, _ = listener.accept()
        threading.Thread(target=handler, args=(connection, number), daemon=True).start()
    threading.Event().wait(120)


def receive_until(s, buffer, enough):
    """Reads from `s` onto `buffer` until `enough(buffer)`, and returns it; None once the peer
    closed, or the socket's timeout ran out."""
    while not enough(buffer):
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            return None
        buffer += data
    return buffer


def h2_session(port, host, path, race=False, slow=False):
    """A well-behaved HTTP/2 client on raw frames (h2's own state machine takes the first
    GOAWAY as the end and refuses the PING of a graceful shutdown), with one request to `path`
    or none (`-`): it acknowledges SETTINGS and PINGs, prints `sent`, and once the proxy closes
    the connection reports status, body, each GOAWAY's error code and last stream id, whether
    the proxy closed the connection, and after how long.

    With `slow`, it reads slowly through a small receive buffer (16 KiB at a time, 5 ms apart)
    with windows that let the proxy send 16 MiB at once, prints `head` once the response's
    HEADERS came, and reports the body's length instead of the body.

    With `race`, the request races a graceful shutdown: the client reads the server's SETTINGS
    (without acknowledging it) and the server's acknowledgement of its own, and prints `ready`;
    once more bytes arrive (the shutdown's first GOAWAY), it sends its SETTINGS acknowledgement
    and the request before it reads them, as a client does whose request was on the wire when
    the GOAWAY was."""
    import hpack
    import select
    decoder = hpack.Decoder()
    started = time.monotonic()
    if slow:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(30)
        s.connect(("127.0.0.1", port))
    else:
        s = connect(port, timeout=30)
    request = b"" if path == "-" else frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(encoder(), host, path))
    if slow:
        # SETTINGS_INITIAL_WINDOW_SIZE 16 MiB and as much for the connection: the proxy may
        # send the whole response at once; only the socket holds it back.
        request = frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 16 << 20)) + request
    result = {"status": 0, "body": "", "goaways": [], "closed": False}
    buffer = b""

    def frames():
        nonlocal buffer
        while len(buffer) >= 9:
            length = struct.unpack(">I", b"\0" + buffer[:3])[0]
            if len(buffer) < 9 + length:
                return
            kind, flags, payload = buffer[3], buffer[4], buffer[9:9 + length]
            buffer = buffer[9 + length:]
            yield kind, flags, payload

    if race:
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        settings, acknowledged = False, False
        while not (settings and acknowledged):
            data = s.recv(65536)
            if not data:
                result["closed"] = True
                return result
            buffer += data
            for kind, flags, _ in frames():
                settings = settings or (kind == SETTINGS and not flags & 1)
                acknowledged = acknowledged or (kind == SETTINGS and flags & 1)
        print("ready", flush=True)
        readable, _, _ = select.select([s], [], [], 30)
        if not readable:
            return result
        s.sendall(frame(SETTINGS, 1, 0) + request)
    else:
        settings = struct.pack(">HI", 0x4, 16 << 20) if slow else b""
        s.sendall(PREFACE + frame(SETTINGS, 0, 0, settings) + request)
    print("sent", flush=True)
    length = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = s.recv(16384 if slow else 65536)
        except OSError as error:
            result["error"] = str(error)
            data = b""
        if not data:
            result["closed"] = True
            break
        if slow:
            time.sleep(0.005)
        buffer += data
        try:
            for kind, flags, payload in frames():
                if kind == SETTINGS and not flags & 1:
                    s.sendall(frame(SETTINGS, 1, 0))
                elif kind == PING and not flags & 1:
                    s.sendall(frame(PING, 1, 0, payload))
                elif kind == HEADERS:
                    headers = dict(decoder.decode(payload))
                    if ":status" in headers:
                        result["status"] = int(headers[":status"])
                        if slow:
                            print("head", flush=True)
                elif kind == DATA:
                    length += len(payload)
                    if not slow:
                        result["body"] += payload.decode("latin-1")
                    if payload:
                        s.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(payload))))
                elif kind == RST_STREAM:
                    result["reset"] = struct.unpack(">I", payload[:4])[0]
                elif kind == GOAWAY:
                    last = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                    result["goaways"].append([struct.unpack(">I", payload[4:8])[0], last])
        except OSError as error:  # the proxy reset the connection under a write
            result["error"] = str(error)
            result["closed"] = True
            break
    s.close()
    result["elapsed"] = time.monotonic() - started
    if slow:
        result["length"] = length
    return result


def stale_upstream(mode):
    """An HTTP/1.1 upstream whose keep-alive connections go stale: a connection answers its
    first request (`200`, body `connection N`, printing `request N PATH`) and closes under the
    next one without answering, as a server closing an idle connection just as a request
    arrives does. `reset` closes with RST instead of FIN; `once` answers only the very first
    request of the first connection (every other request finds its connection closing);
    `interim` sends `103 Early Hints` before it closes (it had started answering). A chunked
    request body must be empty: its trailers are printed as `trailers N TEXT`; a
    `content-length` body is printed as `body N TEXT`."""
    def handle(s, number):
        s.settimeout(30)
        buffer = b""
        answered = 0
        while True:
            buffer = receive_until(s, buffer, lambda b: b"\r\n\r\n" in b)
            if buffer is None:
                s.close()
                return
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1].decode()
            print(f"request {number} {path}", flush=True)
            if b"transfer-encoding: chunked" in head.lower():
                buffer = receive_until(s, buffer, lambda b: b"\r\n\r\n" in b)
                if buffer is None:
                    s.close()
                    return
                body, buffer = buffer.split(b"\r\n\r\n", 1)
                print(f"trailers {number} {body[3:].decode()}", flush=True)
            for line in head.lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                    buffer = receive_until(s, buffer, lambda b: len(b) >= length)
                    if buffer is None:
                        s.close()
                        return
                    print(f"body {number} {buffer[:length].decode()}", flush=True)
                    buffer = buffer[length:]
            if answered or (mode == "once" and number > 1):
                if mode == "interim":
                    s.sendall(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n")
                if mode == "reset":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                return
            answered += 1
            body = f"connection {number}".encode()
            s.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)

    serve(handle, 64)


def blackhole():
    """An upstream that accepts connections and never answers."""

    def swallow(s, _number):
        s.settimeout(120)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()

    serve(swallow, 256)


def serve_h2(session):
    """HTTP/2 upstreams on raw sockets with h2's server state machine. For connection number N,
    `session(N)` returns `(on_event, on_data)`: `on_data(bytes)` (or None) sees every chunk
    read, `on_event(conn, event)` answers on `conn` and returns True once the connection is done
    (it is then only read until its peer closes). Prints `connection N closed by the peer`."""
    import h2.config
    import h2.connection

    def handle(s, number):
        on_event, on_data = session(number)
        s.settimeout(30)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        done = False
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                if on_data:
                    on_data(data)
                if done:
                    continue
                for event in conn.receive_data(data):
                    if on_event(conn, event):
                        done = True
                        break
                s.sendall(conn.data_to_send())
        except Exception:
            pass
        print(f"connection {number} closed by the peer", flush=True)
        s.close()

    serve(handle, 64)


def answer(conn, stream_id, body):
    """A 200 with `body` on `stream_id`."""
    conn.send_headers(stream_id, [(":status", "200"), ("content-length", str(len(body)))])
    conn.send_data(stream_id, body, end_stream=True)


def goaway_upstream():
    """An HTTP/2 upstream that answers one request per connection (`served by connection N`),
    then says GOAWAY (NO_ERROR) and keeps the connection open until its peer closes it, as a
    server shutting down gracefully does; prints `connection N closed by the peer` then."""
    import h2.events

    def session(number):
        def on_event(conn, event):
            if not isinstance(event, h2.events.RequestReceived):
                return False
            answer(conn, event.stream_id, f"served by connection {number}\n".encode())
            conn.close_connection(last_stream_id=event.stream_id)
            return True
        return on_event, None

    serve_h2(session)


def counting_upstream():
    """An HTTP/2 upstream that answers every whole request with `200 ok` (printing `answered
    STREAM`) and prints `reset STREAM` for every RST_STREAM frame its peer sends, counted on the
    raw bytes (h2 itself swallows a reset of a stream that is closed already)."""
    import h2.events

    def session(number):
        raw = bytearray()
        preface = [False]

        def on_data(data):
            raw.extend(data)
            if not preface[0] and len(raw) >= len(PREFACE):
                del raw[:len(PREFACE)]
                preface[0] = True
            while preface[0] and len(raw) >= 9:
                length = int.from_bytes(raw[0:3], "big")
                if len(raw) < 9 + length:
                    break
                if raw[3] == 0x3:
                    print(f"reset {int.from_bytes(raw[5:9], 'big') & 0x7FFFFFFF}", flush=True)
                del raw[:9 + length]

        def on_event(conn, event):
            if isinstance(event, h2.events.StreamEnded):
                answer(conn, event.stream_id, b"ok\n")
                print(f"answered {event.stream_id}", flush=True)
            return False
        return on_event, on_data

    serve_h2(session)


def refusing_upstream(mode):
    """An HTTP/2 upstream that does not process some requests, as RFC 9113 §8.7 lets a server
    say, once a request is whole: `refuse` resets the first stream of each connection with
    REFUSED_STREAM (`refused N S`), `refuse-two` the first two; `goaway` says GOAWAY with last
    stream ID 0 on the first connection (`goaway N S`). Two modes process the first request
    and then fail it, where a second attempt would be wrong: `interim-refuse` sends a `103`
    before REFUSED_STREAM (`refused N S`), `close` closes the first connection (`closing N S`).
    Every other request is answered `200` with `connection N stream S: BODY` (`answered N S`)."""
    import h2.events

    def session(number):
        bodies = {}
        seen = [0]

        def on_event(conn, event):
            if isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if not isinstance(event, h2.events.StreamEnded):
                return False
            stream = event.stream_id
            seen[0] += 1
            if mode == "goaway" and number == 1:
                print(f"goaway {number} {stream}", flush=True)
                conn.close_connection(last_stream_id=0)
                return True
            if mode == "close" and number == 1:
                print(f"closing {number} {stream}", flush=True)
                raise ConnectionAbortedError("the upstream goes away with the request")
            if (mode == "refuse" and seen[0] == 1) or (mode == "refuse-two" and seen[0] <= 2) or (mode == "interim-refuse" and seen[0] == 1):
                if mode == "interim-refuse":
                    conn.send_headers(stream, [(":status", "103"), ("link", "</a.css>")])
                print(f"refused {number} {stream}", flush=True)
                conn.reset_stream(stream, error_code=7)
                return False
            print(f"answered {number} {stream}", flush=True)
            answer(conn, stream, f"connection {number} stream {stream}: ".encode() + bodies.get(stream, b""))
            return False
        return on_event, None

    serve_h2(session)


def eager_upstream():
    """An HTTP/2 upstream that answers `200 early` as soon as a request's HEADERS arrive,
    without waiting for the request's end (a gRPC server may speak first)."""
    import h2.events

    def session(number):
        def on_event(conn, event):
            if isinstance(event, h2.events.RequestReceived):
                answer(conn, event.stream_id, b"early\n")
            return False
        return on_event, None

    serve_h2(session)


def trailers_upstream():
    """An HTTP/2 upstream that answers every whole request with a 12,000-byte body and a
    trailer section (`x-checksum: ok`), all in one write: the body outgrows a client stream's
    write watermark, and the trailers arrive while the proxy holds the upstream back."""
    import h2.events

    def session(number):
        def on_event(conn, event):
            if isinstance(event, h2.events.StreamEnded):
                conn.send_headers(event.stream_id, [(":status", "200")])
                conn.send_data(event.stream_id, b"t" * 12000)
                conn.send_headers(event.stream_id, [("x-checksum", "ok")], end_stream=True)
            return False
        return on_event, None

    serve_h2(session)


def calm_upstream(held):
    """An HTTP/2 upstream whose first two connections each take `held` requests without
    answering, then say GOAWAY ENHANCE_YOUR_CALM with last stream id 0 (none of them was
    processed) and read until their peer closes, printing `connection N closed by the peer`;
    later connections answer every request `after calm`."""
    import h2.errors
    import h2.events

    def session(number):
        waiting = [0]

        def on_event(conn, event):
            if not isinstance(event, h2.events.StreamEnded):
                return False
            if number > 2:
                answer(conn, event.stream_id, b"after calm\n")
                return False
            waiting[0] += 1
            if waiting[0] < held:
                return False
            conn.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, last_stream_id=0)
            return True
        return on_event, None

    serve_h2(session)


def narrow_upstream(mode):
    """An HTTP/2 upstream that allows one stream at a time (SETTINGS_MAX_CONCURRENT_STREAMS 1),
    answers its first request at once (`warm`) and holds the second, while the proxy queues
    what comes after behind the limit. Modes:
    - goaway: only the first connection is narrow. Once the held request has waited a second it
      says the first GOAWAY of a graceful shutdown (NO_ERROR, last stream id 2^31-1), answers
      it `served`, and stays open: the requests the proxy queued never reach it. Later
      connections answer every request `again` at once, printing `again N` for each.
    - raise-window: on the second request it raises SETTINGS_INITIAL_WINDOW_SIZE to 1 MiB (as
      grpc-go's window estimator does), answers it half a second later, and every later one at
      once; it prints `answered N` for each."""
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings

    def handle(s, number):
        s.settimeout(30)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        if number == 1 or mode == "raise-window":
            conn.local_settings = h2.settings.Settings(client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        answered = 0
        held = None
        deadline = None

        def reply(stream_id, body):
            nonlocal answered
            answered += 1
            if mode == "raise-window":
                print(f"answered {answered}", flush=True)
            answer(conn, stream_id, body)

        try:
            while True:
                s.settimeout(0.05 if deadline else 30)
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    data = None
                if data == b"":
                    break
                for event in conn.receive_data(data) if data else []:
                    if not isinstance(event, h2.events.StreamEnded):
                        continue
                    if number > 1 and mode == "goaway":
                        print(f"again {number}", flush=True)
                        reply(event.stream_id, b"again\n")
                    elif answered == 0:
                        reply(event.stream_id, b"warm\n")
                    elif held is None:
                        held = event.stream_id
                        deadline = time.monotonic() + (1 if mode == "goaway" else 0.5)
                        if mode == "raise-window":
                            conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
                    elif mode == "raise-window":
                        reply(event.stream_id, b"ok\n")
                    # goaway: nothing more reaches the first connection (the proxy queues the
                    # rest, then sends them to a new one); one that did would hang here.
                if deadline and time.monotonic() >= deadline:
                    deadline = None
                    if mode == "goaway":
                        s.sendall(frame(GOAWAY, 0, 0, struct.pack(">II", 0x7FFFFFFF, 0)))
                    reply(held, b"served\n")
                s.sendall(conn.data_to_send())
        except Exception:
            pass
        s.close()

    serve(handle, 4)


def hostile_upstream(kind):
    """An HTTP/2 upstream that answers every request with an attack, then prints
    `peer closed after N bytes` each time the proxy closes the connection on it (or, for the
    stream-level `content-length`, `reset CODE` once the proxy resets the stream). Kinds:
    continuation-flood, window-update-overflow, uppercase-field, ping-flood and settings-flood
    (never reading the answers), push-promise, idle-stream (DATA on a stream the proxy did not
    open), oversized-frame, no-settings (a response before the upstream's SETTINGS),
    content-length (20 body bytes where `content-length` says 10: prints `reset CODE`),
    body-after-204 (20 body bytes after a 204: prints `reset CODE`), and
    window-ignored (DATA without end, ignoring the windows: prints `FLOW_CONTROL_ERROR by
    RST_STREAM|GOAWAY after N bytes` once the proxy resets the stream or ends the connection
    for it, or what else it did)."""

    def attack(s, _number):
        s.settimeout(30)
        enc = encoder()
        sent = 0
        try:
            data = b""
            while len(data) < len(PREFACE) + 9:
                chunk = s.recv(65536)
                if not chunk:
                    return
                data += chunk
            if kind in ("ping-flood", "settings-flood"):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if kind != "no-settings":
                s.sendall(frame(SETTINGS, 0, 0) + frame(SETTINGS, 1, 0))
            # Wait for the request's HEADERS, then attack on its stream.
            frames, _ = read_frames(s, 0.5)
            stream = next((f[2] for f in frames if f[0] == HEADERS), 1)
            block = enc.encode([(":status", "200")])
            if kind == "continuation-flood":
                s.sendall(frame(HEADERS, 0, stream, block))
                sent = send_until_closed(s, frame(CONTINUATION, 0, stream, b"\0" * 16000) * 8, 2 << 30, 20)
            elif kind == "window-update-overflow":
                s.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)) * 2)
            elif kind == "uppercase-field":
                bad = enc.encode([(":status", "200"), ("X-Upper", "1")])
                s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, bad))
            elif kind == "ping-flood":
                sent = send_until_closed(s, frame(PING, 0, 0, b"12345678") * 1000, 64 << 20, 20)
            elif kind == "settings-flood":
                sent = send_until_closed(s, frame(SETTINGS, 0, 0) * 1000, 64 << 20, 20)
            elif kind == "push-promise":
                promised = enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/pushed")])
                s.sendall(frame(PUSH_PROMISE, END_HEADERS, stream, struct.pack(">I", 2) + promised))
            elif kind == "idle-stream":
                s.sendall(frame(DATA, 0, stream + 100, b"x"))
            elif kind == "oversized-frame":
                s.sendall(frame(DATA, 0, stream, b"x" * 20000))
            elif kind == "window-ignored":
                import select
                s.sendall(frame(HEADERS, END_HEADERS, stream, block))
                chunk = frame(DATA, 0, stream, b"x" * 16384) * 16
                deadline = time.monotonic() + 30
                buffer = b""

                def answer_seen():
                    """The proxy's RST_STREAM on the stream or GOAWAY among what it sent, if any."""
                    nonlocal buffer
                    while len(buffer) >= 9 and len(buffer) >= 9 + struct.unpack(">I", b"\0" + buffer[:3])[0]:
                        length = struct.unpack(">I", b"\0" + buffer[:3])[0]
                        buffer_header, kind_, payload = buffer[:9], buffer[3], buffer[9:9 + length]
                        buffer = buffer[9 + length:]
                        on_stream = struct.unpack(">I", buffer_header[5:9])[0] & 0x7FFFFFFF == stream
                        if kind_ == RST_STREAM and on_stream:
                            return "RST_STREAM", struct.unpack(">I", payload[:4])[0]
                        if kind_ == GOAWAY:
                            return "GOAWAY", struct.unpack(">I", payload[4:8])[0]
                    return None

                seen = None
                while not seen and sent < 256 << 20 and time.monotonic() < deadline:
                    try:
                        if select.select([s], [], [], 0)[0]:
                            data = s.recv(65536)
                            if not data:
                                break
                            buffer += data
                            seen = answer_seen()
                            continue
                        s.sendall(chunk)
                        sent += len(chunk)
                    except OSError:
                        break
                if not seen:
                    # Closed while sending: its GOAWAY may still be unread.
                    s.settimeout(1)
                    try:
                        while not seen and (data := s.recv(65536)):
                            buffer += data
                            seen = answer_seen()
                    except OSError:
                        pass
                name = "FLOW_CONTROL_ERROR" if seen and seen[1] == 3 else f"code {seen[1]}" if seen else "nothing"
                print(f"{name} by {seen[0] if seen else 'none'} after {sent} bytes", flush=True)
                return
            elif kind == "no-settings":
                s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, block))
            elif kind in ("content-length", "body-after-204"):
                fields = [(":status", "200"), ("content-length", "10")] if kind == "content-length" else [(":status", "204")]
                s.sendall(frame(HEADERS, END_HEADERS, stream, enc.encode(fields)) + frame(DATA, END_STREAM, stream, b"x" * 20))
                frames, _ = read_frames(s, 10, until=lambda f: f[0] == RST_STREAM and f[2] == stream)
                reset = next((f for f in frames if f[0] == RST_STREAM and f[2] == stream), None)
                print(f"reset {struct.unpack('>I', reset[3])[0] if reset else None}", flush=True)
                return
            else:
                raise SystemExit(f"unknown hostile upstream {kind}")
            closed = closed_within(s, 15)
            print(f"peer {'closed' if closed else 'kept the connection open'} after {sent} bytes", flush=True)
        finally:
            s.close()

    serve(attack, 16)


def main():
    # The test runner may hand its children SIGTERM ignored or blocked; tests stop servers with it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    if sys.argv[1] == "hostile-upstream":
        hostile_upstream(sys.argv[2])
        return
    if sys.argv[1] == "calm-upstream":
        calm_upstream(int(sys.argv[2]))
    if sys.argv[1] == "counting-upstream":
        counting_upstream()
    if sys.argv[1] == "eager-upstream":
        eager_upstream()
    if sys.argv[1] == "trailers-upstream":
        trailers_upstream()
    if sys.argv[1] == "narrow-upstream":
        narrow_upstream(sys.argv[2])
    if sys.argv[1] == "goaway-upstream":
        goaway_upstream()
        return
    if sys.argv[1] == "refusing-upstream":
        refusing_upstream(sys.argv[2])
        return
    if sys.argv[1] == "stale-upstream":
        stale_upstream(sys.argv[2])
        return
    if sys.argv[1] == "blackhole":
        blackhole()
        return
    if sys.argv[1] == "stall":
        print(json.dumps(stall(int(sys.argv[2]), bytes.fromhex(sys.argv[3]), float(sys.argv[4]))))
        return
    if sys.argv[1] == "connection-flood":
        print(json.dumps(connection_flood(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))))
        return
    if sys.argv[1] in ("h2-session", "h2-session-race", "h2-session-slow"):
        mode = sys.argv[1]
        print(json.dumps(h2_session(int(sys.argv[2]), sys.argv[3], sys.argv[4], race=mode == "h2-session-race", slow=mode == "h2-session-slow")), flush=True)
        return
    if sys.argv[1] == "load":
        print(json.dumps(load(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))), flush=True)
        return
    if sys.argv[1] == "h2-request":
        extra = [tuple(pair.split("=", 1)) for pair in sys.argv[5:]]
        print(json.dumps(h2_request(int(sys.argv[2]), sys.argv[3], sys.argv[4], extra)))
        return
    attack, port, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    if attack == "smuggle":
        result = smuggle(port, host, arg)
    elif attack == "h2-smuggle":
        result = h2_smuggle(port, host)
    elif attack == "h2":
        result = h2_attack(port, host, arg)
    elif attack == "h2-stream":
        result = h2_stream(port, host, arg)
    else:
        raise SystemExit(f"unknown attack {attack}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
