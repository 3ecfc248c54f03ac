"""The CRM's REST API (`/api`): reads over the seeded data, and writes.

    locust -f loadtest/crm_rest.py --host http://127.0.0.1:3001

Each route is one weighted entry of `READS` or `WRITES`, named by its route
pattern so the stats table has a row per route, and picked by weight. An
entry is (weight, method, route name, function of the user returning the
path, the JSON body or None, and the headers or None, or None when it has
nothing to do).

The writes create contacts (with an `Idempotency-Key`, as a web client
retrying safely would), change and delete the contacts this user created
(never the seeded ones the reads ask for), log activities on seeded
contacts and move seeded deals between stages.
"""

import random
import uuid

from locust import HttpUser, task

from crm_data import COMPANY_IDS, CONTACT_IDS, DEAL_IDS, SEARCHES, STAGES, TAGS
from mcp_user import think_time

READS = [
    (10, "GET", "/api/contacts?q=", lambda u: (f"/api/contacts?q={random.choice(SEARCHES)}&limit=20", None, None)),
    (3, "GET", "/api/contacts?tag=", lambda u: (f"/api/contacts?tag={random.choice(TAGS)}", None, None)),
    (10, "GET", "/api/contacts/{id}", lambda u: (f"/api/contacts/{random.choice(CONTACT_IDS)}", None, None)),
    (5, "GET", "/api/companies", lambda u: ("/api/companies?limit=50", None, None)),
    (5, "GET", "/api/companies/{id}", lambda u: (f"/api/companies/{random.choice(COMPANY_IDS)}", None, None)),
    (5, "GET", "/api/deals?stage=", lambda u: (f"/api/deals?stage={random.choice(STAGES)}", None, None)),
    (5, "GET", "/api/deals/{id}", lambda u: (f"/api/deals/{random.choice(DEAL_IDS)}", None, None)),
    (3, "GET", "/api/activities?contact_id=", lambda u: (f"/api/activities?contact_id={random.choice(CONTACT_IDS)}", None, None)),
]


def create_contact(user):
    tag = uuid.uuid4().hex[:12]
    body = {
        "first_name": "Rest",
        "last_name": f"Load {tag}",
        "email": f"rest.{tag}@example.com",
        "company": random.choice(["Northwind Traders", "Contoso Pharmaceuticals", "Loadtest Labs"]),
        "tags": ["loadtest"],
    }
    return "/api/contacts", body, {"Idempotency-Key": f"rest-contact-{tag}"}


def update_contact(user):
    if not user.mine:
        return None
    return f"/api/contacts/{random.choice(user.mine)}", {"title": random.choice(["Buyer", "CTO", "Head of Ops"])}, None


def delete_contact(user):
    if not user.mine:
        return None
    return f"/api/contacts/{user.mine.pop(random.randrange(len(user.mine)))}", None, None


def log_activity(user):
    body = {
        "kind": random.choice(["note", "call", "email"]),
        "subject": f"Load test {uuid.uuid4().hex[:8]}",
        "contact_id": random.choice(CONTACT_IDS),
    }
    return "/api/activities", body, None


def move_deal(user):
    return f"/api/deals/{random.choice(DEAL_IDS)}", {"stage": random.choice(STAGES[:4])}, None


WRITES = [
    (3, "POST", "/api/contacts", create_contact),
    (2, "PATCH", "/api/contacts/{id}", update_contact),
    (1, "DELETE", "/api/contacts/{id}", delete_contact),
    (2, "POST", "/api/activities", log_activity),
    (1, "PATCH", "/api/deals/{id}", move_deal),
]


class CrmRestUser(HttpUser):
    """A web client of the CRM's REST API."""

    wait_time = think_time()
    routes = READS + WRITES

    def on_start(self):
        self._weights = [weight for weight, *_ in self.routes]
        # The contacts this user created and has not deleted.
        self.mine = []

    @task
    def call_route(self):
        _, method, name, target = random.choices(self.routes, weights=self._weights)[0]
        request = target(self)
        if request is None:
            return
        path, body, headers = request
        with self.client.request(
            method, path, json=body, headers=headers, name=f"REST {method} {name}", catch_response=True
        ) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            if response.status_code == 204:
                response.success()
                return
            try:
                created = response.json()
            except ValueError:
                response.failure("the body is not JSON")
                return
            if method == "POST" and name == "/api/contacts":
                if not isinstance(created.get("id"), int):
                    response.failure(f"a created contact without an id: {response.text[:200]}")
                    return
                self.mine.append(created["id"])
            response.success()
