-- 014_dpop.sql - PostgreSQL twin of schema/014_dpop.sql: DPoP proofs seen (replay), and the key
-- a refresh token is bound to.
CREATE TABLE dpop_proofs (
	replay bytea PRIMARY KEY NOT NULL CHECK (length(replay) = 32),
	expires_at bigint NOT NULL
);
CREATE INDEX dpop_proofs_expires ON dpop_proofs (expires_at);
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt text;
