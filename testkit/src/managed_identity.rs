//! A stand-in for Azure's managed-identity endpoints, which exist only on Azure: one loopback
//! server answering in both shapes Microsoft documents.
//!
//! - **App Service, Functions, Container Apps** (`IDENTITY_ENDPOINT`, here
//!   [`ManagedIdentityEndpoint::app_service_url`]): `GET ?resource=<r>&api-version=2019-08-01`
//!   with the header `X-IDENTITY-HEADER: <IDENTITY_HEADER>`; a user-assigned identity by
//!   `client_id`, `mi_res_id` or `principal_id` (object id). The answer: `access_token`,
//!   `expires_on` (Unix seconds, as a string), `resource`, `token_type`, `client_id`. A missing
//!   or wrong header is a 401, a missing `resource` or another version a 400.
//! - **IMDS** (`http://169.254.169.254`, here [`ManagedIdentityEndpoint::imds_base`]):
//!   `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=<r>` with
//!   `Metadata: true`; a user-assigned identity by `client_id`, `msi_res_id` or `object_id`.
//!   A request without the header, or with an `X-Forwarded-For` (IMDS refuses any request that
//!   went through a proxy), is a 400 `invalid_request`. The answer carries every number as a
//!   string: `expires_in`, `expires_on`, `ext_expires_in`, `not_before`.
//!
//! Its tokens are RS256 JWTs signed with fixture key [`MI_KEY`], shaped as Entra ID issues a
//! managed identity's: `sub` and `oid` the identity's object id, `appid` its client id,
//! `idtyp: app`, `xms_mirid` its resource id, `tid` [`MI_TENANT`]. For the resource
//! `api://AzureADTokenExchange` (a federated credential's assertion) the token is a v2.0 one,
//! issued by `https://login.microsoftonline.com/<tenant>/v2.0` with that audience: what an
//! app registration's federated identity credential names as its issuer, subject and audience
//! ([`federated_credential`]). Other resources get v1.0 tokens from `https://sts.windows.net/<tenant>/`.
//!
//! Tests count its requests, queue failures for the next answers ([`Failure`]) and slow it
//! down to make callers overlap. It listens on 127.0.0.1 only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::kernel::{Signing, json_response, now, oauth_error, sign};

/// The tenant of the identities here.
pub const MI_TENANT: &str = "9f6b1c2e-3a4d-4e5f-8a7b-1c2d3e4f5a6b";
/// The system-assigned identity's object (principal) id.
pub const MI_OBJECT_ID: &str = "4d3c2b1a-0f9e-4d8c-b7a6-958473625140";
/// The system-assigned identity's client id.
pub const MI_CLIENT_ID: &str = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098";
/// The fixture key its tokens are signed with (not one the Microsoft-shaped provider signs ID
/// tokens with).
pub const MI_KEY: usize = 2;
/// The value of `IDENTITY_HEADER` the App Service shape expects.
pub const IDENTITY_HEADER: &str = "mi-header-7Qz1-loopback-only";
/// The resource of a federated credential's assertion.
pub const TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";

/// The federated identity credential an app registration adds to trust the system-assigned
/// identity here: its issuer, its subject (the identity's object id) and the key its tokens
/// are signed with (what Entra finds through the issuer's published keys).
pub fn federated_credential() -> (String, String, usize) {
    (
        format!("https://login.microsoftonline.com/{MI_TENANT}/v2.0"),
        MI_OBJECT_ID.to_owned(),
        MI_KEY,
    )
}

/// An answer a test queues in place of the next token.
#[derive(Clone, Debug)]
pub enum Failure {
    /// 429, with `Retry-After: <seconds>` when given.
    TooManyRequests(Option<u64>),
    /// A status with an error body (500, 503; for IMDS 404 or 410 while it starts).
    Status(u16),
    /// 200 with an HTML page (a gateway's error page).
    Html,
    /// 200 with an empty `access_token`.
    EmptyToken,
    /// 200 with a token whose `expires_on` has passed.
    Expired,
}

/// Which protocol a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    AppService,
    Imds,
}

/// One request, as it arrived.
#[derive(Clone, Debug)]
pub struct MiRequest {
    pub shape: Shape,
    pub query: HashMap<String, String>,
    /// Every header, lower-cased names.
    pub headers: HashMap<String, String>,
}

struct Shared {
    requests: Mutex<Vec<MiRequest>>,
    failures: Mutex<VecDeque<Failure>>,
    issued: Mutex<Vec<String>>,
    delay: Mutex<Duration>,
}

/// The running stand-in. Dropping it stops the server.
pub struct ManagedIdentityEndpoint {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ManagedIdentityEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ManagedIdentityEndpoint {
    /// Starts it on an ephemeral port of 127.0.0.1.
    pub async fn start() -> ManagedIdentityEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the managed-identity stand-in");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            issued: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
        });
        let app = Router::new()
            .route("/msi/token", axum::routing::get(app_service))
            .route("/metadata/identity/oauth2/token", axum::routing::get(imds))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the managed-identity stand-in runs");
        });
        ManagedIdentityEndpoint {
            base,
            shared,
            server,
        }
    }

    /// App Service's `IDENTITY_ENDPOINT` here.
    pub fn app_service_url(&self) -> String {
        format!("{}/msi/token", self.base)
    }

    /// IMDS's base address here (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub fn imds_base(&self) -> String {
        self.base.clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<MiRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many requests it had.
    pub fn request_count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Every token it issued, in order.
    pub fn issued(&self) -> Vec<String> {
        self.shared.issued.lock().unwrap().clone()
    }

    /// Answers the next requests with these failures, one each, before tokens again.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.shared.failures.lock().unwrap().extend(failures);
    }

    /// Waits this long before each answer, so that concurrent callers overlap.
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }
}

