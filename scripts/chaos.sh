#!/usr/bin/env bash
# HTTP chaos against the everything binary (examples/everything/tests/chaos.rs):
# mid-body and mid-stream disconnects, slow readers, slowloris and 5,000
# concurrent connections while well-behaved clients work. Every well-behaved
# request must be answered, and the server must return to its baseline:
# sessions, requests, streams, connections, file descriptors and memory.
# Bounded: well under two minutes in a debug build on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --test chaos -- --ignored --nocapture
