"""Opens N keep-alive HTTP/1.1 connections to 127.0.0.1:PORT, sends one GET on each (so each
is a used, idle keep-alive connection), prints `idle N` once every response has come, then holds
them until stdin closes or --hold seconds pass: `idle_clients.py PORT N [--hold=120]
[--no-request] [--cookie-bytes=N]` (with --no-request the connections stay fresh: connected,
nothing sent; --cookie-bytes adds a Cookie header of N bytes, as browsers send)."""
import asyncio
import os
import sys


async def one(port, request):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if not request:
        return writer
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return writer


async def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    hold = 120
    for a in sys.argv[3:]:
        if a.startswith("--hold="):
            hold = int(a.split("=", 1)[1])
    cookie = b""
    for a in sys.argv[3:]:
        if a.startswith("--cookie-bytes="):
            cookie = b"Cookie: s=" + b"x" * int(a.split("=", 1)[1]) + b"\r\n"
    request = b"" if "--no-request" in sys.argv else b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + cookie + b"\r\n"
    writers = []
    for start in range(0, count, 500):  # in batches: the accept queue is finite
        writers += await asyncio.gather(*(one(port, request) for _ in range(min(500, count - start))))
    print(f"idle {len(writers)}", flush=True)
    loop = asyncio.get_running_loop()
    closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([closed], timeout=hold)
    for w in writers:
        w.close()
    # The thread blocked on stdin would keep the process alive past --hold.
    sys.stdout.flush()
    os._exit(0)


asyncio.run(main())
