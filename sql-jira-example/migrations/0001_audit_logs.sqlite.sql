CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    server TEXT NOT NULL,
    principal TEXT,
    tenant TEXT,
    request_id TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    read_only INTEGER,
    destructive INTEGER,
    arguments_sha256 TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    duration_ms DOUBLE PRECISION NOT NULL
);
CREATE INDEX audit_logs_tenant_time ON audit_logs(tenant, time)
