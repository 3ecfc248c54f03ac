"""Consistency and policy checks of the deployment files that no schema
expresses, run by scripts/deploy-checks.sh with deploy/tools/.venv's Python.

  check_deploy.py repo                     Dockerfile, .dockerignore, compose,
                                           .env.example, bundle manifests,
                                           client configurations
  check_deploy.py k8s OVERLAY RENDERED     one overlay's rendered manifests
                                           (local-SERVER: one server alone)
  check_deploy.py k8s-monitoring RENDERED  the production overlay rendered with
                                           components/monitoring
  check_deploy.py cloudrun SERVICE         the customer server's Cloud Run
                                           Service (deploy/cloudrun)

Every problem is printed; the exit status is 1 if there was any.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# example name -> (package directory, binary); checked against the Cargo.tomls.
EXAMPLES = {
    "crm": ("crm-example", "crm-mcp"),
    "customer": ("examples/customer", "customer"),
    "iam": ("iam-example", "iam-mcp"),
    "sql": ("sql-jira-example", "sql-mcp"),
    "jira": ("sql-jira-example", "jira-mcp"),
}

# Where an example's tools are defined, when its package holds several
# servers (default: the package's src/).
# Examples with an image (the Dockerfile's BIN), a compose service,
# Kubernetes manifests and client configurations in deploy/clients, but no
# bundle.
IMAGE_ONLY = {
    "agent": ("agent-example", "agent-mcp"),
}

TOOL_SOURCES = {
    "sql": "sql-jira-example/src/sql",
    "jira": "sql-jira-example/src/jira",
}

# What the servers read from the environment (the transport, logging and
# security settings every binary shares, and each example's own).
SERVER_ENV = [
    "MCP_TRANSPORT", "HOST", "PORT", "LOG_FORMAT", "LOG_LEVEL",
    "MCP_ALLOWED_HOSTS", "MCP_ALLOWED_ORIGINS", "CORS_ORIGINS",
    "MCP_API_KEYS", "MCP_API_KEYS_FILE",
    "REDIS_URL", "MCP_RATE_LIMIT", "MCP_RATE_LIMIT_BURST", "MCP_TOOL_RATE_LIMITS",
    "MCP_RATE_LIMIT_PREFIX", "MCP_REQUEST_STATE_SECRET",
    "MCP_OAUTH_ISSUER", "MCP_OAUTH_RESOURCE", "MCP_OAUTH_JWKS_URI", "MCP_OAUTH_SCOPES",
    "MCP_OAUTH_TENANT_CLAIM", "MCP_TENANT_HEADER", "MCP_TRUSTED_PROXIES", "CRM_TENANCY",
    "MCP_SHUTDOWN_GRACE", "MCP_SHUTDOWN_DEADLINE",
    "MCP_PATH", "MCP_LEGACY_SSE", "MCP_SSE_PATH", "MCP_MESSAGES_PATH",
    "MCP_METRICS_PATH", "MCP_METRICS_AUTH", "MCP_DIAGNOSTICS_PATH",
    "MCP_MAX_BODY_BYTES", "MCP_REQUEST_TIMEOUT", "MCP_HEADER_TIMEOUT", "MCP_BODY_TIMEOUT",
    "MCP_MAX_CONCURRENT_REQUESTS", "MCP_SESSION_IDLE_TIMEOUT", "MCP_KEEP_ALIVE",
    "DATABASE_URL", "DB_PATH", "RAPIDAPI_KEY", "RAPIDAPI_HOST", "IAM_DATA_ROOT",
    "SQL_ROW_CAP", "SQL_STATEMENT_TIMEOUT", "IDEMPOTENCY_TTL", "JIRA_IDEMPOTENCY_TTL",
    "JIRA_BASE_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_OFFLINE",
    "AGENT_WORKSPACE", "AGENT_DB",
]

# The servers' shutdown timing (mcp-server's HttpConfig defaults), and the
# least time a stop must leave on top of it: the server's own 2 s to deliver
# the deadline's answers, and the process's exit.
SHUTDOWN_DEFAULTS = {"MCP_SHUTDOWN_GRACE": 5.0, "MCP_SHUTDOWN_DEADLINE": 10.0}
SHUTDOWN_MARGIN = 5.0

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def parse_duration(text):
    """Seconds in `500ms`, `30s`, `2m`, `1h` or plain seconds (the servers'
    syntax), or None."""
    m = re.fullmatch(r"(\d+)\s*(ms|s|m|min|h)?", str(text).strip())
    if not m:
        return None
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    return int(m.group(1)) * scale


def shutdown_time(env, where):
    """Seconds from SIGTERM to the end of the deadline, under `env`."""
    total = 0.0
    for name, default in SHUTDOWN_DEFAULTS.items():
        value = env.get(name, "")
        seconds = parse_duration(value) if str(value).strip() else default
        if seconds is None:
            problem(where, f"{name}={value!r} is not a duration such as 5s or 500ms")
            seconds = default
        total += seconds
    return total


# Variables that give a server an authenticator, without which
# MCP_METRICS_AUTH has no credentials to ask for.
AUTHENTICATORS = ["MCP_API_KEYS", "MCP_API_KEYS_FILE", "MCP_OAUTH_ISSUER"]


def metrics_exposed(env, need_authenticator):
    """Why a server with environment `env` would serve /metrics without
    credentials, or None when it would not. A value of None in `env` is
    set from a reference (a Secret), which counts as set."""
    path = env.get("MCP_METRICS_PATH")
    if path is not None and str(path).strip().lower() in ("", "off"):
        return None
    auth = str(env.get("MCP_METRICS_AUTH", "")).strip().lower()
    if auth not in ("on", "true", "yes", "1"):
        return "MCP_METRICS_AUTH is not true and MCP_METRICS_PATH is not off: /metrics is open to anyone"
    if need_authenticator and not any(
            name in env and (env[name] is None or str(env[name]).strip()) for name in AUTHENTICATORS):
        return (f"MCP_METRICS_AUTH is true but none of {', '.join(AUTHENTICATORS)} is set: "
                "with no credentials to ask for, /metrics is open to anyone")
    return None


# --- The workspace --------------------------------------------------------------


def cargo_packages(examples=None):
    """{binary: package name} of `examples` (default EXAMPLES) and the
    workspace version, from the Cargo.tomls."""
    bins = {}
    for directory, binary in (examples or EXAMPLES).values():
        manifest = tomllib.loads((ROOT / directory / "Cargo.toml").read_text())
        package = manifest["package"]["name"]
        names = [b["name"] for b in manifest.get("bin", [])] or [package]
        if binary not in names:
            problem(f"{directory}/Cargo.toml", f"has no binary `{binary}` (binaries: {names})")
        bins[binary] = package
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return bins, workspace["workspace"]["package"]["version"]


def tool_names(source):
    """The tools defined under a source folder: each #[mcp_tool] function, or its name = "..."."""
    names = set()
    for path in (ROOT / source).rglob("*.rs"):
        text = path.read_text()
        for m in re.finditer(r"#\[mcp_tool(\((?P<args>[^\]]*)\))?\]", text):
            explicit = re.search(r'name\s*=\s*"([^"]+)"', m.group("args") or "")
            function = re.search(r"\bfn\s+(\w+)", text[m.end():])
            if explicit:
                names.add(explicit.group(1))
            elif function:
                names.add(function.group(1))
    return names


