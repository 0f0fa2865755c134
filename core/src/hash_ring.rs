//! HASH_SHUFFLE: consistent hashing with bounded loads on an indexed ring (DESIGN.md §2).
//!
//! **The ring.** Every pool number owns [`REPLICAS`] points on a ring of 2^64 positions; point
//! `r` of a number sits at `fmix64(fnv1a64(e164 ‖ 0xFF ‖ r))`, where `r` is written as decimal
//! ASCII (`"0"` … `"31"`). A sticky key (`cli_7`, `thr_42`) sits at `fmix64(fnv1a64(key))`.
//! FNV-1a 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3) runs over the UTF-8
//! bytes; MurmurHash3's 64-bit finalizer `fmix64` spreads similar inputs over the whole range.
//! The 0xFF byte never occurs in UTF-8, so a key never hashes the same input as a point. Both
//! functions are fixed and byte-oriented, so positions are the same on every platform and Rust
//! release (unlike std's `DefaultHasher`). Positions are stored as SQLite integers: the u64
//! reinterpreted as i64, so "clockwise" is ascending i64 order, wrapping from `i64::MAX` to
//! `i64::MIN`.
//!
//! **The choice.** A key gets the number of the first point clockwise from its position (its
//! own position included) whose number is *available* (active, below the cap, not serving
//! another open thread of the client); equal positions go to the lower number id. Full numbers
//! are skipped, which bounds every number's load by the cap ("bounded loads").
//!
//! **Why it has the properties DESIGN.md asks for.** The choice is a function of the key and
//! the set of available numbers only, never of row order. A key keeps its number while the
//! points between the key and that number stay unavailable and the number has room: another
//! number filling up or being retired does not move it. When a number fills up, only the keys
//! whose walk ended on it move, each to the next available point. Adding or retiring one of n
//! numbers moves only the keys whose walk now ends on (or no longer ends on) its points: about
//! 1/n of them, since its 32 points own about 1/n of the ring.
//!
//! **Why a ring and not rendezvous hashing.** Rendezvous weighs every available number per
//! assignment (O(n)); the ring is a table (`hash_ring`, migration 9) indexed by position, so an
//! assignment reads from the key's position until it meets an available number: a few rows
//! while most numbers have room. When the walk meets [`WALK_LIMIT`] unavailable points in a row
//! (almost every number is full), the engine instead reads the few numbers that still have room
//! and applies [`choose`], which computes the same answer in memory.

use rusqlite::{Transaction, params};

/// Points per number. More points spread the ring more evenly (a number's share of the ring has
/// a relative spread of about 1/√32 ≈ 18%); fewer make the table smaller.
pub const REPLICAS: u32 = 32;

/// Unavailable points the engine walks before it switches to [`choose`] over the numbers with
/// room; a walk this long means fewer than about one number in 40 has room for the key.
pub const WALK_LIMIT: usize = 128;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64-bit over the concatenation of `parts`.
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash = FNV_OFFSET;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    hash
}

/// MurmurHash3 `fmix64`.
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The ring position of a sticky key.
pub fn key_position(key: &str) -> i64 {
    fmix64(fnv1a64(&[key.as_bytes()])) as i64
}

/// The ring position of point `replica` (0-based) of the number `e164`.
pub fn point_position(e164: &str, replica: u32) -> i64 {
    let replica = replica.to_string();
    fmix64(fnv1a64(&[e164.as_bytes(), &[0xFF], replica.as_bytes()])) as i64
}

/// How far clockwise `point` lies from `key` (0 = the same position).
pub fn clockwise(key: i64, point: i64) -> u64 {
    (point as u64).wrapping_sub(key as u64)
}

/// The ring's choice among `candidates` (`(id, e164)`, the available numbers, in any order):
/// the number owning the first point clockwise from the key, equal positions to the lower id.
pub fn choose<'a>(key: &str, candidates: impl IntoIterator<Item = (i64, &'a str)>) -> Option<i64> {
    let start = key_position(key);
    let mut best: Option<(u64, i64)> = None;
    for (id, e164) in candidates {
        for replica in 0..REPLICAS {
            let candidate = (clockwise(start, point_position(e164, replica)), id);
            if best.is_none_or(|best| candidate < best) {
                best = Some(candidate);
            }
        }
    }
    best.map(|(_, id)| id)
}

