//! Opening a database and bringing its schema to the current version.

use std::path::Path;
use std::sync::{LazyLock, Mutex};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::Result;

/// The migration files, in order; the position of a file is its version.
const MIGRATION_FILES: [(&str, &str); 14] = [
    (
        "001_schema.sql",
        include_str!("../migrations/001_schema.sql"),
    ),
    (
        "002_audit_type_index.sql",
        include_str!("../migrations/002_audit_type_index.sql"),
    ),
    (
        "003_released_bindings_index.sql",
        include_str!("../migrations/003_released_bindings_index.sql"),
    ),
    (
        "004_pool_stats.sql",
        include_str!("../migrations/004_pool_stats.sql"),
    ),
    (
        "005_hash_candidates_index.sql",
        include_str!("../migrations/005_hash_candidates_index.sql"),
    ),
    (
        "006_routing.sql",
        include_str!("../migrations/006_routing.sql"),
    ),
    (
        "008_web_sessions.sql",
        include_str!("../migrations/008_web_sessions.sql"),
    ),
    (
        "009_hash_ring.sql",
        include_str!("../migrations/009_hash_ring.sql"),
    ),
    (
        "012_derived_counters.sql",
        include_str!("../migrations/012_derived_counters.sql"),
    ),
    (
        "013_contacts_version.sql",
        include_str!("../migrations/013_contacts_version.sql"),
    ),
    (
        "014_deadline_refresh.sql",
        include_str!("../migrations/014_deadline_refresh.sql"),
    ),
    (
        "015_cheaper_derived_triggers.sql",
        include_str!("../migrations/015_cheaper_derived_triggers.sql"),
    ),
    (
        "016_fewer_message_indexes.sql",
        include_str!("../migrations/016_fewer_message_indexes.sql"),
    ),
    (
        "017_alert_only_audit_type.sql",
        include_str!("../migrations/017_alert_only_audit_type.sql"),
    ),
];

/// Numbered migrations; `PRAGMA user_version` records how many have been applied. Two steps
/// carry a Rust hook for what SQL cannot compute: migration 6 hashes plaintext tokens (SHA-256),
/// migration 9 puts the existing pool numbers on the hash ring.
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(
        MIGRATION_FILES
            .iter()
            .map(|(name, sql)| match *name {
                "006_routing.sql" => M::up_with_hook(sql, hash_plaintext_tokens),
                "009_hash_ring.sql" => M::up_with_hook(sql, |tx: &rusqlite::Transaction| {
                    Ok(crate::hash_ring::add_missing(tx)?)
                }),
                _ => M::up(sql),
            })
            .collect(),
    )
});

/// Moves migration 1's plaintext `api_tokens` to `api_token_digests` and drops the old table
/// (SQL cannot compute SHA-256, so this step of migration 6 is Rust).
fn hash_plaintext_tokens(tx: &rusqlite::Transaction) -> rusqlite_migration::HookResult {
    let tokens: Vec<(String, i64)> = tx
        .prepare("SELECT token, user_id FROM api_tokens ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (token, user) in tokens {
        tx.execute(
            "INSERT INTO api_token_digests (user_id, digest) VALUES (?1, ?2)",
            rusqlite::params![user, crate::auth::token_digest(&token).as_slice()],
        )?;
    }
    tx.execute("DROP TABLE api_tokens", [])?;
    Ok(())
}

/// Where the engine keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A private in-memory database (simulator, tests, benchmarks).
    Memory,
    /// A database file, shared by every engine that opens it (`serve`, concurrency tests).
    File(std::path::PathBuf),
}

/// An open connection. One opened on [`Storage::Memory`] goes back, when dropped, to its
/// thread's pool of reusable in-memory connections: the next in-memory database on that
/// thread is the same connection with its rows reset to the migrated template's
/// ([`open_memory`]), so the statements it has prepared (and cached) stay prepared. The
/// explorer and the scenario runner open one engine per case; preparing every statement
/// afresh was about a sixth of a case.
pub struct Conn {
    /// Always `Some` until dropped.
    conn: Option<Connection>,
    /// Whether dropping returns it to the pool.
    pooled: bool,
    /// Its `PRAGMA schema_version` when it was opened (a page copy has its own, not the
    /// template's): a user that changed the schema gets its connection closed, not reused.
    schema: i64,
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a Conn holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a Conn holds its connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let (true, Some(conn)) = (self.pooled, self.conn.take()) {
            let schema = self.schema;
            // During thread teardown the pool may be gone: then the connection just closes.
            let _ = POOL.try_with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < POOL_SIZE {
                    pool.push((conn, schema));
                }
            });
        }
    }
}

/// How many idle in-memory connections a thread keeps (a test or bench rarely holds more
/// than a couple of engines at once).
const POOL_SIZE: usize = 4;

