use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tower_sessions::{MemoryStore, Session};

use super::*;
use crate::oidc::authority::Authority;

/// The default session lifetimes.
const POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: Duration::from_secs(8 * 3600),
    lifetime: Duration::from_secs(24 * 3600),
    login_timeout: Duration::from_secs(600),
};

fn token(scopes: &[&str], obtained_at: i64, lifetime: i64) -> CachedToken {
    CachedToken {
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        access_token: "at".into(),
        token_type: "Bearer".into(),
        expires_at: obtained_at + lifetime,
        obtained_at,
    }
}

#[test]
fn the_margin_is_a_quarter_of_the_lifetime_at_most_five_minutes() {
    let short = token(&["s"], 0, 60);
    assert!(is_fresh(&short, 44));
    assert!(!is_fresh(&short, 45), "a 60 s token is used for 45 s");
    let long = token(&["s"], 0, 3600);
    assert!(is_fresh(&long, 3299));
    assert!(!is_fresh(&long, 3300), "five minutes before expiry at most");
    let expired = token(&["s"], 0, 0);
    assert!(!is_fresh(&expired, 0));
}

#[test]
fn a_token_covers_a_subset_of_its_scopes() {
    let token = token(&["a", "b"], 0, 60);
    assert!(covers(&token, &["a"]));
    assert!(covers(&token, &["b", "a"]));
    assert!(!covers(&token, &["a", "c"]));
}

#[test]
fn keeping_a_token_replaces_the_one_for_the_same_scopes_and_drops_expired_ones() {
    let mut user = SignedIn::new(Default::default(), 0);
    user.tokens = vec![
        token(&["a"], 0, 100),
        token(&["b"], 0, 10),
        token(&["c"], 0, 100),
    ];
    keep(&mut user, token(&["a"], 50, 100), 50);
    let scopes: Vec<_> = user
        .tokens
        .iter()
        .map(|t| (t.scopes[0].as_str(), t.obtained_at))
        .collect();
    assert_eq!(scopes, vec![("c", 0), ("a", 50)]);
}

#[test]
fn a_token_for_more_scopes_supersedes_those_for_fewer_and_a_refused_token_is_no_hit() {
    let mut user = SignedIn::new(Default::default(), 0);
    user.tokens = vec![
        token(&["a"], 0, 100),
        token(&["a", "c"], 0, 100),
        token(&["b"], 0, 100),
    ];
    let mut wider = token(&["a", "b"], 50, 100);
    wider.access_token = "wider".into();
    keep(&mut user, wider, 50);
    let kept: Vec<Vec<String>> = user.tokens.iter().map(|t| t.scopes.clone()).collect();
    assert_eq!(
        kept,
        vec![
            vec!["a".to_owned(), "c".to_owned()],
            vec!["a".into(), "b".into()]
        ]
    );
    // The newest token that covers `a` answers; refused, the older one does.
    assert_eq!(
        cached(&user, &["a"], 60, None).unwrap().access_token,
        "wider"
    );
    assert_eq!(
        cached(&user, &["a"], 60, Some("wider"))
            .unwrap()
            .access_token,
        "at"
    );
    assert!(cached(&user, &["b"], 60, Some("wider")).is_none());
}

#[test]
fn a_finished_flight_whose_token_was_refused_is_not_joined_again() {
    let flights = Flights::default();
    let done = flights.join("k".into(), 0, None);
    let mut refreshed = token(&["a"], 0, 3600);
    refreshed.access_token = "first".into();
    done.cell
        .set(Ok(Refreshed {
            token: refreshed,
            refresh_token: None,
            claims: None,
        }))
        .unwrap();
    assert!(Arc::ptr_eq(&done, &flights.join("k".into(), 1, None)));
    assert!(Arc::ptr_eq(
        &done,
        &flights.join("k".into(), 1, Some("other"))
    ));
    let again = flights.join("k".into(), 1, Some("first"));
    assert!(
        !Arc::ptr_eq(&done, &again),
        "a new flight replaces the refused token"
    );
    assert!(again.cell.get().is_none());
}

#[test]
fn flights_are_keyed_by_grant_and_scope_set_in_any_order() {
    assert_eq!(flight_key("r", &["b", "a"]), flight_key("r", &["a", "b"]));
    assert_ne!(flight_key("r", &["a"]), flight_key("q", &["a"]));
    let flights = Flights::default();
    let first = flights.join(flight_key("r", &["a"]), 0, None);
    let second = flights.join(flight_key("r", &["a"]), 1, None);
    assert!(
        Arc::ptr_eq(&first, &second),
        "one refresh for concurrent requests"
    );
    assert!(!lock_key("r").contains('r') || lock_key("r").starts_with("axum-identity:refresh:"));
    assert_eq!(
        lock_key("refresh-secret").len(),
        "axum-identity:refresh:".len() + 64
    );
    assert!(!lock_key("refresh-secret").contains("refresh-secret"));
}

