"""SQL reports (sql-mcp): the six read-only report templates over the sample sales data.

    locust -f loadtest/sql.py --host http://127.0.0.1:8056

sql-mcp limits each caller to 100 requests a minute unless MCP_RATE_LIMIT
says otherwise; scripts/loadtest.sh raises it, as every user here is one caller.
"""

import random

from mcp_user import McpSessionUser, McpStatelessUser

CATEGORIES = ["hardware", "garden", "office"]
STATUSES = ["pending", "paid", "shipped", "cancelled"]


def period(_user):
    year = random.choice([2024, 2025])
    return {"start_date": f"{year}-01-01", "end_date": f"{year}-12-31"}


CALLS = [
    (6, "sales_by_month", period),
    (6, "top_customers", lambda u: dict(period(u), limit=5)),
    (5, "product_sales", lambda u: {"category": random.choice(CATEGORIES)}),
    (4, "overdue_invoices", lambda u: {"as_of": "2026-12-01", "min_days_overdue": random.choice([1, 30, 90])}),
    (8, "customer_orders", lambda u: {"customer_id": random.randint(1, 8), "status": random.choice(STATUSES)}),
    (3, "low_stock", lambda u: random.choice([{}, {"category": random.choice(CATEGORIES)}])),
]


class SqlSession(McpSessionUser):
    calls = CALLS


class SqlStateless(McpStatelessUser):
    calls = CALLS
