# shellcheck shell=bash
# Shared by scripts/deploy-local.sh and scripts/teardown-local.sh (sourced,
# not run): the servers they know, argument checks and the state directory.

# (bash 3.2, as on macOS, is enough: no associative arrays.)

die() {
    echo "${0##*/}: $*" >&2
    exit 2
}

# server_bin SERVER: the server's binary (the Dockerfile's BIN), or a
# failure for a server this does not know.
server_bin() {
    case "${1:-}" in
        crm) echo crm-mcp ;;
        customer) echo customer ;;
        iam) echo iam-mcp ;;
        sql) echo sql-mcp ;;
        jira) echo jira-mcp ;;
        agent) echo agent-mcp ;;
        *) die "unknown server '${1:-}': use one of crm, customer, iam, sql, jira, agent" ;;
    esac
}

# check_port PORT: a decimal number from 1024 to 65535 (no root needed to
# listen on it).
check_port() {
    local port="$1"
    [[ "$port" =~ ^[1-9][0-9]{3,4}$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] ||
        die "port '${port}' is not a number from 1024 to 65535"
}

# state_dir SERVER: where the port-forward's PID, port and log, and the
# generated API key, are kept.
state_dir() {
    echo "${XDG_DATA_HOME:-$HOME/.local/share}/mcp-$1"
}

# local_cluster CONTEXT: what local cluster the kubectl context CONTEXT is
# (kind, minikube or docker-desktop), from LOCAL_CLUSTER if set; fails for
# any other, so a remote cluster is never changed by mistake.
local_cluster() {
    if [ -n "${LOCAL_CLUSTER:-}" ]; then
        echo "$LOCAL_CLUSTER"
        return 0
    fi
    case "$1" in
        kind-*) echo kind ;;
        minikube) echo minikube ;;
        docker-desktop | docker-for-desktop) echo docker-desktop ;;
        *)
            if command -v minikube >/dev/null 2>&1 && minikube profile list -o json 2>/dev/null | grep -q "\"Name\":\"$1\""; then
                echo minikube
            else
                return 1
            fi
            ;;
    esac
}

# command_line PID: the process's command line, or nothing if it is gone
# (or a zombie, whose command line is empty).
command_line() {
    if [ -r "/proc/$1/cmdline" ]; then
        tr '\0' ' ' < "/proc/$1/cmdline"
    else
        ps -o args= -p "$1" 2>/dev/null || true
    fi
}

# is_port_forward PID SERVER: PID is alive and is `kubectl ... port-forward`
# of SERVER's Service, so a recycled PID is never killed.
is_port_forward() {
    local pid="$1" server="$2" args
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    args=$(command_line "$pid")
    [[ "$args" == *kubectl* && "$args" == *" port-forward "* && "$args" == *"service/$server "* ]]
}
