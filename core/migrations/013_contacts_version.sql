-- Version 13: the version of the rows the leak scanner is built from (world::all_contacts: the
-- phones and emails of sitters and clients, and every business number's e164). Triggers bump it
-- on every insert and delete of those rows and on every update of those columns, so the
-- engine's cached scanner is rebuilt when the stored version differs from the one it was built
-- at, whoever wrote the rows (the engine, a bulk loader, a raw SQL write). Updates of other
-- columns (a number's `open_load`, status, `last_assigned_at`) leave it alone: the scanner does
-- not depend on them.
CREATE TABLE contacts_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO contacts_version (id, version) VALUES (1, 0);

CREATE TRIGGER sitters_contacts_inserted AFTER INSERT ON sitters
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sitters_contacts_updated AFTER UPDATE OF phone, email ON sitters
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sitters_contacts_deleted AFTER DELETE ON sitters
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER clients_contacts_inserted AFTER INSERT ON clients
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clients_contacts_updated AFTER UPDATE OF phone, email ON clients
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clients_contacts_deleted AFTER DELETE ON clients
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER numbers_contacts_inserted AFTER INSERT ON message_numbers
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER numbers_contacts_updated AFTER UPDATE OF e164 ON message_numbers
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER numbers_contacts_deleted AFTER DELETE ON message_numbers
BEGIN UPDATE contacts_version SET version = version + 1 WHERE id = 1; END;
