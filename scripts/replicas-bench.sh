#!/usr/bin/env bash
# Throughput of 1, 2 and 3 replicas of examples/hello behind HAProxy
# (round-robin, no affinity) sharing a Redis of their own, and the Redis
# commands and round trips per request. Opt-in, not in CI; the figures in
# docs/deployment.md come from it.
#
#   scripts/replicas-bench.sh
#
# For each replica count: tests/replicas/loadgen.py calls `greet` through
# the balancer for REPLICAS_BENCH_SECONDS (default 10) from
# REPLICAS_BENCH_WORKERS processes (default 8), once in 2025-11-25 sessions
# and once with stateless 2026-07-28 calls; calls/s, p50 and p99.
# Then, with one replica and nothing else on that Redis, REPLICAS_BENCH_COUNT
# (default 1000) calls of each kind on one connection, with Redis's
# `INFO commandstats` read before and after, and the replica's Redis
# connections passed through a counting relay (tests/replicas/redis_relay.py)
# that counts round trips: a burst of commands the replica writes before
# it reads the replies is one round trip, however many commands it holds.
# Heartbeats and other background traffic are measured over an idle
# stretch of the same length and subtracted.
#
# REPLICAS_BENCH_PROFILE: debug (default) or release, the build of hello.
# REPLICAS_BENCH_RATE_LIMIT: MCP_RATE_LIMIT for the replicas (default none).
# Needs HAProxy and redis-server (installed from Debian, pinned, if
# missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

REDIS_VERSION="5:7.0.15-1~deb12u10"
seconds="${REPLICAS_BENCH_SECONDS:-10}"
workers="${REPLICAS_BENCH_WORKERS:-8}"
count="${REPLICAS_BENCH_COUNT:-1000}"
profile="${REPLICAS_BENCH_PROFILE:-debug}"

say() { echo "replicas-bench: $*"; }
die() { echo "replicas-bench: $*" >&2; exit 1; }

source scripts/lib/debian.sh
install_haproxy replicas-bench || exit 1
install_deb replicas-bench redis-server redis-server "$REDIS_VERSION" 5:7.0. || exit 1

case "$profile" in
    debug) source scripts/lib/build.sh && build_workspace ;;
    release) cargo build --quiet --release -p hello ;;
    *) die "REPLICAS_BENCH_PROFILE is debug or release, not $profile" ;;
esac
hello="${CARGO_TARGET_DIR:-$root/target}/$profile/hello"
python=python3

scratch=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$scratch"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
    local name="$1" port="$2" pid="$3"
    for _ in $(seq 1 300); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    die "$name did not come up"
}
redis_cli() { redis-cli -p "$redis_port" "$@"; }

# A Redis for this run alone, in memory.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$scratch/redis.log" 2>&1 &
pids+=("$!")
wait_port redis "$redis_port" "$!"

secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
# No rate limit unless REPLICAS_BENCH_RATE_LIMIT sets one (such as
# 1000000/min): a limit shared through Redis costs a round trip of its own.
rate_limit=()
[ -n "${REPLICAS_BENCH_RATE_LIMIT:-}" ] && rate_limit=(MCP_RATE_LIMIT="$REPLICAS_BENCH_RATE_LIMIT")
replica_pids=()
replica_ports=()
# start_replicas N REDIS_PORT: N replicas of hello on that Redis.
start_replicas() {
    local n="$1" via="$2" i port
    replica_pids=()
    replica_ports=()
    for i in $(seq 1 "$n"); do
        port=$(free_port)
        env RUST_LOG=warn MCP_SHUTDOWN_GRACE=0 REDIS_URL="redis://127.0.0.1:$via" \
            MCP_REQUEST_STATE_SECRET="$secret" "${rate_limit[@]}" \
            "$hello" --transport http --host 127.0.0.1 --port "$port" >>"$scratch/replica$i.log" 2>&1 &
        replica_pids+=("$!")
        replica_ports+=("$port")
        wait_port "replica $i" "$port" "$!"
    done
}
stop_replicas() {
    local pid
    for pid in "${replica_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
# A balancer in front of the replicas started last.
start_balancer() {
    local i
    balancer_port=$(free_port)
    {
        sed -n '/^global/,/^frontend/p' tests/replicas/haproxy.cfg | sed '$d'
        echo "frontend mcp"
        echo "    bind 127.0.0.1:$balancer_port"
        echo "    default_backend replicas"
        echo "backend replicas"
        echo "    balance roundrobin"
        echo "    option http-server-close"
        for i in "${!replica_ports[@]}"; do
            echo "    server r$i 127.0.0.1:${replica_ports[$i]}"
        done
    } >"$scratch/haproxy.cfg"
    haproxy -db -f "$scratch/haproxy.cfg" >"$scratch/haproxy.log" 2>&1 &
    balancer_pid=$!
    wait_port HAProxy "$balancer_port" "$balancer_pid"
}

say "hello ($profile build), $workers load processes, ${seconds}s per run, on $(nproc) cores"
results="$scratch/results"
touch "$results"
# REPLICAS_BENCH_SECONDS=0: only the Redis counts.
for n in $([ "$seconds" = 0 ] || echo 1 2 3); do
    start_replicas "$n" "$redis_port"
    start_balancer
    for kind in session stateless; do
        line=$("$python" tests/replicas/loadgen.py "http://127.0.0.1:$balancer_port/mcp" "$kind" "$seconds" "$workers")
        echo "replicas=$n $line" | tee -a "$results"
    done
    kill -TERM "$balancer_pid"
    wait "$balancer_pid" 2>/dev/null || true
    stop_replicas
done

# Redis per request: one replica, reached directly, its Redis connections
# through the counting relay.
relay_port=$(free_port)
"$python" tests/replicas/redis_relay.py "$relay_port" "$redis_port" "$scratch/relay.count" &
pids+=("$!")
wait_port relay "$relay_port" "$!"
start_replicas 1 "$relay_port"
url="http://127.0.0.1:${replica_ports[0]}/mcp"
# One warm-up call of each kind: connections, scripts loaded.
"$python" tests/replicas/loadgen.py count "$url" session 5
"$python" tests/replicas/loadgen.py count "$url" stateless 5
snapshot() {
    redis_cli INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ { sub("cmdstat_", "", $1); print $1, $3 }'
    echo "roundtrips $(cat "$scratch/relay.count")"
}
diff_per_call() {
    python3 - "$@" <<'PY'
import sys
def load(path):
    return {k: int(v) for k, v in (line.split() for line in open(path) if line.strip())}
before, after, calls, idle = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
delta = {k: v - before.get(k, 0) for k, v in after.items() if k not in ("info", "roundtrips")}
per = "  ".join(f"{k} {v / calls:.3f}" for k, v in sorted(delta.items()) if v > 0)
trips = after["roundtrips"] - before["roundtrips"]
print(f"  commands per call: {per or 'none'}")
print(f"  commands per call {sum(delta.values()) / calls:.3f}; round trips per call {(trips - idle) / calls:.3f}"
      f" ({trips} in {calls} calls, {idle} in as long idle)")
PY
}
# The idle baseline: heartbeats over the time the counted calls take.
measure() {
    local kind="$1" started elapsed
    snapshot >"$scratch/before"
    started=$(date +%s.%N)
    "$python" tests/replicas/loadgen.py count "$url" "$kind" "$count"
    elapsed=$(echo "$(date +%s.%N) - $started" | bc)
    snapshot >"$scratch/after"
    snapshot >"$scratch/idle.before"
    sleep "$elapsed"
    snapshot >"$scratch/idle.after"
    idle=$(( $(awk '$1 == "roundtrips" { print $2 }' "$scratch/idle.after") - $(awk '$1 == "roundtrips" { print $2 }' "$scratch/idle.before") ))
    say "Redis per $kind tools/call ($count calls in ${elapsed}s):"
    diff_per_call "$scratch/before" "$scratch/after" "$count" "$idle"
}
measure session
measure stateless
stop_replicas
say "done"
cat "$results"
