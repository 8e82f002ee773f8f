//! Sign-in end to end against the real OpenID provider: the foundation every other feature
//! stands on.

use axum_identity_testkit as support;

use axum::Json;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Context, escape_html, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{self, TestApp, launch, public};
use support::browser::Browser;
use support::logs::reason_of;
use support::provider::{requests, token_requests};

#[login_required]
async fn index(context: Context) -> Html<String> {
    Html(format!(
        "<h1>Welcome {}</h1><a href=\"{}\">Sign out</a>",
        escape_html(context.user.display_name()),
        context.logout_url()
    ))
}

#[login_required]
async fn me(context: Context) -> Json<Value> {
    Json(json!({
        "sub": context.user.subject(),
        "name": context.user.name(),
        "username": context.user.username(),
        "email": context.user.email(),
    }))
}

#[login_required]
async fn no_context_argument() -> &'static str {
    "protected without a context"
}

fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/me", get(me).post(me))
        .route("/public", get(public))
        .route("/bare", get(no_context_argument))
        .route("/deep/page", get(index))
}

async fn start() -> TestApp {
    launch(routes()).start().await
}

fn assert_on_provider(page: &support::browser::Page, app: &TestApp) {
    assert!(
        page.url.as_str().starts_with(&app.provider().issuer),
        "expected a provider page, got {} ({})",
        page.url,
        page.status
    );
}

