#!/usr/bin/env bash
# Tests scripts/deploy-local.sh and scripts/teardown-local.sh without Docker
# or a cluster: stand-ins for kubectl, docker, kind and minikube
# (tests/deploy-local/stub.py) on PATH record every call, and the stand-in
# `kubectl port-forward` is a real background process listening on the
# port, so the PID and port handling is the real one. Checks the calls in
# order, the saved PID and port, the Secrets' contents, the rejection of bad
# ports, unknown servers, unknown clusters and ports in use, that teardown
# stops the recorded port-forward (and nothing else) and removes the files.
# Run by scripts/deploy-checks.sh; needs bash and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

work=$(mktemp -d)
bystander=""
started=()
cleanup() {
    # Stand-in port-forwards a failed run may have left behind: the PIDs the
    # deploys saved, if they are still this run's stand-ins.
    local p
    for p in "${started[@]}"; do
        if tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qF "$work/bin/kubectl"; then
            kill "$p" 2>/dev/null || true
        fi
    done
    [ -n "$bystander" ] && kill "$bystander" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/home" "$work/data"
# The interpreter itself, not a version manager's shim (pyenv's adds half a
# second to each of the many calls), without site-packages (-S: faster).
py=$(python3 -c 'import sys; print(sys.executable)')
python3() { "$py" "$@"; }
for tool in kubectl docker kind minikube; do
    { echo "#!$py -S"; tail -n +2 "$root/tests/deploy-local/stub.py"; } > "$work/bin/$tool"
    chmod +x "$work/bin/$tool"
done
export PATH="$work/bin:$PATH"
export HOME="$work/home"
export XDG_DATA_HOME="$work/data"
export STUB_LOG="$work/calls.jsonl"
unset MCP_API_KEYS RAPIDAPI_KEY JIRA_BASE_URL JIRA_EMAIL JIRA_API_TOKEN LOCAL_CLUSTER SKIP_BUILD STUB_CONTEXT STUB_PORT_FORWARD_FAIL

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# calls: the recorded calls, one line each: "tool arg arg ...".
calls() {
    python3 -c 'import json,sys; [print(" ".join([c["tool"]] + c["argv"])) for c in map(json.loads, open(sys.argv[1]))]' "$STUB_LOG"
}
# recorded FIELD INDEX: a field of the INDEXth call (0-based) matching PATTERN in argv.
recorded() {
    python3 - "$STUB_LOG" "$@" <<'PY'
import json, sys
log, pattern, field = sys.argv[1], sys.argv[2], sys.argv[3]
for c in map(json.loads, open(log)):
    if pattern in " ".join(c["argv"]):
        value = c.get(field, "")
        print(json.dumps(value) if not isinstance(value, str) else value, end="")
        break
PY
}
# expect_calls EXPECTED...: the recorded calls are exactly these, in order.
expect_calls() {
    local expected actual
    expected=$(printf '%s\n' "$@")
    actual=$(calls)
    if [ "$expected" != "$actual" ]; then
        fail "calls differ:"
        diff <(echo "$expected") <(echo "$actual") >&2 || true
    fi
}
# refused WHY COMMAND...: COMMAND exits with 2, says something, calls nothing.
refused() {
    local why="$1" status=0
    shift
    : > "$STUB_LOG"
    "$@" > "$work/out" 2>&1 || status=$?
    if [ "$status" -ne 2 ]; then
        fail "$why: exit status $status, not 2 ($(tr '\n' ' ' < "$work/out"))"
    elif [ ! -s "$work/out" ]; then
        fail "$why: refused without a message"
    fi
    if grep -q '"docker"\|"apply"\|"delete"' "$STUB_LOG"; then
        fail "$why: built or applied something before refusing: $(calls | tr '\n' ';')"
    fi
}

echo "--- arguments"
for port in 80 1023 70000 65536 abc 99x 0 -1 08080 ""; do
    refused "port '$port'" scripts/deploy-local.sh crm "$port"
done
for server in crmx CRM "" ../crm "crm customer"; do
    refused "server '$server'" scripts/deploy-local.sh "$server" 9999
    refused "teardown of server '$server'" scripts/teardown-local.sh "$server"
done
refused "no arguments" scripts/deploy-local.sh
refused "three arguments" scripts/deploy-local.sh crm 9999 extra
refused "an unknown cluster" env STUB_CONTEXT=gke_prod_europe scripts/deploy-local.sh crm 9999
for port in 1024 65535; do
    # The bounds are accepted (the run stops later, at the cluster check).
    : > "$STUB_LOG"
    out=$(STUB_CONTEXT=gke_prod scripts/deploy-local.sh crm "$port" 2>&1) || true
    grep -q "not a number" <<<"$out" && fail "port $port was refused: $out"
done

echo "--- deploy crm on kind, with a generated key"
: > "$STUB_LOG"
port=$(free_port)
scripts/deploy-local.sh crm "$port" > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "deploy-local.sh crm failed"; }
state="$XDG_DATA_HOME/mcp-crm"
ctx="--context kind-mcp-test"
expect_calls \
    "kubectl config current-context" \
    "docker build --build-arg BIN=crm-mcp -t mcp-crm:dev $root" \
    "kind load docker-image mcp-crm:dev --name mcp-test" \
    "kubectl $ctx create namespace mcp-crm --dry-run=client -o yaml" \
    "kubectl $ctx apply -f -" \
    "kubectl $ctx -n mcp-crm create secret generic mcp-local-api-keys --from-file=api-keys=$(recorded mcp-local-api-keys argv | python3 -c 'import json,sys; print([a for a in json.load(sys.stdin) if a.startswith("--from-file=")][0].split("=",2)[2])') --dry-run=client -o yaml" \
    "kubectl $ctx apply -f -" \
    "kubectl $ctx apply -k $root/deploy/k8s/overlays/local-crm" \
    "kubectl $ctx -n mcp-crm rollout restart deployment/crm" \
    "kubectl $ctx -n mcp-crm rollout status deployment/crm --timeout=180s" \
    "kubectl $ctx -n mcp-crm port-forward service/crm $port:80"
