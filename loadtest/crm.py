"""The CRM (crm-mcp): MCP sessions (2025-11-25), stateless MCP (2026-07-28) and the REST API.

    locust -f loadtest/crm.py --host http://127.0.0.1:3001

Mostly reads, with some writes (a new contact, an activity, a deal moving
stage) as a sales team's assistant makes them.
"""

import random
import uuid

from crm_data import COMPANY_IDS, CONTACT_IDS, DEAL_IDS, INDUSTRIES, OWNERS, SEARCHES, STAGES, TAGS
from crm_rest import CrmRestUser  # noqa: F401 (a user class of this scenario)
from mcp_user import McpSessionUser, McpStatelessUser


def new_contact(_user):
    tag = uuid.uuid4().hex[:12]
    return {
        "first_name": "Load",
        "last_name": f"Test {tag}",
        "email": f"load.{tag}@example.com",
        "company": random.choice(["Northwind Traders", "Contoso Pharmaceuticals", "Loadtest Labs"]),
        "title": "Buyer",
        "tags": ["loadtest"],
        "idempotency_key": f"contact-{tag}",
    }


CALLS = [
    (10, "search_contacts", lambda u: {"query": random.choice(SEARCHES), "limit": 10}),
    (3, "search_contacts", lambda u: {"tag": random.choice(TAGS)}),
    (10, "get_contact_details", lambda u: {"id": random.choice(CONTACT_IDS)}),
    (5, "list_companies", lambda u: {"query": random.choice(INDUSTRIES)}),
    (5, "get_company", lambda u: {"id": random.choice(COMPANY_IDS)}),
    (5, "list_deals", lambda u: {"stage": random.choice(STAGES)}),
    (5, "pipeline_summary", lambda u: {}),
    (3, "list_upcoming_tasks", lambda u: {"days": 30, "owner": random.choice(OWNERS)}),
    (2, "create_contact", new_contact),
    (
        2,
        "log_activity",
        lambda u: {
            "kind": random.choice(["call", "email", "note"]),
            "subject": "Followed up on the proposal",
            "body": "Discussed pricing and the rollout plan.",
            "contact_id": random.choice(CONTACT_IDS),
        },
    ),
    (1, "update_deal_stage", lambda u: {"id": random.choice(DEAL_IDS), "stage": random.choice(STAGES)}),
]


class CrmSession(McpSessionUser):
    calls = CALLS


class CrmStateless(McpStatelessUser):
    calls = CALLS
