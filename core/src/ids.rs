//! External ids: `thr_12`, `num_3`... The prefix says what the id names, so a stray id in a
//! response or a snapshot reads on its own, and the simulator can map it back to a symbolic name.
//! Internally every id is the SQLite rowid, assigned in insertion order (deterministic).

/// The kinds of entity an external id can name, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Org,
    User,
    Sitter,
    Client,
    Booking,
    Number,
    Thread,
    Message,
    Alert,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Org,
        Kind::User,
        Kind::Sitter,
        Kind::Client,
        Kind::Booking,
        Kind::Number,
        Kind::Thread,
        Kind::Message,
        Kind::Alert,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Org => "org",
            Kind::User => "usr",
            Kind::Sitter => "sit",
            Kind::Client => "cli",
            Kind::Booking => "bkg",
            Kind::Number => "num",
            Kind::Thread => "thr",
            Kind::Message => "msg",
            Kind::Alert => "alr",
        }
    }
}

/// `thr_12` for (Thread, 12).
pub fn format(kind: Kind, id: i64) -> String {
    format!("{}_{id}", kind.prefix())
}

/// Parses an external id of the given kind; `None` for anything else.
pub fn parse(kind: Kind, text: &str) -> Option<i64> {
    let rest = text.strip_prefix(kind.prefix())?.strip_prefix('_')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        assert_eq!(format(Kind::Thread, 12), "thr_12");
        assert_eq!(parse(Kind::Thread, "thr_12"), Some(12));
        assert_eq!(parse(Kind::Thread, "num_12"), None);
        assert_eq!(parse(Kind::Thread, "thr_"), None);
        assert_eq!(parse(Kind::Thread, "thr_1x"), None);
        assert_eq!(parse(Kind::Thread, "thr_-1"), None);
    }
}
