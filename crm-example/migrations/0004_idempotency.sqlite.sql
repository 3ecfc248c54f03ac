ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
UPDATE idempotency_keys SET expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 day');
CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_at)