key=$(cat "$state/api-key" 2>/dev/null || true)
[[ "$key" =~ ^[0-9a-f]{64}$ ]] || fail "the generated key '$key' is not 64 hex digits"
[ "$(stat -c %a "$state/api-key" 2>/dev/null || stat -f %Lp "$state/api-key")" = 600 ] || fail "api-key is not mode 600"
secret=$(recorded mcp-local-api-keys files)
[ "$secret" = "{\"api-keys\": \"local:$key\\n\"}" ] || fail "the Secret holds $secret, not local:$key"
python3 -c 'import json,sys; sys.exit(not any("kind: Namespace" in c.get("stdin", "") and "name: mcp-crm" in c["stdin"] for c in map(json.loads, open(sys.argv[1]))))' "$STUB_LOG" ||
    fail "the namespace mcp-crm was not applied"
[ "$(cat "$state/port-forward.port" 2>/dev/null)" = "$port" ] || fail "port-forward.port is not $port"
pid=$(cat "$state/port-forward.pid" 2>/dev/null || echo none)
started+=("$pid")
if ! kill -0 "$pid" 2>/dev/null; then
    fail "the saved PID $pid is not a running process"
elif ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "port-forward service/crm $port:80"; then
    fail "the saved PID $pid is not the port-forward: $(tr '\0' ' ' < "/proc/$pid/cmdline")"
fi
python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$port" ||
    fail "nothing answers on the forwarded port $port"
grep -q "http://127.0.0.1:$port/mcp" "$work/out" || fail "the URL is not printed"

echo "--- a second deploy of crm, and another server on a port in use, are refused"
refused "crm deployed twice" scripts/deploy-local.sh crm "$(free_port)"
refused "a port in use" scripts/deploy-local.sh customer "$port"

