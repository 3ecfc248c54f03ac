"""The official MCP Python SDK client against replicas of the hello server
behind a round-robin load balancer with no session affinity.

Usage: BALANCER_URL=http://127.0.0.1:PORT python py_replicas.py SCENARIO...

Scenarios: `stateless-pinned` (2026-07-28, pinned), `stateless-auto`
(server/discover, then 2026-07-28), `handshake` (the 2025-11-25 session,
which needs sessions shared between the replicas).
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))

from mcp.client.client import Client  # noqa: E402

from checks import check, check_calls, check_tools, finish  # noqa: E402

BASE = os.environ.get("BALANCER_URL")
if not BASE or len(sys.argv) < 2:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
MCP = BASE.rstrip("/") + "/mcp"
ROUNDS = int(os.environ.get("REPLICAS_ROUNDS", "3"))


def scenario(mode, expected_version):
    async def run():
        async with Client(MCP, mode=mode) as client:
            assert client.protocol_version == expected_version, client.protocol_version
            tools = (await client.list_tools()).tools
            check_tools(tools, expected_version)
            await check_calls(client, expected_version)

    return run


SCENARIOS = {
    "stateless-pinned": ("2026-07-28, pinned", scenario("2026-07-28", "2026-07-28")),
    "stateless-auto": ("mode='auto': server/discover, then 2026-07-28", scenario("auto", "2026-07-28")),
    "handshake": ("mode='legacy': the 2025-11-25 session", scenario("legacy", "2025-11-25")),
}


async def main():
    unknown = [name for name in sys.argv[1:] if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        sys.exit(2)
    # Several rounds, so every scenario's requests spread over every replica.
    for round_ in range(1, ROUNDS + 1):
        for name in sys.argv[1:]:
            title, run = SCENARIOS[name]
            await check(f"python sdk through the balancer, round {round_}: {title}", run)
    finish()


asyncio.run(main())
