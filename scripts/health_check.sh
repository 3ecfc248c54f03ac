#!/usr/bin/env bash
# Checks that the SQL report server and the Jira server answer /health.
#
# Usage: scripts/health_check.sh [SQL_URL] [JIRA_URL]
#   defaults: http://127.0.0.1:${MCP_SQL_PORT:-8056} and http://127.0.0.1:${MCP_JIRA_PORT:-8055}
#
# Exits 0 when both answer 200, 1 when either does not (or cannot be
# reached within 5 seconds), naming which.
set -uo pipefail

sql="${1:-http://127.0.0.1:${MCP_SQL_PORT:-8056}}"
jira="${2:-http://127.0.0.1:${MCP_JIRA_PORT:-8055}}"

command -v curl >/dev/null 2>&1 || { echo "health_check: curl is required" >&2; exit 1; }

failed=0
for target in "sql-mcp $sql" "jira-mcp $jira"; do
    name="${target%% *}"
    url="${target#* }"
    status=$(curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' "$url/health")
    if [ "$status" = "200" ]; then
        echo "ok    $name $url/health"
    else
        echo "FAIL  $name $url/health (HTTP ${status:-none})" >&2
        failed=1
    fi
done
exit "$failed"
