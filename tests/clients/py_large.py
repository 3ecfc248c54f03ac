"""The official MCP Python SDK client pipelining large messages to the hello
server: over stdio and over Streamable HTTP, each with the 2025-11-25
handshake (mode='legacy') and the stateless 2026-07-28 revision pinned. Two
checks each, on a connection of its own:

- 32 `greet` calls at once (asyncio.gather; names of 1 byte to 3 MiB, about
  31 MiB in all), full of characters JSON escapes and of multi-byte UTF-8,
  packed around every 4 KiB and 64 KiB offset: each answer must be exactly
  `Hello, {name}!` (length, sha256 and the first differing byte are shown
  otherwise), and the transport must deliver exactly one response to each
  call; then two large `word_stats` texts, counted as Rust counts.
- A call over the 4 MiB limit (a 5 MiB name) must be refused cleanly: over
  HTTP with the 413 and its JSON-RPC error, over stdio with the parse error
  of id null (which the SDK cannot tie to the call, so the call is
  abandoned once that error arrives); then the same connection (the same
  session) must answer small and large calls alike.

Needs HELLO_BIN (stdio) and HELLO_URL (an HTTP server already running).
"""

import asyncio
import hashlib
import json
import os
import random
import re
import sys
import time
from collections import Counter

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse

from checks import check, finish, text

BIN = os.environ.get("HELLO_BIN")
BASE = os.environ.get("HELLO_URL")
if not BIN or not BASE:
    print("usage: HELLO_BIN=path/to/hello HELLO_URL=http://127.0.0.1:PORT python py_large.py", file=sys.stderr)
    sys.exit(2)
MCP_URL = BASE.rstrip("/") + "/mcp"

KIB = 1024
MIB = 1024 * KIB
LIMIT = 4 * MIB  # the server's default request body (HTTP) and message (stdio) limit
TIMEOUT = 45.0  # bounds every request, so a lost answer fails rather than hangs

# What JSON must escape (quote, backslash, every control character), what a
# careless encoder might (slash, U+2028/9, DEL), and UTF-8 of 2, 3 and 4 bytes.
SPECIALS = [
    s.encode()
    for s in [
        '"', "\\", "\n", "\t", "\r", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f", "/",
        "é", "ß", "\x85", "\xa0", "漢", "€", "\u2028", "\u2029", "\ufeff", "😀", "𝄞", "🇫🇷",
    ]
]
FILLER = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_"
TO_FILLER = bytes(FILLER[b % len(FILLER)] for b in range(256))


def make_name(size, seed):
    """A name of exactly `size` UTF-8 bytes: random ASCII with special
    characters packed into windows around every 4 KiB offset (wider around
    every 64 KiB one), shifted a little by `seed` so that across the names
    they straddle the boundaries at many alignments, one every few hundred
    bytes elsewhere, and one at the very start and end."""
    rnd = random.Random(seed)
    buf = bytearray(rnd.randbytes(size).translate(TO_FILLER))
    shift = seed % 53

    def near(q, step, half):
        return q % step < half or q % step >= step - half

    def in_window(pos):
        return near(pos + shift, 64 * KIB, 256) or near(pos + shift, 4 * KIB, 24)

    def next_window(pos):
        q = pos + shift
        return min(q + (4 * KIB - 24 - q) % (4 * KIB), q + (64 * KIB - 256 - q) % (64 * KIB)) - shift

    pos = 0
    sprinkle = 0
    while pos < size:
        if pos == 0 or pos == sprinkle or pos >= size - 4 or in_window(pos):
            special = rnd.choice(SPECIALS)
            if pos + len(special) > size:
                special = rnd.choice(SPECIALS[:2])  # near the end, one that fits: a quote or a backslash
            buf[pos : pos + len(special)] = special
            pos += len(special)
            if pos > sprinkle:
                sprinkle = pos + 100 + rnd.randrange(400)
        else:
            pos = min(next_window(pos), sprinkle, size - 4)
    name = buf.decode()
    assert len(name.encode()) == size
    return name


