//! One error type for the engine; the API maps each variant to a status code.

use serde::Serialize;

/// A problem with one field of a request body; `field` is the JSON key (or dotted path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid request: {}", summarize(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// A request body in a media type the route does not take (HTTP 415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("response withheld: it failed the leak scan")]
    LeakBlocked,
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migration(#[from] rusqlite_migration::Error),
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
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError::new(field, message)])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
