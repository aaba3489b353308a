-- 009_names.sql - one account per userName however it is spelt, and no client whose id is a
-- user's number.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 9;
-- lib/store_users.c (store_user_fill_keys) then fills users.name_key in the same transaction.

-- A user's name as compared: trimmed, default-ignorable code points dropped, NFKC case-folded
-- (lib/username.c), so that `alice`, `ａｌｉｃｅ`, `alice ` and `alice` + U+200B are one name. The
-- store sets it on every write of a user; logins and the CLI look users up by it. Where users
-- made before this version share a key, the oldest active one keeps it (else the oldest), and the
-- others are disabled with no key (nothing is deleted): they can sign in again only once renamed
-- to a free name.
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX users_name_key ON users (name_key);

-- Client-credentials tokens carry sub = the client id, a user's tokens sub = the user's number:
-- a client id made only of digits would share its sub with that user. New ones are refused
-- (lib/client.c says why at every path; this is the last word), existing ones disabled.
UPDATE clients SET active = 0, updated_at = CAST(strftime('%s', 'now') AS INTEGER)
	WHERE active AND client_id NOT GLOB '*[^0-9]*';
CREATE TRIGGER clients_id_not_a_number BEFORE INSERT ON clients
	WHEN NEW.client_id NOT GLOB '*[^0-9]*'
BEGIN
	SELECT RAISE(ABORT, 'a client id made only of digits would be a user''s sub');
END;
