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

# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate
# package; without it `python3 -m venv` fails halfway.
need_venv() {
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
        echo "setup: \`python3 -m venv\` cannot create an environment with pip (no ensurepip module); on Debian or Ubuntu install python3-venv (python3.X-venv for a Python that is not the default): sudo apt-get install python3-venv" >&2
        exit 1
    }
}

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.installed ] || [ "$(cat node_modules/.installed)" != "$lock_hash" ]; then
    echo "setup: installing the TypeScript SDKs (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.installed
fi

req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f .venv/.installed ] || [ "$(cat .venv/.installed)" != "$req_hash" ]; then
    echo "setup: installing the Python SDK into .venv"
    need_venv
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$req_hash" > .venv/.installed
fi
