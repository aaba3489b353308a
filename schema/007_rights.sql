-- 007_rights.sql - rights that follow the directory: client records, and the scope each chain of
-- refresh tokens was authorized.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 7.

-- Numbers handed out once each, by name (e.g. "client-record"); the store takes the next one in
-- the transaction that uses it.
CREATE TABLE counters (
	name TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
	value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Which record of a client id this is: a client removed and added again under the same id is a
-- new record, and the tokens and grants of the old one do not pass for its. Every client added
-- from this version on takes the next "client-record" number (1, 2, ...); clients from before
-- keep 0, the record that access tokens without a record claim belong to.
ALTER TABLE clients ADD COLUMN record INTEGER NOT NULL DEFAULT 0 CHECK (record >= 0);

-- The client record a grant was made with (its client's record when it was added; grants and
-- clients from before this version: 0).
ALTER TABLE grants ADD COLUMN client_record INTEGER NOT NULL DEFAULT 0 CHECK (client_record >= 0);

-- The scope a refresh token's authorization gave (the code's or the device approval's), which
-- its successors inherit: a refresh never yields more than it, nor more than its grant allows
-- now. NULL (tokens from before this version): the grant's whole scope.
ALTER TABLE refresh_tokens ADD COLUMN scope TEXT;
