#!/usr/bin/env bash
# Load tests: each example server started on a free loopback port, driven by
# locust (pinned in loadtest/requirements.txt, installed into loadtest/.venv)
# with the scenario in loadtest/<server>.py, headless.
#
#   bash scripts/loadtest.sh                        # every server, debug build, 10 users for 60s each
#   bash scripts/loadtest.sh --release crm          # the CRM (MCP and REST) on PostgreSQL, release build
#   LOADTEST_USERS=50 LOADTEST_SECONDS=60 bash scripts/loadtest.sh --release --check crm   # the figure in docs/performance.md
#   LOADTEST_SECONDS=15 bash scripts/loadtest.sh --check --p95-ms 1000   # what CI runs
#
# Servers: crm (MCP sessions, stateless MCP and REST), crm-rest (REST only),
# customer, iam, sql, jira, agent. Default: all but crm-rest.
#
# A run fails when any request failed (non-2xx, JSON-RPC error, tool error).
# --check also fails it when a request name's p95 is over the bound
# (--p95-ms, or LOADTEST_P95_MS; default 200 ms). Stats go to
# target/loadtest/<server>_stats.csv (and _stats_history, _failures,
# _exceptions), locust's own output to <server>.locust.log, the server's log
# to <server>.server.log.
#
# Env (see docs/performance.md):
#   LOADTEST_USERS (10), LOADTEST_SPAWN_RATE (the users: all at once),
#   LOADTEST_SECONDS (60), LOADTEST_P95_MS (200), LOADTEST_WAIT (think time
#   between a user's requests, min:max seconds, 0.1:1.0),
#   LOADTEST_DATABASE_URL (the PostgreSQL server the CRM's database is made
#   on, postgres://postgres@127.0.0.1:5432/test), LOADTEST_CRM_DATABASE
#   (postgres, or sqlite for an in-memory SQLite one), LOADTEST_LOG_LEVEL
#   (the servers' LOG_LEVEL, info as shipped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

profile=debug
check=false
p95_ms="${LOADTEST_P95_MS:-200}"
servers=()
while [ $# -gt 0 ]; do
    case "$1" in
        --release) profile=release ;;
        --check) check=true ;;
        --p95-ms) p95_ms="$2"; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        crm|crm-rest|customer|iam|sql|jira|agent) servers+=("$1") ;;
        *) echo "loadtest: unknown argument \`$1\` (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#servers[@]} -gt 0 ] || servers=(crm customer iam sql jira agent)

users="${LOADTEST_USERS:-10}"
spawn_rate="${LOADTEST_SPAWN_RATE:-$users}"
seconds="${LOADTEST_SECONDS:-60}"
log_level="${LOADTEST_LOG_LEVEL:-info}"
out="${CARGO_TARGET_DIR:-$root/target}/loadtest"
bin_dir="${CARGO_TARGET_DIR:-$root/target}/$profile"
mkdir -p "$out"

# locust, pinned, in loadtest/.venv; reinstalled only when the pins change.
venv="$root/loadtest/.venv"
req_hash=$(sha256sum loadtest/requirements.txt | cut -d' ' -f1)
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$req_hash" ]; then
    echo "loadtest: installing locust into loadtest/.venv"
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
        echo "loadtest: \`python3 -m venv\` cannot create an environment with pip; on Debian or Ubuntu: sudo apt-get install python3-venv" >&2
        exit 1
    }
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r loadtest/requirements.txt
    echo "$req_hash" > "$venv/.installed"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The CRM's database: a fresh PostgreSQL database `crm_loadtest` on the
# LOADTEST_DATABASE_URL server (dropped and made again, so every run starts
# from the same seeded data); without psql, that database itself, where
# earlier runs' rows stay. Or in-memory SQLite.
crm_database_url() {
    if [ "${LOADTEST_CRM_DATABASE:-postgres}" = sqlite ]; then
        echo "sqlite::memory:"
        return
    fi
    local admin="${LOADTEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
    if ! command -v psql >/dev/null 2>&1; then
        echo "loadtest: no psql to make a fresh database: the CRM runs in $admin as it is" >&2
        echo "$admin"
        return
    fi
    psql "$admin" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS crm_loadtest WITH (FORCE)" -c "CREATE DATABASE crm_loadtest" >&2
    echo "${admin%/*}/crm_loadtest"
}

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

