//! What the second security review found, each closed and kept closed: callbacks redeemed once
//! even when they arrive at once, short-lived pending sign-ins, logout only when the user asked,
//! key rollover under one `kid`, time claims, the pages' headers, tokens sealed at rest, an
//! aliased `Context`, and `form_post` callbacks.
//!
//! Against the hostile provider inside the suite (it counts every request), on loopback.

use axum_identity_testkit as support;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::routing::get;
use axum_identity::{Context as Identity, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{TestApp, launch};
use support::browser::Browser;
use support::hostile::{Hostile, Published, Scenario, Signing, TokenSpec};

const CLIENT_ID: &str = "hardening-app";
const CLIENT_SECRET: &str = "hardening-secret";
/// Base64 of 32 bytes, as `openssl rand -base64 32` prints them.
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn home(context: Option<Identity>) -> String {
    match context {
        Some(context) => format!("signed in as {}", context.user.subject()),
        None => "anonymous".to_owned(),
    }
}

/// Scoped, with the `Context` under another name: the token must reach it all the same.
#[login_required(scopes = ["api.read"])]
async fn aliased(user: Identity) -> String {
    format!("token: {}", user.access_token)
}

fn routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/aliased", get(aliased))
}

async fn rig(scenario: Scenario) -> (TestApp, Hostile) {
    let hostile = Hostile::start(CLIENT_ID, scenario).await;
    let app = launch(routes())
        .issuer(&hostile.issuer)
        .client(CLIENT_ID, CLIENT_SECRET)
        .start()
        .await;
    (app, hostile)
}

async fn who(app: &TestApp, browser: &Browser) -> String {
    browser.get(app.url("/")).await.body
}

/// A client that keeps no cookies and follows no redirects, sending `cookie` as it is.
fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn session_cookie(app: &TestApp, browser: &Browser) -> String {
    let value = browser
        .cookie(&app.base, "identity.sid")
        .expect("a session cookie");
    format!("identity.sid={value}")
}

#[tokio::test]
async fn five_concurrent_requests_of_one_callback_redeem_the_code_once() {
    let (app, hostile) = rig(Scenario::default()).await;
    let browser = Browser::new();
    browser.stop_at(app.url("/redirect"));
    let page = browser.get(app.url("/login")).await;
    let callback = page
        .stopped_at
        .expect("stopped before the callback")
        .to_string();
    let cookie = session_cookie(&app, &browser);
    let client = raw();
    let answers = futures_join_all((0..5).map(|_| {
        let client = client.clone();
        let callback = callback.clone();
        let cookie = cookie.clone();
        async move {
            client
                .get(callback)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    }))
    .await;
    assert_eq!(
        hostile.counters().token.load(Ordering::SeqCst),
        1,
        "one token request for five callbacks: {answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::BAD_REQUEST)
    );
}

/// `futures::future::join_all` without the dependency: spawn and await in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_session_holding_only_a_pending_sign_in_lives_as_long_as_the_login_timeout() {
    let (app, _hostile) = rig(Scenario::default()).await;
    let login = raw().get(app.url("/login")).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=600"), "{cookie}");
    // Signed in, the session lives as configured (the idle timeout, 8 hours).
    let browser = Browser::new();
    let page = browser.get(app.url("/login")).await;
    let set_cookies: Vec<&str> = page.chain.iter().map(|(_, u)| u.as_str()).collect();
    assert!(
        who(&app, &browser).await.contains("signed in"),
        "{set_cookies:?}"
    );
}