#[test]
fn finished_flights_are_kept_while_fresh_and_failed_ones_are_not() {
    let flights = Flights::default();
    let done = flights.join("ok".into(), 0, None);
    done.cell
        .set(Ok(Refreshed {
            token: token(&["a"], 0, 3600),
            refresh_token: None,
            claims: None,
        }))
        .unwrap();
    let failed = flights.join("failed".into(), 0, None);
    failed
        .cell
        .set(Err(Arc::new(Error::unavailable("down"))))
        .unwrap();
    let _pending = flights.join("pending".into(), 0, None);
    let again = flights.join("ok".into(), 10, None);
    assert!(
        Arc::ptr_eq(&done, &again),
        "a late reader gets the finished refresh"
    );
    assert_eq!(
        flights.len(),
        2,
        "the failed flight is forgotten, so the next one retries"
    );
    flights.join("new".into(), REMEMBER_FLIGHT + 1, None);
    assert_eq!(flights.len(), 1, "flights older than a minute are dropped");
}

struct Rig {
    client: Client,
    provider: Provider,
    clock: Clock,
    cache: TokenCache,
    session: Session,
    sealer: crate::store::seal::Sealer,
}

impl Rig {
    /// A provider on a loopback port where nothing listens: any refresh fails fast.
    fn new() -> Self {
        Rig {
            client: Client::new(
                "client".into(),
                crate::oidc::credential::Credential::None,
                None,
            ),
            provider: Provider::new(
                Authority::oidc("http://127.0.0.1:9").unwrap(),
                crate::core::http::default_client(Duration::from_secs(1)).unwrap(),
                Duration::from_secs(60),
            ),
            clock: Clock::manual(1000),
            cache: TokenCache::new(None),
            session: Session::new(None, Arc::new(MemoryStore::default()), None),
            sealer: crate::store::seal::Sealer::default(),
        }
    }

    fn upstream(&self) -> Upstream<'_> {
        Upstream {
            client: &self.client,
            provider: &self.provider,
            clock: &self.clock,
            leeway: 60,
            sealer: &self.sealer,
            policy: &POLICY,
        }
    }

    async fn acquire(&self, record: &mut Record, scopes: &[&str]) -> Result<Acquired, Failure> {
        self.cache
            .acquire(self.upstream(), &self.session, record, scopes)
            .await
    }
}

fn record(user: SignedIn) -> Record {
    Record {
        user: Some(user),
        ..Record::default()
    }
}

fn user() -> SignedIn {
    SignedIn::new(json!({"sub": "u"}).as_object().unwrap().clone(), 1000)
}

#[tokio::test]
async fn a_fresh_cached_token_is_served_without_the_provider() {
    let rig = Rig::new();
    let mut user = user();
    user.tokens.push(token(&["a", "b"], 1000, 3600));
    let mut record = record(user);
    let acquired = rig.acquire(&mut record, &["a"]).await.unwrap();
    assert!(!acquired.changed);
    assert_eq!(acquired.token.access_token, "at");
}

#[tokio::test]
async fn without_a_refresh_token_the_user_signs_in_again() {
    let rig = Rig::new();
    let mut user = user();
    user.tokens.push(token(&["a"], 0, 60));
    let mut record = record(user);
    assert!(matches!(
        rig.acquire(&mut record, &["a"]).await,
        Err(Failure::SignIn)
    ));
    let mut nobody = Record::default();
    assert!(matches!(
        rig.acquire(&mut nobody, &["a"]).await,
        Err(Failure::SignIn)
    ));
}

