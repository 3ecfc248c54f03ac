-- Every request is audited now, refusals included: a request refused
-- before its body was read has no id, method, target or revision.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
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
INSERT INTO audit_log_new (id, time, principal, tenant, request_id, protocol_version, method, target,
                           read_only, destructive, arguments_sha256, outcome, error, duration_ms)
    SELECT id, time, principal, tenant, request_id, protocol_version, method, target,
           read_only, destructive, arguments_sha256, outcome, error, duration_ms
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_time ON audit_log(time)
