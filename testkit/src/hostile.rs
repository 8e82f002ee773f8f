//! A hostile OpenID provider: a small axum server on an ephemeral loopback port that answers
//! like a provider but lets each test decide what it sends — crafted ID tokens (claims, header,
//! signing key or algorithm), a discovery document for another issuer, a userinfo answer about
//! someone else, an authorization response with a wrong or missing `iss`, refreshed ID tokens
//! for another user. No real provider produces these; the library must refuse them all.
//!
//! The flow it serves: `GET /authorize` answers at once with a `302` back to the `redirect_uri`
//! carrying a code, the `state` and (per [`IssParam`]) `iss`; `POST /token` redeems the code
//! (checking PKCE S256, single use) or a refresh token and answers with an ID token built from
//! the [`Scenario`]; `GET /jwks` publishes the keys the scenario lists. Every request is counted
//! per endpoint ([`Counters`]) and token requests are recorded ([`TokenRequest`]), so tests can
//! assert on what the library sent and how often.
//!
//! It is a configuration of the [`kernel`](crate::kernel), which signs the tokens with its
//! fixture keys and keeps the codes; key `i` has the key id [`kid`]`(i)` unless the scenario
//! says otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::kernel::{Codes, Grant, Refusal, json_response, merge, now, oauth_error, parse_form};
pub use crate::kernel::{KEYS, Signing, TokenRequest, form_url_decode, keys, public_key_pem};

/// The default key id of fixture key `i`.
pub fn kid(i: usize) -> String {
    format!("key-{i}")
}

/// What goes into an ID token.
#[derive(Clone)]
pub struct TokenSpec {
    /// Merged over the default claims (`iss`, `sub: "alice"`, `aud`, `exp` in 10 minutes,
    /// `iat` now, the `nonce` of the authorization request for a sign-in, `name`,
    /// `preferred_username`); a `null` value removes the claim.
    pub claims: Value,
    /// Merged over the default header (`alg` from [`Signing`], `typ: JWT`, `kid` of the RSA
    /// key); a `null` value removes the field.
    pub header: Value,
    pub signing: Signing,
    /// Last word on the header and claims, called for every token this spec produces (with
    /// the token's sequence number): for per-token changes such as a new unknown `kid` each
    /// time.
    pub edit: Option<TokenEdit>,
}

/// Edits a token's header and claims, given its sequence number.
pub type TokenEdit =
    Arc<dyn Fn(usize, &mut Map<String, Value>, &mut Map<String, Value>) + Send + Sync>;

impl Default for TokenSpec {
    fn default() -> Self {
        TokenSpec {
            claims: json!({}),
            header: json!({}),
            signing: Signing::Rsa(0),
            edit: None,
        }
    }
}

impl TokenSpec {
    /// The default token with `claims` merged in.
    pub fn claims(claims: Value) -> Self {
        TokenSpec {
            claims,
            ..TokenSpec::default()
        }
    }
}

/// The `iss` parameter of the authorization response (RFC 9207).
#[derive(Clone, Debug)]
pub enum IssParam {
    /// The provider's issuer.
    Correct,
    /// None at all.
    Missing,
    /// This value.
    Value(String),
}

/// One published key of the JWKS.
#[derive(Clone, Debug)]
pub struct Published {
    /// The fixture key.
    pub key: usize,
    /// Its `kid` in the JWKS, `None` for a key without one.
    pub kid: Option<String>,
}

impl Published {
    /// Fixture key `i` under its default key id.
    pub fn key(i: usize) -> Self {
        Published {
            key: i,
            kid: Some(kid(i)),
        }
    }

    /// Fixture key `i` without a key id.
    pub fn without_kid(i: usize) -> Self {
        Published { key: i, kid: None }
    }
}

