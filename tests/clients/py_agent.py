"""The official MCP Python SDK client against the workspace agent over
stdio and over Streamable HTTP, answering the server's sampling requests with a scripted model: the
model asks to write a file, then to read it back (and once to escape the
workspace), then answers. Checks the file on disk, the final answer, and
that a second ask_agent on the same conversation carries its history."""

import asyncio
import json
import os
import sys
import tempfile

from mcp import types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from checks import check, data, finish

BIN = os.environ.get("AGENT_BIN")
# A server run by the caller on AGENT_HTTP_WORKSPACE, whose parent directory
# this script may write to.
URL = os.environ.get("AGENT_URL")
HTTP_WORKSPACE = os.environ.get("AGENT_HTTP_WORKSPACE")
if not BIN or bool(URL) != bool(HTTP_WORKSPACE):
    print("usage: AGENT_BIN=path/to/agent-mcp [AGENT_URL=http://... AGENT_HTTP_WORKSPACE=dir] python py_agent.py",
          file=sys.stderr)
    sys.exit(2)

WRITE = {"tool": "write_file", "arguments": {"path": "out/report.md", "content": "# Report\nall green\n"}}
ESCAPE = {"tool": "read_file", "arguments": {"path": "../outside.txt"}}
READ = {"tool": "read_file", "arguments": {"path": "out/report.md"}}


def text_of(message):
    content = message.content
    blocks = content if isinstance(content, list) else [content]
    return "".join(getattr(b, "text", "") for b in blocks)


def scripted_model(seen):
    """Picks its reply from the last message, as a model would from the
    conversation: the server may ask again for the same state (2026-07-28
    retries), and must get the same reply."""

    async def sample(context, params):
        assert "write_file" in (params.system_prompt or ""), params.system_prompt
        seen.append([text_of(m) for m in params.messages])
        last = text_of(params.messages[-1])
        if "tool_result" not in last:
            reply = json.dumps(WRITE)
        elif '"tool":"write_file"' in last:
            reply = json.dumps(ESCAPE)
        elif '"ok":false' in last:
            reply = "```json\n" + json.dumps(READ) + "\n```"
        else:
            result = json.loads(last)["tool_result"]
            reply = json.dumps({"final": "the report says: " + result["result"]["content"].splitlines()[1]})
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=reply),
            model="scripted",
            stop_reason="endTurn",
        )

    return sample


async def exercise(client, workspace, seen, conversation):
    tools = sorted(t.name for t in (await client.list_tools()).tools)
    assert "ask_agent" in tools and "write_file" in tools, tools
    answer = data(await client.call_tool(
        "ask_agent", {"conversation_id": conversation, "prompt": "write the report, then check it"}))
    assert answer["answer"] == "the report says: all green", answer
    calls = [(c["tool"], c["ok"]) for c in answer["tool_calls"]]
    assert calls == [("write_file", True), ("read_file", False), ("read_file", True)], calls
    with open(os.path.join(workspace, "out", "report.md")) as f:
        assert f.read() == "# Report\nall green\n"
    # The model was told the escape failed, and saw nothing outside.
    assert any("`..` is not allowed" in m for req in seen for m in req), seen
    assert not any("secret" in m for req in seen for m in req), seen

    # The same conversation goes on with its history.
    seen.clear()
    again = data(await client.call_tool(
        "ask_agent", {"conversation_id": conversation, "prompt": "and again"}))
    assert again["answer"] == "the report says: all green", again
    first = seen[0]
    assert first[0] == "write the report, then check it", first
    assert first[-1] == "and again", first
    read = data(await client.call_tool("read_file", {"path": "out/report.md"}))
    assert read["content"].endswith("all green\n"), read


def stdio_scenario(mode):
    async def run():
        with tempfile.TemporaryDirectory() as tmp:
            workspace = os.path.join(tmp, "workspace")
            os.mkdir(workspace)
            with open(os.path.join(tmp, "outside.txt"), "w") as f:
                f.write("secret\n")
            env = {
                "AGENT_WORKSPACE": workspace,
                "AGENT_DB": os.path.join(tmp, "agent.db"),
                "AGENT_MAX_TURNS": "6",
                "AGENT_TIMEOUT": "20s",
                "LOG_LEVEL": "warn",
                "PATH": os.environ.get("PATH", ""),
            }
            params = StdioServerParameters(command=BIN, args=[], env=env)
            seen = []
            async with Client(params, mode=mode, sampling_callback=scripted_model(seen)) as client:
                await exercise(client, workspace, seen, "report")

    return run


def http_scenario(mode):
    async def run():
        with open(os.path.join(HTTP_WORKSPACE, "..", "outside.txt"), "w") as f:
            f.write("secret\n")
        seen = []
        async with Client(f"{URL.rstrip('/')}/mcp", mode=mode, sampling_callback=scripted_model(seen)) as client:
            # One server for every scenario: a conversation of its own.
            await exercise(client, HTTP_WORKSPACE, seen, f"report-{mode}")

    return run


async def main():
    for mode in ["legacy", "2026-07-28"]:
        await check(f"python sdk, agent with sampling over stdio, mode={mode!r}", stdio_scenario(mode))
        if URL:
            await check(f"python sdk, agent with sampling over streamable http, mode={mode!r}", http_scenario(mode))
    finish()


asyncio.run(main())
