-- 002_authz.sql - PostgreSQL twin of schema/002_authz.sql: codes, sessions, consents, refresh
-- tokens, and at most one active grant per user and client.

UPDATE grants SET revoked_at = updated_at
	WHERE revoked_at IS NULL AND user_id IS NOT NULL
	AND id NOT IN (SELECT max(id) FROM grants WHERE revoked_at IS NULL AND user_id IS NOT NULL
		GROUP BY user_id, client_id);
CREATE UNIQUE INDEX grants_active ON grants (user_id, client_id) WHERE revoked_at IS NULL;

CREATE TABLE codes (
	code_hash bytea PRIMARY KEY NOT NULL CHECK (length(code_hash) = 32),
	client_id text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	grant_id bigint NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	redirect_uri text NOT NULL,
	redirect_given bigint NOT NULL DEFAULT 0 CHECK (redirect_given IN (0, 1)),
	challenge text NOT NULL,
	scope text NOT NULL DEFAULT '',
	nonce text,
	auth_time bigint NOT NULL,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	used_at bigint
);
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE sessions (
	id_hash bytea PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	auth_time bigint NOT NULL,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE consents (
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	scope_token text NOT NULL CHECK (length(scope_token) > 0 AND strpos(scope_token, ' ') = 0),
	created_at bigint NOT NULL,
	PRIMARY KEY (user_id, client_id, scope_token)
);

CREATE TABLE refresh_tokens (
	token_hash bytea PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
	grant_id bigint NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	used_at bigint
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
