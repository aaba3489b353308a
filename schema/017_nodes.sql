-- 017_nodes.sql - what several Tessera nodes over one database share (docs/nodes.md): the
-- failed guesses the brute-force limits count, when each device code was last polled, the lease
-- that lets one node at a time run the hourly purges, and the time from which a signing key signs.
-- Applied by lib/store.c inside one transaction that also sets the schema version.
-- Portable SQL: PostgreSQL takes the same statements (schema/pg/ holds its twin).

-- Failed attempts per limit (kind: 'login-user', 'login-addr', 'client-secret', 'code-addr',
-- 'code-total') and key (the SHA-256 of the user name, address or client the limit counts, so
-- that no name or address is kept in clear): how many since the failures were last forgotten and
-- when the latest was (Unix milliseconds). Only a failure writes here; a success reads, and
-- clears the row only when there is one to clear. Rows older than the longest limit are purged.
CREATE TABLE failures (
	kind TEXT NOT NULL,
	key BLOB NOT NULL CHECK (length(key) = 32),
	failures INTEGER NOT NULL CHECK (failures > 0),
	last_ms INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX failures_last ON failures (last_ms);

-- When a pending device code was last polled (Unix milliseconds; NULL: never), whichever node
-- answered the poll, so that slow_down (RFC 8628 §3.5) holds across nodes. A poll sooner than
-- the interval (less 500 ms) grows the interval by 5 seconds.
ALTER TABLE device_codes ADD COLUMN polled_ms INTEGER;

-- Named leases: the node holding one (holder, a random id per process) may do its job until
-- `until` (Unix seconds). 'purge': the hourly purges, taken for the hour by the first node
-- whose hour comes, so that N nodes purge once an hour between them.
CREATE TABLE leases (
	name TEXT PRIMARY KEY NOT NULL,
	holder TEXT NOT NULL,
	until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO leases (name, holder, until) VALUES ('purge', '', 0);

-- The time (Unix milliseconds) from which a key signs: a rotated key is written with a time a
-- little ahead, so that every node publishes it (in /jwks) before any node signs with it. Until
-- then the key it replaces still signs. Keys from before sign from 0.
ALTER TABLE signing_keys ADD COLUMN signs_from INTEGER NOT NULL DEFAULT 0;
