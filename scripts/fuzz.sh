#!/usr/bin/env bash
# Fuzzes the server's input paths with cargo fuzz (libFuzzer), each target
# for a bounded time, starting from the seed corpus in fuzz/corpus/<target>/.
#
#   bash scripts/fuzz.sh                        every target, FUZZ_SECONDS each (default 45)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh http  one target, longer
#   FUZZ_SECONDS=0 bash scripts/fuzz.sh         replay the corpora only
#   bash scripts/fuzz.sh --reproduce fuzz/artifacts/jsonrpc/crash-...
#
# Targets (fuzz/src/): jsonrpc (the parser, and a whole server answering
# every request exactly once), uri_template (the matcher and the macro's
# template check), framing (bytes cut at arbitrary offsets over a
# connection), http (arbitrary requests through McpService::handle).
#
# cargo fuzz runs on the pinned stable toolchain: `-s none` asks for no
# sanitizer (the crates are safe Rust), and the coverage instrumentation it
# adds is plain `-C` codegen flags. It is installed once, pinned, into
# .tools/ (scripts/lib/tools.sh). The build goes to
# $CARGO_TARGET_DIR/fuzz (default target/fuzz), new inputs the fuzzer finds
# to target/fuzz/corpus/<target>/ (the seeds in fuzz/corpus stay as they
# are), and a crashing or hanging input to fuzz/artifacts/<target>/, which
# is printed in base64 too, so a CI log is enough to reproduce it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# shellcheck source=lib/tools.sh
source "$root/scripts/lib/tools.sh"
cargo_fuzz="$(install_cargo_tool cargo-fuzz 0.13.2 612108f626b6ee0e5d63b1a0e257c89c13abffbd8fff539ccbffb7205b33093f)"
export PATH="$(dirname "$cargo_fuzz"):$PATH"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
all=(jsonrpc uri_template framing http)
# Optimised a little, and in many codegen units: the build takes a third
# of the time of cargo fuzz's default (opt-level 3, one unit), and runs
# fast enough for bounded runs.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1}"
fuzz=(cargo fuzz)
build_flags=(-s none --target-dir "$target_dir" --codegen-units 16 --fuzz-dir "$root/fuzz")

if [ "${1:-}" = "--reproduce" ]; then
    artifact="${2:?usage: scripts/fuzz.sh --reproduce fuzz/artifacts/<target>/<file>}"
    target="$(basename "$(dirname "$artifact")")"
    exec "${fuzz[@]}" run "${build_flags[@]}" "$target" "$artifact"
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
seconds="${FUZZ_SECONDS:-45}"

echo "fuzz: building ${targets[*]}"
"${fuzz[@]}" build "${build_flags[@]}"

passed=0
failed=0
for target in "${targets[@]}"; do
    corpus="$target_dir/corpus/$target"
    artifacts="$root/fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    before=$(mktemp)
    ls "$artifacts" > "$before"
    options=(-timeout=20 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1)
    if [ "$seconds" -gt 0 ]; then
        options+=(-max_total_time="$seconds")
        what="for ${seconds}s"
    else
        options+=(-runs=0)
        what="over its corpus"
    fi
    dict="$root/fuzz/dicts/$target.dict"
    [ -f "$dict" ] && options+=(-dict="$dict")
    echo "--- fuzz $target $what"
    # The scratch corpus first: libFuzzer adds what it finds to the first
    # directory only, and reads the committed seeds from the second.
    if "${fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- "${options[@]}" \
        > "$target_dir/$target.log" 2>&1; then
        passed=$((passed + 1))
        grep -E '^(Done|stat::number_of_executed_units|#[0-9]+ +DONE)' "$target_dir/$target.log" || true
    else
        failed=$((failed + 1))
        tail -n 60 "$target_dir/$target.log" >&2
        echo "FAILED: fuzz target $target" >&2
        for file in $(ls "$artifacts" | grep -vxFf "$before"); do
            echo "  crashing input: fuzz/artifacts/$target/$file; base64:" >&2
            base64 -w0 "$artifacts/$file" >&2
            echo >&2
            echo "  reproduce: bash scripts/fuzz.sh --reproduce fuzz/artifacts/$target/$file" >&2
            echo "  (decode a CI log's copy with: base64 -d > fuzz/artifacts/$target/$file)" >&2
        done
    fi
    rm -f "$before"
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
