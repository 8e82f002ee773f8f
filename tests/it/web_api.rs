//! Web APIs protected with `ApiAuth` and `#[authorization_required]`: bearer access
//! tokens from the real test provider (RFC 9068 JWTs through `resourceIndicators`, app-only
//! tokens through `client_credentials`, a signed-in user's token end to end), forgeries signed
//! here and served through the hostile provider's keys, Entra ID v1/v2 and multi-tenant tokens
//! against a Microsoft-shaped key server, and `#[login_required(roles = [..])]` for web apps.
//!
//! Everything listens on 127.0.0.1.

use axum_identity_testkit as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_identity::{
    ApiAuth, ApiContext, Auth, Clock, Context, authorization_required, identity_routes,
    login_required,
};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};
use support::JsonAnswer;
use support::app::launch;
use support::bearer::{self, Sign, now};
use support::browser::Browser;
use support::hostile::{Hostile, Published, Scenario, TokenSpec, kid, public_key_pem};
use support::microsoft::entra::{ENTRA_KID, Entra, v1_issuer};
use support::provider::{TestProvider, requests};
use tower_sessions::MemoryStore;

const API_ID: &str = "test-api";
const INDICATOR: &str = "api://test-api";

// ---------------------------------------------------------------------------------------------
// The API under test

fn claims_json(context: &ApiContext) -> Value {
    let claims = &context.claims;
    json!({
        "sub": claims.subject(),
        "scopes": claims.scopes(),
        "roles": claims.roles(),
        "app_only": claims.is_app_only(),
        "client": claims.client_id(),
        "tid": claims.tenant_id(),
        "groups": match claims.groups() {
            Ok(groups) => json!(groups),
            Err(overage) => json!({"error": overage.to_string()}),
        },
    })
}

/// Counts the runs of the protected handlers, so tests can prove a refused request never ran.
#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: ApiContext, Extension(runs): Extension<Runs>) -> Json<Value> {
    runs.0.fetch_add(1, Ordering::SeqCst);
    Json(claims_json(&context))
}

#[authorization_required(scopes = ["api.write"])]
async fn write(context: ApiContext) -> Json<Value> {
    Json(claims_json(&context))
}

#[authorization_required(roles = ["Reports.Read.All"])]
async fn reports(context: ApiContext) -> Json<Value> {
    Json(claims_json(&context))
}

async fn maybe(context: Option<ApiContext>) -> String {
    match context {
        Some(context) => format!("token of {}", context.claims.subject()),
        None => "anonymous".to_owned(),
    }
}

struct Api {
    base: String,
    runs: Runs,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Value) {
        let mut request = reqwest::Client::new().get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }

    async fn get_with(&self, path: &str, authorization: &str) -> (StatusCode, String, Value) {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    fn runs(&self) -> usize {
        self.runs.0.load(Ordering::SeqCst)
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, challenge, body)
}

async fn serve(api: ApiAuth) -> Api {
    let runs = Runs::default();
    let app = Router::new()
        .route("/", get(|| async { "an unprotected route" }))
        .route("/resource", get(resource))
        .route("/write", get(write))
        .route("/reports", get(reports))
        .route("/maybe", get(maybe))
        .layer(Extension(runs.clone()))
        .layer(api.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Api { base, runs, server }
}

// ---------------------------------------------------------------------------------------------
// The real provider

fn daemon_client() -> Value {
    json!({
        "client_id": "daemon",
        "client_secret": "daemon-secret",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
    })
}

fn api_resource() -> Value {
    json!({
        "indicator": INDICATOR,
        "scopes": ["api.read", "api.write"],
        "roles": {"daemon": ["Reports.Read.All"], "alice": ["Reader"]},
    })
}

async fn client_credentials(provider: &TestProvider, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", INDICATOR),
        ])
        .json_answer()
        .await;
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {response}"))
        .to_owned()
}

