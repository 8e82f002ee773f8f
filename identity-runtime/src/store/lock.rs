//! Coordinating token refreshes across application instances.
//!
//! Refresh tokens are often single use: the provider rotates them and treats a second use of an
//! old one as theft, revoking the whole grant. Within one process a refresh is single-flight
//! already; behind a load balancer, two instances serving the same user at the same moment
//! must not both refresh. A [`RefreshLock`] shared by the instances (Redis or PostgreSQL) makes
//! the second one wait, re-read the session, and use the token the first one stored.

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

    /// Extends the lock taken with `token` by `ttl` from now, while its holder still works (a
    /// slow provider must not let the lock lapse mid-refresh, or a second instance would present
    /// the same refresh token). Returns whether the lock is still held. The default does
    /// nothing and says no, for locks that cannot be extended: their `ttl` must then outlast a
    /// refresh.
    fn renew<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> LockFuture<'a, bool> {
        let _ = (key, token, ttl);
        Box::pin(async { false })
    }
}

/// A refresh lock's database failed (creating [`PostgresRefreshLock`]'s table): the database
/// client's error, boxed, so that its type and version are not part of this API. Its message
/// is the client's; [`source`](std::error::Error::source) goes on down the chain.
///
/// ```
/// use axum_identity_runtime::LockError;
///
/// let error = LockError::from(Box::<dyn std::error::Error + Send + Sync>::from("permission denied"));
/// assert_eq!(error.to_string(), "permission denied");
/// let _: Box<dyn std::error::Error> = error.into();
/// ```
#[derive(Debug)]
pub struct LockError(crate::core::error::BoxError);

impl From<crate::core::error::BoxError> for LockError {
    fn from(error: crate::core::error::BoxError) -> Self {
        LockError(error)
    }
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
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
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

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

    fn renew<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> LockFuture<'a, bool> {
        Box::pin(async move {
            let ms = ttl.as_millis().clamp(1, i64::MAX as u128).to_string();
            let renewed: Result<i64, _> = self
                .client
                .eval(RENEW, vec![key], vec![token, ms.as_str()])
                .await;
            renewed.is_ok_and(|n| n == 1)
        })
    }
}

/// A [`RefreshLock`] in PostgreSQL: a lease row per key (`key`, `token`, `expires_at`) in a table
/// of its own. Taking the lock inserts the row, or takes over one whose lease has lapsed, in one
/// statement; releasing deletes the row only under the holder's token; renewing moves its
/// `expires_at`. Use the pool of the `PostgresStore` the sessions live in.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_identity_runtime::{Auth, PostgresRefreshLock};
///
/// let pool = sqlx::PgPool::connect("postgres://127.0.0.1/app").await?;
/// let lock = PostgresRefreshLock::new(pool.clone());
/// lock.migrate().await?;   // creates the table once
/// let auth = Auth::builder_from_env().refresh_lock(lock).build()?;
/// # Ok(()) }
/// ```
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PostgresRefreshLock {
    pool: sqlx::PgPool,
    table: String,
}

#[cfg(feature = "postgres")]
impl PostgresRefreshLock {
    /// The lock in the table `axum_identity_locks` of the pool's default schema.
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self::with_table(pool, "axum_identity_locks")
    }

    /// The lock in a table of another name (`schema.table` is allowed). The name is used in SQL
    /// as it is, so it must be a plain identifier: anything else panics here, at startup.
    pub fn with_table(pool: sqlx::PgPool, table: &str) -> Self {
        assert!(
            !table.is_empty()
                && table
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'),
            "`{table}` is not a plain table name"
        );
        PostgresRefreshLock {
            pool,
            table: table.to_owned(),
        }
    }

    /// Creates the table if it does not exist yet.
    pub async fn migrate(&self) -> Result<(), LockError> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
            self.table
        );
        sqlx::query(&sql)
            .execute(&self.pool)
            .await
            .map_err(|e| LockError(Box::new(e)))?;
        Ok(())
    }
}

