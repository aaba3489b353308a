-- 003_refresh.sql - PostgreSQL twin of schema/003_refresh.sql.
ALTER TABLE clients ADD COLUMN refresh_idle_ttl bigint NOT NULL DEFAULT 0
	CHECK (refresh_idle_ttl >= 0);
ALTER TABLE clients ADD COLUMN grant_lifetime bigint NOT NULL DEFAULT 0
	CHECK (grant_lifetime >= 0);

ALTER TABLE refresh_tokens ADD COLUMN grace_used bigint NOT NULL DEFAULT 0
	CHECK (grace_used IN (0, 1));

CREATE TABLE secrets (
	name text PRIMARY KEY NOT NULL CHECK (length(name) > 0),
	value bytea NOT NULL CHECK (length(value) = 32)
);