def shell_case_map(text, where):
    """BIN) package=... arms of a shell `case`."""
    arms = dict(re.findall(r"^\s*([\w-]+)\)\s*package=([\w-]+)", text, re.M))
    if not arms:
        problem(where, "found no `BIN) package=NAME` arms")
    return arms


# --- Dockerfile and .dockerignore ---------------------------------------------


def check_dockerfile(bins):
    where = "Dockerfile"
    raw = (ROOT / "Dockerfile").read_text()
    arms = shell_case_map(raw, where)
    # Continuation lines joined, so each instruction is one line.
    text = raw.replace("\\\n", " ")
    if arms != bins:
        problem(where, f"BIN -> package arms {arms} differ from the Cargo.tomls {bins}")
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if len(stages) < 2:
        problem(where, "is not multi-stage")
    final = text[text.rfind("\nFROM "):]
    required = {
        "a non-root numeric USER": r"^USER\s+[1-9]\d*(:\d+)?\s*$",
        "EXPOSE 8080": r"^EXPOSE\s+8080\s*$",
        "a HEALTHCHECK": r"^HEALTHCHECK\s.*CMD\s+\[",
        "STOPSIGNAL SIGTERM": r"^STOPSIGNAL\s+SIGTERM\s*$",
        "an exec-form ENTRYPOINT": r"^ENTRYPOINT\s+\[",
        "HOST=0.0.0.0": r"\bHOST=0\.0\.0\.0\b",
        "PORT=8080": r"\bPORT=8080\b",
        "a /data volume": r'^VOLUME\s+\["/data"\]',
        "cache mounts for cargo": r"--mount=type=cache,target=/usr/local/cargo/registry",
        "glibc's large allocations mapped on their own": r"\bGLIBC_TUNABLES=\S*glibc\.malloc\.mmap_threshold=",
    }
    for what, pattern in required.items():
        scope = text if what == "cache mounts for cargo" else final
        if not re.search(pattern, scope, re.M):
            problem(where, f"the runtime stage lacks {what}")
    if "healthcheck.rs" in text and not (ROOT / "deploy/docker/healthcheck.rs").is_file():
        problem(where, "builds deploy/docker/healthcheck.rs, which does not exist")

    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()]
    for entry in [".env", ".git", "/target", "**/node_modules", "**/.venv"]:
        if entry not in ignore:
            problem(".dockerignore", f"does not exclude {entry}")
    if "deploy/*" in ignore and "!deploy/docker" not in ignore:
        problem(".dockerignore", "excludes deploy/docker, which the build needs")


