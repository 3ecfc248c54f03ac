#!/usr/bin/env bash
# Checks the monitoring files, offline:
#   - deploy/monitoring/prometheus-rules.yaml with `promtool check rules`,
#     and its unit tests, deploy/monitoring/prometheus-rules.test.yaml, with
#     `promtool test rules` (every alert fires on its series, and stays quiet
#     on the near misses);
#   - deploy/tools/check_monitoring.py: every expression of the rules and of
#     deploy/monitoring/grafana-dashboard.json names only series the servers
#     export (read from mcp-server/src), the dashboard's expressions parse
#     (promtool), the dashboard is importable with the data source and job as
#     variables, every alert has a runbook in docs/runbooks.md, and the
#     PrometheusRule in deploy/k8s/components/monitoring wraps the same rules.
#
# promtool comes from Debian's `prometheus` package, pinned to
# PROMETHEUS_DEB_VERSION and installed with apt-get when it is missing or
# another version (as root, or through sudo); the Python tools from
# deploy/tools/setup.sh. Both installs happen once. The checks themselves
# take a few seconds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Debian 12 (bookworm)'s prometheus; another release has another version:
# set PROMETHEUS_DEB_VERSION to one `apt-cache policy prometheus` lists.
PROMETHEUS_DEB_VERSION="${PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}"

install_promtool() {
    local installed
    installed=$(dpkg-query -W -f='${Status} ${Version}' prometheus 2>/dev/null || true)
    if [ "$installed" = "install ok installed $PROMETHEUS_DEB_VERSION" ] && command -v promtool >/dev/null 2>&1; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || {
        echo "monitoring-check: promtool is needed; install Debian's prometheus package ($PROMETHEUS_DEB_VERSION) or put promtool on PATH" >&2
        exit 1
    }
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "monitoring-check: installing prometheus needs root or sudo" >&2; exit 1; }
        as_root=(sudo)
    fi
    echo "monitoring-check: installing prometheus=$PROMETHEUS_DEB_VERSION (for promtool) with apt-get"
    if ! apt-cache show "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>&1; then
        "${as_root[@]}" apt-get update -qq
    fi
    # The package's service is not started in containers (policy-rc.d); on a
    # machine with systemd it is, and is stopped again right away.
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
        "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
        "${as_root[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
}

install_promtool
bash deploy/tools/setup.sh python
python="$root/deploy/tools/.venv/bin/python"
promtool="$(command -v promtool)"

status=0
echo "--- promtool check rules"
"$promtool" check rules deploy/monitoring/prometheus-rules.yaml || status=1
echo "--- promtool test rules"
(cd deploy/monitoring && "$promtool" test rules prometheus-rules.test.yaml) || status=1
echo "--- dashboard, runbooks, PrometheusRule, series names"
"$python" deploy/tools/check_monitoring.py check "$promtool" || status=1
if [ "$status" -eq 0 ]; then echo "monitoring-check: passed"; else echo "monitoring-check: FAILED" >&2; fi
exit "$status"
