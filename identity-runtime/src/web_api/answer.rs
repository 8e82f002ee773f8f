//! What a refused bearer request is answered: RFC 6750's `WWW-Authenticate: Bearer` challenge
//! (with RFC 9728's `resource_metadata` when the API has a resource URI) and a JSON body, or the
//! provider's own challenge when a downstream token needs the user. The tower layer answers
//! gRPC requests from the same [`Said`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::core::error::Error;
use crate::core::response::{NOT_CACHED, set_challenge};
use crate::web_api::challenge::Realm;
use crate::web_api::extract::ApiRejection;

/// The answer when a downstream token needs the user: the provider's challenge, as is.
fn interaction_required(status: StatusCode, challenge: &str, error: &Error) -> Response {
    tracing::info!(error = %error.chain(), "a downstream token needs the user's interaction");
    let code = if challenge.contains("insufficient_claims") {
        "insufficient_claims"
    } else {
        "interaction_required"
    };
    let body = serde_json::json!({
        "error": code,
        "error_description": "the identity provider needs the user's interaction (multi-factor authentication or consent) before this API can act on their behalf",
    });
    let mut response = (status, [NOT_CACHED], axum::Json(body)).into_response();
    set_challenge(response.headers_mut(), challenge);
    response
}

/// What a rejection says, before it becomes an HTTP answer (here) or a gRPC one (the layer).
pub(crate) struct Said {
    pub(crate) status: StatusCode,
    /// The challenge's realm; none for a failure of the API itself.
    pub(crate) realm: Option<Realm>,
    /// RFC 6750's `error` code; none when no token came at all (§3.1).
    pub(crate) error: Option<&'static str>,
    pub(crate) description: String,
    /// The scopes the handler requires, for `insufficient_scope`.
    pub(crate) scope: Option<String>,
}

impl Said {
    /// The `WWW-Authenticate` value, when the answer has one.
    pub(crate) fn challenge(&self) -> Option<String> {
        let realm = self.realm.as_ref()?;
        Some(realm.challenge(self.error, &self.description, self.scope.as_deref()))
    }
}

impl ApiRejection {
    /// What the answer says; the provider's own challenge of `InteractionRequired` is its own
    /// answer, as is.
    pub(crate) fn said(self) -> Result<Said, Box<Response>> {
        let status = self.status();
        let (realm, error, description, scope) = match self {
            ApiRejection::MissingToken { realm } => (
                Some(realm),
                None,
                "a bearer access token is required".to_owned(),
                None,
            ),
            ApiRejection::InvalidRequest { realm, reason } => (
                Some(realm),
                Some("invalid_request"),
                reason.to_owned(),
                None,
            ),
            ApiRejection::InvalidToken { realm, reason } => (
                Some(realm),
                Some("invalid_token"),
                format!("the access token is not acceptable: {reason}"),
                None,
            ),
            ApiRejection::InsufficientScope {
                realm,
                required,
                missing,
            } => (
                Some(realm),
                Some("insufficient_scope"),
                format!("the access token lacks the scope {}", missing.join(", ")),
                Some(required.join(" ")),
            ),
            ApiRejection::MissingRoles { realm, missing } => (
                Some(realm),
                Some("insufficient_scope"),
                format!("the access token lacks the role {}", missing.join(", ")),
                None,
            ),
            ApiRejection::InteractionRequired { challenge, error } => {
                return Err(Box::new(interaction_required(status, &challenge, &error)));
            }
            ApiRejection::Failed(error) => {
                tracing::warn!(error = %error.chain(), "a web-API request failed");
                (
                    None,
                    Some("temporarily_unavailable"),
                    error.public_message(),
                    None,
                )
            }
        };
        Ok(Said {
            status,
            realm,
            error,
            description,
            scope,
        })
    }
}

impl IntoResponse for ApiRejection {
    fn into_response(self) -> Response {
        let said = match self.said() {
            Ok(said) => said,
            Err(response) => return *response,
        };
        let mut body = serde_json::json!({
            "error": said.error.unwrap_or("unauthorized"),
            "error_description": said.description,
        });
        if let Some(scope) = &said.scope {
            body["scope"] = Value::from(scope.as_str());
        }
        let mut response = (said.status, [NOT_CACHED], axum::Json(body)).into_response();
        if let Some(challenge) = said.challenge() {
            set_challenge(response.headers_mut(), &challenge);
        }
        response
    }
}
