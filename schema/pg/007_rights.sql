-- 007_rights.sql - PostgreSQL twin of schema/007_rights.sql.
CREATE TABLE counters (
	name text PRIMARY KEY NOT NULL CHECK (length(name) > 0),
	value bigint NOT NULL
);

ALTER TABLE clients ADD COLUMN record bigint NOT NULL DEFAULT 0 CHECK (record >= 0);

ALTER TABLE grants ADD COLUMN client_record bigint NOT NULL DEFAULT 0 CHECK (client_record >= 0);

ALTER TABLE refresh_tokens ADD COLUMN scope text;
