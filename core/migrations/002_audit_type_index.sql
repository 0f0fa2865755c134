-- Version 2: find audit events by type without scanning the whole trail
-- (the API's `?type=` filter and the harness's alert-completeness check).
CREATE INDEX audit_type ON audit_events(type, seq);
