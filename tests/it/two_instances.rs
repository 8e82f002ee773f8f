//! Two instances of one app behind one cookie: what a load balancer in front of several
//! servers needs. Both instances share one session store and one provider client, and
//! coordinate their refreshes through a lock in the same place: the suite is written once and
//! runs on Redis (`RedisStore` + `RedisRefreshLock`) and on PostgreSQL (`PostgresStore` +
//! `PostgresRefreshLock`).
//!
//! How the browser reaches both: the instances listen on 127.0.0.1 on two ports. Cookies are
//! scoped to a host, not to a port (RFC 6265 §8.5; browsers and the test browser's cookie store
//! alike), so the `identity.sid` cookie set by instance A is sent to instance B exactly as a
//! browser sends one cookie to whichever server a load balancer picks. The tests check that
//! the cookie is shared rather than assume it. The provider's client lists the redirect and
//! post-logout URIs of both instances, so each instance completes its own sign-ins and logouts.
//!
//! Redis must be running on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (see
//! `support::stores`).

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, RefreshLock, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{self, Slot, TestApp, launch, public, welcome};
use support::browser::Browser;
use support::provider::{TestProvider, token_requests};
use support::stores;
use tower_sessions::SessionStore;

/// Where the two instances share their sessions and their refresh lock.
#[derive(Debug, Clone, Copy)]
enum Shared {
    Redis,
    Postgres,
}

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Json<Value> {
    Json(json!({"sub": context.user.subject(), "access_token": context.access_token}))
}

fn routes() -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/read", get(read))
        .route("/public", get(public))
}

struct Pair {
    a: TestApp,
    b: TestApp,
    provider: TestProvider,
    /// The instances' one clock: a test moves it past a token's lifetime instead of sleeping.
    clock: Clock,
    // Kept for the instances' lifetime: they serve on duplicates of these sockets.
    _slots: (Slot, Slot),
}

/// Two instances on two ports, one provider that knows both, one shared store and lock.
async fn start_pair(shared: Shared, provider: Value) -> Pair {
    let (slot_a, slot_b) = (Slot::bind(), Slot::bind());
    let provider = app::provider_for(&[&slot_a, &slot_b], provider).await;
    let clock = Clock::manual_from_now();
    let (a, b) = match shared {
        Shared::Redis => {
            let (store, pool) = stores::redis_store().await;
            let lock = axum_identity_runtime::RedisRefreshLock::new(pool);
            start_both(&provider, (&slot_a, &slot_b), store, lock, &clock).await
        }
        Shared::Postgres => {
            let (store, pool, schema) = stores::postgres_store().await;
            let lock = axum_identity_runtime::PostgresRefreshLock::with_table(
                pool,
                &format!("{schema}.locks"),
            );
            lock.migrate().await.expect("the lock's table");
            start_both(&provider, (&slot_a, &slot_b), store, lock, &clock).await
        }
    };
    Pair {
        a,
        b,
        provider,
        clock,
        _slots: (slot_a, slot_b),
    }
}

async fn start_both<St, L>(
    provider: &TestProvider,
    (slot_a, slot_b): (&Slot, &Slot),
    store: St,
    lock: L,
    clock: &Clock,
) -> (TestApp, TestApp)
where
    St: SessionStore + Clone,
    L: RefreshLock + Clone,
{
    // Both instances coordinate their refreshes through the same lock.
    let (lock_a, lock_b) = (lock.clone(), lock);
    let (clock_a, clock_b) = (clock.clone(), clock.clone());
    let a = launch(routes())
        .issuer(&provider.issuer)
        .on(slot_a)
        .auth(move |b| b.refresh_lock(lock_a).clock(clock_a))
        .store(store.clone())
        .start()
        .await;
    let b = launch(routes())
        .issuer(&provider.issuer)
        .on(slot_b)
        .auth(move |b| b.refresh_lock(lock_b).clock(clock_b))
        .store(store)
        .start()
        .await;
    (a, b)
}

