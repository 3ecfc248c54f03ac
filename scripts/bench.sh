#!/usr/bin/env bash
# Side-by-side benchmark of this framework and rmcp (bench/): the same echo
# server on each, driven by the same load generator on the same machine in
# the same run. Prints one markdown table: ours, rmcp, ours/rmcp.
#
#   bash scripts/bench.sh               load tests and callgrind
#   bash scripts/bench.sh --load        load tests only
#   bash scripts/bench.sh --callgrind   instructions per call only
#
# Load tests: stdio (sequential calls, then PIPELINE in flight), Streamable
# HTTP at concurrency 1, 16, 64 and 256 (one hyper connection per client;
# sessions, and stateless 2026-07-28), the server's peak RSS over each HTTP
# run, the memory an idle session and an open GET event stream hold, and a
# large message (LARGE_BYTES, 8 MiB) echoed over HTTP: the time per call
# and how far the server's RSS rises above its idle level, with glibc's
# defaults and with the GLIBC_TUNABLES the Dockerfile sets. Callgrind: instructions per
# call, (I(N2) - I(N1)) / (N2 - N1), after CALLGRIND_WARMUP calls, on
# stdio and on one HTTP connection. Knobs: BENCH_CALLS (calls per load
# test, default 20000), PIPELINE (16), IDLE_SESSIONS (500), IDLE_STREAMS
# (500), LARGE_BYTES (8388608), LARGE_CALLS (5), CALLGRIND_N1,
# CALLGRIND_N2, CALLGRIND_WARMUP. Servers log to stderr as shipped, into
# /dev/null. The build goes to target/bench (see scripts/lib/bench.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=lib/bench.sh
source "$root/scripts/lib/bench.sh"

load=1
callgrind=1
case "${1:-}" in
    --load) callgrind=0 ;;
    --callgrind) load=0 ;;
    "") ;;
    *) echo "usage: scripts/bench.sh [--load|--callgrind]" >&2; exit 2 ;;
esac
calls="${BENCH_CALLS:-20000}"
pipeline="${PIPELINE:-16}"
idle_sessions="${IDLE_SESSIONS:-500}"
idle_streams="${IDLE_STREAMS:-500}"
large_bytes="${LARGE_BYTES:-8388608}"
large_calls="${LARGE_CALLS:-5}"
large_label="$(awk -v b="$large_bytes" 'BEGIN { if (b % 1048576 == 0) printf "%d MiB", b / 1048576; else printf "%d-byte", b }')"
concurrencies=(1 16 64 256)
tunables="$(image_tunables)"

echo "bench: building echo-ours, echo-rmcp and loadgen (release)" >&2
bench_build --features rmcp
[ "$callgrind" -eq 0 ] || install_valgrind

# Results: "row|framework" -> value.
declare -A result
log="$bench_target/bench.log"
: >"$log"

# Runs loadgen, logs its line, and records "rps (p50/p99)" under ROW.
measure() {
    local row="$1" framework="$2"
    shift 2
    local line
    line="$("$bench_bin/loadgen" "$@" | tee -a "$log")"
    record "$row" "$framework" "$line"
}

record() {
    local row="$1" framework="$2" line="$3"
    result["$row|$framework"]="$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { printf "%d|%s / %s", v["rps"], v["p50_us"], v["p99_us"] }' <<<"$line")"
}

start_http() {
    local server="$1" port="$2"
    shift 2
    "$bench_bin/$server" --transport http --port "$port" "$@" 2>/dev/null &
    server_pid=$!
}

stop_http() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
}

load_tests() {
    local framework="$1" server="echo-$1" kind port
    echo "bench: $framework: stdio" >&2
    local lines
    lines="$("$bench_bin/loadgen" stdio --mode both --warmup 500 --calls "$calls" --pipeline "$pipeline" \
        -- "$bench_bin/$server" --transport stdio | tee -a "$log")"
    record "stdio sequential" "$framework" "$(grep '^mode=stdio-seq' <<<"$lines")"
    record "stdio pipelined ($pipeline in flight)" "$framework" "$(grep '^mode=stdio-pipe' <<<"$lines")"
    for kind in session stateless; do
        port="$(free_port)"
        start_http "$server" "$port"
        for c in "${concurrencies[@]}"; do
            echo "bench: $framework: HTTP $kind, $c connections" >&2
            local per=$(( calls / c ))
            [ "$per" -ge 50 ] || per=50
            measure "HTTP $kind, c=$c" "$framework" http --url "http://127.0.0.1:$port/mcp" \
                --kind "$kind" --concurrency "$c" --warmup 20 --calls "$per"
        done
        result["peak RSS, HTTP $kind run (MiB)|$framework"]="$(rss_kib "$server_pid" VmHWM)"
        stop_http
    done
    echo "bench: $framework: $idle_sessions idle sessions" >&2
    port="$(free_port)"
    start_http "$server" "$port"
    "$bench_bin/loadgen" sessions --url "http://127.0.0.1:$port/mcp" --count 10 >/dev/null
    local before after
    before="$(rss_kib "$server_pid" VmRSS)"
    "$bench_bin/loadgen" sessions --url "http://127.0.0.1:$port/mcp" --count "$idle_sessions" >/dev/null
    after="$(rss_kib "$server_pid" VmRSS)"
    result["memory per idle session (KiB)|$framework"]="$(awk -v a="$after" -v b="$before" -v n="$idle_sessions" \
        'BEGIN { printf "%.1f", (a - b) / n }')"
    stop_http

    echo "bench: $framework: $idle_streams open GET streams" >&2
    port="$(free_port)"
    start_http "$server" "$port"
    "$bench_bin/loadgen" sessions --url "http://127.0.0.1:$port/mcp" --count 10 >/dev/null
    # loadgen opens the sessions, waits for a line, opens a stream on each,
    # waits again: the server's RSS is read at each step.
    local line
    coproc streams { "$bench_bin/loadgen" streams --url "http://127.0.0.1:$port/mcp" --count "$idle_streams"; }
    read -r line <&"${streams[0]}"
    before="$(rss_kib "$server_pid" VmRSS)"
    echo go >&"${streams[1]}"
    read -r line <&"${streams[0]}"
    after="$(rss_kib "$server_pid" VmRSS)"
    echo go >&"${streams[1]}"
    wait "$streams_PID"
    result["memory per open GET stream (KiB)|$framework"]="$(awk -v a="$after" -v b="$before" -v n="$idle_streams" \
        'BEGIN { printf "%.1f", (a - b) / n }')"
    stop_http

    large_echo_rows "$framework" ""
    large_echo_rows "$framework" ", image's malloc settings" GLIBC_TUNABLES="$tunables"
}

