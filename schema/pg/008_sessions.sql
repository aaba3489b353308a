-- 008_sessions.sql - PostgreSQL twin of schema/008_sessions.sql: a user's sessions end when the
-- password changes, the user is disabled or removed (triggers, as plpgsql functions).
CREATE INDEX sessions_user ON sessions (user_id);

CREATE FUNCTION users_ends_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM sessions WHERE user_id = OLD.id;
	RETURN NULL;
END $$;

CREATE TRIGGER users_password_ends_sessions AFTER UPDATE OF password_hash ON users
	FOR EACH ROW WHEN (NEW.password_hash IS DISTINCT FROM OLD.password_hash)
	EXECUTE FUNCTION users_ends_sessions();
CREATE TRIGGER users_disable_ends_sessions AFTER UPDATE OF active ON users
	FOR EACH ROW WHEN (NEW.active = 0)
	EXECUTE FUNCTION users_ends_sessions();
CREATE TRIGGER users_remove_ends_sessions AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION users_ends_sessions();

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text NOT NULL DEFAULT '';
