# shellcheck shell=bash
# The debug binaries the test scripts run, built the one way they are all
# built: the binaries, tests and examples of the workspace, as
# `cargo test --workspace` builds them (not the criterion benches). Cargo resolves features per command line, so `cargo build -p X`
# would compile `mcp-server` and much of its tree again with X's own
# feature set, one more copy on disk and minutes of CPU for each package;
# built this way, after `cargo test --workspace` nothing is compiled again.
# Source it, then call `build_workspace`.

build_workspace() {
    cargo build --quiet --workspace --bins --tests --examples
}