/// Everything a test decides about the provider. Change it while the provider runs with
/// [`Hostile::set`].
#[derive(Clone)]
pub struct Scenario {
    /// Merged over the discovery document (top-level keys; `null` removes one).
    pub discovery: Value,
    /// The keys `GET /jwks` publishes.
    pub jwks: Vec<Published>,
    pub iss_param: IssParam,
    /// The ID token of the authorization-code grant.
    pub id_token: TokenSpec,
    /// Merged over the token response of the authorization-code grant (`access_token`,
    /// `token_type`, `expires_in: 3600`, `refresh_token`, `id_token`; `null` removes).
    pub token_response: Value,
    /// The userinfo answer; `None`: `{"sub": "alice", "name": "Alice (userinfo)"}`.
    pub userinfo: Option<Value>,
    /// The ID token of a refresh-token grant; `None`: the refresh response has no ID token.
    pub refresh_id_token: Option<TokenSpec>,
    /// Merged over the token response of the refresh-token grant.
    pub refresh_response: Value,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            discovery: json!({}),
            jwks: vec![Published::key(0)],
            iss_param: IssParam::Correct,
            id_token: TokenSpec::default(),
            token_response: json!({}),
            userinfo: None,
            refresh_id_token: None,
            refresh_response: json!({}),
        }
    }
}

/// Requests per endpoint.
#[derive(Default, Debug)]
pub struct Counters {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
    pub authorization: AtomicUsize,
    /// Authorization-code grants.
    pub token: AtomicUsize,
    /// Refresh-token grants.
    pub refresh: AtomicUsize,
    pub userinfo: AtomicUsize,
}

/// What the authorization endpoint was asked, kept until the code is redeemed.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    pub params: HashMap<String, String>,
}

impl Grant for AuthorizationRequest {
    fn params(&self) -> &HashMap<String, String> {
        &self.params
    }
}

struct Shared {
    issuer: String,
    client_id: String,
    scenario: Mutex<Scenario>,
    counters: Counters,
    codes: Codes<AuthorizationRequest>,
    authorizations: Mutex<Vec<AuthorizationRequest>>,
    token_requests: Mutex<Vec<TokenRequest>>,
    tokens_made: AtomicUsize,
}

/// A running hostile provider. Dropping it stops the server.
pub struct Hostile {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub issuer: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Hostile {
    /// Starts a provider for the client `client_id` that plays `scenario`.
    pub async fn start(client_id: &str, scenario: Scenario) -> Hostile {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the hostile provider");
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            client_id: client_id.to_owned(),
            scenario: Mutex::new(scenario),
            counters: Counters::default(),
            codes: Codes::default(),
            authorizations: Mutex::new(Vec::new()),
            token_requests: Mutex::new(Vec::new()),
            tokens_made: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo).post(userinfo))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the hostile provider runs");
        });
        Hostile {
            issuer,
            shared,
            server,
        }
    }

    /// Changes the scenario from now on.
    pub fn set(&self, change: impl FnOnce(&mut Scenario)) {
        change(&mut self.shared.scenario.lock().unwrap());
    }

    /// Requests so far, per endpoint.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Shorthand: requests so far to `GET /jwks`.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.counters.jwks.load(Ordering::SeqCst)
    }

    /// Every token request so far, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.token_requests.lock().unwrap().clone()
    }

    /// Every authorization request so far, in order.
    pub fn authorizations(&self) -> Vec<AuthorizationRequest> {
        self.shared.authorizations.lock().unwrap().clone()
    }

    /// Builds an ID token the way the token endpoint would (for tests that need one by hand).
    pub fn make_id_token(&self, spec: &TokenSpec, nonce: Option<&str>) -> String {
        self.shared.make_id_token(spec, nonce)
    }
}

impl Shared {
    fn scenario(&self) -> Scenario {
        self.scenario.lock().unwrap().clone()
    }

