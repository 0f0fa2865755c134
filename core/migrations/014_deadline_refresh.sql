-- Version 14: the queue of bound threads whose `release_due_at` must be recomputed because an
-- input of the release rule (DESIGN §2: the booking's window end, the org's rotation settings)
-- changed outside `pool.rs`, which owns the column. Triggers fill it whoever writes (the engine,
-- a loader, raw SQL); the engine's write transaction drains it through `pool::apply_deadline_refreshes`
-- before every COMMIT, so no writer can forget the recomputation and the rule keeps one copy
-- (`pool::Deadlines::of`, in Rust). The thread's own inputs (`bound_at`, `last_message_at`) are
-- written only by `pool.rs`, together with the deadline, in one statement.
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
