"""The official MCP Python SDK client against the customer server over
Streamable HTTP: every tool, a rejected input, and the data it changed."""

import asyncio
import json
import os
import sys

from mcp.client.client import Client

from checks import check, finish

URL = os.environ.get("CUSTOMER_URL") or (sys.argv[1] if len(sys.argv) > 1 else None)
if not URL:
    print("usage: CUSTOMER_URL=http://127.0.0.1:PORT python py_customer.py", file=sys.stderr)
    sys.exit(2)


def data(result):
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(next(c.text for c in result.content if c.type == "text"))


def scenario(mode):
    async def run():
        async with Client(f"{URL.rstrip('/')}/mcp", mode=mode) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            assert tools == [
                "get_customer",
                "list_customers",
                "add_customer",
                "update_customer",
                "disable_customer",
                "activate_customer",
            ], tools
            everyone = data(await client.call_tool("list_customers", {}))
            assert everyone["count"] >= 10, everyone
            active = data(await client.call_tool("list_customers", {"status": "active"}))
            assert all(c["status"] == "active" for c in active["customers"]), active
            ada = data(await client.call_tool("get_customer", {"id": 1}))
            assert ada["name"] == "Ada Lovelace", ada

            added = data(await client.call_tool("add_customer", {"name": f"Client {mode}", "email": "c@example.com"}))
            new_id = added["id"]
            updated = data(await client.call_tool("update_customer", {"id": new_id, "phone": "+1 555 0199"}))
            assert updated["phone"] == "+1 555 0199", updated
            assert data(await client.call_tool("disable_customer", {"id": new_id}))["status"] == "disabled"
            assert data(await client.call_tool("activate_customer", {"id": new_id}))["status"] == "active"

            rejected = await client.call_tool("add_customer", {"name": "X", "email": "not-an-email"})
            assert rejected.is_error, rejected
            missing = await client.call_tool("get_customer", {"id": 99999})
            assert missing.is_error and "not found" in missing.content[0].text, missing

    return run


async def main():
    await check("python sdk, customer server, mode='legacy'", scenario("legacy"))
    await check("python sdk, customer server, mode='2026-07-28'", scenario("2026-07-28"))
    finish()


asyncio.run(main())
