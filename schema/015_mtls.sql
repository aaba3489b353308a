-- 015_mtls.sql - certificate-bound refresh tokens (RFC 8705 §3, issue 22 §2): a refresh token
-- issued over a connection with a TLS client certificate to a client whose tokens are bound to
-- it keeps that certificate's x5t#S256 (base64url of the SHA-256 of its DER), and is accepted
-- only over a connection with the same certificate. Its successors keep the binding. A token
-- without a row here is not bound. The row goes with its token (ON DELETE CASCADE).
CREATE TABLE refresh_cert_bindings (
	token_hash BLOB PRIMARY KEY NOT NULL
		REFERENCES refresh_tokens (token_hash) ON DELETE CASCADE,
	x5t TEXT NOT NULL CHECK (length(x5t) = 43)
) STRICT, WITHOUT ROWID;
