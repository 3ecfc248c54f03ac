#!/usr/bin/env bash
# Import cycles between mcp-server's top-level modules.
#
#   bash scripts/module-cycles.sh [--check] [crate-src-dir]   (default: mcp-server/src)
#
# A file belongs to its top-level module: `src/router/lists.rs` to `router`,
# `src/server.rs` to `server`. Every `crate::<module>` path outside a `//`
# comment is an edge, in `use` lines (grouped `use crate::{a, b::c}` too) and
# in inline paths; `#[cfg(test)] mod tests` is left out, and so is the crate
# root (lib.rs), which only re-exports.
# Prints each strongly connected component of more than one module, largest
# first, or "no cycles". The exit status is 0 either way, unless `--check`
# is given: then it is 1 when a cycle is printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
src="${1:-$root/mcp-server/src}"

# Each file's lines in order: the `crate::` paths, and the start of its
# `#[cfg(test)]` module (what a unit test imports is no layering edge).
grep -rn --include='*.rs' -E 'crate::|^#\[cfg\(test\)\]$|^mod tests' "$src" \
    | python3 -c '
import os, re, sys
src = sys.argv[1]
modules = set()
for name in os.listdir(src):
    path = os.path.join(src, name)
    if name.endswith(".rs") and name != "lib.rs":
        modules.add(name[:-3])
    elif os.path.isdir(path):
        modules.add(name)
# The private facade is mounted as `__private` from private.rs.
if "private" in modules:
    modules.add("__private")
def owner(path):
    rel = os.path.relpath(path, src).split(os.sep)[0]
    return None if rel == "lib.rs" else rel[:-3] if rel.endswith(".rs") else rel
edges = {m: set() for m in modules}
in_tests, previous, cfg_test = set(), None, False
for line in sys.stdin:
    path, _, text = line.rstrip("\n").split(":", 2)
    if path != previous:
        previous, cfg_test = path, False
    if text == "#[cfg(test)]":
        cfg_test = True
        continue
    if text.startswith("mod tests") and cfg_test:
        in_tests.add(path)
    cfg_test = False
    m = owner(path)
    if m is None or path in in_tests:
        continue
    m = "__private" if m == "private" else m
    code = text.split("//", 1)[0]
    for match in re.finditer(r"crate::(\{[^}]*|[a-z_][a-z0-9_]*)", code):
        body = match.group(1)
        targets = re.findall(r"(?:^|[{,])\s*([a-z_][a-z0-9_]*)", body) if body.startswith("{") else [body]
        for t in targets:
            if t in modules and t != m:
                edges[m].add(t)
# Tarjan
index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in sorted(edges.get(v, ())):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        visit(v)
cycles = sorted((c for c in comps if len(c) > 1), key=lambda c: (-len(c), c))
if not cycles:
    print("no cycles")
for c in cycles:
    print(f"{len(c)} modules: " + " ".join(c))
    for v in c:
        inside = sorted(w for w in edges[v] if w in c)
        print(f"  {v} -> " + ", ".join(inside))
sys.exit(1 if cycles and sys.argv[2] == "1" else 0)
' "$src" "$check"
