-- 005_scim.sql - SCIM 2.0 administration (RFC 7643/7644): the SCIM attributes of users, groups
-- with their members and scope, and external ids of clients.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 5.
-- Times are Unix seconds. attrs columns hold the rest of a resource's SCIM representation as a
-- JSON object (e.g. a user's name, emails, phoneNumbers, the enterprise extension), with the
-- attributes that have their own columns (userName, displayName, active, externalId, scope)
-- left out of it.

-- A user's SCIM attributes. The email column stays what OpenID Connect's email claim reads: the
-- primary (else the first) of the SCIM emails. A user created before this version keeps its
-- email as its one, primary email.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';
UPDATE users SET attrs = json_object('emails', json_array(json_object('value', email,
	'primary', json('true')))) WHERE email IS NOT NULL;

-- Groups: every member may be granted the group's scope, on top of its own.
CREATE TABLE groups (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	display_name TEXT NOT NULL CHECK (length(display_name) > 0),
	external_id TEXT,
	scope TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX groups_display_name ON groups (display_name COLLATE NOCASE);

-- Members of groups: users only (groups do not nest). They go with their group or user.
CREATE TABLE group_members (
	group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- An identifier the provisioning client (an identity provider) knows a client by, e.g. a
-- device's serial number.
ALTER TABLE clients ADD COLUMN external_id TEXT;

-- Look-ups by externalId, as identity providers do before creating.
CREATE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX clients_external_id ON clients (external_id) WHERE external_id IS NOT NULL;
