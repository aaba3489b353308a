-- 004_device.sql - PostgreSQL twin of schema/004_device.sql.
CREATE TABLE device_codes (
	device_hash bytea PRIMARY KEY NOT NULL CHECK (length(device_hash) = 32),
	user_code text NOT NULL UNIQUE CHECK (length(user_code) = 8),
	client_id text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	scope text,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	"interval" bigint NOT NULL CHECK ("interval" >= 0),
	status bigint NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3)),
	user_id bigint REFERENCES users (id) ON DELETE CASCADE,
	grant_id bigint REFERENCES grants (id) ON DELETE CASCADE,
	granted text,
	auth_time bigint
);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
