"""The official MCP Python SDK client against the job-search example over
stdio, offline: searches, details, salary, saving jobs and reading them
back, and a prompt."""

import asyncio
import json
import os
import sys
import tempfile

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from checks import check, finish

BIN = os.environ.get("IAM_BIN") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not BIN:
    print("usage: IAM_BIN=path/to/iam-mcp python py_iam.py", file=sys.stderr)
    sys.exit(2)


def data(result):
    assert not result.is_error, result
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(next(c.text for c in result.content if c.type == "text"))


def scenario(mode):
    async def run():
        with tempfile.TemporaryDirectory() as root:
            env = {"IAM_DATA_ROOT": root, "LOG_LEVEL": "warn", "PATH": os.environ.get("PATH", "")}
            params = StdioServerParameters(command=BIN, args=[], env=env)
            async with Client(params, mode=mode) as client:
                tools = sorted(t.name for t in (await client.list_tools()).tools)
                assert tools == ["estimate_salary", "get_job_details", "save_jobs", "search_jobs"], tools
                found = data(await client.call_tool("search_jobs", {"role": "rust", "num_jobs": 3}))
                assert found["source"] == "offline sample dataset", found
                job_id = found["jobs"][0]["job_id"]
                details = data(await client.call_tool("get_job_details", {"job_id": job_id}))
                assert details["job_id"] == job_id
                salary = data(await client.call_tool("estimate_salary", {"job_title": "rust"}))
                assert salary["estimates"], salary
                saved = data(await client.call_tool("save_jobs", {"job_ids": [job_id]}))
                uri = saved["saved"][0]["uri"]
                page = await client.read_resource(uri)
                assert page.contents[0].text.startswith("# "), page
                letter = await client.get_prompt("cover_letter", {"job_id": job_id, "applicant_name": "Ada"})
                assert "from Ada" in letter.messages[0].content.text

    return run


async def main():
    await check("python sdk, job search over stdio, mode='legacy'", scenario("legacy"))
    await check("python sdk, job search over stdio, mode='2026-07-28'", scenario("2026-07-28"))
    finish()


asyncio.run(main())
