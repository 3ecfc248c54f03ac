"""Follows docs/getting-started.md word for word (run by scripts/getting-started.sh).

Every fenced block of the guide is preceded by a comment that says what CI
does with it, and a block without one fails the run:

    <!-- ci: clone (why) -->      `git clone <the workspace's repository>`: CI has
                                  the checkout under test, so it links it under
                                  the name the clone would have
    <!-- ci: run -->              run with bash in the current directory (a `cd`
                                  carries over to the next block); its stdout is
                                  kept for the next `expect`
    <!-- ci: file PATH -->        write the block to PATH
    <!-- ci: expect -->           every line of the block must appear in a line
                                  of the last `run` block's stdout
    <!-- ci: background (why) --> start it, wait for /health on its --port, stop
                                  it at the end
    <!-- ci: claude-desktop -->   the Claude Desktop configuration: start each
                                  server exactly as configured (command, args,
                                  env) and call its tools with the official MCP
                                  Python SDK
    <!-- ci: skip (why) -->       not run; the reason is required

What differs from a reader's run, and why:
  - the clone (above);
  - port 3001 becomes a free port: other servers may hold 3001 on a shared
    machine;
  - the new crate's `target/` is a link to target/getting-started in the
    checkout, so that a second run does not rebuild every dependency;
  - `/absolute/path/to/` in the Claude Desktop configuration is the
    directory the guide's commands ran in.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request

MARKER = re.compile(r"^<!-- ci: ([a-z-]+)(?: (.*?))? -->$")
PLACEHOLDER = "/absolute/path/to/"
GUIDE_PORT = "3001"
STEP_TIMEOUT = 40 * 60  # a cold build of every dependency on two cores


class Drift(Exception):
    """The guide and what it describes disagree."""


class Block:
    def __init__(self, kind, argument, info, body, line):
        self.kind = kind
        self.argument = argument
        self.info = info
        self.body = body
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.kind}{' ' + self.argument if self.argument else ''}"


def parse(path):
    """The guide's fenced blocks, each with its marker."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    marker = None
    i = 0
    while i < len(lines):
        line = lines[i]
        found = MARKER.match(line.strip())
        if found:
            if marker:
                raise Drift(f"line {i + 1}: two ci markers in a row")
            marker = (found.group(1), (found.group(2) or "").strip(), i + 1)
        elif line.startswith("```"):
            info = line[3:].strip()
            end = i + 1
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            if end == len(lines):
                raise Drift(f"line {i + 1}: the code block is never closed")
            if not marker:
                raise Drift(
                    f"line {i + 1}: a code block without a `<!-- ci: ... -->` marker; "
                    "say what CI does with it (run, file PATH, expect, skip (why), ...)"
                )
            kind, argument, _ = marker
            blocks.append(Block(kind, argument, info, "\n".join(lines[i + 1 : end]) + "\n", i + 1))
            marker = None
            i = end
        elif line.strip() and marker:
            raise Drift(f"line {marker[2]}: the ci marker must directly precede a code block")
        i += 1
    if marker:
        raise Drift(f"line {marker[2]}: a ci marker with no code block after it")
    return blocks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def repository_url(root):
    with open(os.path.join(root, "Cargo.toml"), "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["repository"]


class Run:
    def __init__(self, root, workdir, target_cache):
        self.root = root
        self.workdir = workdir
        self.cwd = workdir
        self.target_cache = target_cache
        self.port = free_port()
        self.stdout = None
        self.background = []
        self.env = dict(os.environ)
        # The guide's commands build in the crate's own target/ (a link, below).
        self.env.pop("CARGO_TARGET_DIR", None)

    def ports(self, text):
        return re.sub(rf"\b{GUIDE_PORT}\b", self.port, text)

    def link_target(self):
        """Keeps the new crate's target/ between runs."""
        if os.path.exists(os.path.join(self.cwd, "Cargo.toml")) and not os.path.lexists(
            os.path.join(self.cwd, "target")
        ):
            os.makedirs(self.target_cache, exist_ok=True)
            os.symlink(self.target_cache, os.path.join(self.cwd, "target"))

    def clone(self, block):
        expected = f"git clone {repository_url(self.root)}"
        if block.body.strip() != expected:
            raise Drift(f"the clone command should be `{expected}`, the guide says `{block.body.strip()}`")
        name = expected.rsplit("/", 1)[1]
        os.symlink(self.root, os.path.join(self.cwd, name))

    def run(self, block):
        self.link_target()
        cwd_file = os.path.join(self.workdir, ".cwd")
        script = self.ports(block.body) + f'\npwd > "{cwd_file}"\n'
        print(f"$ {self.ports(block.body).strip()}", flush=True)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=STEP_TIMEOUT,
            text=True,
        )
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            raise Drift(f"the commands exited with {done.returncode}")
        self.stdout = done.stdout
        self.cwd = open(cwd_file, encoding="utf-8").read().strip()
        self.link_target()

    def file(self, block):
        if not block.argument:
            raise Drift("`file` needs a path")
        path = os.path.join(self.cwd, block.argument)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(block.body)
        print(f"wrote {os.path.relpath(path, self.workdir)}")

    def expect(self, block):
        if self.stdout is None:
            raise Drift("`expect` needs a `run` block before it")
        seen = self.stdout.splitlines()
        for wanted in filter(None, (line.strip() for line in block.body.splitlines())):
            if not any(wanted in line for line in seen):
                raise Drift(f"the output has no line with\n  {wanted}\nit was:\n{self.stdout}")
        print("the output matches")

    def start_background(self, block):
        self.link_target()
        command = self.ports(block.body)
        port = re.search(r"--port (\d+)", command)
        if not port:
            raise Drift("a background server needs `--port N`, to know where to wait for it")
        print(f"$ {command.strip()} &", flush=True)
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", "exec " + command.strip()],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.background.append(process)
        url = f"http://127.0.0.1:{port.group(1)}/health"
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                raise Drift(f"the server exited ({process.returncode}):\n{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        print(f"{url} answers 200")
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise Drift(f"{url} did not answer")

    def stop_background(self):
        for process in self.background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def claude_desktop(self, block):
        config = json.loads(block.body)
        servers = config.get("mcpServers")
        if not servers:
            raise Drift("the configuration has no `mcpServers`")
        for name, server in servers.items():
            command = server["command"]
            if not command.startswith(PLACEHOLDER):
                raise Drift(f"`{name}`: the command should start with {PLACEHOLDER}, the guide's placeholder")
            command = os.path.join(self.workdir, command[len(PLACEHOLDER) :])
            if not os.access(command, os.X_OK):
                raise Drift(f"`{name}`: {command} is not an executable the guide built")
            asyncio.run(call_tools(name, command, server.get("args", []), server.get("env")))


async def call_tools(name, command, args, env):
    """The official Python SDK starts the server as Claude Desktop would and calls its tools."""
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters

    def text(result):
        assert not result.is_error, result
        return next(c.text for c in result.content if c.type == "text")

    for mode, version in (("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")):
        params = StdioServerParameters(command=command, args=args, env=env)
        async with Client(params, mode=mode) as client:
            assert client.protocol_version == version, client.protocol_version
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert sorted(tools) == ["add", "greet"], sorted(tools)
            assert tools["add"].description == "Add two integers.", tools["add"]
            assert tools["greet"].input_schema["required"] == ["name"], tools["greet"].input_schema
            assert tools["add"].annotations.read_only_hint is True, tools["add"]
            assert text(await client.call_tool("add", {"a": 2, "b": 3})) == "5"
            assert text(await client.call_tool("greet", {"name": "Ada"})) == "Hello, Ada!"
            assert text(await client.call_tool("greet", {"name": "Ada", "greeting": "Howdy"})) == "Howdy, Ada!"
        print(f"python sdk, mode='{mode}': `{name}` lists add and greet, and both answer")


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    guide = os.path.join(root, "docs", "getting-started.md")
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
    target_cache = os.path.join(target, "getting-started")
    passed = 0
    try:
        blocks = parse(guide)
    except Drift as e:
        print(f"docs/getting-started.md: {e}", file=sys.stderr)
        print("getting-started: 0 passed, 1 failed")
        return 1
    workdir = tempfile.mkdtemp(prefix="getting-started-")
    run = Run(root, workdir, target_cache)
    handlers = {
        "clone": run.clone,
        "run": run.run,
        "file": run.file,
        "expect": run.expect,
        "background": run.start_background,
        "claude-desktop": run.claude_desktop,
    }
    failed = None
    try:
        for block in blocks:
            print(f"\n--- docs/getting-started.md {block}", flush=True)
            if block.kind == "skip":
                if not block.argument:
                    failed = (block, Drift("`skip` needs a reason"))
                    break
                print(f"not run: {block.argument}")
                continue
            handler = handlers.get(block.kind)
            try:
                if handler is None:
                    raise Drift(f"unknown ci marker `{block.kind}`")
                handler(block)
                passed += 1
            except Exception as e:  # noqa: BLE001 - any failure is the guide's
                failed = (block, e)
                break
    finally:
        run.stop_background()
    if failed:
        block, error = failed
        print(f"\nFAILED: docs/getting-started.md {block}: {error!r}", file=sys.stderr)
        print(f"the directory is kept for a look: {workdir}", file=sys.stderr)
        print(f"getting-started: {passed} passed, 1 failed")
        return 1
    for entry in os.listdir(workdir):
        path = os.path.join(workdir, entry)
        if os.path.islink(path):
            os.unlink(path)
    shutil.rmtree(workdir)
    print(f"\ngetting-started: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
