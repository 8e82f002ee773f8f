//! Coordinating token refreshes across application instances.
//!
//! Refresh tokens are often single use: the provider rotates them and treats a second use of an
//! old one as theft, revoking the whole grant. Within one process a refresh is single-flight
//! already; behind a load balancer, two instances serving the same user at the same moment
//! must not both refresh. A [`RefreshLock`] shared by the instances (Redis) makes the second one
//! wait, re-read the session, and use the token the first one stored.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, as the lock's methods return.
pub type LockFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A lock shared by every instance of the application, keyed by an opaque string.
///
/// Implementations must make `try_lock` atomic across instances and let a lock lapse after
/// `ttl` (so a crashed instance cannot block a user forever), and `unlock` must release only a
/// lock still held under the given `token`.
pub trait RefreshLock: Send + Sync + 'static {
    /// Takes the lock if it is free; returns the token that releases it, or `None` when another
    /// holder has it.
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> LockFuture<'a, Result<Option<String>, String>>;

    /// Releases the lock taken with `token`.
    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> LockFuture<'a, ()>;
}

/// A [`RefreshLock`] in Redis: `SET key token NX PX ttl` to take it, a compare-and-delete script
/// to release it. Use the same Redis as the session store.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_identity_runtime::{Auth, RedisRefreshLock};
/// use fred::prelude::*;
///
/// let pool = Pool::new(Config::from_url("redis://127.0.0.1:6379")?, None, None, None, 4)?;
/// pool.init().await?;
/// let auth = Auth::builder_from_env().refresh_lock(RedisRefreshLock::new(pool.clone())).build()?;
/// # Ok(()) }
/// ```
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Debug, Clone)]
pub struct RedisRefreshLock<C> {
    client: C,
}

#[cfg(feature = "redis")]
impl<C> RedisRefreshLock<C> {
    /// Wraps a connected fred client or pool.
    pub fn new(client: C) -> Self {
        RedisRefreshLock { client }
    }
}

#[cfg(feature = "redis")]
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

#[cfg(feature = "redis")]
impl<C> RefreshLock for RedisRefreshLock<C>
where
    C: fred::interfaces::KeysInterface + fred::interfaces::LuaInterface + Send + Sync + 'static,
{
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> LockFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let token = openidconnect::CsrfToken::new_random().secret().clone();
            let ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
            let set: Option<String> = self
                .client
                .set(
                    key,
                    token.as_str(),
                    Some(fred::types::Expiration::PX(ms)),
                    Some(fred::types::SetOptions::NX),
                    false,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(set.map(|_| token))
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> LockFuture<'a, ()> {
        Box::pin(async move {
            let released: Result<i64, _> = self.client.eval(RELEASE, vec![key], vec![token]).await;
            if let Err(error) = released {
                // The lock lapses by itself after its ttl.
                tracing::warn!(%error, "releasing the refresh lock failed");
            }
        })
    }
}
