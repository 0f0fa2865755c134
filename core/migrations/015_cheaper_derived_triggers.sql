-- Migration 15: the derived-state triggers of migrations 12 and 14 do the same work for less
-- (issue 12 points 1 and 4: they were about a sixth of a release run). Same rows afterwards.
--
-- 1. Thread load triggers (migration 12) fire on `number_id` only and test only it: the CHECK
--    `number_id IS NULL OR status = 'open'` of `threads` makes a bound thread open, so a status
--    change that matters always changes `number_id` too (ending a thread unbinds it in the same
--    statement or before), and `status = 'open'` in the conditions added nothing.
-- 2. An unbind no longer rewrites `last_assigned_at` on every number it frees: SQLite rewrites
--    the entries of every index over a column named in SET (here the LRU index), whether or not
--    the value changes. The counter moves in one statement; `last_assigned_at` is cleared in a
--    second, keyed one only when the load reached 0 (DESIGN.md §2: an empty number leads the
--    LRU order again).
-- 3. A settings write queues the org's bound threads (migration 14) only when an input of the
--    release rule changed (`pool::Deadlines::of` reads exactly these three settings), not on
--    any change of the settings text (strategy, cap, sticky reuse...).

DROP TRIGGER threads_load_insert;
CREATE TRIGGER threads_load_insert AFTER INSERT ON threads
WHEN NEW.number_id IS NOT NULL
BEGIN
    UPDATE message_numbers SET open_load = open_load + 1,
        last_assigned_at = max(COALESCE(last_assigned_at, NEW.bound_at), NEW.bound_at)
    WHERE id = NEW.number_id;
END;

DROP TRIGGER threads_load_delete;
CREATE TRIGGER threads_load_delete AFTER DELETE ON threads
WHEN OLD.number_id IS NOT NULL
BEGIN
    UPDATE message_numbers SET open_load = open_load - 1 WHERE id = OLD.number_id;
    UPDATE message_numbers SET last_assigned_at = NULL
    WHERE id = OLD.number_id AND open_load = 0 AND last_assigned_at IS NOT NULL;
END;

DROP TRIGGER threads_load_leave;
CREATE TRIGGER threads_load_leave AFTER UPDATE OF number_id ON threads
WHEN OLD.number_id IS NOT NULL AND NEW.number_id IS NOT OLD.number_id
BEGIN
    UPDATE message_numbers SET open_load = open_load - 1 WHERE id = OLD.number_id;
    UPDATE message_numbers SET last_assigned_at = NULL
    WHERE id = OLD.number_id AND open_load = 0 AND last_assigned_at IS NOT NULL;
END;

DROP TRIGGER threads_load_join;
CREATE TRIGGER threads_load_join AFTER UPDATE OF number_id ON threads
WHEN NEW.number_id IS NOT NULL AND OLD.number_id IS NOT NEW.number_id
BEGIN
    UPDATE message_numbers SET open_load = open_load + 1,
        last_assigned_at = max(COALESCE(last_assigned_at, NEW.bound_at), NEW.bound_at)
    WHERE id = NEW.number_id;
END;

DROP TRIGGER rotation_settings_changed;
CREATE TRIGGER rotation_settings_changed AFTER UPDATE OF settings ON rotation_settings
-- Text that is not JSON (a hand-written fix gone wrong) is compared whole: json_extract would
-- fail the write, and the engine's own read reports such settings as corrupt.
WHEN CASE WHEN json_valid(OLD.settings) AND json_valid(NEW.settings) THEN
         json_extract(OLD.settings, '$.postBookingGraceHours')
             IS NOT json_extract(NEW.settings, '$.postBookingGraceHours')
         OR json_extract(OLD.settings, '$.inactivityReleaseDays')
             IS NOT json_extract(NEW.settings, '$.inactivityReleaseDays')
         OR json_extract(OLD.settings, '$.maxPoolThreadLifetimeDays')
             IS NOT json_extract(NEW.settings, '$.maxPoolThreadLifetimeDays')
     ELSE OLD.settings IS NOT NEW.settings END
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id)
    SELECT id FROM threads WHERE org_id = NEW.org_id AND number_id IS NOT NULL;
END;
