//! The authorization endpoint: answers at once with a redirect carrying a code (or the error a
//! test queued), remembering the nonce and the PKCE challenge for the token endpoint.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use url::Url;

use super::server::{Authorization, Shared};
use super::site::Site;
use super::tenants::*;
use crate::kernel::{b64, now};

impl Shared {
    pub(super) fn authorize(&self, site: Site, url: Url) -> Response {
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let request = Authorization {
            url: url.clone(),
            site: site.clone(),
            params: params.clone(),
        };
        self.authorizations.lock().unwrap().push(request.clone());
        // Microsoft shows its own error page for an unknown client or an unregistered redirect
        // URI (AADSTS700016, AADSTS50011); this one registers loopback callbacks only.
        let redirect = params.get("redirect_uri").and_then(|r| Url::parse(r).ok());
        let Some(mut target) = redirect.filter(|r| {
            r.scheme() == "http" && r.host_str() == Some("127.0.0.1") && r.path() == "/redirect"
        }) else {
            return (
                StatusCode::BAD_REQUEST,
                Html("AADSTS50011: The redirect URI specified in the request does not match."),
            )
                .into_response();
        };
        if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return (
                StatusCode::BAD_REQUEST,
                Html("AADSTS700016: Application not found in the directory."),
            )
                .into_response();
        }
        let policy = match &site {
            Site::B2c { policy } => Some(policy.clone()),
            _ => None,
        };
        let queued = {
            let mut errors = self.errors.lock().unwrap();
            let position = errors
                .iter()
                .position(|e| e.policy.is_none() || e.policy == policy);
            position.map(|i| errors.remove(i))
        };
        let problem = if let Some(queued) = queued {
            Some((queued.error, queued.description))
        } else if params.get("response_type").map(String::as_str) != Some("code") {
            Some((
                "unsupported_response_type".to_owned(),
                "AADSTS700054: response_type 'code' is expected.".to_owned(),
            ))
        } else if !request.scopes().iter().any(|s| s == "openid") {
            Some(("invalid_scope".to_owned(), "openid is required".to_owned()))
        } else if params.get("code_challenge_method").map(String::as_str) != Some("S256")
            || !params.contains_key("code_challenge")
        {
            Some((
                "invalid_request".to_owned(),
                "AADSTS9002325: Proof Key for Code Exchange is required.".to_owned(),
            ))
        } else if !params.contains_key("nonce") {
            Some((
                "invalid_request".to_owned(),
                "a nonce is required".to_owned(),
            ))
        } else {
            None
        };
        {
            let mut query = target.query_pairs_mut();
            match problem {
                Some((error, description)) => {
                    query.append_pair("error", &error);
                    query.append_pair("error_description", &description);
                }
                None => {
                    let n = self
                        .sequence
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let code = format!(
                        "0.A{}{n}",
                        b64(&Sha256::digest(format!("{url}{n}{}", now()).as_bytes()))
                    );
                    self.codes.issue(code.clone(), request);
                    query.append_pair("code", &code);
                }
            }
            if let Some(state) = params.get("state") {
                query.append_pair("state", state);
            }
            if !matches!(site, Site::B2c { .. }) {
                query.append_pair("session_state", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
            }
        }
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, target.to_string()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response()
    }
}
