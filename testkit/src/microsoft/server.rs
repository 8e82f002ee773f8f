//! The provider's state and its request router: what it records, what tests queue for it, and
//! the discovery and key documents of each authority.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};
use url::Url;

use super::site::{Endpoint, Site};
use super::tls::ms_kid;
use crate::kernel::{Codes, Grant, TokenRequest, json_response, merge, oauth_error};

/// One request to the authorization endpoint.
#[derive(Clone, Debug)]
pub struct Authorization {
    /// The full URL requested, host and path included.
    pub url: Url,
    pub site: Site,
    pub params: HashMap<String, String>,
}

impl Grant for Authorization {
    fn params(&self) -> &HashMap<String, String> {
        &self.params
    }
}

impl Authorization {
    /// The requested scopes.
    pub fn scopes(&self) -> Vec<String> {
        self.params
            .get("scope")
            .map(|s| s.split(' ').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// An error the authorization endpoint answers with instead of a code.
pub(super) struct QueuedError {
    /// The B2C user flow it applies to; `None`: the next authorization anywhere.
    pub(super) policy: Option<String>,
    pub(super) error: String,
    pub(super) description: String,
}

pub(super) struct Shared {
    pub(super) claims: Mutex<Value>,
    pub(super) discovery: Mutex<Value>,
    pub(super) published: Mutex<Vec<usize>>,
    pub(super) signing_key: Mutex<usize>,
    pub(super) errors: Mutex<Vec<QueuedError>>,
    pub(super) codes: Codes<Authorization>,
    pub(super) authorizations: Mutex<Vec<Authorization>>,
    pub(super) token_requests: Mutex<Vec<(Site, TokenRequest)>>,
    /// Every request as `METHOD https://host/path`.
    pub(super) requests: Mutex<Vec<String>>,
    pub(super) sequence: std::sync::atomic::AtomicUsize,
    /// The federated identity credentials registered on the application.
    pub(super) federated: Mutex<Vec<super::federated::FederatedCredential>>,
}

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or_default().to_ascii_lowercase())
        .unwrap_or_default();
    shared
        .requests
        .lock()
        .unwrap()
        .push(format!("{method} https://{host}{}", uri.path()));
    let Some((site, endpoint)) = Site::route(&host, uri.path()) else {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            &format!("nothing at https://{host}{}", uri.path()),
        );
    };
    match (endpoint, method) {
        (Endpoint::Discovery, Method::GET) => shared.discovery(&site),
        (Endpoint::Keys, Method::GET) => shared.keys(&site),
        (Endpoint::Authorize, Method::GET) => {
            let url = Url::parse(&format!("https://{host}{uri}")).expect("a URL");
            shared.authorize(site, url)
        }
        (Endpoint::Token, Method::POST) => shared.token(site, &headers, &body),
        (Endpoint::Logout, Method::GET) => Html("You signed out of your account.").into_response(),
        _ => oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "method not allowed",
        ),
    }
}

impl Shared {
    pub(super) fn discovery_document(&self, site: &Site) -> Map<String, Value> {
        let mut document = site.discovery().as_object().unwrap().clone();
        merge(&mut document, &self.discovery.lock().unwrap());
        document
    }

    fn discovery(&self, site: &Site) -> Response {
        json_response(StatusCode::OK, Value::Object(self.discovery_document(site)))
    }

    fn keys(&self, site: &Site) -> Response {
        let issuer = site.issuer();
        let keys: Vec<Value> = self
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|&i| {
                let mut jwk = crate::kernel::jwk(i);
                jwk.insert("kid".into(), json!(ms_kid(i)));
                match site {
                    Site::B2c { .. } => {
                        jwk.insert("nbf".into(), json!(1_493_763_266));
                    }
                    _ => {
                        jwk.insert("x5t".into(), json!(ms_kid(i)));
                        jwk.insert("issuer".into(), json!(issuer));
                    }
                }
                Value::Object(jwk)
            })
            .collect();
        json_response(StatusCode::OK, json!({ "keys": keys }))
    }
}
