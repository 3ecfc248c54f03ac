#!/usr/bin/env bash
# Runs the official MCP clients against the hello example server over stdio.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

bash tests/clients/setup.sh
cargo build --quiet -p hello
export HELLO_BIN="$root/target/debug/hello"

passed=0
failed=0
run() {
    echo "--- $*"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*" >&2; fi
}
run node tests/clients/ts_stdio.mjs
run tests/clients/.venv/bin/python tests/clients/py_stdio.py

echo "client suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
