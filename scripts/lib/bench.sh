# Shared by scripts/bench.sh and scripts/bench-check.sh: building the bench
# crate, counting a server's instructions per tools/call under callgrind, and
# a large echo's peak memory.
# Sourced with $root set to the repository.

# Valgrind from Debian, pinned like the other tools the scripts install.
VALGRIND_DEB_VERSION="1:3.19.0-1"
bench_target="${CARGO_TARGET_DIR:-$root/target}/bench"
bench_bin="$bench_target/release"
# Calls before counting, and the two counted runs whose difference is
# divided: start-up, the handshake, the warm-up and shutdown cancel out.
CALLGRIND_WARMUP="${CALLGRIND_WARMUP:-200}"
CALLGRIND_N1="${CALLGRIND_N1:-100}"
CALLGRIND_N2="${CALLGRIND_N2:-1100}"

install_valgrind() {
    # shellcheck source=debian.sh
    source "$root/scripts/lib/debian.sh"
    install_deb bench valgrind valgrind "$VALGRIND_DEB_VERSION" || exit 1
}

# bench_build [--features rmcp] [--bin NAME]...: the release build, in its
# own target directory (the bench crate is a workspace of its own).
bench_build() {
    nice cargo build --quiet --release --locked --manifest-path "$root/bench/Cargo.toml" \
        --target-dir "$bench_target" "$@"
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The instruction total in a callgrind output file.
callgrind_total() {
    awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# callgrind_run SERVER TRANSPORT KIND CALLS OUT: runs SERVER (a binary in
# $bench_bin) under callgrind for the handshake, the warm-up and CALLS
# sequential calls over TRANSPORT (stdio, or http with KIND session or
# stateless, on one connection), writing the profile to OUT.
callgrind_run() {
    local server="$1" transport="$2" kind="$3" calls="$4" out="$5"
    local valgrind=(valgrind --tool=callgrind --callgrind-out-file="$out")
    if [ "$transport" = stdio ]; then
        "$bench_bin/loadgen" stdio --mode seq --warmup "$CALLGRIND_WARMUP" --calls "$calls" \
            -- "${valgrind[@]}" "$bench_bin/$server" --transport stdio >/dev/null
    else
        local port pid status=0
        port="$(free_port)"
        "${valgrind[@]}" "$bench_bin/$server" --transport http --port "$port" 2>/dev/null &
        pid=$!
        "$bench_bin/loadgen" http --url "http://127.0.0.1:$port/mcp" --kind "$kind" \
            --concurrency 1 --warmup "$CALLGRIND_WARMUP" --calls "$calls" >/dev/null || status=$?
        kill -TERM "$pid"
        wait "$pid" || true
        [ "$status" -eq 0 ] || return "$status"
    fi
}

# instructions_per_call SERVER TRANSPORT KIND: (I(N2) - I(N1)) / (N2 - N1).
# Leaves the N2 profile in $bench_target/callgrind/SERVER-TRANSPORT-KIND.out
# for callgrind_annotate.
instructions_per_call() {
    local server="$1" transport="$2" kind="$3"
    local dir="$bench_target/callgrind" name="$1-$2-$3"
    mkdir -p "$dir"
    callgrind_run "$server" "$transport" "$kind" "$CALLGRIND_N1" "$dir/$name.n1.out"
    callgrind_run "$server" "$transport" "$kind" "$CALLGRIND_N2" "$dir/$name.out"
    local i1 i2
    i1="$(callgrind_total "$dir/$name.n1.out")"
    i2="$(callgrind_total "$dir/$name.out")"
    echo $(( (i2 - i1) / (CALLGRIND_N2 - CALLGRIND_N1) ))
}

# A process's VmRSS or VmHWM, in KiB.
rss_kib() {
    awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"
}

# The allocator settings the Dockerfile gives every image (GLIBC_TUNABLES).
image_tunables() {
    local value
    value="$(sed -n 's/.*[[:space:]]GLIBC_TUNABLES=\([^[:space:]]*\).*/\1/p' "$root/Dockerfile")"
    [ -n "$value" ] || { echo "no GLIBC_TUNABLES in the Dockerfile" >&2; return 1; }
    echo "$value"
}

# large_echo SERVER BYTES CALLS [NAME=VALUE...]: starts SERVER over HTTP
# with its environment extended by the assignments, makes ten small calls,
# then CALLS echoes of BYTES. Prints loadgen's line, then how far the
# server's peak RSS rose above its RSS before the large calls, in KiB.
large_echo() {
    local server="$1" bytes="$2" calls="$3" port pid before after line status=0
    shift 3
    port="$(free_port)"
    env "$@" "$bench_bin/$server" --transport http --port "$port" --max-message-bytes $(( 2 * bytes )) 2>/dev/null &
    pid=$!
    "$bench_bin/loadgen" http --url "http://127.0.0.1:$port/mcp" --warmup 10 --calls 10 >/dev/null || status=$?
    if [ "$status" -eq 0 ]; then
        before="$(rss_kib "$pid" VmRSS)"
        line="$("$bench_bin/loadgen" http --url "http://127.0.0.1:$port/mcp" --warmup 1 --calls "$calls" \
            --message-bytes "$bytes")" || status=$?
        after="$(rss_kib "$pid" VmHWM)"
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    [ "$status" -eq 0 ] || return "$status"
    echo "$line"
    echo $(( after - before ))
}