/// How long the provider's access tokens live in the tests that let them expire, and how far
/// the instances' clock moves to get there.
const SHORT_TTL: u64 = 60;
const PAST_THE_TTL: Duration = Duration::from_secs(SHORT_TTL + 1);

/// The suite, once for each way of sharing.
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Shared::Redis).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Shared::Postgres).await
                }
            )*
        }
    };
}

on_both_stores!(
    signed_in_on_one_instance_is_signed_in_on_the_other_and_logout_is_global,
    a_token_refreshed_by_one_instance_is_used_by_the_other,
    concurrent_refreshes_on_two_instances_present_the_refresh_token_once,
    one_callback_sent_to_both_instances_at_once_is_redeemed_once,
);

/// The one session cookie the browser sends to both instances.
fn shared_session(browser: &Browser, pair: &Pair) -> String {
    let on_a = browser
        .cookie(&pair.a.base, "identity.sid")
        .expect("a session cookie for instance A");
    let on_b = browser.cookie(&pair.b.base, "identity.sid");
    assert_eq!(
        on_b.as_deref(),
        Some(on_a.as_str()),
        "the browser does not send A's cookie to B"
    );
    on_a
}

async fn signed_in_on_one_instance_is_signed_in_on_the_other_and_logout_is_global(shared: Shared) {
    let pair = start_pair(shared, json!({})).await;
    let browser = Browser::new();

    // Sign in on A.
    let page = browser.get(pair.a.url("/")).await;
    assert!(
        page.url.as_str().starts_with(&pair.provider.issuer),
        "{}",
        page.url
    );
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), pair.a.url("/"));
    assert!(page.body.contains("Welcome Alice"));
    let sid = shared_session(&browser, &pair);

    // B knows the user without a sign-in of its own and without asking the provider.
    pair.provider.reset_stats().await;
    for _ in 0..3 {
        let page = browser.get(pair.b.url("/")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.url.as_str(),
            pair.b.url("/"),
            "B sent the browser elsewhere: {:?}",
            page.chain
        );
        assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    }
    assert_eq!(
        browser.get(pair.b.url("/public")).await.body,
        "signed in as alice"
    );
    let stats = pair.provider.stats().await;
    assert_eq!(token_requests(&stats, "authorization_code"), 0, "{stats}");
    assert_eq!(
        support::provider::requests(&stats, "authorization"),
        0,
        "{stats}"
    );

    // Logout on B ends the session on A too: B's own post-logout page, then A sees nobody.
    let page = browser.get(pair.b.url("/logout")).await;
    assert!(
        page.url.as_str().starts_with(&pair.provider.issuer),
        "{}",
        page.url
    );
    let page = browser.confirm_logout(page).await;
    assert_eq!(page.url.as_str(), pair.b.url("/logout/done"));
    assert_eq!(browser.get(pair.a.url("/public")).await.body, "anonymous");
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for base in [&pair.a.base, &pair.b.base] {
        let response = replay
            .get(format!("{base}/"))
            .header("cookie", format!("identity.sid={sid}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the old session still works on {base}"
        );
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login")
        );
    }
    // A page load on A now starts a new sign-in.
    let page = browser.get(pair.a.url("/")).await;
    assert!(
        page.url.as_str().starts_with(&pair.provider.issuer),
        "A still served the page: {}",
        page.url
    );
}

