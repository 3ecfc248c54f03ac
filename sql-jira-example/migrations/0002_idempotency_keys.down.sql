DROP TABLE idempotency_keys;
DELETE FROM schema_migrations WHERE version = 2
