-- Version 5: HASH_SHUFFLE weighs every available pool number; this covering index lets it read
-- exactly the numbers with room (open_load < cap) without visiting table rows.
CREATE INDEX numbers_with_room ON message_numbers(org_id, class, status, open_load, e164);
