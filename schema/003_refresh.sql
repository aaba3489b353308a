-- 003_refresh.sql - the refresh token grant: per-client refresh token idle timeout and grant
-- lifetime, the one grace use of a rotated refresh token, and server secrets.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 3.
-- Times and durations are seconds; booleans are 0 or 1. Existing rows get the defaults.

-- How long a client's refresh token lives unused, and a grant at most (0: the global setting).
ALTER TABLE clients ADD COLUMN refresh_idle_ttl INTEGER NOT NULL DEFAULT 0
	CHECK (refresh_idle_ttl >= 0);
ALTER TABLE clients ADD COLUMN grant_lifetime INTEGER NOT NULL DEFAULT 0
	CHECK (grant_lifetime >= 0);

-- Set once when a rotated refresh token is presented again within the client's grace period.
ALTER TABLE refresh_tokens ADD COLUMN grace_used INTEGER NOT NULL DEFAULT 0
	CHECK (grace_used IN (0, 1));

-- Random server secrets of 32 bytes by name, created on first use (e.g. "refresh-successor").
CREATE TABLE secrets (
	name TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
	value BLOB NOT NULL CHECK (length(value) = 32)
) STRICT, WITHOUT ROWID;