echo "--- deploy iam on minikube, keys and RapidAPI key from the environment, state under HOME"
: > "$STUB_LOG"
port2=$(free_port)
(
    unset XDG_DATA_HOME
    STUB_CONTEXT=minikube MCP_API_KEYS='ops:key-one:jobs:read, bot:sha256:abcd' RAPIDAPI_KEY=rapid-123 \
        scripts/deploy-local.sh iam "$port2"
) > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "deploy-local.sh iam failed"; }
made=$(calls)
grep -qx "minikube image load mcp-iam:dev -p minikube" <<<"$made" || fail "the image was not loaded with minikube"
grep -q "^kind " <<<"$made" && fail "kind was called on a minikube context"
grep -qx "docker build --build-arg BIN=iam-mcp -t mcp-iam:dev $root" <<<"$made" || fail "iam-mcp was not built"
[ "$(recorded mcp-local-api-keys files)" = '{"api-keys": "ops:key-one:jobs:read\nbot:sha256:abcd\n"}' ] ||
    fail "MCP_API_KEYS did not become one entry a line: $(recorded mcp-local-api-keys files)"
[ "$(recorded iam-rapidapi files)" = '{"RAPIDAPI_KEY": "rapid-123"}' ] || fail "the iam-rapidapi Secret is not RAPIDAPI_KEY"
grep -qx "kubectl --context minikube apply -k $root/deploy/k8s/overlays/local-iam" <<<"$made" ||
    fail "local-iam was not applied"
home_state="$HOME/.local/share/mcp-iam"
[ -f "$home_state/port-forward.pid" ] && [ "$(cat "$home_state/port-forward.port")" = "$port2" ] ||
    fail "without XDG_DATA_HOME the state is not in ~/.local/share/mcp-iam"
[ -e "$home_state/api-key" ] && fail "an api-key file was written although MCP_API_KEYS gave the keys"

echo "--- a port-forward that fails is reported, and nothing is saved"
: > "$STUB_LOG"
status=0
STUB_PORT_FORWARD_FAIL=1 LOCAL_CLUSTER=docker-desktop STUB_CONTEXT=my-laptop SKIP_BUILD=1 \
    scripts/deploy-local.sh customer "$(free_port)" > "$work/out" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "a failing port-forward: exit status $status, not 2"
made=$(calls)
grep -qx "docker image inspect mcp-customer:dev" <<<"$made" || fail "SKIP_BUILD=1 did not check for the image"
grep -q "^docker build\|^kind \|^minikube " <<<"$made" && fail "docker-desktop with SKIP_BUILD=1 built or loaded: $made"
[ -e "$XDG_DATA_HOME/mcp-customer/port-forward.pid" ] && fail "a PID was saved for a port-forward that exited"
grep -q "unable to forward" "$work/out" || fail "the port-forward's error is not shown: $(cat "$work/out")"

echo "--- teardown crm"
: > "$STUB_LOG"
scripts/teardown-local.sh crm > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "teardown-local.sh crm failed"; }
if [ -n "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" ]; then
    fail "the port-forward $pid still runs after teardown"
fi
expect_calls "kubectl --context kind-mcp-test delete namespace mcp-crm --ignore-not-found"
[ -e "$state" ] && fail "teardown left $state: $(ls -A "$state")"
python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null &&
    fail "port $port still answers after teardown"

echo "--- teardown leaves a process that is not the port-forward alone"
sleep 300 &
bystander=$!
iam_pid=$(cat "$home_state/port-forward.pid")
started+=("$iam_pid")
kill "$iam_pid"
echo "$bystander" > "$home_state/port-forward.pid"
: > "$STUB_LOG"
(unset XDG_DATA_HOME; scripts/teardown-local.sh iam) > "$work/out" 2>&1 || fail "teardown-local.sh iam failed"
# The cluster deployed to, although the current context is another now.
expect_calls "kubectl --context minikube delete namespace mcp-iam --ignore-not-found"
kill -0 "$bystander" 2>/dev/null || fail "teardown killed PID $bystander, which is not a port-forward"
grep -q "leaving it alone" "$work/out" || fail "teardown did not say it left PID $bystander alone"
[ -e "$home_state/port-forward.pid" ] && fail "teardown left the PID file"
kill "$bystander"
bystander=""

