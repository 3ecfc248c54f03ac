#!/usr/bin/env bash
# Instruction budget check: counts, under callgrind, the instructions our
# echo server (bench/src/bin/echo-ours.rs) spends per tools/call on stdio
# and on one Streamable HTTP connection (session, and stateless
# 2026-07-28), and fails when one exceeds its budget in bench/budgets.toml.
# Instruction counts do not depend on the machine's load, so the check is
# stable on a busy CI runner. Then checks that an 8 MiB echo over HTTP, with
# the allocator settings of the image (the Dockerfile's GLIBC_TUNABLES),
# raises the server's peak RSS by at most the budget's multiple of the
# payload. Builds only echo-ours and loadgen (not rmcp), into
# target/bench/check.
#
#   bash scripts/bench-check.sh           build (when needed), count, compare
#   bash scripts/bench-check.sh --build   the release build only (CI starts it
#                                         early, in the background, at low priority)
#
# After a change that makes a path cheaper, lower its budget to the new
# count + 10%; a change that makes it dearer must say why it is worth it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=lib/bench.sh
source "$root/scripts/lib/bench.sh"
# Without rmcp the dependencies are built with other features: a directory
# of their own, so that alternating with scripts/bench.sh rebuilds nothing.
bench_target="$bench_target/check"
bench_bin="$bench_target/release"

budgets="$root/bench/budgets.toml"
# `key = value` from a [section] of budgets.toml.
budget() {
    awk -v section="[$1]" -v key="$2" '
        /^\[/ { in_section = ($0 == section); next }
        in_section && $1 == key && $2 == "=" { print $3; exit }' "$budgets"
}

echo "bench-check: building echo-ours and loadgen (release)"
bench_build --bin echo-ours --bin loadgen
if [ "${1:-}" = "--build" ]; then
    exit 0
fi
install_valgrind

status=0
printf '%-16s %12s %12s %12s\n' path "instr/call" budget target
for path in stdio http_session http_stateless; do
    case "$path" in
        stdio) measured="$(instructions_per_call echo-ours stdio -)"; target="$(budget targets stdio)" ;;
        http_session) measured="$(instructions_per_call echo-ours http session)"; target="$(budget targets http)" ;;
        http_stateless) measured="$(instructions_per_call echo-ours http stateless)"; target="$(budget targets http)" ;;
    esac
    limit="$(budget budgets "$path")"
    [ -n "$limit" ] || { echo "bench-check: no budget for $path in $budgets" >&2; exit 1; }
    verdict=ok
    if [ "$measured" -gt "$limit" ]; then verdict="OVER BUDGET"; status=1; fi
    printf '%-16s %12d %12d %12d  %s\n' "$path" "$measured" "$limit" "$target" "$verdict"
done

payload=8388608
times="$(budget memory large_echo_payloads)"
[ -n "$times" ] || { echo "bench-check: no [memory] large_echo_payloads in $budgets" >&2; exit 1; }
out="$(large_echo echo-ours "$payload" 5 GLIBC_TUNABLES="$(image_tunables)")"
peak="$(tail -n 1 <<<"$out")"
limit=$(( times * payload / 1024 ))
verdict=ok
if [ "$peak" -gt "$limit" ]; then verdict="OVER BUDGET"; status=1; fi
printf '%-16s %9d KiB %8d KiB  %s\n' "8 MiB echo peak" "$peak" "$limit" "$verdict"

if [ "$status" -eq 0 ]; then
    echo "bench-check: passed"
else
    echo "bench-check: FAILED (profiles in $bench_target/callgrind; see docs/performance.md)" >&2
fi
exit "$status"
