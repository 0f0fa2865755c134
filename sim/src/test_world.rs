//! The smallest world the harness's unit tests build: one pool number, one client and one
//! booking (the integration tests' fuller probe world is `sim/tests/common`).

use std::path::Path;

use crate::scenario::Scenario;

const ONE_BOOKING: &str = r#"
name = "one booking"
start = "2026-03-02T09:00:00Z"

[[numbers]]
name = "pool-1"
e164 = "+15550100001"

[[clients]]
name = "alice"
phone = "+15550300001"
email = "alice@example.com"

[[bookings]]
name = "walk"
client = "alice"
service = "Dog Walking"
start = "+1h"
end = "+2h"
"#;

/// The world as a scenario without steps (`one-booking.toml`); panics with the rendered
/// diagnostic if it ever stops parsing.
pub(crate) fn one_booking() -> Scenario {
    Scenario::parse(Path::new("one-booking.toml"), ONE_BOOKING)
        .unwrap_or_else(|e| panic!("{}", e.render()))
}
