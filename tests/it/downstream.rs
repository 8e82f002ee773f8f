//! The downstream-API client (`DownstreamApi`) against the real provider and the
//! Microsoft-shaped one, calling an API on loopback that answers as a test tells it: a claims
//! challenge sends the user through sign-in and back to the page; `invalid_token` gets one
//! refresh and one retry, never a loop; other failures keep their status; the app-only and
//! on-behalf-of sources attach their own tokens.

use axum_identity_testkit as support;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{
    AppOnly, Context, DownstreamApi, DownstreamError, TokenSource, login_required,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, launch_with_state};
use support::browser::Browser;
use support::provider::token_requests;

/// How the API answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `200` with the token it got.
    Ok,
    /// A claims challenge for the first token it sees, `200` for any other.
    ChallengeFirst,
    /// `401 invalid_token` for the first token it sees, `200` for any other.
    InvalidFirst,
    /// `401 invalid_token`, whatever the token.
    AlwaysInvalid,
    /// This status, with a short JSON body.
    Status(u16),
    /// `307` to the same API, elsewhere on the same server.
    Moved,
}

/// The API's state: how it answers and the bearer tokens it saw, in order.
#[derive(Clone)]
struct Api {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<String>>>,
}

const CHALLENGE_CLAIMS: &str =
    r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

impl Api {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts the API; its base URL and its state.
async fn start_api(mode: Mode) -> (String, Api) {
    async fn answer(State(api): State<Api>, headers: HeaderMap) -> Response {
        let token = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let first = {
            let mut seen = api.seen.lock().unwrap();
            let first = seen.first().is_none_or(|t| *t == token);
            seen.push(token.clone());
            first
        };
        let refuse = |challenge: String| {
            (AxumStatus::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response()
        };
        match *api.mode.lock().unwrap() {
            Mode::ChallengeFirst if first => refuse(format!(
                r#"Bearer realm="", error="insufficient_claims", claims="{}""#,
                support::kernel::b64(CHALLENGE_CLAIMS.as_bytes())
            )),
            Mode::InvalidFirst if first => refuse(
                r#"Bearer realm="api", error="invalid_token", error_description="revoked""#.into(),
            ),
            Mode::AlwaysInvalid => refuse(r#"Bearer realm="api", error="invalid_token""#.into()),
            Mode::Moved => (
                AxumStatus::TEMPORARY_REDIRECT,
                [("location", "/api/report?moved=1")],
            )
                .into_response(),
            Mode::Status(status) => (
                AxumStatus::from_u16(status).unwrap(),
                Json(json!({"error": format!("answer {status}")})),
            )
                .into_response(),
            _ => Json(json!({"token": token})).into_response(),
        }
    }
    let api = Api {
        mode: Arc::new(Mutex::new(mode)),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/api/report", get(answer))
        .with_state(api.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, api)
}

/// Calls the API with the signed-in user's token; the API's JSON, or the error as it answers.
#[login_required(scopes = ["api.read"])]
async fn report(
    State(api): State<DownstreamApi>,
    context: Context,
) -> Result<Json<Value>, DownstreamError> {
    Ok(Json(api.get(&context, "/report").fetch_json().await?))
}

/// The same call with no scopes declared: the token comes from the session's cache.
#[login_required]
async fn undeclared(
    State(api): State<DownstreamApi>,
    context: Context,
) -> Result<Json<Value>, DownstreamError> {
    Ok(Json(api.get(&context, "/report").fetch_json().await?))
}

/// What the error of a failed call keeps: the API's status and the start of its answer.
#[login_required(scopes = ["api.read"])]
async fn detail(State(api): State<DownstreamApi>, context: Context) -> String {
    match api.get(&context, "/report").send().await {
        Ok(response) => format!("ok {}", response.status()),
        Err(DownstreamError::Status { status, body, .. }) => format!("status {status}: {body}"),
        Err(other) => format!("other: {other}"),
    }
}

/// The app calling the API at `base` for `api.read`, at the real provider.
async fn start_app(base: &str) -> TestApp {
    let api = DownstreamApi::new(&format!("{base}/api"), ["api.read"]).unwrap();
    let routes = Router::new()
        .route("/report", get(report))
        .route("/undeclared", get(undeclared))
        .route("/detail", get(detail));
    launch_with_state(routes, api)
        .client_metadata(|_| {
            json!({ "grant_types": ["authorization_code", "refresh_token", "client_credentials"] })
        })
        .start()
        .await
}

fn query_of(url: &url::Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn a_claims_challenge_sends_the_user_through_sign_in_and_back_to_a_call_that_succeeds() {
    let (base, api) = start_api(Mode::ChallengeFirst).await;
    let app = start_app(&base).await;
    let issuer = app.provider().issuer.clone();
    let browser = Browser::new();
    let page = browser.get(app.url("/report?year=2026")).await;
    let page = browser.sign_in(page, "grace").await;
    let second = page
        .chain
        .iter()
        .filter(|(_, url)| url.as_str().starts_with(&issuer) && url.path().ends_with("/auth"))
        .map(|(_, url)| query_of(url))
        .nth(1)
        .unwrap_or_else(|| panic!("a second sign-in request: {:?}", page.chain));
    let claims: Value = serde_json::from_str(&second["claims"]).expect("a claims request");
    assert_eq!(
        claims,
        serde_json::from_str::<Value>(CHALLENGE_CLAIMS).unwrap()
    );
    assert!(
        second["scope"].split(' ').any(|s| s == "api.read"),
        "{second:?}"
    );
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.url.as_str(),
        app.url("/report?year=2026"),
        "back on the page"
    );
    let seen = api.seen();
    assert_eq!(
        seen.len(),
        2,
        "one refused call, one that succeeded: {seen:?}"
    );
    assert_ne!(seen[0], seen[1], "the page came back with a new token");
    assert_eq!(page.json()["token"], seen[1].as_str());
}

#[tokio::test]
async fn invalid_token_gets_exactly_one_refresh_and_one_retry() {
    let (base, api) = start_api(Mode::InvalidFirst).await;
    let app = start_app(&base).await;
    let browser = Browser::new();
    let page = browser.get(app.url("/report")).await;
    let page = browser.sign_in(page, "heidi").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1], "the retry carried a fresh token");
    assert_eq!(page.json()["token"], seen[1].as_str());
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "refresh_token"), 1, "{stats}");