#[tokio::test]
async fn app_only_tokens_from_the_real_provider_are_accepted_with_their_app_roles() {
    let provider = TestProvider::start(json!({
        "clients": [daemon_client()],
        "apiResource": api_resource(),
    }))
    .await
    .unwrap();
    let api = serve(
        ApiAuth::builder()
            .client_id(API_ID)
            .oidc_authority(&provider.issuer)
            .build()
            .unwrap(),
    )
    .await;
    let token = client_credentials(&provider, "api.read").await;

    let (status, _, body) = api.get("/resource", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], "daemon");
    assert_eq!(body["app_only"], true, "RFC 9068: sub == client_id");
    assert_eq!(body["client"], "daemon");
    assert_eq!(body["scopes"], json!(["api.read"]));

    let (status, _, body) = api.get("/reports", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["Reports.Read.All"]));

    let (status, challenge, body) = api.get("/write", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        challenge.starts_with("Bearer realm=\"test-api\", error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.ends_with("scope=\"api.write\""), "{challenge}");
    assert_eq!(body["error"], "insufficient_scope");

    // Validation is local: the keys were fetched once, and repeated requests ask nothing.
    provider.reset_stats().await;
    for _ in 0..20 {
        assert_eq!(api.get("/resource", Some(&token)).await.0, StatusCode::OK);
    }
    let stats = provider.stats().await;
    assert_eq!(
        requests(&stats, "jwks") + requests(&stats, "discovery"),
        0,
        "{stats}"
    );
}

