-- Version 12: the pool's counters are kept by triggers, so no writer (engine, bench loader,
-- a hand-written fix) can forget them (issue 13 point 5):
-- - message_numbers.open_load = open threads bound to the number (threads insert, update of
--   number_id / status, delete); a bind moves the number's last_assigned_at to the binding's
--   bound_at (the LRU order), and a number whose load drops to 0 loses it (DESIGN.md §2: an
--   empty number leads the LRU order again);
-- - pool_stats.active_numbers / with_room = active pool numbers / those with open_load < cap,
--   for the cap the row was counted for (message_numbers insert, update of class / status /
--   open_load, delete). Without a row nothing is kept: the first read counts afresh
--   (pool::pool_stats), as it does when the cap changed.

CREATE TRIGGER threads_load_insert AFTER INSERT ON threads
WHEN NEW.number_id IS NOT NULL AND NEW.status = 'open'
BEGIN
    UPDATE message_numbers SET open_load = open_load + 1,
        last_assigned_at = max(COALESCE(last_assigned_at, NEW.bound_at), NEW.bound_at)
    WHERE id = NEW.number_id;
END;

CREATE TRIGGER threads_load_delete AFTER DELETE ON threads
WHEN OLD.number_id IS NOT NULL AND OLD.status = 'open'
BEGIN
    UPDATE message_numbers SET open_load = open_load - 1,
        last_assigned_at = CASE WHEN open_load = 1 THEN NULL ELSE last_assigned_at END
    WHERE id = OLD.number_id;
END;

-- A thread leaves its number's load (unbound, moved or ended) and joins another's (bound or
-- moved): two triggers whose conditions are exact, so an unbind runs one statement, not two.
CREATE TRIGGER threads_load_leave AFTER UPDATE OF number_id, status ON threads
WHEN OLD.number_id IS NOT NULL AND OLD.status = 'open'
     AND (NEW.number_id IS NOT OLD.number_id OR NEW.status != 'open')
BEGIN
    UPDATE message_numbers SET open_load = open_load - 1,
        last_assigned_at = CASE WHEN open_load = 1 THEN NULL ELSE last_assigned_at END
    WHERE id = OLD.number_id;
END;

CREATE TRIGGER threads_load_join AFTER UPDATE OF number_id, status ON threads
WHEN NEW.number_id IS NOT NULL AND NEW.status = 'open'
     AND (OLD.number_id IS NOT NEW.number_id OR OLD.status != 'open')
BEGIN
    UPDATE message_numbers SET open_load = open_load + 1,
        last_assigned_at = max(COALESCE(last_assigned_at, NEW.bound_at), NEW.bound_at)
    WHERE id = NEW.number_id;
END;

CREATE TRIGGER numbers_stats_insert AFTER INSERT ON message_numbers
WHEN NEW.class = 'pool' AND NEW.status = 'active'
BEGIN
    UPDATE pool_stats SET active_numbers = active_numbers + 1,
                          with_room = with_room + (NEW.open_load < cap)
    WHERE org_id = NEW.org_id;
END;

CREATE TRIGGER numbers_stats_delete AFTER DELETE ON message_numbers
WHEN OLD.class = 'pool' AND OLD.status = 'active'
BEGIN
    UPDATE pool_stats SET active_numbers = active_numbers - 1,
                          with_room = with_room - (OLD.open_load < cap)
    WHERE org_id = OLD.org_id;
END;

-- A load change of a number that stays in the active pool: one keyed read of the org's row,
-- written only when the number crosses the cap.
CREATE TRIGGER numbers_stats_load AFTER UPDATE OF open_load ON message_numbers
WHEN OLD.open_load != NEW.open_load AND NEW.class = 'pool' AND NEW.status = 'active'
     AND OLD.class = 'pool' AND OLD.status = 'active' AND OLD.org_id = NEW.org_id
BEGIN
    UPDATE pool_stats SET with_room = with_room + (NEW.open_load < cap) - (OLD.open_load < cap)
    WHERE org_id = NEW.org_id AND (NEW.open_load < cap) != (OLD.open_load < cap);
END;

-- The number enters or leaves the active pool (or changes org).
CREATE TRIGGER numbers_stats_membership AFTER UPDATE OF class, status, org_id ON message_numbers
WHEN OLD.class IS NOT NEW.class OR OLD.status IS NOT NEW.status OR OLD.org_id IS NOT NEW.org_id
BEGIN
    UPDATE pool_stats SET active_numbers = active_numbers - 1,
                          with_room = with_room - (OLD.open_load < cap)
    WHERE org_id = OLD.org_id AND OLD.class = 'pool' AND OLD.status = 'active';
    UPDATE pool_stats SET active_numbers = active_numbers + 1,
                          with_room = with_room + (NEW.open_load < cap)
    WHERE org_id = NEW.org_id AND NEW.class = 'pool' AND NEW.status = 'active';
END;
