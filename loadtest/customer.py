"""The customer server (examples/customer): its six tools over the ten sample customers.

    locust -f loadtest/customer.py --host http://127.0.0.1:8080
"""

import random
import uuid

from mcp_user import McpSessionUser, McpStatelessUser

SAMPLE_IDS = list(range(1, 11))

CALLS = [
    (10, "list_customers", lambda u: random.choice([{}, {"status": "active"}, {"status": "disabled"}])),
    (15, "get_customer", lambda u: {"id": random.choice(SAMPLE_IDS)}),
    (
        2,
        "add_customer",
        lambda u: {
            "name": f"Load Test {uuid.uuid4().hex[:8]}",
            "email": f"load.{uuid.uuid4().hex[:8]}@example.com",
            "phone": "+1 555 0100",
        },
    ),
    (2, "update_customer", lambda u: {"id": random.choice(SAMPLE_IDS), "phone": f"+1 555 {random.randint(1000, 9999)}"}),
    (1, "disable_customer", lambda u: {"id": random.choice(SAMPLE_IDS)}),
    (1, "activate_customer", lambda u: {"id": random.choice(SAMPLE_IDS)}),
]


class CustomerSession(McpSessionUser):
    calls = CALLS


class CustomerStateless(McpStatelessUser):
    calls = CALLS
