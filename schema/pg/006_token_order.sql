-- 006_token_order.sql - PostgreSQL twin of schema/006_token_order.sql.
ALTER TABLE refresh_tokens ADD COLUMN successor_ms bigint CHECK (successor_ms > 0);