async fn app_service(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let refusal = match headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
    {
        Some(IDENTITY_HEADER) => None,
        _ => Some((
            StatusCode::UNAUTHORIZED,
            "X-IDENTITY-HEADER is missing or wrong",
        )),
    };
    let refusal = refusal.or_else(|| protocol_refusal(&query, "2019-08-01"));
    let params = ["client_id", "mi_res_id", "principal_id"];
    answer(shared, Shape::AppService, query, &headers, refusal, params).await
}

async fn imds(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let refusal = if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        Some((
            StatusCode::BAD_REQUEST,
            "Required metadata header not specified",
        ))
    } else if headers.contains_key("x-forwarded-for") {
        Some((
            StatusCode::BAD_REQUEST,
            "Request rejected: it carries X-Forwarded-For",
        ))
    } else {
        protocol_refusal(&query, "2018-02-01")
    };
    let params = ["client_id", "msi_res_id", "object_id"];
    answer(shared, Shape::Imds, query, &headers, refusal, params).await
}

/// The version and resource every request needs.
fn protocol_refusal(
    query: &HashMap<String, String>,
    version: &str,
) -> Option<(StatusCode, &'static str)> {
    if query.get("api-version").map(String::as_str) != Some(version) {
        return Some((
            StatusCode::BAD_REQUEST,
            "api-version is missing or not supported",
        ));
    }
    if query.get("resource").is_none_or(|r| r.is_empty()) {
        return Some((StatusCode::BAD_REQUEST, "resource is required"));
    }
    None
}

async fn answer(
    shared: Arc<Shared>,
    shape: Shape,
    query: HashMap<String, String>,
    headers: &HeaderMap,
    refusal: Option<(StatusCode, &'static str)>,
    [client_id, resource_id, object_id]: [&str; 3],
) -> Response {
    shared.requests.lock().unwrap().push(MiRequest {
        shape,
        query: query.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
            .collect(),
    });
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, description)) = refusal {
        return oauth_error(status, "invalid_request", description);
    }
    let named = [client_id, resource_id, object_id]
        .iter()
        .filter(|name| query.contains_key(**name))
        .count();
    if named > 1 {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "name a user-assigned identity one way only",
        );
    }
    let failure = shared.failures.lock().unwrap().pop_front();
    let now = now();
    let mut expires_on = now + 86_399;
    let mut empty = false;
    match failure {
        Some(Failure::TooManyRequests(retry_after)) => {
            let mut response = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Too many requests",
            );
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().unwrap());
            }
            return response;
        }
        Some(Failure::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            return oauth_error(status, "unavailable", "the identity service is updating");
        }
        Some(Failure::Html) => {
            return (
                StatusCode::OK,
                Html("<html><body>Bad gateway</body></html>"),
            )
                .into_response();
        }
        Some(Failure::EmptyToken) => empty = true,
        Some(Failure::Expired) => expires_on = now - 120,
        None => {}
    }
    let resource = query["resource"].clone();
    let (client, object) = match (
        query.get(client_id),
        query.get(resource_id),
        query.get(object_id),
    ) {
        (Some(id), _, _) => (id.clone(), format!("oid-of-{id}")),
        (_, Some(mirid), _) => (
            format!("client-of-{}", mirid.rsplit('/').next().unwrap_or("")),
            format!("oid-of-{}", mirid.rsplit('/').next().unwrap_or("")),
        ),
        (_, _, Some(oid)) => (format!("client-of-{oid}"), oid.clone()),
        _ => (MI_CLIENT_ID.to_owned(), MI_OBJECT_ID.to_owned()),
    };
    let token = if empty {
        String::new()
    } else {
        jwt(&resource, &client, &object, now, expires_on)
    };
    if !token.is_empty() {
        shared.issued.lock().unwrap().push(token.clone());
    }
    let body = match shape {
        Shape::AppService => json!({
            "access_token": token,
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client,
        }),
        Shape::Imds => json!({
            "access_token": token,
            "client_id": client,
            "expires_in": (expires_on - now).to_string(),
            "expires_on": expires_on.to_string(),
            "ext_expires_in": (expires_on - now).to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    json_response(StatusCode::OK, body)
}

/// A managed identity's access token for `resource`, as Entra issues it.
fn jwt(resource: &str, client: &str, object: &str, now: i64, exp: i64) -> String {
    let exchange = resource == TOKEN_EXCHANGE;
    let (iss, ver) = if exchange {
        (federated_credential().0, "2.0")
    } else {
        (format!("https://sts.windows.net/{MI_TENANT}/"), "1.0")
    };
    let claims = json!({
        "aud": resource,
        "iss": iss,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "appid": client,
        "azp": client,
        "idtyp": "app",
        "oid": object,
        "sub": object,
        "tid": MI_TENANT,
        "ver": ver,
        "xms_mirid": format!("/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{client}"),
        "uti": format!("mi-{now}-{}", rand_part()),
    });
    let header: Map<String, Value> = json!({"typ": "JWT", "alg": "RS256", "kid": "mi-key"})
        .as_object()
        .unwrap()
        .clone();
    sign(&header, claims.as_object().unwrap(), &Signing::Rsa(MI_KEY))
}

/// A few varying characters, so two tokens of one second differ.
fn rand_part() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
