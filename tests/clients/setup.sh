#!/usr/bin/env bash
# Installs the pinned official MCP clients into tests/clients (git-ignored):
# the TypeScript SDKs into node_modules, the Python SDK into .venv.
# Idempotent: a second run with nothing changed does no work.
set -euo pipefail
cd "$(dirname "$0")"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "setup: \`$1\` is required for the client tests but was not found on PATH" >&2; exit 1; }
}
need node
need npm
need python3
need curl

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.installed ] || [ "$(cat node_modules/.installed)" != "$lock_hash" ]; then
    echo "setup: installing the TypeScript SDKs (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.installed
fi

req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f .venv/.installed ] || [ "$(cat .venv/.installed)" != "$req_hash" ]; then
    echo "setup: installing the Python SDK into .venv"
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$req_hash" > .venv/.installed
fi