# 32 names, 1 byte to 3 MiB: around the 4 KiB, 8 KiB, 64 KiB and 1 MiB
# marks, and most of the bytes in names of 1 to 3 MiB. About 31 MiB.
SIZES = [
    1, 2, 3, 4, 5, 17, 4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537, 131077,
    262144, 500_000, MIB - 1, MIB, MIB + 1, 3 * MIB // 2, 2 * MIB, 2 * MIB + 3, 5 * MIB // 2,
    11 * MIB // 4, 29 * MIB // 10, 3 * MIB - 7, 3 * MIB, 3 * MIB, 5 * MIB // 4, 3 * MIB,
]
STARTED = time.monotonic()
NAMES = [make_name(size, 2000 + i) for i, size in enumerate(SIZES)]
for _name in NAMES:
    # The whole request (envelope included) stays well under the limit.
    assert len(json.dumps(_name, ensure_ascii=False).encode()) < LIMIT - 64 * KIB
print(f"# {len(NAMES)} names, {sum(SIZES) / MIB:.1f} MiB, made in {time.monotonic() - STARTED:.1f} s")


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def assert_same(got, want, label):
    """Fails unless `got` is `want`, saying where they part."""
    if got == want:
        return
    g, w = got.encode(), want.encode()
    at = 0
    n = min(len(g), len(w))
    while at < n and g[at] == w[at]:
        at += 1
    raise AssertionError(
        f"{label}: answer differs from byte {at}: got {len(g)} bytes (sha256 {sha256(got)}), "
        f"want {len(w)} (sha256 {sha256(want)}); got {g[max(0, at - 16) : at + 32]!r}, "
        f"want {w[max(0, at - 16) : at + 32]!r}"
    )