#[tokio::test]
async fn sign_in_round_trip_then_logout() {
    let app = start().await;
    let browser = Browser::new();

    let page = browser.get(app.url("/deep/page?tab=2")).await;
    assert_on_provider(&page, &app);
    // The first hop is a 303 into /login, which sends the browser to the provider.
    assert_eq!(page.chain[0].0, StatusCode::SEE_OTHER);
    assert!(page.chain[1].1.path() == "/login", "{:?}", page.chain);

    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.url.as_str(),
        app.url("/deep/page?tab=2"),
        "back on the page that asked"
    );
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    let callback = page
        .chain
        .iter()
        .find(|(_, url)| url.path() == "/redirect")
        .expect("went through the callback");
    assert_eq!(callback.0, StatusCode::SEE_OTHER);

    // Signed in: later requests make no provider call at all.
    app.provider().reset_stats().await;
    for _ in 0..5 {
        let page = browser.get(app.url("/")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Welcome Alice"));
    }
    let me = browser.get(app.url("/me")).await.json();
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["name"], "Alice");
    assert_eq!(
        browser.get(app.url("/public")).await.body,
        "signed in as alice"
    );
    assert_eq!(
        browser.get(app.url("/bare")).await.body,
        "protected without a context"
    );
    let stats = app.provider().stats().await;
    let total: u64 = ["discovery", "jwks", "userinfo", "authorization"]
        .iter()
        .map(|e| requests(&stats, e))
        .sum::<u64>()
        + token_requests(&stats, "authorization_code")
        + token_requests(&stats, "refresh_token");
    assert_eq!(total, 0, "signed-in requests reached the provider: {stats}");

    // Logout: the provider's end_session, then our signed-out page.
    let old_cookie = browser
        .cookie(&app.base, "identity.sid")
        .expect("a session cookie");
    let page = browser.get(app.url("/logout")).await;
    assert_on_provider(&page, &app);
    let end_session = page
        .chain
        .iter()
        .find(|(_, u)| u.path().contains("session/end"))
        .expect("went to end_session")
        .1
        .clone();
    let query: std::collections::HashMap<_, _> = end_session.query_pairs().into_owned().collect();
    assert_eq!(query["post_logout_redirect_uri"], app.url("/logout/done"));
    assert_eq!(query["client_id"], app::CLIENT_ID);
    assert!(query.contains_key("id_token_hint"));
    let page = browser.confirm_logout(page).await;
    assert_eq!(page.url.as_str(), app.url("/logout/done"));
    assert!(page.body.contains("signed out"), "{}", page.body);
    assert_eq!(browser.get(app.url("/public")).await.body, "anonymous");

    // The old session id is dead server-side: replaying the cookie does not sign anyone in.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = replay
        .get(app.url("/"))
        .header("cookie", format!("identity.sid={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = start().await;
    let browser = Browser::new();
    // Starting a sign-in creates the session (anonymous visits do not).
    let first = browser.get_no_follow(app.url("/")).await;
    assert!(
        first.header("set-cookie").is_none(),
        "an anonymous visit created a session"
    );
    let page = browser.get(app.url("/")).await;
    let before = browser
        .cookie(&app.base, "identity.sid")
        .expect("sign-in started a session");
    let page = browser.sign_in(page, "bob").await;
    assert!(page.body.contains("Welcome Bob"));
    let after = browser.cookie(&app.base, "identity.sid").unwrap();
    assert_ne!(before, after, "the session id was not rotated at sign-in");
}

#[tokio::test]
async fn api_requests_get_401_with_the_login_url() {
    let app = start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for request in [
        client
            .get(app.url("/me"))
            .header("accept", "application/json"),
        client.get(app.url("/me")).header("hx-request", "true"),
        client.post(app.url("/me")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "login_required");
        assert_eq!(body["login_url"], "/login?next=%2Fme");
    }
    // A browser navigation is redirected instead.
    let response = client
        .get(app.url("/me"))
        .header("accept", "text/html,*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// Starts a sign-in and returns the `state` the app sent to the provider.
async fn started_state(browser: &Browser, app: &TestApp) -> String {
    let page = browser.get_no_follow(app.url("/login")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    page.location()
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn bad_and_replayed_callbacks_get_a_400_page_with_a_sign_in_link() {
    let app = start().await;
    let browser = Browser::new();

    let page = browser.get(app.url("/redirect?state=forged&code=x")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Sign in again"), "{}", page.body);
    assert!(page.body.contains("href=\"/login\""));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Capture a real callback URL, use it once, then replay it.
    browser.stop_at(app.redirect_uri());
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "carol")
        .await;
    let callback = page.stopped_at.clone().expect("stopped at the callback");
    browser.clear_stops();
    let done = browser.get(callback.as_str()).await;
    assert!(done.body.contains("Welcome Carol"), "{}", done.body);
    // The same browser, already signed in, replays it (back button): back to the app.
    let again = browser.get(callback.as_str()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("Welcome Carol"));
    // Another browser replays it: refused, and the code was redeemed exactly once.
    let stranger = Browser::new();
    let page = stranger.get(callback.as_str()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        browser.get(app.url("/public")).await.body,
        "signed in as carol"
    );
    assert_eq!(stranger.get(app.url("/public")).await.body, "anonymous");
    assert_eq!(
        token_requests(&app.provider().stats().await, "authorization_code"),
        1
    );
}

#[tokio::test]
async fn provider_errors_and_missing_codes_are_shown_not_500() {
    let app = start().await;
    let browser = Browser::new();

    let iss = app.provider().issuer.clone();
    let state = started_state(&browser, &app).await;
    let page = browser
        .get(app.url(&format!("/redirect?state={state}&iss={iss}&error=access_denied&error_description=The+user+said+%3Cno%3E")))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("access_denied"), "{}", page.body);
    assert!(
        page.body.contains("The user said &lt;no&gt;"),
        "escaped: {}",
        page.body
    );
    assert_eq!(
        browser.get(app.url("/public")).await.body,
        "anonymous",
        "no half-logged-in session"
    );

    let state = started_state(&browser, &app).await;
    let page = browser
        .get(app.url(&format!("/redirect?state={state}&iss={iss}")))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // The page says what to do; what was wrong is in the log under the page's reference.
    assert!(
        page.body.contains("incomplete or malformed"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("`code`"), "{}", page.body);
    assert!(reason_of(&page.body).contains("missing `code`"));

    let state = started_state(&browser, &app).await;
    let page = browser
        .get(app.url(&format!("/redirect?state={state}&iss={iss}&code=made-up")))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("did not accept"), "{}", page.body);

    // RFC 9207: the provider advertises `iss` in responses, so a response without it, or from
    // another issuer, is refused (a mix-up attack), before the code is redeemed.
    let state = started_state(&browser, &app).await;
    let page = browser
        .get(app.url(&format!("/redirect?state={state}&code=x")))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(reason_of(&page.body).contains("missing `iss`"));
    let state = started_state(&browser, &app).await;
    let page = browser
        .get(app.url(&format!(
            "/redirect?state={state}&code=x&iss=http%3A%2F%2Fevil.example"
        )))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
    assert!(reason_of(&page.body).contains("evil.example"));
    assert_eq!(
        token_requests(&app.provider().stats().await, "authorization_code"),
        1,
        "only the made-up code was sent"
    );
    assert_eq!(browser.get(app.url("/public")).await.body, "anonymous");

    let page = browser
        .get(app.url("/redirect?state=a&state=b&code=c"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = browser.get(app.url("/redirect")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn foreign_return_paths_end_on_the_home_page() {
    let app = start().await;
    let browser = Browser::new();
    let page = browser.get(app.url("/login?next=//evil.example/x")).await;
    let page = browser.sign_in(page, "dave").await;
    assert_eq!(page.url.as_str(), app.url("/"));
    assert!(page.body.contains("Welcome Dave"));
}

#[tokio::test]
async fn two_tabs_can_sign_in_at_the_same_time() {
    let app = start().await;
    let browser = Browser::new();
    browser.stop_at(app.redirect_uri());
    let tab1 = browser.get(app.url("/login?next=/me")).await;
    let tab2 = browser.get(app.url("/login?next=/public")).await;
    let tab1 = browser.sign_in(tab1, "erin").await;
    let tab2 = browser.sign_in(tab2, "erin").await;
    browser.clear_stops();
    let first = browser.resume(tab1).await;
    assert_eq!(first.url.as_str(), app.url("/me"), "{}", first.body);
    let second = browser.resume(tab2).await;
    assert_eq!(second.url.as_str(), app.url("/public"), "{}", second.body);
    assert_eq!(second.body, "signed in as erin");
}

#[tokio::test]
async fn thin_id_tokens_are_completed_from_userinfo() {
    let app = launch(routes())
        .provider_config(json!({"conformIdTokenClaims": true}))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "frank")
        .await;
    assert!(page.body.contains("Welcome Frank"), "{}", page.body);
    assert_eq!(requests(&app.provider().stats().await, "userinfo"), 1);
}
