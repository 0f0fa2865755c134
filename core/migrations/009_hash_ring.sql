-- Version 9: the HASH_SHUFFLE ring (core/src/hash_ring.rs). Every pool number owns 32 points at
-- fixed hash positions; an assignment walks the org's points clockwise from its key's position
-- (index hash_ring_walk) and stops at the first available number, so it reads a few rows instead
-- of weighing every number with room. The points of numbers that already exist are added by the
-- migration's Rust hook (the hash is not SQL).
CREATE TABLE hash_ring (
    number_id  INTEGER NOT NULL REFERENCES message_numbers(id),
    replica    INTEGER NOT NULL,
    org_id     INTEGER NOT NULL REFERENCES orgs(id),
    -- fmix64(fnv1a64(e164 || 0xFF || replica)) as a signed 64-bit integer.
    pos        INTEGER NOT NULL,
    UNIQUE (number_id, replica)
);
CREATE INDEX hash_ring_walk ON hash_ring(org_id, pos, number_id);
