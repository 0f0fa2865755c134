//! The stored words of the domain as Rust enums: [`stored_words!`] gives an enum its one table of
//! (variant, stored text), and from it `as_str`, `parse`, `ALL`, `Display`, `ToSql`/`FromSql` (the
//! text, exactly as stored today) and comparisons with text. No code compares these words as raw
//! strings; the table is the single spelling of each.

/// Implements the vocabulary of a fieldless enum from one table of `Variant => "text"`.
///
/// The enum keeps its own derives (`Serialize` with the matching `rename_all`), so JSON and the
/// database spell each variant the same way; a test per enum checks that they agree.
#[macro_export]
macro_rules! stored_words {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and serialized) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant stored as `text`; `None` for any other text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<$name> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!("{text:?} is not a {}", stringify!($name)).into(),
                    )
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::alerts::{AlertStatus, AlertType, Severity};
    use crate::audit::EventType;
    use crate::bookings::BookingStatus;
    use crate::messaging::{Direction, SendStatus};
    use crate::pool::ThreadStatus;
    use crate::requests::Method;
    use crate::world::{NumberClass, NumberStatus};

    /// JSON (serde's rename rules) and the database (the table) spell every word the same way,
    /// and every word reads back as itself.
    fn check<T: serde::Serialize + Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for &word in all {
            let json = serde_json::to_value(word).unwrap();
            assert_eq!(json, as_str(word), "{word:?}");
            assert_eq!(parse(as_str(word)), Some(word));
        }
    }

    #[test]
    fn serde_and_stored_words_agree() {
        check(EventType::ALL, EventType::as_str, EventType::parse);
        check(
            BookingStatus::ALL,
            BookingStatus::as_str,
            BookingStatus::parse,
        );
        check(ThreadStatus::ALL, ThreadStatus::as_str, ThreadStatus::parse);
        check(NumberClass::ALL, NumberClass::as_str, NumberClass::parse);
        check(NumberStatus::ALL, NumberStatus::as_str, NumberStatus::parse);
        check(Method::ALL, Method::as_str, Method::parse);
        check(SendStatus::ALL, SendStatus::as_str, SendStatus::parse);
        check(Direction::ALL, Direction::as_str, Direction::parse);
        check(AlertType::ALL, AlertType::as_str, AlertType::parse);
        check(AlertStatus::ALL, AlertStatus::as_str, AlertStatus::parse);
        check(Severity::ALL, Severity::as_str, Severity::parse);
        assert_eq!(ThreadStatus::parse("Open"), None);
    }

    #[test]
    fn destinations_keep_their_stored_text() {
        use crate::ids::SitterId;
        use crate::messaging::RoutedTo;
        for (routed, text) in [
            (RoutedTo::OwnerInbox, "owner_inbox"),
            (RoutedTo::Sitter(SitterId(2)), "sitter:sit_2"),
            (RoutedTo::Client, "client"),
        ] {
            assert_eq!(routed.to_string(), text);
            assert_eq!(serde_json::to_value(routed).unwrap(), text);
            assert_eq!(RoutedTo::parse(text), Some(routed));
        }
        assert_eq!(RoutedTo::parse("sitter:cli_2"), None);
        assert_eq!(RoutedTo::parse("sitter:"), None);
    }

    #[test]
    fn stored_words_round_trip_through_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: NumberClass = conn
            .query_row("SELECT ?1", [NumberClass::FrontDesk], |r| r.get(0))
            .unwrap();
        let text: String = conn
            .query_row("SELECT ?1", [NumberClass::FrontDesk], |r| r.get(0))
            .unwrap();
        assert_eq!(
            (back, text.as_str()),
            (NumberClass::FrontDesk, "front_desk")
        );
        let bad = conn.query_row("SELECT 'nope'", [], |r| r.get::<_, ThreadStatus>(0));
        assert!(bad.is_err());
    }
}
