-- 010_changes.sql - the change feed: every change of rights that a broker must act on, in order.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 10.
--
-- One row per change, written by triggers, so that whichever process makes the change (the
-- daemon for SCIM and /revoke, the CLI in a process of its own) and whichever path it takes,
-- the row is written in the same transaction. The daemon watches the highest id and pushes new
-- rows to every open GET /changes (server/feed.c). AUTOINCREMENT: ids only grow, and an id is
-- never handed out again after a purge, so a broker resuming after id N misses nothing when
-- N + 1 is still kept. Rows older than an hour are purged (the daemon's hourly purge).
--   kind 'grant':  grant_id, client_id, sub (NULL for a client's own), scope, revoked (1 when
--                  revoked or removed) after a grant's scope changed or it was revoked or removed;
--   kind 'client': client_id, scope, revoked (1: disabled), removed (1: removed);
--   kind 'token':  jti, for a revoked access token;
--   kind 'user':   sub, when a user's rights may have changed (disabled, removed, its scope or
--                  its groups' scope changed, or it left a group).
-- Plain columns, not JSON: the daemon runs with trusted_schema off, where triggers may not call
-- the JSON functions; the daemon writes the events' JSON.
CREATE TABLE changes (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL CHECK (kind IN ('grant', 'client', 'token', 'user')),
	grant_id INTEGER,
	client_id TEXT,
	sub TEXT,
	jti TEXT,
	scope TEXT,
	revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
	removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
	at INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_at ON changes (at);

CREATE TRIGGER changes_grant_update AFTER UPDATE OF scope, revoked_at ON grants
	WHEN NEW.scope IS NOT OLD.scope OR NEW.revoked_at IS NOT OLD.revoked_at
BEGIN
	INSERT INTO changes (kind, grant_id, client_id, sub, scope, revoked, at) VALUES ('grant',
		NEW.id, NEW.client_id, CAST(NEW.user_id AS TEXT), NEW.scope,
		NEW.revoked_at IS NOT NULL, unixepoch());
END;

CREATE TRIGGER changes_grant_delete AFTER DELETE ON grants
BEGIN
	INSERT INTO changes (kind, grant_id, client_id, sub, scope, revoked, removed, at) VALUES
		('grant', OLD.id, OLD.client_id, CAST(OLD.user_id AS TEXT), '', 1, 1, unixepoch());
END;

CREATE TRIGGER changes_client_update AFTER UPDATE OF scope, active ON clients
	WHEN NEW.scope IS NOT OLD.scope OR NEW.active IS NOT OLD.active
BEGIN
	INSERT INTO changes (kind, client_id, scope, revoked, at) VALUES ('client', NEW.client_id,
		NEW.scope, NEW.active = 0, unixepoch());
END;

CREATE TRIGGER changes_client_delete AFTER DELETE ON clients
BEGIN
	INSERT INTO changes (kind, client_id, scope, revoked, removed, at) VALUES ('client',
		OLD.client_id, '', 1, 1, unixepoch());
END;

CREATE TRIGGER changes_token_revoke AFTER INSERT ON revocations
BEGIN
	INSERT INTO changes (kind, jti, revoked, at) VALUES ('token', NEW.jti, 1, unixepoch());
END;

CREATE TRIGGER changes_user_update AFTER UPDATE OF scope, active ON users
	WHEN NEW.scope IS NOT OLD.scope OR NEW.active IS NOT OLD.active
BEGIN
	INSERT INTO changes (kind, sub, revoked, at) VALUES ('user', CAST(NEW.id AS TEXT),
		NEW.active = 0, unixepoch());
END;

CREATE TRIGGER changes_user_delete AFTER DELETE ON users
BEGIN
	INSERT INTO changes (kind, sub, revoked, removed, at) VALUES ('user', CAST(OLD.id AS TEXT),
		1, 1, unixepoch());
END;

CREATE TRIGGER changes_member_remove AFTER DELETE ON group_members
BEGIN
	INSERT INTO changes (kind, sub, at) VALUES ('user', CAST(OLD.user_id AS TEXT), unixepoch());
END;

CREATE TRIGGER changes_group_scope AFTER UPDATE OF scope ON groups
	WHEN NEW.scope IS NOT OLD.scope
BEGIN
	INSERT INTO changes (kind, sub, at) SELECT 'user', CAST(user_id AS TEXT), unixepoch()
		FROM group_members WHERE group_id = NEW.id;
END;
