"""The official MCP Python SDK client against the SQL report and Jira
servers (sql-jira-example), over stdio (a server per scenario, on a fresh
SQLite file) and over Streamable HTTP: the documented tool sets, reports
checked row by row, an issue created, fetched, commented on and moved in
the offline sample project, and bad arguments answered as errors on a
session that goes on."""

import asyncio
import os
import sys
import tempfile
import uuid

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from checks import check, data, finish, text

SQL_BIN = os.environ.get("SQL_BIN")
JIRA_BIN = os.environ.get("JIRA_BIN")
SQL_URL = os.environ.get("SQL_URL")
JIRA_URL = os.environ.get("JIRA_URL")
if not (SQL_BIN and JIRA_BIN and SQL_URL and JIRA_URL):
    print("usage: SQL_BIN=.../sql-mcp JIRA_BIN=.../jira-mcp SQL_URL=http://... JIRA_URL=http://... "
          "python py_sql_jira.py", file=sys.stderr)
    sys.exit(2)

SQL_TOOLS = ["sales_by_month", "top_customers", "product_sales", "overdue_invoices", "customer_orders", "low_stock"]
JIRA_TOOLS = ["search_issues", "get_issue", "create_issue", "update_issue", "transition_issue", "add_comment",
              "assign_issue", "list_projects"]


async def rejects_unknown_tool(client):
    try:
        await client.call_tool("no_such_report", {})
    except MCPError as e:
        assert e.error.code == -32602, e.error
    else:
        raise AssertionError("an unknown tool must be a JSON-RPC error")


async def sql_checks(client):
    tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == SQL_TOOLS, [t.name for t in tools]
    assert all(t.annotations.read_only_hint is True for t in tools), tools

    top = data(await client.call_tool(
        "top_customers", {"start_date": "2025-01-01", "end_date": "2025-12-31", "limit": 2}))
    assert top["template"] == "top_customers" and top["row_count"] == 2 and not top["truncated"], top
    assert top["columns"] == ["customer_id", "name", "country", "orders", "revenue_cents"], top
    assert top["rows"][0]["name"] == "Adventure Works", top
    assert top["rows"][0]["revenue_cents"] >= top["rows"][1]["revenue_cents"], top

    q2 = data(await client.call_tool("sales_by_month", {"start_date": "2025-04-01", "end_date": "2025-06-30"}))
    assert [r["month"] for r in q2["rows"]] == ["2025-04", "2025-05", "2025-06"], q2
    assert all(r["orders"] > 0 and r["revenue_cents"] > 0 for r in q2["rows"]), q2

    garden = data(await client.call_tool("product_sales", {"category": "garden"}))
    assert garden["row_count"] == 3 and {r["category"] for r in garden["rows"]} == {"garden"}, garden

    paid = data(await client.call_tool("customer_orders", {"customer_id": 1, "status": "paid"}))
    assert paid["row_count"] >= 1 and all(r["status"] == "paid" for r in paid["rows"]), paid

    # A bad date and a missing required argument are tool errors ...
    bad = await client.call_tool("top_customers", {"start_date": "2025-13-01"})
    assert bad.is_error and "`start_date`" in text(bad), bad
    missing = await client.call_tool("overdue_invoices", {})
    assert missing.is_error and "as_of" in text(missing), missing
    await rejects_unknown_tool(client)
    # ... and the session goes on.
    overdue = data(await client.call_tool("overdue_invoices", {"as_of": "2026-01-01", "min_days_overdue": 30}))
    assert overdue["row_count"] >= 1 and all(r["days_overdue"] >= 30 for r in overdue["rows"]), overdue


async def jira_checks(client):
    tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == JIRA_TOOLS, [t.name for t in tools]

    projects = data(await client.call_tool("list_projects", {}))
    assert [p["key"] for p in projects["projects"]] == ["DEMO", "OPS"], projects

    summary = f"Client check {uuid.uuid4()}"
    key = str(uuid.uuid4())
    args = {"project": "OPS", "summary": summary, "labels": ["client"], "idempotency_key": key}
    created = data(await client.call_tool("create_issue", args))
    assert created["key"].startswith("OPS-"), created
    again = data(await client.call_tool("create_issue", args))
    assert again == created, (created, again)

    issue = data(await client.call_tool("get_issue", {"issue_key": created["key"]}))
    assert (issue["summary"], issue["status"], issue["labels"]) == (summary, "To Do", ["client"]), issue

    comment = data(await client.call_tool("add_comment", {"issue_key": created["key"], "body": "checked by the client"}))
    assert comment["body"] == "checked by the client", comment
    moved = data(await client.call_tool("transition_issue", {"issue_key": created["key"], "transition": "In Progress"}))
    assert moved["status"] == "In Progress", moved
    assigned = data(await client.call_tool("assign_issue", {"issue_key": created["key"], "account_id": "557058:ada"}))
    assert assigned["account_id"] == "557058:ada", assigned

    found = data(await client.call_tool("search_issues", {"jql": f'project = OPS AND summary ~ "{summary}"'}))
    assert [(i["key"], i["status"], i["assignee"]) for i in found["issues"]] == [
        (created["key"], "In Progress", "557058:ada")], found

    nowhere = await client.call_tool("get_issue", {"issue_key": "DEMO-99999"})
    assert nowhere.is_error and "DEMO-99999" in text(nowhere), nowhere
    wrong = await client.call_tool("create_issue", {"project": "OPS"})
    assert wrong.is_error and "summary" in text(wrong), wrong
    await rejects_unknown_tool(client)
    issue = data(await client.call_tool("get_issue", {"issue_key": created["key"]}))
    assert issue["status"] == "In Progress", issue


def stdio(bin_path, checks, mode):
    async def run():
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "DATABASE_URL": f"sqlite://{tmp}/server.db",
                "JIRA_OFFLINE": "true",
                # Not the offline-mode warning on every start.
                "LOG_LEVEL": "error",
                "PATH": os.environ.get("PATH", ""),
            }
            params = StdioServerParameters(command=bin_path, args=["--transport", "stdio"], env=env)
            async with Client(params, mode=mode) as client:
                await checks(client)

    return run


def http(url, checks, mode):
    async def run():
        async with Client(f"{url.rstrip('/')}/mcp", mode=mode) as client:
            await checks(client)

    return run


async def main():
    for mode in ["legacy", "2026-07-28"]:
        await check(f"python sdk, sql-mcp over stdio, mode={mode!r}", stdio(SQL_BIN, sql_checks, mode))
        await check(f"python sdk, jira-mcp over stdio, mode={mode!r}", stdio(JIRA_BIN, jira_checks, mode))
        await check(f"python sdk, sql-mcp over streamable http, mode={mode!r}", http(SQL_URL, sql_checks, mode))
        await check(f"python sdk, jira-mcp over streamable http, mode={mode!r}", http(JIRA_URL, jira_checks, mode))
    finish()


asyncio.run(main())
