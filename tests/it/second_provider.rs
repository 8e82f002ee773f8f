//! The core scenarios against a second, independent OpenID provider implementation
//! (django-oauth-toolkit, see `testkit::django`): sign-in with `client_secret_basic` and with
//! `client_secret_post` (each client registered for one method only), a thin ID token completed
//! from userinfo, a scoped page through a refresh that still opens userinfo, logout with
//! revocation (found in its RFC 8414 metadata only), a public client with PKCE, client
//! credentials, and a web API that introspects the provider's opaque access tokens.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{
    ApiAuth, ApiContext, Auth, Clock, Context, TokenEndpointAuthMethod, authorization_required,
    login_required,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{Slot, TestApp, launch};
use support::assert::configuration_page;
use support::browser::Browser;
use support::django::DjangoProvider;

const SECRET: &str = "django-client-secret";
const API_ID: &str = "orders-api";
const API_SECRET: &str = "orders-api-secret";
const DAEMON_ID: &str = "daemon";
const DAEMON_SECRET: &str = "daemon-secret";
const TTL: u64 = 60;

#[login_required]
async fn me(context: Context) -> Json<Value> {
    Json(json!({
        "sub": context.user.subject(),
        "name": context.user.name(),
        "email": context.user.email(),
        "logout": context.logout_url(),
    }))
}

#[login_required(scopes = ["openid", "api.read"])]
async fn read(context: Context) -> Json<Value> {
    Json(json!({ "access_token": context.access_token, "scopes": context.scopes }))
}

fn routes() -> Router {
    Router::new().route("/", get(me)).route("/read", get(read))
}

/// A provider with a web client of `slot` for `auth_method`, a public client `spa` of
/// `public`, the API's and the daemon's clients, and the scope `api.read`.
async fn provider(slot: &Slot, auth_method: &str, public: &Slot) -> DjangoProvider {
    DjangoProvider::start(json!({
        "clients": [
            DjangoProvider::web_client("web", SECRET, auth_method, slot),
            DjangoProvider::public_client("spa", public),
            DjangoProvider::service_client(API_ID, API_SECRET),
            DjangoProvider::service_client(DAEMON_ID, DAEMON_SECRET),
        ],
        "scopes": ["api.read"],
        "accessTokenTtl": TTL,
    }))
    .await
    .expect("the Django provider starts")
}

async fn app(
    provider: &DjangoProvider,
    slot: &Slot,
    clock: Clock,
    adjust: impl FnOnce(axum_identity::AuthBuilder) -> axum_identity::AuthBuilder + Send + 'static,
) -> TestApp {
    launch(routes())
        .issuer(&provider.issuer)
        .on(slot)
        .client("web", SECRET)
        .auth(move |b| adjust(b.clock(clock)))
        .start()
        .await
}

async fn userinfo(provider: &DjangoProvider, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(provider.url("/userinfo/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn client_secret_basic_signs_in_and_the_thin_id_token_is_completed_from_userinfo() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let app = app(&provider, &slot, Clock::manual_from_now(), |b| b).await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "alice")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = page.json();
    // The ID token carries `sub` only: name and e-mail come from userinfo.
    assert_eq!(body["name"], "Alice", "{body}");
    assert_eq!(body["email"], "alice@example.org", "{body}");
}

#[tokio::test]
async fn a_client_registered_for_client_secret_post_needs_token_endpoint_auth_method() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_post", &spa).await;

    // Discovery lists both methods; the library picks client_secret_basic, which this client
    // may not use: a configuration mistake, said so.
    let app_basic = app(&provider, &slot, Clock::manual_from_now(), |b| b).await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app_basic.url("/")).await, "bob")
        .await;
    let logged = configuration_page(&page);
    assert!(logged.contains("invalid_client"), "{logged}");
    assert!(logged.contains("TOKEN_ENDPOINT_AUTH_METHOD"), "{logged}");
    drop(app_basic);

    // With the method set, the same client signs in.
    let slot2 = Slot::bind();
    let provider = DjangoProvider::start(json!({
        "clients": [DjangoProvider::web_client("web", SECRET, "client_secret_post", &slot2)],
    }))
    .await
    .unwrap();
    let app = app(&provider, &slot2, Clock::manual_from_now(), |b| {
        b.token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretPost)
    })
    .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "bob")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["name"], "Bob");
}

#[tokio::test]
async fn a_scoped_page_keeps_opening_userinfo_through_a_refresh() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let clock = Clock::manual_from_now();
    let app = app(&provider, &slot, clock.clone(), |b| b).await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "carol")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = page.json();
    assert_eq!(first["scopes"], json!(["api.read", "openid"]), "{first}");
    let first_token = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&provider, first_token).await, StatusCode::OK);

    // This provider narrows a refreshed token to the scopes asked: asking for `openid` again
    // is what keeps userinfo open.
    clock.advance(Duration::from_secs(TTL + 1));
    let refreshed = browser.get(app.url("/read")).await.json();
    let token = refreshed["access_token"].as_str().unwrap();
    assert_ne!(token, first_token, "not refreshed");
    assert_eq!(userinfo(&provider, token).await, StatusCode::OK);
    let info = provider.introspect(API_ID, API_SECRET, token).await;
    let scopes: Vec<&str> = info["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"api.read"),
        "{info}"
    );
}

