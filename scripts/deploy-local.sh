#!/usr/bin/env bash
# Deploys one example server to a local Kubernetes cluster (kind, minikube
# or Docker Desktop) and forwards a local port to it in the background:
#
#   scripts/deploy-local.sh SERVER [PORT]    SERVER: crm, customer, iam, sql,
#                                            jira or agent
#                                            PORT: 1024-65535, default 9999
#   scripts/teardown-local.sh SERVER         undoes all of it
#
#  1. builds the image mcp-SERVER:dev (docker build --build-arg BIN=...);
#     SKIP_BUILD=1 uses the one already built;
#  2. makes it available to the cluster of kubectl's current context:
#     `kind load docker-image` (context kind-NAME), `minikube image load`
#     (context minikube, or a minikube profile), nothing for docker-desktop
#     (it runs the local Docker engine's images). Any other context is
#     refused, so a remote cluster is never deployed to by mistake, unless
#     LOCAL_CLUSTER=kind|minikube|docker-desktop|none says what it is;
#  3. creates the namespace mcp-SERVER, and the Secret mcp-local-api-keys
#     from MCP_API_KEYS (the servers' format: name:key entries, comma
#     separated), else from one generated key, `local:<64 hex digits>`,
#     which is also saved (mode 600) in the state directory; for iam, the
#     Secret iam-rapidapi from RAPIDAPI_KEY when it is set (else the bundled
#     offline dataset is served); for jira, the Secret jira-credentials
#     from JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN when all three are
#     set (else its offline sample project is served);
#  4. kubectl apply -k deploy/k8s/overlays/local-SERVER, and waits for the
#     rollout (ROLLOUT_TIMEOUT, default 180s);
#  5. starts `kubectl port-forward service/SERVER PORT:80` in the
#     background, waits until PORT answers, and saves its PID and port in
#     ${XDG_DATA_HOME:-~/.local/share}/mcp-SERVER/ (port-forward.pid,
#     port-forward.port; its output goes to port-forward.log), and the
#     context (context), which teardown-local.sh uses.
#
# Needs docker, kubectl, and kind or minikube for those clusters.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib/local-k8s.sh
. "$root/scripts/lib/local-k8s.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: deploy-local.sh SERVER [PORT] (SERVER: crm, customer, iam, sql, jira, agent; PORT: 1024-65535, default 9999)"
server="$1"
port=9999
[ $# -eq 2 ] && port="$2"
bin=$(server_bin "$server")
check_port "$port"

need() {
    command -v "$1" >/dev/null 2>&1 || die "\`$1\` is required but was not found on PATH"
}
need docker
need kubectl

state=$(state_dir "$server")
namespace="mcp-$server"
image="mcp-$server:dev"
if [ -f "$state/port-forward.pid" ] && is_port_forward "$(cat "$state/port-forward.pid")" "$server"; then
    die "$server is already forwarded on port $(cat "$state/port-forward.port" 2>/dev/null || echo '?') (PID $(cat "$state/port-forward.pid")): run scripts/teardown-local.sh $server first"
fi
if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use on 127.0.0.1: pass another one"
fi

context=$(kubectl config current-context 2>/dev/null) || die "kubectl has no current context: start kind, minikube or Docker Desktop's Kubernetes"
cluster=$(local_cluster "$context") ||
    die "the current context '$context' is not a kind, minikube or Docker Desktop cluster; set LOCAL_CLUSTER=kind|minikube|docker-desktop|none if it is a local one"
k() { kubectl --context "$context" "$@"; }

echo "==> building $image (BIN=$bin)"
if [ "${SKIP_BUILD:-}" = 1 ]; then
    docker image inspect "$image" >/dev/null || die "SKIP_BUILD=1 but there is no image $image"
else
    docker build --build-arg "BIN=$bin" -t "$image" "$root"
fi

echo "==> loading $image into the $cluster cluster of context $context"
case "$cluster" in
    kind)
        need kind
        kind load docker-image "$image" --name "${context#kind-}"
        ;;
    minikube)
        need minikube
        minikube image load "$image" -p "$context"
        ;;
    docker-desktop | none) ;;
    *) die "LOCAL_CLUSTER='$cluster' is not kind, minikube, docker-desktop or none" ;;
esac

mkdir -p "$state"
chmod 700 "$state"
# Teardown deletes the namespace in this cluster, whatever the context is then.
echo "$context" > "$state/context"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
if [ -n "${MCP_API_KEYS:-}" ]; then
    # The file format: one entry a line.
    tr ',' '\n' <<<"$MCP_API_KEYS" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//; /^$/d' > "$work/api-keys"
    rm -f "$state/api-key"
    key_note="the keys in MCP_API_KEYS"
else
    key=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    printf 'local:%s\n' "$key" > "$work/api-keys"
    printf '%s\n' "$key" > "$state/api-key"
    key_note="the key in $state/api-key"
fi

echo "==> namespace $namespace, Secrets"
k create namespace "$namespace" --dry-run=client -o yaml | k apply -f -
k -n "$namespace" create secret generic mcp-local-api-keys --from-file="api-keys=$work/api-keys" \
    --dry-run=client -o yaml | k apply -f -
if [ "$server" = iam ] && [ -n "${RAPIDAPI_KEY:-}" ]; then
    printf '%s' "$RAPIDAPI_KEY" > "$work/rapidapi-key"
    k -n "$namespace" create secret generic iam-rapidapi --from-file="RAPIDAPI_KEY=$work/rapidapi-key" \
        --dry-run=client -o yaml | k apply -f -
fi

if [ "$server" = jira ] && [ -n "${JIRA_BASE_URL:-}" ] && [ -n "${JIRA_EMAIL:-}" ] && [ -n "${JIRA_API_TOKEN:-}" ]; then
    printf '%s' "$JIRA_BASE_URL" > "$work/jira-base-url"
    printf '%s' "$JIRA_EMAIL" > "$work/jira-email"
    printf '%s' "$JIRA_API_TOKEN" > "$work/jira-api-token"
    k -n "$namespace" create secret generic jira-credentials --from-file="JIRA_BASE_URL=$work/jira-base-url" \
        --from-file="JIRA_EMAIL=$work/jira-email" --from-file="JIRA_API_TOKEN=$work/jira-api-token" \
        --dry-run=client -o yaml | k apply -f -
fi

echo "==> kubectl apply -k deploy/k8s/overlays/local-$server"
k apply -k "$root/deploy/k8s/overlays/local-$server"
# A new key is read only when the pod starts.
k -n "$namespace" rollout restart "deployment/$server"
k -n "$namespace" rollout status "deployment/$server" --timeout="${ROLLOUT_TIMEOUT:-180s}"

echo "==> forwarding 127.0.0.1:$port to service/$server"
nohup kubectl --context "$context" -n "$namespace" port-forward "service/$server" "$port:80" \
    >"$state/port-forward.log" 2>&1 </dev/null &
pid=$!
# Until the port answers, or the port-forward gives up (its log says why).
for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$state/port-forward.log" >&2
        die "kubectl port-forward exited (log above, in $state/port-forward.log)"
    fi
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    die "port $port did not answer within 10 s (see $state/port-forward.log)"
fi
echo "$pid" > "$state/port-forward.pid"
echo "$port" > "$state/port-forward.port"

cat <<EOF

$server is at http://127.0.0.1:$port/mcp (health: http://127.0.0.1:$port/health),
with $key_note as a Bearer token.
port-forward: PID $pid, saved in $state/
Stop: scripts/teardown-local.sh $server
EOF
