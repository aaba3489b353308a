-- 018_client_version.sql - PostgreSQL twin of schema/018_client_version.sql: a number that moves
-- exactly when a client is added, changed or removed (one statement-level trigger; the daemon
-- reads it when a NOTIFY said something was committed, and empties its client cache when it moved).
INSERT INTO counters (name, value) VALUES ('clients-version', 0)
	ON CONFLICT (name) DO NOTHING;
CREATE FUNCTION tessera_clients_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'clients-version';
	RETURN NULL;
END $$;
CREATE TRIGGER clients_version AFTER INSERT OR UPDATE OR DELETE ON clients
	FOR EACH STATEMENT EXECUTE FUNCTION tessera_clients_version();