    // The fresh token was stored: the next call uses it, with no refresh.
    let again = browser.get(app.url("/report")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["token"], seen[1].as_str());
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "refresh_token"), 1, "{stats}");
}

#[tokio::test]
async fn a_second_invalid_token_is_an_error_not_a_loop() {
    let (base, api) = start_api(Mode::Ok).await;
    let app = start_app(&base).await;
    let browser = Browser::new();
    let page = browser.get(app.url("/report")).await;
    let page = browser.sign_in(page, "ivan").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    *api.mode.lock().unwrap() = Mode::AlwaysInvalid;
    api.seen.lock().unwrap().clear();
    app.provider().reset_stats().await;

    let page = browser.get(app.url("/report")).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert_eq!(api.seen().len(), 2, "one call, one retry");
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "refresh_token"), 1, "{stats}");
    let detail = browser.get(app.url("/detail")).await;
    assert!(detail.body.starts_with("status 401"), "{}", detail.body);
}

#[tokio::test]
async fn other_failures_keep_their_status() {
    let (base, api) = start_api(Mode::Status(404)).await;
    let app = start_app(&base).await;
    let browser = Browser::new();
    let page = browser.get(app.url("/report")).await;
    let page = browser.sign_in(page, "judy").await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "a 404 stays a 404: {}",
        page.body
    );
    assert!(
        !page.body.contains("answer 404"),
        "the API's body is not shown: {}",
        page.body
    );
    let detail = browser.get(app.url("/detail")).await;
    assert_eq!(
        detail.body, r#"status 404 Not Found: {"error":"answer 404"}"#,
        "the error keeps the API's status and answer"
    );
    for (answered, becomes) in [
        (403, StatusCode::FORBIDDEN),
        (409, StatusCode::CONFLICT),
        (500, StatusCode::BAD_GATEWAY),
        (503, StatusCode::BAD_GATEWAY),
    ] {
        *api.mode.lock().unwrap() = Mode::Status(answered);
        let page = browser.get(app.url("/report")).await;
        assert_eq!(page.status, becomes, "{answered}: {}", page.body);
        let detail = browser.get(app.url("/detail")).await;
        assert!(
            detail.body.starts_with(&format!("status {answered}")),
            "{}",
            detail.body
        );
    }
    let stats = app.provider().stats().await;
    assert_eq!(
        token_requests(&stats, "refresh_token"),
        0,
        "no retry for these: {stats}"
    );
}

#[tokio::test]
async fn a_handler_without_the_apis_scopes_gets_the_token_from_the_session() {
    let (base, api) = start_api(Mode::Ok).await;
    let app = start_app(&base).await;
    let browser = Browser::new();
    // Signed in for the scopes first: the session holds a token for `api.read`.
    let page = browser.get(app.url("/report")).await;
    let page = browser.sign_in(page, "kim").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = page.json()["token"].clone();
    let page = browser.get(app.url("/undeclared")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["token"], token, "the session's cached token");
    assert_eq!(api.seen().len(), 2);
}

