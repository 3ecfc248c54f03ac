#!/usr/bin/env bash
# Checks the documentation:
#   1. every ```rust block (any rust,... info string) in README.md and
#      docs/**/*.md is in a file that mcp-server/src/lib.rs compiles as a
#      doctest (`#[cfg(doctest)] #[doc = include_str!(..)] mod x {}`), so
#      no Rust example goes unchecked; and no block lacks a language, since
#      rustdoc would take an unlabeled block for Rust;
#   2. no client configuration in the docs passes a header with a space
#      as an argument (`"--header", "Authorization: Bearer ..."`): Claude
#      Desktop on Windows and Cursor hand it to npx unescaped, so the
#      space goes in `env` (docs/deployment.md, Clients);
#   3. docs/getting-started.md, followed word for word by
#      scripts/getting-started.sh.
# The doctests themselves run in `cargo test --workspace` (or
# `cargo test --doc -p mcp-server`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

echo "--- Rust blocks in the docs are doctests"
python3 - <<'PY'
import glob
import re
import sys

lib = open("mcp-server/src/lib.rs", encoding="utf-8").read()
compiled = set(re.findall(r'#\[cfg\(doctest\)\]\s*#\[doc = include_str!\("\.\./\.\./([^"]+)"\)\]', lib))
files = ["README.md"] + sorted(glob.glob("docs/**/*.md", recursive=True))
problems = []
rust_blocks = 0
for path in files:
    fence = None
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        stripped = line.strip()
        if fence is None:
            match = re.match(r"(`{3,}|~{3,})(.*)$", stripped)
            if not match:
                continue
            fence = match.group(1)
            info = match.group(2).strip()
            language = re.split(r"[,\s]", info)[0] if info else ""
            if not info:
                problems.append(f"{path}:{number}: a code block without a language (rustdoc would compile it as Rust): label it")
            elif language == "rust":
                rust_blocks += 1
                if path not in compiled:
                    problems.append(f"{path}:{number}: a ```{info} block, but {path} is not compiled as a doctest: add it to mcp-server/src/lib.rs")
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            fence = None
    if fence is not None:
        problems.append(f"{path}: a code block is never closed")
for path in sorted(compiled):
    if path not in files:
        print(f"note: {path} is compiled as a doctest but is not under docs/ or README.md")
header_arg = re.compile(r'"--header",\s*"([^"]*)"')
readmes = sorted(glob.glob("*/README.md") + glob.glob("examples/*/README.md"))
for path in files + readmes:
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        for value in header_arg.findall(line):
            if re.search(r"\s", value):
                problems.append(f'{path}:{number}: the header argument "{value}" has a space, which Windows breaks: write "Authorization:${{AUTH_HEADER}}" with the value in env (see docs/deployment.md, Clients)')
for problem in problems:
    print(problem, file=sys.stderr)
print(f"{rust_blocks} Rust blocks in {len(files)} files; doctest files: {', '.join(sorted(compiled))}")
sys.exit(1 if problems else 0)
PY

echo "--- docs/getting-started.md, word for word"
bash scripts/getting-started.sh
