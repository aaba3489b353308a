-- 017_nodes.sql - PostgreSQL twin of schema/017_nodes.sql: what several nodes share through the
-- store (failures counted for the guessing limits, when a device code was polled, the purge's
-- lease, when a signing key starts to sign).
CREATE TABLE failures (
	kind text NOT NULL,
	key bytea NOT NULL CHECK (length(key) = 32),
	failures bigint NOT NULL CHECK (failures > 0),
	last_ms bigint NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX failures_last ON failures (last_ms);

ALTER TABLE device_codes ADD COLUMN polled_ms bigint;

CREATE TABLE leases (
	name text PRIMARY KEY NOT NULL,
	holder text NOT NULL,
	until bigint NOT NULL
);
INSERT INTO leases (name, holder, until) VALUES ('purge', '', 0);

ALTER TABLE signing_keys ADD COLUMN signs_from bigint NOT NULL DEFAULT 0;
