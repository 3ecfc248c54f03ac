#!/usr/bin/env bash
# Soak: the official MCP Python SDK (pinned in tests/clients) against the
# everything example over Streamable HTTP for SOAK_SECONDS, failing if the
# server's memory keeps growing after warm-up (see tests/clients/py_soak.py).
#
#   SOAK_SECONDS=600 bash scripts/soak.sh     # SOAK_CONCURRENCY clients (default 4)
#
# Opt-in by time budget: without SOAK_SECONDS it says so and does nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../" && pwd)"
cd "$root"

if [ -z "${SOAK_SECONDS:-}" ]; then
    echo "soak: skipped (set SOAK_SECONDS, e.g. SOAK_SECONDS=600, to run it)"
    exit 0
fi

bash tests/clients/setup.sh
source scripts/lib/build.sh
build_workspace
bin="${CARGO_TARGET_DIR:-$root/target}/debug/everything"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
RUST_LOG=warn "$bin" --transport http --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done

echo "soak: ${SOAK_SECONDS}s against the everything server (pid $pid) on port $port"
if ! SOAK_URL="http://127.0.0.1:$port/mcp" SOAK_PID="$pid" tests/clients/.venv/bin/python tests/clients/py_soak.py; then
    tail -n 50 "$log" >&2
    exit 1
fi
