"""Assertions shared by the Python client tests: what the hello server must
look like to the official SDK, on every revision and transport."""

import json
import sys
import traceback

from mcp.shared.exceptions import MCPError

passed = 0
failed = 0


def text(result):
    return next(c.text for c in result.content if c.type == "text")


def data(result):
    """A successful tool result's structured content (or its JSON text)."""
    assert not result.is_error, result
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(text(result))


async def check(name, fn):
    global passed, failed
    try:
        await fn()
        passed += 1
        print(f"ok   {name}")
    except Exception:
        failed += 1
        print(f"FAIL {name}:\n{traceback.format_exc()}")


def check_tools(tools, version):
    names = [t.name for t in tools]
    assert names == ["greet", "add", "word_stats", "countdown", "divide"], names
    by_name = {t.name: t for t in tools}
    for tool in tools:
        raw = json.dumps(tool.input_schema)
        assert tool.input_schema["type"] == "object", tool.name
        assert "$schema" not in raw and "$ref" not in raw, tool.name
        assert tool.description, tool.name
    greet = by_name["greet"].input_schema
    assert greet["required"] == ["name"], greet
    assert greet["properties"]["greeting"]["type"] == "string", greet
    assert greet["properties"]["name"]["description"] == "Who to greet."
    steps = by_name["countdown"].input_schema["properties"]["steps"]
    assert (steps["default"], steps["minimum"], steps["maximum"]) == (3, 1, 10), steps
    stats = by_name["word_stats"]
    if version >= "2025-06-18":
        assert stats.output_schema["properties"]["lines"]["type"] == "integer"
    else:
        assert stats.output_schema is None
    assert stats.annotations.read_only_hint is True


async def check_calls(client, version):
    assert text(await client.call_tool("greet", {"name": "Ada"})) == "Hello, Ada!"
    assert text(await client.call_tool("greet", {"name": "Ada", "greeting": "Howdy"})) == "Howdy, Ada!"
    assert text(await client.call_tool("add", {"a": 2, "b": 3})) == "5"

    stats = await client.call_tool("word_stats", {"text": "hello world"})
    expected = {"words": 2, "characters": 11, "lines": 1}
    assert json.loads(text(stats)) == expected
    assert stats.structured_content == expected, stats

    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    countdown = await client.call_tool("countdown", {"steps": 3}, progress_callback=on_progress)
    assert text(countdown) == "liftoff after 3 steps"
    assert [p[0] for p in progress] == [1, 2, 3], progress
    assert progress[2] == (3, 3, "step 3 of 3"), progress

    too_many = await client.call_tool("countdown", {"steps": 11})
    assert too_many.is_error and "`steps`" in text(too_many), too_many

    assert text(await client.call_tool("divide", {"a": 6, "b": 3})) == "2"
    by_zero = await client.call_tool("divide", {"a": 1, "b": 0})
    assert by_zero.is_error and "cannot divide by zero" in text(by_zero), by_zero

    wrong = await client.call_tool("add", {"a": 1, "b": "two"})
    assert wrong.is_error and "`b`" in text(wrong), wrong

    try:
        await client.call_tool("no_such_tool", {})
    except MCPError as e:
        assert e.error.code == -32602, e.error
    else:
        raise AssertionError("an unknown tool must be a JSON-RPC error")



def finish():
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)
