"""The official MCP Python SDK client against the hello server over stdio.

Covers the initialize handshake (mode='legacy'), the stateless 2026-07-28
revision pinned, and mode='auto', which probes with server/discover.
"""

import asyncio
import os
import sys

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from checks import check, check_calls, check_tools, finish

BIN = os.environ.get("HELLO_BIN") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not BIN:
    print("usage: HELLO_BIN=path/to/hello python py_stdio.py", file=sys.stderr)
    sys.exit(2)


def params():
    return StdioServerParameters(command=BIN, args=[], env={"RUST_LOG": "warn"})


def run_mode(mode, expected_version):
    async def scenario():
        async with Client(params(), mode=mode) as client:
            assert client.protocol_version == expected_version, client.protocol_version
            tools = (await client.list_tools()).tools
            check_tools(tools, expected_version)
            await check_calls(client, expected_version)

    return scenario


async def main():
    await check("python sdk, mode='legacy': the 2025-11-25 handshake", run_mode("legacy", "2025-11-25"))
    await check("python sdk, mode='2026-07-28': stateless, pinned", run_mode("2026-07-28", "2026-07-28"))
    await check("python sdk, mode='auto': server/discover probe", run_mode("auto", "2026-07-28"))
    finish()


asyncio.run(main())
