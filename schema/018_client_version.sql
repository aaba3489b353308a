-- 018_client_version.sql - a number that moves exactly when a client is added, changed or
-- removed, by whichever process or node: each daemon reads it every 100 ms and empties its client
-- cache when it moved (before, any commit to the database emptied it, so every write on a hot
-- path -- an assertion's jti, a DPoP proof, a failed guess -- cost the next requests a cache
-- miss each).
INSERT INTO counters (name, value) VALUES ('clients-version', 0)
	ON CONFLICT (name) DO NOTHING;
CREATE TRIGGER clients_version_insert AFTER INSERT ON clients
BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'clients-version';
END;
CREATE TRIGGER clients_version_update AFTER UPDATE ON clients
BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'clients-version';
END;
CREATE TRIGGER clients_version_delete AFTER DELETE ON clients
BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'clients-version';
END;