/// Puts the points of pool number `number` on its org's ring (in the caller's transaction).
pub fn add_number(tx: &Transaction, org: i64, number: i64, e164: &str) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO hash_ring (org_id, number_id, replica, pos) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for replica in 0..REPLICAS {
        insert.execute(params![org, number, replica, point_position(e164, replica)])?;
    }
    Ok(())
}

/// Puts every pool number that has no points yet on the ring: for databases written before the
/// ring existed (migration 9) and rows inserted in bulk outside the engine (benchmarks).
pub fn add_missing(tx: &Transaction) -> rusqlite::Result<()> {
    let missing: Vec<(i64, i64, String)> = tx
        .prepare(
            "SELECT n.org_id, n.id, n.e164 FROM message_numbers n
             WHERE n.class = 'pool' AND NOT EXISTS (SELECT 1 FROM hash_ring r WHERE r.number_id = n.id)
             ORDER BY n.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (org, number, e164) in missing {
        add_number(tx, org, number, &e164)?;
    }
    Ok(())
}

/// What a walk of the ring found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// The first available number clockwise from the key.
    Found(i64),
    /// The whole ring was walked: no number is available.
    Nothing,
    /// [`WALK_LIMIT`] unavailable points in a row: the caller should use [`choose`] instead.
    TooLong,
}

