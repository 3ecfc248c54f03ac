"""Checks of the monitoring files that promtool alone does not make, run by
scripts/monitoring-check.sh with deploy/tools/.venv's Python:

  check_monitoring.py check PROMTOOL     the dashboard and the alert rules
  check_monitoring.py write-rule         regenerates the PrometheusRule from
                                         deploy/monitoring/prometheus-rules.yaml
  check_monitoring.py scrape URL         compares a live /metrics with the
                                         names read from mcp-server/src

`check` verifies that every PromQL expression (alert rules, dashboard
panels, dashboard variables) names only series the servers export (read
from the metrics registrations in mcp-server/src) or the few that come from
elsewhere (EXTERNAL), that the dashboard's expressions parse (promtool
check rules on them as recording rules), that the dashboard is importable
(data source as a variable, a `job` variable every query filters on,
unique panel ids), that every alert has a runbook in docs/runbooks.md and a
promtool unit test that fires it, and that the PrometheusRule wraps the
same groups as the rules file. Every problem is printed; the exit status is
1 if there was any.
"""

import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/monitoring/prometheus-rules.yaml"
RULE_TESTS = ROOT / "deploy/monitoring/prometheus-rules.test.yaml"
DASHBOARD = ROOT / "deploy/monitoring/grafana-dashboard.json"
PROMETHEUS_RULE = ROOT / "deploy/k8s/components/monitoring/prometheusrule.yaml"
RUNBOOKS = ROOT / "docs/runbooks.md"

# Series the expressions may use that the servers do not export themselves.
EXTERNAL = {
    "up": "Prometheus, for every scrape target",
    "kube_deployment_status_replicas_unavailable": "kube-state-metrics",
}

PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "le",
}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


# --- What the servers export ----------------------------------------------------


def exported_series():
    """Series names from the metric registrations in mcp-server/src: a
    Registry::with_prefix("P") and register("name", "help", var.clone()),
    with var's type (Counter, Gauge, Histogram) from its `let`."""
    names = set()
    for path in (ROOT / "mcp-server/src").rglob("*.rs"):
        text = path.read_text()
        prefix = re.search(r'Registry::with_prefix\(\s*"(\w+)"\s*\)', text)
        if not prefix:
            continue
        # Helper functions that build a metric: `fn name(..) -> Histogram`.
        makers = {m.group(1): m.group(2) for m in re.finditer(
            r"fn\s+(\w+)\s*\([^)]*\)\s*->\s*(Histogram|Counter|Gauge)\b", text)}
        kinds = {}
        for m in re.finditer(r"let\s+(\w+)\s*(?::\s*([^=]+?))?\s*=\s*([^;]*);", text, re.S):
            init = f"{m.group(2) or ''} {m.group(3)}"
            for kind in ("Histogram", "Counter", "Gauge"):
                if re.search(rf"\b{kind}\b", init):
                    kinds[m.group(1)] = kind
                    break
            else:
                call = re.match(r"\s*(\w+)\s*\(", m.group(3))
                if call and call.group(1) in makers:
                    kinds[m.group(1)] = makers[call.group(1)]
        for m in re.finditer(
                r'\.register\(\s*"(\w+)"\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*(\w+)\.clone\(\)', text, re.S):
            name, var = f"{prefix.group(1)}_{m.group(1)}", m.group(2)
            kind = kinds.get(var)
            if kind == "Counter":
                names.add(name + "_total")
            elif kind == "Histogram":
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
            elif kind == "Gauge":
                names.add(name)
            else:
                problem(str(path.relative_to(ROOT)), f"cannot tell the type of metric {name} ({var})")
    if not names:
        problem("mcp-server/src", "found no metric registrations")
    return names


def scraped_series(text):
    """Series names in a Prometheus text exposition (from its # TYPE lines)."""
    names = set()
    for m in re.finditer(r"^# TYPE (\w+) (\w+)", text, re.M):
        name, kind = m.groups()
        if kind == "counter":
            names.add(name if name.endswith("_total") else name + "_total")
        elif kind == "histogram":
            names.update(name + s for s in ("_bucket", "_sum", "_count"))
        else:
            names.add(name)
    return names


