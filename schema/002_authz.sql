-- 002_authz.sql - the authorization code flow: codes, browser sessions, consents, refresh tokens,
-- and at most one active grant per user and client.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 2.
-- Times are Unix seconds; booleans are 0 or 1. Codes, session ids and refresh tokens are stored
-- only as their SHA-256 (32 bytes). Every row hangs off a client, a user or a grant and goes with it.

-- Nothing in version 1 wrote grants, but a database edited by hand could hold two active grants of
-- one user for one client: keep the newest active and revoke the others, so the index below fits.
UPDATE grants SET revoked_at = updated_at
	WHERE revoked_at IS NULL AND user_id IS NOT NULL
	AND id NOT IN (SELECT max(id) FROM grants WHERE revoked_at IS NULL AND user_id IS NOT NULL
		GROUP BY user_id, client_id);
-- At most one active grant per user and client. Client-only grants (user_id NULL) are not limited:
-- NULLs are distinct in a unique index.
CREATE UNIQUE INDEX grants_active ON grants (user_id, client_id) WHERE revoked_at IS NULL;

-- Authorization codes. used_at is set once, when the code is redeemed; a second redemption finds
-- it set (and the grant is revoked by the caller). Expired codes are purged by expires_at.
CREATE TABLE codes (
	code_hash BLOB PRIMARY KEY NOT NULL CHECK (length(code_hash) = 32),
	client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	redirect_uri TEXT NOT NULL,
	redirect_given INTEGER NOT NULL DEFAULT 0 CHECK (redirect_given IN (0, 1)),
	challenge TEXT NOT NULL,
	scope TEXT NOT NULL DEFAULT '',
	nonce TEXT,
	auth_time INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX codes_expires ON codes (expires_at);

-- Browser sessions (login cookie), under the SHA-256 of the cookie value.
CREATE TABLE sessions (
	id_hash BLOB PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	auth_time INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires_at);

-- What a user approved for a client: one row per scope token, so that approving more only adds.
CREATE TABLE consents (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	scope_token TEXT NOT NULL CHECK (length(scope_token) > 0 AND instr(scope_token, ' ') = 0),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, client_id, scope_token)
) STRICT, WITHOUT ROWID;

-- Refresh tokens, under the SHA-256 of their text. used_at is set when a rotating token is spent.
CREATE TABLE refresh_tokens (
	token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
	grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