#[tokio::test]
async fn logout_revokes_at_the_endpoint_of_the_rfc_8414_metadata() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    // The OpenID discovery document has no revocation endpoint; the OAuth metadata has.
    let discovery: Value = reqwest::get(provider.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery.get("revocation_endpoint").is_none(),
        "{discovery}"
    );

    let app = app(&provider, &slot, Clock::manual_from_now(), |b| b).await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "dave")
        .await;
    let token = page.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        provider.introspect(API_ID, API_SECRET, &token).await["active"],
        true
    );

    let logout = browser.get(app.url("/")).await.json()["logout"]
        .as_str()
        .unwrap()
        .to_owned();
    browser.get(app.url(&logout)).await;
    // Revoking the refresh token revokes its access token too at this provider; the library
    // revokes in the background, so wait for it a little.
    let mut active = Value::Null;
    for _ in 0..50 {
        active = provider.introspect(API_ID, API_SECRET, &token).await["active"].clone();
        if active == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(active, false, "the refresh token was not revoked");
}

#[tokio::test]
async fn a_public_client_signs_in_with_pkce_alone() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let app = launch(routes())
        .issuer(&provider.issuer)
        .on(&spa)
        .client("spa", "")
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "erin")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["name"], "Erin");
}

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: ApiContext) -> Json<Value> {
    Json(json!({ "client": context.claims.client_id(), "scopes": context.claims.scopes() }))
}

/// A web API on loopback; its base URL.
async fn serve_api(api: ApiAuth) -> String {
    let app = Router::new()
        .route("/resource", get(resource))
        .layer(api.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn call(base: &str, token: &str) -> (StatusCode, String, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/resource"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn client_credentials_tokens_are_opaque_and_a_web_api_introspects_them() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let daemon = Auth::builder()
        .client_id(DAEMON_ID)
        .client_secret(DAEMON_SECRET)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let token = daemon.token_for_client(&["api.read"]).await.unwrap();
    assert!(!token.access_token.contains('.'), "an opaque token");
    assert_eq!(token.scopes, ["api.read"]);

    // An API with its own credentials introspects the token (the endpoint comes from the
    // RFC 8414 metadata).
    let api = ApiAuth::builder()
        .client_id(API_ID)
        .client_secret(API_SECRET)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let base = serve_api(api).await;
    let (status, _, body) = call(&base, &token.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client"], DAEMON_ID);
    assert_eq!(body["scopes"], json!(["api.read"]));
    let (status, challenge, _) = call(&base, "not-a-token-the-provider-issued").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // Without credentials, the API says what it takes.
    let api = ApiAuth::builder()
        .client_id(API_ID)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let base = serve_api(api).await;
    let (status, challenge, _) = call(&base, &token.access_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains("validates JWT access tokens only"),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_signed_in_users_opaque_token_opens_the_web_api() {
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let app = app(&provider, &slot, Clock::manual_from_now(), |b| b).await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "frank")
        .await;
    let token = page.json()["access_token"].as_str().unwrap().to_owned();
    let api = ApiAuth::builder()
        .client_id(API_ID)
        .client_secret(API_SECRET)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let base = serve_api(api).await;
    let (status, _, body) = call(&base, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client"], "web");
}

#[tokio::test]
async fn resource_binds_the_users_token_to_the_api_that_accepts_only_its_audience() {
    const ORDERS: &str = "https://orders.example/api";
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let app = app(&provider, &slot, Clock::manual_from_now(), |b| {
        b.resource(ORDERS)
    })
    .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "grace")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = page.json()["access_token"].as_str().unwrap().to_owned();
    let info = provider.introspect(API_ID, API_SECRET, &token).await;
    assert_eq!(info["aud"], json!([ORDERS]), "{info}");

    // The API whose AUDIENCE is that resource accepts it; another API refuses it.
    let orders = ApiAuth::builder()
        .client_id(API_ID)
        .client_secret(API_SECRET)
        .audiences([ORDERS])
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let (status, _, body) = call(&serve_api(orders).await, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = ApiAuth::builder()
        .client_id(API_ID)
        .client_secret(API_SECRET)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let (status, challenge, _) = call(&serve_api(other).await, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("another audience"), "{challenge}");
}

#[tokio::test]
async fn resource_binds_client_credentials_tokens_and_refreshed_tokens_keep_it() {
    const ORDERS: &str = "https://orders.example/api";
    let (slot, spa) = (Slot::bind(), Slot::bind());
    let provider = provider(&slot, "client_secret_basic", &spa).await;
    let daemon = Auth::builder()
        .client_id(DAEMON_ID)
        .client_secret(DAEMON_SECRET)
        .oidc_authority(&provider.issuer)
        .resource(ORDERS)
        .build()
        .unwrap();
    let token = daemon.token_for_client(&["api.read"]).await.unwrap();
    let info = provider
        .introspect(API_ID, API_SECRET, &token.access_token)
        .await;
    assert_eq!(info["aud"], json!([ORDERS]), "{info}");

    // A user's token refreshed with the resource stays bound to it.
    let clock = Clock::manual_from_now();
    let app = app(&provider, &slot, clock.clone(), |b| b.resource(ORDERS)).await;
    let browser = Browser::new();
    let first = browser
        .sign_in(browser.get(app.url("/read")).await, "heidi")
        .await
        .json();
    clock.advance(Duration::from_secs(TTL + 1));
    let refreshed = browser.get(app.url("/read")).await.json();
    let token = refreshed["access_token"].as_str().unwrap();
    assert_ne!(
        refreshed["access_token"], first["access_token"],
        "not refreshed"
    );
    let info = provider.introspect(API_ID, API_SECRET, token).await;
    assert_eq!(info["aud"], json!([ORDERS]), "{info}");
}
