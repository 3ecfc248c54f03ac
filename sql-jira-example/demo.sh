#!/usr/bin/env bash
# Calls every tool of a running sql-mcp and jira-mcp over HTTP (the
# sql-jira-demo binary), after checking both answer /health.
#
# Usage: sql-jira-example/demo.sh [SQL_URL] [JIRA_URL]
#   defaults: http://127.0.0.1:8056 and http://127.0.0.1:8055
#   MCP_API_KEY: sent as "Authorization: Bearer ..." when the servers
#   require API keys.
#
# Start the servers first, for instance:
#   cargo run -p sql-jira-example --bin sql-mcp -- --transport http --port 8056 &
#   cargo run -p sql-jira-example --bin jira-mcp -- --transport http --port 8055 &
# or docker compose up sql jira.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sql="${1:-http://127.0.0.1:8056}"
jira="${2:-http://127.0.0.1:8055}"

bash "$root/scripts/health_check.sh" "$sql" "$jira"
cargo run --quiet --manifest-path "$root/Cargo.toml" -p sql-jira-example --bin sql-jira-demo -- "$sql" "$jira"
