-- 014_dpop.sql - DPoP (RFC 9449, issue 22 §3): the single use of proofs, and refresh tokens
-- bound to a client's key.
-- A proof's jti may be used once with its key (RFC 9449 §11.1): the record, keyed by the
-- SHA-256 of the key's thumbprint and the jti, lives as long as the proof would be accepted
-- (its iat plus the window), so that a replay is refused even after a restart or on another
-- process sharing the database.
CREATE TABLE dpop_proofs (
	replay BLOB PRIMARY KEY NOT NULL CHECK (length(replay) = 32),
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX dpop_proofs_expires ON dpop_proofs (expires_at);
-- The RFC 7638 thumbprint of the key a public client's refresh token is bound to (RFC 9449
-- §5): a refresh must come with a proof by that key. NULL: not bound. Successors keep it.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
