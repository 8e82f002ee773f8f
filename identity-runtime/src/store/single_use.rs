//! Things that may happen once: a callback's `state` redeemed, a logout token's `jti` used. Per
//! process with a set of recent keys; across instances with the [`RefreshLock`] they share,
//! whose atomic take (`SET NX` in Redis) is exactly "first one wins".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::Digest as _;

use crate::core::error::Error;
use crate::store::lock::RefreshLock;

/// At most this many keys are remembered in-process; the oldest go first.
const MAX_KEYS: usize = 100_000;

/// Claims of single-use values.
pub(crate) struct SingleUse {
    seen: Mutex<HashMap<String, i64>>,
    shared: Option<Arc<dyn RefreshLock>>,
}

impl SingleUse {
    pub(crate) fn new(shared: Option<Arc<dyn RefreshLock>>) -> Self {
        SingleUse {
            seen: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Claims `value` of `kind` for `ttl`: true for the first claim, false for every later one
    /// (here or, with a shared lock, on any instance). The value itself never leaves the
    /// process: the shared key is its digest.
    pub(crate) async fn claim(
        &self,
        kind: &str,
        value: &str,
        now: i64,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let key = format!(
            "axum-identity:{kind}:{}",
            sha2::Sha256::digest(value.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() >= MAX_KEYS {
                seen.retain(|_, until| *until > now);
            }
            if seen.get(&key).is_some_and(|until| *until > now) {
                return Ok(false);
            }
            seen.insert(key.clone(), now + ttl.as_secs() as i64);
        }
        let Some(shared) = &self.shared else {
            return Ok(true);
        };
        // Never released: the claim lapses with its ttl, which outlives the value's validity.
        match shared.try_lock(&key, ttl).await {
            Ok(taken) => Ok(taken.is_some()),
            Err(error) => {
                // Unknown whether another instance claimed it: let the next attempt decide.
                self.seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&key);
                Err(Error::store(tower_sessions::session_store::Error::Backend(
                    error,
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lock::LockFuture;

    const TTL: Duration = Duration::from_secs(600);

    /// A lock shared by "instances": a map of taken keys.
    #[derive(Default)]
    struct SharedMap(Mutex<HashMap<String, String>>);

    impl RefreshLock for SharedMap {
        fn try_lock<'a>(
            &'a self,
            key: &'a str,
            _: Duration,
        ) -> LockFuture<'a, Result<Option<String>, String>> {
            Box::pin(async move {
                let mut map = self.0.lock().unwrap();
                if map.contains_key(key) {
                    return Ok(None);
                }
                map.insert(key.to_owned(), "t".into());
                Ok(Some("t".into()))
            })
        }

        fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> LockFuture<'a, ()> {
            Box::pin(async {})
        }
    }

    #[tokio::test]
    async fn a_value_is_claimed_once_per_kind() {
        let once = SingleUse::new(None);
        assert!(once.claim("state", "s", 0, TTL).await.unwrap());
        assert!(!once.claim("state", "s", 1, TTL).await.unwrap());
        assert!(once.claim("jti", "s", 1, TTL).await.unwrap());
        assert!(
            once.claim("state", "s", 601, TTL).await.unwrap(),
            "after its ttl"
        );
    }

    #[tokio::test]
    async fn instances_sharing_a_lock_claim_a_value_once_between_them() {
        let map = Arc::new(SharedMap::default());
        let a = SingleUse::new(Some(map.clone()));
        let b = SingleUse::new(Some(map.clone()));
        assert!(a.claim("state", "secret-state", 0, TTL).await.unwrap());
        assert!(!b.claim("state", "secret-state", 0, TTL).await.unwrap());
        let keys: Vec<String> = map.0.lock().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 1);
        assert!(
            !keys[0].contains("secret-state"),
            "the value itself is not shared"
        );
    }
}
