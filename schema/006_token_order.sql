-- 006_token_order.sql - grant tokens stored in the order they were made.
-- Applied by lib/store.c inside one BEGIN IMMEDIATE transaction that also sets user_version = 6.
-- Codes, refresh tokens and device codes made from this version on are 51 base64url characters:
-- the time they were made in Unix milliseconds (6 bytes, big-endian), then 32 random bytes (a
-- rotated refresh token's successor: 32 bytes of HMAC). Their key, in the same 32-byte columns
-- as before, is that time followed by the first 26 bytes of the text's SHA-256, so that rows
-- written together sit together in each table's B-tree and a commit of many rewrites a few pages,
-- not one page each. Tokens made before keep their key, the SHA-256 of their text.

-- When a rotating refresh token is used up: the time in its successor's text, so that the grace
-- answer can give the same successor again. NULL before, and for rotations before this version
-- (whose successor is the HMAC alone).
ALTER TABLE refresh_tokens ADD COLUMN successor_ms INTEGER CHECK (successor_ms > 0);
