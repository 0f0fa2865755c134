//! Opening a database and bringing its schema to the current version.

use std::path::Path;
use std::sync::LazyLock;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::Result;

/// The migration files, in order; the position of a file is its version.
const MIGRATION_FILES: [(&str, &str); 6] = [
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
        "009_hash_ring.sql",
        include_str!("../migrations/009_hash_ring.sql"),
    ),
];

/// Numbered migrations; `PRAGMA user_version` records how many have been applied. The ring
/// migration also puts the existing pool numbers on the ring (the hash is computed in Rust).
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(
        MIGRATION_FILES
            .iter()
            .map(|(name, sql)| match *name {
                "009_hash_ring.sql" => M::up_with_hook(sql, |tx: &rusqlite::Transaction| {
                    Ok(crate::hash_ring::add_missing(tx)?)
                }),
                _ => M::up(sql),
            })
            .collect(),
    )
});

/// Where the engine keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A private in-memory database (simulator, tests, benchmarks).
    Memory,
    /// A database file, shared by every engine that opens it (`serve`, concurrency tests).
    File(std::path::PathBuf),
}

/// Opens the database and applies pending migrations.
pub fn open(storage: &Storage) -> Result<Connection> {
    let mut conn = match storage {
        Storage::Memory => Connection::open_in_memory()?,
        Storage::File(path) => open_file(path)?,
    };
    conn.pragma_update(None, "foreign_keys", true)?;
    // The engine and the harness use a few dozen distinct statements; rusqlite's default cache of
    // 16 would re-parse them over and over.
    conn.set_prepared_statement_cache_capacity(256);
    MIGRATIONS.to_latest(&mut conn)?;
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
