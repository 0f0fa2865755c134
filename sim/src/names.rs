//! Symbolic names: scenario files say `pool-1` and `alice`; the engine says `num_1` and `cli_1`.
//! The name map translates both ways, so that paths can use names and output shows names.
//!
//! A booking's name also names the thread its confirmation opens, so one name can stand for
//! ids of two kinds. Output maps both ids to the name; comparisons of expected JSON happen on
//! symbolized responses (ids replaced by names), so `"{walk-1}"` matches either id.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use switchboard_core::ids::{Id, Kind};

/// External id → name, and name → ids by kind. BTreeMaps: nothing depends on hash order.
#[derive(Debug, Default, Clone)]
pub struct Names {
    by_id: BTreeMap<String, String>,
    by_name: BTreeMap<String, BTreeMap<Kind, String>>,
}

static EXTERNAL_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(org|usr|sit|cli|bkg|num|thr|msg|alr)_[0-9]+\b").expect("valid regex")
});

static ACTOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^user:(usr_[0-9]+)$").expect("valid regex"));

impl Names {
    /// Names `id` (of its kind) `name`; a name may name one id of each kind.
    pub fn insert<I: Id>(&mut self, name: &str, id: I) {
        let external = id.to_string();
        self.by_name
            .entry(name.to_string())
            .or_default()
            .insert(I::KIND, external.clone());
        self.by_id.insert(external, name.to_string());
    }

    /// The id of `name` of kind `I`, if it has one.
    pub fn id<I: Id>(&self, name: &str) -> Option<I> {
        I::parse_external(self.external(name, I::KIND)?)
    }

    /// The external id (`cli_3`) of `name` as a `kind`, if it has one.
    pub fn external(&self, name: &str, kind: Kind) -> Option<&str> {
        self.by_name.get(name)?.get(&kind).map(String::as_str)
    }

    /// The symbolic name of an external id (`thr_3` → `walk-1`), if it has one.
    pub fn name(&self, external_id: &str) -> Option<&str> {
        self.by_id.get(external_id).map(String::as_str)
    }

    /// The id a `{name}` placeholder in a path stands for: after `/bookings/` the booking,
    /// otherwise the thread when the name has one, otherwise whatever the name names.
    pub fn path_id(&self, name: &str, before: &str) -> Option<String> {
        let ids = self.by_name.get(name)?;
        let preferred = if before.ends_with("/bookings/") {
            Kind::Booking
        } else {
            Kind::Thread
        };
        ids.get(&preferred).or_else(|| ids.values().next()).cloned()
    }

    /// Replaces every external id in `text` with its name (unknown ids stay as they are).
    pub fn symbolize(&self, text: &str) -> String {
        EXTERNAL_ID
            .replace_all(text, |c: &Captures| {
                self.name(&c[0]).unwrap_or(&c[0]).to_string()
            })
            .into_owned()
    }

    /// `user:usr_3` → `owner`.
    pub fn actor(&self, actor: &str) -> String {
        match ACTOR.captures(actor) {
            Some(c) => self
                .name(&c[1])
                .map(str::to_string)
                .unwrap_or_else(|| actor.to_string()),
            None => actor.to_string(),
        }
    }
}

/// Every external id mentioned in `text`.
pub fn external_ids(text: &str) -> impl Iterator<Item = &str> {
    EXTERNAL_ID.find_iter(text).map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ids::{BookingId, ThreadId, UserId};

    #[test]
    fn both_directions() {
        let mut names = Names::default();
        names.insert("walk-1", BookingId(3));
        names.insert("walk-1", ThreadId(12));
        names.insert("owner", UserId(1));
        assert_eq!(
            names.symbolize("thread thr_12, bkg_3, not thr_123 or xthr_12"),
            "thread walk-1, walk-1, not thr_123 or xthr_12"
        );
        assert_eq!(
            names.path_id("walk-1", "/api/threads/").as_deref(),
            Some("thr_12")
        );
        assert_eq!(
            names.path_id("walk-1", "/api/bookings/").as_deref(),
            Some("bkg_3")
        );
        assert_eq!(names.actor("user:usr_1"), "owner");
        assert_eq!(names.actor("system:release-job"), "system:release-job");
    }
}
