#!/usr/bin/env bash
# Two pools of three replicas, each behind HAProxy in round-robin with no
# session affinity, all sharing the Redis at 127.0.0.1:6379 (or REDIS_URL):
# rate limits, sessions, SSE stream history, tasks, subscriptions, server
# requests and the request-state secret.
#
# examples/hello: the official Python client runs its scenarios through the
# balancer, then the official TypeScript clients (v1 and v2) a 2025-11-25
# session each, and every replica must have served tool calls.
#
# examples/everything: the official conformance suite through the balancer
# (scripts/conformance.sh --url; REPLICAS_CONFORMANCE=0 skips it), then the
# official clients' cross-replica scenarios (tests/replicas/py_everything.py,
# tests/clients/ts_everything_replicas.mjs): progress, elicitation, sampling,
# cancellation and resource subscriptions on 2025-11-25, tasks on
# 2026-07-28.
#
# Scenarios, two lists that grow as state moves into Redis:
#   REPLICAS_STATELESS  2026-07-28 scenarios, which need no shared session
#                       (default: stateless-pinned stateless-auto)
#   REPLICAS_SESSIONS   scenarios of the handshake revisions, which need the
#                       sessions themselves shared through Redis
#                       (default: handshake legacy-sse: the 2025-11-25
#                       session, and the 2024-11-05 HTTP+SSE transport)
# REPLICAS_ROUNDS: how many times each scenario runs (default 3).
# Then a rolling restart (REPLICAS_ROLLING=0 skips it): every replica in
# turn is stopped with SIGTERM and started anew while a 2025-11-25 session
# calls tools through the balancer; none of its calls may fail.
#
# Installs HAProxy from Debian (pinned, see scripts/lib/debian.sh) when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
read -r -a stateless <<<"${REPLICAS_STATELESS:-stateless-pinned stateless-auto}"
read -r -a sessions <<<"${REPLICAS_SESSIONS-handshake legacy-sse}"

say() { echo "replicas: $*"; }
die() { echo "replicas: $*" >&2; exit 1; }

# HAProxy: the pinned Debian package; when the archive has moved on to a
# newer security update of the same series, that one.
source scripts/lib/debian.sh
install_haproxy replicas || exit 1

# Redis must be there: fail with a clear message, not a hang.
redis_hostport="${redis_url#redis://}"
redis_hostport="${redis_hostport%%/*}"
if ! python3 - "$redis_hostport" <<'EOF'
import socket, sys
host, _, port = sys.argv[1].rpartition(":")
try:
    with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=3) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(7) == b"+PONG\r\n"
except Exception as e:
    print(f"replicas: this test bed needs Redis at {sys.argv[1]} (set REDIS_URL): {e}", file=sys.stderr)
    sys.exit(1)
EOF
then
    exit 1
fi

bash tests/clients/setup.sh
source scripts/lib/build.sh
build_workspace
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"

scratch=$(mktemp -d)
pids=()
# Keys of this run only, removed at the end.
prefix="mcp:replicas:$$:$(date +%s)"
cleanup() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    python3 - "$redis_hostport" "$prefix" <<'EOF' || true
import socket, sys
host, _, port = sys.argv[1].rpartition(":")
def command(s, *args):
    s.sendall(b"".join([f"*{len(args)}\r\n".encode()] + [f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args]))
with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=3) as s:
    # A Lua script deletes every key of the run in one step.
    command(s, "EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n", "0", sys.argv[2] + ":*")
    s.recv(64)
EOF
    rm -rf "$scratch"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_health() {
    local name="$1" url="$2" pid="$3" log="$4"
    for _ in $(seq 1 300); do
        curl -fsS "$url/health" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "replicas: $name did not come up:" >&2
    cat "$log" >&2
    exit 1
}

secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
# Replicas 1 to 3 run hello, 4 to 6 everything; replica n listens on
# ports[n - 1] and its pid is pids[n - 1].
ports=()
binary_of() { if [ "$1" -le 3 ]; then echo hello; else echo everything; fi; }
start_replica() {
    local n="$1" port="${ports[$(($1 - 1))]}" binary
    binary=$(binary_of "$n")
    local log="$scratch/replica$n.log"
    # everything's audit records show which replica cancelled a call.
    local -a audit=()
    [ "$binary" = everything ] && audit=(MCP_AUDIT_FILE="$scratch/audit$n.jsonl")
    env "${audit[@]}" RUST_LOG=warn MCP_SHUTDOWN_GRACE=0 \
        REDIS_URL="$redis_url" MCP_EVENT_PREFIX="$prefix:$binary:ev" MCP_STATE_PREFIX="$prefix:$binary:state" \
        MCP_RATE_LIMIT=100000/min MCP_RATE_LIMIT_PREFIX="$prefix:$binary:rl" \
        MCP_REQUEST_STATE_SECRET="$secret" \
        "$bin_dir/$binary" --transport http --host 127.0.0.1 --port "$port" >>"$log" 2>&1 &
    pids[$((n - 1))]=$!
    wait_health "replica $n ($binary)" "http://127.0.0.1:$port" "$!" "$log"
}
for n in 1 2 3 4 5 6; do
    ports+=("$(free_port)")
    start_replica "$n"
done