/// 1,000 anonymous `GET /login` (a crawler, or someone filling the store) leave 1,000 small
/// records that die with the login timeout, not with a signed-in session's lifetime, and are
/// gone once the store deletes what expired.
#[tokio::test]
async fn a_thousand_anonymous_logins_leave_small_records_that_expire_with_the_login_timeout() {
    use tower_sessions::ExpiredDeletion;
    use tower_sessions_sqlx_store::sqlx;
    let (store, pool, schema) = support::stores::postgres_store().await;
    let hostile = Hostile::start(CLIENT_ID, Scenario::default()).await;
    let timeout = std::time::Duration::from_secs(2);
    let app = launch(routes())
        .issuer(&hostile.issuer)
        .client(CLIENT_ID, CLIENT_SECRET)
        .store(store.clone())
        .auth(move |b| b.login_timeout(timeout))
        .start()
        .await;
    let http = raw();
    for _ in 0..20 {
        let statuses = futures_join_all((0..50).map(|_| {
            let request = http.get(app.url("/login")).send();
            async move { request.await.unwrap().status() }
        }))
        .await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
            "{statuses:?}"
        );
    }
    let finished = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let table = format!(r#""{schema}"."session""#);
    let (rows, latest, bytes): (i64, f64, i64) = sqlx::query_as(&format!(
        "select count(*), extract(epoch from max(expiry_date))::float8, \
         sum(octet_length(data))::int8 from {table}"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    println!("1,000 pending sign-ins: {rows} rows, {bytes} bytes in all");
    assert_eq!(rows, 1000);
    assert!(
        latest <= finished + timeout.as_secs_f64() + 1.0,
        "a pending sign-in lives until {latest}, {} s after the last request",
        latest - finished
    );
    assert!(
        bytes < 1000 * 512,
        "{bytes} bytes for 1,000 pending sign-ins"
    );

    tokio::time::sleep(timeout + std::time::Duration::from_secs(1)).await;
    store.delete_expired().await.unwrap();
    let (left,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "pending sign-ins outlived the login timeout");
    support::stores::drop_postgres_schema(&pool, &schema).await;
}

#[tokio::test]
async fn logout_from_another_site_a_prefetch_or_head_asks_first() {
    let (app, _hostile) = rig(Scenario::default()).await;
    let browser = Browser::new();
    browser.get(app.url("/login")).await;
    let cookie = session_cookie(&app, &browser);
    let client = raw();
    for (method, headers) in [
        ("GET", vec![("sec-fetch-site", "cross-site")]),
        ("GET", vec![]),
        (
            "GET",
            vec![
                ("sec-fetch-site", "same-origin"),
                ("sec-purpose", "prefetch"),
            ],
        ),
        ("HEAD", vec![("sec-fetch-site", "same-origin")]),
        (
            "POST",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
        ),
    ] {
        let mut request = client
            .request(method.parse().unwrap(), app.url("/logout"))
            .header("cookie", &cookie);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {headers:?}");
        assert!(
            who(&app, &browser).await.contains("signed in"),
            "{method} {headers:?} signed the user out"
        );
    }
    // The page's button: a POST with its token signs out.
    let page = client
        .get(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned();
    let signed_out = client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(who(&app, &browser).await, "anonymous");
}

#[tokio::test]
async fn the_apps_own_logout_link_signs_out_at_once() {
    let (app, _hostile) = rig(Scenario::default()).await;
    let browser = Browser::new();
    browser.get(app.url("/login")).await;
    let logout = raw()
        .get(app.url("/logout"))
        .header("cookie", session_cookie(&app, &browser))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(who(&app, &browser).await, "anonymous");
}

#[tokio::test]
async fn a_key_replaced_under_the_same_kid_is_followed_at_the_next_sign_in() {
    let (app, hostile) = rig(Scenario::default()).await;
    let browser = Browser::new();
    browser.get(app.url("/login")).await;
    assert!(who(&app, &browser).await.contains("signed in as alice"));
    let before = hostile.jwks_fetches();
    // The provider replaces its key and keeps the `kid` of the old one.
    hostile.set(|scenario| {
        let old_kid = scenario.jwks[0].kid.clone();
        scenario.jwks = vec![Published {
            key: 1,
            kid: old_kid.clone(),
        }];
        scenario.id_token = TokenSpec {
            signing: Signing::Rsa(1),
            header: json!({"kid": old_kid}),
            ..TokenSpec::default()
        };
    });
    let other = Browser::new();
    let started = std::time::Instant::now();
    other.get(app.url("/login")).await;
    assert!(who(&app, &other).await.contains("signed in as alice"));
    assert_eq!(
        hostile.jwks_fetches(),
        before + 1,
        "one refetch of the keys"
    );
    println!(
        "sign-in recovered from the key rollover in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_id_token_not_valid_yet_or_issued_in_the_future_is_refused() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for claims in [json!({"nbf": now + 3600}), json!({"iat": now + 3600})] {
        let (app, _hostile) = rig(Scenario {
            id_token: TokenSpec::claims(claims.clone()),
            ..Scenario::default()
        })
        .await;
        let browser = Browser::new();
        let page = browser.get(app.url("/login")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{claims}");
        assert_eq!(who(&app, &browser).await, "anonymous", "{claims}");
    }
}

/// A refused ID token (a bad signature, a wrong nonce, a foreign issuer) gets a page that says
/// what to do and shows a reference; why it was refused is only in the log, under that
/// reference.
#[tokio::test]
async fn error_pages_show_no_validation_internals_only_a_reference_to_the_log() {
    for (token, internal) in [
        (
            TokenSpec {
                signing: Signing::CorruptRsa(0),
                ..TokenSpec::default()
            },
            "signature",
        ),
        (
            TokenSpec::claims(json!({"nonce": "not-the-nonce"})),
            "nonce",
        ),
        (
            TokenSpec::claims(json!({"iss": "https://evil.example"})),
            "evil.example",
        ),
    ] {
        let (app, _hostile) = rig(Scenario {
            id_token: token,
            ..Scenario::default()
        })
        .await;
        let browser = Browser::new();
        let page = browser.get(app.url("/login")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{internal}");
        let shown = support::assert::error_message(&page).to_lowercase();
        for word in [internal, "crypto", "verification failed", "claim"] {
            assert!(!shown.contains(word), "`{word}` on the page: {shown}");
        }
        assert!(shown.contains("could not be verified"), "{shown}");
        let logged = support::logs::reason_of(&page.body);
        assert!(logged.contains(internal), "{internal}: {logged}");
        assert_eq!(who(&app, &browser).await, "anonymous");
    }
}

#[tokio::test]
async fn the_librarys_pages_cannot_be_framed_and_errors_carry_a_reference() {
    let (app, _hostile) = rig(Scenario::default()).await;
    let page = Browser::new()
        .get(app.url("/redirect?state=forged&code=x"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("frame-ancestors 'none'"))
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.body.contains("Reference: "), "{}", page.body);
}

#[tokio::test]
async fn an_aliased_context_gets_the_token_of_its_scopes() {
    let (app, _hostile) = rig(Scenario {
        token_response: json!({"scope": "openid profile api.read"}),
        ..Scenario::default()
    })
    .await;
    let browser = Browser::new();
    let page = browser.get(app.url("/aliased")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.starts_with("token: "), "{}", page.body);
    assert!(
        page.body.len() > "token: ".len(),
        "an empty token: {}",
        page.body
    );
}

#[tokio::test]
async fn a_form_post_callback_without_the_cookie_is_sent_again_from_our_origin() {
    let (app, _hostile) = rig(Scenario::default()).await;
    let browser = Browser::new();
    browser.stop_at(app.url("/redirect"));
    let page = browser.get(app.url("/login")).await;
    let callback = page.stopped_at.expect("stopped before the callback");
    let fields: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // The provider's page posts cross-site: the Lax cookie stays behind.
    let bounce = raw()
        .post(app.url("/redirect"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(bounce.status(), StatusCode::OK);
    let html = bounce.text().await.unwrap();
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    // The browser follows the page's refresh from our origin, with its cookie.
    let target = html
        .split("url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    browser.clear_stops();
    browser.get(app.url(&target)).await;
    assert!(who(&app, &browser).await.contains("signed in as alice"));
}

#[tokio::test]
async fn tokens_sealed_at_rest_are_not_in_the_store_and_still_serve_the_user() {
    let hostile = Hostile::start(
        CLIENT_ID,
        Scenario {
            token_response: json!({"scope": "openid profile api.read", "refresh_token": "the-refresh-token-r"}),
            ..Scenario::default()
        },
    )
    .await;
    let (store, pool) = support::stores::redis_store().await;
    let app = launch(routes())
        .issuer(&hostile.issuer)
        .client(CLIENT_ID, CLIENT_SECRET)
        .store(store)
        .auth(|b| b.token_encryption_key(TOKEN_KEY))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(app.url("/aliased")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = browser.cookie(&app.base, "identity.sid").unwrap();
    let raw = support::stores::redis_raw(&pool, &id)
        .await
        .expect("the session is in Redis");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("the-refresh-token-r"),
        "the refresh token is in the store"
    );
    assert!(!text.contains("eyJ"), "a JWT is in the store");
    // And the next request opens them again.
    assert_eq!(
        browser.get(app.url("/aliased")).await.status,
        StatusCode::OK
    );
}
