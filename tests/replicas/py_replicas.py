"""The official MCP Python SDK client against replicas of the hello server
behind a round-robin load balancer with no session affinity.

Usage: BALANCER_URL=http://127.0.0.1:PORT python py_replicas.py SCENARIO...

Scenarios: `stateless-pinned` (2026-07-28, pinned), `stateless-auto`
(server/discover, then 2026-07-28), `handshake` (the 2025-11-25 session,
which needs sessions shared between the replicas), `legacy-sse` (the
2024-11-05 HTTP+SSE transport: POSTs land on other replicas than the
stream's), `rolling` (a 2025-11-25
session calling tools without pause while the replicas are restarted one
after another: it writes the file ROLLING_STARTED after its first call and
goes on until the file ROLLING_DONE exists; every call must succeed, with
all its progress). ROLLING_STARTED holds the number of calls made so far.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))

import time  # noqa: E402

from mcp.client.client import Client  # noqa: E402
from mcp.client.sse import sse_client  # noqa: E402

from checks import check, check_calls, check_tools, finish, text  # noqa: E402

BASE = os.environ.get("BALANCER_URL")
if not BASE or len(sys.argv) < 2:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
MCP = BASE.rstrip("/") + "/mcp"
ROUNDS = int(os.environ.get("REPLICAS_ROUNDS", "3"))


def scenario(mode, expected_version, server=None):
    async def run():
        async with Client(server() if server else MCP, mode=mode) as client:
            assert client.protocol_version == expected_version, client.protocol_version
            tools = (await client.list_tools()).tools
            check_tools(tools, expected_version)
            await check_calls(client, expected_version)

    return run


async def rolling():
    started, done = os.environ["ROLLING_STARTED"], os.environ["ROLLING_DONE"]
    deadline = time.monotonic() + float(os.environ.get("ROLLING_SECONDS", "90"))
    calls = 0

    async def worker():
        nonlocal calls
        # A few calls after the restarts, on the replicas started anew.
        after = 0
        while after < 3:
            assert time.monotonic() < deadline, "the restarts did not finish in time"
            progress = []

            async def on_progress(value, total, message):
                progress.append(value)

            result = await client.call_tool("countdown", {"steps": 10}, progress_callback=on_progress)
            assert text(result) == "liftoff after 10 steps", result
            assert progress == list(range(1, 11)), progress
            assert text(await client.call_tool("greet", {"name": "Ada"})) == "Hello, Ada!"
            calls += 1
            # How far it got, for the script that restarts the replicas.
            with open(started + ".tmp", "w") as f:
                f.write(str(calls))
            os.replace(started + ".tmp", started)
            if os.path.exists(done):
                after += 1

    async with Client(MCP, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25", client.protocol_version
        # Two requests in flight at a time, so a stopping replica has some.
        await asyncio.gather(worker(), worker())
    print(f"     {calls} pairs of calls through the rolling restart, none failed")


SCENARIOS = {
    "stateless-pinned": ("2026-07-28, pinned", scenario("2026-07-28", "2026-07-28")),
    "stateless-auto": ("mode='auto': server/discover, then 2026-07-28", scenario("auto", "2026-07-28")),
    "handshake": ("mode='legacy': the 2025-11-25 session", scenario("legacy", "2025-11-25")),
    "legacy-sse": (
        "the 2024-11-05 HTTP+SSE transport: the stream on one replica, its POSTs on the others",
        scenario("legacy", "2025-11-25", lambda: sse_client(BASE.rstrip("/") + "/sse")),
    ),
    "rolling": ("a 2025-11-25 session through a rolling restart of every replica", rolling),
}


async def main():
    unknown = [name for name in sys.argv[1:] if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        sys.exit(2)
    if sys.argv[1:] == ["rolling"]:
        await check("python sdk through the balancer: " + SCENARIOS["rolling"][0], rolling)
        finish()
        return
    # Several rounds, so every scenario's requests spread over every replica.
    for round_ in range(1, ROUNDS + 1):
        for name in sys.argv[1:]:
            title, run = SCENARIOS[name]
            await check(f"python sdk through the balancer, round {round_}: {title}", run)
    finish()


asyncio.run(main())