# large_echo_rows FRAMEWORK SUFFIX [NAME=VALUE...]: the large echo's rows
# (their names ending in SUFFIX), the server's environment extended by the
# assignments (none: glibc's defaults).
large_echo_rows() {
    local framework="$1" suffix="$2" out
    shift 2
    echo "bench: $framework: $large_label echo over HTTP$suffix" >&2
    out="$(large_echo "echo-$framework" "$large_bytes" "$large_calls" "$@")"
    head -n 1 <<<"$out" >>"$log"
    record "HTTP $large_label echo$suffix" "$framework" "$(head -n 1 <<<"$out")"
    result["peak RSS above idle, $large_label echo$suffix (MiB)|$framework"]="$(tail -n 1 <<<"$out" |
        awk '{ printf "%.1f", $1 / 1024 }')"
}

callgrind_tests() {
    local framework="$1" server="echo-$1" kind
    echo "bench: $framework: callgrind, stdio" >&2
    result["instructions per call, stdio|$framework"]="$(instructions_per_call "$server" stdio -)"
    for kind in session stateless; do
        echo "bench: $framework: callgrind, HTTP $kind" >&2
        result["instructions per call, HTTP $kind|$framework"]="$(instructions_per_call "$server" http "$kind")"
    done
}

if [ "$load" -eq 1 ]; then
    for framework in ours rmcp; do load_tests "$framework"; done
fi
if [ "$callgrind" -eq 1 ]; then
    for framework in ours rmcp; do callgrind_tests "$framework"; done
fi

rows=()
if [ "$load" -eq 1 ]; then
    rows+=("stdio sequential" "stdio pipelined ($pipeline in flight)")
    for kind in session stateless; do
        for c in "${concurrencies[@]}"; do rows+=("HTTP $kind, c=$c"); done
    done
fi
if [ "$callgrind" -eq 1 ]; then
    rows+=("instructions per call, stdio" "instructions per call, HTTP session" "instructions per call, HTTP stateless")
fi
if [ "$load" -eq 1 ]; then
    rows+=("peak RSS, HTTP session run (MiB)" "peak RSS, HTTP stateless run (MiB)" "memory per idle session (KiB)"
        "memory per open GET stream (KiB)" "HTTP $large_label echo" "peak RSS above idle, $large_label echo (MiB)"
        "HTTP $large_label echo, image's malloc settings"
        "peak RSS above idle, $large_label echo, image's malloc settings (MiB)")
fi

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| | ours | rmcp | ours / rmcp |"
echo "|---|---:|---:|---:|"
for row in "${rows[@]}"; do
    ours="${result["$row|ours"]:-}"
    rmcp="${result["$row|rmcp"]:-}"
    show_ours="$ours" show_rmcp="$rmcp"
    case "$row" in
        HTTP*|stdio*)
            # "rps|p50 / p99": calls/s, then latency in µs.
            show_ours="${ours%%|*} calls/s (${ours#*|} µs)"
            show_rmcp="${rmcp%%|*} calls/s (${rmcp#*|} µs)"
            ours="${ours%%|*}" rmcp="${rmcp%%|*}"
            ;;
        "peak RSS above"*) ;;
        peak*)
            ours=$(( ours / 1024 )) rmcp=$(( rmcp / 1024 ))
            show_ours="$ours" show_rmcp="$rmcp"
            ;;
    esac
    ratio="$(awk -v a="$ours" -v b="$rmcp" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
    echo "| $row | $show_ours | $show_rmcp | $ratio |"
done
echo
echo "Latencies in parentheses: p50 / p99. Raw loadgen lines: $log"
