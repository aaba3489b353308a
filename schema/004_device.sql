-- 004_device.sql - the device authorization grant (RFC 8628): device codes and their user codes.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 4.
-- Times and durations are seconds. The device code is stored only as its SHA-256 (32 bytes); the
-- user code, short-lived and typed by a person on the /device page, is stored as it is (8
-- characters, no dash). Every row hangs off a client (and, once approved, a user and a grant) and
-- goes with it.

-- Device authorizations. status: 0 pending, 1 approved, 2 denied, 3 redeemed (the device's poll
-- got its tokens). Each step is one conditional UPDATE, so of two racing callers only one moves a
-- row on. scope is what the device asked for, NULL when it asked for nothing (everything allowed);
-- user_id, grant_id, granted (the scope approved) and auth_time (when the approving user logged
-- in) stay NULL until approval. Rows stay until purged after expires_at, so that a used or expired
-- code is told apart from an unknown one, and a user code is not handed out again meanwhile.
CREATE TABLE device_codes (
	device_hash BLOB PRIMARY KEY NOT NULL CHECK (length(device_hash) = 32),
	user_code TEXT NOT NULL UNIQUE CHECK (length(user_code) = 8),
	client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	scope TEXT,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	interval INTEGER NOT NULL CHECK (interval >= 0),
	status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3)),
	user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
	grant_id INTEGER REFERENCES grants (id) ON DELETE CASCADE,
	granted TEXT,
	auth_time INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX device_codes_expires ON device_codes (expires_at);
