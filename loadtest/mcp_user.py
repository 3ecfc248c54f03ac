"""Locust users that speak MCP over Streamable HTTP as the official Python SDK does.

The SDK's client is async and owns its event loop, which does not fit locust's
gevent users, so these users send the same messages with `requests` (through
locust's HttpUser): the same `initialize` params, headers and `_meta` as
`mcp==2.3.0` (tests/clients/requirements.txt) with its default callbacks.

Two revisions, one class each:

- `McpSessionUser`: 2025-11-25. `initialize`, `notifications/initialized`,
  `tools/list`, then `tools/call`s with `Mcp-Session-Id` and
  `MCP-Protocol-Version`; after a session's calls it ends the session
  (`DELETE`) and opens a new one, as a client does per conversation.
- `McpStatelessUser`: 2026-07-28. `server/discover`, `tools/list`, then
  `tools/call`s, each request carrying the `_meta` protocol version, client
  capabilities and client info, and the `MCP-Protocol-Version`,
  `Mcp-Method` and `Mcp-Name` headers.

A server's scenario subclasses both with its `calls`: (weight, tool name,
function returning the arguments). Each request is named after its method
and tool ("tools/call search_contacts"), prefixed with the revision, so the
stats table has a row per tool. A request fails on a non-2xx status, a body
that is not the JSON-RPC answer to it, a JSON-RPC error, or a tool result
with `isError`: the arguments are meant to succeed.
"""

import itertools
import json
import os
import random

from locust import HttpUser, between, task

SESSION_VERSION = "2025-11-25"
STATELESS_VERSION = "2026-07-28"
# What the SDK sends with its default callbacks: no optional capability,
# and its default client info.
CLIENT_INFO = {"name": "mcp", "version": "0.1.0"}
CLIENT_CAPABILITIES = {}
BASE_HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
}


def think_time():
    """Seconds between a user's requests: LOADTEST_WAIT as `min:max` (default 0.1:1.0)."""
    low, _, high = os.environ.get("LOADTEST_WAIT", "0.1:1.0").partition(":")
    return between(float(low), float(high or low))


class McpError(Exception):
    """An answer that is not the successful JSON-RPC response expected."""


def parse_answer(response, request_id):
    """The JSON-RPC response with `request_id`, from a JSON body or an SSE stream."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        messages = [response.json()]
    elif content_type.startswith("text/event-stream"):
        messages = []
        for event in response.text.split("\n\n"):
            data = "\n".join(
                line[5:].lstrip() for line in event.splitlines() if line.startswith("data:")
            )
            if data:
                messages.append(json.loads(data))
    else:
        raise McpError(f"unexpected content type {content_type!r}")
    for message in messages:
        if isinstance(message, dict) and message.get("id") == request_id:
            if "error" in message:
                error = message["error"]
                raise McpError(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
            result = message.get("result")
            if not isinstance(result, dict):
                raise McpError("a response without a result object")
            if result.get("isError"):
                texts = [c.get("text", "") for c in result.get("content", []) if isinstance(c, dict)]
                raise McpError(f"tool error: {' '.join(texts)[:200]}")
            return result
    raise McpError(f"no response with id {request_id} in the body")


class McpUser(HttpUser):
    """What both revisions share: the weighted tool mix and the checked POST."""

    abstract = True
    wait_time = think_time()
    # (weight, tool name, function of the user returning the arguments)
    calls = []
    revision = ""

    def on_start(self):
        self._ids = itertools.count(1)
        self._weights = [weight for weight, _, _ in self.calls]

    def post(self, name, body, headers, expect_answer=True):
        """POSTs one message to /mcp; the result of a request, None for a notification."""
        with self.client.post(
            "/mcp",
            data=json.dumps(body),
            headers=headers,
            name=f"{self.revision} {name}",
            catch_response=True,
        ) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return None
            if not expect_answer:
                if response.status_code != 202:
                    response.failure(f"a notification answered {response.status_code}, not 202")
                return response
            try:
                result = parse_answer(response, body["id"])
            except (McpError, ValueError) as e:
                response.failure(str(e))
                return None
            response.success()
            return result

    def request(self, method, params, headers=None, name=None):
        raise NotImplementedError

    @task
    def call_tool(self):
        _, tool, arguments = random.choices(self.calls, weights=self._weights)[0]
        self.request("tools/call", {"name": tool, "arguments": arguments(self)}, name=f"tools/call {tool}")
        self.after_call()

    def after_call(self):
        """What a client does after each call (the session user may start a new session)."""


class McpSessionUser(McpUser):
    """A 2025-11-25 client: a session per conversation of CALLS_PER_SESSION calls."""

    abstract = True
    revision = "session"
    calls_per_session = (10, 30)

    def on_start(self):
        super().on_start()
        self.open_session()

    def on_stop(self):
        self.close_session()

    def open_session(self):
        self.session_id = None
        self.remaining = random.randint(*self.calls_per_session)
        body = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": "initialize",
            "params": {
                "protocolVersion": SESSION_VERSION,
                "capabilities": CLIENT_CAPABILITIES,
                "clientInfo": CLIENT_INFO,
            },
        }
        with self.client.post(
            "/mcp",
            data=json.dumps(body),
            headers=BASE_HEADERS,
            name=f"{self.revision} initialize",
            catch_response=True,
        ) as response:
            try:
                if response.status_code != 200:
                    raise McpError(f"HTTP {response.status_code}: {response.text[:200]}")
                parse_answer(response, body["id"])
                self.session_id = response.headers.get("mcp-session-id")
                if not self.session_id:
                    raise McpError("no Mcp-Session-Id on the InitializeResult")
            except (McpError, ValueError) as e:
                response.failure(str(e))
                return
        self.post(
            "notifications/initialized",
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            self.session_headers(),
            expect_answer=False,
        )
        self.request("tools/list", {})

    def close_session(self):
        if self.session_id:
            self.client.delete("/mcp", headers=self.session_headers(), name=f"{self.revision} DELETE session")
            self.session_id = None

    def session_headers(self):
        return dict(BASE_HEADERS, **{"mcp-session-id": self.session_id, "mcp-protocol-version": SESSION_VERSION})

    def request(self, method, params, headers=None, name=None):
        if not self.session_id:
            self.open_session()
            if not self.session_id:
                return None
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return self.post(name or method, body, self.session_headers())

    def after_call(self):
        self.remaining -= 1
        if self.remaining <= 0:
            self.close_session()
            self.open_session()


class McpStatelessUser(McpUser):
    """A 2026-07-28 client: no session, everything in each request."""

    abstract = True
    revision = "stateless"

    def on_start(self):
        super().on_start()
        self.request("server/discover", {})
        self.request("tools/list", {})

    def request(self, method, params, headers=None, name=None):
        meta = {
            "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
            "io.modelcontextprotocol/clientCapabilities": CLIENT_CAPABILITIES,
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        }
        body = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": dict(params, _meta=meta),
        }
        request_headers = dict(BASE_HEADERS, **{"mcp-protocol-version": STATELESS_VERSION, "mcp-method": method})
        if "name" in params:
            request_headers["mcp-name"] = params["name"]
        return self.post(name or method, body, request_headers)
