-- 016_enrollment.sql - enrolling a fleet (issue 22 §4): enrollment tokens, each with the template
-- that every client registered with it gets (RFC 7591 dynamic registration), and the registration
-- access tokens of the clients registered so (RFC 7592).
-- An enrollment token's text is "<id>.<secret>": id names the row, the secret (256 random bits,
-- base64url) is kept only as its SHA-256. A token registers at most max_uses clients, before
-- expires_at, until it is revoked (revoked_at); uses counts the clients registered with it.
CREATE TABLE enrollment_tokens (
	id TEXT PRIMARY KEY NOT NULL,
	hash BLOB NOT NULL CHECK (length(hash) = 32),
	name TEXT NOT NULL DEFAULT '',
	grant_types TEXT NOT NULL,
	scope TEXT NOT NULL,
	auth_method TEXT NOT NULL
		CHECK (auth_method IN ('private_key_jwt', 'self_signed_tls_client_auth')),
	token_format TEXT NOT NULL DEFAULT 'jwt' CHECK (token_format IN ('jwt', 'reference')),
	max_uses INTEGER NOT NULL CHECK (max_uses > 0),
	uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
-- A client registered through an enrollment token: the SHA-256 of its registration access token
-- and a copy of the template it was registered under (an update may not go beyond it, even once
-- the enrollment token is revoked). Removing the client removes its registration.
CREATE TABLE registrations (
	client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	hash BLOB NOT NULL CHECK (length(hash) = 32),
	enrollment_id TEXT NOT NULL,
	grant_types TEXT NOT NULL,
	scope TEXT NOT NULL,
	auth_method TEXT NOT NULL,
	token_format TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX registrations_enrollment ON registrations (enrollment_id);
