#!/usr/bin/env bash
# Runs the official MCP clients (TypeScript v1 and v2, Python) against the
# hello example server: over stdio, then over HTTP (Streamable HTTP and the
# legacy HTTP+SSE transport) on one listener; the TypeScript and Python
# clients pipelining large messages to it over stdio and Streamable HTTP (32
# calls at once of up to 3 MiB each, answered byte for byte, and a call over
# the size limit refused cleanly); the Python client against
# the customer and CRM examples over HTTP, the job-search example and the
# suite (the three mounted into one) over stdio; both clients against the SQL report and Jira servers over stdio and
# HTTP; the workspace agent, answering its sampling requests with a
# scripted model, with the TypeScript and Python clients over stdio and
# HTTP; the Python client over a Unix socket to the
# unix-socket example; and the TypeScript client through mcp-bridge to the
# CRM and the everything server over HTTP.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

bash tests/clients/setup.sh
source scripts/lib/build.sh
build_workspace
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
export HELLO_BIN="$bin_dir/hello"

passed=0
failed=0
run() {
    echo "--- $*"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*" >&2; fi
}
run node tests/clients/ts_stdio.mjs
run tests/clients/.venv/bin/python tests/clients/py_stdio.py

# HTTP servers run on free loopback ports; their logs are shown on failure.
pids=()
logs=()
cleanup() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -f "${logs[@]}"
    # An `if`, not `&&`: under `set -e` a false last test would make the
    # trap, and so the whole run, exit 1 after everything passed.
    if [ -n "${data_dir:-}" ]; then rm -rf "$data_dir"; fi
}
trap cleanup EXIT
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_http NAME PORT COMMAND...: starts a server and waits for /health.
start_http() {
    local name="$1" port="$2"
    shift 2
    local log
    log=$(mktemp)
    logs+=("$log")
    # No load balancer here: stop at once on SIGTERM, without a grace period.
    RUST_LOG=warn LOG_LEVEL=warn MCP_SHUTDOWN_GRACE=0 "$@" >"$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the $name HTTP server did not come up:" >&2
    cat "$log" >&2
    exit 1
}

port=$(free_port)
start_http hello "$port" "$HELLO_BIN" --transport http --host 127.0.0.1 --port "$port"
export HELLO_URL="http://127.0.0.1:$port"
run node tests/clients/ts_http.mjs
run tests/clients/.venv/bin/python tests/clients/py_http.py
# A proxy cuts an SSE stream mid-call; the client resumes it (Last-Event-ID).
run timeout 60 tests/clients/.venv/bin/python tests/clients/py_resume.py
# Large messages, pipelined, over stdio (HELLO_BIN) and HTTP (HELLO_URL).
run timeout 120 node tests/clients/ts_large.mjs
run timeout 120 tests/clients/.venv/bin/python tests/clients/py_large.py

data_dir=$(mktemp -d)
port=$(free_port)
start_http customer "$port" env DB_PATH="$data_dir/customers.db" PORT="$port" HOST=127.0.0.1 \
    "${CARGO_TARGET_DIR:-$root/target}/debug/customer"
export CUSTOMER_URL="http://127.0.0.1:$port"
run tests/clients/.venv/bin/python tests/clients/py_customer.py

port=$(free_port)
start_http crm "$port" env DATABASE_URL="sqlite://$data_dir/crm.db" \
    "${CARGO_TARGET_DIR:-$root/target}/debug/crm-mcp" --transport http --host 127.0.0.1 --port "$port"
export CRM_URL="http://127.0.0.1:$port"
run tests/clients/.venv/bin/python tests/clients/py_crm.py

# mcp-bridge over stdio, driven by the TypeScript client, forwarding to a
# CRM that requires an API key and to the everything server (progress).
port=$(free_port)
start_http crm-with-key "$port" env DATABASE_URL="sqlite://$data_dir/crm-bridge.db" \
    MCP_API_KEYS="bridge:a-long-random-test-key:crm:read+crm:write" \
    "${CARGO_TARGET_DIR:-$root/target}/debug/crm-mcp" --transport http --host 127.0.0.1 --port "$port"
