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

/// What the hook records: the changes since the last take, and a count of contact row changes.
#[derive(Debug, Default)]
struct Feed {
    changes: Changes,
    /// Rows of `clients` or `sitters` (or of another schema) written since the hook was
    /// installed; never reset, so each reader compares it with the count it last saw.
    contact_writes: u64,
}

impl Feed {
    fn note(&mut self, action: Action, db: &str, table: &str, rowid: i64) {
        if db != "main" || matches!(table, "clients" | "sitters") {
            self.contact_writes += 1;
        }
        self.changes.note(action, db, table, rowid);
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
            contact_writes: 0,
        }));
        let sink = changes.clone();
        let hook = move |action: Action, db: &str, table: &str, rowid: i64| match sink.lock() {
            Ok(mut changes) => changes.note(action, db, table, rowid),
            Err(poisoned) => {
                let mut feed = poisoned.into_inner();
                feed.changes.full = true;
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

    /// How many `clients` / `sitters` rows were written since the hook was installed (None
    /// when the feed's lock is poisoned: the caller must read afresh).
    pub fn contact_writes(&self) -> Option<u64> {
        self.0.lock().ok().map(|feed| feed.contact_writes)
    }
}
