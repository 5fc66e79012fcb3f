"""HTTP/1.1 upstreams for Switchyard's end-to-end tests: `http_upstream.py NAME...` serves one
port per name on 127.0.0.1 (ephemeral) and prints `ready NAME=PORT ...` once all listen.
`NAME@127.0.0.2:18080` listens on that address and port instead (several loopback addresses
behind one port, as DNS A records name them).

  GET  /status/NNN        answers status NNN
  GET  /download?bytes=N  streams N bytes
  GET  /slow?ms=N         answers after N ms
  GET  /hold              answers once GET /control/release reaches any port (at most 30 s)
  POST (any path)         reads the body in chunks (never all at once), answers its length
  anything else           `hello from NAME`; JSON of method, path and headers in the body
                          after a newline when ?echo is in the query
Every request's body is read by its framing (content-length or chunked), whatever the method,
and every request line parsed is printed as `request NAME METHOD TARGET`, so a test can tell
exactly which requests reached the upstream; a closed connection prints `closed NAME ID`.
A NAME starting with "flaky" answers 500 to everything until GET /control/healthy on its own
port (GET /control/unhealthy flips it back).
Responses carry x-upstream (the name) and x-connection-id (which TCP connection served it).
"""
import itertools
import json
import signal
import sys
import threading
import time
import http.server


connection_ids = itertools.count(1)
healthy = {}
released = threading.Event()


def handler_for(name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Whole responses in one write, sent at once: no Nagle and delayed-ACK stalls.
        wbufsize = 65536
        disable_nagle_algorithm = True

        def setup(self):
            super().setup()
            self.connection_id = next(connection_ids)

        def finish(self):
            super().finish()
            print(f"closed {name} {self.connection_id}", flush=True)

        def parse_request(self):
            ok = super().parse_request()
            if ok:
                print(f"request {name} {self.command} {self.path}", flush=True)
            return ok

        def read_body(self):
            """Reads the request body by its framing; returns its length."""
            total = 0
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    remaining = size
                    while remaining:
                        data = self.rfile.read(min(remaining, 65536))
                        remaining -= len(data)
                        total += len(data)
                    self.rfile.readline()
            else:
                remaining = int(self.headers.get("content-length") or 0)
                while remaining:
                    data = self.rfile.read(min(remaining, 65536))
                    if not data:
                        break
                    remaining -= len(data)
                    total += len(data)
            return total

        def reply(self, status, body, headers=()):
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.send_header("x-upstream", name)
            self.send_header("x-connection-id", str(self.connection_id))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            body_bytes = self.read_body()
            path, _, query = self.path.partition("?")
            if path == "/control/release":
                released.set()
                self.reply(200, b"released\n")
            elif path.startswith("/control/"):
                healthy[name] = path == "/control/healthy"
                self.reply(200, b"ok\n")
            elif name.startswith("flaky") and not healthy.get(name):
                self.reply(500, f"{name} is failing\n".encode())
            elif path.startswith("/status/"):
                code = int(path.split("/")[2])
                self.reply(code, f"{name} answered {code}\n".encode())
            elif path == "/download":
                total = int(query.split("=")[1])
                self.send_response(200)
                self.send_header("content-length", str(total))
                self.end_headers()
                chunk = b"x" * 65536
                while total > 0:
                    piece = chunk[: min(total, len(chunk))]
                    self.wfile.write(piece)
                    self.wfile.flush()
                    total -= len(piece)
            elif path == "/hold":
                released.wait(30)
                self.reply(200, f"hello from {name}\n".encode())
            elif path == "/slow":
                time.sleep(int(query.split("=")[1]) / 1000)
                self.reply(200, f"hello from {name}\n".encode())
            else:
                body = f"hello from {name}\n"
                if "echo" in query:
                    body += json.dumps({"method": self.command, "path": self.path, "body_bytes": body_bytes,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n"
                self.reply(200, body.encode())

        do_DELETE = do_GET
        do_HEAD = do_GET
        do_OPTIONS = do_GET

        def do_POST(self):
            total = self.read_body()
            self.reply(200, f"{name} received {total} bytes\n".encode())

        do_PUT = do_POST

        def log_message(self, *args):
            pass

    return Handler


# The test runner may hand its children SIGTERM ignored or blocked; tests stop peers with it.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])

servers = []
for spec in sys.argv[1:]:
    name, _, where = spec.partition("@")
    host, _, port = where.rpartition(":") if where else ("127.0.0.1", "", "0")
    server = http.server.ThreadingHTTPServer((host, int(port)), handler_for(name))
    server.daemon_threads = True
    servers.append((name, server))
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready " + " ".join(f"{name}={server.server_address[1]}" for name, server in servers), flush=True)
threading.Event().wait()
