#!/usr/bin/env bash
# Installs the pinned deployment tools, idempotently (a second run with
# nothing changed does no work):
#   python  deploy/tools/requirements.txt into deploy/tools/.venv
#   mcpb    deploy/mcpb/package-lock.json (npm ci) into deploy/mcpb/node_modules
# Both directories are git-ignored. Usage: deploy/tools/setup.sh [python] [mcpb]
# (both when no argument is given).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "setup: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}

# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate
# package; without it `python3 -m venv` fails halfway.
need_venv() {
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
        echo "setup: \`python3 -m venv\` cannot create an environment with pip (no ensurepip module); on Debian or Ubuntu install python3-venv (python3.X-venv for a Python that is not the default): sudo apt-get install python3-venv" >&2
        exit 1
    }
}

setup_python() {
    need python3
    local dir="$root/deploy/tools"
    local hash
    hash=$(sha256sum "$dir/requirements.txt" | cut -d' ' -f1)
    if [ ! -f "$dir/.venv/.installed" ] || [ "$(cat "$dir/.venv/.installed")" != "$hash" ]; then
        echo "setup: installing the pinned Python tools into deploy/tools/.venv"
        need_venv
        rm -rf "$dir/.venv"
        python3 -m venv "$dir/.venv"
        "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
        echo "$hash" > "$dir/.venv/.installed"
    fi
}

setup_mcpb() {
    need node
    need npm
    local dir="$root/deploy/mcpb"
    local hash
    hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ ! -f "$dir/node_modules/.installed" ] || [ "$(cat "$dir/node_modules/.installed")" != "$hash" ]; then
        echo "setup: installing the pinned mcpb tool (npm ci) into deploy/mcpb/node_modules"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$hash" > "$dir/node_modules/.installed"
    fi
}

if [ $# -eq 0 ]; then set -- python mcpb; fi
for what in "$@"; do
    case "$what" in
        python) setup_python ;;
        mcpb) setup_mcpb ;;
        *) echo "setup: unknown tool set \`$what\` (python, mcpb)" >&2; exit 2 ;;
    esac
done
