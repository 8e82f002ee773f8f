//! Certificates and client assertions instead of secrets (RFC 7523 `private_key_jwt`), and
//! app-only tokens (the client credentials grant) — against the real provider, which checks
//! every assertion's signature, audience, lifetime and `jti`.

use axum_identity_testkit as support;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{Auth, Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use support::app::{CLIENT_ID, TestApp, launch};
use support::browser::{Browser, device_code_on};
use support::credentials::{
    certificate, certificate_pem, jwks, key_pem, private_key_jwt_client, thumbprint,
};
use support::kernel::{Signing, now, sign};
use support::provider::token_requests;

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Json<Value> {
    Json(json!({
        "sub": context.user.subject(),
        "access_token": context.access_token,
    }))
}

fn routes() -> Router {
    Router::new().route("/read", get(read))
}

/// An app whose client authenticates with fixture key `key` and the certificate of fixture
/// `cert`, registered at the provider with the JWKS of fixture `registered`; and its clock,
/// which a test moves past a token's lifetime instead of sleeping (client assertions keep the
/// wall clock: they are for the provider).
async fn with_certificate(
    key: usize,
    cert: usize,
    registered: usize,
    provider: Value,
) -> (TestApp, Clock) {
    let kid = thumbprint(&certificate(cert).1);
    let pem = certificate_pem(key, cert);
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(routes())
        .client(CLIENT_ID, "")
        .client_metadata(move |_| private_key_jwt_client(jwks(registered, &kid)))
        .provider_config(provider)
        .auth(move |b| b.client_certificate_pem(pem).clock(app_clock))
        .start()
        .await;
    (app, clock)
}

/// How long the provider's tokens live in the tests that let them expire, and how far the
/// clock moves to get there.
const SHORT_TTL: u64 = 60;
const PAST_THE_TTL: Duration = Duration::from_secs(SHORT_TTL + 1);

async fn signed_in(app: &TestApp, browser: &Browser) -> Value {
    let page = browser.get(app.url("/read")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/read"));
    page.json()
}

/// A file only its owner can read, as a key file must be.
fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = support::scratch_dir(&format!("credentials-{}", std::process::id()));
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A private key file every user can read (`0644`) stops the start, naming the file and the
/// fix; `allow_readable_key_file(true)` accepts it with a warning; `0600` and `0640` pass.
#[test]
fn a_key_file_readable_by_everyone_stops_the_start_unless_allowed() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = temp_file("readable.pem", &certificate_pem(0, 0));
    let build = |allow: bool| {
        axum_identity::Auth::builder()
            .client_id("app")
            .redirect_uri("http://127.0.0.1:5000/redirect")
            .oidc_authority("https://idp.example")
            .client_certificate_file(&path)
            .allow_readable_key_file(allow)
            .build()
    };
    for mode in [0o600, 0o640, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        build(false).unwrap_or_else(|e| panic!("mode {mode:o}: {e}"));
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = build(false).unwrap_err().to_string();
    assert!(
        err.contains("CLIENT_CERTIFICATE")
            && err.contains("readable.pem")
            && err.contains("chmod 600")
            && err.contains("allow_readable_key_file"),
        "{err}"
    );
    let logs = support::logs::capture(|| {
        build(true).unwrap();
    });
    assert!(logs.contains("readable by every user"), "{logs}");
}

#[tokio::test]
async fn signs_in_and_refreshes_with_a_certificate() {
    let (app, clock) = with_certificate(0, 0, 0, json!({ "accessTokenTtl": SHORT_TTL })).await;
    let browser = Browser::new();
    let first = signed_in(&app, &browser).await;
    assert_eq!(first["sub"], "alice");
    clock.advance(PAST_THE_TTL);
    let page = browser.get(app.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let second = page.json();
    assert_ne!(first["access_token"], second["access_token"], "refreshed");
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "authorization_code"), 1);
    assert_eq!(token_requests(&stats, "refresh_token"), 1);
}

#[tokio::test]
async fn signs_in_with_a_p256_certificate_by_es256() {
    let (pem, jwks) = support::credentials::ec_credential();
    let app = launch(routes())
        .client(CLIENT_ID, "")
        .client_metadata(move |_| {
            let mut client = private_key_jwt_client(jwks);
            client["token_endpoint_auth_signing_alg"] = json!("ES256");
            client
        })
        .auth(move |b| b.client_certificate_pem(pem))
        .start()
        .await;
    let browser = Browser::new();
    assert_eq!(signed_in(&app, &browser).await["sub"], "alice");
    app.auth
        .token_for_client(&["api.read"])
        .await
        .expect("an app-only token by ES256");
}

#[tokio::test]
async fn a_plain_key_file_with_its_kid_signs_in() {
    let path = temp_file("plain-key.pem", key_pem(1));
    let app = launch(routes())
        .client(CLIENT_ID, "")
        .client_metadata(|_| private_key_jwt_client(jwks(1, "app-key-1")))
        .auth(move |b| b.client_certificate_file(path).client_key_id("app-key-1"))
        .start()
        .await;
    let browser = Browser::new();
    assert_eq!(signed_in(&app, &browser).await["sub"], "alice");
}

#[tokio::test]
async fn many_concurrent_callers_get_one_app_only_token() {
    let (app, clock) = with_certificate(0, 0, 0, json!({ "accessTokenTtl": SHORT_TTL })).await;
    app.provider().reset_stats().await;
    let auth = Arc::new(app.auth.clone());
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.token_for_client(&["api.read"]).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.unwrap().expect("an app-only token"));
    }
    assert!(tokens.iter().all(|t| t == &tokens[0]), "one token for all");
    assert_eq!(tokens[0].scopes, vec!["api.read".to_owned()]);
    assert_eq!(tokens[0].token_type, "Bearer");
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "client_credentials"), 1);

    // From the cache; another scope set is another token.
    let again = app.auth.token_for_client(&["api.read"]).await.unwrap();
    assert_eq!(again, tokens[0]);
    let write = app.auth.token_for_client(&["api.write"]).await.unwrap();
    assert_ne!(write.access_token, again.access_token);
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "client_credentials"), 2);

    // Shortly before it expires, a new one.
    clock.advance(Duration::from_secs(SHORT_TTL - 5));
    let renewed = app.auth.token_for_client(&["api.read"]).await.unwrap();
    assert_ne!(renewed.access_token, again.access_token);
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, "client_credentials"), 3);
}

