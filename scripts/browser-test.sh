#!/usr/bin/env bash
# The CRM's MCP Apps views in headless Chromium (tests/browser/run.mjs):
# installs Debian's chromium when absent and the pinned npm packages
# (tests/browser/package-lock.json, `npm ci`), starts the CRM over
# Streamable HTTP with an API key on a fresh SQLite database, and runs the
# test. Screenshots go to target/browser/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Debian's chromium, pinned; its security updates are new major versions
# and the archive keeps only the latest, so once the pin is gone the
# current one is installed.
CHROMIUM_DEB_VERSION="156.0.8078.129-1~deb12u1"
source scripts/lib/debian.sh
install_deb browser-test chromium chromium "$CHROMIUM_DEB_VERSION" any || exit 1
command -v node >/dev/null 2>&1 || { echo "browser-test: node is required" >&2; exit 1; }

cd tests/browser
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.installed ] || [ "$(cat node_modules/.installed)" != "$lock_hash" ]; then
    echo "browser-test: installing the pinned npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.installed
fi
cd "$root"

target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/browser"
mkdir -p "$out"
tests/browser/node_modules/.bin/esbuild tests/browser/host.js --bundle --format=esm \
    --platform=browser --log-level=warning --outfile="$out/host.bundle.js"

source scripts/lib/build.sh
build_workspace
data_dir=$(mktemp -d)
log="$data_dir/crm.log"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$data_dir"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="browser-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
RUST_LOG=warn LOG_LEVEL=warn MCP_SHUTDOWN_GRACE=0 MCP_API_KEYS="browser:$key" \
    DATABASE_URL="sqlite://$data_dir/crm.db" \
    "$target/debug/crm-mcp" --transport http --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "browser-test: the CRM did not become ready; its log:" >&2
    cat "$log" >&2
    exit 1
fi

status=0
CRM_URL="http://127.0.0.1:$port" CRM_KEY="$key" HOST_BUNDLE="$out/host.bundle.js" OUT_DIR="$out" \
    timeout 180 node tests/browser/run.mjs || status=$?
if [ "$status" != 0 ]; then
    echo "browser-test: failed; the CRM's log:" >&2
    tail -n 50 "$log" >&2
fi
exit "$status"
