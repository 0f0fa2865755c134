//! The rows that changed since the release oracle last read them, as SQLite itself reports
//! them (its update hook on the engine's connection), so the oracle re-reads only the threads
//! whose deadline inputs may have moved: O(changes) per job run, not O(bound threads).
//!
//! The feed knows nothing of the engine's code or its audit trail: SQLite calls the hook for
//! every row an INSERT, UPDATE or DELETE writes in a rowid table (statements and triggers
//! alike, committed or later rolled back). Rolled-back changes only make the oracle re-read a
//! row that did not change, which is harmless. What the hook cannot say exactly (which thread
//! an updated or deleted message was on, which threads a deleted booking served, rules of a
//! changed org or settings row, rows of another schema) makes the next reading a full one.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::Action;
use switchboard_core::Engine;

/// What changed since the feed was last taken.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Everything must be read again (see the module docs for when).
    pub full: bool,
    /// `threads` rows inserted, updated or deleted.
    pub threads: BTreeSet<i64>,
    /// `messages` rows inserted (updates and deletes set `full`).
    pub messages: BTreeSet<i64>,
    /// `bookings` rows inserted or updated (deletes set `full`).
    pub bookings: BTreeSet<i64>,
}

impl Changes {
    /// Records one row change reported by SQLite.
    fn note(&mut self, action: Action, db: &str, table: &str, rowid: i64) {
        if db != "main" {
            self.full = true;
            return;
        }
        match (table, action) {
            ("threads", _) => {
                self.threads.insert(rowid);
            }
            ("messages", Action::SQLITE_INSERT) => {
                self.messages.insert(rowid);
            }
            ("bookings", Action::SQLITE_INSERT | Action::SQLITE_UPDATE) => {
                self.bookings.insert(rowid);
            }
            ("messages" | "bookings" | "orgs" | "rotation_settings", _) => self.full = true,
            _ => {}
        }
    }
}

/// What changed since the row checks ([`super::Checker`]) last took the feed: the rows their
/// rules read, by rowid. `full` when the rows cannot say what a check must read again: another
/// schema, an org write, a delete of a row the checks read (its number or
/// alert is gone with it), an audit event changed after the fact.
#[derive(Debug, Default)]
pub(crate) struct RowChanges {
    /// Every row check must read everything.
    pub full: bool,
    /// How many row changes SQLite reported; the checker compares it with the connection's
    /// `total_changes` so that a write the hook never saw cannot pass unread.
    pub calls: u64,
    /// `threads` rows inserted or updated.
    pub threads: BTreeSet<i64>,
    /// `message_numbers` rows inserted or updated.
    pub numbers: BTreeSet<i64>,
    /// `number_bindings` rows inserted or updated.
    pub bindings: BTreeSet<i64>,
    /// `clients` rows inserted or updated.
    pub clients: BTreeSet<i64>,
    /// `pool_stats` rows (their rowid is the org) inserted or updated.
    pub pool_stats: BTreeSet<i64>,
    /// `alerts` rows inserted or updated.
    pub alerts: BTreeSet<i64>,
}

impl RowChanges {
    /// Records one row change reported by SQLite.
    fn note(&mut self, action: Action, db: &str, table: &str, rowid: i64) {
        self.calls += 1;
        if db != "main" {
            self.full = true;
            return;
        }
        let set = match table {
            "threads" => &mut self.threads,
            "message_numbers" => &mut self.numbers,
            "number_bindings" => &mut self.bindings,
            "clients" => &mut self.clients,
            "pool_stats" => &mut self.pool_stats,
            "alerts" => &mut self.alerts,
            // The row checks read no settings: the caps they compare are the rows' own
            // (`pool_stats.cap`, `threads.bound_cap`), reported when the engine writes them. A
            // settings write (one step in six of an explored case) leaves their inputs as
            // they were, so it is no reason to read every row again.
            "rotation_settings" => return,
            "orgs" => {
                self.full = true;
                return;
            }
            "audit_events" if action != Action::SQLITE_INSERT => {
                self.full = true;
                return;
            }
            _ => return,
        };
        match action {
            Action::SQLITE_INSERT | Action::SQLITE_UPDATE => {
                set.insert(rowid);
            }
            _ => self.full = true,
        }
    }
}