#[tokio::test]
async fn app_only_tokens_with_a_secret() {
    let app = launch(routes())
        .client_metadata(|_| {
            json!({ "grant_types": ["authorization_code", "refresh_token", "client_credentials"] })
        })
        .start()
        .await;
    let token = app.auth.token_for_client(&["api.write"]).await.unwrap();
    assert!(!token.access_token.is_empty());
    assert!(token.expires_at > now());
}

#[tokio::test]
async fn a_provider_refusing_the_assertion_gives_a_clear_error() {
    // Registered with key 1; the app signs with key 0.
    let (app, _) = with_certificate(0, 0, 1, json!({})).await;
    let err = app
        .auth
        .token_for_client(&["api.read"])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid_client"), "{err}");
    let browser = Browser::new();
    let page = browser.get(app.url("/read")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_ne!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.path(), "/redirect");
}

#[tokio::test]
async fn a_wrong_certificate_or_a_bad_key_file_stops_the_start() {
    let builder = || {
        Auth::builder()
            .client_id(CLIENT_ID)
            .oidc_authority("http://127.0.0.1:9")
    };
    let err = builder()
        .client_certificate_pem(certificate_pem(0, 1))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the one of this private key"), "{err}");
    assert!(err.contains("CLIENT_CERTIFICATE"), "{err}");

    let garbage = temp_file("garbage.pem", "this is not a key");
    let err = builder()
        .client_certificate_file(&garbage)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains(&garbage.display().to_string()), "{err}");
    assert!(err.contains("no PEM block"), "{err}");

    let only_cert = temp_file("cert-only.pem", &certificate(0).0);
    let err = builder()
        .client_certificate_file(&only_cert)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no private key"), "{err}");

    let missing = support::scratch_dir("credentials").join("no-such-app.pem");
    let err = builder()
        .client_certificate_file(&missing)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("cannot be read"),
        "{err}"
    );

    let err = builder()
        .client_secret("secret")
        .client_certificate_pem(certificate_pem(0, 0))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CLIENT_SECRET") && err.contains("drop"),
        "{err}"
    );
}

