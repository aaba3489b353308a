-- 012_client_auth.sql - PostgreSQL twin of schema/012_client_auth.sql: a client's token endpoint
-- authentication method, its keys, its certificate's name, and whether its tokens are bound; a
-- secret only beside client_secret_basic (is_public reads "keeps no secret").
ALTER TABLE clients ADD COLUMN auth_method text NOT NULL DEFAULT 'client_secret_basic'
	CHECK (auth_method IN ('client_secret_basic', 'none', 'private_key_jwt', 'tls_client_auth',
	                       'self_signed_tls_client_auth'));
UPDATE clients SET auth_method = 'none' WHERE is_public <> 0;
ALTER TABLE clients ADD COLUMN jwks text;
ALTER TABLE clients ADD COLUMN jwks_uri text;
ALTER TABLE clients ADD COLUMN tls_subject_dn text;
ALTER TABLE clients ADD COLUMN tls_san text;
ALTER TABLE clients ADD COLUMN cert_bound bigint NOT NULL DEFAULT 0 CHECK (cert_bound IN (0, 1));
ALTER TABLE clients ADD COLUMN dpop_bound bigint NOT NULL DEFAULT 0 CHECK (dpop_bound IN (0, 1));

CREATE FUNCTION clients_auth_method() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a client''s auth_method does not fit its secret';
END $$;
CREATE TRIGGER clients_auth_method_insert BEFORE INSERT ON clients
	FOR EACH ROW WHEN ((NEW.is_public <> 0) <> (NEW.auth_method <> 'client_secret_basic'))
	EXECUTE FUNCTION clients_auth_method();
CREATE TRIGGER clients_auth_method_update BEFORE UPDATE ON clients
	FOR EACH ROW WHEN ((NEW.is_public <> 0) <> (NEW.auth_method <> 'client_secret_basic'))
	EXECUTE FUNCTION clients_auth_method();