# --- docker-compose.yml and .env.example --------------------------------------


def parse_env_example():
    where = ".env.example"
    defined, mentioned = {}, set()
    for n, line in enumerate((ROOT / ".env.example").read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = re.match(r"#\s*([A-Z][A-Z0-9_]*)=", stripped)
            if m:
                mentioned.add(m.group(1))
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(\S*)", stripped)
        if not m:
            problem(f"{where}:{n}", f"not NAME=value without spaces or quotes: {line!r}")
            continue
        if m.group(1) in defined:
            problem(f"{where}:{n}", f"{m.group(1)} is set twice")
        defined[m.group(1)] = m.group(2)
    # Variables set in the image are documented in the file's prose.
    words = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", (ROOT / ".env.example").read_text()))
    return defined, mentioned | set(defined) | words


def check_compose(bins):
    where = "docker-compose.yml"
    compose = load_yaml(ROOT / where)
    defined, mentioned = parse_env_example()
    for name in SERVER_ENV:
        if name not in mentioned:
            problem(".env.example", f"does not document {name}")
    if defined.get("MCP_API_KEYS") == "":
        problem(".env.example", "sets MCP_API_KEYS to empty, which refuses every request")

    text = (ROOT / where).read_text()
    for m in re.finditer(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)(:?[-?][^}]*)?\}", text):
        name, default = m.group(1), m.group(2)
        if name not in defined and not (default or "").lstrip(":").startswith("-"):
            problem(where, f"${{{name}}} has no default and is not set in .env.example")

    services = compose.get("services", {})
    volumes = compose.get("volumes", {}) or {}
    servers = {name: s for name, s in services.items() if "build" in s}
    for name, service in servers.items():
        here = f"{where}: services.{name}"
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(e.split("=", 1) for e in environment if "=" in e)
        env = {**defined, **environment}
        # The ports are published on BIND_ADDRESS, loopback unless changed,
        # and .env.example tells to set MCP_API_KEYS when it is: the
        # authenticator is the user's to add, the metrics switch is ours.
        exposed = metrics_exposed(env, need_authenticator=False)
        if exposed:
            problem(here, exposed)
        needed = shutdown_time(env, here) + SHUTDOWN_MARGIN
        stop = parse_duration(str(service.get("stop_grace_period", "10s")))
        if stop is None or stop < needed:
            problem(here, f"stop_grace_period {service.get('stop_grace_period', '10s (default)')} "
                    f"is under the server's grace period + deadline + {SHUTDOWN_MARGIN:g} s "
                    f"({needed:g} s): it would be killed while draining")
    built = {s["build"].get("args", {}).get("BIN") for s in servers.values()}
    if built != set(bins):
        problem(where, f"builds {sorted(map(str, built))}, not every server {sorted(bins)}")
    for needed in ["postgres", "redis"]:
        if needed not in services:
            problem(where, f"has no {needed} service")
    for name, service in services.items():
        here = f"{where}: services.{name}"
        if "healthcheck" not in service:
            problem(here, "has no healthcheck")
        for dep, cond in (service.get("depends_on") or {}).items():
            if dep not in services:
                problem(here, f"depends on unknown service {dep}")
            elif cond.get("condition") == "service_healthy" and "healthcheck" not in services[dep]:
                problem(here, f"waits for {dep} to be healthy, which has no healthcheck")
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")) and source not in volumes:
                problem(here, f"mounts undeclared volume {source}")
    for name, service in servers.items():
        here = f"{where}: services.{name}"
        if service.get("env_file") not in (".env", [".env"]):
            problem(here, "does not read env_file .env")
        if service.get("read_only") is not True:
            problem(here, "is not read_only")
        if "ALL" not in (service.get("cap_drop") or []):
            problem(here, "does not drop all capabilities")
        if not any(str(v).split(":", 1)[1:] == ["/data"] for v in service.get("volumes", [])):
            problem(here, "has no volume at /data")
        for port in service.get("ports", []):
            if not str(port).endswith(":8080") or not str(port).startswith("${BIND_ADDRESS"):
                problem(here, f"publishes {port}, not BIND_ADDRESS:port:8080")
        if "redis" not in (service.get("depends_on") or {}):
            problem(here, "does not wait for redis")


# --- MCP bundles ----------------------------------------------------------------


