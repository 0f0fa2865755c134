//! External ids: `thr_12`, `num_3`... The prefix says what the id names, so a stray id in a
//! response or a snapshot reads on its own, and the simulator can map it back to a symbolic name.
//! Internally every id is the SQLite rowid, assigned in insertion order (deterministic).

/// The kinds of entity an external id can name, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `org_`: an organisation.
    Org,
    /// `usr_`: a login.
    User,
    /// `sit_`: a sitter.
    Sitter,
    /// `cli_`: a client.
    Client,
    /// `bkg_`: a booking.
    Booking,
    /// `num_`: a business number.
    Number,
    /// `thr_`: a conversation thread.
    Thread,
    /// `msg_`: a message.
    Message,
    /// `alr_`: an alert.
    Alert,
}

impl Kind {
    /// Every kind, in declaration order.
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

    /// The prefix of this kind's external ids (`thr`), before the `_`.
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

/// Declares one id newtype: the SQLite rowid inside, the external form (`thr_12`) outside.
///
/// - `ToSql`/`FromSql`: the integer rowid, so rows and parameters stay exactly as before.
/// - `Display`, `Serialize`: the external form of [`format`].
/// - `FromStr`, `Deserialize`: only the external form of this kind ([`parse`]); anything else is
///   an error naming the expected kind.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident => $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The kind of entity this id names.
            pub const KIND: Kind = $kind;

            /// The id in its external form, or `None` for anything else (another kind's id,
            /// a bare number, a sign, trailing text).
            pub fn parse(text: &str) -> Option<$name> {
                parse(Self::KIND, text).map($name)
            }

            /// The SQLite rowid.
            pub fn rowid(self) -> i64 {
                self.0
            }
        }

        impl Id for $name {
            const KIND: Kind = $kind;
            fn from_rowid(rowid: i64) -> $name {
                $name(rowid)
            }
            fn rowid(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}_{}", Self::KIND.prefix(), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<$name, IdError> {
                $name::parse(text).ok_or(IdError(Self::KIND))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                $name::parse(other) == Some(*self)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                $name::parse(other) == Some(*self)
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<$name> {
                i64::column_result(value).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// What every id newtype is: a rowid of one kind. Lets code that handles any id (path
/// parameters, body fields) stay generic without a runtime `Kind` argument.
pub trait Id: Copy + Eq + Ord + std::fmt::Display + std::fmt::Debug {
    /// The kind of entity the id names.
    const KIND: Kind;
    /// The id of the row with this rowid.
    fn from_rowid(rowid: i64) -> Self;
    /// The SQLite rowid.
    fn rowid(self) -> i64;
    /// The id in its external form, or `None` for anything else.
    fn parse_external(text: &str) -> Option<Self> {
        parse(Self::KIND, text).map(Self::from_rowid)
    }
}

/// A text that is not an external id of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdError(pub Kind);

impl std::fmt::Display for IdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected an id like {}_12", self.0.prefix())
    }
}

impl std::error::Error for IdError {}

id_type!(
    /// An organisation (`org_1`): every row belongs to one, and every caller acts for one.
    OrgId => Kind::Org
);
id_type!(
    /// A staff or sitter login (`usr_1`).
    UserId => Kind::User
);
id_type!(
    /// A sitter (`sit_1`).
    SitterId => Kind::Sitter
);
id_type!(
    /// A client (`cli_1`).
    ClientId => Kind::Client
);
id_type!(
    /// A booking (`bkg_1`).
    BookingId => Kind::Booking
);
id_type!(
    /// A business number (`num_1`).
    NumberId => Kind::Number
);
id_type!(
    /// A conversation thread (`thr_1`).
    ThreadId => Kind::Thread
);
id_type!(
    /// A stored message (`msg_1`).
    MessageId => Kind::Message
);
id_type!(
    /// An alert (`alr_1`).
    AlertId => Kind::Alert
);

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

    #[test]
    fn newtypes_keep_the_external_form() {
        let thread = ThreadId(12);
        assert_eq!(thread.to_string(), "thr_12");
        assert_eq!(
            serde_json::to_value(thread).unwrap(),
            serde_json::json!("thr_12")
        );
        assert_eq!(
            serde_json::from_str::<ThreadId>("\"thr_12\"").unwrap(),
            thread
        );
        let wrong = serde_json::from_str::<ThreadId>("\"num_12\"").unwrap_err();
        assert!(wrong.to_string().contains("thr_12"), "{wrong}");
        assert_eq!("bkg_3".parse::<BookingId>(), Ok(BookingId(3)));
        assert_eq!("3".parse::<BookingId>(), Err(IdError(Kind::Booking)));
        assert_eq!(OrgId(1).to_string(), format(Kind::Org, 1));
        assert!(NumberId(4) == "num_4" && NumberId(4) != "num_5");
    }

    #[test]
    fn newtypes_store_the_rowid() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: ClientId = conn
            .query_row("SELECT ?1", [ClientId(7)], |r| r.get(0))
            .unwrap();
        let raw: i64 = conn
            .query_row("SELECT ?1", [ClientId(7)], |r| r.get(0))
            .unwrap();
        assert_eq!((back, raw), (ClientId(7), 7));
    }
}
