"""The official MCP Python SDK client against the CRM example over
Streamable HTTP: lists and calls every tool, reads a resource, gets a
prompt."""

import asyncio
import json
import os
import sys
import uuid

from mcp.client.client import Client

from checks import check, finish

URL = os.environ.get("CRM_URL") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not URL:
    print("usage: CRM_URL=http://127.0.0.1:PORT python py_crm.py", file=sys.stderr)
    sys.exit(2)

TOOLS = [
    "search_contacts",
    "get_contact_details",
    "create_contact",
    "update_contact",
    "delete_contact",
    "list_companies",
    "get_company",
    "create_deal",
    "update_deal_stage",
    "list_deals",
    "log_activity",
    "list_upcoming_tasks",
    "pipeline_summary",
]


def data(result):
    assert not result.is_error, result
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(next(c.text for c in result.content if c.type == "text"))


def scenario(mode):
    async def run():
        async with Client(f"{URL.rstrip('/')}/mcp", mode=mode) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            assert tools == sorted(TOOLS), tools
            found = data(await client.call_tool("search_contacts", {"query": "anders"}))
            maria = found["contacts"][0]
            details = data(await client.call_tool("get_contact_details", {"id": maria["id"]}))
            company_id = details["company"]["id"]
            key = str(uuid.uuid4())
            email = f"{key}@example.com"
            created = data(await client.call_tool(
                "create_contact",
                {"first_name": "Ada", "last_name": "Client", "email": email, "idempotency_key": key},
            ))
            again = data(await client.call_tool(
                "create_contact",
                {"first_name": "Ada", "last_name": "Client", "email": email, "idempotency_key": key},
            ))
            assert created["id"] == again["id"], (created, again)
            updated = data(await client.call_tool("update_contact", {"id": created["id"], "title": "Tester"}))
            assert updated["title"] == "Tester"
            companies = data(await client.call_tool("list_companies", {"limit": 3}))
            assert len(companies["companies"]) == 3
            company = data(await client.call_tool("get_company", {"id": company_id}))
            assert company["company"]["name"] == "Northwind Traders"
            deal = data(await client.call_tool(
                "create_deal",
                {"title": "Client test deal", "company_id": company_id, "amount": 1000, "owner": "py"},
            ))
            moved = data(await client.call_tool("update_deal_stage", {"id": deal["id"], "stage": "qualified"}))
            assert moved["stage"] == "qualified"
            deals = data(await client.call_tool("list_deals", {"owner": "py"}))
            assert deals["count"] >= 1
            task = data(await client.call_tool(
                "log_activity",
                {"kind": "task", "subject": "Call back", "contact_id": created["id"], "due_at": "2020-01-01", "owner": "py"},
            ))
            tasks = data(await client.call_tool("list_upcoming_tasks", {"owner": "py"}))
            assert any(t["id"] == task["id"] for t in tasks["tasks"]), tasks
            summary = data(await client.call_tool("pipeline_summary", {}))
            assert len(summary["stages"]) == 6
            # This client cannot be asked, so deleting needs confirm=true.
            kept = await client.call_tool("delete_contact", {"id": created["id"]})
            assert kept.content[0].text.startswith("Kept"), kept
            deleted = await client.call_tool("delete_contact", {"id": created["id"], "confirm": True})
            assert deleted.content[0].text.startswith("Deleted"), deleted
            rejected = await client.call_tool("create_deal", {"title": "X", "company_id": company_id, "amount": -5})
            assert rejected.is_error

            pipeline = await client.read_resource("crm://pipeline")
            assert "negotiation" in pipeline.contents[0].text
            brief = await client.get_prompt("account_brief", {"company_id": str(company_id)})
            assert "Maria Anders" in brief.messages[0].content.text

    return run


async def main():
    await check("python sdk, CRM, mode='legacy'", scenario("legacy"))
    await check("python sdk, CRM, mode='2026-07-28'", scenario("2026-07-28"))
    finish()


asyncio.run(main())