# start_balancer FIRST NAME: HAProxy in front of replicas FIRST to
# FIRST + 2; sets balancer_port and balancer_pid.
start_balancer() {
    local first="$1" name="$2"
    balancer_port=$(free_port)
    local -a env=(BALANCER_PORT="$balancer_port" REPLICA1_PORT="${ports[$((first - 1))]}"
        REPLICA2_PORT="${ports[$first]}" REPLICA3_PORT="${ports[$((first + 1))]}")
    env "${env[@]}" haproxy -c -q -f tests/replicas/haproxy.cfg || die "tests/replicas/haproxy.cfg does not check"
    env "${env[@]}" haproxy -db -f tests/replicas/haproxy.cfg >"$scratch/haproxy-$name.log" 2>&1 &
    balancer_pid=$!
    pids+=("$balancer_pid")
    wait_health "HAProxy ($name)" "http://127.0.0.1:$balancer_port" "$balancer_pid" "$scratch/haproxy-$name.log"
}
start_balancer 4 everything
everything_port=$balancer_port
everything="http://127.0.0.1:$everything_port"
start_balancer 1 hello
balancer="http://127.0.0.1:$balancer_port"

# check_spread LABEL N...: each replica N (an index into ports) served at
# least one tool call, by its own metrics; sets failed=1 if one did not.
check_spread() {
    local label="$1" n calls
    shift
    for n in "$@"; do
        calls=$(curl -fsS "http://127.0.0.1:${ports[$n]}/metrics" \
            | awk '/^mcp_tool_calls_total/ { sum += $NF } END { print sum + 0 }')
        say "replica $((n + 1))$label served $calls tool calls"
        if [ "${calls%.*}" -eq 0 ]; then
            echo "replicas: replica $((n + 1)) served no tool call: the balancer is not spreading requests" >&2
            failed=1
        fi
    done
}

failed=0
scenarios=("${stateless[@]}" "${sessions[@]}")
say "${#ports[@]} replicas (ports ${ports[*]}) behind $balancer (hello) and $everything (everything); scenarios: ${scenarios[*]}"
if ! BALANCER_URL="$balancer" timeout 150 tests/clients/.venv/bin/python tests/replicas/py_replicas.py "${scenarios[@]}"; then
    failed=1
fi
say "the TypeScript clients' 2025-11-25 sessions"
if ! BALANCER_URL="$balancer" timeout 60 node tests/clients/ts_replicas.mjs; then
    failed=1
fi

# Round-robin without affinity: every replica served tool calls.
check_spread "" 0 1 2

# examples/everything through its balancer: the conformance suite
# (`localhost`: its DNS-rebinding scenario needs a loopback name), then the
# clients' scenarios whose halves land on different replicas.
if [ "${REPLICAS_CONFORMANCE:-1}" = 1 ]; then
    say "the conformance suite through the balancer (3 replicas of everything)"
    if ! timeout 240 bash scripts/conformance.sh --url "http://localhost:$everything_port/mcp"; then
        failed=1
    fi
fi
say "the clients' cross-replica scenarios against everything"
if ! BALANCER_URL="$everything" AUDIT_FILES="$scratch/audit4.jsonl:$scratch/audit5.jsonl:$scratch/audit6.jsonl" \
    timeout 90 tests/clients/.venv/bin/python tests/replicas/py_everything.py; then
    failed=1
fi
if ! BALANCER_URL="$everything" timeout 60 node tests/clients/ts_everything_replicas.mjs; then
    failed=1
fi
check_spread " (everything)" 3 4 5

# A rolling restart under load: each replica in turn gets SIGTERM, drains
# (answers what it has in flight, ends its streams with where to resume)
# and exits, and starts anew, while a 2025-11-25 session calls tools
# through the balancer without pause; none of its calls may fail.
if [ "$failed" -eq 0 ] && [ "${REPLICAS_ROLLING:-1}" = 1 ]; then
    say "rolling restart of every replica under a 2025-11-25 session"
    started="$scratch/rolling.started"
    done_file="$scratch/rolling.done"
    BALANCER_URL="$balancer" ROLLING_STARTED="$started" ROLLING_DONE="$done_file" \
        timeout 120 tests/clients/.venv/bin/python tests/replicas/py_replicas.py rolling &
    client=$!
    for _ in $(seq 1 300); do
        [ -e "$started" ] && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.1
    done
    [ -e "$started" ] || failed=1
    for n in 1 2 3; do
        [ "$failed" -eq 0 ] || break
        pid="${pids[$((n - 1))]}"
        kill -TERM "$pid"
        # Exits once its requests in flight are answered (deadline 10 s).
        if ! timeout 15 tail --pid="$pid" -f /dev/null; then
            echo "replicas: replica $n did not exit within 15 s of SIGTERM" >&2
            failed=1
            break
        fi
        wait "$pid" || { echo "replicas: replica $n exited with an error after SIGTERM" >&2; failed=1; }
        # The client goes on while the replica is away: a few more calls,
        # which the balancer must send elsewhere until its checks notice.
        before=$(cat "$started")
        for _ in $(seq 1 300); do
            [ "$(cat "$started")" -ge $((before + 6)) ] && break
            kill -0 "$client" 2>/dev/null || break
            sleep 0.1
        done
        [ "$(cat "$started")" -ge $((before + 6)) ] || { echo "replicas: the client made no progress with replica $n away" >&2; failed=1; }
        start_replica "$n"
    done
    touch "$done_file"
    wait "$client" || failed=1
fi

if [ "$failed" -ne 0 ]; then
    for log in "$scratch"/*.log; do echo "--- $log" >&2; cat "$log" >&2; done
    exit 1
fi
say "all scenarios passed through the balancer"
