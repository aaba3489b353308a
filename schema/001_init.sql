-- 001_init.sql - Tessera's first schema: clients, users, signing keys, revoked tokens and grants.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 1.
-- Times are Unix seconds; booleans are 0 or 1. Only hashes of secrets are stored.

-- OAuth clients. A confidential client keeps the SHA-256 of its secret (32 bytes); a public client
-- keeps none. Lists (redirect_uris, grant_types, scope) are space-separated.
CREATE TABLE clients (
	client_id TEXT PRIMARY KEY NOT NULL CHECK (length(client_id) > 0),
	name TEXT NOT NULL DEFAULT '',
	is_public INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
	secret_hash BLOB CHECK ((is_public = 1 AND secret_hash IS NULL)
		OR (is_public = 0 AND length(secret_hash) = 32)),
	redirect_uris TEXT NOT NULL DEFAULT '',
	grant_types TEXT NOT NULL DEFAULT '',
	scope TEXT NOT NULL DEFAULT '',
	refresh_rotation INTEGER NOT NULL DEFAULT 1 CHECK (refresh_rotation IN (0, 1)),
	refresh_grace INTEGER NOT NULL DEFAULT 0 CHECK (refresh_grace >= 0),
	active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Users. AUTOINCREMENT: an id is never handed out again, so a token's subject cannot come to name
-- a different user after a removal. Usernames are unique regardless of (ASCII) case.
CREATE TABLE users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) > 0),
	password_hash TEXT,
	email TEXT,
	name TEXT,
	scope TEXT NOT NULL DEFAULT '',
	active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Token signing keys (private PEM). retired_at is NULL for the one key that signs now; retired
-- keys stay published for verification until pruned.
CREATE TABLE signing_keys (
	kid TEXT PRIMARY KEY NOT NULL CHECK (length(kid) > 0),
	alg TEXT NOT NULL CHECK (length(alg) > 0),
	pem TEXT NOT NULL CHECK (length(pem) > 0),
	created_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;
-- At most one signing key at a time.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (retired_at IS NULL)
	WHERE retired_at IS NULL;

-- Revoked access tokens by jti, kept until they would have expired anyway.
CREATE TABLE revocations (
	jti TEXT PRIMARY KEY NOT NULL,
	exp INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX revocations_exp ON revocations (exp);

-- What a user (or, with user_id NULL, a client on its own) has been granted; refresh tokens,
-- consents and device approvals hang off a grant. Removing the client or user removes its grants.
CREATE TABLE grants (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
	scope TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user ON grants (user_id);
