-- 016_enrollment.sql - PostgreSQL twin of schema/016_enrollment.sql: enrollment tokens and the
-- clients registered with them (RFC 7591, 7592).
CREATE TABLE enrollment_tokens (
	id text PRIMARY KEY NOT NULL,
	hash bytea NOT NULL CHECK (length(hash) = 32),
	name text NOT NULL DEFAULT '',
	grant_types text NOT NULL,
	scope text NOT NULL,
	auth_method text NOT NULL
		CHECK (auth_method IN ('private_key_jwt', 'self_signed_tls_client_auth')),
	token_format text NOT NULL DEFAULT 'jwt' CHECK (token_format IN ('jwt', 'reference')),
	max_uses bigint NOT NULL CHECK (max_uses > 0),
	uses bigint NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
	expires_at bigint NOT NULL,
	created_at bigint NOT NULL,
	revoked_at bigint
);
CREATE TABLE registrations (
	client_id text PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	hash bytea NOT NULL CHECK (length(hash) = 32),
	enrollment_id text NOT NULL,
	grant_types text NOT NULL,
	scope text NOT NULL,
	auth_method text NOT NULL,
	token_format text NOT NULL,
	created_at bigint NOT NULL
);
CREATE INDEX registrations_enrollment ON registrations (enrollment_id);
