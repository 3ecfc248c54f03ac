-- Every request is audited, refusals included: a request refused before
-- its body was read has no id, revision, method or target.
CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    server TEXT NOT NULL,
    principal TEXT,
    tenant TEXT,
    issuer TEXT,
    client_address TEXT,
    request_id TEXT,
    protocol_version TEXT,
    method TEXT,
    target TEXT,
    read_only INTEGER,
    destructive INTEGER,
    arguments_sha256 TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    http_status INTEGER,
    duration_ms DOUBLE PRECISION NOT NULL
);
CREATE INDEX audit_logs_tenant_time ON audit_logs(tenant, time)