# --- PromQL ---------------------------------------------------------------------


def metric_names(expr):
    """The series names a PromQL expression selects (a lexical reading that
    is enough for the expressions here: strings, label matchers, ranges and
    grouping clauses removed, then every identifier that is not a function
    call or a keyword)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\s*(\()?", text):
        word, call = m.groups()
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d\w*", word):
            continue
        names.add(word)
    return names


def check_names(where, expr, known):
    names = metric_names(expr)
    if not names:
        problem(where, f"selects no series: {expr!r}")
    for name in sorted(names - known):
        problem(where, f"uses {name}, which no server exports: {expr!r}")


def grafana_to_promql(expr):
    """A dashboard expression with Grafana's variables given values."""
    return (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            .replace("$job", ".*").replace("$instance", ".*"))


def promtool_parses(promtool, exprs):
    """promtool check rules on `exprs` (where, expr) as recording rules."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(expr)} for i, (_, expr) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        run = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    if run.returncode != 0:
        names = "".join(f"  dashboard:expr_{i} is {where}\n" for i, (where, _) in enumerate(exprs))
        problem("deploy/monitoring/grafana-dashboard.json",
                f"promtool cannot parse the panel expressions:\n{run.stdout}{run.stderr}{names}")


# --- The dashboard --------------------------------------------------------------


def check_dashboard(known, promtool):
    where = "deploy/monitoring/grafana-dashboard.json"
    try:
        dash = json.loads(DASHBOARD.read_text())
    except ValueError as e:
        problem(where, f"is not JSON: {e}")
        return
    for key in ["title", "uid", "panels", "templating", "schemaVersion"]:
        if key not in dash:
            problem(where, f"has no {key}")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    source = variables.get("datasource", {})
    if source.get("type") != "datasource" or source.get("query") != "prometheus":
        problem(where, "has no `datasource` variable of Prometheus data sources")
    if "job" not in variables:
        problem(where, "has no `job` variable")
    exprs = []
    for name, var in variables.items():
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query)
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query.strip())
        if not m:
            problem(where, f"variable {name}: query {query!r} is not label_values(series, label)")
            continue
        check_names(f"{where}: variable {name}", m.group(1), known)
        exprs.append((f"variable {name}", m.group(1)))
        if var.get("datasource", {}).get("uid") != "${datasource}":
            problem(where, f"variable {name} does not query the data source variable")
    ids = set()
    for panel in dash.get("panels", []):
        for p in [panel] + panel.get("panels", []):
            here = f"{where}: panel {p.get('title')!r}"
            if p.get("id") in ids:
                problem(here, f"reuses id {p.get('id')}")
            ids.add(p.get("id"))
            grid = p.get("gridPos", {})
            if grid.get("x", 0) + grid.get("w", 0) > 24 or not grid.get("h"):
                problem(here, f"gridPos {grid} does not fit the 24-column grid")
            if p.get("type") == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                problem(here, "does not use the data source variable")
            if not p.get("targets"):
                problem(here, "has no query")
            for t in p.get("targets", []):
                expr = t.get("expr", "")
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    problem(here, "a query does not use the data source variable")
                if 'job=~"$job"' not in expr:
                    problem(here, f"a query does not filter on the job variable: {expr!r}")
                check_names(here, expr, known)
                exprs.append((here, expr))
    if exprs and promtool:
        promtool_parses(promtool, exprs)


# --- Alert rules ----------------------------------------------------------------


def anchors(markdown):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to -."""
    found = set()
    for m in re.finditer(r"^#+\s+(.*)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def check_rules(known):
    rules = yaml.safe_load(RULES.read_text())
    tests = yaml.safe_load(RULE_TESTS.read_text())
    runbook_anchors = anchors(RUNBOOKS.read_text()) if RUNBOOKS.is_file() else set()
    fired = {t["alertname"] for group in tests.get("tests", []) for t in group.get("alert_rule_test", [])
             if t.get("exp_alerts")}
    quiet = {t["alertname"] for group in tests.get("tests", []) for t in group.get("alert_rule_test", [])
             if not t.get("exp_alerts")}
    alerts = []
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            where = f"deploy/monitoring/prometheus-rules.yaml: {name}"
            check_names(where, rule.get("expr", ""), known)
            if "alert" not in rule:
                continue
            alerts.append(name)
            notes = rule.get("annotations", {})
            for key in ["summary", "description", "runbook_url"]:
                if not notes.get(key):
                    problem(where, f"has no {key} annotation")
            if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                problem(where, "severity is not warning or critical")
            anchor = notes.get("runbook_url", "").rpartition("/docs/runbooks.md#")[2]
            if anchor not in runbook_anchors:
                problem(where, f"runbook_url {notes.get('runbook_url')!r} is not a heading of docs/runbooks.md")
            if name not in fired:
                problem(where, "no promtool test expects it to fire")
    if len(set(alerts)) != len(alerts):
        problem("deploy/monitoring/prometheus-rules.yaml", "defines an alert name twice")
    for name in (fired | quiet) - set(alerts):
        problem("deploy/monitoring/prometheus-rules.test.yaml", f"tests {name}, which is not an alert")
    return rules


RULE_HEADER = """\
# GENERATED from deploy/monitoring/prometheus-rules.yaml: edit that file, then
#   deploy/tools/.venv/bin/python deploy/tools/check_monitoring.py write-rule
# (scripts/monitoring-check.sh fails while the two differ). Add the label
# your Prometheus selects rules by (the Helm chart's `release: <name>`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: mcp-servers
  labels:
    app.kubernetes.io/name: mcp-servers
spec:
"""


def rule_text():
    """The PrometheusRule: the rules file's groups, comments kept, under spec."""
    text = RULES.read_text()
    body = text[re.search(r"^groups:", text, re.M).start():]
    return RULE_HEADER + "".join(f"  {line}" if line.strip() else line for line in body.splitlines(True))


def check_prometheus_rule(rules):
    where = "deploy/k8s/components/monitoring/prometheusrule.yaml"
    if not PROMETHEUS_RULE.is_file():
        problem(where, "is missing (check_monitoring.py write-rule)")
        return
    wrapped = yaml.safe_load(PROMETHEUS_RULE.read_text())
    if wrapped.get("kind") != "PrometheusRule" or wrapped.get("apiVersion") != "monitoring.coreos.com/v1":
        problem(where, "is not a monitoring.coreos.com/v1 PrometheusRule")
    if wrapped.get("spec", {}).get("groups") != rules.get("groups"):
        problem(where, "its groups differ from deploy/monitoring/prometheus-rules.yaml "
                "(regenerate: check_monitoring.py write-rule)")


def main():
    args = sys.argv[1:]
    if args[:1] == ["check"] and len(args) <= 2:
        known = exported_series() | set(EXTERNAL)
        check_dashboard(known, args[1] if len(args) == 2 else None)
        check_prometheus_rule(check_rules(known))
    elif args == ["write-rule"]:
        PROMETHEUS_RULE.write_text(rule_text())
        print(f"wrote {PROMETHEUS_RULE.relative_to(ROOT)}")
    elif len(args) == 2 and args[0] == "scrape":
        request = urllib.request.Request(args[1])
        with urllib.request.urlopen(request, timeout=10) as response:
            live = scraped_series(response.read().decode())
        source = exported_series()
        for name in sorted(source - live):
            problem(args[1], f"does not export {name}, which mcp-server/src registers")
        for name in sorted(live - source):
            problem(args[1], f"exports {name}, which the registrations read from mcp-server/src miss")
        if not problems:
            print(f"{args[1]}: the {len(live)} series names match mcp-server/src")
    else:
        sys.exit(__doc__)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    if problems:
        print(f"check_monitoring: {len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
