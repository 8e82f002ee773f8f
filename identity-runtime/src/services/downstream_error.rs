//! What a call through the downstream-API client becomes when it fails: [`DownstreamError`],
//! rendered late (a handler returns it with `?`), and [`ClaimsChallenge`], the sign-in a web
//! app's user goes through when the API asks for more claims.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::core::error::Error;
use crate::core::response::NO_STORE;
use crate::core::www_authenticate::bearer_error;

/// A claims challenge turned into a sign-in: returned from a handler (with `?`), it sends the
/// browser through sign-in with the challenge's claims, back to the page it came from, where
/// the handler runs again with a new token. Made by [`Context::challenge`](crate::Context::challenge),
/// and by the [downstream-API client](crate::DownstreamApi) when an API answers with one.
///
/// ```
/// use axum::http::HeaderValue;
/// use axum::response::IntoResponse;
/// use axum_identity_runtime::{Context, User};
///
/// let context = Context::new(User::from_claims(Default::default()));
/// let header = HeaderValue::from_static(
///     r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTcwMDAwMDAwMCJ9fX0=""#,
/// );
/// let challenge = context.challenge(&header).unwrap_err();
/// let response = challenge.into_response();
/// assert_eq!(response.status(), 303);
/// assert!(response.headers()["location"].to_str()?.starts_with("/login?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsChallenge {
    login_url: String,
}

impl ClaimsChallenge {
    /// The sign-in at `login_url`, a local URL of the application's login path.
    pub(crate) fn new(login_url: String) -> Self {
        ClaimsChallenge { login_url }
    }

    /// The login URL the browser is sent to.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }
}

impl std::fmt::Display for ClaimsChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the API asked for more claims: the user signs in again")
    }
}

impl std::error::Error for ClaimsChallenge {}

impl IntoResponse for ClaimsChallenge {
    fn into_response(self) -> Response {
        (
            StatusCode::SEE_OTHER,
            NO_STORE,
            Redirect::to(&self.login_url),
        )
            .into_response()
    }
}

/// Why a call through [`DownstreamApi`](crate::DownstreamApi) failed. Returned from a handler
/// with `?`, it answers the way the failure deserves:
///
/// - [`SignIn`](DownstreamError::SignIn): the API asked for more claims (or the user's grant is
///   gone) in a web app — `303` to sign-in, back to the page;
/// - [`Token`](DownstreamError::Token): no token could be had — the error's own status; for a
///   web API whose downstream API sent a claims challenge, [`Error::InteractionRequired`], a
///   `403` whose `WWW-Authenticate` (and RFC 6750 JSON body) passes the challenge on to the
///   API's caller;
/// - [`Status`](DownstreamError::Status): the API answered with an error — its status is kept
///   (a `404` stays a `404`), while its `5xx`, and a `401` that a fresh token did not cure,
///   become `502 Bad Gateway`;
/// - [`Unreachable`](DownstreamError::Unreachable): `502` (`504` on a timeout).
///
/// The API's answer is never shown to the user (it may say more than the user should read):
/// the error keeps its first bytes for the handler and the log.
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::IntoResponse;
/// use axum_identity_runtime::DownstreamError;
///
/// let error = DownstreamError::Status {
///     status: StatusCode::NOT_FOUND,
///     www_authenticate: None,
///     body: r#"{"error":"no such report"}"#.into(),
/// };
/// assert_eq!(error.api_status(), Some(StatusCode::NOT_FOUND));
/// assert_eq!(error.into_response().status(), StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownstreamError {
    /// The user must sign in again: the API sent a claims challenge, or the user's grant for
    /// the API's scopes is gone.
    #[error(transparent)]
    SignIn(ClaimsChallenge),
    /// No token for the API's scopes could be had.
    #[error("no token for the downstream API: {0}")]
    Token(#[source] Error),
    /// The API answered with an error status (`401` after the one retry with a fresh token).
    #[error("the downstream API answered {status}")]
    Status {
        /// The API's status.
        status: StatusCode,
        /// Its `WWW-Authenticate` header, when it sent one.
        www_authenticate: Option<String>,
        /// The first bytes of its answer (4 KiB at most), as text.
        body: String,
    },
    /// The API could not be reached, did not answer in time, or its answer could not be read.
    #[error("the downstream API is unreachable: {what}")]
    Unreachable {
        /// What was attempted.
        what: String,
        /// The transport's error.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The request could not be made: a path that leaves the API's base URL, a header that is
    /// no header.
    #[error("the request to the downstream API is malformed: {0}")]
    Request(String),
}

impl DownstreamError {
    /// The status the downstream API answered with, for [`DownstreamError::Status`].
    pub fn api_status(&self) -> Option<StatusCode> {
        match self {
            DownstreamError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The status of the answer this error becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            DownstreamError::SignIn(_) => StatusCode::SEE_OTHER,
            DownstreamError::Token(error) => error.status(),
            DownstreamError::Status { status, .. }
                if status.is_client_error() && *status != StatusCode::UNAUTHORIZED =>
            {
                *status
            }
            DownstreamError::Unreachable {
                source: Some(source),
                ..
            } if source.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            DownstreamError::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DownstreamError::Status { .. } | DownstreamError::Unreachable { .. } => {
                StatusCode::BAD_GATEWAY
            }
        }
    }
}

impl IntoResponse for DownstreamError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, challenge) = match &self {
            DownstreamError::SignIn(challenge) => return challenge.clone().into_response(),
            DownstreamError::Token(error) => (error.public_message(), error.www_authenticate()),
            DownstreamError::Status { .. } | DownstreamError::Unreachable { .. } => (
                "A service this page relies on could not answer. Please try again shortly."
                    .to_owned(),
                None,
            ),
            DownstreamError::Request(_) => (
                "This page could not call a service it relies on.".to_owned(),
                None,
            ),
        };
        tracing::warn!(error = %crate::core::error::escape_controls(&chain(&self)), %status, "a downstream API call failed");
        let Some(challenge) = challenge else {
            return (status, NO_STORE, message).into_response();
        };
        // A challenge is for a program (a web API's caller): RFC 6750's JSON beside it.
        let code = bearer_error(challenge.as_bytes()).unwrap_or_else(|| "invalid_token".into());
        let body = serde_json::json!({ "error": code, "error_description": message });
        let mut response = (status, NO_STORE, axum::Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The error and its causes, for the log line.
fn chain(error: &DownstreamError) -> String {
    let mut text = error.to_string();
    if let DownstreamError::Status { body, .. } = error {
        let head: String = body.chars().take(200).collect();
        text.push_str(&format!(" (answer starts {head:?})"));
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_answers_with_the_status_it_deserves() {
        let status = |status: StatusCode| DownstreamError::Status {
            status,
            www_authenticate: None,
            body: String::new(),
        };
        assert_eq!(
            status(StatusCode::NOT_FOUND).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(StatusCode::FORBIDDEN).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(StatusCode::UNAUTHORIZED).status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            status(StatusCode::SERVICE_UNAVAILABLE).status(),
            StatusCode::BAD_GATEWAY
        );
        let challenge = DownstreamError::SignIn(ClaimsChallenge::new("/login?claims=x".into()));
        let response = challenge.into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/login?claims=x");
    }

    #[test]
    fn an_interaction_required_passes_the_claims_challenge_on() {
        let error = DownstreamError::Token(Error::InteractionRequired {
            detail: "insufficient_claims".into(),
            claims: Some(r#"{"access_token":{}}"#.into()),
        });
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.starts_with(r#"Bearer error="insufficient_claims", claims=""#));
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
