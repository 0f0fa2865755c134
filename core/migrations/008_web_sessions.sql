-- Browser sessions for the pages (DESIGN.md §4). The cookie carries a random id; only its
-- SHA-256 is stored, so a copy of the database does not hand out live sessions.
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
