-- 011_reference_tokens.sql - PostgreSQL twin of schema/011_reference_tokens.sql.
ALTER TABLE clients ADD COLUMN token_format text NOT NULL DEFAULT 'jwt'
	CHECK (token_format IN ('jwt', 'reference'));
CREATE TABLE reference_tokens (
	hash bytea PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
	claims text NOT NULL,
	exp bigint NOT NULL
);
CREATE INDEX reference_tokens_exp ON reference_tokens (exp);
