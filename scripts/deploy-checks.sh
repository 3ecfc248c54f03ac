#!/usr/bin/env bash
# Checks every deployment file, offline, with pinned tools:
#   - the Dockerfile with hadolint, and its health-check program against a
#     stub server (200 passes; 503, 404 and no server fail);
#   - docker-compose.yml against the compose-spec schema (shipped inside
#     check-jsonschema), YAML lint on it and on deploy/k8s;
#   - each Kubernetes overlay, rendered by kustomize (the one built into the
#     pinned kubectl), against the Kubernetes JSON schemas of 1.30 and 1.37
#     (shipped inside kubernetes-validate), strictly: unknown fields fail;
#     overlays/replicas (no session affinity, sessions in Redis) must
#     render with no affinity at all;
#     the Secret templates too; the production overlay with the monitoring
#     component (ServiceMonitor, PrometheusRule);
#   - deploy/cloudrun/service.yaml, the customer server on Cloud Run, with
#     check_deploy.py (one instance, the database on a volume, probes,
#     shutdown within Cloud Run's 10 s);
#   - scripts/deploy-local.sh and teardown-local.sh: shellcheck, and
#     tests/deploy-local/run.sh against stand-in kubectl, docker, kind and
#     minikube that record their calls;
#   - each MCP Bundle manifest with `mcpb validate` and against the
#     manifest JSON schema shipped in the same pinned package (no release
#     build needed);
#   - deploy/tools/check_deploy.py: what the schemas cannot say (names that
#     must agree with the Cargo.tomls, security settings, probes, selectors
#     that select something, termination grace periods that cover preStop +
#     MCP_SHUTDOWN_GRACE + MCP_SHUTDOWN_DEADLINE + a margin, /metrics
#     behind credentials (MCP_METRICS_AUTH with an authenticator, or off),
#     documented variables, client configurations).
# Tools install once into git-ignored folders (deploy/tools/setup.sh).
# Every check runs; the script exits non-zero if any failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "deploy-checks: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}
need python3
need node
need rustc

bash deploy/tools/setup.sh python mcpb
venv="$root/deploy/tools/.venv/bin"
mcpb_pkg="$root/deploy/mcpb/node_modules/@anthropic-ai/mcpb"
mcpb() { node "$mcpb_pkg/dist/cli/cli.js" "$@"; }
# Kubernetes releases the manifests are validated against: the oldest with
# the preStop sleep action on by default, and the newest the package has.
k8s_versions=(1.30.0 1.37.0)

