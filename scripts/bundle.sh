#!/usr/bin/env bash
# Builds an example's release binary and packs it as an MCP Bundle (.mcpb)
# for this machine's platform, with the pinned mcpb tool (deploy/mcpb).
#
# Usage: scripts/bundle.sh crm|customer|iam|sql|jira
#   -> dist/<name>-<version>-<os>-<arch>.mcpb
#
# The bundle is the manifest of deploy/mcpb/<example>/manifest.json (with
# compatibility.platforms set to this platform) and the binary at
# server/<binary>. A binary bundle runs on the platform and CPU it was built
# on: build on macOS for macOS, on Linux for Linux. Before it finishes, the
# script unpacks the bundle again, checks the manifest and the binary's
# mode, and runs the unpacked binary through an MCP initialize over stdio.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

example="${1:-}"
case "$example" in
    crm) package=crm-example; bin=crm-mcp ;;
    customer) package=customer; bin=customer ;;
    iam) package=iam-example; bin=iam-mcp ;;
    sql) package=sql-jira-example; bin=sql-mcp ;;
    jira) package=sql-jira-example; bin=jira-mcp ;;
    *) echo "usage: scripts/bundle.sh crm|customer|iam|sql|jira" >&2; exit 2 ;;
esac

case "$(uname -s)" in
    Linux) platform=linux ;;
    Darwin) platform=darwin ;;
    *) echo "bundle: unsupported build platform $(uname -s) (Linux and macOS are)" >&2; exit 1 ;;
esac
arch="$(uname -m)"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "bundle: \`$1\` is required but was not found on PATH" >&2; exit 1; }
}
need cargo
need python3

bash deploy/tools/setup.sh mcpb
mcpb() { node "$root/deploy/mcpb/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js" "$@"; }

echo "bundle: building $bin (package $package) in release mode"
cargo build --release --locked -p "$package" --bin "$bin"
binary="${CARGO_TARGET_DIR:-$root/target}/release/$bin"
[ -x "$binary" ] || { echo "bundle: $binary was not built" >&2; exit 1; }

stage="$root/dist/mcpb/$example"
rm -rf "$stage"
mkdir -p "$stage/server"
install -m 0755 "$binary" "$stage/server/$bin"
# Symbols are not needed to run it and make up much of its size.
if command -v strip >/dev/null 2>&1; then
    strip "$stage/server/$bin"
else
    echo "bundle: no \`strip\` on PATH; the binary keeps its symbols"
fi
python3 - "$root/deploy/mcpb/$example/manifest.json" "$stage/manifest.json" "$platform" <<'PY'
import json, sys
src, dst, platform = sys.argv[1:]
with open(src) as f:
    manifest = json.load(f)
manifest.setdefault("compatibility", {})["platforms"] = [platform]
with open(dst, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
name=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["name"] + "-" + m["version"])' "$stage/manifest.json")
out="$root/dist/$name-$platform-$arch.mcpb"

mcpb validate "$stage/manifest.json"
rm -f "$out"
mcpb pack "$stage" "$out"

# Unpack with another zip reader and check what a client will see.
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
python3 - "$out" "$check" "$bin" <<'PY'
import json, os, stat, sys, zipfile
bundle, dest, binary = sys.argv[1:]
with zipfile.ZipFile(bundle) as z:
    bad = z.testzip()
    if bad:
        sys.exit(f"bundle: corrupt member {bad}")
    names = sorted(z.namelist())
    if names != sorted(["manifest.json", f"server/{binary}"]):
        sys.exit(f"bundle: unexpected contents {names}")
    mode = z.getinfo(f"server/{binary}").external_attr >> 16
    if not mode & stat.S_IXUSR:
        sys.exit(f"bundle: server/{binary} is not executable in the archive (mode {oct(mode)})")
    z.extractall(dest)
os.chmod(os.path.join(dest, "server", binary), 0o755)
manifest = json.load(open(os.path.join(dest, "manifest.json")))
entry = manifest["server"]["entry_point"]
if entry != f"server/{binary}" or manifest["server"]["mcp_config"]["command"] != "${__dirname}/" + entry:
    sys.exit("bundle: the manifest does not point at the bundled binary")
print(f"bundle: unpacked {len(names)} files: {', '.join(names)}")
PY
mcpb validate "$check/manifest.json"

# Start the unpacked binary the way the manifest says, with the user_config
# values substituted, and ask it to initialize.
python3 - "$check" <<'PY'
import json, os, re, subprocess, sys, tempfile
root = sys.argv[1]
manifest = json.load(open(os.path.join(root, "manifest.json")))
config = manifest["server"]["mcp_config"]
data = tempfile.mkdtemp()
values = {"__dirname": root}
for key, option in manifest.get("user_config", {}).items():
    values[f"user_config.{key}"] = data if option["type"] == "directory" else str(option.get("default", ""))
sub = lambda s: re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], s)
command = [sub(config["command"])] + [sub(a) for a in config.get("args", [])]
env = dict(os.environ, **{k: sub(v) for k, v in config.get("env", {}).items()})
request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bundle-check", "version": "1"}}}
proc = subprocess.run(command, input=json.dumps(request) + "\n", capture_output=True,
                      text=True, env=env, cwd=data, timeout=60)
lines = [l for l in proc.stdout.splitlines() if l.strip()]
try:
    info = json.loads(lines[0])["result"]["serverInfo"]
except (IndexError, KeyError, ValueError):
    sys.exit(f"bundle: the unpacked server did not answer initialize:\n{proc.stdout}\n{proc.stderr}")
print(f"bundle: the unpacked server answered initialize: {info['name']} {info.get('version', '')}")
PY

echo "bundle: $out ($(du -h "$out" | cut -f1))"
