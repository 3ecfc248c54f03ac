-- Every request is audited now, refusals included: a request refused
-- before its body was read has no id, method, target or revision.
ALTER TABLE audit_log ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN protocol_version DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN method DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN target DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN issuer TEXT;
ALTER TABLE audit_log ADD COLUMN client_address TEXT;
ALTER TABLE audit_log ADD COLUMN http_status INTEGER
