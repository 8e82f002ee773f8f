//! Real session stores for the tests: a SQLite file, Redis and PostgreSQL on loopback.
//!
//! Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, user `postgres`, database `test`,
//! trust auth) are expected to run already. When one is
//! missing the test that needs it fails with a message naming exactly what is missing and how
//! to provide it: it never passes by skipping. `REDIS_URL` and `DATABASE_URL` point elsewhere
//! on loopback when needed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike, Config as RedisConfig, KeysInterface, Pool as RedisPool,
};
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tower_sessions_sqlx_store::sqlx::{self, PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// How long connecting to a service may take before the test fails saying it is missing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// A name no other test, test binary or concurrent test run uses: `<prefix>_<pid>_<n>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A connected fred pool on [`redis_url`]. Panics with what is missing when Redis is not there.
pub async fn redis_pool(size: usize) -> RedisPool {
    redis_pool_at(&redis_url(), size).await
}

/// A connected fred pool on `url`. Panics with what is missing when Redis is not there.
pub async fn redis_pool_at(url: &str, size: usize) -> RedisPool {
    let url = url.to_owned();
    let config = RedisConfig::from_url(&url)
        .unwrap_or_else(|e| panic!("REDIS_URL={url} is not a Redis URL: {e}"));
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = CONNECT_TIMEOUT;
            c.internal_command_timeout = CONNECT_TIMEOUT;
        })
        .build_pool(size)
        .expect("a fred pool builds");
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), pool.init()).await {
        Ok(Ok(_connection_task)) => pool,
        Ok(Err(e)) => panic!("{}", missing_redis(&url, &e.to_string())),
        Err(_) => panic!(
            "{}",
            missing_redis(&url, "no answer within the connect timeout")
        ),
    }
}

fn missing_redis(url: &str, why: &str) -> String {
    format!(
        "MISSING SERVICE: Redis is not reachable at {url} ({why}). These tests need a real Redis \
         server on loopback: start it (e.g. `redis-server --daemonize yes`, or `apt-get install \
         redis-server && service redis-server start`), or set REDIS_URL to one."
    )
}

/// A tower-sessions store over a fresh fred pool on [`redis_url`].
pub async fn redis_store() -> (RedisStore<RedisPool>, RedisPool) {
    let pool = redis_pool(4).await;
    (RedisStore::new(pool.clone()), pool)
}

/// A connected PostgreSQL pool on [`database_url`]. Panics with what is missing when
/// PostgreSQL is not there.
pub async fn postgres_pool() -> PgPool {
    postgres_pool_at(&database_url()).await
}

/// A connected PostgreSQL pool on `url`. Panics with what is missing when PostgreSQL is not
/// there.
pub async fn postgres_pool_at(url: &str) -> PgPool {
    let url = url.to_owned();
    let connect = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect(&url);
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connect).await {
        Ok(Ok(pool)) => pool,
        Ok(Err(e)) => panic!("{}", missing_postgres(&url, &e.to_string())),
        Err(_) => panic!(
            "{}",
            missing_postgres(&url, "no answer within the connect timeout")
        ),
    }
}

fn missing_postgres(url: &str, why: &str) -> String {
    format!(
        "MISSING SERVICE: PostgreSQL is not reachable at {url} ({why}). These tests need a real \
         PostgreSQL server on loopback with user `postgres` (trust auth) and database `test`: \
         start it (e.g. `apt-get install postgresql && service postgresql start`, then `createdb \
         -U postgres test`), or set DATABASE_URL to one."
    )
}

/// A PostgreSQL store in a schema of its own (so concurrent runs never share a table),
/// migrated. Drop the schema with [`drop_postgres_schema`] when done.
pub async fn postgres_store() -> (PostgresStore, PgPool, String) {
    let pool = postgres_pool().await;
    let schema = unique_name("axum_identity_test");
    let store = PostgresStore::new(pool.clone())
        .with_schema_name(&schema)
        .expect("a valid schema name")
        .with_table_name("session")
        .expect("a valid table name");
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating the PostgreSQL store in schema {schema}: {e}"));
    (store, pool, schema)
}

pub async fn drop_postgres_schema(pool: &PgPool, schema: &str) {
    sqlx::query(&format!(r#"drop schema if exists "{schema}" cascade"#))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("dropping schema {schema}: {e}"));
}

/// A directory of its own under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(crate::scratch_dir(&unique_name("axum-identity")))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A migrated SQLite store on the file `path` (created if missing), and its pool (close it to
/// release the file).
pub async fn sqlite_store(path: &Path) -> (SqliteStore, SqlitePool) {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("opening the SQLite file {}: {e}", path.display()));
    let store = SqliteStore::new(pool.clone());
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating the SQLite store in {}: {e}", path.display()));
    (store, pool)
}

/// Creates a session record holding `data` (key → JSON value) directly in `store`, as another
/// version of the library or a broken writer would have left it, and returns its id in the
/// form the `identity.sid` cookie carries.
pub async fn plant_record<S: SessionStore>(store: &S, data: serde_json::Value) -> String {
    let serde_json::Value::Object(map) = data else {
        panic!("plant_record wants a JSON object")
    };
    let mut record = Record {
        id: Id::default(),
        data: map.into_iter().collect(),
        expiry_date: time_in(Duration::from_secs(3600)),
    };
    store
        .create(&mut record)
        .await
        .expect("the store takes the planted record");
    record.id.to_string()
}

fn time_in(d: Duration) -> tower_sessions::cookie::time::OffsetDateTime {
    tower_sessions::cookie::time::OffsetDateTime::now_utc() + d
}

/// The raw bytes Redis holds for session `id` (tower-sessions-redis-store keys records by the
/// bare session id and stores them MessagePack-encoded).
pub async fn redis_raw(pool: &RedisPool, id: &str) -> Option<Vec<u8>> {
    pool.get::<Option<Vec<u8>>, _>(id)
        .await
        .expect("GET on Redis")
}

/// The size in bytes of the record Redis holds for session `id`.
pub async fn redis_strlen(pool: &RedisPool, id: &str) -> u64 {
    pool.strlen::<u64, _>(id).await.expect("STRLEN on Redis")
}

/// Overwrites the record of session `id` in Redis with raw `bytes` (keeping a TTL).
pub async fn redis_overwrite(pool: &RedisPool, id: &str, bytes: &[u8]) {
    use tower_sessions_redis_store::fred::types::Expiration;
    let _: () = pool
        .set(id, bytes, Some(Expiration::EX(3600)), None, false)
        .await
        .expect("SET on Redis");
}
