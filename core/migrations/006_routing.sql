-- Migration 6 (routing, hashed tokens, delayed delivery, waiting threads).

-- Bearer tokens are stored only as SHA-256 digests. The migration hook in db.rs moves any
-- plaintext tokens of migration 1 here and drops the old table.
CREATE TABLE api_token_digests (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    digest   BLOB NOT NULL UNIQUE
);
CREATE INDEX api_token_digests_user ON api_token_digests(user_id);

-- Set when the thread asked for a pool number and none was available (pool.exhausted); cleared
-- when it is bound. The exhaustion alert is open exactly while an open, unbound thread has it.
ALTER TABLE threads ADD COLUMN awaiting_number_since INTEGER;
CREATE INDEX threads_awaiting ON threads(org_id, id) WHERE awaiting_number_since IS NOT NULL;

-- A delayed outbound message stays `queued` until this instant; NULL once delivered or never delayed.
ALTER TABLE messages ADD COLUMN deliver_at INTEGER;
CREATE INDEX messages_due ON messages(deliver_at, id) WHERE deliver_at IS NOT NULL;

-- The region that phone numbers without a country code are read in (libphonenumber region code).
ALTER TABLE orgs ADD COLUMN default_region TEXT NOT NULL DEFAULT 'US';
