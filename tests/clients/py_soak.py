"""Soak: the official MCP Python SDK against the everything server over
Streamable HTTP for SOAK_SECONDS, sampling the server's memory.

Clients open sessions (the 2025-11-25 handshake) and stateless 2026-07-28
connections, call tools, read resources and a template, get a prompt and
close, several at a time, round after round. The server's VmRSS is read
from /proc every second. After a warm-up (the first quarter), memory must
not keep growing: the median of the last quarter of samples may exceed the
median of the second quarter by at most 25% plus 8 MiB, and the slope of a
least-squares line through the samples after warm-up, projected over the
run, by no more than that. A leak of a few KiB per session grows without
bound; an allocator settling does not.
"""

import asyncio
import os
import statistics
import sys
import time

from mcp.client.client import Client

URL = os.environ.get("SOAK_URL")
PID = os.environ.get("SOAK_PID")
SECONDS = float(os.environ.get("SOAK_SECONDS", "0"))
CONCURRENCY = int(os.environ.get("SOAK_CONCURRENCY", "4"))
if not URL or not PID or SECONDS <= 0:
    print("usage: SOAK_URL=http://127.0.0.1:PORT/mcp SOAK_PID=PID SOAK_SECONDS=N python py_soak.py", file=sys.stderr)
    sys.exit(2)


def rss_kib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS: did the server exit?")


def text(result):
    return next(c.text for c in result.content if c.type == "text")


async def one_session(worker, n, mode):
    async with Client(URL, mode=mode) as client:
        name = f"w{worker}-{n}"
        assert text(await client.call_tool("greet", {"name": name})) == f"Hello, {name}!"
        assert text(await client.call_tool("test_simple_text", {})), "empty text"
        tools = (await client.list_tools()).tools
        assert any(t.name == "greet" for t in tools), tools
        static = await client.read_resource("test://static-text")
        assert static.contents, static
        data = await client.read_resource(f"test://template/{name}/data")
        assert name in data.contents[0].text, data
        prompt = await client.get_prompt("test_simple_prompt")
        assert prompt.messages, prompt


async def worker(index, deadline, counts):
    n = 0
    while time.monotonic() < deadline:
        mode = "legacy" if n % 2 == 0 else "2026-07-28"
        await one_session(index, n, mode)
        counts[mode] += 1
        n += 1


def slope_kib_per_second(samples):
    times = [t for t, _ in samples]
    values = [v for _, v in samples]
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    var = sum((t - mean_t) ** 2 for t in times)
    if var == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in samples) / var


async def main():
    start = time.monotonic()
    deadline = start + SECONDS
    samples = []

    async def sample():
        while time.monotonic() < deadline:
            samples.append((time.monotonic() - start, rss_kib()))
            await asyncio.sleep(1)

    counts = {"legacy": 0, "2026-07-28": 0}
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(worker(i, deadline, counts) for i in range(CONCURRENCY)))
    await sampler
    samples.append((time.monotonic() - start, rss_kib()))

    sessions = sum(counts.values())
    print(f"soak: {sessions} sessions in {SECONDS:.0f}s ({counts['legacy']} with the handshake, "
          f"{counts['2026-07-28']} stateless), {len(samples)} memory samples")
    if len(samples) < 8:
        print("soak: too short to judge memory (fewer than 8 samples); set SOAK_SECONDS to 30 or more")
        print("soak: 1 passed, 0 failed")
        return
    quarter = len(samples) // 4
    warm = samples[quarter:]
    second = statistics.median(v for _, v in samples[quarter:2 * quarter])
    last = statistics.median(v for _, v in samples[-quarter:])
    slope = slope_kib_per_second(warm)
    projected = slope * (warm[-1][0] - warm[0][0])
    allowed = second * 0.25 + 8 * 1024
    print(f"soak: VmRSS first {samples[0][1]} KiB, after warm-up {second:.0f} KiB, last quarter {last:.0f} KiB, "
          f"slope {slope:.1f} KiB/s ({projected:.0f} KiB over the run; allowed {allowed:.0f} KiB)")
    ok = last - second <= allowed and projected <= allowed
    if not ok:
        print("soak: FAILED: the server's memory keeps growing", file=sys.stderr)
    print(f"soak: {1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)


asyncio.run(main())