/// A client assertion as a workload identity system writes it: signed with fixture key 0 for
/// the provider's token endpoint.
fn assertion(app: &TestApp, exp: i64) -> String {
    let header: Map<String, Value> = json!({ "alg": "RS256", "kid": "federated" })
        .as_object()
        .unwrap()
        .clone();
    let claims: Map<String, Value> = json!({
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": app.provider().url("/token"),
        "jti": format!("jti-{exp}-{}", rand_suffix()),
        "iat": now(),
        "exp": exp,
    })
    .as_object()
    .unwrap()
    .clone();
    sign(&header, &claims, &Signing::Rsa(0))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn an_assertion_file_is_read_on_each_use_and_an_expired_one_is_refused() {
    let path = temp_file("federated-token", "");
    let file = path.clone();
    let app = launch(routes())
        .client(CLIENT_ID, "")
        .client_metadata(|_| private_key_jwt_client(jwks(0, "federated")))
        .auth(move |b| b.client_assertion_file(file))
        .start()
        .await;
    std::fs::write(&path, assertion(&app, now() + 300)).unwrap();
    app.auth
        .token_for_client(&["api.read"])
        .await
        .expect("accepted");
    // The file is rotated: the next request uses the new assertion (the provider refuses a
    // `jti` it has seen).
    std::fs::write(&path, assertion(&app, now() + 600)).unwrap();
    app.auth
        .token_for_client(&["api.write"])
        .await
        .expect("the rotated assertion");

    std::fs::write(&path, assertion(&app, now() - 30)).unwrap();
    let err = app
        .auth
        .token_for_client(&["api.read", "api.write"])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("expired"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    let stats = app.provider().stats().await;
    assert_eq!(
        token_requests(&stats, "client_credentials"),
        2,
        "the expired one is not sent"
    );
}

// --- Entra ID: the assertion's header, and tokens on behalf of a user -----------------------

use support::microsoft::{self as ms, MFA_CLAIMS, Microsoft, NEEDS_MFA, TENANT_A};

/// An app of the Microsoft-shaped provider's client, authenticating with fixture 0's
/// certificate.
async fn entra_app(microsoft: &Microsoft) -> TestApp {
    let http = microsoft.http_client();
    let pem = certificate_pem(0, 0);
    launch(routes())
        .configured_provider()
        .client(ms::CLIENT_ID, "")
        .auth(move |b| {
            b.http_client(http)
                .authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
                .client_certificate_pem(pem)
        })
        .start()
        .await
}

fn decode_part(jwt: &str, i: usize) -> Value {
    support::credentials::jwt_part(jwt, i)
}

/// Entra's on-behalf-of grant, as the token request's form says it.
fn assert_on_behalf_of(form: &std::collections::HashMap<String, String>) {
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(form["requested_token_use"], "on_behalf_of");
}

#[tokio::test]
async fn on_behalf_of_a_user_with_a_certificate_at_entra() {
    let microsoft = Microsoft::start().await;
    let app = entra_app(&microsoft).await;
    let scopes = ["api://downstream/.default"];
    let token = app
        .auth
        .token_on_behalf_of("incoming-token-of-alice", &scopes)
        .await
        .expect("an on-behalf-of token");
    assert!(token.access_token.starts_with("obo-"), "{token:?}");
    assert_eq!(token.scopes, vec!["api://downstream/.default".to_owned()]);

    let requests = microsoft.token_requests();
    assert_eq!(requests.len(), 1);
    let form = &requests[0].1.form;
    assert_on_behalf_of(form);
    assert_eq!(form["assertion"], "incoming-token-of-alice");
    assert_eq!(form["scope"], "api://downstream/.default");
    assert!(form.get("client_secret").is_none());
    assert!(requests[0].1.authorization.is_none(), "no Basic header");

    // Entra finds the certificate by its thumbprints.
    let der = certificate(0).1;
    let header = decode_part(&form["client_assertion"], 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], thumbprint(&der));
    assert_eq!(header["x5t#S256"], thumbprint(&der));
    assert_eq!(header["x5t"], support::credentials::sha1_thumbprint(&der));
    let claims = decode_part(&form["client_assertion"], 1);
    assert_eq!(claims["iss"], ms::CLIENT_ID);
    assert_eq!(claims["sub"], ms::CLIENT_ID);
    assert_eq!(
        claims["aud"],
        format!("https://login.microsoftonline.com/{TENANT_A}/oauth2/v2.0/token")
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=600).contains(&lifetime), "short-lived: {lifetime}");

    // Cached per incoming token and scope set.
    let again = app
        .auth
        .token_on_behalf_of("incoming-token-of-alice", &scopes)
        .await
        .unwrap();
    assert_eq!(again, token);
    assert_eq!(microsoft.token_requests().len(), 1);
    app.auth
        .token_on_behalf_of("incoming-token-of-bob", &scopes)
        .await
        .unwrap();
    assert_eq!(microsoft.token_requests().len(), 2);
}

