-- 013_client_assertions.sql - private_key_jwt (issue 22 §1, RFC 7523 §3 item 7): the jti of
-- each client assertion accepted, kept until the assertion expires, so that one replayed
-- within its lifetime (also after a restart) is refused. A row per (client, jti); exp is the
-- assertion's, purged after it (the daemon's hourly purge).
CREATE TABLE client_assertions (
	client_id TEXT NOT NULL,
	jti TEXT NOT NULL,
	exp INTEGER NOT NULL,
	PRIMARY KEY (client_id, jti)
) STRICT, WITHOUT ROWID;
CREATE INDEX client_assertions_exp ON client_assertions (exp);