#[tokio::test]
async fn declined_scopes_are_not_asked_for_again() {
    let rig = Rig::new();
    let mut user = user();
    user.refresh_token = Some("r".into());
    user.declined = vec!["b".into()];
    let mut record = record(user);
    match rig.acquire(&mut record, &["a", "b"]).await {
        Err(Failure::Declined(missing)) => assert_eq!(missing, vec!["b"]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_an_error_and_is_tried_again_next_time() {
    let rig = Rig::new();
    let mut user = user();
    user.refresh_token = Some("r".into());
    let mut record = record(user);
    let first = rig.acquire(&mut record, &["a"]).await;
    assert!(
        matches!(&first, Err(Failure::Error(e)) if e.status() == 503),
        "{first:?}"
    );
    assert_eq!(rig.cache.flights.len(), 1);
    rig.clock.advance(Duration::from_secs(1));
    let _ = rig
        .cache
        .flights
        .join("other".into(), rig.clock.now(), None);
    assert_eq!(
        rig.cache.flights.len(),
        1,
        "the failed refresh is not remembered"
    );
}

#[tokio::test]
async fn an_expired_token_is_not_served_once_the_clock_moves() {
    let rig = Rig::new();
    let mut user = user();
    user.tokens.push(token(&["a"], 1000, 60));
    let mut record = record(user);
    assert!(rig.acquire(&mut record, &["a"]).await.is_ok());
    rig.clock.advance(Duration::from_secs(45));
    assert!(matches!(
        rig.acquire(&mut record, &["a"]).await,
        Err(Failure::SignIn)
    ));
}

/// A lock whose store is down.
struct DownLock;

impl RefreshLock for DownLock {
    fn try_lock<'a>(
        &'a self,
        _: &'a str,
        _: Duration,
    ) -> crate::store::lock::LockFuture<'a, Result<Option<String>, String>> {
        Box::pin(async { Err("connection refused".to_owned()) })
    }

    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> crate::store::lock::LockFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[tokio::test]
async fn a_lock_that_cannot_be_had_is_a_503_and_never_a_refresh_or_anonymous() {
    let mut rig = Rig::new();
    rig.cache = TokenCache::new(Some(Arc::new(DownLock)));
    let mut user = user();
    user.refresh_token = Some("r".into());
    user.tokens.push(token(&["a"], 0, 60));
    let mut record = record(user);
    match rig.acquire(&mut record, &["a"]).await {
        Err(Failure::Error(error)) => assert_eq!(error.status(), 503, "{error:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.cache.flights.len(), 0, "no refresh was attempted");
}

/// A lock in memory with leases that lapse, counting renewals.
#[derive(Default)]
struct LeaseLock {
    leases: std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
    renewals: std::sync::atomic::AtomicUsize,
}

impl RefreshLock for LeaseLock {
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> crate::store::lock::LockFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let mut leases = self.leases.lock().unwrap();
            let now = std::time::Instant::now();
            if leases.get(key).is_some_and(|(_, until)| *until > now) {
                return Ok(None);
            }
            let token = format!("holder-{}", leases.len());
            leases.insert(key.to_owned(), (token.clone(), now + ttl));
            Ok(Some(token))
        })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
    ) -> crate::store::lock::LockFuture<'a, ()> {
        Box::pin(async move {
            let mut leases = self.leases.lock().unwrap();
            if leases.get(key).is_some_and(|(held, _)| held == token) {
                leases.remove(key);
            }
        })
    }

    fn renew<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> crate::store::lock::LockFuture<'a, bool> {
        Box::pin(async move {
            let mut leases = self.leases.lock().unwrap();
            match leases.get_mut(key) {
                Some((held, until)) if held == token => {
                    *until = std::time::Instant::now() + ttl;
                    self.renewals
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    true
                }
                _ => false,
            }
        })
    }
}

/// A provider on loopback whose token endpoint takes `delay` to answer a refresh.
async fn slow_provider(delay: Duration) -> String {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move {
                axum::Json(json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/auth"),
                    "token_endpoint": format!("{issuer}/token"),
                    "jwks_uri": format!("{issuer}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }))
            }),
        )
        .route("/jwks", get(|| async { axum::Json(json!({"keys": []})) }))
        .route(
            "/token",
            post(move || async move {
                tokio::time::sleep(delay).await;
                axum::Json(json!({
                    "access_token": "fresh", "token_type": "Bearer", "expires_in": 3600, "scope": "a",
                }))
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A slow provider must not let the lease lapse mid-refresh: the holder renews it while the
/// refresh is in flight, so another instance cannot take the lock (and present the same
/// refresh token) until the refresh is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_locks_lease_is_renewed_while_a_slow_refresh_is_in_flight() {
    let base = slow_provider(Duration::from_millis(1500)).await;
    let lock = Arc::new(LeaseLock::default());
    let mut rig = Rig::new();
    rig.provider = Provider::new(
        Authority::oidc(&base).unwrap(),
        crate::core::http::default_client(Duration::from_secs(10)).unwrap(),
        Duration::from_secs(60),
    );
    rig.cache = TokenCache::new(Some(lock.clone()));
    rig.cache.lock_ttl = Duration::from_millis(300);
    let mut user = user();
    user.refresh_token = Some("r".into());
    user.tokens.push(token(&["a"], 0, 60));
    let mut record = record(user);
    // The holder re-reads the session from the store under the lock: it must be there.
    session::store_with_tokens(&rig.session, &record, &rig.sealer, POLICY.at(1000))
        .await
        .unwrap();
    let key = lock_key("r");

    let rig = Arc::new(rig);
    let refreshing = {
        let rig = rig.clone();
        tokio::spawn(async move {
            let acquired = rig.acquire(&mut record, &["a"]).await;
            acquired.map(|a| a.token.access_token)
        })
    };
    // Long past the first lease (300 ms), the lock is still held: a second instance gets none.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        lock.try_lock(&key, Duration::from_millis(300)).await,
        Ok(None),
        "the lease lapsed while the refresh was in flight"
    );
    let token = refreshing.await.unwrap().expect("the refresh succeeds");
    assert_eq!(token, "fresh");
    let renewals = lock.renewals.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        renewals >= 3,
        "renewed {renewals} times in 1.5 s at a 100 ms period"
    );
    assert!(
        lock.leases.lock().unwrap().is_empty(),
        "released after the refresh"
    );
}
