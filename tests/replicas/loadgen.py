"""A small load generator for scripts/replicas-bench.sh: tools/call `greet`
through one address, from several processes with keep-alive connections,
every answer checked.

Usage: python loadgen.py URL KIND SECONDS WORKERS
  KIND: `session` (each worker opens a 2025-11-25 session, then calls on
  it) or `stateless` (2026-07-28 calls, no session); `count N` makes N
  calls of KIND from one worker and exits (for counting Redis commands).
Prints `kind=… calls=… secs=… rps=… p50_ms=… p99_ms=…`.
"""

import http.client
import json
import multiprocessing
import sys
import time
import urllib.parse

VERSION_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


class Connection:
    def __init__(self, url, kind):
        parsed = urllib.parse.urlparse(url)
        self.path = parsed.path or "/mcp"
        self.host, self.port = parsed.hostname, parsed.port
        self.kind = kind
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.session = None
        self.next_id = 0
        if kind == "session":
            self.open_session()

    def post(self, body, headers):
        payload = json.dumps(body).encode()
        base = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        }
        base.update(headers)
        for attempt in range(2):
            try:
                self.conn.request("POST", self.path, body=payload, headers=base)
                response = self.conn.getresponse()
                return response, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The balancer closed an idle keep-alive connection.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def open_session(self):
        response, body = self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "replicas-loadgen", "version": "1.0.0"},
                },
            },
            {},
        )
        assert response.status == 200, (response.status, body)
        self.session = response.getheader("mcp-session-id")
        assert self.session, "no Mcp-Session-Id"
        response, body = self.post(
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"mcp-session-id": self.session, "mcp-protocol-version": "2025-11-25"},
        )
        assert response.status == 202, (response.status, body)

    def call(self, name):
        self.next_id += 1
        params = {"name": "greet", "arguments": {"name": name}}
        if self.kind == "session":
            headers = {"mcp-session-id": self.session, "mcp-protocol-version": "2025-11-25"}
        else:
            params["_meta"] = VERSION_META
            headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "greet"}
        response, body = self.post(
            {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": params}, headers
        )
        assert response.status == 200, (response.status, body)
        assert f"Hello, {name}!".encode() in body, body


def worker(args):
    url, kind, seconds, index = args
    conn = Connection(url, kind)
    latencies = []
    deadline = time.monotonic() + seconds
    while True:
        started = time.monotonic()
        if started >= deadline:
            break
        conn.call(f"w{index}")
        latencies.append(time.monotonic() - started)
    return latencies


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "count":
        _, _, url, kind, calls = sys.argv
        conn = Connection(url, kind)
        for _ in range(int(calls)):
            conn.call("count")
        return
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url, kind, seconds, workers = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(worker, [(url, kind, seconds, i) for i in range(workers)])
    latencies = sorted(l for r in results for l in r)
    calls = len(latencies)
    p50 = latencies[calls // 2] * 1000
    p99 = latencies[min(calls - 1, calls * 99 // 100)] * 1000
    print(f"kind={kind} calls={calls} secs={seconds:.0f} rps={calls / seconds:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
