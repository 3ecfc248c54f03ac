#!/usr/bin/env bash
# Checks the published crates' API (mcp-core, mcp-macros, mcp-server) for
# semver breaks against the last release, with cargo-semver-checks.
#
# Not a check yet, and not in CI: nothing has been released, and the API
# is not declared stable (CHANGELOG.md), so there is no baseline to compare
# with. The baseline is the newest release tag (`v*`, such as v0.1.0) or
# the git revision given as the first argument. Without one this script
# says so and exits 0 having checked nothing. Once the first release is
# tagged, add `bash scripts/semver-check.sh` to .ci/run.
#
# cargo-semver-checks is installed once, pinned, from crates.io into
# .tools/ (git-ignored), and only when there is something to compare. It
# checks mcp-core and mcp-server; it skips proc-macro crates, so mcp-macros'
# interface (the attributes) is guarded by its trybuild tests instead.
# Tried on a throwaway clone with a local v0.1.0 tag: no change passes, and
# removing `ToolDef::timeout` fails with `inherent_method_missing`.
#
# Usage: scripts/semver-check.sh [BASELINE_REV]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

baseline="${1:-$(git tag --list 'v*' --sort=-version:refname | head -n 1)}"
if [ -z "$baseline" ]; then
    echo "semver-check: skipped, nothing checked: no release tag (v*) to compare with; the API is not declared stable yet (CHANGELOG.md)"
    exit 0
fi
git rev-parse --verify --quiet "$baseline^{commit}" >/dev/null \
    || { echo "semver-check: \`$baseline\` is not a git revision" >&2; exit 2; }

version=0.51.0
prefix="$root/.tools/cargo-semver-checks-$version"
if [ ! -x "$prefix/bin/cargo-semver-checks" ]; then
    echo "semver-check: installing cargo-semver-checks $version from crates.io into .tools/ (once)"
    env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$prefix" "cargo-semver-checks@$version"
fi
export PATH="$prefix/bin:$PATH"

echo "semver-check: the workspace's publishable crates against $baseline"
# --workspace skips the crates with publish = false (examples, tests).
cargo semver-checks check-release --workspace --all-features --baseline-rev "$baseline"
