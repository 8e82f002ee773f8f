//! Tokens already verified, so that a repeated bearer token costs a hash and a lookup instead
//! of a signature verification: keyed by a SHA-256 of the whole token (so a token that differs
//! in any byte is verified afresh), never trusted past the token's `exp`, and bounded by the
//! bytes its entries hold, not by their count (a stream of large tokens must not grow the
//! process without limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::claims;

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
    /// How long the entry may live from its insertion (until `exp`), so that memory held by
    /// expired tokens is given back without waiting for an eviction.
    ttl: Duration,
    /// The bytes the entry holds, about.
    weight: u32,
}

// By hand: `derive` would ask `T: Clone`, and only the `Arc` is cloned.
impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Entry {
            value: self.value.clone(),
            expires_at: self.expires_at,
            ttl: self.ttl,
            weight: self.weight,
        }
    }
}

/// Drops each entry when its token expires.
struct UntilExp;

impl<T> moka::Expiry<TokenKey, Entry<T>> for UntilExp {
    fn expire_after_create(&self, _: &TokenKey, entry: &Entry<T>, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// A map from token hash to what its verification produced, holding at most a given number of
/// bytes (as [`weigh`] counts them).
pub(crate) struct VerifiedTokens<T> {
    entries: Option<Cache<TokenKey, Entry<T>>>,
}

impl<T: Send + Sync + 'static> VerifiedTokens<T> {
    /// A cache of at most `max_bytes`; 0 turns caching off.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let entries = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &TokenKey, entry: &Entry<T>| entry.weight)
                .expire_after(UntilExp)
                .build()
        });
        VerifiedTokens { entries }
    }

    /// What verifying this token gave, while it has not expired.
    pub(crate) fn get(&self, key: &TokenKey, now: i64) -> Option<Arc<T>> {
        self.entries
            .as_ref()?
            .get(key)
            .filter(|entry| now < entry.expires_at)
            .map(|entry| entry.value)
    }

    /// Remembers a verified token until `expires_at`; `weight` is the bytes it holds. The
    /// least valuable entries (by recency and frequency) make room when the bytes are spent.
    pub(crate) fn insert(
        &self,
        key: TokenKey,
        value: Arc<T>,
        weight: u64,
        expires_at: i64,
        now: i64,
    ) {
        let Some(entries) = &self.entries else {
            return;
        };
        if expires_at <= now {
            return;
        }
        let ttl = Duration::from_secs(u64::try_from(expires_at - now).unwrap_or(0));
        let weight = u32::try_from(weight).unwrap_or(u32::MAX);
        entries.insert(
            key,
            Entry {
                value,
                expires_at,
                ttl,
                weight,
            },
        );
    }

    /// The bytes the entries hold now, after pending evictions ran.
    #[cfg(test)]
    pub(crate) fn weighted_size(&self) -> u64 {
        self.entries.as_ref().map_or(0, |entries| {
            entries.run_pending_tasks();
            entries.weighted_size()
        })
    }
}

/// About the bytes a verified token's entry holds: its parsed claims (see
/// [`claims::weigh`]) and the entry itself.
pub(crate) fn weigh(claims: &Map<String, Value>) -> u64 {
    /// The cache's own bookkeeping per entry, the key and the `Arc`.
    const ENTRY: u64 = 160;
    ENTRY + claims::weigh(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_is_served_until_its_exp_and_not_after() {
        let cache = VerifiedTokens::new(1 << 20);
        let k = key("a.b.c");
        cache.insert(k, Arc::new(1), 100, 100, 50);
        assert_eq!(cache.get(&k, 99).as_deref(), Some(&1));
        assert_eq!(cache.get(&k, 100), None);
        assert_eq!(cache.get(&key("a.b.d"), 60), None, "another token");
    }

    /// 20,000 distinct large tokens (1,100 `groups` each, 12 KB as a JWT) never hold more than
    /// the bound: the cache keeps what fits and drops the rest.
    #[test]
    fn twenty_thousand_large_tokens_stay_within_the_byte_bound() {
        let bound = 8 << 20;
        let cache = VerifiedTokens::new(bound);
        let groups: Vec<String> = (0..1100).map(|i| format!("g{i:05}")).collect();
        let mut weight = 0;
        for i in 0..20_000 {
            let claims = json!({"sub": format!("user{i}"), "groups": groups});
            let claims = claims.as_object().unwrap().clone();
            weight = weigh(&claims);
            cache.insert(
                key(&format!("token{i}")),
                Arc::new(claims),
                weight,
                10_000,
                0,
            );
        }
        let held = cache.weighted_size();
        assert!(held <= bound, "{held} bytes held, bound {bound}");
        assert!(held >= bound / 2, "the cache is used: {held} bytes");
        assert!(
            (40_000..120_000).contains(&weight),
            "a 1,100-group token weighs about 70 KB, not {weight}"
        );
    }

    #[test]
    fn size_zero_and_expired_tokens_are_not_kept() {
        let off = VerifiedTokens::new(0);
        off.insert(key("t"), Arc::new(1), 100, 100, 0);
        assert_eq!(off.get(&key("t"), 1), None);
        let cache = VerifiedTokens::new(1 << 20);
        cache.insert(key("t"), Arc::new(1), 100, 100, 100);
        assert_eq!(cache.get(&key("t"), 50), None);
        assert_eq!(cache.weighted_size(), 0);
    }
}