/// What the hook records: the changes since the last take (one set per reader), and a count of
/// contact row changes.
#[derive(Debug, Default)]
struct Feed {
    changes: Changes,
    rows: RowChanges,
    /// Test only: changes are counted but not recorded, as if the feed had missed them.
    #[cfg(test)]
    blind: bool,
    /// Rows of `clients` or `sitters` (or of another schema) written since the hook was
    /// installed; never reset, so each reader compares it with the count it last saw.
    contact_writes: u64,
}

impl Feed {
    fn note(&mut self, action: Action, db: &str, table: &str, rowid: i64) {
        if db != "main" || matches!(table, "clients" | "sitters") {
            self.contact_writes += 1;
        }
        #[cfg(test)]
        if self.blind {
            self.rows.calls += 1;
            return;
        }
        self.changes.note(action, db, table, rowid);
        self.rows.note(action, db, table, rowid);
    }
}

/// A handle on the changes SQLite reports for one engine's connection. One feed per engine:
/// attaching another replaces the connection's hook (the first feed would then go stale).
#[derive(Debug, Clone)]
pub(crate) struct ChangeFeed(Arc<Mutex<Feed>>);

impl ChangeFeed {
    /// Installs the hook on `engine`'s connection. The first [`ChangeFeed::take`] asks for a
    /// full reading (rows written before the hook are unknown to it).
    pub fn attach(engine: &Engine) -> Result<ChangeFeed, String> {
        let changes = Arc::new(Mutex::new(Feed {
            changes: Changes {
                full: true,
                ..Changes::default()
            },
            rows: RowChanges {
                full: true,
                ..RowChanges::default()
            },
            contact_writes: 0,
            #[cfg(test)]
            blind: false,
        }));
        let sink = changes.clone();
        let hook = move |action: Action, db: &str, table: &str, rowid: i64| match sink.lock() {
            Ok(mut changes) => changes.note(action, db, table, rowid),
            Err(poisoned) => {
                let mut feed = poisoned.into_inner();
                feed.changes.full = true;
                feed.rows.full = true;
                feed.contact_writes += 1;
            }
        };
        engine
            .inspect(|conn| conn.update_hook(Some(hook)))
            .map_err(|e| format!("cannot install the change feed on the connection: {e}"))?;
        Ok(ChangeFeed(changes))
    }

    /// The changes since the last call, leaving the feed empty.
    pub fn take(&self) -> Changes {
        match self.0.lock() {
            Ok(mut feed) => std::mem::take(&mut feed.changes),
            Err(poisoned) => {
                let mut changes = std::mem::take(&mut poisoned.into_inner().changes);
                changes.full = true;
                changes
            }
        }
    }

    /// The row changes since the last call, leaving them empty (the judge's are kept).
    pub fn take_rows(&self) -> RowChanges {
        match self.0.lock() {
            Ok(mut feed) => std::mem::take(&mut feed.rows),
            Err(poisoned) => {
                let mut changes = std::mem::take(&mut poisoned.into_inner().rows);
                changes.full = true;
                changes
            }
        }
    }

    /// Test only: from now on the feed counts changes but records none, as a feed that misses
    /// writes would, so a test can show that the full check in debug builds catches the gap.
    #[cfg(test)]
    pub fn blind(&self) {
        if let Ok(mut feed) = self.0.lock() {
            feed.blind = true;
        }
    }

    /// How many `clients` / `sitters` rows were written since the hook was installed (None
    /// when the feed's lock is poisoned: the caller must read afresh).
    pub fn contact_writes(&self) -> Option<u64> {
        self.0.lock().ok().map(|feed| feed.contact_writes)
    }
}