def check_bundles(bins, version):
    for example, (directory, binary) in EXAMPLES.items():
        where = f"deploy/mcpb/{example}/manifest.json"
        manifest = json.loads((ROOT / where).read_text())
        server = manifest.get("server", {})
        config = server.get("mcp_config", {})
        if manifest.get("version") != version:
            problem(where, f"version {manifest.get('version')} is not the workspace's {version}")
        if server.get("type") != "binary":
            problem(where, "server.type is not binary")
        if server.get("entry_point") != f"server/{binary}":
            problem(where, f"entry_point is not server/{binary}")
        if config.get("command") != "${__dirname}/" + f"server/{binary}":
            problem(where, "mcp_config.command is not ${__dirname}/" + f"server/{binary}")
        if config.get("args", [])[:2] != ["--transport", "stdio"]:
            problem(where, "mcp_config.args do not start with --transport stdio")
        options = manifest.get("user_config", {})
        used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config)))
        for name in used - set(options):
            problem(where, f"uses user_config.{name}, which is not defined")
        for name in set(options) - used:
            problem(where, f"defines user_config.{name}, which mcp_config does not use")
        for name, option in options.items():
            if not option.get("required") and "default" not in option and name in used:
                # An unset optional value may reach the server as the literal
                # placeholder; a default keeps it well-defined.
                problem(where, f"optional user_config.{name} has no default")
        listed = {t["name"] for t in manifest.get("tools", [])}
        defined = tool_names(TOOL_SOURCES.get(example, f"{directory}/src"))
        if listed != defined:
            problem(where, f"lists tools {sorted(listed)}, the server defines {sorted(defined)}")
        for key in config.get("env", {}):
            if key not in SERVER_ENV:
                problem(where, f"sets {key}, which the servers do not read")
    script = (ROOT / "scripts/bundle.sh").read_text()
    arms = re.findall(r"^\s*(\w+)\)\s*package=([\w-]+);\s*bin=([\w-]+)", script, re.M)
    if {e: b for e, _, b in arms} != {e: b for e, (_, b) in EXAMPLES.items()} or \
            {b: p for _, p, b in arms} != bins:
        problem("scripts/bundle.sh", f"example -> package, binary arms {arms} differ from {bins}")


# --- Client configurations ------------------------------------------------------


def check_clients():
    pins = set()
    for example, (_, binary) in {**EXAMPLES, **IMAGE_ONLY}.items():
        folder = ROOT / "deploy/clients" / example
        for name in ["claude_desktop_config.json", "claude_desktop_config.remote.json", "cursor.mcp.json"]:
            where = f"deploy/clients/{example}/{name}"
            try:
                servers = json.loads((folder / name).read_text())["mcpServers"]
            except (OSError, ValueError, KeyError) as e:
                problem(where, f"unreadable: {e}")
                continue
            if len(servers) != 1:
                problem(where, "should configure exactly one server")
            for entry in servers.values():
                if name == "claude_desktop_config.json":
                    if not entry.get("command", "").endswith(f"/target/release/{binary}"):
                        problem(where, f"command is not the release binary {binary}")
                    if entry.get("args", [])[:2] != ["--transport", "stdio"]:
                        problem(where, "args do not select stdio")
                    for key in entry.get("env", {}):
                        if key not in SERVER_ENV:
                            problem(where, f"sets {key}, which the servers do not read")
                elif name == "claude_desktop_config.remote.json":
                    args = entry.get("args", [])
                    remote = [a for a in args if a.startswith("mcp-remote@")]
                    pins.update(remote)
                    if entry.get("command") != "npx" or not remote:
                        problem(where, "does not run a pinned mcp-remote through npx")
                    if not any(a.startswith("https://") and a.endswith("/mcp") for a in args):
                        problem(where, "has no https://.../mcp URL")
                    header = args[args.index("--header") + 1] if "--header" in args else ""
                    variables = re.findall(r"\$\{(\w+)\}", header)
                    if not header.startswith("Authorization:") or not variables:
                        problem(where, "has no Authorization header taken from the environment")
                    if re.search(r"\s", header):
                        problem(where, "the header argument has a space, which Windows breaks: put it in env")
                    for variable in variables:
                        if variable not in entry.get("env", {}):
                            problem(where, f"the header uses ${{{variable}}}, which env does not set")
                else:
                    if not (entry.get("url", "").startswith("https://") and entry["url"].endswith("/mcp")):
                        problem(where, "url is not https://.../mcp")
                    if "${env:" not in entry.get("headers", {}).get("Authorization", ""):
                        problem(where, "the Authorization header does not come from ${env:...}")
    if len(pins) > 1:
        problem("deploy/clients", f"pin different mcp-remote versions: {sorted(pins)}")


# --- Rendered Kubernetes manifests ----------------------------------------------

# Secrets the production overlay expects to exist already (created from
# base/secrets.template.yaml or a secret manager), and the TLS certificate.
EXTERNAL_SECRETS = {"mcp-api-keys", "crm-database", "iam-rapidapi", "mcp-tls", "mcp-metrics-scraper",
                    "sql-jira-database", "jira-credentials"}


# The MCP servers of the base (sorted), and those that keep one SQLite file
# on a ReadWriteOnce volume, so run as one replica.
K8S_SERVERS = ["agent", "crm", "customer", "iam", "jira", "sql"]
SINGLE_REPLICA = {"customer", "agent"}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_env(container, configmaps):
    """A container's environment from its ConfigMaps and env; variables
    set from a reference (a Secret, a field) are None."""
    env = {}
    for ref in container.get("envFrom", []):
        cm = configmaps.get(ref.get("configMapRef", {}).get("name"))
        if cm:
            env.update({ref.get("prefix", "") + k: v for k, v in (cm.get("data") or {}).items()})
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value")
    return env


