"""Job search (iam-mcp) on its offline dataset (no RAPIDAPI_KEY): search, details, salaries, saving.

    locust -f loadtest/iam.py --host http://127.0.0.1:3001
"""

import random

from mcp_user import McpSessionUser, McpStatelessUser

JOB_IDS = [
    "rust-backend-berlin-1",
    "rust-embedded-munich-2",
    "platform-remote-3",
    "data-engineer-nyc-4",
    "ml-engineer-sf-5",
    "frontend-london-6",
    "sre-london-7",
    "rust-contract-remote-8",
    "backend-toronto-9",
    "devrel-remote-10",
]
ROLES = ["rust developer", "data engineer", "frontend developer", "site reliability engineer", "ml engineer"]
PLACES = [("Berlin", "de"), ("London", "gb"), ("New York", "us"), ("Toronto", "ca"), (None, None)]


def search(_user):
    city, country = random.choice(PLACES)
    arguments = {"role": random.choice(ROLES), "num_jobs": 5, "description_chars": 400}
    if city:
        arguments.update(city=city, country=country)
    return arguments


CALLS = [
    (10, "search_jobs", search),
    (8, "get_job_details", lambda u: {"job_id": random.choice(JOB_IDS)}),
    (4, "estimate_salary", lambda u: {"job_title": random.choice(ROLES), "location": random.choice(["Berlin", "remote", "New York"])}),
    (1, "save_jobs", lambda u: {"job_ids": random.sample(JOB_IDS, 2), "format": random.choice(["markdown", "json"])}),
]


class IamSession(McpSessionUser):
    calls = CALLS


class IamStateless(McpStatelessUser):
    calls = CALLS
