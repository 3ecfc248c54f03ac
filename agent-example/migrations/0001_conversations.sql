-- Conversations belong to an owner: the caller's issuer, tenant and
-- principal id ('' for none). Another owner's conversation with the same
-- id is another conversation.
CREATE TABLE conversations (
    issuer TEXT NOT NULL,
    tenant TEXT NOT NULL,
    principal TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, tenant, principal, conversation_id)
);

CREATE TABLE messages (
    issuer TEXT NOT NULL,
    tenant TEXT NOT NULL,
    principal TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, tenant, principal, conversation_id, seq),
    FOREIGN KEY (issuer, tenant, principal, conversation_id)
        REFERENCES conversations (issuer, tenant, principal, conversation_id) ON DELETE CASCADE
);