#[tokio::test]
async fn the_app_only_source_attaches_the_applications_token_and_replaces_a_refused_one() {
    let (base, api) = start_api(Mode::InvalidFirst).await;
    let app = start_app(&base).await;
    let downstream = DownstreamApi::new(&format!("{base}/api"), ["api.read"]).unwrap();
    let source = AppOnly::new(app.auth.clone());
    let answer: Value = downstream
        .get(&source, "/report")
        .fetch_json()
        .await
        .expect("the API answers after one retry");
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1]);
    let cached = app.auth.token_for_client(&["api.read"]).await.unwrap();
    assert_eq!(
        seen[1], cached.access_token,
        "the application's own token, kept"
    );
    assert_eq!(answer["token"], seen[1].as_str());
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "client_credentials"), 2, "{stats}");
    // The token source answers the same way outside a call.
    assert_eq!(
        source.token(&["api.read"], None).await.unwrap(),
        cached.access_token
    );
}

/// A web API of the Microsoft-shaped provider's client, calling the API at `base` on behalf
/// of its callers through the downstream client.
async fn entra_api_calling(microsoft: &support::microsoft::Microsoft, base: &str) -> String {
    use axum_identity::ApiContext;
    async fn relay(
        State(api): State<DownstreamApi>,
        context: ApiContext,
    ) -> Result<Json<Value>, DownstreamError> {
        Ok(Json(api.get(&context, "/report").fetch_json().await?))
    }
    let api = microsoft.on_behalf_of_api();
    let downstream =
        DownstreamApi::new(&format!("{base}/api"), ["api://downstream/.default"]).unwrap();
    let app = Router::new()
        .route("/relay", get(relay))
        .with_state(downstream)
        .layer(api.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// An access token for the web API, signed by the Microsoft-shaped provider's key.
fn token_for_the_api(sub: &str) -> String {
    use support::kernel::{Signing, sign};
    use support::microsoft as ms;
    let now = support::bearer::now();
    let claims = json!({
        "iss": ms::entra_issuer(ms::TENANT_A), "tid": ms::TENANT_A, "aud": ms::CLIENT_ID,
        "sub": sub, "oid": ms::ALICE_OID, "azp": "spa-client", "scp": "access_as_user",
        "ver": "2.0", "iat": now, "nbf": now, "exp": now + 3600,
    });
    sign(
        json!({"typ": "JWT", "alg": "RS256", "kid": ms::ms_kid(0)})
            .as_object()
            .unwrap(),
        claims.as_object().unwrap(),
        &Signing::Rsa(0),
    )
}

#[tokio::test]
async fn the_on_behalf_of_source_attaches_the_exchanged_token_and_passes_a_claims_challenge_on() {
    let microsoft = support::microsoft::Microsoft::start().await;
    let (base, api) = start_api(Mode::Ok).await;
    let relay = entra_api_calling(&microsoft, &base).await;
    let incoming = token_for_the_api("alice");
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{relay}/relay"))
        .bearer_auth(&incoming)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = api.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("obo-"),
        "the exchanged token, not the caller's: {seen:?}"
    );
    let requests = microsoft.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].1.form["assertion"], incoming,
        "the caller's token was exchanged"
    );
    assert_eq!(requests[0].1.form["scope"], "api://downstream/.default");

    // The downstream API wants more claims: the caller gets Entra's kind of 403 challenge.
    *api.mode.lock().unwrap() = Mode::ChallengeFirst;
    api.seen.lock().unwrap().clear();
    let response = http
        .get(format!("{relay}/relay"))
        .bearer_auth(&incoming)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let encoded = support::credentials::base64_standard(CHALLENGE_CLAIMS.as_bytes());
    assert_eq!(
        challenge,
        format!("Bearer error=\"insufficient_claims\", claims=\"{encoded}\"")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_claims", "{body}");

    // The downstream API refuses the exchanged token: one new exchange, one retry.
    *api.mode.lock().unwrap() = Mode::InvalidFirst;
    api.seen.lock().unwrap().clear();
    let exchanges = microsoft.token_requests().len();
    let response = http
        .get(format!("{relay}/relay"))
        .bearer_auth(&incoming)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1], "a newly exchanged token");
    assert_eq!(
        microsoft.token_requests().len(),
        exchanges + 1,
        "one new exchange"
    );
}

#[tokio::test]
async fn the_token_never_follows_a_redirect() {
    let (base, api) = start_api(Mode::Moved).await;
    let app = start_app(&base).await;
    let downstream = DownstreamApi::new(&format!("{base}/api"), ["api.read"]).unwrap();
    let response = downstream
        .get(&AppOnly::new(app.auth.clone()), "/report")
        .send()
        .await
        .expect("a redirect is an answer, not an error");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        api.seen().len(),
        1,
        "not followed: the token went nowhere else"
    );
}
