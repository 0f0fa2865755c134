-- Migration 16: fewer index entries per inbound webhook (issue 12 point 3). Each message and
-- audit row wrote an entry into both indexes below; late in a busy year the random-key ones miss
-- the bounded page cache and copy their pages in from memdb on every insert. Same rows, same
-- query results; only where the entries live changes.
--
-- 1. `messages_inbox` served one query, the owner inbox (`routed_to = 'owner_inbox'`, by id):
--    a partial index on that destination alone keeps that read by key while a message routed to
--    a sitter or a client (almost every message) writes no entry.
-- 2. `audit_message` served no query: the timeline and the audit page read an org's trail
--    through `UNIQUE (org_id, seq)` and test the message on the rows (their `?N IS NULL OR
--    column = ?N` filters cannot use an index), and every other reader walks the trail by id.
--    It would only speed up the foreign-key check on deleting a message, which the engine never
--    does. (`audit_thread` stays although no query reads it either: SQLite's foreign-key code
--    for an insert into `threads` looks audit rows up by `thread_id`, and without the index
--    that lookup is a table walk in the plan.)

DROP INDEX messages_inbox;
CREATE INDEX messages_inbox ON messages(org_id, id) WHERE routed_to = 'owner_inbox';

DROP INDEX audit_message;