def check_shutdown_timing(where, spec, container, configmaps):
    """The pod's termination grace period, which counts from the start of
    the preStop hook, must cover the hook, the server's grace period and
    deadline, and a margin: else the kubelet kills a draining server."""
    env = container_env(container, configmaps)
    for name in SHUTDOWN_DEFAULTS:
        if name in env and env[name] is None:
            problem(where, f"{name} comes from a reference; the shutdown timing cannot be checked")
            del env[name]
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if pre_stop and "sleep" not in pre_stop:
        problem(where, "has a preStop hook other than sleep, whose duration cannot be checked")
    hook = float(pre_stop.get("sleep", {}).get("seconds", 0))
    drain = shutdown_time(env, where)
    needed = hook + drain + SHUTDOWN_MARGIN
    period = spec.get("terminationGracePeriodSeconds", 30)
    if period < needed:
        problem(where, f"terminationGracePeriodSeconds {period} is under preStop {hook:g} s + the server's "
                f"grace period and deadline {drain:g} s + {SHUTDOWN_MARGIN:g} s margin = {needed:g} s")


# The one-server local overlays (scripts/deploy-local.sh): the API keys
# Secret that the script creates, and the optional RapidAPI key.
# The Secret overlays/replicas adds to production's: one request-state
# secret for every replica.
REPLICAS_SECRETS = {"mcp-request-state"}
# ingress-nginx annotations that pin a client to one endpoint.
AFFINITY_ANNOTATIONS = {"affinity", "affinity-mode", "session-cookie-name", "session-cookie-path",
                        "session-cookie-samesite", "session-cookie-max-age", "upstream-hash-by"}


def check_no_affinity(where, by_kind, servers, configmaps):
    """overlays/replicas: nothing pins a client to a replica, the scalable
    servers run three or more, and every replica shares Redis and the
    request-state secret."""
    for name, svc in by_kind.get("Service", {}).items():
        if svc["spec"].get("sessionAffinity", "None") != "None" or "sessionAffinityConfig" in svc["spec"]:
            problem(where, f"Service/{name} keeps session affinity")
    for name in [n for n in K8S_SERVERS if n not in SINGLE_REPLICA]:
        hpa = by_kind.get("HorizontalPodAutoscaler", {}).get(name)
        if not hpa or hpa["spec"].get("minReplicas", 1) < 3:
            problem(where, f"{name} may run fewer than 3 replicas")
    config = {}
    for cm_name, cm in by_kind.get("ConfigMap", {}).items():
        if cm_name.startswith("mcp-config"):
            config.update(cm.get("data", {}))
    if not config.get("REDIS_URL", "").startswith(("redis://", "rediss://")):
        problem(where, "REDIS_URL is not set in mcp-config: the replicas would share nothing")
    for name in servers:
        container = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container.get("env", [])}
        ref = env.get("MCP_REQUEST_STATE_SECRET", {}).get("valueFrom", {}).get("secretKeyRef", {})
        if ref.get("name") not in REPLICAS_SECRETS:
            problem(where, f"{name} does not read MCP_REQUEST_STATE_SECRET from {sorted(REPLICAS_SECRETS)}")


LOCAL_SCRIPT_SECRETS = {"mcp-local-api-keys", "iam-rapidapi", "jira-credentials"}