    fn make_id_token(&self, spec: &TokenSpec, nonce: Option<&str>) -> String {
        let sequence = self.tokens_made.fetch_add(1, Ordering::SeqCst);
        let now = now();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": "alice",
            "aud": self.client_id,
            "exp": now + 600,
            "iat": now,
            "name": "Alice",
            "preferred_username": "alice",
        })
        .as_object()
        .unwrap()
        .clone();
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        merge(&mut claims, &spec.claims);

        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("alg".into(), json!(spec.signing.alg()));
        if let Signing::Rsa(i) | Signing::CorruptRsa(i) = &spec.signing {
            header.insert("kid".into(), json!(kid(*i)));
        }
        merge(&mut header, &spec.header);
        if let Some(edit) = &spec.edit {
            edit(sequence, &mut header, &mut claims);
        }
        crate::kernel::sign(&header, &claims, &spec.signing)
    }
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.discovery.fetch_add(1, Ordering::SeqCst);
    let issuer = &shared.issuer;
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", "api.read"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "authorization_response_iss_parameter_supported": true,
    })
    .as_object()
    .unwrap()
    .clone();
    merge(&mut document, &shared.scenario().discovery);
    json_response(StatusCode::OK, Value::Object(document))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.jwks.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = shared
        .scenario()
        .jwks
        .iter()
        .map(|published| {
            let mut jwk = crate::kernel::jwk(published.key);
            jwk.insert("alg".into(), json!("RS256"));
            if let Some(kid) = &published.kid {
                jwk.insert("kid".into(), json!(kid));
            }
            Value::Object(jwk)
        })
        .collect();
    json_response(StatusCode::OK, json!({ "keys": keys }))
}

async fn authorize(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let n = shared.counters.authorization.fetch_add(1, Ordering::SeqCst);
    let params = parse_form(query.unwrap_or_default().as_bytes());
    let request = AuthorizationRequest {
        params: params.clone(),
    };
    shared.authorizations.lock().unwrap().push(request.clone());
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no redirect_uri",
        );
    };
    // Only ever send the browser back to an app on loopback.
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "bad redirect_uri",
        );
    };
    if target.host_str() != Some("127.0.0.1") || params.get("client_id") != Some(&shared.client_id)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown client or redirect_uri",
        );
    }
    let code = format!("code-{n}-{}", now());
    shared.codes.issue(code.clone(), request);
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = params.get("state") {
            query.append_pair("state", state);
        }
        match shared.scenario().iss_param {
            IssParam::Correct => {
                query.append_pair("iss", &shared.issuer);
            }
            IssParam::Missing => {}
            IssParam::Value(iss) => {
                query.append_pair("iss", &iss);
            }
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request = TokenRequest::new(&headers, &body);
    let form = request.form.clone();
    shared.token_requests.lock().unwrap().push(request);
    let scenario = shared.scenario();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            shared.counters.token.fetch_add(1, Ordering::SeqCst);
            let code = form.get("code").cloned().unwrap_or_default();
            let request = match shared.codes.redeem(&form) {
                Ok(request) => request,
                Err(refusal) => {
                    let description = match refusal {
                        Refusal::UnknownCode => "unknown or used code",
                        Refusal::Pkce => "PKCE verification failed",
                        Refusal::RedirectUri => "redirect_uri mismatch",
                    };
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
                }
            };
            let id_token = shared.make_id_token(
                &scenario.id_token,
                request.params.get("nonce").map(String::as_str),
            );
            let mut response = json!({
                "access_token": format!("access-{code}"),
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": format!("refresh-{code}"),
                "id_token": id_token,
            })
            .as_object()
            .unwrap()
            .clone();
            merge(&mut response, &scenario.token_response);
            json_response(StatusCode::OK, Value::Object(response))
        }
        Some("refresh_token") => {
            let n = shared.counters.refresh.fetch_add(1, Ordering::SeqCst);
            let mut response = json!({
                "access_token": format!("access-refreshed-{n}"),
                "token_type": "Bearer",
                "expires_in": 3600,
            })
            .as_object()
            .unwrap()
            .clone();
            if let Some(scope) = form.get("scope") {
                response.insert("scope".into(), json!(scope));
            }
            if let Some(spec) = &scenario.refresh_id_token {
                response.insert("id_token".into(), json!(shared.make_id_token(spec, None)));
            }
            merge(&mut response, &scenario.refresh_response);
            json_response(StatusCode::OK, Value::Object(response))
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
    }
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.counters.userinfo.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer access-"));
    if !bearer {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    let body = shared
        .scenario()
        .userinfo
        .unwrap_or_else(|| json!({"sub": "alice", "name": "Alice (userinfo)"}));
    json_response(StatusCode::OK, body)
}
