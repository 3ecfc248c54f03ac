#!/usr/bin/env bash
# Runs the official MCP clients (TypeScript v1 and v2, Python) against the
# hello example server: over stdio, then over HTTP (Streamable HTTP and the
# legacy HTTP+SSE transport) on one listener.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

bash tests/clients/setup.sh
cargo build --quiet -p hello
export HELLO_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/hello"

passed=0
failed=0
run() {
    echo "--- $*"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*" >&2; fi
}
run node tests/clients/ts_stdio.mjs
run tests/clients/.venv/bin/python tests/clients/py_stdio.py

server_pid=""
server_log=$(mktemp)
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -f "$server_log"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$HELLO_BIN" --transport http --host 127.0.0.1 --port "$port" >"$server_log" 2>&1 &
server_pid=$!
export HELLO_URL="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fsS "$HELLO_URL/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if ! curl -fsS "$HELLO_URL/health" >/dev/null 2>&1; then
    echo "the hello HTTP server did not come up:" >&2
    cat "$server_log" >&2
    exit 1
fi
run node tests/clients/ts_http.mjs
run tests/clients/.venv/bin/python tests/clients/py_http.py
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the hello HTTP server died during the tests:" >&2
    failed=$((failed + 1))
fi
if [ "$failed" -ne 0 ]; then cat "$server_log" >&2; fi

echo "client suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