def check_k8s(overlay, rendered):
    # overlays/local-SERVER: SERVER alone, in mcp-SERVER, reached through a
    # port-forward (no Ingress), with the script's Secrets.
    single = overlay[len("local-"):] if overlay.startswith("local-") else None
    namespace = f"mcp-{single}" if single else "mcp"
    expected_servers = [single] if single else K8S_SERVERS
    production = overlay in ("production", "replicas")
    external = (EXTERNAL_SECRETS | REPLICAS_SECRETS if overlay == "replicas" else EXTERNAL_SECRETS) if production \
        else LOCAL_SCRIPT_SECRETS if single else set()
    docs = [d for d in yaml.safe_load_all(Path(rendered).read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    where = f"overlays/{overlay}"
    workloads = {**by_kind.get("Deployment", {}), **by_kind.get("StatefulSet", {})}
    templates = {name: w["spec"]["template"] for name, w in workloads.items()}
    secrets = set(by_kind.get("Secret", {}))
    configmaps = set(by_kind.get("ConfigMap", {}))

    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != namespace:
            problem(where, f"{d['kind']}/{d['metadata']['name']} is not in namespace {namespace}")
    if sorted(by_kind.get("Namespace", {})) != [namespace]:
        problem(where, f"creates namespaces {sorted(by_kind.get('Namespace', {}))}, not {namespace}")

    servers = [n for n, w in workloads.items()
               if w["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "mcp-server"]
    if sorted(servers) != expected_servers:
        problem(where, f"MCP server workloads are {sorted(servers)}, not {', '.join(expected_servers)}")

    for name, w in workloads.items():
        here = f"{where}: {w['kind']}/{name}"
        spec = w["spec"]["template"]["spec"]
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            problem(here, "does not set runAsNonRoot")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problem(here, "has no RuntimeDefault seccomp profile")
        if spec.get("automountServiceAccountToken") is not False:
            problem(here, "mounts a service account token")
        for c in spec["containers"] + spec.get("initContainers", []):
            cwhere = f"{here} container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(cwhere, "allows privilege escalation")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(cwhere, "has a writable root filesystem")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problem(cwhere, "does not drop all capabilities")
            resources = c.get("resources", {})
            if not resources.get("requests", {}).get("cpu") or not resources.get("limits", {}).get("memory"):
                problem(cwhere, "lacks a cpu request or a memory limit")
            if ":" not in c["image"].rsplit("/", 1)[-1]:
                problem(cwhere, f"image {c['image']} has no tag (the overlay's images: entry is missing)")
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref and ref["configMapRef"]["name"] not in configmaps:
                    problem(cwhere, f"reads missing ConfigMap {ref['configMapRef']['name']}")
                if "secretRef" in ref and ref["secretRef"]["name"] not in secrets:
                    problem(cwhere, f"reads missing Secret {ref['secretRef']['name']}")
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets and not (
                        ref["name"] in external) and not ref.get("optional"):
                    problem(cwhere, f"reads missing Secret {ref['name']}")
            if name in servers:
                check_shutdown_timing(cwhere, spec, c, by_kind.get("ConfigMap", {}))
                # The Ingress routes every path of a public host here.
                exposed = metrics_exposed(container_env(c, by_kind.get("ConfigMap", {})),
                                          need_authenticator=True)
                if exposed:
                    problem(cwhere, exposed)
                probes = {p: c.get(p, {}).get("httpGet", {}) for p in ["livenessProbe", "readinessProbe"]}
                if probes["livenessProbe"].get("path") != "/health":
                    problem(cwhere, "liveness probe is not GET /health")
                if probes["readinessProbe"].get("path") != "/ready":
                    problem(cwhere, "readiness probe is not GET /ready")
                if [p.get("containerPort") for p in c.get("ports", [])] != [8080]:
                    problem(cwhere, "does not expose exactly port 8080")
        for v in spec.get("volumes", []):
            secret = v.get("secret", {}).get("secretName")
            if secret and secret not in secrets and secret not in external:
                problem(here, f"mounts missing Secret {secret}")

    for name, svc in by_kind.get("Service", {}).items():
        if svc["spec"].get("type") == "ExternalName":
            continue
        selector = svc["spec"].get("selector", {})
        if not any(matches(selector, t["metadata"]["labels"]) for t in templates.values()):
            problem(where, f"Service/{name} selects no pods")
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        if target["name"] not in by_kind.get(target["kind"], {}):
            problem(where, f"HorizontalPodAutoscaler/{name} scales missing {target['kind']}/{target['name']}")
        elif "replicas" in by_kind[target["kind"]][target["name"]]["spec"]:
            problem(where, f"{target['kind']}/{target['name']} sets replicas, which every apply would "
                    "reset under its HorizontalPodAutoscaler")
        elif target["name"] in SINGLE_REPLICA:
            problem(where, f"the {target['name']} server (one SQLite file) must not be scaled out")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        selector = pdb["spec"]["selector"].get("matchLabels", {})
        if not any(matches(selector, t["metadata"]["labels"]) for t in templates.values()):
            problem(where, f"PodDisruptionBudget/{name} selects no pods")
    for name in servers:
        if not any(matches(p["spec"]["selector"].get("matchLabels", {}), templates[name]["metadata"]["labels"])
                   for p in by_kind.get("PodDisruptionBudget", {}).values()):
            problem(where, f"no PodDisruptionBudget covers {name}")
    for name in [n for n in K8S_SERVERS if n not in SINGLE_REPLICA and n in expected_servers]:
        if name not in by_kind.get("HorizontalPodAutoscaler", {}):
            problem(where, f"no HorizontalPodAutoscaler for {name}")

    policies = by_kind.get("NetworkPolicy", {}).values()
    if not any(p["spec"].get("podSelector") == {} and p["spec"].get("policyTypes") == ["Ingress"]
               and not p["spec"].get("ingress") for p in policies):
        problem(where, "no default-deny ingress NetworkPolicy")

    ingresses = by_kind.get("Ingress", {})
    if single:
        if ingresses:
            problem(where, "has an Ingress; scripts/deploy-local.sh reaches the server by port-forward")
        if not any(v.get("secret", {}).get("secretName") == "mcp-local-api-keys"
                   for v in templates.get(single, {}).get("spec", {}).get("volumes", [])):
            problem(where, f"{single} does not read the Secret mcp-local-api-keys that deploy-local.sh creates")
        if "mcp-api-keys" in {re.sub(r"-[a-z0-9]{10}$", "", s) for s in secrets}:
            problem(where, "generates mcp-api-keys, the key in git, besides the script's")
        on_postgres = {"crm", "sql", "jira"}
        if single in on_postgres and "postgres" not in workloads:
            problem(where, f"has no PostgreSQL for {single}")
        if single not in on_postgres and "postgres" in workloads:
            problem(where, "runs PostgreSQL, which only the CRM, sql and jira use")
    elif not ingresses:
        problem(where, "no Ingress")
    services = by_kind.get("Service", {})
    for name, ing in ingresses.items():
        here = f"{where}: Ingress/{name}"
        notes = ing["metadata"].get("annotations", {})
        prefix = "nginx.ingress.kubernetes.io/"
        for key in ["proxy-read-timeout", "proxy-send-timeout"]:
            if int(notes.get(prefix + key, "0")) < 300:
                problem(here, f"{key} is under the servers' 300 s request timeout")
        if notes.get(prefix + "proxy-buffering") != "off":
            problem(here, "proxy buffering is not off (SSE events would be held back)")
        if overlay == "replicas":
            pinning = sorted(k for k in notes if k.startswith(prefix) and k[len(prefix):] in AFFINITY_ANNOTATIONS)
            if pinning:
                problem(here, f"keeps session affinity ({', '.join(pinning)}); this overlay shares sessions through Redis")
        elif notes.get(prefix + "affinity") != "cookie" and not notes.get(prefix + "upstream-hash-by"):
            problem(here, "has no session affinity (cookie or upstream-hash-by)")
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                if not svc:
                    problem(here, f"routes {rule.get('host')} to missing Service {backend['name']}")
                elif backend["port"].get("name") not in [p.get("name") for p in svc["spec"]["ports"]]:
                    problem(here, f"routes to a port Service/{backend['name']} does not have")

    if overlay == "replicas":
        check_no_affinity(where, by_kind, servers, configmaps)
    if production:
        if secrets:
            problem(where, f"generates Secrets {sorted(secrets)}; production Secrets come from outside git")
        if not all(ing["spec"].get("tls") for ing in ingresses.values()):
            problem(where, "Ingress without TLS")


def check_k8s_monitoring(rendered):
    """components/monitoring on top of the production overlay: the overlay's
    own checks, and a ServiceMonitor that scrapes every server's /metrics
    with credentials, a NetworkPolicy that lets the scraper in, and the
    alert rules of deploy/monitoring/prometheus-rules.yaml."""
    check_k8s("production", rendered)
    where = "components/monitoring"
    docs = [d for d in yaml.safe_load_all(Path(rendered).read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    services = {n: s for n, s in by_kind.get("Service", {}).items() if s["spec"].get("type") != "ExternalName"}
    monitors = by_kind.get("ServiceMonitor", {})
    if not monitors:
        problem(where, "has no ServiceMonitor")
    scraped = set()
    for name, monitor in monitors.items():
        here = f"{where}: ServiceMonitor/{name}"
        selector = monitor["spec"].get("selector", {}).get("matchLabels", {})
        selected = {n: s for n, s in services.items() if matches(selector, s["metadata"].get("labels", {}))}
        scraped |= set(selected)
        for endpoint in monitor["spec"].get("endpoints", []):
            if endpoint.get("path", "/metrics") != "/metrics":
                problem(here, f"scrapes {endpoint.get('path')}, not /metrics")
            for svc_name, svc in selected.items():
                if endpoint.get("port") not in [p.get("name") for p in svc["spec"]["ports"]]:
                    problem(here, f"scrapes port {endpoint.get('port')!r}, which Service/{svc_name} lacks")
            # The servers set MCP_METRICS_AUTH=true: no credentials, no metrics.
            secret = endpoint.get("authorization", {}).get("credentials", {}).get("name")
            if endpoint.get("authorization", {}).get("type", "Bearer") != "Bearer" or not secret:
                problem(here, "sends no Bearer credentials, and /metrics needs an API key")
            elif secret not in EXTERNAL_SECRETS:
                problem(here, f"reads Secret {secret}, which base/secrets.template.yaml does not describe")
    if scraped != set(K8S_SERVERS):
        problem(where, f"scrapes Services {sorted(scraped)}, not {', '.join(K8S_SERVERS)}")
    if not any(p["spec"].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
               == "mcp-server" and any(r.get("from") and any(f.get("namespaceSelector") for f in r["from"])
                                       for r in p["spec"].get("ingress", []))
               for n, p in by_kind.get("NetworkPolicy", {}).items() if n != "mcp-servers-ingress"):
        problem(where, "no NetworkPolicy lets Prometheus's namespace reach the servers")
    expected = load_yaml(ROOT / "deploy/monitoring/prometheus-rules.yaml")["groups"]
    rules = by_kind.get("PrometheusRule", {})
    if [r["spec"].get("groups") for r in rules.values()] != [expected]:
        problem(where, "has no PrometheusRule with the groups of deploy/monitoring/prometheus-rules.yaml")



# Cloud Run kills an instance this long after SIGTERM (fixed).
CLOUD_RUN_STOP_SECONDS = 10.0


def check_cloudrun(path):
    """The customer server's Knative Service for Cloud Run: one instance at
    most (one SQLite file), the database on a mounted volume, probes,
    credentials for /metrics, and a shutdown that fits in Cloud Run's 10 s."""
    where = str(Path(path).resolve().relative_to(ROOT)) if Path(path).resolve().is_relative_to(ROOT) else path
    service = load_yaml(path)
    if (service.get("apiVersion"), service.get("kind")) != ("serving.knative.dev/v1", "Service"):
        problem(where, "is not a serving.knative.dev/v1 Service")
        return
    template = service.get("spec", {}).get("template", {})
    notes = template.get("metadata", {}).get("annotations", {})
    spec = template.get("spec", {})
    if str(notes.get("autoscaling.knative.dev/maxScale")) != "1":
        problem(where, "maxScale is not 1: two instances would both write the one SQLite file")
    containers = spec.get("containers", [])
    if len(containers) != 1:
        problem(where, f"has {len(containers)} containers, not one")
        return
    c = containers[0]
    if not re.search(r"/customer:[\w.-]+$", c.get("image", "")):
        problem(where, f"image {c.get('image')} is not a tagged image of the customer server")
    if [p.get("containerPort") for p in c.get("ports", [])] != [8080]:
        problem(where, "does not expose exactly port 8080")
    for probe in ["startupProbe", "livenessProbe"]:
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != "/health" or get.get("port", 8080) != 8080:
            problem(where, f"{probe} is not GET /health on 8080")
    env = {}
    for variable in c.get("env", []):
        env[variable["name"]] = variable.get("value")
        if variable["name"] not in SERVER_ENV:
            problem(where, f"sets {variable['name']}, which the servers do not read")
    if env.get("MCP_API_KEYS"):
        problem(where, "MCP_API_KEYS is a literal value: keep keys in Secret Manager")
    exposed = metrics_exposed(env, need_authenticator=True)
    if exposed:
        problem(where, exposed)
    needed = shutdown_time(env, where) + SHUTDOWN_MARGIN
    if needed > CLOUD_RUN_STOP_SECONDS:
        problem(where, f"MCP_SHUTDOWN_GRACE + MCP_SHUTDOWN_DEADLINE + {SHUTDOWN_MARGIN:g} s = {needed:g} s, "
                f"over the {CLOUD_RUN_STOP_SECONDS:g} s Cloud Run leaves after SIGTERM")
    request_timeout = parse_duration(env.get("MCP_REQUEST_TIMEOUT") or "5m") or 300
    if spec.get("timeoutSeconds", 300) < request_timeout:
        problem(where, f"timeoutSeconds {spec.get('timeoutSeconds', 300)} is under the server's "
                f"request timeout ({request_timeout:g} s)")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    for mount_path, name in mounts.items():
        if name not in volumes:
            problem(where, f"mounts {name} at {mount_path}, which is not a volume")
    for name, volume in volumes.items():
        if "secret" in volume and not all(i.get("key") and i.get("path") for i in volume["secret"].get("items", [{}])):
            problem(where, f"secret volume {name} does not name a version (key) and a file (path)")
    db_path = env.get("DB_PATH", "./data/customers.db")
    if db_path != ":memory:":
        directory = str(Path(db_path).parent)
        volume = volumes.get(mounts.get(directory, ""), {})
        csi = volume.get("csi", {})
        if not volume:
            problem(where, f"DB_PATH {db_path} is not on a mounted volume: the data would go with the instance")
        elif csi.get("driver") == "gcsfuse.run.googleapis.com":
            if not csi.get("volumeAttributes", {}).get("bucketName"):
                problem(where, "the Cloud Storage volume names no bucket")
            if notes.get("run.googleapis.com/execution-environment") != "gen2":
                problem(where, "a Cloud Storage volume needs the gen2 execution environment")
            if csi.get("readOnly"):
                problem(where, "the database volume is read-only")
    for name in ["MCP_API_KEYS_FILE"]:
        value = env.get(name)
        if value and not any(value.startswith(m.rstrip("/") + "/") for m in mounts):
            problem(where, f"{name}={value} is not on a mounted volume")


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "repo":
        bins, version = cargo_packages()
        check_dockerfile(cargo_packages({**EXAMPLES, **IMAGE_ONLY})[0])
        check_compose(cargo_packages({**EXAMPLES, **IMAGE_ONLY})[0])
        check_bundles(bins, version)
        check_clients()
    elif len(sys.argv) == 4 and sys.argv[1] == "k8s":
        check_k8s(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "k8s-monitoring":
        check_k8s_monitoring(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "cloudrun":
        check_cloudrun(sys.argv[2])
    else:
        sys.exit(__doc__)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    if problems:
        print(f"check_deploy: {len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