#[tokio::test]
async fn a_conditional_access_requirement_is_a_403_with_the_claims_challenge() {
    let microsoft = Microsoft::start().await;
    let app = entra_app(&microsoft).await;
    let err = app
        .auth
        .token_on_behalf_of(NEEDS_MFA, &["api://downstream/.default"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::FORBIDDEN, "{err}");
    assert!(err.to_string().contains("AADSTS50076"), "{err}");
    let challenge = err.www_authenticate().expect("a challenge");
    let encoded = support::credentials::base64_standard(MFA_CLAIMS.as_bytes());
    assert_eq!(
        challenge,
        format!("Bearer error=\"insufficient_claims\", claims=\"{encoded}\"")
    );
}

/// A web API of the Microsoft-shaped provider's client in `TENANT_A`, calling a downstream API
/// on behalf of its callers with its own secret.
async fn entra_api_with_downstream(microsoft: &Microsoft) -> (String, tokio::task::JoinHandle<()>) {
    use axum_identity::{ApiContext, ApiRejection};
    async fn downstream(context: ApiContext) -> Result<Json<Value>, ApiRejection> {
        let token = context
            .token_on_behalf_of(&["api://downstream/.default"])
            .await?;
        Ok(Json(json!({
            "caller": context.claims.subject(),
            "access_token": token.access_token,
            "scopes": token.scopes,
        })))
    }
    let api = microsoft.on_behalf_of_api();
    let app = Router::new()
        .route("/downstream", get(downstream))
        .layer(api.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, server)
}

/// An access token for the API, signed by the Microsoft-shaped provider's key.
fn token_for_the_api(sub: &str, extra: Value) -> String {
    let now = now();
    let mut claims = json!({
        "iss": ms::entra_issuer(TENANT_A), "tid": TENANT_A, "aud": ms::CLIENT_ID,
        "sub": sub, "oid": ms::ALICE_OID, "azp": "spa-client", "scp": "access_as_user",
        "ver": "2.0", "iat": now, "nbf": now, "exp": now + 3600,
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    sign(
        json!({"typ": "JWT", "alg": "RS256", "kid": ms::ms_kid(0)})
            .as_object()
            .unwrap(),
        claims.as_object().unwrap(),
        &Signing::Rsa(0),
    )
}

#[tokio::test]
async fn a_web_api_calls_downstream_on_behalf_of_its_caller_and_passes_on_a_claims_challenge() {
    let microsoft = Microsoft::start().await;
    let (base, server) = entra_api_with_downstream(&microsoft).await;
    let http = reqwest::Client::new();
    let call = |token: String| {
        let request = http.get(format!("{base}/downstream")).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, challenge, response.json::<Value>().await.unwrap())
        }
    };

    let incoming = token_for_the_api("alice", json!({}));
    let (status, _, body) = call(incoming.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["caller"], "alice");
    assert!(
        body["access_token"].as_str().unwrap().starts_with("obo-"),
        "{body}"
    );
    assert_eq!(body["scopes"], json!(["api://downstream/.default"]));
    let requests = microsoft.token_requests();
    assert_eq!(requests.len(), 1);
    let form = &requests[0].1.form;
    assert_on_behalf_of(form);
    assert_eq!(
        form["assertion"], incoming,
        "the caller's own token is exchanged"
    );

    // The same caller again: from the cache, no second grant.
    let (status, _, again) = call(incoming).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access_token"], body["access_token"]);
    assert_eq!(microsoft.token_requests().len(), 1);

    // Conditional access wants MFA: a 403 the client can act on, with Entra's challenge.
    let (status, challenge, body) =
        call(token_for_the_api("bob", json!({"needs_mfa": true}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let encoded = support::credentials::base64_standard(MFA_CLAIMS.as_bytes());
    assert_eq!(
        challenge.as_deref(),
        Some(format!("Bearer error=\"insufficient_claims\", claims=\"{encoded}\"").as_str())
    );
    assert_eq!(body["error"], "insufficient_claims");
    server.abort();
}

#[tokio::test]
async fn a_users_token_is_exchanged_for_a_downstream_api_elsewhere() {
    // RFC 8693 token exchange at the real provider, for a client with a certificate.
    let kid = thumbprint(&certificate(0).1);
    let pem = certificate_pem(0, 0);
    let app = launch(routes())
        .client(CLIENT_ID, "")
        .client_metadata(move |_| {
            let mut client = private_key_jwt_client(jwks(0, &kid));
            client["grant_types"] = json!([
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ]);
            client
        })
        .auth(move |b| b.client_certificate_pem(pem))
        .start()
        .await;
    let browser = Browser::new();
    let incoming = signed_in(&app, &browser).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let grant = "urn:ietf:params:oauth:grant-type:token-exchange";
    let token = app
        .auth
        .token_on_behalf_of(&incoming, &["api.write"])
        .await
        .expect("exchanged");
    assert_ne!(token.access_token, incoming);
    assert_eq!(token.scopes, vec!["api.write".to_owned()]);
    let again = app
        .auth
        .token_on_behalf_of(&incoming, &["api.write"])
        .await
        .unwrap();
    assert_eq!(again, token, "cached per incoming token and scopes");
    let stats = app.provider().stats().await;
    assert_eq!(token_requests(&stats, grant), 1);

    let err = app
        .auth
        .token_on_behalf_of("not-a-token-of-this-provider", &["api.write"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn the_device_code_flow_with_a_certificate() {
    let kid = thumbprint(&certificate(0).1);
    let pem = certificate_pem(0, 0);
    let app = launch(routes())
        .device()
        .client("device-app", "")
        .client_metadata(move |_| {
            let mut client = private_key_jwt_client(jwks(0, &kid));
            client["grant_types"] = json!([
                "urn:ietf:params:oauth:grant-type:device_code",
                "refresh_token"
            ]);
            client
        })
        .auth(move |b| b.client_certificate_pem(pem))
        .start()
        .await;
    assert!(app.auth.uses_device_code());
    let browser = Browser::new();
    let page = browser.get_device_code(app.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.path(), "/login/device");
    let (code, links) = device_code_on(&page);
    let landed = browser
        .sign_in_on_another_device(&links[0], &code, "grace", &app.url("/login/device"))
        .await;
    assert_eq!(landed.url.path(), "/read");
    assert_eq!(landed.status, StatusCode::OK, "{}", landed.body);
    assert_eq!(landed.json()["sub"], "grace");
}
