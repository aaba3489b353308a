-- 011_reference_tokens.sql - reference access tokens (issue 21 §4): per client, the access-token
-- format, and the tokens of the clients that take opaque ones.
-- A client's access tokens are JWTs ('jwt', the default) or opaque references ('reference').
ALTER TABLE clients ADD COLUMN token_format TEXT NOT NULL DEFAULT 'jwt'
	CHECK (token_format IN ('jwt', 'reference'));
-- A reference token is kept as the SHA-256 of its text with the claims a JWT would carry (the
-- same JSON object), until it expires (exp); /introspect, /userinfo and /revoke read it here.
CREATE TABLE reference_tokens (
	hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
	claims TEXT NOT NULL,
	exp INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX reference_tokens_exp ON reference_tokens (exp);
