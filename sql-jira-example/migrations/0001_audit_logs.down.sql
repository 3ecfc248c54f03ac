DROP TABLE audit_logs;
DELETE FROM schema_migrations WHERE version = 1
