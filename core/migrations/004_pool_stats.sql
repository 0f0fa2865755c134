-- Version 4: per-org pool counters, kept in the same transaction as every bind, unbind, number
-- change and cap change, so an assignment reads its capacity figures instead of counting every
-- pool number (DESIGN.md: cost must not grow with data that is not involved).
CREATE TABLE pool_stats (
    org_id          INTEGER PRIMARY KEY REFERENCES orgs(id),
    -- The maxConcurrentThreadsPerPoolNumber that `with_room` was counted for.
    cap             INTEGER NOT NULL,
    -- Active pool numbers.
    active_numbers  INTEGER NOT NULL CHECK (active_numbers >= 0),
    -- Active pool numbers with open_load < cap.
    with_room       INTEGER NOT NULL CHECK (with_room >= 0)
);