# Rust's `char::is_whitespace` (Unicode White_Space), not Python's
# `str.split()`: U+001C..U+001F are not whitespace to Rust.
WORD = re.compile("[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def word_stats(s):
    """What `word_stats` answers, counted as Rust counts: `split_whitespace`, `chars`, `lines`."""
    lines = s.count("\n") + (1 if s and not s.endswith("\n") else 0)
    return {"words": sum(1 for _ in WORD.finditer(s)), "characters": len(s), "lines": lines}


def make_text(size, seed):
    """Words split by every kind of Unicode whitespace, and by characters that only look like it."""
    rnd = random.Random(seed)
    gaps = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "\x0b", "\x0c", "\r", "\x85", "\xa0", "\u1680", "\u2003",
            "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
    glue = ["\u200b", "\ufeff", "\u180e", "\x1c", "\x1f", '"', "\\", "\x01"]
    letters = ["a", "b", "z", "é", "漢", "😀", "𝄞", "x", "y"]
    pool = gaps * 4 + glue * 3 + letters * 24  # about a quarter gaps, a few percent glue
    return "".join(rnd.choices(pool, k=size // 2))


TEXTS = [make_text(3 * MIB // 2, 7), make_text(2 * MIB, 8) + "\n"]


class Tee:
    """A transport around another that watches the messages it carries: the
    ids of the `tools/call` requests it sends, and how many responses it
    delivers for each id. The SDK resolves each call by its id, so a lost
    answer hangs (until TIMEOUT), and a duplicate or an error of id null is
    dropped with only a debug log line: this is where they show."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = set()
        self.responses = Counter()
        self.null_errors = []
        self.null_error = asyncio.Event()

    async def __aenter__(self):
        read, write = await self.inner.__aenter__()
        return _TeeRead(read, self), _TeeWrite(write, self)

    async def __aexit__(self, *exc):
        return await self.inner.__aexit__(*exc)

    def sent(self, item):
        if isinstance(item.message, JSONRPCRequest) and item.message.method == "tools/call":
            self.calls.add(item.message.id)

    def seen(self, item):
        if isinstance(item, SessionMessage) and isinstance(item.message, JSONRPCResponse | JSONRPCError):
            if item.message.id is None:
                self.null_errors.append(item.message.error)
                self.null_error.set()
            else:
                self.responses[item.message.id] += 1

    def check(self, expected):
        """Exactly one response to each of the `expected` calls sent since the last check, and no duplicates at all."""
        dupes = {k: n for k, n in self.responses.items() if n != 1}
        assert not dupes, f"responses delivered more than once: {dupes}"
        assert len(self.calls) == expected, f"{len(self.calls)} tools/call requests sent, not {expected}"
        unanswered = [i for i in self.calls if self.responses[i] != 1]
        assert not unanswered, f"calls without exactly one response: {unanswered}"
        self.calls.clear()


class _TeeWrite:
    def __init__(self, inner, tee):
        self._inner = inner
        self._tee = tee

    async def send(self, item):
        self._tee.sent(item)
        await self._inner.send(item)

    async def aclose(self):
        await self._inner.aclose()

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self._inner.__aexit__(*exc)


class _TeeRead:
    def __init__(self, inner, tee):
        self._inner = inner
        self._tee = tee

    @property
    def last_context(self):
        return getattr(self._inner, "last_context", None)

    async def receive(self):
        item = await self._inner.receive()
        self._tee.seen(item)
        return item

    async def aclose(self):
        await self._inner.aclose()

    def __aiter__(self):
        return self

    async def __anext__(self):
        item = await self._inner.__anext__()
        self._tee.seen(item)
        return item

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self._inner.__aexit__(*exc)


async def greet(client, name, greeting=None):
    args = {"name": name} if greeting is None else {"name": name, "greeting": greeting}
    return await client.call_tool("greet", args, read_timeout_seconds=TIMEOUT)


async def pipelined(client, tee, label):
    """32 large greets at once, then two large word_stats: byte-exact, one answer each."""
    t = time.monotonic()
    # All at once, in a shuffled order.
    order = sorted(range(len(NAMES)), key=lambda i: (i * 7919) % 32)
    results = await asyncio.gather(*(greet(client, NAMES[i]) for i in order))
    for i, result in zip(order, results):
        assert not result.is_error, f"greet #{i} ({SIZES[i]} bytes): {str(result)[:200]}"
        assert_same(text(result), f"Hello, {NAMES[i]}!", f"greet #{i} ({SIZES[i]} bytes)")
    tee.check(len(NAMES))
    greet_s = time.monotonic() - t

    t = time.monotonic()
    stats = await asyncio.gather(
        *(client.call_tool("word_stats", {"text": s}, read_timeout_seconds=TIMEOUT) for s in TEXTS)
    )
    for i, result in enumerate(stats):
        want = word_stats(TEXTS[i])
        assert json.loads(text(result)) == want, (i, text(result), want)
        assert result.structured_content == want, (i, result.structured_content, want)
    tee.check(len(TEXTS))
    assert not tee.null_errors, tee.null_errors
    print(f"#   {label}: {len(NAMES)} greets {greet_s:.1f} s, word_stats {time.monotonic() - t:.1f} s")


async def over_limit(client, tee, refused, label):
    """A few large calls, one over the limit, then small and large calls on the same connection."""
    some = [NAMES[21], NAMES[4], NAMES[28]]
    before = await asyncio.gather(*(greet(client, name) for name in some))
    for i, (name, result) in enumerate(zip(some, before)):
        assert_same(text(result), f"Hello, {name}!", f"large greet #{i} before")
    tee.check(len(some))

    t = time.monotonic()
    await refused(client, tee, "x" * (5 * MIB))
    over_s = time.monotonic() - t
    tee.calls.clear()  # the over-limit call: over stdio, the server cannot answer it

    assert_same(text(await greet(client, "Ada")), "Hello, Ada!", "small greet after the over-limit call")
    after = await asyncio.gather(*(greet(client, name, "Again") for name in some))
    for i, (name, result) in enumerate(zip(some, after)):
        assert_same(text(result), f"Again, {name}!", f"large greet #{i} after the over-limit call")
    tee.check(1 + len(some))
    assert not tee.null_errors, tee.null_errors
    print(f"#   {label}: refused in {over_s:.2f} s")


async def stdio_refused(client, tee, name):
    """Over stdio the server cannot tell which request an over-long line
    was, so it answers with a parse error of id null (JSON-RPC 2.0, section
    5.1), which the SDK cannot match to the call (it drops it with a debug
    log line): the call itself would wait for its timeout. What is checked:
    that error arrives, the call is then abandoned (cancelled), and the
    connection still works."""
    call = asyncio.ensure_future(greet(client, name))
    waiting = asyncio.ensure_future(tee.null_error.wait())
    done, _ = await asyncio.wait({call, waiting}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    call.cancel()
    try:
        await call
    except asyncio.CancelledError:
        pass
    except MCPError as e:
        # An SDK that matches the id-less error to the one call in doubt.
        assert "longer than 4194304 bytes" in e.error.message, e.error
        return
    assert waiting in done, "neither an error of id null nor an answer to the over-limit call"
    assert len(tee.null_errors) == 1, tee.null_errors
    error = tee.null_errors.pop()
    assert error.code == -32700 and "longer than 4194304 bytes" in error.message, error
    tee.null_error.clear()


async def http_refused(client, tee, name):
    """Over HTTP the body is refused with 413 and the JSON-RPC error in it;
    the SDK raises that error. A refusal the client never read (the
    connection reset under it) fails here, or ends the session."""
    try:
        result = await greet(client, name)
    except MCPError as e:
        assert "larger than 4194304 bytes" in e.error.message, e.error
    else:
        raise AssertionError(f"the over-limit call was answered: {str(result)[:200]}")


def leaves(group):
    for e in group.exceptions:
        yield from leaves(e) if isinstance(e, BaseExceptionGroup) else [e]


def scenario(transport, mode, version, body, *args):
    """Runs `body(client, tee, *args)` on a fresh connection over `transport()`."""

    async def run():
        tee = Tee(transport())
        try:
            async with Client(tee, mode=mode, read_timeout_seconds=TIMEOUT) as client:
                assert client.protocol_version == version, client.protocol_version
                tee.calls.clear()
                await body(client, tee, *args)
        except BaseExceptionGroup as group:
            errors = list(leaves(group))
            failed = next((e for e in errors if isinstance(e, AssertionError)), None)
            if failed is not None:
                raise failed from None
            # The SDK's transport task failed, and took the session with it.
            chain = []
            e = errors[0]
            while e is not None and len(chain) < 5:
                chain.append(f"{type(e).__module__}.{type(e).__name__}({e})")
                e = e.__cause__ or e.__context__
            raise AssertionError(
                "the client's transport failed, ending the session: " + " <- ".join(chain)
            ) from None

    return run


def stdio():
    return stdio_client(StdioServerParameters(command=BIN, args=[], env={"RUST_LOG": "warn"}))


def http():
    return streamable_http_client(MCP_URL)


async def main():
    for transport, name, refused in [(stdio, "stdio", stdio_refused), (http, "Streamable HTTP", http_refused)]:
        for mode, version in [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")]:
            label = f"python sdk, {name}, mode='{mode}'"
            await check(
                f"{label}: 32 greets of 1 B to 3 MiB at once, 2 large word_stats; byte-exact, one answer each",
                scenario(transport, mode, version, pipelined, label),
            )
            await check(
                f"{label}: a 5 MiB call is refused cleanly, the same connection then answers small and large calls",
                scenario(transport, mode, version, over_limit, refused, label),
            )
    print(f"# {time.monotonic() - STARTED:.1f} s in all")
    finish()


asyncio.run(main())
