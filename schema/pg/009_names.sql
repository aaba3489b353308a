-- 009_names.sql - PostgreSQL twin of schema/009_names.sql: users' name keys (filled by
-- lib/store.c after this SQL), and no client id made only of digits.
ALTER TABLE users ADD COLUMN name_key text;
CREATE UNIQUE INDEX users_name_key ON users (name_key);

UPDATE clients SET active = 0, updated_at = extract(epoch FROM now())::bigint
	WHERE active <> 0 AND client_id !~ '[^0-9]';

CREATE FUNCTION clients_id_not_a_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a client id made only of digits would be a user''s sub';
END $$;
CREATE TRIGGER clients_id_not_a_number BEFORE INSERT ON clients
	FOR EACH ROW WHEN (NEW.client_id !~ '[^0-9]')
	EXECUTE FUNCTION clients_id_not_a_number();
