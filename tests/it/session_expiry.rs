//! A signed-in session ends when it should, in the store too: its record and its cookie expire
//! with the idle timeout and never past the absolute lifetime (not tower-sessions' two-week
//! default behind a browser-session cookie), and a session whose tokens no configured key
//! opens is signed out on every kind of protected page.

use axum_identity_testkit as support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use axum_identity::{Context, login_required};
use reqwest::StatusCode;
use support::app::launch;
use support::browser::Browser;
use support::hostile::{Hostile, Scenario};

const CLIENT_ID: &str = "expiry-app";
const CLIENT_SECRET: &str = "expiry-secret";
const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwI=";

/// A plain protected page: it reads the claims only, never the tokens.
#[login_required]
async fn plain(context: Context) -> String {
    format!("signed in as {}", context.user.subject())
}

fn routes() -> Router {
    Router::new().route("/", get(plain))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The `Max-Age` of the session cookie a response (the sign-in's callback) set.
fn max_age_at_sign_in(page: &support::browser::Page) -> Option<i64> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("identity.sid="))
        .and_then(|v| {
            v.split(';')
                .find_map(|part| part.trim().strip_prefix("Max-Age="))
                .and_then(|age| age.parse().ok())
        })
}

#[tokio::test]
async fn a_signed_in_record_expires_in_the_store_within_the_absolute_lifetime() {
    use tower_sessions_sqlx_store::sqlx;
    let (store, pool, schema) = support::stores::postgres_store().await;
    let table = format!(r#""{schema}"."session""#);
    // (idle timeout, absolute lifetime): the record ends at whichever comes first.
    for (idle, lifetime) in [
        (Duration::from_secs(8 * 3600), Duration::from_secs(3600)),
        (Duration::from_secs(600), Duration::from_secs(24 * 3600)),
    ] {
        let hostile = Hostile::start(CLIENT_ID, Scenario::default()).await;
        let app = launch(routes())
            .issuer(&hostile.issuer)
            .client(CLIENT_ID, CLIENT_SECRET)
            .store(store.clone())
            .auth(move |b| b.idle_timeout(idle).session_lifetime(lifetime))
            .start()
            .await;
        let browser = Browser::new();
        let started = unix_now();
        let page = browser.get(app.url("/")).await;
        assert_eq!(page.body, "signed in as alice");
        let id = browser.cookie(&app.base, "identity.sid").unwrap();
        let (latest,): (f64,) = sqlx::query_as(&format!(
            "select extract(epoch from max(expiry_date))::float8 from {table} where id = $1"
        ))
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let bound = idle.min(lifetime).as_secs_f64();
        println!(
            "idle {idle:?}, lifetime {lifetime:?}: the record expires {:.0} s after sign-in",
            latest - started
        );
        assert!(
            latest <= started + bound + 2.0,
            "the record lives {:.0} s, more than {bound} s",
            latest - started
        );
        assert!(latest >= started + bound - 5.0, "and about that long");
        // The sign-in's cookie carries the same lifetime (not a browser-session cookie).
        let again = Browser::new();
        again.stop_at(app.redirect_uri());
        let stopped = again.get(app.url("/")).await;
        let callback = again
            .get_no_follow(stopped.stopped_at.clone().expect("stopped at the callback"))
            .await;
        assert_eq!(callback.status, StatusCode::SEE_OTHER, "{}", callback.body);
        let max_age = max_age_at_sign_in(&callback).expect("the sign-in sets Max-Age");
        assert!(
            max_age > 0 && max_age as f64 <= bound,
            "Max-Age={max_age}, bound {bound}"
        );
    }
    support::stores::drop_postgres_schema(&pool, &schema).await;
}

/// Sign in under key A, then restart the app (same store) with each key setting: a plain
/// protected page, which reads no token, still signs the user out when the tokens would not
/// open.
#[tokio::test]
async fn a_session_whose_tokens_no_configured_key_opens_is_signed_out_on_plain_pages() {
    let store = tower_sessions::MemoryStore::default();
    let hostile = Hostile::start(CLIENT_ID, Scenario::default()).await;
    let start = |keys: Vec<&'static str>| {
        let store = store.clone();
        let issuer = hostile.issuer.clone();
        async move {
            launch(routes())
                .issuer(&issuer)
                .client(CLIENT_ID, CLIENT_SECRET)
                .store(store)
                .auth(move |b| match keys.split_first() {
                    Some((current, old)) => b
                        .token_encryption_key(*current)
                        .token_decryption_keys(old.iter().copied()),
                    None => b,
                })
                .start()
                .await
        }
    };
    let first = start(vec![KEY_A]).await;
    let browser = Browser::new();
    assert_eq!(browser.get(first.url("/")).await.body, "signed in as alice");
    for (keys, signed_in) in [
        (vec![KEY_A], true),
        (vec![KEY_B, KEY_A], true),
        (vec![KEY_B], false),
        (vec![], false),
    ] {
        let app = start(keys.clone()).await;
        // The browser's cookie for 127.0.0.1 reaches this instance too; no redirect followed.
        let response = browser.client.get(app.url("/")).send().await.unwrap();
        let status = response.status();
        if signed_in {
            assert_eq!(status, StatusCode::OK, "keys {keys:?}");
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER, "keys {keys:?}: signed out");
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with("/login"), "{location}");
        }
    }
}