async fn a_token_refreshed_by_one_instance_is_used_by_the_other(shared: Shared) {
    let pair = start_pair(shared, json!({"accessTokenTtl": SHORT_TTL})).await;
    let browser = Browser::new();
    let page = browser.get(pair.a.url("/read")).await;
    let page = browser.sign_in(page, "bob").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = page.json()["access_token"].as_str().unwrap().to_owned();
    shared_session(&browser, &pair);

    // B serves the token A obtained.
    let page = browser.get(pair.b.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["access_token"], first.as_str());

    // The token expires; A refreshes it; B uses A's refreshed token without a refresh of its own.
    pair.clock.advance(PAST_THE_TTL);
    pair.provider.reset_stats().await;
    let page = browser.get(pair.a.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let refreshed = page.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(refreshed, first);
    assert_eq!(
        token_requests(&pair.provider.stats().await, "refresh_token"),
        1
    );
    for _ in 0..3 {
        let page = browser.get(pair.b.url("/read")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.json()["access_token"], refreshed.as_str());
    }
    let stats = pair.provider.stats().await;
    assert_eq!(
        token_requests(&stats, "refresh_token"),
        1,
        "B refreshed again: {stats}"
    );
}

/// Both instances find the token expired at the same moment. With rotating refresh tokens a
/// refresh token presented twice is a replay to the provider (oidc-provider then revokes the
/// whole grant), so one refresh must serve both instances: a lock, or a re-read of the record,
/// shared through the store.
///
/// The instances share a `RedisRefreshLock`: the second one waits, re-reads the session and
/// uses the first one's token.
async fn concurrent_refreshes_on_two_instances_present_the_refresh_token_once(shared: Shared) {
    let pair = start_pair(
        shared,
        json!({"accessTokenTtl": SHORT_TTL, "rotateRefreshTokens": true}),
    )
    .await;
    let browser = Browser::new();
    let page = browser.get(pair.a.url("/read")).await;
    let page = browser.sign_in(page, "carol").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    shared_session(&browser, &pair);

    pair.clock.advance(PAST_THE_TTL);
    pair.provider.reset_stats().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = browser.client.clone();
        let url = if i % 2 == 0 {
            pair.a.url("/read")
        } else {
            pair.b.url("/read")
        };
        tasks.spawn(async move {
            let response = client
                .get(&url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            (
                url,
                response.status(),
                response.text().await.unwrap_or_default(),
            )
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (url, status, body) = result.unwrap();
        if status != StatusCode::OK {
            failures.push(format!("{url}: {status} {body}"));
        }
    }
    let refreshes = token_requests(&pair.provider.stats().await, "refresh_token");
    println!(
        "{shared:?}: 20 concurrent hits on two instances with an expired token -> {refreshes} refresh request(s)"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        refreshes, 1,
        "the refresh token was presented {refreshes} times"
    );

    // And the user is still signed in with a working refresh token on both instances.
    pair.clock.advance(PAST_THE_TTL);
    for instance in [&pair.a, &pair.b] {
        let response = browser.api_get(instance.url("/read")).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }
}

/// Six simultaneous requests of one callback, three to each instance (a load balancer that
/// spreads retries): the shared store's lock lets one of them redeem the code, the others get
/// the duplicate-callback answer, and the provider sees one code redemption.
async fn one_callback_sent_to_both_instances_at_once_is_redeemed_once(shared: Shared) {
    let pair = start_pair(shared, json!({})).await;
    let browser = Browser::new();
    browser.stop_at(pair.a.redirect_uri());
    let page = browser.get(pair.a.url("/")).await;
    let page = browser.sign_in(page, "olga").await;
    let callback = page.stopped_at.clone().expect("stopped at the callback");
    let query = callback.query().unwrap_or_default().to_owned();
    let cookie = format!("identity.sid={}", shared_session(&browser, &pair));
    pair.provider.reset_stats().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let requests: Vec<_> = (0..6)
        .map(|i| {
            let instance = if i % 2 == 0 { &pair.a } else { &pair.b };
            let request = client
                .get(instance.url(&format!("/redirect?{query}")))
                .header("cookie", &cookie)
                .send();
            tokio::spawn(async move { request.await.unwrap().status() })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    let stats = pair.provider.stats().await;
    assert_eq!(
        token_requests(&stats, "authorization_code"),
        1,
        "one code redemption for six callbacks: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::BAD_REQUEST),
        "{answers:?}"
    );
}
