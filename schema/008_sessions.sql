-- 008_sessions.sql - browser sessions end with the user's credentials, and clients register where
-- a logout may send the browser (OpenID Connect RP-Initiated Logout 1.0).
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 9.

-- A password change, a disable or a removal ends every browser session of that user at once,
-- whichever path wrote it (the CLI, SCIM PUT or PATCH, or anything added later): the store does
-- it, not each caller. A SCIM PUT that repeats the password sets a new hash (a new salt), which
-- counts as a change. Removal is also covered by sessions.user_id's ON DELETE CASCADE; the
-- trigger holds when foreign keys are off.
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TRIGGER users_password_ends_sessions AFTER UPDATE OF password_hash ON users
	WHEN NEW.password_hash IS NOT OLD.password_hash
BEGIN
	DELETE FROM sessions WHERE user_id = NEW.id;
END;

CREATE TRIGGER users_disable_ends_sessions AFTER UPDATE OF active ON users
	WHEN NEW.active = 0
BEGIN
	DELETE FROM sessions WHERE user_id = NEW.id;
END;

CREATE TRIGGER users_remove_ends_sessions AFTER DELETE ON users
BEGIN
	DELETE FROM sessions WHERE user_id = OLD.id;
END;

-- The URIs a client may ask /logout to send the browser to afterwards, space-separated and
-- compared exactly, like redirect_uris.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
