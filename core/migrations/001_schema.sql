-- Switchboard schema, version 1.
-- Every row carries its org. Times are INTEGER unix seconds (UTC) taken from the engine's Clock;
-- nothing here uses CURRENT_TIMESTAMP or random().

CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sitters (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL,
    email       TEXT NOT NULL
);
CREATE INDEX sitters_org ON sitters(org_id);

CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL,
    email       TEXT NOT NULL
);
CREATE INDEX clients_org_phone ON clients(org_id, phone);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'sitter')),
    sitter_id   INTEGER REFERENCES sitters(id),
    CHECK ((role = 'sitter') = (sitter_id IS NOT NULL)),
    UNIQUE (org_id, name)
);

CREATE TABLE api_tokens (
    token       TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id)
);

CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    sitter_id     INTEGER REFERENCES sitters(id),
    service       TEXT NOT NULL,
    start_at      INTEGER NOT NULL,
    end_at        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled')),
    -- The assignment window: booking time widened by the service's buffer.
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX bookings_client_window ON bookings(org_id, client_id, window_start);

CREATE TABLE message_numbers (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES orgs(id),
    e164              TEXT NOT NULL UNIQUE,
    class             TEXT NOT NULL CHECK (class IN ('pool', 'front_desk', 'sitter')),
    status            TEXT NOT NULL CHECK (status IN ('active', 'quarantined', 'retired')),
    sitter_id         INTEGER REFERENCES sitters(id),
    last_assigned_at  INTEGER,
    created_at        INTEGER NOT NULL,
    -- Open threads bound to this number, kept in the same transaction as every bind and unbind,
    -- so capacity is a column read instead of a GROUP BY over all threads.
    open_load         INTEGER NOT NULL DEFAULT 0 CHECK (open_load >= 0)
);
-- NULLs sort first in SQLite, so never-assigned numbers lead the LRU order.
CREATE INDEX numbers_lru ON message_numbers(org_id, class, status, last_assigned_at, created_at, id);
CREATE INDEX numbers_fifo ON message_numbers(org_id, class, status, created_at, id);

CREATE TABLE threads (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES orgs(id),
    client_id        INTEGER NOT NULL REFERENCES clients(id),
    sitter_id        INTEGER REFERENCES sitters(id),
    booking_id       INTEGER REFERENCES bookings(id),
    status           TEXT NOT NULL CHECK (status IN ('open', 'closed', 'archived')),
    number_id        INTEGER REFERENCES message_numbers(id),
    bound_at         INTEGER,
    -- maxConcurrentThreadsPerPoolNumber in force when the number was bound (for the capacity invariant).
    bound_cap        INTEGER,
    last_message_at  INTEGER,
    created_at       INTEGER NOT NULL,
    -- Earliest release deadline of the current binding; NULL when unbound. Kept current on bind,
    -- message, booking change and settings change so the release job reads only due rows.
    release_due_at   INTEGER,
    CHECK ((number_id IS NULL) = (bound_at IS NULL)),
    CHECK (number_id IS NULL OR status = 'open')
);
CREATE INDEX threads_due ON threads(org_id, release_due_at) WHERE number_id IS NOT NULL;
CREATE INDEX threads_number_open ON threads(number_id, client_id) WHERE number_id IS NOT NULL;
CREATE INDEX threads_client ON threads(org_id, client_id, status);
CREATE INDEX threads_booking ON threads(booking_id);
CREATE INDEX threads_sitter ON threads(org_id, sitter_id, status);

-- Every binding a thread ever had: sticky reuse reads it, the audit invariant checks against it.
CREATE TABLE number_bindings (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    thread_id     INTEGER NOT NULL REFERENCES threads(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    number_id     INTEGER NOT NULL REFERENCES message_numbers(id),
    bound_at      INTEGER NOT NULL,
    released_at   INTEGER,
    release_rule  TEXT
);
CREATE INDEX bindings_client ON number_bindings(org_id, client_id, id);
CREATE INDEX bindings_thread ON number_bindings(thread_id, id);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    thread_id     INTEGER REFERENCES threads(id),
    direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    actor         TEXT NOT NULL,
    from_e164     TEXT NOT NULL,
    to_e164       TEXT NOT NULL,
    body          TEXT NOT NULL,
    at            INTEGER NOT NULL,
    provider_sid  TEXT,
    routed_to     TEXT NOT NULL,
    delivery      TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    UNIQUE (org_id, provider_sid)
);
CREATE INDEX messages_thread ON messages(thread_id, id);
CREATE INDEX messages_inbox ON messages(org_id, routed_to, id);

CREATE TABLE rotation_settings (
    org_id     INTEGER PRIMARY KEY REFERENCES orgs(id),
    settings   TEXT NOT NULL
);

CREATE TABLE chaos_settings (
    org_id     INTEGER PRIMARY KEY REFERENCES orgs(id),
    settings   TEXT NOT NULL
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    thread_id   INTEGER REFERENCES threads(id),
    number_id   INTEGER REFERENCES message_numbers(id),
    message_id  INTEGER REFERENCES messages(id),
    payload     TEXT NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_thread ON audit_events(thread_id, seq);
CREATE INDEX audit_message ON audit_events(message_id);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    type         TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    entity       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    message      TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    resolved_at  INTEGER
);
CREATE UNIQUE INDEX alerts_one_open ON alerts(org_id, type, entity) WHERE status = 'open';