/// Walks the org's ring clockwise from `key`'s position and returns the first number `n` that
/// passes `room` (an SQL boolean over `n` whose parameters are ?1 org and ?2 cap; ?3 is the key's
/// position) and that `excluded` does not reject (the client household's numbers, checked in
/// memory). `params` supplies (org, cap).
pub fn walk(
    tx: &Transaction,
    room: &str,
    params: (i64, i64),
    key: &str,
    excluded: &dyn Fn(i64) -> bool,
) -> rusqlite::Result<Walk> {
    let start = key_position(key);
    let (org, cap) = params;
    let mut unavailable = 0;
    // From the key to the top of the ring, then from the bottom back to the key.
    for range in ["r.pos >= ?3", "r.pos < ?3"] {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT r.number_id, {room} FROM hash_ring r INDEXED BY hash_ring_walk
             CROSS JOIN message_numbers n ON n.id = r.number_id
             WHERE r.org_id = ?1 AND {range} ORDER BY r.pos, r.number_id"
        ))?;
        let mut rows = stmt.query(params![org, cap, start])?;
        while let Some(row) = rows.next()? {
            let number: i64 = row.get(0)?;
            if row.get::<_, bool>(1)? && !excluded(number) {
                return Ok(Walk::Found(number));
            }
            unavailable += 1;
            if unavailable == WALK_LIMIT {
                return Ok(Walk::TooLong);
            }
        }
    }
    Ok(Walk::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_fnv1a_vectors() {
        assert_eq!(fnv1a64(&[b""]), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x85944171f73967e8);
        assert_eq!(fnv1a64(&[b"foo", b"bar"]), 0x85944171f73967e8);
    }

    #[test]
    fn fmix64_vectors() {
        assert_eq!(fmix64(0), 0);
        // The finalizer is a bijection; these pin the constants.
        assert_eq!(fmix64(1), 0xb456bcfc34c2cb2c);
    }

    /// Cross-checked with an independent implementation (Python, arbitrary-precision ints):
    /// `fmix64(fnv1a64(b"cli_1"))` and `fmix64(fnv1a64(b"+15550100001" + b"\xff" + b"0"))`,
    /// as signed 64-bit integers. Pinned so that a change of algorithm (which would move every
    /// key) fails loudly.
    #[test]
    fn positions_are_pinned() {
        assert_eq!(key_position("cli_1"), KEY_CLI1);
        assert_eq!(point_position("+15550100001", 0), POINT_POOL1_0);
        assert_eq!(point_position("+15550100001", 31), POINT_POOL1_31);
    }

    const KEY_CLI1: i64 = -4_465_131_598_644_752_335;
    const POINT_POOL1_0: i64 = -7_675_871_530_405_373_282;
    const POINT_POOL1_31: i64 = 751_841_404_268_776_541;

    #[test]
    fn clockwise_wraps_from_the_top_to_the_bottom() {
        assert_eq!(clockwise(5, 5), 0);
        assert_eq!(clockwise(5, 7), 2);
        assert_eq!(clockwise(i64::MAX, i64::MIN), 1);
        assert!(clockwise(0, -1) > clockwise(0, i64::MAX));
    }

    fn pool(n: usize) -> Vec<(i64, String)> {
        (1..=n as i64)
            .map(|i| (i, format!("+1555010{i:04}")))
            .collect()
    }

    fn pick(key: &str, set: &[(i64, String)]) -> Option<i64> {
        choose(key, set.iter().map(|(id, e)| (*id, e.as_str())))
    }

    /// The ring as a sorted list of (position, number): a second statement of the rule ("the
    /// first point at or after the key's position, wrapping"), by binary search.
    fn ring(set: &[(i64, String)]) -> Vec<(i64, i64)> {
        let mut points: Vec<(i64, i64)> = set
            .iter()
            .flat_map(|(id, e164)| (0..REPLICAS).map(move |r| (point_position(e164, r), *id)))
            .collect();
        points.sort();
        points
    }

    fn lookup(ring: &[(i64, i64)], key: &str) -> Option<i64> {
        let at = ring.partition_point(|(pos, _)| *pos < key_position(key));
        ring.get(at).or(ring.first()).map(|(_, id)| *id)
    }

    fn keys(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("cli_{i}")).collect()
    }

    /// The share of `keys` whose choice differs between the two pools.
    fn moved(keys: &[String], before: &[(i64, String)], after: &[(i64, String)]) -> f64 {
        let (before, after) = (ring(before), ring(after));
        let moved = keys
            .iter()
            .filter(|k| lookup(&before, k) != lookup(&after, k))
            .count();
        moved as f64 / keys.len() as f64
    }

    #[test]
    fn adding_or_retiring_one_number_moves_about_one_nth_of_the_keys() {
        let keys = keys(20_000);
        let check = |n: usize| {
            let small = pool(n);
            let large = pool(n + 1);
            let share = moved(&keys, &small, &large) * (n + 1) as f64;
            // One number's share of a ring of 32 points per number: 1/n ± about 18%.
            assert!((0.5..=1.6).contains(&share), "n={n}: moved {share}/n");
            // Retiring moves exactly the keys that were on the retired number.
            let retired = large.len() as i64;
            let (large, small) = (ring(&large), ring(&small));
            for key in &keys {
                let (before, after) = (lookup(&large, key), lookup(&small, key));
                assert_eq!(before == Some(retired), before != after, "{key}");
            }
        };
        for n in [4, 20, 100] {
            check(n);
        }
    }

    #[test]
    fn the_ring_spreads_keys_over_every_number() {
        let numbers = ring(&pool(50));
        let mut counts = std::collections::BTreeMap::<i64, usize>::new();
        for key in keys(50_000) {
            *counts.entry(lookup(&numbers, &key).unwrap()).or_default() += 1;
        }
        assert_eq!(counts.len(), 50);
        for (number, count) in counts {
            // Expected 1,000 each; 32 points per number keep every share within ±50%.
            assert!((500..=1_500).contains(&count), "number {number}: {count}");
        }
    }

    proptest! {
        /// Over random pools and keys: the choice is the ring's first point clockwise and ignores order; a number leaving the available
        /// set (full or retired) moves only its own keys; a key keeps its number while that
        /// number stays available, whatever else leaves.
        #[test]
        fn properties_over_random_pools(
            ids in proptest::collection::btree_set(1i64..10_000, 1..40),
            keys in proptest::collection::vec("(cli|thr)_[0-9]{1,6}", 1..30),
            leaving in proptest::collection::vec(any::<proptest::sample::Index>(), 1..5),
        ) {
            let numbers: Vec<(i64, String)> =
                ids.iter().map(|id| (*id, format!("+1415{:07}", id * 7919 % 10_000_000))).collect();
            let mut reversed = numbers.clone();
            reversed.reverse();
            let gone: std::collections::BTreeSet<i64> =
                leaving.iter().map(|i| numbers[i.index(numbers.len())].0).collect();
            let rest: Vec<(i64, String)> =
                numbers.iter().filter(|(id, _)| !gone.contains(id)).cloned().collect();
            for key in &keys {
                let chosen = pick(key, &numbers);
                prop_assert!(chosen.is_some());
                prop_assert_eq!(chosen, lookup(&ring(&numbers), key));
                prop_assert_eq!(chosen, pick(key, &reversed));
                let after = pick(key, &rest);
                if gone.contains(&chosen.unwrap()) {
                    prop_assert_ne!(after, chosen);
                } else {
                    prop_assert_eq!(after, chosen, "{} moved although its number stayed", key);
                }
            }
        }
    }
}
