#!/usr/bin/env bash
# schemathesis against the CRM's REST API: a freshly built crm-mcp on a free
# loopback port, SQLite in a temporary directory, an API key with the read
# and write scopes. schemathesis reads the OpenAPI document the server
# serves (/api/openapi.json), generates requests for every operation, valid
# and invalid, and checks that none is answered 5xx and that every answer's
# status, content type and body are the ones the document declares.
# Bounded: a few examples per operation, well under two minutes.
#
# Deterministic generation, so CI runs the same cases every time.
# Env: SCHEMATHESIS_MAX_EXAMPLES (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "schemathesis: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}
need python3
need cargo

# schemathesis, pinned, in its own venv (git-ignored); reinstalled only
# when the requirements change.
venv=tests/schemathesis/.venv
req=tests/schemathesis/requirements.txt
req_hash=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$req_hash" ]; then
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
        echo "schemathesis: \`python3 -m venv\` needs ensurepip; on Debian or Ubuntu: apt-get install python3-venv" >&2
        exit 1
    }
    echo "schemathesis: installing $(grep '^schemathesis==' "$req") into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$req_hash" > "$venv/.installed"
fi

source scripts/lib/build.sh
build_workspace

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

key="schemathesis-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
# Port 0: the kernel picks a free port, and the server logs the one it got.
DATABASE_URL="sqlite://$work/crm.db" \
    MCP_API_KEYS="schemathesis:$key:crm:read+crm:write" \
    CRM_REST_READ_SCOPES=crm:read CRM_REST_WRITE_SCOPES=crm:write \
    LOG_LEVEL=info LOG_FORMAT=text \
    "${CARGO_TARGET_DIR:-target}/debug/crm-mcp" --transport http --host 127.0.0.1 --port 0 >"$work/server.log" 2>&1 &
server_pid=$!

# Wait (at most 30 s) for the address the server logs once it listens.
base=
for _ in $(seq 300); do
    base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n1 || true)
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$base" ]; then
    echo "schemathesis: the CRM did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "schemathesis: CRM on $base"

status=0
# Run from the temporary directory, where schemathesis keeps its caches.
venv_bin="$PWD/$venv/bin"
(cd "$work" && timeout 150 "$venv_bin/st" run "$base/api/openapi.json" \
    --url "$base" \
    --header "X-API-Key: $key" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
    --generation-deterministic \
    --generation-with-security-parameters false \
    --request-timeout 10 \
    --workers 2) || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis: failed ($status); the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