echo "--- deploy and tear down sql, jira and agent; jira's credentials Secret only with all three"
for server in sql jira agent; do
    : > "$STUB_LOG"
    p=$(free_port)
    JIRA_BASE_URL=https://example.atlassian.net JIRA_EMAIL=bot@example.com JIRA_API_TOKEN=tok-1 \
        scripts/deploy-local.sh "$server" "$p" > "$work/out" 2>&1 ||
        { cat "$work/out" >&2; fail "deploy-local.sh $server failed"; continue; }
    started+=("$(cat "$XDG_DATA_HOME/mcp-$server/port-forward.pid")")
    made=$(calls)
    grep -qx "docker build --build-arg BIN=$server-mcp -t mcp-$server:dev $root" <<<"$made" ||
        fail "$server-mcp was not built as mcp-$server:dev"
    grep -qx "kubectl --context kind-mcp-test apply -k $root/deploy/k8s/overlays/local-$server" <<<"$made" ||
        fail "local-$server was not applied"
    grep -qx "kubectl --context kind-mcp-test -n mcp-$server port-forward service/$server $p:80" <<<"$made" ||
        fail "service/$server was not forwarded"
    if [ "$server" = jira ]; then
        [ "$(recorded jira-credentials files)" = '{"JIRA_BASE_URL": "https://example.atlassian.net", "JIRA_EMAIL": "bot@example.com", "JIRA_API_TOKEN": "tok-1"}' ] ||
            fail "the jira-credentials Secret is not the three JIRA_* values: $(recorded jira-credentials files)"
    elif grep -q "jira-credentials" <<<"$made"; then
        fail "$server got a jira-credentials Secret"
    fi
    : > "$STUB_LOG"
    scripts/teardown-local.sh "$server" > "$work/out" 2>&1 || fail "teardown-local.sh $server failed"
    expect_calls "kubectl --context kind-mcp-test delete namespace mcp-$server --ignore-not-found"
    [ -e "$XDG_DATA_HOME/mcp-$server" ] && fail "teardown left $XDG_DATA_HOME/mcp-$server"
done
: > "$STUB_LOG"
p=$(free_port)
(unset JIRA_API_TOKEN; JIRA_BASE_URL=https://example.atlassian.net JIRA_EMAIL=bot@example.com \
    scripts/deploy-local.sh jira "$p") > "$work/out" 2>&1 || fail "deploy-local.sh jira without a token failed"
started+=("$(cat "$XDG_DATA_HOME/mcp-jira/port-forward.pid")")
grep -q "jira-credentials" <<<"$(calls)" && fail "a jira-credentials Secret was made without JIRA_API_TOKEN"
scripts/teardown-local.sh jira > "$work/out" 2>&1 || fail "teardown-local.sh jira failed"

echo "--- teardown with nothing deployed: the current context, if it is a local cluster"
rm -rf "$XDG_DATA_HOME/mcp-customer"
: > "$STUB_LOG"
scripts/teardown-local.sh customer > "$work/out" 2>&1 || fail "teardown-local.sh customer failed with nothing deployed"
expect_calls "kubectl config current-context" \
    "kubectl --context kind-mcp-test delete namespace mcp-customer --ignore-not-found"
refused "teardown on a remote context" env STUB_CONTEXT=gke_prod_europe scripts/teardown-local.sh customer

if [ "$failures" -ne 0 ]; then
    echo "deploy-local tests: $failures failure(s)" >&2
    exit 1
fi
echo "deploy-local tests: passed"
