//! One error type for the engine; the API maps each variant to a status code.

use serde::Serialize;

/// A problem with one field of a request body; `field` is the JSON key (or dotted path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The JSON key (or dotted path) at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything an engine operation can fail with; [`crate::api`] maps each to one HTTP status
/// and a JSON body `{"error": ...}`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid token or session (401).
    #[error("authentication required")]
    Unauthenticated,
    /// The caller's role may not do this; the text is the refusal (403).
    #[error("{0}")]
    Forbidden(String),
    /// The named thing does not exist in the caller's org (404).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed; one entry per bad field (400).
    #[error("invalid request: {}", summarize(.0))]
    Invalid(Vec<FieldError>),
    /// The current state forbids the change (409).
    #[error("{0}")]
    Conflict(String),
    /// A request body in a media type the route does not take (HTTP 415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A sitter response failed the leak scan and was withheld (500).
    #[error("response withheld: it failed the leak scan")]
    LeakBlocked,
    /// SQLite failed (500). A stored value that does not decode is [`Error::Corrupt`]
    /// instead (see the `From<rusqlite::Error>` impl).
    #[error("database error: {0}")]
    Db(rusqlite::Error),
    /// A migration failed while opening the database.
    #[error("migration error: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A stored value could not be read back (500).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// `Invalid` with one field's problem.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError::new(field, message)])
    }
}

/// Storage errors keep their kind: a row value that does not decode into its Rust type (a
/// stored word outside its vocabulary, a wrong column type, an integer out of range) is a
/// corrupt stored value, not a database failure; everything else is `Db`.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        use rusqlite::Error as E;
        match e {
            E::FromSqlConversionFailure(..)
            | E::InvalidColumnType(..)
            | E::IntegralValueOutOfRange(..) => Error::Corrupt(e.to_string()),
            other => Error::Db(other),
        }
    }
}

/// The engine's result type: [`Error`] unless stated.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::auth::Role;
    use rusqlite::Connection;

    /// Reads the one-row, one-column `sql` as `T` through the engine's error type.
    fn read<T: rusqlite::types::FromSql>(sql: &str) -> Result<T, Error> {
        let conn = Connection::open_in_memory().unwrap();
        Ok(conn.query_row(sql, [], |r| r.get(0))?)
    }

    #[test]
    fn undecodable_stored_values_are_corrupt_and_other_faults_stay_db() {
        assert!(matches!(
            read::<Role>("SELECT 'emperor'"),
            Err(Error::Corrupt(_))
        ));
        assert!(matches!(read::<Role>("SELECT 7"), Err(Error::Corrupt(_))));
        assert!(matches!(read::<u8>("SELECT 300"), Err(Error::Corrupt(_))));
        assert!(matches!(read::<Role>("SELECT 'owner'"), Ok(Role::Owner)));
        assert!(matches!(
            read::<i64>("SELECT * FROM nowhere"),
            Err(Error::Db(_))
        ));
        assert!(matches!(read::<i64>("SELECT 1 WHERE 0"), Err(Error::Db(_))));
    }
}