#[login_required(scopes = ["api.read"])]
async fn call_api(context: Context, Extension(endpoint): Extension<Arc<String>>) -> Json<Value> {
    let response = reqwest::Client::new()
        .get(endpoint.as_str())
        .bearer_auth(&context.access_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    Json(json!({"status": status, "body": response.json::<Value>().await.unwrap_or(Value::Null)}))
}

#[tokio::test]
async fn a_signed_in_users_token_from_the_real_provider_reaches_the_api() {
    // The web app signs alice in and calls the API with her token, as examples/call_api.rs does
    // with examples/web_api.rs as its ENDPOINT.
    let web_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = format!("http://{}", web_listener.local_addr().unwrap());
    let provider = TestProvider::start(json!({
        "clients": [TestProvider::web_client("web-app", "web-secret", &[&format!("{web}/redirect")], &[])],
        "apiResource": api_resource(),
        "autoConsent": true,
    }))
    .await
    .unwrap();
    let api = serve(
        ApiAuth::builder()
            .client_id(API_ID)
            .oidc_authority(&provider.issuer)
            .build()
            .unwrap(),
    )
    .await;
    let auth = Auth::builder()
        .client_id("web-app")
        .client_secret("web-secret")
        .redirect_uri(format!("{web}/redirect"))
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/call_api", get(call_api))
        .merge(identity_routes!(auth))
        .layer(Extension(Arc::new(api.url("/resource"))))
        .layer(auth.layer(MemoryStore::default()));
    let server = tokio::spawn(async move { axum::serve(web_listener, app).await.unwrap() });

    let browser = Browser::new();
    let page = browser.get(format!("{web}/call_api")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = page.json();
    assert_eq!(body["status"], 200, "{body}");
    let claims = &body["body"];
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["app_only"], false);
    assert_eq!(claims["client"], "web-app");
    assert_eq!(claims["roles"], json!(["Reader"]));
    assert!(
        claims["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("api.read")),
        "{claims}"
    );
    server.abort();
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_get_rfc_6750_answers() {
    let provider =
        TestProvider::start(json!({"clients": [daemon_client()], "apiResource": api_resource()}))
            .await
            .unwrap();
    let api = serve(
        ApiAuth::builder()
            .client_id(API_ID)
            .oidc_authority(&provider.issuer)
            .build()
            .unwrap(),
    )
    .await;
    let (status, challenge, body) = api.get("/resource", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer realm=\"test-api\"");
    assert!(body["error_description"].is_string(), "{body}");

    let (status, challenge, _) = api
        .get_with("/resource", "Basic ZGFlbW9uOnNlY3JldA==")
        .await;
    assert_eq!(
        (status, challenge.as_str()),
        (StatusCode::UNAUTHORIZED, "Bearer realm=\"test-api\"")
    );

    let (status, challenge, body) = api.get_with("/resource", "Bearer two words").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );
    assert_eq!(body["error"], "invalid_request");

    let (status, challenge, body) = api.get("/resource", Some("not.a.token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(body["error"], "invalid_token");

    // An opaque (non-JWT) token of the same provider, for userinfo: not for this API.
    let opaque: Value = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[("grant_type", "client_credentials")])
        .json_answer()
        .await;
    if let Some(opaque) = opaque["access_token"].as_str() {
        assert_eq!(
            api.get("/resource", Some(opaque)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }

    assert_eq!(api.get("/maybe", None).await.2, "anonymous");
    assert_eq!(
        api.get_with("/maybe", "Basic ZGFlbW9uOnNlY3JldA==").await.2,
        "anonymous"
    );
    let token = client_credentials(&provider, "api.read").await;
    assert_eq!(api.get("/maybe", Some(&token)).await.2, "token of daemon");
    assert_eq!(
        api.get("/maybe", Some("bad.token.here")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(api.get("/", None).await.0, StatusCode::OK);
    assert_eq!(api.runs(), 0);
}

#[tokio::test]
async fn the_provider_unreachable_without_keys_is_a_503_not_a_500() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let api = serve(
        ApiAuth::builder()
            .client_id(API_ID)
            .oidc_authority(&issuer)
            .http_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
    )
    .await;
    let token = bearer::sign(
        &json!({"kid": kid(0)}),
        &good_claims(&issuer, json!({})),
        &Sign::Rsa(0),
    );
    let (status, _, body) = api.get("/resource", Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
}

// ---------------------------------------------------------------------------------------------
// Forgeries, through the hostile provider's keys

fn good_claims(issuer: &str, patch: Value) -> Value {
    let now = now();
    Value::Object(bearer::merged(
        json!({
            "iss": issuer,
            "sub": "alice",
            "aud": INDICATOR,
            "client_id": "web-app",
            "scope": "api.read",
            "iat": now,
            "exp": now + 600,
            "jti": format!("{}", rand_jti()),
        }),
        &patch,
    ))
}

fn rand_jti() -> u64 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst) as u64
}

async fn hostile_api(
    api: impl FnOnce(axum_identity::ApiAuthBuilder) -> axum_identity::ApiAuthBuilder,
) -> (Hostile, Api) {
    let hostile = Hostile::start("unused", Scenario::default()).await;
    let builder = ApiAuth::builder()
        .client_id(API_ID)
        .oidc_authority(&hostile.issuer);
    let api = serve(api(builder).build().unwrap()).await;
    (hostile, api)
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let (hostile, api) = hostile_api(|b| b).await;
    let iss = hostile.issuer.clone();
    let at_jwt = json!({"kid": kid(0), "typ": "at+jwt"});
    let good = bearer::sign(&at_jwt, &good_claims(&iss, json!({})), &Sign::Rsa(0));
    let (status, _, body) = api.get("/resource", Some(&good)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.runs(), 1);

    let now = now();
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            bearer::sign(
                &json!({"kid": kid(0)}),
                &good_claims(&iss, json!({})),
                &Sign::None,
            ),
        ),
        (
            "HS256 keyed with the public key",
            bearer::sign(
                &json!({"kid": kid(0)}),
                &good_claims(&iss, json!({})),
                &Sign::Hs256(public_key_pem(0).into_bytes()),
            ),
        ),
        (
            "tampered signature",
            bearer::sign(&at_jwt, &good_claims(&iss, json!({})), &Sign::CorruptRsa(0)),
        ),
        (
            "signed by an unpublished key",
            bearer::sign(
                &json!({"kid": kid(1)}),
                &good_claims(&iss, json!({})),
                &Sign::Rsa(1),
            ),
        ),
        (
            "another key under the published kid",
            bearer::sign(&at_jwt, &good_claims(&iss, json!({})), &Sign::Rsa(2)),
        ),
        (
            "wrong audience",
            bearer::sign(
                &at_jwt,
                &good_claims(&iss, json!({"aud": "someone-else"})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "another API's token",
            bearer::sign(
                &at_jwt,
                &good_claims(&iss, json!({"aud": "api://other-api"})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "wrong issuer",
            bearer::sign(
                &at_jwt,
                &good_claims("https://evil.example", json!({})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "expired",
            bearer::sign(
                &at_jwt,
                &good_claims(&iss, json!({"exp": now - 120, "iat": now - 700})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "future nbf",
            bearer::sign(
                &at_jwt,
                &good_claims(&iss, json!({"nbf": now + 600})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "no exp",
            bearer::sign(
                &at_jwt,
                &good_claims(&iss, json!({"exp": null})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "an ID token",
            bearer::sign(
                &json!({"kid": kid(0), "typ": "JWT"}),
                &good_claims(&iss, json!({"aud": API_ID, "nonce": "n"})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "a logout token",
            bearer::sign(
                &json!({"kid": kid(0), "typ": "logout+jwt"}),
                &good_claims(&iss, json!({})),
                &Sign::Rsa(0),
            ),
        ),
        (
            "a logout token without typ",
            bearer::sign(
                &json!({"kid": kid(0)}),
                &good_claims(
                    &iss,
                    json!({"aud": API_ID, "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
                ),
                &Sign::Rsa(0),
            ),
        ),
        (
            "critical header",
            bearer::sign(
                &json!({"kid": kid(0), "crit": ["x"]}),
                &good_claims(&iss, json!({})),
                &Sign::Rsa(0),
            ),
        ),
    ];
    for (case, token) in &cases {
        let (status, challenge, body) = api.get("/resource", Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
    }
    assert_eq!(api.runs(), 1, "no refused request reached the handler");
    // Each failure under the key set may ask for fresh keys, but at most once per 30 s.
    assert!(
        hostile.jwks_fetches() <= 2,
        "{} key fetches",
        hostile.jwks_fetches()
    );

    // The right token without the scope is a 403, not a 401.
    let read_only = bearer::sign(
        &at_jwt,
        &good_claims(&iss, json!({"scope": "api.write"})),
        &Sign::Rsa(0),
    );
    assert_eq!(
        api.get("/resource", Some(&read_only)).await.0,
        StatusCode::FORBIDDEN
    );
}

/// An ID token from a refresh has no `nonce` and passes every claim check of an access token
/// for the same client id; requiring `typ: at+jwt` (RFC 9068 §4) keeps it out.
#[tokio::test]
async fn with_at_jwt_required_an_id_token_without_a_nonce_is_refused() {
    let id_token_of_a_refresh = |iss: &str| {
        bearer::sign(
            &json!({"kid": kid(0), "typ": "JWT"}),
            &good_claims(
                iss,
                json!({"aud": API_ID, "scope": null, "scp": "api.read"}),
            ),
            &Sign::Rsa(0),
        )
    };
    // By default (Entra's access tokens say `JWT`), such a token passes its claims.
    let (hostile, lenient) = hostile_api(|b| b).await;
    let token = id_token_of_a_refresh(&hostile.issuer);
    assert_eq!(
        lenient.get("/resource", Some(&token)).await.0,
        StatusCode::OK
    );
    let (hostile, strict) = hostile_api(|b| b.require_access_token_type(true)).await;
    let token = id_token_of_a_refresh(&hostile.issuer);
    let (status, challenge, _) = strict.get("/resource", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("at+jwt"), "{challenge}");
    let access_token = bearer::sign(
        &json!({"kid": kid(0), "typ": "at+jwt"}),
        &good_claims(&hostile.issuer, json!({})),
        &Sign::Rsa(0),
    );
    assert_eq!(
        strict.get("/resource", Some(&access_token)).await.0,
        StatusCode::OK
    );
    assert_eq!(strict.runs(), 1);
}

/// A web API on a multi-tenant authority without a tenant list says at startup that it
/// accepts every tenant's roles; with `allowed_tenants` it does not.
#[tokio::test]
async fn a_multi_tenant_api_without_a_tenant_list_warns_at_startup() {
    for (tenants, warns) in [(None, true), (Some(vec!["t1"]), false)] {
        let logs = support::logs::capture(|| {
            let mut builder = ApiAuth::builder()
                .client_id(API_ID)
                .authority("https://login.microsoftonline.com/organizations");
            if let Some(tenants) = tenants.clone() {
                builder = builder.allowed_tenants(tenants);
            }
            builder.build().unwrap();
        });
        assert_eq!(
            logs.contains("accepts tokens from every tenant") && logs.contains("allowed_tenants"),
            warns,
            "{tenants:?}: {logs}"
        );
    }
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_on_an_unknown_kid_and_on_a_failure_under_a_known_one() {
    // A new kid.
    let (hostile, api) = hostile_api(|b| b).await;
    let iss = hostile.issuer.clone();
    let first = bearer::sign(
        &json!({"kid": kid(0)}),
        &good_claims(&iss, json!({})),
        &Sign::Rsa(0),
    );
    assert_eq!(api.get("/resource", Some(&first)).await.0, StatusCode::OK);
    hostile.set(|s| s.jwks = vec![Published::key(0), Published::key(1)]);
    let rotated = bearer::sign(
        &json!({"kid": kid(1)}),
        &good_claims(&iss, json!({})),
        &Sign::Rsa(1),
    );
    assert_eq!(api.get("/resource", Some(&rotated)).await.0, StatusCode::OK);
    assert_eq!(hostile.jwks_fetches(), 2);
    // Forged kids now find the refetch rate limited: no request amplification.
    for i in 0..10 {
        let forged = bearer::sign(
            &json!({"kid": format!("forged-{i}")}),
            &good_claims(&iss, json!({})),
            &Sign::Rsa(2),
        );
        assert_eq!(
            api.get("/resource", Some(&forged)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(hostile.jwks_fetches(), 2);

    // New material under the same kid.
    let hostile = Hostile::start(
        "unused",
        Scenario {
            jwks: vec![Published {
                key: 0,
                kid: Some("k".into()),
            }],
            id_token: TokenSpec::default(),
            ..Scenario::default()
        },
    )
    .await;
    let api = serve(
        ApiAuth::builder()
            .client_id(API_ID)
            .oidc_authority(&hostile.issuer)
            .build()
            .unwrap(),
    )
    .await;
    let iss = hostile.issuer.clone();
    let old = bearer::sign(
        &json!({"kid": "k"}),
        &good_claims(&iss, json!({})),
        &Sign::Rsa(0),
    );
    assert_eq!(api.get("/resource", Some(&old)).await.0, StatusCode::OK);
    hostile.set(|s| {
        s.jwks = vec![Published {
            key: 1,
            kid: Some("k".into()),
        }]
    });
    let new = bearer::sign(
        &json!({"kid": "k"}),
        &good_claims(&iss, json!({})),
        &Sign::Rsa(1),
    );
    assert_eq!(api.get("/resource", Some(&new)).await.0, StatusCode::OK);
    assert_eq!(hostile.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_remembered_token_is_not_trusted_past_its_exp() {
    let clock = Clock::manual_from_now();
    let (hostile, api) = hostile_api({
        let clock = clock.clone();
        move |b| b.clock(clock).leeway(Duration::ZERO)
    })
    .await;
    let iss = hostile.issuer.clone();
    let token = bearer::sign(
        &json!({"kid": kid(0)}),
        &good_claims(&iss, json!({"iat": clock.now(), "exp": clock.now() + 60})),
        &Sign::Rsa(0),
    );
    assert_eq!(api.get("/resource", Some(&token)).await.0, StatusCode::OK);
    assert_eq!(api.get("/resource", Some(&token)).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(61));
    let (status, challenge, _) = api.get("/resource", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("expired"), "{challenge}");
}

// ---------------------------------------------------------------------------------------------
// Entra ID

const T1: &str = "9122040d-6c67-4c5b-b112-36a304b66dad";
const T2: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRA_API: &str = "6f5bd9d0-0f1c-4b5a-9a43-0d7f0b5a0c1e";

fn entra_token(iss: &str, tid: &str, patch: Value) -> String {
    let now = now();
    let claims = bearer::merged(
        json!({
            "iss": iss, "tid": tid, "aud": ENTRA_API, "sub": "pairwise-sub", "oid": "user-oid",
            "azp": "web-client", "scp": "api.read", "ver": "2.0", "iat": now, "nbf": now, "exp": now + 3600,
        }),
        &patch,
    );
    bearer::sign(
        &json!({"kid": ENTRA_KID, "typ": "JWT"}),
        &Value::Object(claims),
        &Sign::Rsa(0),
    )
}

async fn entra_api(entra: &Entra, tenant: &str, tenants: Option<&[&str]>) -> Api {
    let mut builder = ApiAuth::builder()
        .client_id(ENTRA_API)
        .authority(entra.authority(tenant));
    if let Some(tenants) = tenants {
        builder = builder.allowed_tenants(tenants.iter().copied());
    }
    serve(builder.build().unwrap()).await
}

#[tokio::test]
async fn entra_v1_and_v2_tokens_are_accepted_and_each_issuer_checked_against_its_tenant() {
    let entra = Entra::start().await;
    let api = entra_api(&entra, "organizations", None).await;

    let v2 = entra_token(&entra.v2_issuer(T1), T1, json!({}));
    let (status, _, body) = api.get("/resource", Some(&v2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["tid"].as_str(), body["app_only"].as_bool()),
        (Some(T1), Some(false))
    );
    assert_eq!(body["client"], "web-client");

    // v1: sts.windows.net issuer, api:// audience, appid; an app-only daemon token with roles.
    let v1 = entra_token(
        &v1_issuer(T2),
        T2,
        json!({"aud": format!("api://{ENTRA_API}"), "ver": "1.0", "azp": null, "appid": "daemon-app",
               "scp": null, "roles": ["Reports.Read.All"], "idtyp": "app", "sub": "sp-oid", "oid": "sp-oid"}),
    );
    let (status, _, body) = api.get("/reports", Some(&v1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["app_only"], true);
    assert_eq!(body["client"], "daemon-app");
    // A daemon has no delegated scope.
    assert_eq!(
        api.get("/resource", Some(&v1)).await.0,
        StatusCode::FORBIDDEN
    );

    // Issued in one tenant, claiming another.
    for token in [
        entra_token(&entra.v2_issuer(T2), T1, json!({})),
        entra_token(&v1_issuer(T2), T1, json!({})),
        entra_token(&entra.v2_issuer(T1), T1, json!({"tid": null})),
        entra_token(
            "https://login.microsoftonline.com/common/v2.0",
            T1,
            json!({}),
        ),
    ] {
        assert_eq!(
            api.get("/resource", Some(&token)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }

    // An allow-list of tenants.
    let only_t1 = entra_api(&entra, "organizations", Some(&[T1])).await;
    assert_eq!(only_t1.get("/resource", Some(&v2)).await.0, StatusCode::OK);
    let from_t2 = entra_token(&entra.v2_issuer(T2), T2, json!({}));
    assert_eq!(api.get("/resource", Some(&from_t2)).await.0, StatusCode::OK);
    assert_eq!(
        only_t1.get("/resource", Some(&from_t2)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_single_tenant_api_refuses_the_right_scope_from_another_tenant() {
    let entra = Entra::start().await;
    let api = entra_api(&entra, T1, None).await;
    let ours = entra_token(&entra.v2_issuer(T1), T1, json!({}));
    assert_eq!(api.get("/resource", Some(&ours)).await.0, StatusCode::OK);
    let ours_v1 = entra_token(
        &v1_issuer(T1),
        T1,
        json!({"aud": format!("api://{ENTRA_API}")}),
    );
    assert_eq!(api.get("/resource", Some(&ours_v1)).await.0, StatusCode::OK);
    for theirs in [
        entra_token(&entra.v2_issuer(T2), T2, json!({})),
        entra_token(&v1_issuer(T2), T2, json!({})),
    ] {
        let (status, challenge, _) = api.get("/resource", Some(&theirs)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("another issuer"), "{challenge}");
    }
}

#[tokio::test]
async fn a_groups_overage_is_reported_never_read_as_no_groups() {
    let entra = Entra::start().await;
    let api = entra_api(&entra, "organizations", None).await;
    let with_groups = entra_token(&entra.v2_issuer(T1), T1, json!({"groups": ["g1", "g2"]}));
    assert_eq!(
        api.get("/resource", Some(&with_groups)).await.2["groups"],
        json!(["g1", "g2"])
    );
    let overage = entra_token(
        &entra.v2_issuer(T1),
        T1,
        json!({"_claim_names": {"groups": "src1"},
               "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}),
    );
    let (status, _, body) = api.get("/resource", Some(&overage)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["groups"]["error"]
            .as_str()
            .unwrap()
            .contains("more groups than fit"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------------
// Roles for web apps

#[login_required(roles = ["Admin"])]
async fn admin(context: Context) -> String {
    format!("admin {}", context.user.subject())
}

#[tokio::test]
async fn a_signed_in_user_without_the_role_gets_a_403_page_not_a_sign_in_loop() {
    for (roles, expected) in [
        (json!(["Admin", "Reader"]), StatusCode::OK),
        (json!(["Reader"]), StatusCode::FORBIDDEN),
        (Value::Null, StatusCode::FORBIDDEN),
    ] {
        let hostile = Hostile::start(
            "roles-app",
            Scenario {
                id_token: TokenSpec::claims(json!({"roles": roles})),
                ..Scenario::default()
            },
        )
        .await;
        let app = launch(Router::new().route("/admin", get(admin)))
            .issuer(&hostile.issuer)
            .client("roles-app", "roles-secret")
            .start()
            .await;
        let browser = Browser::new();
        let page = browser.get(app.url("/admin")).await;
        assert_eq!(page.status, expected, "roles {roles}: {}", page.body);
        assert_eq!(page.url.as_str(), app.url("/admin"));
        if expected == StatusCode::FORBIDDEN {
            assert!(page.body.contains("Access denied"), "{}", page.body);
            assert!(page.body.contains("Admin"), "{}", page.body);
            // Asking again does not start another sign-in.
            let again = browser.get(app.url("/admin")).await;
            assert_eq!(again.status, StatusCode::FORBIDDEN);
            assert_eq!(hostile.counters().authorization.load(Ordering::SeqCst), 1);
        } else {
            assert_eq!(page.body, "admin alice");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The example pair, run as users run them

/// Starts an example with `env` and waits until it listens; returns what it printed.
async fn run_example(name: &str, env: &[(&str, String)]) -> (tokio::process::Child, String) {
    support::example::start(name, env).await
}

/// A free port `p` whose neighbour `p + 1` is free too (web_api registers call_api there).
fn two_free_ports() -> u16 {
    for _ in 0..50 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two neighbouring free ports");
}

/// The web_api example with nothing configured, on a port whose neighbour is free for
/// call_api, with its local provider on a port of its own: the process, what it printed, the
/// API's port and the provider's.
async fn start_web_api_example() -> (tokio::process::Child, String, u16, u16) {
    let api_port = two_free_ports();
    let provider_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (api, said) = run_example(
        "web_api",
        &[
            ("PORT", api_port.to_string()),
            ("PROVIDER_PORT", provider_port.to_string()),
        ],
    )
    .await;
    (api, said, api_port, provider_port)
}

#[tokio::test]
async fn the_web_api_example_serves_call_api_a_signed_in_users_token_end_to_end() {
    let (_api, said, api_port, provider_port) = start_web_api_example().await;
    let web_port = api_port + 1;
    assert!(said.contains("using the local OpenID provider"), "{said}");
    let api = format!("http://127.0.0.1:{api_port}");
    let open: Value = reqwest::get(format!("{api}/"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        open["message"].as_str().unwrap().contains("/resource"),
        "{open}"
    );
    let anonymous = reqwest::get(format!("{api}/resource")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let issuer = format!("http://127.0.0.1:{provider_port}");
    let (_web, _) = run_example(
        "call_api",
        &[
            ("PORT", web_port.to_string()),
            ("CLIENT_ID", "call-api".into()),
            ("CLIENT_SECRET", "call-api-secret".into()),
            ("OIDC_AUTHORITY", issuer),
            (
                "REDIRECT_URI",
                format!("http://127.0.0.1:{web_port}/redirect"),
            ),
            ("SCOPE", "api.read".into()),
            ("ENDPOINT", format!("{api}/resource")),
        ],
    )
    .await;
    let browser = Browser::new();
    let page = browser
        .get(format!("http://127.0.0.1:{web_port}/call_api"))
        .await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("answered 200 OK"), "{}", page.body);
    assert!(
        page.body.contains("&quot;sub&quot;: &quot;alice&quot;"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("&quot;app_only&quot;: false"),
        "{}",
        page.body
    );
}

/// Runs the daemon example to its end with `env`; its exit status and what it printed.
async fn run_daemon(env: &[(&str, String)]) -> (std::process::ExitStatus, String, String) {
    let mut command = tokio::process::Command::new(support::example::binary("daemon"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for variable in support::example::PROVIDER_SETTINGS {
        command.env_remove(variable);
    }
    for (variable, value) in env {
        command.env(variable, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the daemon finishes")
        .expect("the daemon runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_daemon_example_calls_the_web_api_example_with_an_app_only_token_twice() {
    let (_api, said, api_port, provider_port) = start_web_api_example().await;
    assert!(said.contains("daemon:daemon-secret"), "{said}");
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let endpoint = format!("http://127.0.0.1:{api_port}/resource");
    let daemon = |secret: &str| {
        vec![
            ("CLIENT_ID", "daemon".to_owned()),
            ("CLIENT_SECRET", secret.to_owned()),
            ("OIDC_AUTHORITY", issuer.clone()),
            ("SCOPE", "api.read".to_owned()),
            ("ENDPOINT", endpoint.clone()),
        ]
    };

    let (status, stdout, stderr) = run_daemon(&daemon("daemon-secret")).await;
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("call 1: 200 OK")),
        "{stdout}"
    );
    assert!(
        lines.contains(&"call 2: the token comes from the cache"),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("call 2: 200 OK")),
        "{stdout}"
    );
    // The API saw the daemon itself, with no user.
    assert!(stdout.contains(r#""app_only":true"#), "{stdout}");
    assert!(stdout.contains(r#""sub":"daemon""#), "{stdout}");

    // A wrong secret: the provider's error, and a failing exit.
    let (status, stdout, stderr) = run_daemon(&daemon("not-the-secret")).await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(!stdout.contains("call 1"), "{stdout}");
}

#[tokio::test]
async fn the_daemon_example_runs_with_nothing_configured_on_a_certificate() {
    let (status, stdout, stderr) = run_daemon(&[]).await;
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("authenticating with a test certificate"),
        "{stdout}"
    );
    assert!(
        stdout.contains("call 2: the token comes from the cache"),
        "{stdout}"
    );
}
