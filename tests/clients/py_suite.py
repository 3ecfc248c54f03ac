"""The official MCP Python SDK client against the suite example (the CRM,
customer and job-search servers mounted into one) over stdio: the three
servers' tools, resources, templates and prompts under their namespaces."""

import asyncio
import json
import os
import sys
import tempfile

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from checks import check, finish

BIN = os.environ.get("SUITE_BIN") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not BIN:
    print("usage: SUITE_BIN=path/to/suite python py_suite.py", file=sys.stderr)
    sys.exit(2)


def data(result):
    assert not result.is_error, result
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(next(c.text for c in result.content if c.type == "text"))


def scenario(mode):
    async def run():
        with tempfile.TemporaryDirectory() as root:
            env = {
                "CRM_DATABASE_URL": "sqlite::memory:",
                "CUSTOMER_DB_PATH": ":memory:",
                "IAM_DATA_ROOT": root,
                "LOG_LEVEL": "warn",
                "PATH": os.environ.get("PATH", ""),
            }
            params = StdioServerParameters(command=BIN, args=[], env=env)
            async with Client(params, mode=mode) as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                for name in ["crm_search_contacts", "customer_get_customer", "jobs_search_jobs"]:
                    assert name in tools, tools
                assert all(t.split("_")[0] in ("crm", "customer", "jobs") for t in tools), tools
                contacts = data(await client.call_tool("crm_search_contacts", {"query": "a"}))
                assert contacts["contacts"], contacts
                customer = data(await client.call_tool("customer_get_customer", {"id": 1}))
                assert customer["id"] == 1, customer
                jobs = data(await client.call_tool("jobs_search_jobs", {"role": "rust", "num_jobs": 2}))
                job_id = jobs["jobs"][0]["job_id"]
                saved = data(await client.call_tool("jobs_save_jobs", {"job_ids": [job_id]}))
                uri = saved["saved"][0]["uri"]
                # The saved job's URI is the mounted server's own: read it
                # through the namespace the suite lists it under.
                page = await client.read_resource("jobs+" + uri)
                assert page.contents[0].text.startswith("# "), page
                resources = [str(r.uri) for r in (await client.list_resources()).resources]
                assert "crm+crm://pipeline" in resources, resources
                templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
                assert "crm+crm://contacts/{id}" in templates, templates
                contact = await client.read_resource("crm+crm://contacts/1")
                assert str(contact.contents[0].uri) == "crm+crm://contacts/1", contact
                prompts = [p.name for p in (await client.list_prompts()).prompts]
                assert "crm_account_brief" in prompts and "jobs_cover_letter" in prompts, prompts
                brief = await client.get_prompt("crm_account_brief", {"company_id": "1"})
                assert brief.messages, brief

    return run


async def main():
    await check("python sdk, suite over stdio, mode='legacy'", scenario("legacy"))
    await check("python sdk, suite over stdio, mode='2026-07-28'", scenario("2026-07-28"))
    finish()


asyncio.run(main())
