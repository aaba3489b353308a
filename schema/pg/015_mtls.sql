-- 015_mtls.sql - PostgreSQL twin of schema/015_mtls.sql: certificate-bound refresh tokens (the
-- x5t#S256 a refresh token is bound to; its successors keep it).
CREATE TABLE refresh_cert_bindings (
	token_hash bytea PRIMARY KEY NOT NULL
		REFERENCES refresh_tokens (token_hash) ON DELETE CASCADE,
	x5t text NOT NULL CHECK (length(x5t) = 43)
);
