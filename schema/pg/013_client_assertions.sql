-- 013_client_assertions.sql - PostgreSQL twin of schema/013_client_assertions.sql: the jti of each
-- private_key_jwt assertion accepted, until it expires (a replay is refused).
CREATE TABLE client_assertions (
	client_id text NOT NULL,
	jti text NOT NULL,
	exp bigint NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_exp ON client_assertions (exp);
