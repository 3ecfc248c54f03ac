"""The official MCP Python SDK's ClientSession against the unix-socket
example over a Unix socket.

The SDK has no Unix socket transport, so the streams are built here the way
`mcp.client.stdio.stdio_client` builds them for a child's pipes:
newline-delimited JSON-RPC, one message a line. Two sessions run at once on
two connections, and a third connection leaves with a request in flight.
"""

import asyncio
import os
import sys
from contextlib import asynccontextmanager

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.shared.message import SessionMessage

from checks import check, finish, text

SOCKET = os.environ.get("UNIX_SOCKET") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not SOCKET:
    print("usage: UNIX_SOCKET=path/to/socket python py_unix.py", file=sys.stderr)
    sys.exit(2)


@asynccontextmanager
async def unix_socket_client(path):
    """The read and write streams of a ClientSession over a Unix socket."""
    stream = await anyio.connect_unix(path)
    read_stream_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_stream_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def socket_reader():
        async with read_stream_writer:
            buffer = b""
            try:
                while True:
                    buffer += await stream.receive()
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        try:
                            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                        except ValueError as exc:
                            await read_stream_writer.send(exc)
                            continue
                        await read_stream_writer.send(SessionMessage(message))
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass  # the server closed the connection: the session sees the end

    async def socket_writer():
        async with write_stream_reader:
            async for session_message in write_stream_reader:
                json = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await stream.send((json + "\n").encode())

    async with stream, anyio.create_task_group() as tg:
        tg.start_soon(socket_reader)
        tg.start_soon(socket_writer)
        try:
            yield read_stream, write_stream
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def session():
    async with unix_socket_client(SOCKET) as (read, write):
        async with ClientSession(read, write) as client:
            result = await client.initialize()
            assert result.server_info.name == "unix-socket", result.server_info
            yield client


async def handshake_tools_and_calls():
    async with session() as client:
        tools = (await client.list_tools()).tools
        assert [t.name for t in tools] == ["echo", "add", "wait"], [t.name for t in tools]
        assert tools[1].input_schema["required"] == ["a", "b"], tools[1].input_schema
        result = await client.call_tool("add", {"a": 2, "b": 40})
        assert not result.is_error and text(result) == "42", result
        result = await client.call_tool("echo", {"text": "over a socket"})
        assert text(result) == "over a socket", result
        result = await client.call_tool("add", {"a": "two", "b": 2})
        assert result.is_error, result


async def concurrent_sessions():
    async with session() as first, session() as second:
        # A slow call on one connection does not hold up the other.
        async with anyio.create_task_group() as tg:
            slow = {}

            async def wait():
                slow["result"] = await first.call_tool("wait", {"millis": 300})

            tg.start_soon(wait)
            result = await second.call_tool("echo", {"text": "meanwhile"})
            assert text(result) == "meanwhile", result
            assert "result" not in slow, "the other session waited for the slow call"
        assert text(slow["result"]) == "waited 300 ms", slow


async def a_client_that_leaves_mid_request():
    async with session() as client:
        with anyio.move_on_after(0.2):
            await client.call_tool("wait", {"millis": 5000})
    # The server goes on serving new connections.
    async with session() as client:
        result = await client.call_tool("add", {"a": 1, "b": 1})
        assert text(result) == "2", result


async def main():
    await check("python sdk over a unix socket: initialize, list_tools, call_tool", handshake_tools_and_calls)
    await check("python sdk over a unix socket: two sessions at once", concurrent_sessions)
    await check("python sdk over a unix socket: a client leaves mid-request", a_client_that_leaves_mid_request)
    finish()


asyncio.run(main())
