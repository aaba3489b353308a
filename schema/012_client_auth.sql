-- 012_client_auth.sql - how a client proves itself (issue 22): its token endpoint authentication
-- method, its public keys, the certificate it presents, and whether its tokens are bound to a key.
-- client_secret_basic: a secret Tessera made (sent by Basic or in the body); none: a public client;
-- private_key_jwt (RFC 7523): an assertion signed with a key of jwks / jwks_uri;
-- tls_client_auth (RFC 8705 §2.1): a certificate from the configured CA naming tls_subject_dn or
-- tls_san; self_signed_tls_client_auth (§2.2): a certificate whose key is in jwks / jwks_uri.
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret_basic'
	CHECK (auth_method IN ('client_secret_basic', 'none', 'private_key_jwt', 'tls_client_auth',
	                       'self_signed_tls_client_auth'));
UPDATE clients SET auth_method = 'none' WHERE is_public;
ALTER TABLE clients ADD COLUMN jwks TEXT;          -- a JWK Set (public keys only), or NULL
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;      -- where the JWK Set is fetched, or NULL
ALTER TABLE clients ADD COLUMN tls_subject_dn TEXT; -- RFC 4514 subject DN, or NULL
ALTER TABLE clients ADD COLUMN tls_san TEXT;       -- 'dns:', 'uri:', 'ip:' or 'email:' + value
ALTER TABLE clients ADD COLUMN cert_bound INTEGER NOT NULL DEFAULT 0 CHECK (cert_bound IN (0, 1));
ALTER TABLE clients ADD COLUMN dpop_bound INTEGER NOT NULL DEFAULT 0 CHECK (dpop_bound IN (0, 1));
-- Only a client_secret_basic client has a secret. The column is_public (001: 1 exactly when no
-- secret is kept) now reads "keeps no secret": 1 for every method but client_secret_basic; a
-- client is public when its method is none (lib/store_clients.c reads it so). Whoever writes a
-- client (the CLI, SCIM, registration) cannot leave a secret behind a method that takes none.
CREATE TRIGGER clients_auth_method_insert BEFORE INSERT ON clients
WHEN (NEW.is_public != 0) != (NEW.auth_method != 'client_secret_basic')
BEGIN
	SELECT RAISE(ABORT, 'a client''s auth_method does not fit its secret');
END;
CREATE TRIGGER clients_auth_method_update BEFORE UPDATE ON clients
WHEN (NEW.is_public != 0) != (NEW.auth_method != 'client_secret_basic')
BEGIN
	SELECT RAISE(ABORT, 'a client''s auth_method does not fit its secret');
END;
