ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
UPDATE idempotency_keys SET expires_at = to_char((now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_at)
