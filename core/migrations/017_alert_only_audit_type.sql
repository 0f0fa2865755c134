-- Migration 17: `audit_type` holds only the alert events (issue 12 point 3). Migration 2 made it
-- for the API's `?type=` filter and the harness's alert-completeness count. The API's filter is
-- now `(?2 IS NULL OR type = ?2)` over the org's trail by `(org_id, seq)`, which cannot use it;
-- the one reader left is the harness's count of `alert.opened` and `alert.resolved` events
-- (`INDEXED BY audit_type ... WHERE type = 'alert.opened'`, which implies the OR below, so the
-- partial index still serves it by key). Every other event — one `message.received` per inbound
-- webhook, the busy year's million — wrote an entry (and its page into the journal and back)
-- that nothing read. Same rows, same query results.

DROP INDEX audit_type;
CREATE INDEX audit_type ON audit_events(type, seq)
    WHERE type = 'alert.opened' OR type = 'alert.resolved';