#[cfg(feature = "postgres")]
impl RefreshLock for PostgresRefreshLock {
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> LockFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let token = openidconnect::CsrfToken::new_random().secret().clone();
            // One statement, so two instances cannot both take it: the insert wins, or the
            // update takes over a lapsed lease, or no row comes back.
            let sql = format!(
                "INSERT INTO {t} (key, token, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond') \
                 ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at \
                 WHERE {t}.expires_at < now() RETURNING token",
                t = self.table
            );
            let taken: Option<(String,)> = sqlx::query_as(&sql)
                .bind(key)
                .bind(&token)
                .bind(ttl.as_millis().min(i64::MAX as u128) as i64 as f64)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(taken.map(|(token,)| token))
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> LockFuture<'a, ()> {
        Box::pin(async move {
            let sql = format!("DELETE FROM {} WHERE key = $1 AND token = $2", self.table);
            if let Err(error) = sqlx::query(&sql)
                .bind(key)
                .bind(token)
                .execute(&self.pool)
                .await
            {
                // The lease lapses by itself after its ttl.
                tracing::warn!(%error, "releasing the refresh lock failed");
            }
        })
    }

    fn renew<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> LockFuture<'a, bool> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE {} SET expires_at = now() + $3 * interval '1 millisecond' WHERE key = $1 AND token = $2",
                self.table
            );
            sqlx::query(&sql)
                .bind(key)
                .bind(token)
                .bind(ttl.as_millis().min(i64::MAX as u128) as i64 as f64)
                .execute(&self.pool)
                .await
                .is_ok_and(|done| done.rows_affected() == 1)
        })
    }
}

#[cfg(all(test, feature = "postgres"))]
mod postgres_tests {
    use super::*;

    /// PostgreSQL on 127.0.0.1:5432 (trust authentication, database `test`), or
    /// `DATABASE_URL`.
    async fn lock(table: &str) -> PostgresRefreshLock {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let pool = sqlx::PgPool::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"));
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
            .execute(&pool)
            .await
            .unwrap();
        let lock = PostgresRefreshLock::with_table(pool, table);
        lock.migrate().await.unwrap();
        lock.migrate().await.expect("migrating twice is fine");
        lock
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_release() {
        let lock = lock("axum_identity_locks_test_hold").await;
        let ttl = Duration::from_secs(30);
        let held = lock.try_lock("k", ttl).await.unwrap().expect("free");
        assert_eq!(lock.try_lock("k", ttl).await.unwrap(), None, "held");
        assert!(
            lock.try_lock("other", ttl).await.unwrap().is_some(),
            "another key"
        );
        lock.unlock("k", "not the token").await;
        assert_eq!(
            lock.try_lock("k", ttl).await.unwrap(),
            None,
            "only the holder releases"
        );
        lock.unlock("k", &held).await;
        assert!(
            lock.try_lock("k", ttl).await.unwrap().is_some(),
            "free again"
        );
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_taken_over_and_a_renewed_one_is_not() {
        let lock = lock("axum_identity_locks_test_lease").await;
        let short = Duration::from_millis(300);
        let first = lock.try_lock("k", short).await.unwrap().expect("free");
        assert!(lock.renew("k", &first, Duration::from_secs(30)).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(lock.try_lock("k", short).await.unwrap(), None, "renewed");
        lock.unlock("k", &first).await;
        let second = lock.try_lock("k", short).await.unwrap().expect("free");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let third = lock
            .try_lock("k", short)
            .await
            .unwrap()
            .expect("the lease lapsed");
        assert_ne!(second, third);
        assert!(
            !lock.renew("k", &second, short).await,
            "the old holder lost it"
        );
    }

    #[tokio::test]
    async fn many_instances_racing_for_a_key_get_it_once() {
        let lock = std::sync::Arc::new(lock("axum_identity_locks_test_race").await);
        let racers: Vec<_> = (0..20)
            .map(|_| {
                let lock = lock.clone();
                tokio::spawn(async move { lock.try_lock("k", Duration::from_secs(30)).await })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            if racer.await.unwrap().unwrap().is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
    }
}
