"""The CRM's REST API (`/api`): reads only, over the seeded data.

    locust -f loadtest/crm_rest.py --host http://127.0.0.1:3001

Each route is one weighted entry of `READS`, named by its route pattern so
the stats table has a row per route. Writes go in a `WRITES` list of the
same shape (method, route name, function of the user returning the path and
the JSON body) and are picked with the reads by weight.
"""

import random

from locust import HttpUser, task

from crm_data import COMPANY_IDS, CONTACT_IDS, DEAL_IDS, SEARCHES, STAGES, TAGS
from mcp_user import think_time

# (weight, method, route name, function returning (path, JSON body or None))
READS = [
    (10, "GET", "/api/contacts?q=", lambda u: (f"/api/contacts?q={random.choice(SEARCHES)}&limit=20", None)),
    (3, "GET", "/api/contacts?tag=", lambda u: (f"/api/contacts?tag={random.choice(TAGS)}", None)),
    (10, "GET", "/api/contacts/{id}", lambda u: (f"/api/contacts/{random.choice(CONTACT_IDS)}", None)),
    (5, "GET", "/api/companies", lambda u: ("/api/companies?limit=50", None)),
    (5, "GET", "/api/companies/{id}", lambda u: (f"/api/companies/{random.choice(COMPANY_IDS)}", None)),
    (5, "GET", "/api/deals?stage=", lambda u: (f"/api/deals?stage={random.choice(STAGES)}", None)),
    (5, "GET", "/api/deals/{id}", lambda u: (f"/api/deals/{random.choice(DEAL_IDS)}", None)),
]
WRITES = []


class CrmRestUser(HttpUser):
    """A web client of the CRM's REST API."""

    wait_time = think_time()
    routes = READS + WRITES

    def on_start(self):
        self._weights = [weight for weight, *_ in self.routes]

    @task
    def call_route(self):
        _, method, name, target = random.choices(self.routes, weights=self._weights)[0]
        path, body = target(self)
        with self.client.request(method, path, json=body, name=f"REST {method} {name}", catch_response=True) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            try:
                response.json()
            except ValueError:
                response.failure("the body is not JSON")
                return
            response.success()
