#!/usr/bin/env bash
# cargo-deny over the workspace's dependency tree: licenses (an allow-list),
# bans (duplicate versions are warnings) and sources (crates.io only).
#
# The advisories check is not run here: cargo-deny reads the RustSec
# advisory database from its git repository, and this project's machines
# and CI reach package registries only (crates.io, npm, PyPI, Debian), not
# that repository; no registry ships the database. Where the network allows
# it, run `bash scripts/deny.sh advisories` (or `all`) to add it.
#
# cargo-deny is installed once, pinned, from crates.io into .tools/
# (git-ignored); after that the checks need no network (the crates' own
# manifests come from cargo's registry cache, which any build fills).
# deny.toml is the configuration.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version=0.20.2
prefix="$root/.tools/cargo-deny-$version"
deny="$prefix/bin/cargo-deny"

if [ ! -x "$deny" ]; then
    echo "deny: installing cargo-deny $version from crates.io into .tools/ (once)"
    # A private build directory: the install must not touch the workspace's target.
    env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$prefix" "cargo-deny@$version"
fi

case "${1:-offline}" in
    offline) checks=(licenses bans sources) ;;
    advisories) checks=(advisories) ;;
    all) checks=(advisories licenses bans sources) ;;
    *) echo "usage: scripts/deny.sh [offline|advisories|all]" >&2; exit 2 ;;
esac

"$deny" --version
# --locked: the checked tree is exactly Cargo.lock. Duplicates print without
# their inclusion graphs; drop --hide-inclusion-graph to see who pulls them in.
"$deny" --locked check --hide-inclusion-graph "${checks[@]}"
