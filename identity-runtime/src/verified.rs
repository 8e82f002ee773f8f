//! Tokens already verified, so that a repeated bearer token costs a hash and a lookup instead
//! of a signature verification: bounded, keyed by a SHA-256 of the whole token (so a token
//! that differs in any byte is verified afresh), and never trusted past the token's `exp`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sha2::Digest as _;

/// The key of a token in the cache.
pub(crate) type TokenKey = [u8; 32];

/// The SHA-256 of the whole token.
pub(crate) fn key(token: &str) -> TokenKey {
    sha2::Sha256::digest(token.as_bytes()).into()
}

struct Entry<T> {
    value: Arc<T>,
    /// Unix seconds: the token's `exp`.
    expires_at: i64,
}

/// A bounded map from token hash to what its verification produced.
pub(crate) struct VerifiedTokens<T> {
    entries: RwLock<HashMap<TokenKey, Entry<T>>>,
    capacity: usize,
}

impl<T> VerifiedTokens<T> {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedTokens {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// What verifying this token gave, while it has not expired.
    pub(crate) fn get(&self, key: &TokenKey, now: i64) -> Option<Arc<T>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|entry| now < entry.expires_at)
            .map(|entry| entry.value.clone())
    }

    /// Remembers a verified token until `expires_at`. When full, expired entries go first,
    /// then a quarter of the others (any: the next request of their owners verifies again).
    pub(crate) fn insert(&self, key: TokenKey, value: Arc<T>, expires_at: i64, now: i64) {
        if self.capacity == 0 || expires_at <= now {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, entry| now < entry.expires_at);
            if entries.len() >= self.capacity {
                let drop: Vec<TokenKey> = entries
                    .keys()
                    .take((self.capacity / 4).max(1))
                    .copied()
                    .collect();
                for key in drop {
                    entries.remove(&key);
                }
            }
        }
        entries.insert(key, Entry { value, expires_at });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_served_until_its_exp_and_not_after() {
        let cache = VerifiedTokens::new(10);
        let k = key("a.b.c");
        cache.insert(k, Arc::new(1), 100, 50);
        assert_eq!(cache.get(&k, 99).as_deref(), Some(&1));
        assert_eq!(cache.get(&k, 100), None);
        assert_eq!(cache.get(&key("a.b.d"), 60), None, "another token");
    }

    #[test]
    fn it_stays_bounded_and_drops_expired_entries_first() {
        let cache = VerifiedTokens::new(8);
        for i in 0..4 {
            cache.insert(key(&format!("old{i}")), Arc::new(i), 10, 0);
        }
        for i in 0..4 {
            cache.insert(key(&format!("new{i}")), Arc::new(i), 1000, 0);
        }
        cache.insert(key("latest"), Arc::new(9), 1000, 20);
        assert_eq!(cache.len(), 5, "the expired four went");
        for i in 0..100 {
            cache.insert(key(&format!("more{i}")), Arc::new(i), 1000, 20);
            assert!(cache.len() <= 8);
        }
        assert!(cache.get(&key("more99"), 21).is_some());
    }

    #[test]
    fn capacity_zero_and_expired_tokens_are_not_kept() {
        let off = VerifiedTokens::new(0);
        off.insert(key("t"), Arc::new(1), 100, 0);
        assert_eq!(off.get(&key("t"), 1), None);
        let cache = VerifiedTokens::new(4);
        cache.insert(key("t"), Arc::new(1), 100, 100);
        assert_eq!(cache.len(), 0);
    }
}
