"""The official MCP Python SDK client against the hello server over HTTP.

Streamable HTTP with the initialize handshake (mode='legacy'), the
stateless 2026-07-28 revision pinned, and mode='auto'; and the legacy
HTTP+SSE transport.
"""

import asyncio
import os
import sys

from mcp.client.client import Client
from mcp.client.sse import sse_client

from checks import check, check_calls, check_tools, finish

BASE = os.environ.get("HELLO_URL") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not BASE:
    print("usage: HELLO_URL=http://127.0.0.1:PORT python py_http.py", file=sys.stderr)
    sys.exit(2)
BASE = BASE.rstrip("/")


def scenario(server, mode, expected_version):
    async def run():
        async with Client(server, mode=mode) as client:
            assert client.protocol_version == expected_version, client.protocol_version
            if mode != expected_version:
                # A pinned client skips discovery, so it has no server info.
                assert client.server_info is not None and client.server_info.name == "hello", client.server_info
            tools = (await client.list_tools()).tools
            check_tools(tools, expected_version)
            await check_calls(client, expected_version)

    return run


async def main():
    mcp = f"{BASE}/mcp"
    await check(
        "python sdk, Streamable HTTP, mode='legacy': the 2025-11-25 handshake",
        scenario(mcp, "legacy", "2025-11-25"),
    )
    await check(
        "python sdk, Streamable HTTP, mode='2026-07-28': stateless, pinned",
        scenario(mcp, "2026-07-28", "2026-07-28"),
    )
    await check(
        "python sdk, Streamable HTTP, mode='auto': server/discover probe",
        scenario(mcp, "auto", "2026-07-28"),
    )
    await check(
        "python sdk, legacy HTTP+SSE, mode='legacy'",
        scenario(sse_client(f"{BASE}/sse"), "legacy", "2025-11-25"),
    )
    finish()


asyncio.run(main())
