"""Jira (jira-mcp) in offline mode: searches and reads, with some comments, issues and updates.

    locust -f loadtest/jira.py --host http://127.0.0.1:8055

Offline (JIRA_OFFLINE=true) the Jira side is the in-memory sample project,
so this measures the server, not Atlassian. jira-mcp limits each caller to
100 requests a minute unless MCP_RATE_LIMIT says otherwise.
"""

import random
import uuid

from mcp_user import McpSessionUser, McpStatelessUser

ISSUES = ["DEMO-1", "DEMO-2", "DEMO-3", "OPS-1"]
SEARCHES = ["project = DEMO", "project = OPS", 'status = "To Do"', "summary ~ database", "assignee is EMPTY AND project = DEMO"]


def key(_user):
    return f"load-{uuid.uuid4().hex}"


CALLS = [
    (10, "search_issues", lambda u: {"jql": random.choice(SEARCHES), "max_results": 20}),
    (10, "get_issue", lambda u: {"issue_key": random.choice(ISSUES)}),
    (3, "list_projects", lambda u: {}),
    (2, "add_comment", lambda u: {"issue_key": random.choice(ISSUES), "body": "Checked under load.", "idempotency_key": key(u)}),
    (
        1,
        "create_issue",
        lambda u: {"project": "DEMO", "summary": "Load test issue", "labels": ["loadtest"], "idempotency_key": key(u)},
    ),
    (1, "update_issue", lambda u: {"issue_key": random.choice(ISSUES), "priority": random.choice(["High", "Low"]), "idempotency_key": key(u)}),
    (1, "assign_issue", lambda u: {"issue_key": random.choice(ISSUES), "account_id": random.choice(["557058:ada", "557058:grace"]), "idempotency_key": key(u)}),
]


class JiraSession(McpSessionUser):
    calls = CALLS


class JiraStateless(McpStatelessUser):
    calls = CALLS
