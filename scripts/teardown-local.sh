#!/usr/bin/env bash
# Undoes scripts/deploy-local.sh SERVER:
#
#   scripts/teardown-local.sh SERVER         SERVER: crm, customer, iam, sql, jira or agent
#
#  1. stops the background port-forward whose PID is saved in
#     ${XDG_DATA_HOME:-~/.local/share}/mcp-SERVER/port-forward.pid, but only
#     if that process is still `kubectl ... port-forward service/SERVER`
#     (a PID the system has given to another process is left alone);
#  2. deletes the namespace mcp-SERVER, and everything in it, from the
#     cluster deploy-local.sh deployed to (the saved context; with none
#     saved, kubectl's current context, if it is a local cluster as
#     deploy-local.sh decides it, or LOCAL_CLUSTER is set);
#  3. removes the saved PID, port, log, context and generated key.
#
# The image mcp-SERVER:dev stays; `docker image rm mcp-SERVER:dev` removes it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/local-k8s.sh
. "$root/scripts/lib/local-k8s.sh"

[ $# -eq 1 ] || die "usage: teardown-local.sh SERVER (crm, customer, iam, sql, jira, agent)"
server="$1"
server_bin "$server" >/dev/null
command -v kubectl >/dev/null 2>&1 || die "\`kubectl\` is required but was not found on PATH"
state=$(state_dir "$server")

if [ -f "$state/port-forward.pid" ]; then
    pid=$(cat "$state/port-forward.pid")
    if is_port_forward "$pid" "$server"; then
        echo "==> stopping the port-forward (PID $pid)"
        kill "$pid"
        # Until it has exited (a zombie no parent reaps counts as exited).
        for _ in $(seq 1 50); do
            is_port_forward "$pid" "$server" || break
            sleep 0.1
        done
        if is_port_forward "$pid" "$server"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        echo "==> PID $pid is no longer $server's port-forward; leaving it alone"
    fi
else
    echo "==> no port-forward recorded in $state"
fi

if [ -s "$state/context" ]; then
    context=$(cat "$state/context")
else
    context=$(kubectl config current-context 2>/dev/null) || die "kubectl has no current context"
    local_cluster "$context" >/dev/null ||
        die "nothing was saved for $server, and the current context '$context' is not a kind, minikube or Docker Desktop cluster; set LOCAL_CLUSTER if it is a local one"
fi
echo "==> deleting the namespace mcp-$server (context $context)"
kubectl --context "$context" delete namespace "mcp-$server" --ignore-not-found

rm -f "$state/port-forward.pid" "$state/port-forward.port" "$state/port-forward.log" "$state/context" "$state/api-key"
rmdir "$state" 2>/dev/null || true
echo "==> $server removed"