# Starts SERVER in the background on $port, with its env; sets server_pid.
start_server() {
    local name="$1" log="$out/$1.server.log"
    # Nothing from the caller's environment that would change what is measured.
    local clean=(env -u MCP_API_KEYS -u MCP_API_KEYS_FILE -u MCP_OAUTH_ISSUER -u MCP_TENANT_HEADER
        -u MCP_RATE_LIMIT -u MCP_TOOL_RATE_LIMITS -u REDIS_URL -u RUST_LOG -u MCP_TRANSPORT
        -u RAPIDAPI_KEY -u JIRA_BASE_URL -u JIRA_EMAIL -u JIRA_API_TOKEN
        LOG_LEVEL="$log_level" HOST=127.0.0.1 PORT="$port"
        # Stop at once after a run: no one is left to drain for.
        MCP_SHUTDOWN_GRACE=0)
    case "$name" in
        crm|crm-rest)
            local url
            url=$(crm_database_url) || return 1
            "${clean[@]}" DATABASE_URL="$url" CRM_TENANCY=off \
                "$bin_dir/crm-mcp" --transport http >"$log" 2>&1 &
            ;;
        customer)
            "${clean[@]}" DB_PATH=:memory: "$bin_dir/customer" >"$log" 2>&1 &
            ;;
        iam)
            rm -rf "$out/iam-data"
            "${clean[@]}" IAM_DATA_ROOT="$out/iam-data" \
                "$bin_dir/iam-mcp" --transport http >"$log" 2>&1 &
            ;;
        sql|jira)
            # Their rate limit defaults to 100 a minute per caller; the
            # load generator is one caller.
            rm -f "$out/$name.db" "$out/$name.db-wal" "$out/$name.db-shm"
            "${clean[@]}" DATABASE_URL="sqlite://$out/$name.db" JIRA_OFFLINE=true \
                MCP_RATE_LIMIT=1000000/min "$bin_dir/$name-mcp" --transport http >"$log" 2>&1 &
            ;;
        agent)
            local workspace="$out/agent-workspace"
            rm -rf "$workspace"
            mkdir -p "$workspace/notes" "$workspace/src"
            printf '# Workspace\n\nA readme for the load test.\n' >"$workspace/README.md"
            printf '# To do\n\n- TODO: write the release notes\n- TODO: tag the release\n' >"$workspace/notes/todo.md"
            printf 'fn main() {\n    println!("hello");\n}\n' >"$workspace/src/main.rs"
            "${clean[@]}" AGENT_WORKSPACE="$workspace" AGENT_DB=:memory: \
                "$bin_dir/agent-mcp" --transport http >"$log" 2>&1 &
            ;;
    esac
    server_pid=$!
    local deadline=$((SECONDS + 60))
    until curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "loadtest: $name did not come up on port $port; its log:" >&2
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
}

build() {
    # Debug: the workspace as cargo test builds it (scripts/lib/build.sh), so the
    # features are those of `cargo test --workspace` whichever servers run.
    # Release: only the servers' packages.
    if [ "$profile" = debug ]; then
        source scripts/lib/build.sh
        build_workspace
        return
    fi
    local packages=()
    for name in "${servers[@]}"; do
        case "$name" in
            crm|crm-rest) packages+=(-p crm-example) ;;
            customer) packages+=(-p customer) ;;
            iam) packages+=(-p iam-example) ;;
            sql|jira) packages+=(-p sql-jira-example) ;;
            agent) packages+=(-p agent-example) ;;
        esac
    done
    cargo build --quiet --release --bins "${packages[@]}"
}
build

failed=()
for name in "${servers[@]}"; do
    port=$(free_port)
    echo "loadtest: $name ($profile) on 127.0.0.1:$port: $users users for ${seconds}s"
    if ! start_server "$name"; then
        stop_server
        failed+=("$name")
        continue
    fi
    scenario="${name//-/_}"
    status=0
    "$venv/bin/locust" -f "loadtest/$scenario.py" --host "http://127.0.0.1:$port" \
        --headless --users "$users" --spawn-rate "$spawn_rate" --run-time "${seconds}s" \
        --stop-timeout 10 --csv "$out/$name" --only-summary --exit-code-on-error 0 \
        >"$out/$name.locust.log" 2>&1 || status=$?
    stop_server
    if [ "$status" -ne 0 ]; then
        echo "loadtest: locust exited with $status; its log:" >&2
        tail -n 30 "$out/$name.locust.log" >&2
        failed+=("$name")
        continue
    fi
    bound=()
    $check && bound=(--p95-ms "$p95_ms")
    if ! "$venv/bin/python" loadtest/check.py "$out/${name}_stats.csv" "${bound[@]}"; then
        [ -s "$out/${name}_failures.csv" ] && head -n 10 "$out/${name}_failures.csv" >&2
        failed+=("$name")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "loadtest: failed: ${failed[*]} (details in $out)" >&2
    exit 1
fi
echo "loadtest: passed: ${servers[*]}"
