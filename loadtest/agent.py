"""The workspace agent (agent-mcp): its file tools and conversation reads.

    locust -f loadtest/agent.py --host http://127.0.0.1:3001

`ask_agent` is left out: it needs the client's model through sampling,
which a load generator has not got. The workspace is the one
scripts/loadtest.sh writes (README.md, notes/todo.md, src/main.rs); each
user writes only its own file under scratch/.
"""

import random
import uuid

from mcp_user import McpSessionUser, McpStatelessUser

FILES = ["README.md", "notes/todo.md", "src/main.rs"]


def own_file(user):
    if not hasattr(user, "scratch"):
        user.scratch = f"scratch/{uuid.uuid4().hex[:12]}.md"
    return user.scratch


CALLS = [
    (10, "read_file", lambda u: {"path": random.choice(FILES)}),
    (6, "list_files", lambda u: random.choice([{}, {"path": ".", "recursive": True}, {"path": "notes"}])),
    (6, "search_files", lambda u: random.choice([{"pattern": "TODO"}, {"pattern": "fn \\w+", "regex": True}, {"pattern": "readme", "case_insensitive": True}])),
    (3, "diff_files", lambda u: {"path": "notes/todo.md", "content": "# To do\n\n- write the release notes\n"}),
    (2, "write_file", lambda u: {"path": own_file(u), "content": f"# Notes\n\n{uuid.uuid4().hex}\n"}),
    (3, "get_conversation", lambda u: {"conversation_id": f"load-{random.randint(1, 5)}"}),
]


class AgentSession(McpSessionUser):
    calls = CALLS


class AgentStateless(McpStatelessUser):
    calls = CALLS