thread_local! {
    /// This thread's idle in-memory connections, their rows not yet reset.
    static POOL: std::cell::RefCell<Vec<(Connection, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
    /// How many in-memory databases this thread got from the pool ([`reused_connections`]).
    static REUSED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Whether in-memory databases on this thread reuse pooled connections ([`fresh_connections`]).
    static REUSE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Runs `f` with in-memory databases opened on a new connection each (no reuse) on this
/// thread: for tests that compare a run on reused connections with one on fresh ones.
pub fn fresh_connections<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REUSE.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REUSE.with(|r| r.replace(false)));
    f()
}

/// How many in-memory databases opened on this thread so far were pooled connections reset to
/// the template (for tests that must know the reuse happened).
pub fn reused_connections() -> u64 {
    REUSED.with(|r| r.get())
}

/// Opens the database and applies pending migrations.
pub fn open(storage: &Storage) -> Result<Conn> {
    if let Storage::Memory = storage
        && let Some(conn) = reused_memory()
    {
        return Ok(conn);
    }
    let mut conn = match storage {
        Storage::Memory => open_memory()?,
        Storage::File(path) => open_file(path)?,
    };
    conn.pragma_update(None, "foreign_keys", true)?;
    // The engine and the harness use a few dozen distinct statements; rusqlite's default cache of
    // 16 would re-parse them over and over.
    conn.set_prepared_statement_cache_capacity(1024);
    MIGRATIONS.to_latest(&mut conn)?;
    let schema = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    Ok(Conn {
        conn: Some(conn),
        pooled: matches!(storage, Storage::Memory) && REUSE.with(|r| r.get()),
        schema,
    })
}

/// A pooled connection of this thread, reset to the template's rows; None when reuse is off,
/// the pool is empty or the reset failed (that connection is then closed).
fn reused_memory() -> Option<Conn> {
    if !REUSE.with(|r| r.get()) {
        return None;
    }
    let (conn, opened_schema) = POOL.with(|pool| pool.borrow_mut().pop())?;
    let plan = MEMORY_TEMPLATE.as_ref()?.1.as_ref()?;
    // A user that changed the schema (a test breaking the database on purpose) or left a
    // transaction open gets its connection closed: only the rows are reset.
    let schema: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .ok()?;
    if schema != opened_schema || !conn.is_autocommit() {
        return None;
    }
    if let Err(error) = plan.reset(&conn) {
        // The plan is made from the schema itself, so this is a defect of the plan: debug
        // builds (every test) stop on it; release builds fall back to a fresh copy.
        debug_assert!(false, "cannot reset a pooled in-memory connection: {error}");
        return None;
    }
    REUSED.with(|r| r.set(r.get() + 1));
    Some(Conn {
        conn: Some(conn),
        pooled: true,
        schema,
    })
}

/// How to bring a used in-memory database back to the template's rows without touching its
/// schema (a schema change, or a page copy such as the backup API, would expire every prepared
/// statement): every table emptied, children before parents, then the template's own rows put
/// back. Rowids start again from 1 as on a fresh copy (no table uses AUTOINCREMENT, checked
/// when the plan is made).
#[derive(Debug)]
struct ResetPlan {
    /// `DELETE FROM` statements, children before parents (foreign keys stay on).
    deletes: Vec<String>,
    /// Each table the template has rows in: the INSERT and those rows.
    rows: Vec<(String, Vec<Vec<rusqlite::types::Value>>)>,
}

