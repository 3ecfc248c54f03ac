"""Requests whose halves land on different replicas of the everything server,
behind a round-robin load balancer with no session affinity
(scripts/replicas.sh).

Usage: BALANCER_URL=http://127.0.0.1:PORT [AUDIT_FILES=a.jsonl:b.jsonl:...]
       python py_everything.py

With the official Python SDK, a 2025-11-25 session: progress; elicitation
and sampling, the server's request sent on the stream of the replica that
runs the tool and answered by a POST the balancer sends to the next one;
a resource subscription, the update raised by a tool call on one replica
and delivered on the session's GET stream held by another; cancellation,
the client's `notifications/cancelled` reaching the replica that runs the
call (seen in the replicas' audit files, AUDIT_FILES). With raw 2026-07-28
requests (the SDK has no client side for tasks): a task created on one
replica, read with tasks/get and cancelled with tasks/cancel on others.
Each scenario runs REPLICAS_ROUNDS times (default 3), so each of its steps
lands on every replica.
"""

import asyncio
import json
import os
import sys
import time
import urllib.request
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))

from mcp import types  # noqa: E402
from mcp.client.client import Client  # noqa: E402

from checks import check, finish, text  # noqa: E402

BASE = os.environ.get("BALANCER_URL")
if not BASE:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
MCP = BASE.rstrip("/") + "/mcp"
# resources/subscribe is a 2025-11-25 method, and this is a 2025-11-25 session.
warnings.filterwarnings("ignore", message="resources/(un)?subscribe is removed")
ROUNDS = int(os.environ.get("REPLICAS_ROUNDS", "3"))
AUDIT_FILES = [f for f in os.environ.get("AUDIT_FILES", "").split(":") if f]
WATCHED = "test://watched-resource"


async def on_sampling(context, params):
    asked = params.messages[0].content.text
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"echo: {asked}"),
        model="replica-test-model",
        stop_reason="endTurn",
    )


async def on_elicitation(context, params):
    return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})


async def session_calls():
    updates = asyncio.Queue()

    async def on_message(message):
        if isinstance(message, types.ResourceUpdatedNotification):
            await updates.put(message.params.uri)

    async with Client(
        MCP,
        mode="legacy",
        sampling_callback=on_sampling,
        elicitation_callback=on_elicitation,
        message_handler=on_message,
    ) as client:
        assert client.protocol_version == "2025-11-25", client.protocol_version
        await client.subscribe_resource(WATCHED)
        for round_ in range(ROUNDS):
            progress = []

            async def on_progress(value, total, message):
                progress.append((value, total))

            result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert text(result) == "Progress test completed", result
            assert progress == [(0, 100), (50, 100), (100, 100)], progress

            elicited = await client.call_tool("test_elicitation", {"message": f"round {round_}"})
            assert not elicited.is_error, elicited
            assert "ada@example.com" in text(elicited), elicited

            sampled = await client.call_tool("test_sampling", {"prompt": f"question {round_}"})
            assert not sampled.is_error, sampled
            assert text(sampled) == f"LLM response: echo: question {round_}", sampled

            updated = await client.call_tool("test_update_watched_resource", {})
            assert text(updated) == "Updated test://watched-resource", updated
            uri = await asyncio.wait_for(updates.get(), timeout=10)
            assert str(uri) == WATCHED, uri
        await client.unsubscribe_resource(WATCHED)


def audit_records():
    records = []
    for path in AUDIT_FILES:
        try:
            with open(path) as f:
                records.extend(json.loads(line) for line in f if line.strip())
        except FileNotFoundError:
            pass
    return records


def cancelled_calls():
    return sum(
        1
        for r in audit_records()
        if r.get("method") == "tools/call" and r.get("target") == "slow_compute" and r.get("outcome") == "cancelled"
    )


async def cancellation():
    assert AUDIT_FILES, "AUDIT_FILES names the replicas' audit files"
    before = cancelled_calls()
    async with Client(MCP, mode="legacy") as client:
        for _ in range(ROUNDS):
            started = time.monotonic()
            try:
                # Abandoned after 1 s: the SDK sends notifications/cancelled.
                await client.call_tool("slow_compute", {"seconds": 60}, read_timeout_seconds=1)
            except Exception as e:  # the SDK's timeout error
                assert time.monotonic() - started < 10, e
            else:
                raise AssertionError("a 60 s call answered within its 1 s timeout")
            # The session goes on.
            assert text(await client.call_tool("greet", {"name": "Ada"})) == "Hello, Ada!"
    # The replicas running the calls stopped them: each is audited as
    # cancelled, long before its 60 s were up.
    deadline = time.monotonic() + 10
    while cancelled_calls() - before < ROUNDS:
        assert time.monotonic() < deadline, f"{cancelled_calls() - before} of {ROUNDS} calls audited as cancelled"
        await asyncio.sleep(0.1)


def stateless(method, params, name):
    params = dict(params)
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(
        MCP,
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": method,
            "mcp-name": name,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def call(method, params, name):
    return await asyncio.to_thread(stateless, method, params, name)


async def until_status(task, want):
    deadline = time.monotonic() + 15
    while True:
        got = await call("tasks/get", {"taskId": task}, task)
        if got.get("result", {}).get("status") == want:
            return got["result"]
        assert time.monotonic() < deadline, f"task {task} never became {want}: {got}"
        await asyncio.sleep(0.05)


async def tasks():
    for round_ in range(ROUNDS):
        label = f"job-{round_}"
        created = await call("tools/call", {"name": "slow_compute", "arguments": {"seconds": 1, "label": label}}, "slow_compute")
        task = created["result"]["taskId"]
        assert created["result"]["resultType"] == "task", created
        # Polled on every replica in turn while it works, then done.
        seen = await call("tasks/get", {"taskId": task}, task)
        assert seen["result"]["status"] in ("working", "completed"), seen
        done = await until_status(task, "completed")
        assert done["result"]["content"][0]["text"] == f"{label}: computed for 1s", done

        # A long one, cancelled through another replica, stops.
        created = await call("tools/call", {"name": "slow_compute", "arguments": {"seconds": 120}}, "slow_compute")
        task = created["result"]["taskId"]
        cancelled = await call("tasks/cancel", {"taskId": task}, task)
        assert "error" not in cancelled, cancelled
        await until_status(task, "cancelled")


async def main():
    await check("python sdk through the balancer, 2025-11-25: progress, elicitation, sampling, subscription", session_calls)
    await check("python sdk through the balancer, 2025-11-25: cancellation reaches the replica running the call", cancellation)
    await check("2026-07-28 through the balancer: tasks created, read and cancelled on different replicas", tasks)
    finish()


asyncio.run(main())
