"""Three HTTP/1.1 backends for the balancing-quality benchmark: `delay_backend.py MS MS MS`
listens on one ephemeral port of 127.0.0.1 per argument, answers every request after that many
milliseconds with a 2-byte body (keep-alive), and prints `ready PORT PORT PORT`. Runs until
stdin closes or it is terminated; bounded by --max-seconds (default 600)."""
import asyncio
import sys


async def serve(delay_ms):
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                # GET without a body (the benchmark's requests); anything else closes.
                if b"content-length" in head.lower() or b"transfer-encoding" in head.lower():
                    break
                if delay_ms:
                    await asyncio.sleep(delay_ms / 1000)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def main():
    delays = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
    limit = 600
    for a in sys.argv[1:]:
        if a.startswith("--max-seconds="):
            limit = int(a.split("=", 1)[1])
    started = [await serve(d) for d in delays]
    print("ready " + " ".join(str(port) for _, port in started), flush=True)
    await asyncio.sleep(limit)


asyncio.run(main())
