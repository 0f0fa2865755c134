-- Migration 14: the queue of bound threads whose `release_due_at` must be recomputed because an
-- input of the release rule (DESIGN §2) changed outside `pool.rs`, which owns the column: the
-- booking's window end, the org's rotation settings (written, rewritten or deleted), or the
-- thread's booking. Triggers fill it whoever writes (the engine, a loader, raw SQL). The engine
-- drains it through `pool::apply_deadline_refreshes` before every COMMIT (`Engine::write`) and at
-- the start of every release run, so no writer can forget the recomputation and the rule keeps
-- one copy (`pool::Deadlines::of`, in Rust). The thread's own inputs (`bound_at`,
-- `last_message_at`) are written only by `pool.rs`, together with the deadline, in one statement.
CREATE TABLE deadline_refresh (
    thread_id INTEGER PRIMARY KEY
);

CREATE TRIGGER bookings_window_end_changed AFTER UPDATE OF window_end ON bookings
WHEN OLD.window_end IS NOT NEW.window_end
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id)
    SELECT id FROM threads WHERE booking_id = NEW.id AND number_id IS NOT NULL;
END;

CREATE TRIGGER rotation_settings_inserted AFTER INSERT ON rotation_settings
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id)
    SELECT id FROM threads WHERE org_id = NEW.org_id AND number_id IS NOT NULL;
END;

CREATE TRIGGER rotation_settings_changed AFTER UPDATE OF settings ON rotation_settings
WHEN OLD.settings IS NOT NEW.settings
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id)
    SELECT id FROM threads WHERE org_id = NEW.org_id AND number_id IS NOT NULL;
END;

CREATE TRIGGER rotation_settings_deleted AFTER DELETE ON rotation_settings
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id)
    SELECT id FROM threads WHERE org_id = OLD.org_id AND number_id IS NOT NULL;
END;

CREATE TRIGGER threads_booking_changed AFTER UPDATE OF booking_id ON threads
WHEN OLD.booking_id IS NOT NEW.booking_id AND NEW.number_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO deadline_refresh (thread_id) VALUES (NEW.id);
END;