impl ResetPlan {
    /// The plan for `template` (a freshly migrated database).
    fn of(template: &Connection) -> rusqlite::Result<ResetPlan> {
        let tables: Vec<String> = template
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if tables.iter().any(|t| t == "sqlite_sequence") {
            return Err(rusqlite::Error::InvalidQuery);
        }
        let mut parents = std::collections::BTreeMap::new();
        for table in &tables {
            let refs: Vec<String> = template
                .prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?
                .query_map([table], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            parents.insert(table.clone(), refs);
        }
        // Children first: a table is emptied once every table referring to it has been.
        let mut order: Vec<String> = Vec::new();
        while order.len() < tables.len() {
            let next = tables.iter().find(|t| {
                !order.contains(t)
                    && tables.iter().all(|other| {
                        other == *t || order.contains(other) || !parents[other].contains(t)
                    })
            });
            match next {
                Some(table) => order.push(table.clone()),
                None => return Err(rusqlite::Error::InvalidQuery), // a reference cycle
            }
        }
        let mut rows = Vec::new();
        for table in order.iter().rev() {
            let mut stmt =
                template.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))?;
            let width = stmt.column_count();
            let values: Vec<Vec<rusqlite::types::Value>> = stmt
                .query_map([], |r| (0..width).map(|i| r.get(i)).collect())?
                .collect::<rusqlite::Result<_>>()?;
            if !values.is_empty() {
                let marks = vec!["?"; width].join(", ");
                rows.push((format!("INSERT INTO \"{table}\" VALUES ({marks})"), values));
            }
        }
        Ok(ResetPlan {
            deletes: order
                .iter()
                .map(|t| format!("DELETE FROM \"{t}\""))
                .collect(),
            rows,
        })
    }

    /// Resets `conn`'s rows to the template's, in one transaction, and removes the hooks a
    /// previous user installed. Triggers fired by the deletes may write rows into tables
    /// already emptied, so the deletes repeat until a pass deletes nothing.
    fn reset(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.update_hook(None::<fn(rusqlite::hooks::Action, &str, &str, i64)>)?;
        conn.commit_hook(None::<fn() -> bool>)?;
        conn.rollback_hook(None::<fn()>)?;
        conn.prepare_cached("BEGIN")?.execute([])?;
        let result = self.reset_rows(conn);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.prepare_cached(end)?.execute([])?;
        result
    }

    fn reset_rows(&self, conn: &Connection) -> rusqlite::Result<()> {
        for _pass in 0..4 {
            let mut deleted = 0;
            for delete in &self.deletes {
                deleted += conn.prepare_cached(delete)?.execute([])?;
            }
            if deleted == 0 {
                for (insert, rows) in &self.rows {
                    let mut stmt = conn.prepare_cached(insert)?;
                    for row in rows {
                        stmt.execute(rusqlite::params_from_iter(row))?;
                    }
                }
                return Ok(());
            }
        }
        Err(rusqlite::Error::InvalidQuery) // triggers kept refilling tables
    }
}

/// The schema at the current version in an in-memory database, built once per process, and
/// the plan that resets a used copy to it (None if it could not be built: then each database
/// replays the migrations and reports the error; no plan: pooled connections are not reused).
static MEMORY_TEMPLATE: LazyLock<Option<(Mutex<Connection>, Option<ResetPlan>)>> =
    LazyLock::new(|| {
        let mut conn = Connection::open_in_memory().ok()?;
        MIGRATIONS.to_latest(&mut conn).ok()?;
        let plan = ResetPlan::of(&conn);
        debug_assert!(plan.is_ok(), "no reset plan for the schema: {plan:?}");
        let plan = plan.ok();
        Some((Mutex::new(conn), plan))
    });

/// A new in-memory database: a page copy of [`MEMORY_TEMPLATE`] (SQLite's online backup, which
/// also copies `user_version`, so the migrations that follow find nothing to do). Replaying
/// every migration costs about 1.4 ms per database, which the explorer paid once per case.
fn open_memory() -> Result<Connection> {
    let mut conn = open_memdb()?;
    if let Some((template, _)) = &*MEMORY_TEMPLATE {
        // The template is only read; a poisoned lock cannot have left it half-written.
        let template = template.lock().unwrap_or_else(|p| p.into_inner());
        rusqlite::backup::Backup::new(&template, &mut conn)?.run_to_completion(
            i32::MAX, // every page in one step
            std::time::Duration::ZERO,
            None,
        )?;
    }
    Ok(conn)
}

/// A private database in SQLite's `memdb` VFS rather than `:memory:`. A `:memory:` pager keeps
/// every page of the database in its page cache, and its COMMIT walks the cache's whole hash
/// table (one slot per page) whenever a b-tree split renumbered a page in that transaction
/// (`balance_nonroot` parks a page at the pending-byte page number, which leaves the cache's
/// largest key above the database size): at a year's size that walk was a large part of every
/// write. A `memdb` database keeps its pages in one buffer and its page cache bounded, so the
/// walk is over a small table. The journal and temporary files stay in memory; the size limit
/// is lifted (memdb's default is 1 GiB). The default page cache (2 MB) is kept on purpose: in
/// the busy year a 16 MB cache and memory-mapped reads each cost more CPU than they saved
/// (issue 12 point 3, benches/README.md).
fn open_memdb() -> Result<Connection> {
    use rusqlite::OpenFlags;
    // A name without a leading '/' is private to this connection.
    let conn = Connection::open_with_flags(
        "file:switchboard?vfs=memdb",
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "journal_mode", "MEMORY")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let mut limit: i64 = i64::MAX;
    // SAFETY: the handle is open, "main" names its database, and SQLITE_FCNTL_SIZE_LIMIT reads
    // and writes one sqlite3_int64 through the pointer, which outlives the call.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_SIZE_LIMIT,
            (&raw mut limit).cast(),
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rc), None).into());
    }
    Ok(conn)
}

