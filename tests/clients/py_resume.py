"""The official MCP Python SDK client resumes a broken SSE stream.

A TCP proxy between the client and the hello server cuts the connection of
the first response that carries a progress notification, mid-stream. The
client (2025-11-25 session) reconnects with GET and Last-Event-ID after the
priming event's `retry`, and must receive the rest of the progress and the
result, each exactly once.
"""

import asyncio
import os
import sys
from urllib.parse import urlparse

from mcp.client.client import Client

from checks import check, finish, text

BASE = os.environ.get("HELLO_URL") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not BASE:
    print("usage: HELLO_URL=http://127.0.0.1:PORT python py_resume.py", file=sys.stderr)
    sys.exit(2)
upstream = urlparse(BASE)


class CuttingProxy:
    """Forwards TCP both ways; cuts the first connection whose response
    carries a progress notification, right after forwarding it."""

    def __init__(self):
        self.cuts = 0
        self.resumptions = 0

    async def handle(self, client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(upstream.hostname, upstream.port)

        async def upstream_pipe():
            try:
                while data := await client_reader.read(65536):
                    if b"last-event-id:" in data.lower():
                        self.resumptions += 1
                    server_writer.write(data)
                    await server_writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                server_writer.close()

        async def downstream_pipe():
            try:
                while data := await server_reader.read(65536):
                    client_writer.write(data)
                    await client_writer.drain()
                    if self.cuts == 0 and b"notifications/progress" in data:
                        self.cuts += 1
                        break
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                client_writer.close()
                server_writer.close()

        up = asyncio.create_task(upstream_pipe())
        await downstream_pipe()
        up.cancel()


async def resumed_call():
    proxy = CuttingProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as client:
            assert client.protocol_version == "2025-11-25", client.protocol_version
            progress = []

            async def on_progress(value, total, message):
                progress.append(value)

            result = await asyncio.wait_for(
                client.call_tool("countdown", {"steps": 10}, progress_callback=on_progress), 30
            )
            assert text(result) == "liftoff after 10 steps", result
            assert proxy.cuts == 1, "the proxy never cut the stream"
            assert proxy.resumptions == 1, f"{proxy.resumptions} resumptions"
            assert progress == list(range(1, 11)), progress
    finally:
        server.close()
        await server.wait_closed()


async def main():
    await check("python sdk resumes a cut SSE stream with Last-Event-ID, exactly once", resumed_call)
    finish()


asyncio.run(main())