work=$(mktemp -d)
stub_pid=""
cleanup() {
    if [ -n "$stub_pid" ] && kill -0 "$stub_pid" 2>/dev/null; then
        kill "$stub_pid" 2>/dev/null || true
        wait "$stub_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
failures=()
# check NAME COMMAND...: runs one check, keeps going when it fails.
check() {
    local name="$1"
    shift
    echo "--- $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAILED: $name" >&2
    fi
}

# --- Dockerfile ------------------------------------------------------------------

check "hadolint Dockerfile" "$venv/hadolint" -c deploy/tools/hadolint.yaml Dockerfile

healthcheck_program() {
    rustc --edition 2024 -C opt-level=s -C panic=abort \
        -o "$work/healthcheck" deploy/docker/healthcheck.rs || return 1
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # A stub server: 200 on /health, 503 on /ready (as while draining), 404 elsewhere.
    python3 - "$port" <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = {"/health": 200, "/ready": 503}.get(self.path, 404)
        self.send_response(code)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
    stub_pid=$!
    for _ in $(seq 1 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
        sleep 0.05
    done
    local ok=0
    PORT="$port" "$work/healthcheck" || { echo "healthcheck: /health (200) did not pass" >&2; ok=1; }
    PORT="$port" "$work/healthcheck" /health || { echo "healthcheck: explicit /health did not pass" >&2; ok=1; }
    if PORT="$port" "$work/healthcheck" /ready 2>/dev/null; then echo "healthcheck: /ready (503) passed" >&2; ok=1; fi
    if PORT="$port" "$work/healthcheck" /missing 2>/dev/null; then echo "healthcheck: a 404 passed" >&2; ok=1; fi
    kill "$stub_pid" && wait "$stub_pid" 2>/dev/null || true
    stub_pid=""
    if PORT="$port" "$work/healthcheck" 2>/dev/null; then echo "healthcheck: passed with no server" >&2; ok=1; fi
    if PORT=not-a-port "$work/healthcheck" 2>/dev/null; then echo "healthcheck: passed with a bad PORT" >&2; ok=1; fi
    return "$ok"
}
check "the image's health-check program (deploy/docker/healthcheck.rs)" healthcheck_program

# --- YAML ------------------------------------------------------------------------

check "yamllint docker-compose.yml deploy/" \
    "$venv/yamllint" --strict -c deploy/tools/yamllint.yaml docker-compose.yml deploy/k8s deploy/tools deploy/monitoring deploy/cloudrun

# --- docker compose --------------------------------------------------------------

check "docker-compose.yml against the compose-spec schema" \
    "$venv/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

# --- Kubernetes ------------------------------------------------------------------

validate_k8s() {
    local file="$1" version status=0
    for version in "${k8s_versions[@]}"; do
        "$venv/kubernetes-validate" --strict --quiet -k "$version" "$file" || status=1
    done
    return "$status"
}
render_and_check() {
    local overlay="$1" out="$work/$1.yaml"
    "$venv/kubectl" kustomize "deploy/k8s/overlays/$overlay" > "$out" || return 1
    echo "$(grep -c '^kind:' "$out") resources rendered"
    validate_k8s "$out" && "$venv/python" deploy/tools/check_deploy.py k8s "$overlay" "$out"
}
for overlay in local production replicas local-crm local-customer local-iam local-sql local-jira local-agent; do
    check "kustomize overlays/$overlay, Kubernetes ${k8s_versions[*]} schemas, policies" render_and_check "$overlay"
done
# overlays/replicas shares sessions through Redis: nothing in its output
# may pin a client to a replica.
no_affinity() {
    local out="$work/replicas.yaml"
    [ -s "$out" ] || "$venv/kubectl" kustomize deploy/k8s/overlays/replicas > "$out" || return 1
    if grep -nE 'sessionAffinity|nginx\.ingress\.kubernetes\.io/(affinity|session-cookie|upstream-hash-by)' "$out"; then
        echo "overlays/replicas: session affinity in the rendered output (above)" >&2
        return 1
    fi
    grep -q 'REDIS_URL: redis://' "$out" || { echo "overlays/replicas: no REDIS_URL in the rendered output" >&2; return 1; }
}
check "overlays/replicas: no session affinity in its output, REDIS_URL set" no_affinity
check "Secret templates against the Kubernetes schemas" validate_k8s deploy/k8s/base/secrets.template.yaml

# The monitoring component as an overlay adds it: the production overlay
# with components/monitoring. The schemas check the NetworkPolicy and the
# rest (the ServiceMonitor and PrometheusRule have none here, hence
# --no-warn); check_deploy.py what they must agree on.
render_monitoring() {
    local dir="$work/monitoring" out="$work/monitoring.yaml" version status=0
    mkdir -p "$dir"
    printf '%s\n' \
        "apiVersion: kustomize.config.k8s.io/v1beta1" \
        "kind: Kustomization" \
        "namespace: mcp" \
        "resources:" \
        "  - $(realpath --relative-to="$dir" deploy/k8s/overlays/production)" \
        "components:" \
        "  - $(realpath --relative-to="$dir" deploy/k8s/components/monitoring)" \
        > "$dir/kustomization.yaml"
    "$venv/kubectl" kustomize "$dir" > "$out" || return 1
    for version in "${k8s_versions[@]}"; do
        "$venv/kubernetes-validate" --strict --quiet --no-warn -k "$version" "$out" || status=1
    done
    [ "$status" -eq 0 ] && "$venv/python" deploy/tools/check_deploy.py k8s-monitoring "$out"
}
check "overlays/production + components/monitoring: ServiceMonitor, PrometheusRule, NetworkPolicy" render_monitoring

# --- Cloud Run --------------------------------------------------------------------

check "deploy/cloudrun/service.yaml (Cloud Run): one instance, volume, probes, shutdown" \
    "$venv/python" deploy/tools/check_deploy.py cloudrun deploy/cloudrun/service.yaml

# --- Local deploy scripts --------------------------------------------------------

check "shellcheck: deploy-local, teardown-local, monitoring-check and their test" \
    "$venv/shellcheck" -x scripts/deploy-local.sh scripts/teardown-local.sh scripts/lib/local-k8s.sh \
    scripts/monitoring-check.sh tests/deploy-local/run.sh
check "deploy-local.sh and teardown-local.sh with stand-in kubectl, docker, kind, minikube" \
    bash tests/deploy-local/run.sh

# --- MCP Bundles -----------------------------------------------------------------

validate_manifest() {
    local manifest="$1" version
    version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest_version"])' "$manifest") || return 1
    mcpb validate "$manifest" &&
        "$venv/check-jsonschema" --schemafile "$mcpb_pkg/schemas/mcpb-manifest-v$version.schema.json" "$manifest"
}
for manifest in deploy/mcpb/*/manifest.json; do
    check "$manifest (mcpb validate, manifest schema)" validate_manifest "$manifest"
done

# --- Consistency -----------------------------------------------------------------

check "consistency: Dockerfile, compose, .env.example, bundles, clients" \
    "$venv/python" deploy/tools/check_deploy.py repo

echo
if [ "$failed" -ne 0 ]; then
    printf 'failed: %s\n' "${failures[@]}" >&2
fi
echo "deploy-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