fn open_file(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Writers serialize on BEGIN IMMEDIATE; wait for the lock instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migration_6_replaces_plaintext_tokens_with_their_digests() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::MIGRATIONS.to_version(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO orgs (id, name, created_at) VALUES (1, 'o', 0);
             INSERT INTO users (id, org_id, name, role) VALUES (7, 1, 'owner', 'owner');
             INSERT INTO api_tokens (token, user_id) VALUES ('sb_7_00ff', 7);",
        )
        .unwrap();
        super::MIGRATIONS.to_latest(&mut conn).unwrap();
        let (user, digest): (i64, Vec<u8>) = conn
            .query_row("SELECT user_id, digest FROM api_token_digests", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(user, 7);
        assert_eq!(digest, crate::auth::token_digest("sb_7_00ff").to_vec());
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'api_tokens'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "the plaintext table is gone");
    }

    /// The schema objects and version of a database, for comparing two of them.
    fn schema_of(conn: &rusqlite::Connection) -> (i64, Vec<(String, String, Option<String>)>) {
        let version = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let objects = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        (version, objects)
    }

    #[test]
    fn a_memory_database_copied_from_the_template_equals_one_migrated_in_place() {
        let mut replayed = rusqlite::Connection::open_in_memory().unwrap();
        super::MIGRATIONS.to_latest(&mut replayed).unwrap();
        assert!(super::MEMORY_TEMPLATE.is_some(), "the template was built");
        let copied = super::open(&super::Storage::Memory).unwrap();
        assert_eq!(schema_of(&copied), schema_of(&replayed));
        assert!(schema_of(&copied).1.len() > 10, "the schema is there");
        let foreign_keys: bool = copied
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(foreign_keys, "per-connection pragmas are set on the copy");
    }

    /// Every table's rows, in rowid order, for comparing two databases.
    fn rows_of(conn: &rusqlite::Connection) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
        let (_, objects) = schema_of(conn);
        objects
            .into_iter()
            .filter(|(kind, name, _)| kind == "table" && !name.starts_with("sqlite_"))
            .map(|(_, table, _)| {
                let mut stmt = conn
                    .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
                    .unwrap();
                let width = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| (0..width).map(|i| r.get(i)).collect())
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                (table, rows)
            })
            .collect()
    }

    #[test]
    fn a_reused_memory_connection_has_exactly_the_template_rows() {
        use crate::{Engine, EngineConfig, ManualClock, Timestamp};
        use std::sync::Arc;
        let fresh = super::fresh_connections(|| super::open(&super::Storage::Memory).unwrap());
        let engine = || {
            Engine::new(
                EngineConfig::default(),
                Arc::new(ManualClock::new(Timestamp(1_772_442_000))),
                Arc::new(crate::messaging::RecordingProvider::default()),
            )
            .unwrap()
        };
        let used = engine();
        let org = used.create_org("acme").unwrap();
        used.create_org("other").unwrap();
        assert_eq!(org.0, 1);
        let rows_written = used.inspect(rows_of);
        assert_ne!(rows_written, rows_of(&fresh), "the case wrote rows");
        drop(used);
        let reused_before = super::reused_connections();
        let reused = engine();
        assert_eq!(
            super::reused_connections(),
            reused_before + 1,
            "the pool served it"
        );
        assert_eq!(
            reused.inspect(rows_of),
            rows_of(&fresh),
            "template rows, no others"
        );
        assert_eq!(reused.inspect(schema_of), schema_of(&fresh));
        assert_eq!(
            reused.create_org("again").unwrap(),
            org,
            "rowids start again from 1"
        );
    }

    #[test]
    fn memory_databases_are_private_memdb_without_a_size_limit() {
        let a = super::open(&super::Storage::Memory).unwrap();
        let b = super::open(&super::Storage::Memory).unwrap();
        a.execute(
            "INSERT INTO orgs (id, name, created_at) VALUES (1, 'a', 0)",
            [],
        )
        .unwrap();
        let in_b: i64 = b
            .query_row("SELECT count(*) FROM orgs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(in_b, 0, "each memory database is its own");
        let journal: String = a
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "memory", "no journal file is written");
        let mut limit: i64 = -1; // a negative limit reads the current one
        // SAFETY: as in `open_memdb`.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_file_control(
                a.handle(),
                c"main".as_ptr(),
                rusqlite::ffi::SQLITE_FCNTL_SIZE_LIMIT,
                (&raw mut limit).cast(),
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK, "the database is in memdb");
        assert_eq!(
            limit,
            i64::MAX,
            "a busy year may pass memdb's 1 GiB default"
        );
    }

    #[test]
    fn migrations_are_valid() {
        assert!(super::MIGRATIONS.validate().is_ok());
    }

    #[test]
    fn every_migration_file_is_registered_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let registered: Vec<&str> = super::MIGRATION_FILES
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(on_disk, registered);
    }
}