bridge_crm="http://127.0.0.1:$port"
port=$(free_port)
start_http everything "$port" "$bin_dir/everything" --transport http --host 127.0.0.1 --port "$port"
BRIDGE_BIN="$bin_dir/mcp-bridge" CRM_URL="$bridge_crm" CRM_API_KEY=a-long-random-test-key \
    EVERYTHING_URL="http://127.0.0.1:$port" run timeout 180 node tests/clients/ts_bridge.mjs

IAM_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/iam-mcp" \
    run env -u RAPIDAPI_KEY tests/clients/.venv/bin/python tests/clients/py_iam.py

# The suite: the CRM, customer and job-search servers mounted into one.
SUITE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/suite" \
    run env -u RAPIDAPI_KEY timeout 120 tests/clients/.venv/bin/python tests/clients/py_suite.py

# The unix-socket example, on a socket in the scratch directory: the Python
# SDK's ClientSession over streams built on anyio.connect_unix.
socket="$data_dir/mcp.sock"
log=$(mktemp)
logs+=("$log")
RUST_LOG=warn "${CARGO_TARGET_DIR:-$root/target}/debug/unix-socket" "$socket" >"$log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 300); do
    [ -S "$socket" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
done
[ -S "$socket" ] || { echo "the unix-socket server did not come up:" >&2; cat "$log" >&2; exit 1; }
UNIX_SOCKET="$socket" run timeout 120 tests/clients/.venv/bin/python tests/clients/py_unix.py

# The Jira server serves its offline sample project; both take a fresh
# SQLite file. A high rate limit: every client here is one caller.
export SQL_BIN="$bin_dir/sql-mcp" JIRA_BIN="$bin_dir/jira-mcp"
port=$(free_port)
start_http sql "$port" env DATABASE_URL="sqlite://$data_dir/sql-reports.db" MCP_RATE_LIMIT=10000/min \
    "$SQL_BIN" --transport http --host 127.0.0.1 --port "$port"
export SQL_URL="http://127.0.0.1:$port"
port=$(free_port)
start_http jira "$port" env -u JIRA_BASE_URL -u JIRA_EMAIL -u JIRA_API_TOKEN JIRA_OFFLINE=true \
    DATABASE_URL="sqlite://$data_dir/jira-mcp.db" MCP_RATE_LIMIT=10000/min \
    "$JIRA_BIN" --transport http --host 127.0.0.1 --port "$port"
export JIRA_URL="http://127.0.0.1:$port"
run timeout 120 node tests/clients/ts_sql_jira.mjs
run timeout 120 tests/clients/.venv/bin/python tests/clients/py_sql_jira.py

# About 5 s a scenario; the bound only matters if a sampling round trip hangs.
export AGENT_BIN="$bin_dir/agent-mcp"
mkdir -p "$data_dir/agent/workspace"
port=$(free_port)
start_http agent "$port" env AGENT_DB="$data_dir/agent/agent.db" AGENT_MAX_TURNS=6 AGENT_TIMEOUT=20s \
    "$AGENT_BIN" --workspace "$data_dir/agent/workspace" --transport http --host 127.0.0.1 --port "$port"
AGENT_URL="http://127.0.0.1:$port" AGENT_HTTP_WORKSPACE="$data_dir/agent/workspace" \
    run timeout 90 node tests/clients/ts_agent.mjs
AGENT_URL="http://127.0.0.1:$port" AGENT_HTTP_WORKSPACE="$data_dir/agent/workspace" \
    run timeout 180 tests/clients/.venv/bin/python tests/clients/py_agent.py

if [ "$failed" -ne 0 ]; then
    for log in "${logs[@]}"; do cat "$log" >&2; done
fi

echo "client suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
